//! API keys and access tokens that a PostgreSQL server remembers between requests:
//! remembered while the server hears of changes, forgotten as soon as a key or token
//! changes on any connection, and never served past a broken listener without its
//! having reconnected. Ignored without PostgreSQL; .ci/run's PostgreSQL pass runs them.

use std::time::Duration;

use fixpoint_store::Store;
use fixpoint_store::auth::{self, Presented};
use fixpoint_store::db::{Connection, Raw, TestPostgresDatabase, required_test_postgres_admin};
use jiff::{Timestamp, ToSpan};

/// Well below the ten seconds anything is remembered for at most: a change must reach
/// the other servers by word, not by the memory running out.
const HEARD_WITHIN: Duration = Duration::from_secs(3);

async fn sql(store: &Store, statement: &str) {
    let mut tx = store.write().await.unwrap();
    let Raw::Postgres(c) = tx.raw() else {
        panic!("a PostgreSQL store");
    };
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(c)
        .await
        .unwrap();
    Store::commit(tx).await.unwrap();
}

async fn new_key(store: &Store, name: &str) -> i64 {
    let mut tx = store.write().await.unwrap();
    let id = auth::insert_api_key(
        &mut tx,
        (name, "admin"),
        &format!("digest-of-{name}"),
        Presented::Alone,
        Timestamp::now(),
    )
    .await
    .unwrap();
    Store::commit(tx).await.unwrap();
    id
}

async fn known(store: &Store, name: &str) -> bool {
    store
        .api_key_by_digest(&format!("digest-of-{name}"))
        .await
        .unwrap()
        .is_some()
}

/// Whether `store` finds the test's access token good at `at`.
async fn token_good(store: &Store, at: Timestamp) -> bool {
    store
        .key_by_access_token("token-digest", at)
        .await
        .unwrap()
        .is_some()
}

/// Whether `check` holds within [`HEARD_WITHIN`], asking again every 20 ms.
async fn within_heard<F: std::future::Future<Output = bool>>(mut check: impl FnMut() -> F) -> bool {
    let deadline = tokio::time::Instant::now() + HEARD_WITHIN;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Whether `store` stops finding the key within [`HEARD_WITHIN`].
async fn forgotten(store: &Store, name: &str) -> bool {
    within_heard(|| async { !known(store, name).await }).await
}

/// Waits until the store listens on the credentials channel, on a connection of its
/// own, other than `not`; returns that connection's backend.
async fn listener(store: &Store, not: Option<i32>) -> i32 {
    let deadline = tokio::time::Instant::now() + HEARD_WITHIN;
    while tokio::time::Instant::now() < deadline {
        let mut conn = pg(store).await;
        let channels: Vec<String> = sqlx::query_scalar("SELECT pg_listening_channels()")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        assert!(channels.is_empty(), "pooled connections do not listen");
        let mut listeners: Vec<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        // The broken one may linger in the list a moment.
        listeners.retain(|pid| Some(*pid) != not);
        match listeners.as_slice() {
            [] => tokio::time::sleep(Duration::from_millis(20)).await,
            [pid] => return *pid,
            more => panic!("one listener a store, found {more:?}"),
        }
    }
    panic!("the store never listened for credential changes");
}

async fn pg(store: &Store) -> sqlx::pool::PoolConnection<sqlx::Postgres> {
    let fixpoint_store::Read::Postgres(c) = store.read().await.unwrap() else {
        panic!("a PostgreSQL store");
    };
    c
}

/// Two servers on one database, and the database itself for the URL.
async fn two_servers() -> (Store, Store, TestPostgresDatabase) {
    let database = TestPostgresDatabase::create(&required_test_postgres_admin()).await;
    let one = Store::open(&database.url).await.unwrap();
    let other = Store::open(&database.url).await.unwrap();
    (one, other, database)
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with FIXPOINT_TEST_POSTGRES_URL and --include-ignored (.ci/run does)"]
async fn a_key_is_remembered_until_any_connection_changes_it() {
    let (one, other, _database) = two_servers().await;
    let revoked_elsewhere = new_key(&other, "revoked-elsewhere").await;
    new_key(&other, "deleted-by-hand").await;
    new_key(&other, "remembered").await;
    assert!(known(&one, "remembered").await);
    listener(&one, None).await;
    for name in ["revoked-elsewhere", "deleted-by-hand", "remembered"] {
        assert!(known(&one, name).await, "{name}");
    }

    // Remembered: found with the table out of the way (a rename tells no one).
    sql(&other, "ALTER TABLE api_keys RENAME TO api_keys_away").await;
    assert!(known(&one, "remembered").await);
    sql(&other, "ALTER TABLE api_keys_away RENAME TO api_keys").await;

    // Another server revokes a key: this one hears of it.
    assert!(
        other
            .revoke_api_key(revoked_elsewhere, Timestamp::now())
            .await
            .unwrap()
    );
    assert!(forgotten(&one, "revoked-elsewhere").await);

    // A person deletes a key by hand: the trigger tells all the same.
    assert!(known(&one, "deleted-by-hand").await);
    sql(
        &other,
        "DELETE FROM api_keys WHERE digest = 'digest-of-deleted-by-hand'",
    )
    .await;
    assert!(forgotten(&one, "deleted-by-hand").await);
    assert!(known(&one, "remembered").await, "the others are read again");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with FIXPOINT_TEST_POSTGRES_URL and --include-ignored (.ci/run does)"]
async fn a_server_that_revokes_a_key_stops_it_at_once() {
    let (one, _other, _database) = two_servers().await;
    let id = new_key(&one, "mine").await;
    assert!(known(&one, "mine").await);
    listener(&one, None).await;
    assert!(known(&one, "mine").await);
    assert!(one.revoke_api_key(id, Timestamp::now()).await.unwrap());
    assert!(!known(&one, "mine").await, "without waiting for the word");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with FIXPOINT_TEST_POSTGRES_URL and --include-ignored (.ci/run does)"]
async fn an_access_token_is_forgotten_when_its_key_is_revoked_and_ends_when_it_expires() {
    let (one, other, _database) = two_servers().await;
    let id = new_key(&other, "client").await;
    let now = Timestamp::now();
    let expires = now + 1.hour();
    let mut tx = other.write().await.unwrap();
    auth::insert_access_token(&mut tx, id, "token-digest", expires, now)
        .await
        .unwrap();
    Store::commit(tx).await.unwrap();
    assert!(token_good(&one, now).await);
    listener(&one, None).await;
    assert!(token_good(&one, now).await);
    assert!(
        !token_good(&one, expires).await,
        "a remembered token ends when it expires"
    );

    other.revoke_api_key(id, Timestamp::now()).await.unwrap();
    assert!(
        within_heard(|| async { !token_good(&one, now).await }).await,
        "the token of a revoked key was still served"
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with FIXPOINT_TEST_POSTGRES_URL and --include-ignored (.ci/run does)"]
async fn a_broken_listener_reconnects_and_hears_again() {
    let (one, other, _database) = two_servers().await;
    let id = new_key(&other, "key").await;
    assert!(known(&one, "key").await);
    let first = listener(&one, None).await;
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(first)
        .fetch_one(&mut *pg(&other).await)
        .await
        .unwrap();
    assert!(terminated);
    // Words said while it was gone are lost: it must forget what it remembered, listen
    // again and hear the next.
    listener(&one, Some(first)).await;
    assert!(known(&one, "key").await);
    other.revoke_api_key(id, Timestamp::now()).await.unwrap();
    assert!(forgotten(&one, "key").await);
}
