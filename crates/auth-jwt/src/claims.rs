//! The JWT claims set, read in one pass: the registered claims (`iss`, `sub`, `aud`,
//! `exp`, `nbf`, `iat`, `jti`) and this crate's private ones (`fid`, `iat_ms`) are captured
//! and type-checked here while the caller's own claims type `C` is deserialized from the
//! same object.

use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::{AuthError, Claim, FamilyId, Reason};
use serde::Deserialize;
use serde::de::value::{
    BorrowedStrDeserializer, MapAccessDeserializer, SeqAccessDeserializer, StringDeserializer,
};
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// The private claim carrying the refresh-token family of an access token.
pub const FAMILY_CLAIM: &str = "fid";
/// The private claim carrying the issue time in milliseconds (see [`Issuer`](crate::Issuer)
/// on per-subject revocation and the same-second problem).
pub const IAT_MS_CLAIM: &str = "iat_ms";

/// The registered claims of a verified token, typed.
///
/// The claims set is read once: these claims land here, every other claim in the caller's
/// type (which therefore never sees `iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`,
/// `fid` or `iat_ms`). `aud` is checked against the verifier's audiences in place and
/// not kept.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegisteredClaims {
    /// `iss`.
    pub iss: Option<String>,
    /// `sub`.
    pub sub: Option<String>,
    /// `exp` (always present: tokens without it are refused).
    pub exp: SystemTime,
    /// `nbf`.
    pub nbf: Option<SystemTime>,
    /// `iat`, to the millisecond when the token carries `iat_ms` consistent with it.
    pub iat: Option<SystemTime>,
    /// `jti`.
    pub jti: Option<String>,
    /// The refresh-token family (`fid`), for tokens minted by an [`Issuer`](crate::Issuer).
    pub family: Option<FamilyId>,
}

#[derive(Clone, Copy)]
enum Name {
    Iss,
    Sub,
    Aud,
    Exp,
    Nbf,
    Iat,
    Jti,
    Fid,
    IatMs,
}

impl Name {
    fn of(key: &str) -> Option<Self> {
        Some(match key {
            "iss" => Self::Iss,
            "sub" => Self::Sub,
            "aud" => Self::Aud,
            "exp" => Self::Exp,
            "nbf" => Self::Nbf,
            "iat" => Self::Iat,
            "jti" => Self::Jti,
            FAMILY_CLAIM => Self::Fid,
            IAT_MS_CLAIM => Self::IatMs,
            _ => return None,
        })
    }
}

/// A registered claim's value as found: scalars kept as they are (strings borrowed from
/// the input when they need no unescaping), anything else as a JSON value.
enum Prim<'de> {
    U64(u64),
    I64(i64),
    F64(f64),
    Str(&'de str),
    String(String),
    Other(Value),
}

