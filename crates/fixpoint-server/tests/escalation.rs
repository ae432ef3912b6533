//! The escalation sweep against a real database, with time moved by the test.

mod common;

use common::spawn_app;
use fixpoint_server::service::escalation::sweep;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}

/// A 24×7 policy, so overdue hours are plain hours: Medium 4h / 24h, Critical 1h / 4h.
async fn round_the_clock(app: &common::App) -> i64 {
    app.round_the_clock(json!([
        {"priority_id": 1, "first_response_minutes": 60, "resolution_minutes": 240},
        {"priority_id": 3, "first_response_minutes": 240, "resolution_minutes": 1440}]))
        .await
}

fn levels(escalations: &Value, ticket: i64) -> Vec<i64> {
    let mut levels: Vec<i64> = escalations
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ticket_id"] == ticket)
        .map(|e| e["level"].as_i64().unwrap())
        .collect();
    levels.sort_unstable();
    levels
}

#[tokio::test]
async fn each_level_is_recorded_once_even_when_sweeps_overlap() {
    let app = spawn_app().await;
    let w = app.world().await;
    round_the_clock(&app).await;
    let t0: Timestamp = "2024-03-04T08:00:00Z".parse().unwrap();
    app.clock.set(t0);
    let id = app.ticket_id(&w, "Backups failing").await;

    let at = |h: i64, m: i64| t0 + hours(h) + SignedDuration::from_mins(m);
    assert_eq!(
        sweep(&app.store, at(3, 59)).await.unwrap().escalated,
        0,
        "response due at +4h"
    );
    assert_eq!(sweep(&app.store, at(4, 1)).await.unwrap().escalated, 1);
    let again = sweep(&app.store, at(4, 2)).await.unwrap();
    assert_eq!(again.escalated, 0, "already recorded");
    assert_eq!(again.candidates, 1, "levels 2 and 3 are still to come");
    app.clock.set(at(8, 0));
    assert_eq!(
        sweep(&app.store, at(8, 0)).await.unwrap().escalated,
        1,
        "4 h overdue: level 2"
    );

    // Three servers sweep at once at 9 h overdue: level 3 is recorded once.
    let (a, b, c) = tokio::join!(
        sweep(&app.store, at(13, 0)),
        sweep(&app.store, at(13, 0)),
        sweep(&app.store, at(13, 0))
    );
    assert_eq!(
        a.unwrap().escalated + b.unwrap().escalated + c.unwrap().escalated,
        1
    );
    // Every overdue level recorded: later sweeps no longer read the ticket at all.
    let later = sweep(&app.store, at(20, 0)).await.unwrap();
    assert_eq!((later.candidates, later.escalated), (0, 0));

    let escalations = app.get("/escalations").await.expect(200);
    assert_eq!(levels(&escalations, id), [1, 2, 3]);
    assert_eq!(escalations[0]["level"], 3, "newest first");
    assert!(
        escalations[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("SLA violated by 9 h"),
        "{escalations}"
    );
    assert_eq!(
        app.get("/escalations?level=2")
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let history = app.get(&format!("/tickets/{id}/history")).await.expect(200);
    let recorded: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["field"] == "escalation")
        .collect();
    assert_eq!(recorded.len(), 3);
    assert!(recorded.iter().all(|h| h["actor"] == "fixpoint:escalation"));
    let notes = app.get(&format!("/tickets/{id}/notes")).await.expect(200);
    let internal: Vec<&Value> = notes
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["visibility"] == "internal")
        .collect();
    assert_eq!(internal.len(), 3);
    // Text search is for what people wrote: the sweep's notes stay out of it.
    let found = app
        .post("/tickets/search", json!({"q": "violated"}))
        .await
        .expect(200);
    assert_eq!(found["items"].as_array().unwrap().len(), 0, "{found}");
    let mut conn = app.store.read().await.unwrap();
    let events = fixpoint_store::escalation::pending_events(&mut conn, 100)
        .await
        .unwrap();
    let escalated = events
        .iter()
        .filter(|e| e.topic == "ticket.escalated")
        .count();
    assert_eq!(
        escalated, 3,
        "one event per escalation, beside the ticket's own"
    );

    // Closing the ticket takes its escalations off the open list.
    app.patch(
        &format!("/tickets/{id}"),
        json!({"status_id": 10, "resolution": "Replaced the tape drive"}),
    )
    .await
    .expect(200);
    assert_eq!(
        levels(&app.get("/escalations").await.expect(200), id),
        Vec::<i64>::new()
    );
    assert_eq!(sweep(&app.store, at(30, 0)).await.unwrap().escalated, 0);
}

