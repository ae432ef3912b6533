//! The escalation sweep and the ticket report over 1,000,000 tickets on SQLite.
//! Targets (issue 3): one sweep with 1% of tickets overdue ≤ 1 s; the report ≤ 200 ms.
//!
//! The dataset is built once per run in a temporary file (about a minute): tickets
//! spread over 2024, 60% in progress, 10% waiting on the customer, 30% complete,
//! and 1% of all tickets (in progress) past their resolution deadline. Set
//! `FIXPOINT_BENCH_DB=/path/bench.db` to keep the dataset between runs, or
//! `FIXPOINT_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres` to run
//! the same benchmarks on PostgreSQL (in a new `fixpoint_bench` database).

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use fixpoint_core::catalog::{default_catalog, seeded};
use fixpoint_core::ids::*;
use fixpoint_core::metrics::ReportScope;
use fixpoint_core::ticket::NewTicket;
use fixpoint_server::service::escalation::sweep;
use fixpoint_store::parties::{self, NamedTable};
use fixpoint_store::{Store, reports, tickets};
use jiff::{SignedDuration, Timestamp};

const TICKETS: i64 = 1_000_000;

fn now() -> Timestamp {
    "2025-01-01T00:00:00Z".parse().unwrap()
}

/// Builds the dataset in `dir`, or reuses the file named by `FIXPOINT_BENCH_DB` when it exists.
async fn dataset(dir: &std::path::Path) -> (Store, String) {
    if let Ok(path) = std::env::var("FIXPOINT_BENCH_DB")
        && std::path::Path::new(&path).exists()
    {
        let url = format!("sqlite://{path}");
        let store = Store::open(&url).await.unwrap();
        store.analyze().await.unwrap();
        store.fold_rollups().await.unwrap();
        return (store, url);
    }
    let url = match std::env::var("FIXPOINT_BENCH_POSTGRES_URL") {
        Ok(admin) => fresh_postgres(&admin).await,
        Err(_) => {
            let path = std::env::var("FIXPOINT_BENCH_DB")
                .unwrap_or_else(|_| dir.join("bench.db").display().to_string());
            format!("sqlite://{path}")
        }
    };
    let store = Store::open(&url).await.unwrap();
    let mut tx = store.write().await.unwrap();
    let company = parties::insert_company(
        &mut tx,
        &fixpoint_core::parties::Company {
            id: CompanyId(0),
            name: "Bench Co".into(),
            parent_company_id: None,
            phone: None,
            website: None,
            active: true,
            created_at: now(),
        },
    )
    .await
    .unwrap();
    let resource = parties::insert_resource(
        &mut tx,
        &fixpoint_core::parties::Resource {
            id: ResourceId(0),
            first_name: "Bench".into(),
            last_name: "Tech".into(),
            email: "bench@msp.example".into(),
            active: true,
        },
    )
    .await
    .unwrap();
    let role = RoleId(
        parties::insert_named(&mut tx, NamedTable::Roles, "Tier 1", true)
            .await
            .unwrap(),
    );
    Store::commit(tx).await.unwrap();

    let catalog = default_catalog();
    let base: Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
    let started = Instant::now();
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..TICKETS {
        let created = base + SignedDuration::from_secs(i * 30);
        let mut t = NewTicket {
            title: format!("Ticket {i}: printer on floor {} offline", i % 7),
            company_id: company,
            priority_id: Some(seeded::MEDIUM),
            assigned_resource_id: Some(resource),
            assigned_role_id: Some(role),
            ..Default::default()
        }
        .into_ticket(&catalog, created);
        t.number = format!("B{i:08}");
        t.sla_policy_id = Some(SlaPolicyId(1));
        t.first_response_at = Some(created + SignedDuration::from_mins(10));
        t.response_due_at = Some(created + SignedDuration::from_hours(4));
        t.last_activity_at = now() - SignedDuration::from_hours(1);
        match i % 10 {
            0..=5 => {
                t.status_id = seeded::IN_PROGRESS;
                t.resolution_due_at = Some(if i % 100 == 0 {
                    now() - SignedDuration::from_mins(30 + i % 720)
                } else {
                    now() + SignedDuration::from_hours(1 + i % 200)
                });
            }
            6 => {
                t.status_id = seeded::WAITING_CUSTOMER;
                t.sla_clock.paused_since = Some(now() - SignedDuration::from_hours(1));
            }
            _ => {
                t.status_id = seeded::COMPLETE;
                t.resolution = Some("Fixed".into());
                t.resolved_at = Some(created + SignedDuration::from_mins(30 + i % 600));
                t.completed_at = t.resolved_at;
                t.resolution_due_at = Some(created + SignedDuration::from_hours(24));
                t.sla_clock.resolution_business_seconds = Some(1800 + (i % 600) * 60);
            }
        }
        batch.push(t);
        if batch.len() == batch.capacity() {
            let mut tx = store.write().await.unwrap();
            tickets::insert_many(&mut tx, &batch).await.unwrap();
            Store::commit(tx).await.unwrap();
            batch.clear();
        }
    }
    store.after_bulk_load().await.unwrap();
    store.analyze().await.unwrap();
    eprintln!("built {TICKETS} tickets in {:?}", started.elapsed());
    (store, url)
}

