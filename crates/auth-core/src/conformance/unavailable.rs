//! The bounded-time rule, for every trait: a store whose backend does not answer (the
//! factory hands one over: a server that accepts connections and never replies) answers
//! every call with [`StoreError::Unavailable`], within the time it was configured with,
//! never a hang and never another error. Each call is given [`LIVENESS`] before the clause
//! calls it hung; configure the stalled store with a limit well under it.

use std::future::Future;
use std::time::{Duration, SystemTime};

use crate::store::{RefreshRecord, SessionRecord, ThrottleKey, TokenRef};
use crate::{
    FamilyId, RefreshToken, RefreshTokenStore, RevocationStore, SessionId, SessionStore,
    StoreError, ThrottleStore,
};

/// How long a call may take before the clause calls it hung.
pub const LIVENESS: Duration = Duration::from_secs(10);

async fn unavailable<T: std::fmt::Debug>(
    call: &str,
    answer: impl Future<Output = Result<T, StoreError>>,
) {
    match tokio::time::timeout(LIVENESS, answer).await {
        Ok(Err(StoreError::Unavailable(_))) => {}
        Ok(other) => panic!("{call} on a stalled backend answered {other:?}, not Unavailable"),
        Err(_) => panic!("{call} on a stalled backend hung for {LIVENESS:?}"),
    }
}

fn times() -> (SystemTime, SystemTime) {
    let now = SystemTime::now();
    (now, now + Duration::from_secs(60))
}

/// Every [`SessionStore`] call answers `Unavailable`.
pub async fn session_calls_answer_unavailable<S: SessionStore>(store: S) {
    let key = SessionId::generate().expect("CSPRNG").key();
    let (now, later) = times();
    let record = SessionRecord::new("stalled", Vec::new(), now, later);
    unavailable("create", store.create(&key, &record)).await;
    unavailable("load", store.load(&key)).await;
    unavailable("save", store.save(&key, &record)).await;
    unavailable("touch", store.touch(&key, now, later)).await;
    unavailable("delete", store.delete(&key)).await;
    unavailable("delete_subject", store.delete_subject("stalled")).await;
    unavailable("list_subject", store.list_subject("stalled")).await;
}

/// Every [`RevocationStore`] call answers `Unavailable`.
pub async fn revocation_calls_answer_unavailable<S: RevocationStore>(store: S) {
    let family = FamilyId::generate().expect("CSPRNG");
    let (now, later) = times();
    unavailable("revoke", store.revoke("iss", "jti", later)).await;
    unavailable("is_revoked", store.is_revoked("iss", "jti")).await;
    unavailable("revoke_family", store.revoke_family("iss", &family, later)).await;
    unavailable(
        "revoke_subject",
        store.revoke_subject("stalled", now, later),
    )
    .await;
    unavailable("subject_not_before", store.subject_not_before("stalled")).await;
    let token = TokenRef::new("iss", "stalled", now)
        .jti(Some("jti"))
        .family(Some(&family));
    unavailable("is_token_revoked", store.is_token_revoked(&token)).await;
}

/// Every [`RefreshTokenStore`] call answers `Unavailable`.
pub async fn refresh_calls_answer_unavailable<S: RefreshTokenStore>(store: S) {
    let hash = || RefreshToken::generate().expect("CSPRNG").hash();
    let family = FamilyId::generate().expect("CSPRNG");
    let (now, later) = times();
    let record = RefreshRecord::new(family.clone(), "stalled", Vec::new(), now, later);
    unavailable("insert", store.insert(&hash(), &record)).await;
    unavailable("rotate", store.rotate(&hash(), &hash(), now, later)).await;
    unavailable("revoke_family", store.revoke_family(&family)).await;
    unavailable("revoke_subject", store.revoke_subject("stalled")).await;
}

/// Every [`ThrottleStore`] call answers `Unavailable`.
pub async fn throttle_calls_answer_unavailable<S: ThrottleStore>(store: S) {
    let key = ThrottleKey::username("stalled");
    unavailable("hit", store.hit(&key, Duration::from_secs(60))).await;
    let ends_at = std::time::SystemTime::now() + Duration::from_secs(60);
    unavailable("release", store.release(&key, ends_at)).await;
    unavailable("reset", store.reset(&key)).await;
}
