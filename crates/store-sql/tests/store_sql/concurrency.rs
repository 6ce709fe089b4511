//! Many tasks refreshing one token at once, each on its own connection, so the race is
//! run by the database: exactly one wins, every other sees reuse (or a `Conflict`), and
//! the family ends revoked.

use std::sync::Arc;
use std::time::Duration;

use auth_core::store::{RefreshRecord, Rotation};
use auth_core::{Clock, FamilyId, RefreshToken, RefreshTokenHash, RefreshTokenStore, StoreError};
use sqlx::Pool;
use store_sql::{Backend, SqlStores};

use crate::common::{drop_tables, manual_clock, mysql_pool, postgres_pool, stores_on};

const TASKS: usize = 16;
const ROUNDS: usize = 5;

fn hash() -> RefreshTokenHash {
    RefreshToken::generate().unwrap().hash()
}

async fn race<DB: Backend>(pool: Pool<DB>)
where
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
{
    let (clock, shared) = manual_clock();
    let stores: SqlStores<DB> = stores_on(pool, shared).await;
    let store = Arc::new(stores.refresh_tokens());
    for round in 0..ROUNDS {
        let now = clock.now();
        let first = hash();
        let family = FamilyId::generate().unwrap();
        let record = RefreshRecord::new(
            family.clone(),
            format!("racer-{round}"),
            b"{}".to_vec(),
            now,
            now + Duration::from_secs(3600),
        );
        store.insert(&first, &record).await.unwrap();
        let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let (store, barrier, new) = (store.clone(), barrier.clone(), hash());
                tokio::spawn(async move {
                    barrier.wait().await;
                    let outcome = store
                        .rotate(&first, &new, now, now + Duration::from_secs(3600))
                        .await;
                    (outcome, new)
                })
            })
            .collect();
        let mut winners = Vec::new();
        let (mut reused, mut conflicts) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                (Ok(Rotation::Rotated(next)), new) => {
                    assert_eq!(next.family, family);
                    winners.push(new);
                }
                (Ok(Rotation::Reused { family: f, .. }), _) => {
                    assert_eq!(f, family);
                    reused += 1;
                }
                (Err(StoreError::Conflict), _) => conflicts += 1,
                (other, _) => panic!("round {round}: unexpected {:?}", other.map(|_| ())),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one winner");
        assert_eq!(reused + conflicts, TASKS - 1, "round {round}");
        assert!(
            reused >= 1,
            "round {round}: the first loser revokes the family"
        );
        assert_eq!(
            store
                .rotate(&winners[0], &hash(), now, now + Duration::from_secs(60))
                .await
                .unwrap(),
            Rotation::Unknown,
            "round {round}: the winner's token died with its family"
        );
        assert!(
            matches!(
                store.rotate(&first, &hash(), now, now).await.unwrap(),
                Rotation::Reused { .. }
            ),
            "round {round}: a later replay is still recognised"
        );
    }
    drop_tables(&stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_refreshes_of_one_token_on_postgres() {
    race(postgres_pool(TASKS as u32).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_refreshes_of_one_token_on_mariadb() {
    race(mysql_pool(TASKS as u32).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_refreshes_of_one_token_on_a_sqlite_file() {
    race(crate::common::sqlite_file_pool().await).await;
}

/// After an explicit revocation, the family's unused tokens are dead and its used ones
/// still report a replay; the count is of unused tokens only.
async fn explicit_revocation_keeps_replay_detection<DB: Backend>(pool: Pool<DB>)
where
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
{
    let (clock, shared) = manual_clock();
    let stores: SqlStores<DB> = stores_on(pool, shared).await;
    let store = stores.refresh_tokens();
    let now = clock.now();
    let later = now + Duration::from_secs(3600);
    let subject = format!("revoked-{}", &hash().to_hex()[..8]);
    let mut families = Vec::new();
    let mut used = Vec::new();
    let mut newest = Vec::new();
    for _ in 0..2 {
        let (a, b) = (hash(), hash());
        let family = FamilyId::generate().unwrap();
        let record = RefreshRecord::new(family.clone(), subject.clone(), vec![], now, later);
        store.insert(&a, &record).await.unwrap();
        assert!(matches!(
            store.rotate(&a, &b, now, later).await.unwrap(),
            Rotation::Rotated(_)
        ));
        families.push(family);
        used.push(a);
        newest.push(b);
    }
    assert_eq!(
        store.revoke_family(&families[0]).await.unwrap(),
        1,
        "one unused token"
    );
    assert_eq!(store.revoke_family(&families[0]).await.unwrap(), 0);
    assert_eq!(
        store.revoke_subject(&subject).await.unwrap(),
        1,
        "the other family's"
    );
    for (a, b) in used.iter().zip(&newest) {
        assert_eq!(
            store.rotate(b, &hash(), now, later).await.unwrap(),
            Rotation::Unknown
        );
        assert!(matches!(
            store.rotate(a, &hash(), now, later).await.unwrap(),
            Rotation::Reused { .. }
        ));
    }
    drop_tables(&stores).await;
}

#[tokio::test]
async fn explicit_revocation_keeps_replay_detection_on_postgres() {
    explicit_revocation_keeps_replay_detection(postgres_pool(2).await).await;
}

#[tokio::test]
async fn explicit_revocation_keeps_replay_detection_on_mariadb() {
    explicit_revocation_keeps_replay_detection(mysql_pool(2).await).await;
}

#[tokio::test]
async fn explicit_revocation_keeps_replay_detection_on_sqlite() {
    explicit_revocation_keeps_replay_detection(crate::common::sqlite_memory_pool().await).await;
}
