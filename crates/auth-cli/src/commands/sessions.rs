//! `authctl sessions list|revoke|revoke-all`: a user's sessions in a shared store, and
//! with `revoke-all` every token of the user too.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use auth_core::{RefreshTokenStore, RevocationStore, SessionKey, SessionStore, SystemClock};
use serde_json::{Value, json};
use store_redis::{RedisConnection, RedisStoreBuilder};
use store_sql::sqlx::{MySql, Postgres, Sqlite};
use store_sql::{Backend, SqlStores, TablePrefix};

use crate::cli::{SessionsCommand, StoreArgs};
use crate::error::CliError;

/// Runs the command and returns what to print.
pub(crate) fn run(command: &SessionsCommand) -> Result<Value, CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::StoreSetup(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        match command {
            SessionsCommand::List { store, subject } => {
                let sessions = open(store)
                    .await?
                    .sessions
                    .list_subject(subject)
                    .await
                    .map_err(CliError::Store)?;
                let listed: Vec<Value> = sessions
                    .iter()
                    .map(|entry| {
                        json!({
                            "handle": entry.key.to_hex(),
                            "created_at": unix(entry.record.created_at),
                            "last_seen_at": unix(entry.record.last_seen_at),
                            "expires_at": unix(entry.record.expires_at),
                        })
                    })
                    .collect();
                Ok(json!({ "subject": subject, "sessions": listed }))
            }
            SessionsCommand::Revoke { store, handle } => {
                let key = SessionKey::from_hex(handle).map_err(|_| {
                    CliError::Invalid(
                        "a session handle is 64 hex characters, as `list` prints".into(),
                    )
                })?;
                if open(store)
                    .await?
                    .sessions
                    .delete(&key)
                    .await
                    .map_err(CliError::Store)?
                {
                    Ok(json!({ "revoked": 1 }))
                } else {
                    Err(CliError::Invalid("no live session has that handle".into()))
                }
            }
            SessionsCommand::RevokeAll { store, subject } => {
                let stores = open(store).await?;
                // Tokens first, as `Logout::everywhere` does: once the families are
                // revoked no refresh mints another access token.
                let refresh_tokens = auth_jwt::revoke_subject_tokens(
                    stores.refresh,
                    stores.revocations,
                    SystemClock::shared(),
                    subject,
                )
                .await
                .map_err(CliError::Tokens)?;
                let revoked = stores
                    .sessions
                    .delete_subject(subject)
                    .await
                    .map_err(CliError::Store)?;
                Ok(json!({
                    "subject": subject,
                    "revoked": revoked,
                    "refresh_tokens": refresh_tokens,
                }))
            }
        }
    })
}

/// The stores the URL names: sessions, refresh tokens and revocations, under one prefix.
struct Stores {
    sessions: Box<dyn SessionStore>,
    refresh: Arc<dyn RefreshTokenStore>,
    revocations: Arc<dyn RevocationStore>,
}

/// The stores the URL names.
async fn open(args: &StoreArgs) -> Result<Stores, CliError> {
    let url = args.store.as_str();
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        let connection = RedisConnection::connect(url)
            .await
            .map_err(|e| CliError::StoreSetup(e.to_string()))?;
        let mut builder = RedisStoreBuilder::new(connection);
        if let Some(prefix) = &args.key_prefix {
            builder = builder.prefix(prefix.as_str());
        }
        let setup = |e: store_redis::ConfigError| CliError::StoreSetup(e.to_string());
        return Ok(Stores {
            sessions: Box::new(builder.sessions().map_err(setup)?),
            refresh: Arc::new(builder.refresh_tokens().map_err(setup)?),
            revocations: Arc::new(builder.revocations().map_err(setup)?),
        });
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return sql::<Postgres>(url, args.key_prefix.as_deref()).await;
    }
    if url.starts_with("mysql://") || url.starts_with("mariadb://") {
        return sql::<MySql>(
            &url.replacen("mariadb://", "mysql://", 1),
            args.key_prefix.as_deref(),
        )
        .await;
    }
    if url.starts_with("sqlite:") {
        return sql::<Sqlite>(url, args.key_prefix.as_deref()).await;
    }
    Err(CliError::StoreSetup(format!(
        "unsupported store URL scheme {:?}: expected redis://, postgres://, mysql:// or sqlite://",
        scheme_of(url)
    )))
}

/// What comes before the first `:` of `url`, if it can be a scheme (letters, digits, `+`,
/// `-`, `.`), else nothing: a URL without `://` (`postgres:/user:password@host`, or the
/// scheme left off) must not be quoted whole, password and all.
fn scheme_of(url: &str) -> &str {
    match url.split_once(':') {
        Some((scheme, _))
            if scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) =>
        {
            scheme
        }
        _ => "",
    }
}

/// The tables of a SQL store (which the service created with `migrate()`; an operator's
/// tool never changes the schema).
async fn sql<DB: Backend>(url: &str, prefix: Option<&str>) -> Result<Stores, CliError> {
    let pool = store_sql::connect::<DB>(url)
        .await
        .map_err(|e| CliError::StoreSetup(e.to_string()))?;
    let mut builder = SqlStores::builder(pool);
    if let Some(prefix) = prefix {
        let prefix = TablePrefix::new(prefix).map_err(|e| CliError::StoreSetup(e.to_string()))?;
        builder = builder.prefix(prefix);
    }
    let stores = builder.build();
    Ok(Stores {
        sessions: Box::new(stores.sessions()),
        refresh: Arc::new(stores.refresh_tokens()),
        revocations: Arc::new(stores.revocations()),
    })
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
