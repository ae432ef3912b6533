//! A real server for integration tests (this crate's and the dialects'): on
//! 127.0.0.1:0 against a fresh SQLite file, or, when `FIXPOINT_TEST_POSTGRES_URL`
//! names a PostgreSQL server (`postgres://postgres@127.0.0.1:5432/postgres`), against a
//! fresh database there, dropped when the test ends. The clock is manual: tests move
//! it instead of sleeping.

use axum::Router;
use fixpoint_store::Store;
use fixpoint_store::db::TestPostgresDatabase;

use crate::app::AppState;
use crate::auth::{Role, create_key};
use crate::clock::Clock;

pub struct TestServer {
    pub base: String,
    pub clock: Clock,
    pub store: Store,
    /// The database's URL, for a second server on the same database.
    pub database_url: String,
    /// Mail from `Service Desk <desk@msp.example>` (through an SMTP server a test
    /// starts, if it sends); webhooks may reach loopback receivers.
    pub messaging: std::sync::Arc<crate::messaging::Settings>,
    /// Keys for each role.
    pub admin: String,
    pub technician: String,
    pub readonly: String,
    _dir: tempfile::TempDir,
    _postgres: Option<TestPostgresDatabase>,
}

/// Starts the native API plus `dialects` on a database of its own.
pub async fn spawn(dialects: Router<AppState>) -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, postgres) = match fixpoint_store::db::test_postgres_admin() {
        Some(admin) => {
            let db = TestPostgresDatabase::create(&admin).await;
            (db.url.clone(), Some(db))
        }
        None => (
            format!("sqlite://{}", dir.path().join("fixpoint.db").display()),
            None,
        ),
    };
    let store = Store::open(&url).await.expect("open store");
    let (_, admin) = create_key(&store, "admin", Role::Admin).await.unwrap();
    let (_, technician) = create_key(&store, "jane", Role::Technician).await.unwrap();
    let (_, readonly) = create_key(&store, "auditor", Role::Readonly).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let clock = Clock::manual(jiff::Timestamp::now());
    let messaging = std::sync::Arc::new(test_messaging());
    let app = crate::app::router(store.clone(), clock.clone(), messaging.clone(), dialects);
    tokio::spawn(async move {
        crate::app::serve(listener, app, std::future::pending())
            .await
            .unwrap();
    });
    TestServer {
        base,
        clock,
        store,
        database_url: url,
        messaging,
        admin,
        technician,
        readonly,
        _dir: dir,
        _postgres: postgres,
    }
}

fn test_messaging() -> crate::messaging::Settings {
    crate::messaging::Settings {
        mail: Some(
            crate::messaging::MailSettings::new(
                "Service Desk <desk@msp.example>",
                "smtp://127.0.0.1:2525",
            )
            .expect("test mail settings"),
        ),
        webhook_policy: fixpoint_core::webhook::AddressPolicy {
            loopback: true,
            private: false,
        },
    }
}
