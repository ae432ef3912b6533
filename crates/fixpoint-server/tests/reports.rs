//! The report's rollups against the tickets themselves: after bulk loads, single
//! writes, edits, deletions and folds, over whole days, ranges with partial days at
//! either end, days before 1970 and scopes the rollups cannot serve, the two answers
//! are the same. Runs on SQLite and (with FIXPOINT_TEST_POSTGRES_URL) PostgreSQL.

mod common;

use common::spawn_app;
use fixpoint_core::catalog::default_catalog;
use fixpoint_core::ids::*;
use fixpoint_core::metrics::ReportScope;
use fixpoint_core::ticket::{NewTicket, Ticket};
use fixpoint_core::time_entry::TimeEntry;
use fixpoint_store::{Store, reports, tickets, work};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

/// A deterministic generator (the same tickets on every run and backend).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> i64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n) as i64
    }

    fn chance(&mut self, percent: i64) -> bool {
        self.next(100) < percent
    }

    /// An instant around `base`: up to a day before it to four days after, or none.
    fn around(&mut self, base: Timestamp, percent: i64) -> Option<Timestamp> {
        self.chance(percent)
            .then(|| base + SignedDuration::from_secs(self.next(5 * 86_400) - 86_400))
    }
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// Ten days from 2026-03-01, and two days either side of the Unix epoch (the rollup's
/// day is a floor division there, not a truncation).
fn created(rng: &mut Lcg) -> Timestamp {
    if rng.chance(15) {
        at("1969-12-30T00:00:00Z") + SignedDuration::from_secs(rng.next(4 * 86_400))
    } else {
        at("2026-03-01T00:00:00Z") + SignedDuration::from_secs(rng.next(10 * 86_400))
    }
}

/// The fields the report reads, at random (statuses and resolutions need not agree:
/// the report sums what is stored).
fn shuffle_outcome(rng: &mut Lcg, t: &mut Ticket) {
    t.status_id = StatusId(1 + rng.next(10));
    t.priority_id = PriorityId(1 + rng.next(4));
    t.resolved_at = rng.around(t.created_at, 50).filter(|r| *r >= t.created_at);
    t.first_response_at = rng.around(t.created_at, 60);
    t.response_due_at = rng.around(t.created_at, 70);
    t.resolution_due_at = rng.around(t.created_at, 70);
    t.sla_clock.resolution_business_seconds = rng.chance(40).then(|| rng.next(200_000));
}

fn scopes() -> Vec<(&'static str, ReportScope)> {
    let range = |from: &str, to: &str| ReportScope {
        from: Some(at(from)),
        to: Some(at(to)),
        ..ReportScope::default()
    };
    vec![
        ("everything", ReportScope::default()),
        (
            "whole days",
            range("2026-03-02T00:00:00Z", "2026-03-07T00:00:00Z"),
        ),
        (
            "partial days at both ends",
            range("2026-03-02T13:30:00Z", "2026-03-08T06:15:00Z"),
        ),
        (
            "from only, mid-day",
            ReportScope {
                from: Some(at("2026-03-04T09:00:00Z")),
                ..ReportScope::default()
            },
        ),
        (
            "to only, mid-day",
            ReportScope {
                to: Some(at("2026-03-04T09:00:00Z")),
                ..ReportScope::default()
            },
        ),
        (
            "across the epoch",
            range("1969-12-30T12:00:00Z", "1970-01-02T00:00:00Z"),
        ),
        (
            "before the epoch",
            range("1969-12-29T06:00:00Z", "1969-12-31T18:00:00Z"),
        ),
        (
            "within one day",
            range("2026-03-05T01:00:00Z", "2026-03-05T23:00:00Z"),
        ),
        (
            "empty range",
            range("2026-03-05T00:00:00Z", "2026-03-05T00:00:00Z"),
        ),
    ]
}