impl<'de> Deserialize<'de> for Prim<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PrimVisitor;
        impl<'de> Visitor<'de> for PrimVisitor {
            type Value = Prim<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Prim<'de>, E> {
                Ok(Prim::U64(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Prim<'de>, E> {
                Ok(Prim::I64(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Prim<'de>, E> {
                Ok(Prim::F64(v))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Prim<'de>, E> {
                Ok(Prim::Str(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Prim<'de>, E> {
                Ok(Prim::String(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Prim<'de>, E> {
                Ok(Prim::String(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Prim<'de>, E> {
                Ok(Prim::Other(Value::Bool(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Prim<'de>, E> {
                Ok(Prim::Other(Value::Null))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Prim<'de>, A::Error> {
                Value::deserialize(SeqAccessDeserializer::new(seq)).map(Prim::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Prim<'de>, A::Error> {
                Value::deserialize(MapAccessDeserializer::new(map)).map(Prim::Other)
            }
        }
        deserializer.deserialize_any(PrimVisitor)
    }
}

impl<'de> Prim<'de> {
    fn number(&self) -> Option<f64> {
        match *self {
            // Seconds since the epoch fit f64 exactly far beyond any plausible date.
            Self::U64(v) => Some(v as f64),
            Self::I64(v) => Some(v as f64),
            Self::F64(v) => Some(v),
            _ => None,
        }
    }

    fn into_string(self) -> Option<String> {
        match self {
            Self::Str(s) => Some(s.to_owned()),
            Self::String(s) => Some(s),
            _ => None,
        }
    }
}

/// The registered claims as found, before type checks.
#[derive(Default)]
struct Slots<'de> {
    values: [Option<Prim<'de>>; 9],
    duplicate: bool,
}

impl<'de> Slots<'de> {
    fn take(&mut self, name: Name) -> Option<Prim<'de>> {
        self.values[name as usize].take()
    }
}

enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Self::Borrowed(s) => s,
            Self::Owned(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a claim name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// A `MapAccess` that hands every entry to `C` and keeps a copy of the registered ones.
/// A `MapAccess` that keeps the registered claims for itself and hands every other entry
/// to `C`: one pass over the claims set, and no claim read twice.
struct Intercept<'s, 'de, A> {
    inner: A,
    slots: &'s mut Slots<'de>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Intercept<'_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let Some(key) = self.inner.next_key::<Key<'de>>()? else {
                return Ok(None);
            };
            let Some(name) = Name::of(key.as_str()) else {
                return match key {
                    Key::Borrowed(s) => seed.deserialize(BorrowedStrDeserializer::new(s)).map(Some),
                    Key::Owned(s) => seed.deserialize(StringDeserializer::new(s)).map(Some),
                };
            };
            let value: Prim<'de> = self.inner.next_value()?;
            let slot = &mut self.slots.values[name as usize];
            if slot.is_some() {
                self.slots.duplicate = true;
                return Err(de::Error::custom("a registered claim appears twice"));
            }
            *slot = Some(value);
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }
}

struct Capture<'s, 'de, C> {
    slots: &'s mut Slots<'de>,
    claims: PhantomData<C>,
}

impl<'de, C: Deserialize<'de>> Visitor<'de> for Capture<'_, 'de, C> {
    type Value = C;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<C, A::Error> {
        C::deserialize(MapAccessDeserializer::new(Intercept {
            inner: map,
            slots: self.slots,
        }))
    }
}

/// The latest NumericDate accepted: 9999-12-31T23:59:59Z. Later dates are not a token
/// anyone meant to issue, and refusing them keeps every time sum in this crate (an `exp`
/// plus a leeway, say) far from overflow on every platform.
pub const MAX_NUMERIC_DATE: u64 = 253_402_300_799;

fn numeric_date(value: Prim<'_>, claim: Claim) -> Result<SystemTime, AuthError> {
    let since_epoch = match value {
        // Whole seconds, as nearly every issuer writes them: no float conversion.
        Prim::U64(seconds) => Some(Duration::from_secs(seconds)),
        other => {
            let seconds = other
                .number()
                .ok_or(AuthError::Malformed(Reason::ClaimNotNumber(claim)))?;
            Duration::try_from_secs_f64(seconds).ok()
        }
    };
    since_epoch
        .filter(|d| *d <= Duration::from_secs(MAX_NUMERIC_DATE))
        .and_then(|d| UNIX_EPOCH.checked_add(d))
        .ok_or(AuthError::Malformed(Reason::ClaimOutOfRange(claim)))
}

fn string(value: Option<Prim<'_>>, claim: Claim) -> Result<Option<String>, AuthError> {
    value
        .map(|v| {
            v.into_string()
                .ok_or(AuthError::Malformed(Reason::ClaimNotString(claim)))
        })
        .transpose()
}

/// What the verifier expects of `iss` and `aud`.
pub(crate) struct Expected<'a> {
    pub(crate) issuer: Option<&'a str>,
    pub(crate) audiences: &'a [String],
}

fn check_issuer(
    found: Option<Prim<'_>>,
    expected: Option<&str>,
) -> Result<Option<String>, AuthError> {
    let found = string(found, Claim::Iss)?;
    match (expected, found) {
        (None, found) => Ok(found),
        (Some(_), None) => Err(AuthError::Invalid(Reason::MissingClaim(Claim::Iss))),
        (Some(expected), Some(found)) if expected == found => Ok(Some(found)),
        (Some(_), Some(_)) => Err(AuthError::Invalid(Reason::WrongIssuer)),
    }
}

fn check_audience(found: Option<Prim<'_>>, audiences: &[String]) -> Result<(), AuthError> {
    const NOT_STRINGS: AuthError = AuthError::Malformed(Reason::AudNotStrings);
    let ours = |aud: &str| audiences.iter().any(|a| a == aud);
    let matched = match &found {
        None => None,
        Some(Prim::Str(s)) => Some(ours(s)),
        Some(Prim::String(s)) => Some(ours(s)),
        Some(Prim::Other(Value::Array(items))) => {
            let mut any = false;
            for item in items {
                any |= ours(item.as_str().ok_or(NOT_STRINGS)?);
            }
            Some(any)
        }
        Some(_) => return Err(NOT_STRINGS),
    };
    match (audiences.is_empty(), matched) {
        (true, None) | (false, Some(true)) => Ok(()),
        (true, Some(_)) => Err(AuthError::Invalid(Reason::UnexpectedAudience)),
        (false, None) => Err(AuthError::Invalid(Reason::MissingClaim(Claim::Aud))),
        (false, Some(false)) => Err(AuthError::Invalid(Reason::WrongAudience)),
    }
}

/// Parses the decoded payload into the caller's claims and the typed registered claims,
/// checking `iss` and `aud` against `expected` on the way.
pub(crate) fn parse<C: DeserializeOwned>(
    json: &[u8],
    expected: &Expected<'_>,
) -> Result<(C, RegisteredClaims), AuthError> {
    if json.first() != Some(&b'{') {
        return Err(AuthError::Malformed(Reason::ClaimsNotObject));
    }
    // Claims the caller's type skips are passed over without serde_json checking their
    // strings, so the text is checked here once: whether a token is accepted must not
    // depend on the claims type it is read into. Reading from the checked `str` also
    // spares serde_json checking every string it does parse a second time.
    let Ok(text) = std::str::from_utf8(json) else {
        return Err(AuthError::Malformed(Reason::ClaimsNotUtf8));
    };
    let mut slots = Slots::default();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = (&mut deserializer).deserialize_map(Capture::<C> {
        slots: &mut slots,
        claims: PhantomData,
    });
    let parsed = parsed.and_then(|claims| deserializer.end().map(|()| claims));
    let claims = match parsed {
        Ok(claims) => claims,
        Err(_) if slots.duplicate => {
            return Err(AuthError::Malformed(Reason::DuplicateClaim));
        }
        Err(error) if error.is_data() => {
            return Err(AuthError::Malformed(Reason::ClaimsWrongTypes));
        }
        Err(_) => {
            return Err(AuthError::Malformed(Reason::ClaimsNotJson));
        }
    };
    let exp = match slots.take(Name::Exp) {
        Some(v) => numeric_date(v, Claim::Exp)?,
        None => return Err(AuthError::Invalid(Reason::MissingClaim(Claim::Exp))),
    };
    let nbf = slots
        .take(Name::Nbf)
        .map(|v| numeric_date(v, Claim::Nbf))
        .transpose()?;
    let mut iat = slots
        .take(Name::Iat)
        .map(|v| numeric_date(v, Claim::Iat))
        .transpose()?;
    if let Some(value) = slots.take(Name::IatMs) {
        let Prim::U64(millis) = value else {
            return Err(AuthError::Malformed(Reason::IatMsNotWhole));
        };
        let precise = UNIX_EPOCH.checked_add(Duration::from_millis(millis));
        let whole_second = |t: SystemTime| t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).ok();
        match (iat, precise) {
            (Some(seconds), Some(precise)) if whole_second(seconds) == whole_second(precise) => {
                iat = Some(precise);
            }
            _ => return Err(AuthError::Malformed(Reason::IatMsMismatch)),
        }
    }
    let family = string(slots.take(Name::Fid), Claim::Fid)?
        .map(|text| FamilyId::parse(&text))
        .transpose()
        .map_err(|_| AuthError::Malformed(Reason::BadFamily))?;
    let iss = check_issuer(slots.take(Name::Iss), expected.issuer)?;
    check_audience(slots.take(Name::Aud), expected.audiences)?;
    let registered = RegisteredClaims {
        iss,
        sub: string(slots.take(Name::Sub), Claim::Sub)?,
        exp,
        nbf,
        iat,
        jti: string(slots.take(Name::Jti), Claim::Jti)?,
        family,
    };
    Ok((claims, registered))
}
