//! `authctl sessions list|revoke|revoke-all`: a user's sessions in a shared store.

use std::time::{SystemTime, UNIX_EPOCH};

use auth_core::{SessionKey, SessionStore};
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
                let revoked = open(store)
                    .await?
                    .delete_subject(subject)
                    .await
                    .map_err(CliError::Store)?;
                Ok(json!({ "subject": subject, "revoked": revoked }))
            }
        }
    })
}

/// The session store the URL names.
async fn open(args: &StoreArgs) -> Result<Box<dyn SessionStore>, CliError> {
    let url = args.store.as_str();
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        let connection = RedisConnection::connect(url)
            .await
            .map_err(|e| CliError::StoreSetup(e.to_string()))?;
        let mut builder = RedisStoreBuilder::new(connection);
        if let Some(prefix) = &args.key_prefix {
            builder = builder.prefix(prefix.as_str());
        }
        let store = builder
            .sessions()
            .map_err(|e| CliError::StoreSetup(e.to_string()))?;
        return Ok(Box::new(store));
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

/// The session table of a SQL store (which the service created with `migrate()`; an
/// operator's tool never changes the schema).
async fn sql<DB: Backend>(
    url: &str,
    prefix: Option<&str>,
) -> Result<Box<dyn SessionStore>, CliError> {
    let pool = store_sql::connect::<DB>(url)
        .await
        .map_err(|e| CliError::StoreSetup(e.to_string()))?;
    let mut builder = SqlStores::builder(pool);
    if let Some(prefix) = prefix {
        let prefix = TablePrefix::new(prefix).map_err(|e| CliError::StoreSetup(e.to_string()))?;
        builder = builder.prefix(prefix);
    }
    Ok(Box::new(builder.build().sessions()))
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