async fn assert_rollups_agree(store: &Store, company: CompanyId, now: Timestamp, when: &str) {
    let mut conn = store.read().await.unwrap();
    let mut scopes = scopes();
    scopes.push((
        "one company (tickets only)",
        ReportScope {
            company_id: Some(company),
            ..ReportScope::default()
        },
    ));
    for (name, scope) in scopes {
        let expected = reports::from_tickets(&mut conn, &scope, now).await.unwrap();
        let actual = reports::aggregates(&mut conn, &scope, now).await.unwrap();
        assert_eq!(actual, expected, "{when}: scope {name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rollups_always_agree_with_the_tickets() {
    let app = spawn_app().await;
    let company = CompanyId(
        app.post("/companies", json!({"name": "Initech"}))
            .await
            .expect(201)["id"]
            .as_i64()
            .unwrap(),
    );
    let technician = ResourceId(
        app.post(
            "/resources",
            json!({"first_name": "Tia", "last_name": "Tech", "email": "tia@msp.example"}),
        )
        .await
        .expect(201)["id"]
            .as_i64()
            .unwrap(),
    );
    let catalog = default_catalog();
    let mut rng = Lcg(7);
    let now = at("2026-03-05T12:00:00Z");
    let new = |rng: &mut Lcg| {
        let mut t = NewTicket {
            title: "Printer offline".into(),
            company_id: company,
            ..Default::default()
        }
        .into_ticket(&catalog, created(rng));
        shuffle_outcome(rng, &mut t);
        t
    };

    // A bulk load, and single creates, with their time.
    let mut tx = app.store.write().await.unwrap();
    let loaded: Vec<Ticket> = (0..240).map(|_| new(&mut rng)).collect();
    let mut ids = tickets::insert_many(&mut tx, &loaded).await.unwrap();
    for _ in 0..40 {
        let single = vec![(new(&mut rng), "test")];
        ids.extend(
            tickets::insert(&mut tx, single)
                .await
                .unwrap()
                .iter()
                .map(|t| t.id),
        );
    }
    let entries: Vec<TimeEntry> = (0..200)
        .map(|i| TimeEntry {
            id: TimeEntryId(0),
            ticket_id: ids[rng.next(ids.len() as u64) as usize],
            resource_id: technician,
            started_at: None,
            ended_at: None,
            minutes: 1 + rng.next(240),
            billable: i % 3 != 0,
            notes: None,
            note_id: None,
            created_at: now,
        })
        .collect();
    work::insert_time_entries(&mut tx, &entries).await.unwrap();
    Store::commit(tx).await.unwrap();
    assert_rollups_agree(&app.store, company, now, "after loading").await;
    assert!(
        app.store.fold_rollups().await.unwrap() > 0,
        "the load left change rows to fold"
    );
    assert_rollups_agree(&app.store, company, now, "after folding the load").await;

    // Edits of every field the report reads, time corrected and withdrawn, tickets
    // deleted; checked before and after folding, and a second fold finds nothing.
    let mut tx = app.store.write().await.unwrap();
    for &id in ids.iter().step_by(3) {
        let before = tickets::get(&mut tx, id).await.unwrap().unwrap();
        let mut after = before.clone();
        shuffle_outcome(&mut rng, &mut after);
        if rng.chance(20) {
            after.created_at = created(&mut rng);
        }
        after.version += 1;
        tickets::update(&mut tx, &before, &after, &[], "test")
            .await
            .unwrap();
    }
    for &ticket in ids.iter().step_by(7) {
        for mut entry in work::time_entries(&mut tx, ticket).await.unwrap() {
            if rng.chance(50) {
                entry.minutes += rng.next(60);
                entry.billable = !entry.billable;
                work::update_time_entry(&mut tx, &entry).await.unwrap();
            } else {
                work::delete_time_entry(&mut tx, entry.id).await.unwrap();
            }
        }
    }
    for &id in ids.iter().skip(1).step_by(11) {
        assert!(tickets::delete(&mut tx, id).await.unwrap());
    }
    Store::commit(tx).await.unwrap();
    assert_rollups_agree(&app.store, company, now, "after edits").await;
    assert!(app.store.fold_rollups().await.unwrap() > 0);
    assert_rollups_agree(&app.store, company, now, "after folding the edits").await;
    assert_eq!(
        app.store.fold_rollups().await.unwrap(),
        0,
        "folded rows stay folded"
    );
}
