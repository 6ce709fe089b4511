//! [`CurrentClaims`]: how a refresh learns what is true of its subject now.

use async_trait::async_trait;
use auth_core::AuthError;
use serde_json::{Map, Value};

/// What the application says about a subject whose refresh token is being used.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SubjectStatus {
    /// Still allowed in: the new access token carries these claims (roles, scopes, ...)
    /// instead of the ones copied from the login.
    Active(Map<String, Value>),
    /// Gone, disabled or locked out: the refresh fails with [`AuthError::Revoked`] and the
    /// whole family is revoked, its access tokens included.
    Disabled,
}

/// Re-reads a subject's claims at every refresh, so a role taken away (or an account
/// closed) reaches the next access token instead of living as long as the refresh family.
/// Set it with [`IssuerBuilder::current_claims`](crate::IssuerBuilder::current_claims).
///
/// Any `Fn(&str, &Map<String, Value>) -> Result<SubjectStatus, AuthError>` is one; for a
/// database lookup, implement the trait on your own type.
///
/// ```
/// use auth_jwt::{CurrentClaims, SubjectStatus};
/// use serde_json::{Map, Value, json};
///
/// fn roles_of(subject: &str) -> Option<Vec<&'static str>> {
///     (subject == "alice").then(|| vec!["user"])
/// }
/// let hook = |subject: &str, _login: &Map<String, Value>| {
///     Ok(match roles_of(subject) {
///         Some(roles) => {
///             let mut claims = Map::new();
///             claims.insert("roles".into(), json!(roles));
///             SubjectStatus::Active(claims)
///         }
///         None => SubjectStatus::Disabled,
///     })
/// };
/// fn takes(_: impl CurrentClaims) {}
/// takes(hook);
/// ```
#[async_trait]
pub trait CurrentClaims: Send + Sync + 'static {
    /// The subject's status now; `login_claims` are the custom claims it logged in with.
    ///
    /// It runs after the presented refresh token was used up (the store's rotation is
    /// what reads the family's record). An error fails the refresh without ending the
    /// family, but the client holds no live token then: its retry with the used one
    /// counts as reuse and ends the family, and the user logs in again. Answer
    /// [`SubjectStatus::Disabled`] only for a subject that must be logged out; keep
    /// errors for lookups that could not answer, and make them rare (a timeout and a
    /// retry of your own inside the hook, say).
    async fn current_claims(
        &self,
        subject: &str,
        login_claims: &Map<String, Value>,
    ) -> Result<SubjectStatus, AuthError>;
}

#[async_trait]
impl<F> CurrentClaims for F
where
    F: Fn(&str, &Map<String, Value>) -> Result<SubjectStatus, AuthError> + Send + Sync + 'static,
{
    async fn current_claims(
        &self,
        subject: &str,
        login_claims: &Map<String, Value>,
    ) -> Result<SubjectStatus, AuthError> {
        self(subject, login_claims)
    }
}
