//! Who a request is, whichever model proved it.

use std::time::SystemTime;

/// An authenticated principal. Handlers extract this and never care whether a session
/// cookie or a JWT proved it.
///
/// ```
/// use std::time::SystemTime;
/// use auth_core::{AuthMethod, Identity};
///
/// let method = AuthMethod::Jwt { jti: None, kid: None, issuer: Some("https://id.example".into()) };
/// let who = Identity::new("alice", method, SystemTime::now()).with_roles(["admin"]);
/// assert!(who.has_role("admin"));
/// assert!(!who.has_role("root"));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Identity {
    /// The user id (`sub` for JWTs, the session's subject for sessions).
    pub subject: String,
    /// Roles granted to the subject.
    pub roles: Vec<String>,
    /// OAuth-style scopes granted to the credential.
    pub scopes: Vec<String>,
    /// Any further claims (custom JWT claims, or session attributes an app chose to expose).
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// How the identity was proved.
    pub method: AuthMethod,
    /// When the credential was issued (session creation, JWT `iat`); `None` when the
    /// credential does not say (a JWT without `iat`), never a guess such as "now".
    pub authenticated_at: Option<SystemTime>,
    /// When the credential stops being valid, if known.
    pub expires_at: Option<SystemTime>,
}

/// How an [`Identity`] was proved.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMethod {
    /// A server-side session.
    Session {
        /// A non-secret label of the session (the start of its store key), never the id.
        id_hint: String,
    },
    /// A verified JWT.
    Jwt {
        /// The token's `jti`, if it had one.
        jti: Option<String>,
        /// The `kid` of the key that verified it, if any.
        kid: Option<String>,
        /// The issuer that vouched for it: the token's verified `iss`, which chose the
        /// keys that checked it when the verifier trusts several issuers.
        issuer: Option<String>,
    },
}

impl Identity {
    /// An identity with no roles, scopes or extra claims, authenticated at
    /// `authenticated_at` (a `SystemTime`, or `None` when the credential does not say).
    pub fn new(
        subject: impl Into<String>,
        method: AuthMethod,
        authenticated_at: impl Into<Option<SystemTime>>,
    ) -> Self {
        Self {
            subject: subject.into(),
            roles: Vec::new(),
            scopes: Vec::new(),
            claims: serde_json::Map::new(),
            method,
            authenticated_at: authenticated_at.into(),
            expires_at: None,
        }
    }

    /// Replaces the roles.
    pub fn with_roles<I, R>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Replaces the scopes.
    pub fn with_scopes<I, R>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Replaces the extra claims.
    pub fn with_claims(mut self, claims: serde_json::Map<String, serde_json::Value>) -> Self {
        self.claims = claims;
        self
    }

    /// Sets when the credential expires.
    pub fn with_expires_at(mut self, expires_at: SystemTime) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// Whether the subject holds `role` (exact match).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether the credential carries `scope` (exact match).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}
