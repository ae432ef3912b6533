//! PostgreSQL's transactions for the create writer (`Store::write_for_batches`) run on
//! a connection of its own and plan their statements generically; neither may reach
//! the pool every other read and write uses: a pooled connection planning every
//! statement generically would give reads on skewed columns a plan made without their
//! values. Ignored without PostgreSQL; .ci/run's PostgreSQL pass runs it.

use fixpoint_store::Store;
use fixpoint_store::db::{
    Connection, Raw, create_postgres_database, drop_postgres_database, test_postgres_admin,
};

/// The server this test needs; asking for it without one is a failure, not a skip.
fn postgres_url() -> String {
    test_postgres_admin()
        .expect("set FIXPOINT_TEST_POSTGRES_URL, e.g. postgres://postgres@127.0.0.1:5432/postgres")
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
    let admin = postgres_url();
    let name = format!("fixpoint_batch_writer_{}", std::process::id());
    drop_postgres_database(&admin, &name).await.unwrap();
    let url = create_postgres_database(&admin, &name).await.unwrap();
    let store = Store::open(&url).await.unwrap();

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
    let mut held = Vec::new();
    for _ in 0..16 {
        let mut read = store.read().await.unwrap();
        let (mode, pid) = plan_mode(&mut read).await;
        assert_ne!(pid, writer, "a pooled connection is the writer's");
        assert_eq!(mode, "auto", "a pooled connection's planning");
        held.push(read);
    }
    drop(held);
    let mut tx = store.write().await.unwrap();
    assert_eq!(
        plan_mode(&mut tx).await.0,
        "auto",
        "a plain write plans as usual"
    );
    Store::commit(tx).await.unwrap();
    store.close().await;
    drop(store);
    drop_postgres_database(&admin, &name).await.unwrap();
}
