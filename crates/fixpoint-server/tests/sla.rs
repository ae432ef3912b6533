//! The SLA clock over HTTP, with the server's clock moved by the test.

mod common;

use common::spawn_app;
use jiff::Timestamp;
use serde_json::{Value, json};

const NY: &str = "America/New_York";

fn ny(local: &str) -> Timestamp {
    local
        .parse::<jiff::civil::DateTime>()
        .unwrap()
        .in_tz(NY)
        .unwrap()
        .timestamp()
}

/// New York office hours with Presidents' Day off, and Autotask's targets (Medium: 4h / 24h).
async fn ny_policy(app: &common::App) -> i64 {
    let week: Vec<Value> = (0..7)
        .map(|d| {
            if d < 5 {
                json!([{"start": "09:00", "end": "17:00"}])
            } else {
                json!([])
            }
        })
        .collect();
    let calendar = app
        .post(
            "/calendars",
            json!({"name": "New York office", "spec": {"time_zone": NY, "week": week,
                   "holidays": [{"date": "2024-02-19", "name": "Presidents' Day"}]}}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    app.post(
        "/sla-policies",
        json!({"name": "NY standard", "calendar_id": calendar, "targets": [
            {"priority_id": 1, "first_response_minutes": 60, "resolution_minutes": 240},
            {"priority_id": 3, "first_response_minutes": 240, "resolution_minutes": 1440}]}),
    )
    .await
    .expect(201)["id"]
        .as_i64()
        .unwrap()
}

fn at(value: &Value) -> Timestamp {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not an instant: {value}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_ticket_across_a_pause_a_weekend_and_a_holiday() {
    let app = spawn_app().await;
    let w = app.world().await;
    let policy = ny_policy(&app).await;

    // Thursday 15 Feb 2024, 10:00 in New York.
    app.clock.set(ny("2024-02-15T10:00"));
    let t = app
        .post("/tickets", json!({"title": "Payroll export fails", "company_id": w.company, "sla_policy_id": policy}))
        .await
        .expect(201);
    let id = t["id"].as_i64().unwrap();
    let path = format!("/tickets/{id}");
    assert_eq!(at(&t["response_due_at"]), ny("2024-02-15T14:00"));
    // 24 business hours: Thu 7h + Fri 8h + (Mon holiday) Tue 8h + Wed 1h.
    assert_eq!(at(&t["resolution_due_at"]), ny("2024-02-21T10:00"));
    assert_eq!(t["sla"]["resolution"]["state"], "running");
    assert_eq!(t["sla"]["policy_name"], "NY standard");

    // 10:30: a technician picks it up: the first response, met.
    app.clock.set(ny("2024-02-15T10:30"));
    let t = app
        .patch(
            &path,
            json!({"status_id": 2, "assigned_resource_id": w.resource, "assigned_role_id": w.role}),
        )
        .await
        .expect(200);
    assert_eq!(t["sla"]["first_response"]["state"], "met");
    assert_eq!(t["sla"]["first_response"]["elapsed_seconds"], 1800);
    assert_eq!(at(&t["response_due_at"]), ny("2024-02-15T14:00"));

    // 11:00: waiting on the customer; the resolution clock pauses.
    app.clock.set(ny("2024-02-15T11:00"));
    let t = app.patch(&path, json!({"status_id": 5})).await.expect(200);
    assert!(
        t["resolution_due_at"].is_null(),
        "no deadline runs while paused"
    );
    assert_eq!(t["sla"]["paused"], true);

    // Friday noon, still paused: 23 of 24 hours are left and nothing has moved.
    app.clock.set(ny("2024-02-16T12:00"));
    let t = app.get(&path).await.expect(200);
    assert_eq!(t["sla"]["resolution"]["state"], "paused");
    assert_eq!(t["sla"]["resolution"]["elapsed_seconds"], 3600);
    assert_eq!(t["sla"]["paused_next_event_hours"], 23.0);
    let listed = app.get("/tickets?breached=true").await.expect(200);
    assert_eq!(listed["total"], 0);
    assert_eq!(
        app.get("/tickets?sla_state=paused").await.expect(200)["total"],
        1
    );
    assert_eq!(
        app.get("/tickets?sla_state=running").await.expect(200)["total"],
        0
    );

    // Saturday 11:00, two days later, the customer answers: 14 business hours were paused
    // (Thu 6h, Fri 8h), so the deadline moves from Wed 10:00 to Thu 22 Feb 16:00.
    app.clock.set(ny("2024-02-17T11:00"));
    let t = app.patch(&path, json!({"status_id": 2})).await.expect(200);
    assert_eq!(at(&t["resolution_due_at"]), ny("2024-02-22T16:00"));
    assert_eq!(t["sla"]["resolution"]["state"], "running");
    assert_eq!(t["sla"]["resolution"]["remaining_seconds"], 23 * 3600);
    assert_eq!(
        app.get("/tickets?due_before=2024-02-23T00:00:00Z")
            .await
            .expect(200)["total"],
        1
    );

    // Tuesday 20 Feb 15:00 (Monday was the holiday): completed.
    app.clock.set(ny("2024-02-20T15:00"));
    let t = app
        .patch(
            &path,
            json!({"status_id": 10, "resolution": "Re-mapped the export share"}),
        )
        .await
        .expect(200);
    let resolution = &t["sla"]["resolution"];
    assert_eq!(resolution["state"], "met");
    assert_eq!(at(&resolution["met_at"]), ny("2024-02-20T15:00"));
    // Thu 10:00–11:00 and Tue 09:00–15:00: 7 business hours.
    assert_eq!(resolution["elapsed_seconds"], 7 * 3600);
    assert_eq!(resolution["remaining_seconds"], 17 * 3600);
    assert_eq!(at(&resolution["due_at"]), ny("2024-02-22T16:00"));
    assert_eq!(t["sla"]["sla_met"], true);
    assert_eq!(
        app.get("/tickets?sla_state=met").await.expect(200)["total"],
        1
    );
    assert_eq!(
        app.get("/tickets?sla_state=breached").await.expect(200)["total"],
        0
    );

    // A month later nothing has changed: met clocks are frozen.
    app.clock.set(ny("2024-03-20T15:00"));
    let t = app.get(&path).await.expect(200);
    assert_eq!(t["sla"]["resolution"]["elapsed_seconds"], 7 * 3600);
    assert_eq!(t["sla"]["sla_met"], true);
}

#[tokio::test]
async fn breaches_priority_changes_and_the_first_external_note() {
    let app = spawn_app().await;
    let w = app.world().await;
    let policy = ny_policy(&app).await;
    app.clock.set(ny("2024-02-12T09:00")); // Monday
    let t = app
        .post("/tickets", json!({"title": "Server down", "company_id": w.company, "sla_policy_id": policy, "priority_id": 3}))
        .await
        .expect(201);
    let id = t["id"].as_i64().unwrap();
    assert_eq!(at(&t["response_due_at"]), ny("2024-02-12T13:00"));
    // Raised to Critical at 09:30: targets recomputed from creation (1h / 4h).
    app.clock.set(ny("2024-02-12T09:30"));
    let t = app
        .patch(&format!("/tickets/{id}"), json!({"priority_id": 1}))
        .await
        .expect(200);
    assert_eq!(at(&t["response_due_at"]), ny("2024-02-12T10:00"));
    assert_eq!(at(&t["resolution_due_at"]), ny("2024-02-12T13:00"));
    assert_eq!(t["sla"]["first_response"]["state"], "running");
    app.clock.set(ny("2024-02-12T09:50"));
    assert_eq!(
        app.get(&format!("/tickets/{id}")).await.expect(200)["sla"]["first_response"]["state"],
        "at_risk"
    );
    assert_eq!(
        app.get("/tickets?sla_state=at_risk").await.expect(200)["total"],
        1
    );
    // 10:15: nobody answered: breached by 15 minutes, and listed as breached.
    app.clock.set(ny("2024-02-12T10:15"));
    let t = app.get(&format!("/tickets/{id}")).await.expect(200);
    assert_eq!(t["sla"]["first_response"]["state"], "breached");
    assert_eq!(t["sla"]["first_response"]["remaining_seconds"], -900);
    assert_eq!(t["sla"]["sla_met"], false);
    assert_eq!(
        app.get("/tickets?breached=true").await.expect(200)["total"],
        1
    );
    assert_eq!(
        app.get("/tickets?sla_state=breached").await.expect(200)["total"],
        1
    );
    assert_eq!(
        app.get("/tickets?sla_state=at_risk").await.expect(200)["total"],
        0,
        "breached is not at risk"
    );
    app.get("/tickets?sla_state=late")
        .await
        .problem(422, "invalid_field", Some("sla_state"));
    // The first external note answers (late): met_at is the note's time, state breached.
    app.post(
        &format!("/tickets/{id}/notes"),
        json!({"body": "Looking at it now", "visibility": "external"}),
    )
    .await
    .expect(201);
    let t = app.get(&format!("/tickets/{id}")).await.expect(200);
    assert_eq!(at(&t["first_response_at"]), ny("2024-02-12T10:15"));
    assert_eq!(t["sla"]["first_response"]["state"], "breached");
    assert_eq!(
        t["version"], 3,
        "the first response is a change to the ticket"
    );
}

#[tokio::test]
async fn policies_come_from_the_ticket_or_the_default() {
    let app = spawn_app().await;
    let w = app.world().await;
    app.post(
        "/contracts",
        json!({"company_id": w.company, "name": "MSA", "sla_policy_id": 99}),
    )
    .await
    .problem(422, "unknown_reference", Some("sla_policy_id"));
    let policies = app.get("/sla-policies").await.expect(200);
    let names: Vec<&str> = policies
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Autotask standard", "HaloPSA standard", "Atera standard"]
    );
    let t = app.ticket(&w, "Uses the default").await;
    assert_eq!(t["sla"]["policy_name"], "Autotask standard");
    assert_eq!(t["sla"]["first_response"]["target_minutes"], 240);
    assert_eq!(t["sla"]["resolution"]["target_minutes"], 1440);
    let atera = policies[2]["id"].as_i64().unwrap();
    let t = app
        .post(
            "/tickets",
            json!({"title": "Atera style", "company_id": w.company, "sla_policy_id": atera}),
        )
        .await
        .expect(201);
    assert!(
        t["sla"]["resolution"].is_null(),
        "Atera has no resolution target"
    );
    app.post(
        "/tickets",
        json!({"title": "x", "company_id": w.company, "sla_policy_id": 99}),
    )
    .await
    .problem(422, "unknown_reference", Some("sla_policy_id"));
    app.post("/calendars", json!({"name": "Bad", "spec": {"time_zone": "Mars/Base", "week": [[], [], [], [], [], [], []]}}))
        .await
        .problem(422, "invalid_field", Some("spec"));
    app.post("/sla-policies", json!({"name": "Bad", "calendar_id": 1, "targets": [{"priority_id": 9, "first_response_minutes": 0}]}))
        .await
        .problem(422, "unknown_reference", Some("targets[0].priority_id"));
}

#[tokio::test]
async fn out_of_hours_tickets_have_not_started() {
    let app = spawn_app().await;
    let w = app.world().await;
    let policy = ny_policy(&app).await;
    app.clock.set(ny("2024-02-12T07:00")); // Monday, before opening
    let t = app
        .post(
            "/tickets",
            json!({"title": "Early bird", "company_id": w.company, "sla_policy_id": policy}),
        )
        .await
        .expect(201);
    assert_eq!(t["sla"]["first_response"]["state"], "not_started");
    assert_eq!(
        app.get("/tickets?sla_state=not_started").await.expect(200)["total"],
        1
    );
    assert_eq!(
        app.get("/tickets?sla_state=running").await.expect(200)["total"],
        1,
        "running includes not started"
    );
    app.clock.set(ny("2024-02-12T09:30"));
    assert_eq!(
        app.get("/tickets?sla_state=not_started").await.expect(200)["total"],
        0
    );
    let t = app.get(&format!("/tickets/{}", t["id"])).await.expect(200);
    assert_eq!(t["sla"]["first_response"]["state"], "running");
}

/// A queue's policy (read with the queue itself) goes to the tickets opened in it, one
/// by one or written together, and back to a ticket that clears its own.
#[tokio::test]
async fn tickets_in_a_queue_with_a_policy_follow_it() {
    let app = spawn_app().await;
    let w = app.world().await;
    let policies = app.get("/sla-policies").await.expect(200);
    let halo = policies[1]["id"].as_i64().unwrap();
    let queue = app
        .patch(
            &format!("/queues/{}", w.queue),
            json!({"sla_policy_id": halo}),
        )
        .await
        .expect(200);
    assert_eq!(queue["sla_policy_id"], halo);
    let in_queue = json!({"title": "Queued", "company_id": w.company, "queue_id": w.queue});
    let create = || async { app.post("/tickets", in_queue.clone()).await.expect(201) };
    let (one, two, three, four) = tokio::join!(create(), create(), create(), create());
    let opened = [one, two, three, four];
    for t in &opened {
        assert_eq!(t["sla"]["policy_name"], "HaloPSA standard");
    }
    let outside = app
        .post(
            "/tickets",
            json!({"title": "No queue", "company_id": w.company}),
        )
        .await
        .expect(201);
    assert_eq!(outside["sla"]["policy_name"], "Autotask standard");
    let atera = policies[2]["id"].as_i64().unwrap();
    let id = opened[0]["id"].as_i64().unwrap();
    let own = app
        .patch(&format!("/tickets/{id}"), json!({"sla_policy_id": atera}))
        .await
        .expect(200);
    assert_eq!(own["sla"]["policy_name"], "Atera standard");
    let cleared = app
        .patch(&format!("/tickets/{id}"), json!({"sla_policy_id": null}))
        .await
        .expect(200);
    assert_eq!(cleared["sla"]["policy_name"], "HaloPSA standard");
}

#[tokio::test]
async fn a_queue_names_its_policy_when_opened_and_loses_it_when_cleared() {
    let app = spawn_app().await;
    let w = app.world().await;
    let policies = app.get("/sla-policies").await.expect(200);
    let atera = policies[2]["id"].as_i64().unwrap();
    let queue = app
        .post("/queues", json!({"name": "NOC", "sla_policy_id": atera}))
        .await
        .expect(201);
    let id = queue["id"].as_i64().unwrap();
    assert_eq!(queue["sla_policy_id"], atera);
    assert_eq!(queue["active"], true);
    let read = app.get(&format!("/queues/{id}")).await.expect(200);
    assert_eq!(read["sla_policy_id"], atera);
    let listed = app.get("/queues").await.expect(200);
    let noc = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == id)
        .unwrap();
    assert_eq!(noc["sla_policy_id"], atera);
    let new_ticket = json!({"title": "Link down", "company_id": w.company, "queue_id": id});
    let first = app.post("/tickets", new_ticket.clone()).await.expect(201);
    assert_eq!(first["sla"]["policy_name"], "Atera standard");

    let renamed = app
        .patch(&format!("/queues/{id}"), json!({"name": "Network"}))
        .await
        .expect(200);
    assert_eq!(renamed["sla_policy_id"], atera, "a rename keeps the policy");
    let cleared = app
        .patch(&format!("/queues/{id}"), json!({"sla_policy_id": null}))
        .await
        .expect(200);
    assert_eq!(cleared["name"], "Network");
    assert!(cleared["sla_policy_id"].is_null());
    let t = app.post("/tickets", new_ticket).await.expect(201);
    assert_eq!(t["sla"]["policy_name"], "Autotask standard");
    let earlier = app
        .get(&format!("/tickets/{}", first["id"].as_i64().unwrap()))
        .await
        .expect(200);
    assert_eq!(earlier["sla"]["policy_name"], "Atera standard");
}

#[tokio::test]
async fn a_queue_refuses_a_policy_that_does_not_exist() {
    let app = spawn_app().await;
    let w = app.world().await;
    app.post("/queues", json!({"name": "NOC", "sla_policy_id": 999_999}))
        .await
        .problem(422, "unknown_reference", Some("sla_policy_id"));
    let queue = format!("/queues/{}", w.queue);
    app.patch(&queue, json!({"sla_policy_id": 999_999}))
        .await
        .problem(422, "unknown_reference", Some("sla_policy_id"));
    app.patch(&queue, json!({"sla_policy_id": "gold"}))
        .await
        .problem(422, "invalid_field", Some("sla_policy_id"));
    let unchanged = app.get(&queue).await.expect(200);
    assert!(unchanged["sla_policy_id"].is_null());
    assert_eq!(
        app.get("/queues").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_contract_can_be_renamed_and_given_a_policy_its_new_tickets_follow() {
    let app = spawn_app().await;
    let w = app.world().await;
    let contract = app
        .post(
            "/contracts",
            json!({"company_id": w.company, "name": "MSA"}),
        )
        .await
        .expect(201);
    let id = contract["id"].as_i64().unwrap();
    let policies = app.get("/sla-policies").await.expect(200);
    let halo = policies[1]["id"].as_i64().unwrap();
    let changed = app
        .patch(
            &format!("/contracts/{id}"),
            json!({"name": "MSA Gold", "sla_policy_id": halo}),
        )
        .await
        .expect(200);
    assert_eq!(changed["name"], "MSA Gold");
    assert_eq!(changed["company_id"], w.company);
    assert_eq!(changed["active"], true);
    let t = app
        .post(
            "/tickets",
            json!({"title": "Under the MSA", "company_id": w.company, "contract_id": id}),
        )
        .await
        .expect(201);
    assert_eq!(t["sla"]["policy_name"], "HaloPSA standard");
    let read = app.get(&format!("/contracts/{id}")).await.expect(200);
    assert_eq!(read["sla_policy_id"], halo);
    let cleared = app
        .patch(&format!("/contracts/{id}"), json!({"sla_policy_id": null}))
        .await
        .expect(200);
    assert!(cleared["sla_policy_id"].is_null());
    assert_eq!(cleared["name"], "MSA Gold", "absent fields stay");
    app.patch(&format!("/contracts/{id}"), json!({"sla_policy_id": 99}))
        .await
        .problem(422, "unknown_reference", Some("sla_policy_id"));
    app.patch(&format!("/contracts/{id}"), json!({"name": " "}))
        .await
        .problem(422, "required", Some("name"));
    app.patch(&format!("/contracts/{id}"), json!({"company_id": 5}))
        .await
        .problem(422, "invalid_field", Some("company_id"));
    app.patch("/contracts/999", json!({"name": "x"}))
        .await
        .problem(404, "not_found", None);
}

#[tokio::test]
async fn a_resolution_plan_target_is_met_when_the_plan_is_recorded() {
    let app = spawn_app().await;
    let w = app.world().await;
    ny_policy(&app).await;
    app.clock.set(ny("2024-02-12T10:00")); // Monday, open
    let calendars = app.get("/calendars").await.expect(200);
    let calendar = calendars
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "New York office")
        .unwrap()["id"]
        .clone();
    let policy = app
        .post(
            "/sla-policies",
            json!({"name": "With a plan", "calendar_id": calendar, "targets": [
                {"priority_id": 3, "first_response_minutes": 60, "resolution_plan_minutes": 120,
                 "resolution_minutes": 480}]}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    app.post(
        "/sla-policies",
        json!({"name": "Backwards", "calendar_id": calendar, "targets": [
            {"priority_id": 3, "resolution_plan_minutes": 600, "resolution_minutes": 480}]}),
    )
    .await
    .problem(
        422,
        "out_of_range",
        Some("targets[0].resolution_plan_minutes"),
    );
    let created = app.clock.now();
    let t = app
        .post(
            "/tickets",
            json!({"title": "Server room too warm", "company_id": w.company, "priority_id": 3, "sla_policy_id": policy}),
        )
        .await
        .expect(201);
    let id = t["id"].as_i64().unwrap();
    let plan = &t["sla"]["resolution_plan"];
    assert_eq!(plan["target_minutes"], 120);
    assert_eq!(plan["state"], "running");
    let due = at(&plan["due_at"]);
    assert_eq!(at(&t["resolution_plan_due_at"]), due);

    app.clock.advance(jiff::SignedDuration::from_mins(30));
    app.patch(
        &format!("/tickets/{id}"),
        json!({"resolution_plan_at": app.clock.now() + jiff::SignedDuration::from_mins(5)}),
    )
    .await
    .problem(422, "out_of_range", Some("resolution_plan_at"));
    app.patch(
        &format!("/tickets/{id}"),
        json!({"resolution_plan_at": created - jiff::SignedDuration::from_mins(5)}),
    )
    .await
    .problem(422, "out_of_range", Some("resolution_plan_at"));
    let t = app
        .patch(
            &format!("/tickets/{id}"),
            json!({"resolution_plan_at": app.clock.now()}),
        )
        .await
        .expect(200);
    let plan = &t["sla"]["resolution_plan"];
    assert_eq!(plan["state"], "met");
    assert_eq!(at(&plan["due_at"]), due, "a met deadline stays");
    let history = app.get(&format!("/tickets/{id}/history")).await.expect(200);
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["field"] == "resolution_plan_at"),
        "{history}"
    );
    let found = app
        .post(
            "/tickets/search",
            json!({"filter": {"op": "exist", "field": "resolution_plan_at"}}),
        )
        .await
        .expect(200);
    assert_eq!(found["items"].as_array().unwrap().len(), 1);

    let plain = app.ticket(&w, "No plan target").await;
    assert!(plain["sla"]["resolution_plan"].is_null());
    assert!(plain["resolution_plan_due_at"].is_null());
}
