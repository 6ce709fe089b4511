//! RFC 7638 JWK thumbprints: a name for a key computed from the key alone, so every tool
//! that names a key without a `kid` names it the same way.

use crate::b64;
use crate::error::KeyError;
use crate::jwk::Jwk;

impl Jwk {
    /// The RFC 7638 thumbprint: SHA-256 over the key's required members (`e`, `kty`, `n`
    /// for RSA; `crv`, `kty`, `x`, `y` for EC; `crv`, `kty`, `x` for OKP; `k`, `kty` for
    /// `oct`) in their canonical JSON form, base64url. Other members (`kid`, `alg`, private
    /// members) do not count, so a private JWK and its public half share a thumbprint.
    ///
    /// An `oct` thumbprint is a hash of the secret itself: never publish it.
    ///
    /// ```
    /// use auth_jwt::Jwk;
    ///
    /// let jwk: Jwk = serde_json::from_str(r#"{"kty":"OKP","crv":"Ed25519",
    ///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#).unwrap();
    /// // RFC 8037 §A.3.
    /// assert_eq!(jwk.thumbprint()?, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    /// # Ok::<(), auth_jwt::KeyError>(())
    /// ```
    pub fn thumbprint(&self) -> Result<String, KeyError> {
        let kty = Some(self.kty.clone());
        // The required members in lexicographic order (RFC 7638 §3.2, §3.3).
        let members: &[(&str, &Option<String>)] = match self.kty.as_str() {
            "RSA" => &[("e", &self.e), ("kty", &kty), ("n", &self.n)],
            "EC" => &[
                ("crv", &self.crv),
                ("kty", &kty),
                ("x", &self.x),
                ("y", &self.y),
            ],
            "OKP" => &[("crv", &self.crv), ("kty", &kty), ("x", &self.x)],
            "oct" => &[("k", &self.k), ("kty", &kty)],
            _ => return Err(KeyError::Jwk("the JWK's kty is not RSA, EC, OKP or oct")),
        };
        let mut json = String::from("{");
        for (i, (name, value)) in members.iter().enumerate() {
            let value = value
                .as_deref()
                .ok_or(KeyError::Jwk("the JWK lacks a member its thumbprint needs"))?;
            if i > 0 {
                json.push(',');
            }
            json.push('"');
            json.push_str(name);
            json.push_str("\":");
            // serde_json writes a string as RFC 7638 asks: no whitespace, minimal escapes.
            json.push_str(&serde_json::Value::from(value).to_string());
        }
        json.push('}');
        let digest = ring::digest::digest(&ring::digest::SHA256, json.as_bytes());
        Ok(b64::encode(digest.as_ref()))
    }
}
