//! A real server for integration tests (this crate's and the dialects'): on
//! 127.0.0.1:0 against a fresh SQLite file, or, when `FIXPOINT_TEST_POSTGRES_URL`
//! names a PostgreSQL server (`postgres://postgres@127.0.0.1:5432/postgres`), against a
//! fresh database there, dropped when the test ends. The clock is manual: tests move
//! it instead of sleeping.

use axum::Router;
use fixpoint_store::Store;

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
    _postgres: Option<FreshPostgres>,
}

/// Starts the native API plus `dialects` on a database of its own.
pub async fn spawn(dialects: Router<AppState>) -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, postgres) = match fixpoint_store::db::test_postgres_admin() {
        Some(admin) => {
            let db = FreshPostgres::create(&admin).await;
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

/// A database of its own for one test on the PostgreSQL server.
pub struct FreshPostgres {
    admin: String,
    name: String,
    pub url: String,
}

impl FreshPostgres {
    pub async fn create(admin: &str) -> Self {
        let name = format!("fixpoint_test_{:016x}", rand_u64());
        let url = fixpoint_store::db::create_postgres_database(admin, &name)
            .await
            .expect("create a test database on FIXPOINT_TEST_POSTGRES_URL");
        Self {
            admin: admin.to_owned(),
            url,
            name,
        }
    }
}

impl Drop for FreshPostgres {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop runs outside async; a small runtime of its own drops the database.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let _ = fixpoint_store::db::drop_postgres_database(&admin, &name).await;
            });
        })
        .join();
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish()
}