#[tokio::test]
async fn stale_waiting_and_unassigned_critical_tickets() {
    let app = spawn_app().await;
    let w = app.world().await;
    round_the_clock(&app).await;
    let t0: Timestamp = "2024-03-04T08:00:00Z".parse().unwrap();
    app.clock.set(t0);
    let critical = app
        .post("/tickets", json!({"title": "Site offline", "company_id": w.company, "priority_id": 1, "queue_id": w.queue}))
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        sweep(&app.store, t0).await.unwrap().escalated,
        1,
        "critical with nobody assigned"
    );
    let waiting = app
        .ticket_id(&w, "Needs the customer's admin password")
        .await;
    app.patch(
        &format!("/tickets/{waiting}"),
        json!({"status_id": 5, "assigned_resource_id": w.resource, "assigned_role_id": w.role}),
    )
    .await
    .expect(200);
    // The critical ticket is picked up and answered, so its clocks stop breaching.
    app.patch(
        &format!("/tickets/{critical}"),
        json!({"status_id": 10, "resolution": "Router rebooted", "assigned_resource_id": w.resource, "assigned_role_id": w.role}),
    )
    .await
    .expect(200);
    assert_eq!(
        sweep(&app.store, t0 + hours(7 * 24))
            .await
            .unwrap()
            .escalated,
        0,
        "exactly 7 days is not more"
    );
    assert_eq!(
        sweep(&app.store, t0 + hours(7 * 24 + 1))
            .await
            .unwrap()
            .escalated,
        1
    );
    let open = app
        .get(&format!(
            "/escalations?company_id={}&queue_id={}",
            w.company, w.queue
        ))
        .await
        .expect(200);
    assert_eq!(levels(&open, waiting), [1]);
    assert!(
        open[0]["reason"]
            .as_str()
            .unwrap()
            .contains("no customer response for 7 days"),
        "{open}"
    );
    app.get("/escalations?level=x")
        .await
        .problem(422, "invalid_field", Some("level"));
}

#[tokio::test]
async fn the_ticket_report_aggregates_in_sql() {
    let app = spawn_app().await;
    let w = app.world().await;
    round_the_clock(&app).await;
    let t0: Timestamp = "2024-03-04T08:00:00Z".parse().unwrap();
    app.clock.set(t0);
    let a = app.ticket_id(&w, "Done in three hours").await;
    app.post(
        "/tickets",
        json!({"title": "Ignored critical", "company_id": w.company, "priority_id": 1}),
    )
    .await
    .expect(201);
    app.post(
        "/tickets",
        json!({"title": "Low, no target", "company_id": w.company, "priority_id": 4}),
    )
    .await
    .expect(201);

    app.clock.set(t0 + hours(1));
    app.patch(
        &format!("/tickets/{a}"),
        json!({"status_id": 2, "assigned_resource_id": w.resource, "assigned_role_id": w.role}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/tickets/{a}/time-entries"),
        json!({"resource_id": w.resource, "minutes": 90}),
    )
    .await
    .expect(201);
    app.post(
        &format!("/tickets/{a}/time-entries"),
        json!({"resource_id": w.resource, "minutes": 30, "billable": false}),
    )
    .await
    .expect(201);
    app.clock.set(t0 + hours(3));
    app.patch(
        &format!("/tickets/{a}"),
        json!({"status_id": 10, "resolution": "Done"}),
    )
    .await
    .expect(200);

    app.clock.set(t0 + hours(10));
    sweep(&app.store, t0 + hours(10)).await.unwrap();
    let r = app
        .get("/reports/tickets?from=2024-03-01T00:00:00Z&to=2024-04-01T00:00:00Z")
        .await
        .expect(200);
    assert_eq!(
        (
            r["tickets"].as_i64(),
            r["open"].as_i64(),
            r["resolved"].as_i64()
        ),
        (Some(3), Some(2), Some(1))
    );
    assert_eq!(
        r["resolution_hours"],
        json!({"average": 3.0, "median": 3.0})
    );
    assert_eq!(
        r["resolution_business_hours"],
        json!({"average": 3.0, "median": 3.0})
    );
    assert_eq!(
        r["sla"],
        json!({"first_response_percent": 50.0, "first_response_counted": 2, "resolution_percent": 50.0, "resolution_counted": 2})
    );
    assert_eq!(
        r["by_status"],
        json!([{"id": 1, "name": "New", "count": 2}, {"id": 10, "name": "Complete", "count": 1}])
    );
    assert_eq!(
        r["by_priority"],
        json!([{"id": 1, "name": "Critical", "count": 1}, {"id": 3, "name": "Medium", "count": 1}, {"id": 4, "name": "Low", "count": 1}])
    );
    assert_eq!(
        r["escalations_by_level"],
        json!([{"level": 1, "count": 2}, {"level": 2, "count": 1}, {"level": 3, "count": 1}])
    );
    assert_eq!(
        (
            r["billable_hours"].as_f64(),
            r["non_billable_hours"].as_f64()
        ),
        (Some(1.5), Some(0.5))
    );

    let mine = app
        .get(&format!("/reports/tickets?resource_id={}", w.resource))
        .await
        .expect(200);
    assert_eq!(mine["tickets"], 1);
    let none = app
        .get("/reports/tickets?to=2024-03-01T00:00:00Z")
        .await
        .expect(200);
    assert_eq!(none["tickets"], 0);
    assert!(none["resolution_hours"]["average"].is_null());
    assert!(none["sla"]["first_response_percent"].is_null());
    app.get("/reports/tickets?from=last-week")
        .await
        .problem(422, "invalid_field", Some("from"));
}