/// `FIXPOINT_BENCH_POSTGRES_URL` (an admin URL): the dataset goes into a new
/// `fixpoint_bench` database on that server instead of SQLite.
async fn fresh_postgres(admin: &str) -> String {
    use fixpoint_store::db::{create_postgres_database, drop_postgres_database};
    drop_postgres_database(admin, "fixpoint_bench")
        .await
        .unwrap();
    create_postgres_database(admin, "fixpoint_bench")
        .await
        .unwrap()
}

const FORGET: [&str; 4] = [
    "DELETE FROM escalations",
    "DELETE FROM outbox",
    "DELETE FROM notes WHERE author = 'fixpoint:escalation'",
    "DELETE FROM ticket_history WHERE field = 'escalation'",
];

async fn forget_escalations(url: &str) {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        for sql in FORGET {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        for sql in FORGET {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
}

fn sla(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (store, url) = runtime.block_on(dataset(dir.path()));

    let mut group = c.benchmark_group("1M tickets");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("escalation sweep, 1% overdue", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    forget_escalations(&url).await;
                    let started = Instant::now();
                    let report = sweep(&store, now()).await.unwrap();
                    total += started.elapsed();
                    assert_eq!(report.candidates as i64, TICKETS / 100);
                }
                total
            })
        })
    });
    group.bench_function("escalation sweep, nothing new", |b| {
        b.iter(|| runtime.block_on(async { sweep(&store, now()).await.unwrap() }))
    });
    // The sweeps above changed tickets; fold their rollup rows as the server would.
    runtime.block_on(store.fold_rollups()).unwrap();
    group.bench_function("ticket report", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut conn = store.read().await.unwrap();
                reports::aggregates(&mut conn, &ReportScope::default(), now())
                    .await
                    .unwrap()
            })
        })
    });
    group.bench_function("ticket report, from the tickets alone", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut conn = store.read().await.unwrap();
                reports::from_tickets(&mut conn, &ReportScope::default(), now())
                    .await
                    .unwrap()
            })
        })
    });
    group.bench_function("ticket report, one month", |b| {
        let scope = ReportScope {
            from: Some("2024-06-01T00:00:00Z".parse().unwrap()),
            to: Some("2024-07-01T00:00:00Z".parse().unwrap()),
            ..ReportScope::default()
        };
        b.iter(|| {
            runtime.block_on(async {
                let mut conn = store.read().await.unwrap();
                reports::aggregates(&mut conn, &scope, now()).await.unwrap()
            })
        })
    });
    group.finish();
}

criterion_group!(benches, sla);
criterion_main!(benches);
