//! [`Logout`]: one call that ends every credential of a subject, in both models.

use std::sync::Arc;

use auth_core::store::to_completion;
use auth_core::{AuthError, SessionStore};
use auth_jwt::Issuer;
use auth_session::SessionManager;

/// Ends every credential a subject holds, whichever model issued it: its refresh-token
/// families, every access token issued to it so far (the revocation store's per-subject
/// "not before", kept as long as any access token can live), and its server-side
/// sessions.
///
/// This is "log out everywhere" once an application uses both models. A session layer
/// built with [`issuer`](crate::SessionLayerBuilder::issuer) runs it for
/// [`SessionHandle::logout_everywhere`](crate::SessionHandle::logout_everywhere); call it
/// yourself for an admin action, a password change or a locked account. Its steps run to
/// their end even if the caller stops waiting (a client gone, a timeout layer): on the
/// current tokio runtime, see [`to_completion`].
///
/// ```
/// use std::sync::Arc;
/// use auth_core::SystemClock;
/// use auth_core::memory::{MemoryRefreshTokenStore, MemoryRevocationStore, MemorySessionStore};
/// use auth_jwt::{Algorithm, Issuer, KeySet, SigningKey};
/// use auth_session::SessionManager;
/// use auth_tower::Logout;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let clock = SystemClock::shared();
/// let keys = KeySet::with_signing_key(clock.clone(), "k1", SigningKey::generate(Algorithm::EdDSA)?)?;
/// let issuer = Issuer::builder(keys, clock.clone()).issuer("https://auth.example").build(
///     Arc::new(MemoryRefreshTokenStore::new(clock.clone())),
///     Arc::new(MemoryRevocationStore::new(clock)),
/// )?;
/// let sessions = SessionManager::new(MemorySessionStore::default());
/// sessions.create("alice", &serde_json::json!({})).await?;
/// issuer.login("alice", &serde_json::json!({})).await?;
///
/// let ended = Logout::new(sessions, issuer).everywhere("alice").await?;
/// assert_eq!((ended.sessions, ended.refresh_tokens), (1, 1));
/// # Ok(())
/// # }
/// ```
pub struct Logout<S> {
    sessions: Arc<SessionManager<S>>,
    issuer: Issuer,
}

impl<S> Clone for Logout<S> {
    fn clone(&self) -> Self {
        Self {
            sessions: self.sessions.clone(),
            issuer: self.issuer.clone(),
        }
    }
}

impl<S> std::fmt::Debug for Logout<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logout")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// What a [`Logout::everywhere`] ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ended {
    /// Sessions deleted.
    pub sessions: u64,
    /// Unused refresh tokens revoked (their families with them).
    pub refresh_tokens: u64,
}

impl<S> Logout<S> {
    /// Logout over a manager the session layer shares.
    pub(crate) fn shared(sessions: Arc<SessionManager<S>>, issuer: Issuer) -> Self {
        Self { sessions, issuer }
    }
}

impl<S: SessionStore> Logout<S> {
    /// Logout over the application's session manager and token issuer.
    pub fn new(sessions: SessionManager<S>, issuer: Issuer) -> Self {
        Self::shared(Arc::new(sessions), issuer)
    }

    /// Ends every session, refresh family and access token of `subject`. Safe to repeat:
    /// after an error (a store that could not answer), call it again.
    pub async fn everywhere(&self, subject: &str) -> Result<Ended, AuthError> {
        let this = self.clone();
        let subject = subject.to_owned();
        to_completion(async move { this.run(&subject).await }).await
    }

    async fn run(&self, subject: &str) -> Result<Ended, AuthError> {
        // Tokens first: once the families are revoked no refresh can mint another access
        // token, and the subject's "not before" covers every one minted until now.
        let refresh_tokens = self.issuer.revoke_all(subject).await?;
        let sessions = self.sessions.destroy_all(subject).await?;
        tracing::info!(
            event = "logout.everywhere",
            subject,
            sessions,
            refresh_tokens
        );
        Ok(Ended {
            sessions,
            refresh_tokens,
        })
    }
}
