//! How the PostgreSQL store holds its connections. The create writer's transactions
//! (`Store::write_for_batches`) run on a connection of its own and plan their
//! statements generically; neither may reach the pool every other read and write
//! uses: a pooled connection planning every statement generically would give reads on
//! skewed columns a plan made without their values. And a connection whose server
//! went away while it sat idle is replaced, not handed to a request. Ignored without
//! PostgreSQL; .ci/run's PostgreSQL pass runs them.

use fixpoint_store::db::{
    Connection, POSTGRES_IDLE_BEFORE_PING, Raw, TestPostgresDatabase, required_test_postgres_admin,
};
use fixpoint_store::{Read, Store};

/// A store on a database of its own; the database goes after the store (fields drop
/// in order).
struct FreshStore {
    store: Store,
    database: TestPostgresDatabase,
}

impl FreshStore {
    async fn open() -> Self {
        let database = TestPostgresDatabase::create(&required_test_postgres_admin()).await;
        let store = Store::open(&database.url).await.unwrap();
        Self { store, database }
    }

    async fn close(self) {
        self.store.close().await;
    }
}

/// The connection's plan_cache_mode and its backend's process id.
async fn plan_mode(conn: &mut impl Connection) -> (String, i32) {
    let Raw::Postgres(c) = conn.raw() else {
        panic!("a PostgreSQL store gives PostgreSQL connections");
    };
    sqlx::query_as("SELECT current_setting('plan_cache_mode'), pg_backend_pid()")
        .fetch_one(c)
        .await
        .unwrap()
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with FIXPOINT_TEST_POSTGRES_URL and --include-ignored (.ci/run does)"]
async fn the_batch_writer_plans_generically_on_a_connection_of_its_own() {
    let fresh = FreshStore::open().await;
    let store = &fresh.store;

    let mut tx = store.write_for_batches().await.unwrap();
    let (mode, writer) = plan_mode(&mut tx).await;
    assert_eq!(mode, "force_generic_plan");
    Store::commit(tx).await.unwrap();
    let mut tx = store.write_for_batches().await.unwrap();
    assert_eq!(
        plan_mode(&mut tx).await,
        ("force_generic_plan".to_owned(), writer),
        "the next batch, on the same connection"
    );
    Store::commit(tx).await.unwrap();

    // Every connection of the pool at once: none is the writer's, all plan as usual.
    for ((mode, pid), _) in hold_reads(store, 16).await {
        assert_ne!(pid, writer, "a pooled connection is the writer's");
        assert_eq!(mode, "auto", "a pooled connection's planning");
    }
    let mut tx = store.write().await.unwrap();
    assert_eq!(
        plan_mode(&mut tx).await.0,
        "auto",
        "a plain write plans as usual"
    );
    Store::commit(tx).await.unwrap();
    fresh.close().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with FIXPOINT_TEST_POSTGRES_URL and --include-ignored (.ci/run does)"]
async fn a_connection_whose_server_went_away_while_idle_is_replaced_before_use() {
    let fresh = FreshStore::open().await;
    let store = &fresh.store;
    drop(hold_reads(store, 4).await);
    let tx = store.write_for_batches().await.unwrap();
    Store::commit(tx).await.unwrap();

    // What a server restart does to every connection the store holds.
    let mut server =
        <sqlx::PgConnection as sqlx::Connection>::connect(&required_test_postgres_admin())
            .await
            .unwrap();
    let ended: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&fresh.database.name)
    .fetch_all(&mut server)
    .await
    .unwrap();
    assert!(ended.len() >= 5, "the store's connections: {ended:?}");
    tokio::time::sleep(POSTGRES_IDLE_BEFORE_PING + std::time::Duration::from_millis(200)).await;

    drop(hold_reads(store, 16).await);
    let mut tx = store.write_for_batches().await.unwrap();
    assert_eq!(plan_mode(&mut tx).await.0, "force_generic_plan");
    Store::commit(tx).await.unwrap();
    fresh.close().await;
}

/// `count` pooled connections at once, each having answered a query: the backends'
/// process ids and plan modes, and the connections still held.
async fn hold_reads(store: &Store, count: usize) -> Vec<((String, i32), Read)> {
    let mut held = Vec::new();
    for _ in 0..count {
        let mut read = store.read().await.unwrap();
        held.push((plan_mode(&mut read).await, read));
    }
    held
}
