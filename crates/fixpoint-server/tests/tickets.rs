//! The native API over HTTP against a real server and a real SQLite file.

mod common;

use common::{COMPLETE, ESCALATED, IN_PROGRESS, NEW, RESOLVED, WAITING_CUSTOMER, read, spawn_app};
use serde_json::{Value, json};

fn fields(history: &Value) -> Vec<String> {
    history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["field"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_life_of_a_ticket() {
    let app = spawn_app().await;
    let w = app.world().await;

    let created = app
        .post(
            "/tickets",
            json!({"title": "Outlook disconnected for the sales team", "description": "5 users since 9am",
                   "company_id": w.company, "contact_id": w.contact, "queue_id": w.queue, "source": "email",
                   "categories": ["Email", "Outlook"], "custom_fields": {"asset": "EXCH-01"}}),
        )
        .await;
    assert_eq!(created.headers.get("etag").unwrap(), "\"1\"");
    let t = created.expect(201);
    let id = t["id"].as_i64().unwrap();
    let number = t["number"].as_str().unwrap();
    assert!(
        number.len() == 14 && number.starts_with('T') && &number[9..10] == ".",
        "{number}"
    );
    assert_eq!(
        (
            t["status_id"].as_i64(),
            t["priority_id"].as_i64(),
            t["type_id"].as_i64()
        ),
        (Some(NEW), Some(3), Some(1))
    );
    assert_eq!(t["version"], 1);
    assert_eq!(t["warnings"], json!([]));

    // Assign and start work, guarded by the version we read.
    let t = app
        .patch_if(
            &format!("/tickets/{id}"),
            1,
            json!({"assigned_resource_id": w.resource, "assigned_role_id": w.role, "status_id": IN_PROGRESS}),
        )
        .await
        .expect(200);
    assert_eq!(t["version"], 2);
    assert!(
        t["first_response_at"].is_string(),
        "leaving New is the first response"
    );

    let t = app
        .patch_if(
            &format!("/tickets/{id}"),
            2,
            json!({"status_id": WAITING_CUSTOMER}),
        )
        .await
        .expect(200);
    assert_eq!(t["version"], 3);

    app.post(
        &format!("/tickets/{id}/notes"),
        json!({"title": "Triage", "body": "Cache corruption after KB5034441"}),
    )
    .await
    .expect(201);
    let note = app
        .post(
            &format!("/tickets/{id}/notes"),
            json!({"body": "We found the cause.", "visibility": "external", "kind": "email"}),
        )
        .await
        .expect(201);
    assert_eq!(note["author"], "apikey:admin");
    let notes = app.get(&format!("/tickets/{id}/notes")).await.expect(200);
    assert_eq!(notes.as_array().unwrap().len(), 2);
    assert_eq!(notes[0]["visibility"], "internal");
    assert_eq!(notes[1]["kind"], "email");

    app.post(
        &format!("/tickets/{id}/time-entries"),
        json!({"resource_id": w.resource, "started_at": "2024-02-15T09:00:00Z", "ended_at": "2024-02-15T10:30:00Z", "notes": "Repair"}),
    )
    .await
    .expect(201);
    app.post(
        &format!("/tickets/{id}/time-entries"),
        json!({"resource_id": w.resource, "minutes": 20, "billable": false}),
    )
    .await
    .expect(201);
    let billable = app
        .get(&format!("/tickets/{id}/billable"))
        .await
        .expect(200);
    assert_eq!(
        billable,
        json!({"billable_minutes": 90, "non_billable_minutes": 20, "billable_hours": 1.5, "non_billable_hours": 0.33})
    );
    assert_eq!(
        app.get(&format!("/tickets/{id}/time-entries"))
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Complete needs a resolution; without one nothing changes.
    app.patch(&format!("/tickets/{id}"), json!({"status_id": COMPLETE}))
        .await
        .problem(422, "required", Some("resolution"));
    let unchanged = app.get(&format!("/tickets/{id}")).await.expect(200);
    assert_eq!(
        (
            unchanged["status_id"].as_i64(),
            unchanged["version"].as_i64()
        ),
        (Some(WAITING_CUSTOMER), Some(3))
    );

    let done = app
        .patch_if(
            &format!("/tickets/{id}"),
            3,
            json!({"status_id": COMPLETE, "resolution": "Rebuilt the Outlook profiles"}),
        )
        .await
        .expect(200);
    assert_eq!(done["version"], 4);
    assert!(done["resolved_at"].is_string() && done["completed_at"].is_string());

    let history = app.get(&format!("/tickets/{id}/history")).await.expect(200);
    let f = fields(&history);
    for expected in [
        "created",
        "assigned_resource_id",
        "assigned_role_id",
        "status_id",
        "note_added",
        "time_logged",
        "resolution",
        "completed_at",
    ] {
        assert!(
            f.contains(&expected.to_owned()),
            "history lacks {expected}: {f:?}"
        );
    }
    let status_moves: Vec<(Value, Value)> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["field"] == "status_id")
        .map(|h| (h["old_value"].clone(), h["new_value"].clone()))
        .collect();
    assert_eq!(
        status_moves,
        [
            (json!("1"), json!("2")),
            (json!("2"), json!("5")),
            (json!("5"), json!("10"))
        ]
    );
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["actor"] == "apikey:admin")
    );

    // Listing finds it with the filters a technician would use.
    let list = app
        .get(&format!("/tickets?company_id={}&open=false", w.company))
        .await
        .expect(200);
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], id);
    assert_eq!(
        app.get(&format!("/tickets?company_id={}&open=true", w.company))
            .await
            .expect(200)["total"],
        0
    );
}

#[tokio::test]
async fn workflow_warnings_come_back_with_the_response() {
    let app = spawn_app().await;
    let w = app.world().await;
    let id = app.ticket_id(&w, "Printer jam").await;
    let t = app
        .patch(&format!("/tickets/{id}"), json!({"status_id": IN_PROGRESS}))
        .await
        .expect(200);
    assert_eq!(t["warnings"][0]["code"], "in_progress_unassigned");
    let id = app.ticket_id(&w, "Password reset").await;
    let t = app
        .patch(
            &format!("/tickets/{id}"),
            json!({"status_id": COMPLETE, "resolution": "Reset"}),
        )
        .await
        .expect(200);
    assert_eq!(t["warnings"][0]["code"], "completed_without_in_progress");
}

#[tokio::test]
async fn invalid_transitions_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let w = app.world().await;
    let id = app.ticket_id(&w, "VPN drops").await;
    let path = format!("/tickets/{id}");

    app.patch(&path, json!({"status_id": ESCALATED}))
        .await
        .problem(422, "required", Some("escalation_reason"));
    app.patch(&path, json!({"status_id": RESOLVED}))
        .await
        .problem(422, "required", Some("resolution"));
    app.patch(&path, json!({"status_id": 99})).await.problem(
        422,
        "unknown_reference",
        Some("status_id"),
    );
    app.patch(
        &path,
        json!({"status_id": COMPLETE, "resolution": "Replaced router"}),
    )
    .await
    .expect(200);
    let refused = app
        .patch(&path, json!({"status_id": WAITING_CUSTOMER}))
        .await
        .problem(422, "transition_not_allowed", Some("status_id"));
    assert!(
        refused["detail"].as_str().unwrap().contains("In Progress"),
        "names the allowed moves: {refused}"
    );
    app.patch(&path, json!({"status_id": NEW})).await.problem(
        422,
        "transition_not_allowed",
        Some("status_id"),
    );

    let after = app.get(&path).await.expect(200);
    assert_eq!(
        (after["status_id"].as_i64(), after["version"].as_i64()),
        (Some(COMPLETE), Some(2))
    );
    let history = app.get(&format!("{path}/history")).await.expect(200);
    assert_eq!(
        fields(&history)
            .iter()
            .filter(|f| *f == "status_id")
            .count(),
        1,
        "only the allowed move is recorded"
    );

    // Reopening is allowed, and clears the completion stamps.
    let reopened = app
        .patch(&path, json!({"status_id": IN_PROGRESS}))
        .await
        .expect(200);
    assert!(reopened["completed_at"].is_null() && reopened["resolved_at"].is_null());
}

#[tokio::test]
async fn atera_close_rule_is_a_workflow_setting() {
    let app = spawn_app().await;
    let w = app.world().await;
    let settings = app.get("/workflow").await.expect(200)["settings"].clone();
    assert_eq!(
        settings,
        json!({"close_requires_resolved": false, "resource_without_role": false, "resolution_optional": false})
    );
    read(
        app.client
            .put(app.url("/workflow/settings"))
            .bearer_auth(&app.admin)
            .json(&json!({"close_requires_resolved": true}))
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(200);
    let id = app.ticket_id(&w, "Monitor flickers").await;
    let path = format!("/tickets/{id}");
    app.patch(
        &path,
        json!({"status_id": COMPLETE, "resolution": "Swapped cable"}),
    )
    .await
    .problem(422, "close_requires_resolved", Some("status_id"));
    app.patch(
        &path,
        json!({"status_id": RESOLVED, "resolution": "Swapped cable"}),
    )
    .await
    .expect(200);
    app.patch(&path, json!({"status_id": COMPLETE}))
        .await
        .expect(200);
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    let app = spawn_app().await;
    let w = app.world().await;
    let (_, stranger) = app.stranger().await;
    let base = || json!({"title": "Email down", "company_id": w.company});
    let with = |extra: Value| {
        let mut body = base();
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };

    app.raw_post("/tickets", "{\"title\": ")
        .await
        .problem(400, "malformed_json", None);
    app.raw_post("/tickets", "[1, 2]")
        .await
        .problem(422, "invalid_field", None);
    let r = read(
        app.client
            .post(app.url("/tickets"))
            .bearer_auth(&app.admin)
            .header("content-type", "text/plain")
            .body("hi")
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.problem(415, "unsupported_media_type", None);
    app.post("/tickets", json!({"company_id": w.company}))
        .await
        .problem(422, "required", Some("title"));
    app.post("/tickets", with(json!({"colour": "red"})))
        .await
        .problem(422, "invalid_field", Some("colour"));
    app.post("/tickets", with(json!({"company_id": "acme"})))
        .await
        .problem(422, "invalid_field", Some("company_id"));
    app.post("/tickets", with(json!({"due_at": "tomorrow"})))
        .await
        .problem(422, "invalid_field", Some("due_at"));
    app.post("/tickets", with(json!({"source": "fax"})))
        .await
        .problem(422, "invalid_field", Some("source"));
    app.post(
        "/tickets",
        with(json!({"secondary_resource_ids": [1, "x"]})),
    )
    .await
    .problem(422, "invalid_field", Some("secondary_resource_ids[1]"));
    app.post("/tickets", with(json!({"title": "x".repeat(256)})))
        .await
        .problem(422, "too_long", Some("title"));
    app.post("/tickets", with(json!({"description": "x".repeat(8001)})))
        .await
        .problem(422, "too_long", Some("description"));
    app.post("/tickets", with(json!({"company_id": 999})))
        .await
        .problem(422, "unknown_reference", Some("company_id"));
    app.post("/tickets", with(json!({"queue_id": 999})))
        .await
        .problem(422, "unknown_reference", Some("queue_id"));
    app.post("/tickets", with(json!({"contact_id": stranger})))
        .await
        .problem(422, "contact_not_in_company", Some("contact_id"));
    app.post(
        "/tickets",
        with(json!({"assigned_resource_id": w.resource})),
    )
    .await
    .problem(422, "resource_and_role_together", Some("assigned_role_id"));
    app.post(
        "/tickets",
        with(json!({"assigned_resource_id": w.resource, "assigned_role_id": w.role, "secondary_resource_ids": [w.resource]})),
    )
    .await
    .problem(422, "secondary_is_primary", Some("secondary_resource_ids[0]"));
    app.post("/tickets", with(json!({"categories": ["Email", ""]})))
        .await
        .problem(422, "category_level_gap", Some("categories[1]"));
    let many: serde_json::Map<String, Value> =
        (0..301).map(|i| (format!("f{i}"), json!("v"))).collect();
    app.post("/tickets", with(json!({"custom_fields": many})))
        .await
        .problem(422, "too_many", Some("custom_fields"));

    // Issue and sub-issue types.
    let issue = app
        .post("/issue-types", json!({"name": "Email"}))
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let sub = app
        .post(
            "/issue-types",
            json!({"name": "Outlook", "parent_id": issue}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    app.post("/tickets", with(json!({"sub_issue_type_id": sub})))
        .await
        .problem(422, "sub_issue_without_issue", Some("sub_issue_type_id"));
    app.post(
        "/tickets",
        with(json!({"issue_type_id": issue, "sub_issue_type_id": sub})),
    )
    .await
    .expect(201);

    // Several problems are reported at once.
    let all = app
        .post("/tickets", json!({"title": "", "company_id": 999}))
        .await
        .problem(422, "required", Some("title"));
    assert_eq!(all["errors"].as_array().unwrap().len(), 2);

    assert_eq!(
        app.ticket_count().await,
        1,
        "only the valid ticket was written"
    );
}

#[tokio::test]
async fn inactive_values_are_kept_but_not_newly_assigned() {
    let app = spawn_app().await;
    let w = app.world().await;
    let t = app
        .post(
            "/tickets",
            json!({"title": "Wi-Fi", "company_id": w.company, "contact_id": w.contact}),
        )
        .await
        .expect(201);
    let id = t["id"].as_i64().unwrap();
    app.patch(
        &format!("/contacts/{}", w.contact),
        json!({"active": false}),
    )
    .await
    .expect(200);
    // Editing the ticket keeps the now-inactive contact.
    app.patch(
        &format!("/tickets/{id}"),
        json!({"title": "Wi-Fi drops in back office"}),
    )
    .await
    .expect(200);
    // A new ticket cannot take it.
    app.post(
        "/tickets",
        json!({"title": "Again", "company_id": w.company, "contact_id": w.contact}),
    )
    .await
    .problem(422, "inactive_value", Some("contact_id"));
    // An inactive technician cannot log time.
    app.patch(
        &format!("/resources/{}", w.resource),
        json!({"active": false}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/tickets/{id}/time-entries"),
        json!({"resource_id": w.resource, "minutes": 10}),
    )
    .await
    .problem(422, "inactive_value", Some("resource_id"));
    // Nor can an inactive priority be newly set.
    app.patch("/priorities/4", json!({"active": false}))
        .await
        .expect(200);
    app.patch(&format!("/tickets/{id}"), json!({"priority_id": 4}))
        .await
        .problem(422, "inactive_value", Some("priority_id"));
}

#[tokio::test]
async fn contacts_of_the_parent_company_are_accepted() {
    let app = spawn_app().await;
    let parent = app
        .post("/companies", json!({"name": "Northwind Holdings"}))
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let child = app
        .post(
            "/companies",
            json!({"name": "Northwind Logistics", "parent_company_id": parent}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let cfo = app
        .post(
            "/contacts",
            json!({"company_id": parent, "first_name": "Ann", "last_name": "Lee"}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    app.post(
        "/tickets",
        json!({"title": "Invoice portal", "company_id": child, "contact_id": cfo}),
    )
    .await
    .expect(201);
    // A company cannot become its own ancestor.
    app.patch(
        &format!("/companies/{parent}"),
        json!({"parent_company_id": child}),
    )
    .await
    .problem(422, "company_parent_cycle", Some("parent_company_id"));
}

#[tokio::test]
async fn problem_and_incident_links() {
    let app = spawn_app().await;
    let w = app.world().await;
    let problem = app
        .post(
            "/tickets",
            json!({"title": "Exchange outage", "company_id": w.company, "type_id": 3}),
        )
        .await
        .expect(201);
    let problem = problem["id"].as_i64().unwrap();
    let request = app.post("/tickets", json!({"title": "Can't send mail", "company_id": w.company, "problem_ticket_id": problem})).await;
    request.problem(422, "problem_link_not_allowed", Some("problem_ticket_id"));
    let incident = app
        .post("/tickets", json!({"title": "Can't send mail", "company_id": w.company, "type_id": 2, "problem_ticket_id": problem}))
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    // The problem keeps its type while it has incidents.
    app.patch(&format!("/tickets/{problem}"), json!({"type_id": 2}))
        .await
        .problem(422, "problem_has_incidents", Some("type_id"));
    // An incident cannot be the problem of another ticket.
    app.post("/tickets", json!({"title": "Also mail", "company_id": w.company, "type_id": 2, "problem_ticket_id": incident}))
        .await
        .problem(422, "problem_ticket_invalid", Some("problem_ticket_id"));
    // A change request cannot be linked.
    app.post("/tickets", json!({"title": "Migrate", "company_id": w.company, "type_id": 4, "problem_ticket_id": problem}))
        .await
        .problem(422, "problem_link_not_allowed", Some("problem_ticket_id"));
}

#[tokio::test]
async fn stale_versions_get_409_and_concurrent_writers_do_not_lose_updates() {
    let app = spawn_app().await;
    let w = app.world().await;
    let id = app.ticket_id(&w, "Laptop will not boot").await;
    let path = format!("/tickets/{id}");
    app.patch_if(
        &path,
        1,
        json!({"title": "Laptop will not boot after update"}),
    )
    .await
    .expect(200);
    let stale = app
        .patch_if(&path, 1, json!({"priority_id": 1}))
        .await
        .problem(409, "version_conflict", None);
    assert!(
        stale["detail"].as_str().unwrap().contains("version 2"),
        "{stale}"
    );
    let bad = read(
        app.client
            .patch(app.url(&path))
            .bearer_auth(&app.admin)
            .header("If-Match", "yesterday")
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    bad.problem(422, "invalid_field", Some("If-Match"));

    // Ten writers race with the same version: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..10 {
        let client = app.client.clone();
        let url = app.url(&path);
        let key = app.admin.clone();
        tasks.push(tokio::spawn(async move {
            client
                .patch(url)
                .bearer_auth(key)
                .header("If-Match", "\"2\"")
                .json(&json!({"description": format!("writer {i}")}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        9,
        "{statuses:?}"
    );
    let t = app.get(&path).await.expect(200);
    assert_eq!(t["version"], 3);
    let history = app.get(&format!("{path}/history")).await.expect(200);
    assert_eq!(
        fields(&history)
            .iter()
            .filter(|f| *f == "description")
            .count(),
        1
    );
}

#[tokio::test]
async fn idempotent_creates_return_the_first_result() {
    let app = spawn_app().await;
    let w = app.world().await;
    let body = json!({"title": "New starter on Monday", "company_id": w.company});
    let send = |key: &'static str, body: Value| {
        let request = app
            .client
            .post(app.url("/tickets"))
            .bearer_auth(&app.admin)
            .header("Idempotency-Key", key)
            .json(&body);
        async move { read(request.send().await.unwrap()).await }
    };
    let first = send("7f0c8e7e-create-1", body.clone()).await;
    assert!(first.headers.get("idempotent-replayed").is_none());
    let first = first.expect(201);
    let again = send("7f0c8e7e-create-1", body.clone()).await;
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    let again = again.expect(201);
    assert_eq!(first, again);
    send(
        "7f0c8e7e-create-1",
        json!({"title": "Something else", "company_id": w.company}),
    )
    .await
    .problem(422, "idempotency_key_reused", None);
    // Concurrent retries of one create still make one ticket.
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let request = app
            .client
            .post(app.url("/tickets"))
            .bearer_auth(&app.admin)
            .header("Idempotency-Key", "retry-storm")
            .json(&json!({"title": "Leaver", "company_id": w.company}));
        tasks.push(tokio::spawn(async move {
            read(request.send().await.unwrap()).await.expect(201)["id"].clone()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(app.ticket_count().await, 2);
}

#[tokio::test]
async fn keys_and_roles() {
    let app = spawn_app().await;
    let w = app.world().await;
    let no_key = read(app.client.get(app.url("/tickets")).send().await.unwrap()).await;
    assert_eq!(
        no_key.headers.get("www-authenticate").unwrap(),
        "Bearer realm=\"fixpoint\""
    );
    no_key.problem(401, "unauthorized", None);
    read(
        app.client
            .get(app.url("/tickets"))
            .bearer_auth("fpk_not-a-key")
            .send()
            .await
            .unwrap(),
    )
    .await
    .problem(401, "unauthorized", None);
    read(
        app.client
            .get(app.url("/tickets"))
            .header("authorization", "Basic abc")
            .send()
            .await
            .unwrap(),
    )
    .await
    .problem(401, "unauthorized", None);

    let body = json!({"title": "Read-only cannot", "company_id": w.company});
    app.post_as(&app.readonly, "/tickets", body.clone())
        .await
        .problem(403, "forbidden", None);
    read(
        app.client
            .get(app.url("/tickets"))
            .bearer_auth(&app.readonly)
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(200);
    app.post_as(&app.technician, "/tickets", body)
        .await
        .expect(201);
    app.post_as(
        &app.technician,
        "/statuses",
        json!({"name": "Parked", "category": "waiting", "sla_clock": "paused"}),
    )
    .await
    .problem(403, "forbidden", None);
    app.post_as(
        &app.technician,
        "/api-keys",
        json!({"name": "x", "role": "admin"}),
    )
    .await
    .problem(403, "forbidden", None);

    // Admins create and revoke keys; a revoked key stops working at once.
    let created = app
        .post(
            "/api-keys",
            json!({"name": "psa-sync", "role": "technician"}),
        )
        .await
        .expect(201);
    let key = created["key"].as_str().unwrap().to_owned();
    read(
        app.client
            .get(app.url("/tickets"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(200);
    let listed = app.get("/api-keys").await.expect(200);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("key").is_none() && k.get("digest").is_none()),
        "keys are never shown again"
    );
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        read(
            app.client
                .delete(app.url(&format!("/api-keys/{id}")))
                .bearer_auth(&app.admin)
                .send()
                .await
                .unwrap()
        )
        .await
        .status,
        204
    );
    read(
        app.client
            .get(app.url("/tickets"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap(),
    )
    .await
    .problem(401, "unauthorized", None);
}

#[tokio::test]
async fn lists_filter_sort_and_page_to_the_end() {
    let app = spawn_app().await;
    let w = app.world().await;
    for i in 0..7 {
        let priority = [1, 2, 3, 4][i % 4];
        app.post(
            "/tickets",
            json!({"title": format!("Ticket {i} 100% broken"), "company_id": w.company, "priority_id": priority,
                   "due_at": if i % 2 == 0 { Value::Null } else { json!(format!("2030-01-0{}T00:00:00Z", 8 - i)) }}),
        )
        .await
        .expect(201);
    }
    app.post(
        "/tickets",
        json!({"title": "Unrelated", "company_id": w.company, "description": "100 percent"}),
    )
    .await
    .expect(201);

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/tickets?limit=3&sort=due_at&cursor={c}"),
            None => "/tickets?limit=3&sort=due_at".to_owned(),
        };
        let page = app.get(&path).await.expect(200);
        assert_eq!(page["total"], 8);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| (t["id"].as_i64().unwrap(), t["due_at"].clone())),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8, "every ticket exactly once: {seen:?}");
    let dues: Vec<&Value> = seen.iter().map(|(_, d)| d).collect();
    let first_null = dues.iter().position(|d| d.is_null()).unwrap();
    assert!(
        dues[first_null..].iter().all(|d| d.is_null()),
        "empty due dates last: {dues:?}"
    );
    assert!(
        dues[..first_null]
            .windows(2)
            .all(|p| p[0].as_str() <= p[1].as_str()),
        "ascending: {dues:?}"
    );

    // `%` in search text is literal, and search is case-insensitive.
    assert_eq!(
        app.get("/tickets?q=100%25%20BROKEN").await.expect(200)["total"],
        7
    );
    let urgent = app.get("/tickets?sort=priority&limit=2").await.expect(200);
    assert_eq!(urgent["items"][0]["priority_id"], 1);
    assert_eq!(
        app.get("/tickets?priority_id=1,2").await.expect(200)["total"],
        4
    );
    assert_eq!(
        app.get("/tickets?created_after=2000-01-01T00:00:00Z&created_before=2100-01-01T00:00:00Z")
            .await
            .expect(200)["total"],
        8
    );
    assert_eq!(
        app.get("/tickets?updated_after=2100-01-01T00:00:00Z")
            .await
            .expect(200)["total"],
        0
    );

    app.get("/tickets?limit=501")
        .await
        .problem(422, "out_of_range", Some("limit"));
    app.get("/tickets?sort=title")
        .await
        .problem(422, "invalid_field", Some("sort"));
    app.get("/tickets?status_id=one")
        .await
        .problem(422, "invalid_field", Some("status_id"));
    app.get("/tickets?created_after=yesterday").await.problem(
        422,
        "invalid_field",
        Some("created_after"),
    );
    app.get("/tickets?cursor=garbage")
        .await
        .problem(422, "invalid_field", Some("cursor"));
    app.get("/tickets?colour=red")
        .await
        .problem(422, "invalid_field", Some("colour"));
}

#[tokio::test]
async fn not_found_and_unknown_routes() {
    let app = spawn_app().await;
    app.get("/tickets/12345")
        .await
        .problem(404, "not_found", None);
    app.get("/tickets/12345/history")
        .await
        .problem(404, "not_found", None);
    app.post("/tickets/12345/notes", json!({"body": "hello"}))
        .await
        .problem(404, "not_found", None);
    app.get("/companies/777")
        .await
        .problem(404, "not_found", None);
    app.get("/tickets/abc")
        .await
        .problem(422, "invalid_field", Some("id"));
    app.get("/nonsense")
        .await
        .problem(404, "no_such_route", None);
}

#[tokio::test]
async fn openapi_docs_health_and_error_table_are_served() {
    let app = spawn_app().await;
    let doc = read(
        app.client
            .get(format!("{}/api/v1/openapi.json", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(200);
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/v1/tickets",
        "/api/v1/tickets/{id}",
        "/api/v1/tickets/{id}/notes",
        "/api/v1/tickets/{id}/time-entries",
        "/api/v1/tickets/{id}/billable",
        "/api/v1/tickets/{id}/history",
        "/api/v1/companies",
        "/api/v1/contacts",
        "/api/v1/resources",
        "/api/v1/queues",
        "/api/v1/contracts",
        "/api/v1/statuses",
        "/api/v1/priorities",
        "/api/v1/ticket-types",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    let docs = app
        .client
        .get(format!("{}/api/v1/docs", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("openapi.json"));
    let table = read(
        app.client
            .get(format!("{}/api/v1/errors", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(200);
    assert!(
        table
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["code"] == "version_conflict" && e["status"] == 409)
    );
    assert_eq!(
        app.client
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.client
            .get(format!("{}/readyz", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn catalogues_can_be_extended_by_admins() {
    let app = spawn_app().await;
    let w = app.world().await;
    let statuses = app.get("/statuses").await.expect(200);
    assert_eq!(statuses.as_array().unwrap().len(), 10);
    let parked = app
        .post("/statuses", json!({"name": "Parked", "category": "waiting", "sla_clock": "paused", "transitions_to": [IN_PROGRESS]}))
        .await
        .expect(201);
    let parked_id = parked["id"].as_i64().unwrap();
    app.post(
        "/statuses",
        json!({"name": "parked", "category": "waiting", "sla_clock": "paused"}),
    )
    .await
    .problem(409, "already_exists", None);
    let id = app.ticket_id(&w, "Waiting on parts").await;
    app.patch(&format!("/tickets/{id}"), json!({"status_id": parked_id}))
        .await
        .expect(200);
    app.patch(
        &format!("/tickets/{id}"),
        json!({"status_id": WAITING_CUSTOMER}),
    )
    .await
    .problem(422, "transition_not_allowed", None);
    app.patch(&format!("/tickets/{id}"), json!({"status_id": IN_PROGRESS}))
        .await
        .expect(200);
    let renamed = app
        .patch("/ticket-types/1", json!({"name": "Request"}))
        .await
        .expect(200);
    assert_eq!(renamed["kind"], "service_request");
    app.post(
        "/priorities",
        json!({"name": "Emergency", "urgency_rank": 0}),
    )
    .await
    .problem(422, "out_of_range", Some("urgency_rank"));
    app.post(
        "/priorities",
        json!({"name": "Emergency", "urgency_rank": 1}),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn admins_delete_tickets_but_not_a_problem_with_incidents() {
    let app = spawn_app().await;
    let w = app.world().await;
    let problem = app
        .post(
            "/tickets",
            json!({"title": "Exchange outage", "company_id": w.company, "type_id": 3}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let incident = app
        .post("/tickets", json!({"title": "No mail", "company_id": w.company, "type_id": 2, "problem_ticket_id": problem}))
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    app.post(
        &format!("/tickets/{incident}/notes"),
        json!({"body": "Same as everyone.", "visibility": "internal"}),
    )
    .await
    .expect(201);
    let delete = |key: &str, id: i64| {
        app.client
            .delete(app.url(&format!("/tickets/{id}")))
            .bearer_auth(key)
            .send()
    };
    read(delete(&app.technician, incident).await.unwrap())
        .await
        .problem(403, "forbidden", None);
    read(delete(&app.admin, problem).await.unwrap())
        .await
        .problem(422, "problem_has_incidents", None);
    assert_eq!(
        delete(&app.admin, incident).await.unwrap().status(),
        reqwest::StatusCode::NO_CONTENT
    );
    app.get(&format!("/tickets/{incident}"))
        .await
        .problem(404, "not_found", None);
    assert_eq!(
        delete(&app.admin, problem).await.unwrap().status(),
        reqwest::StatusCode::NO_CONTENT,
        "with its incident gone the problem may go"
    );
    let found = app
        .post("/tickets/search", json!({"q": "everyone"}))
        .await
        .expect(200);
    assert_eq!(
        found["total"], 0,
        "the search document went with the ticket"
    );
    // SQLite gives the newest ticket's id to the next one: it is indexed afresh.
    let successor = app.ticket(&w, "Scanner jammed").await["id"].clone();
    let found = app
        .post("/tickets/search", json!({"q": "scanner"}))
        .await
        .expect(200);
    assert_eq!(found["total"], 1);
    assert_eq!(found["items"][0]["id"], successor);
}

#[tokio::test]
async fn a_clients_own_note_is_not_the_first_response() {
    let app = spawn_app().await;
    let w = app.world().await;
    let t = app.ticket(&w, "VPN drops").await;
    let notes = format!("/tickets/{}/notes", t["id"]);
    app.post(
        &notes,
        json!({"body": "Still dropping.", "visibility": "external", "contact_id": w.contact}),
    )
    .await
    .expect(201);
    let after = app.get(&format!("/tickets/{}", t["id"])).await.expect(200);
    assert!(after["first_response_at"].is_null(), "{after}");

    app.post(&notes, json!({"body": "x", "contact_id": 999_999}))
        .await
        .problem(422, "unknown_reference", Some("contact_id"));
    let (_, stranger) = app.stranger().await;
    app.post(&notes, json!({"body": "x", "contact_id": stranger}))
        .await
        .problem(422, "contact_not_in_company", Some("contact_id"));

    app.post(&notes, json!({"body": "On it.", "visibility": "external"}))
        .await
        .expect(201);
    let answered = app.get(&format!("/tickets/{}", t["id"])).await.expect(200);
    assert!(answered["first_response_at"].is_string());
    let listed = app.get(&notes).await.expect(200);
    assert_eq!(listed[0]["contact_id"], w.contact);
    assert!(listed[1]["contact_id"].is_null());
}

#[tokio::test]
async fn ticket_categories_fill_defaults_and_may_require_a_queue() {
    let app = spawn_app().await;
    let w = app.world().await;
    let categories = app.get("/ticket-categories").await.expect(200);
    assert_eq!(categories[0]["name"], "Standard");
    assert_eq!(categories[0]["is_default"], true);
    let policies = app.get("/sla-policies").await.expect(200);
    let other_policy = policies
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["is_default"] == false)
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    app.post(
        "/ticket-categories",
        json!({"name": "Alerts", "due_in_days": 400}),
    )
    .await
    .problem(422, "out_of_range", Some("due_in_days"));
    app.post(
        "/ticket-categories",
        json!({"name": "Alerts", "default_queue_id": 999}),
    )
    .await
    .problem(422, "unknown_reference", Some("default_queue_id"));
    app.post("/ticket-categories", json!({"name": "standard"}))
        .await
        .problem(409, "already_exists", None);
    let alerts = app
        .post(
            "/ticket-categories",
            json!({"name": "Alerts", "queue_requirement": "always", "default_priority_id": 2,
                   "default_type_id": 2, "sla_policy_id": other_policy,
                   "due_in_days": 1, "due_time": "17:00"}),
        )
        .await
        .expect(201);
    let alerts_id = alerts["id"].as_i64().unwrap();

    let refused = app
        .post(
            "/tickets",
            json!({"title": "Disk low", "company_id": w.company, "ticket_category_id": alerts_id}),
        )
        .await
        .problem(422, "required", Some("queue_id"));
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Alerts")
    );
    let t = app
        .post(
            "/tickets",
            json!({"title": "Disk low", "company_id": w.company,
                                 "ticket_category_id": alerts_id, "queue_id": w.queue}),
        )
        .await
        .expect(201);
    assert_eq!(
        (t["priority_id"].as_i64(), t["type_id"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(
        t["sla_policy_id"], other_policy,
        "the category's policy applies"
    );
    let created: jiff::Timestamp = t["created_at"].as_str().unwrap().parse().unwrap();
    let due: jiff::Timestamp = t["due_at"].as_str().unwrap().parse().unwrap();
    let lead = due.duration_since(created).as_hours();
    assert!(
        (0..=48).contains(&lead),
        "due the next day at 17:00: {lead} h ahead"
    );

    let plain = app
        .post(
            "/tickets",
            json!({"title": "Printer jam", "company_id": w.company}),
        )
        .await
        .expect(201);
    assert_eq!(plain["ticket_category_id"], 1, "the default category");
    app.patch(
        &format!("/tickets/{}", plain["id"]),
        json!({"ticket_category_id": alerts_id}),
    )
    .await
    .problem(422, "required", Some("queue_id"));

    app.patch(
        &format!("/ticket-categories/{alerts_id}"),
        json!({"active": false, "due_time": null}),
    )
    .await
    .expect(200);
    app.post(
        "/tickets",
        json!({"title": "Disk low", "company_id": w.company,
                                "ticket_category_id": alerts_id, "queue_id": w.queue}),
    )
    .await
    .problem(422, "inactive_value", Some("ticket_category_id"));
    app.patch(
        &format!("/tickets/{}", t["id"]),
        json!({"title": "Disk low on FS01"}),
    )
    .await
    .expect(200);
    app.patch("/ticket-categories/77", json!({"active": false}))
        .await
        .problem(404, "not_found", None);
    let standard_made_default = app
        .patch(
            &format!("/ticket-categories/{alerts_id}"),
            json!({"active": true, "is_default": true}),
        )
        .await
        .expect(200);
    assert_eq!(standard_made_default["is_default"], true);
    let categories = app.get("/ticket-categories").await.expect(200);
    assert_eq!(categories[0]["is_default"], false, "one default at a time");
    app.post(
        "/tickets",
        json!({"title": "Half a due time", "company_id": w.company, "queue_id": w.queue}),
    )
    .await
    .problem(422, "required", Some("due_at"));
}

#[tokio::test]
async fn notes_and_time_entries_are_corrected_and_removed() {
    let app = spawn_app().await;
    let w = app.world().await;
    let ticket = app.ticket_id(&w, "Switch replacement").await;
    let note = app
        .post(
            &format!("/tickets/{ticket}/notes"),
            json!({"title": "Call", "body": "Spoke to Jon", "kind": "phone"}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let edited = app
        .patch(
            &format!("/notes/{note}"),
            json!({"body": "Spoke to John", "title": null}),
        )
        .await
        .expect(200);
    assert_eq!(
        (edited["body"].as_str(), edited["kind"].as_str()),
        (Some("Spoke to John"), Some("phone"))
    );
    assert_eq!(edited["title"], Value::Null);
    app.patch(&format!("/notes/{note}"), json!({"body": ""}))
        .await
        .problem(422, "required", Some("body"));
    app.patch(&format!("/notes/{note}"), json!({"author": "someone else"}))
        .await
        .problem(422, "invalid_field", Some("author"));
    let found = app
        .post("/tickets/search", json!({"q": "John"}))
        .await
        .expect(200);
    assert_eq!(
        found["items"].as_array().unwrap().len(),
        1,
        "search sees the edit"
    );

    let entry = app
        .post(
            &format!("/tickets/{ticket}/time-entries"),
            json!({"resource_id": w.resource, "started_at": "2026-11-02T09:00:00Z", "ended_at": "2026-11-02T10:00:00Z"}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let longer = app
        .patch(
            &format!("/time-entries/{entry}"),
            json!({"ended_at": "2026-11-02T11:30:00Z"}),
        )
        .await
        .expect(200);
    assert_eq!(longer["minutes"], 150, "the minutes follow the new range");
    app.patch(&format!("/time-entries/{entry}"), json!({"minutes": 20}))
        .await
        .problem(422, "time_range_invalid", Some("minutes"));
    app.patch(
        &format!("/time-entries/{entry}"),
        json!({"resource_id": 999}),
    )
    .await
    .problem(422, "unknown_reference", Some("resource_id"));
    app.patch(
        &format!("/time-entries/{entry}"),
        json!({"billable": false}),
    )
    .await
    .expect(200);
    let billable = app
        .get(&format!("/tickets/{ticket}/billable"))
        .await
        .expect(200);
    assert_eq!(billable["non_billable_minutes"], 150, "{billable}");

    assert_eq!(
        app.delete(&format!("/time-entries/{entry}")).await.status,
        204
    );
    assert_eq!(app.delete(&format!("/notes/{note}")).await.status, 204);
    app.delete(&format!("/notes/{note}"))
        .await
        .problem(404, "not_found", None);
    app.patch("/time-entries/999", json!({"billable": true}))
        .await
        .problem(404, "not_found", None);
    let notes = app
        .get(&format!("/tickets/{ticket}/notes"))
        .await
        .expect(200);
    let entries = app
        .get(&format!("/tickets/{ticket}/time-entries"))
        .await
        .expect(200);
    assert!(notes.as_array().unwrap().is_empty() && entries.as_array().unwrap().is_empty());
    let history = app
        .get(&format!("/tickets/{ticket}/history"))
        .await
        .expect(200);
    let recorded = fields(&history);
    for event in ["note_edited", "note_deleted", "time_edited", "time_deleted"] {
        assert!(
            recorded.iter().any(|f| f == event),
            "{event} missing: {recorded:?}"
        );
    }
}

/// Posts a ticket as the admin from a task of its own: (status, body).
fn create_at_once(app: &common::App, body: Value) -> tokio::task::JoinHandle<(u16, Value)> {
    let request = app
        .client
        .post(app.url("/tickets"))
        .bearer_auth(&app.admin)
        .json(&body);
    tokio::spawn(async move {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    })
}

#[tokio::test]
async fn creates_arriving_together_are_written_together_and_judged_alone() {
    let app = spawn_app().await;
    let w = app.world().await;
    let (_, strangers_contact) = app.stranger().await;
    let mut tasks = Vec::new();
    for i in 0..48 {
        let body = match i % 6 {
            0 => json!({"title": format!("ticket {i}"), "company_id": 999_999}),
            1 => {
                json!({"title": format!("ticket {i}"), "company_id": w.company, "contact_id": strangers_contact})
            }
            2 => {
                json!({"title": format!("ticket {i}"), "company_id": w.company, "contact_id": w.contact,
                        "assigned_resource_id": w.resource, "assigned_role_id": w.role})
            }
            3 => {
                json!({"title": format!("ticket {i}"), "company_id": w.company, "queue_id": w.queue,
                        "secondary_resource_ids": [w.resource]})
            }
            _ => json!({"title": format!("ticket {i}"), "company_id": w.company}),
        };
        tasks.push((i, create_at_once(&app, body)));
    }
    let mut numbers = Vec::new();
    for (i, task) in tasks {
        let (status, body) = task.await.unwrap();
        match i % 6 {
            0 => {
                assert_eq!(status, 422, "{body}");
                assert_eq!(body["errors"][0]["field"], "company_id", "{body}");
            }
            1 => {
                assert_eq!(status, 422, "{body}");
                assert_eq!(body["errors"][0]["field"], "contact_id", "{body}");
            }
            kind => {
                assert_eq!(status, 201, "{body}");
                assert_eq!(body["title"], format!("ticket {i}"));
                let id = body["id"].as_i64().unwrap();
                let stored = app.get(&format!("/tickets/{id}")).await.expect(200);
                assert_eq!(stored["number"], body["number"]);
                assert_eq!(stored["title"], body["title"]);
                if kind == 2 {
                    assert_eq!(stored["contact_id"], w.contact);
                    assert_eq!(stored["assigned_resource_id"], w.resource);
                }
                if kind == 3 {
                    assert_eq!(stored["secondary_resource_ids"], json!([w.resource]));
                    assert_eq!(stored["queue_id"], w.queue);
                }
                let history = app.get(&format!("/tickets/{id}/history")).await.expect(200);
                assert_eq!(fields(&history), ["created"], "{history}");
                assert_eq!(history[0]["new_value"], body["number"]);
                assert_eq!(history[0]["actor"], "apikey:admin", "{history}");
                numbers.push(body["number"].as_str().unwrap().to_owned());
            }
        }
    }
    // Refused creates take no number: the 32 written hold the day's first 32.
    numbers.sort();
    let day = numbers[0].split('.').next().unwrap();
    let expected: Vec<String> = (1..=32).map(|n| format!("{day}.{n:04}")).collect();
    assert_eq!(numbers, expected);
    assert_eq!(app.ticket_count().await, 32);
}

#[tokio::test]
async fn a_statement_failing_for_a_batch_fails_only_the_create_that_caused_it() {
    let app = spawn_app().await;
    let w = app.world().await;
    // A database trigger that refuses one title stands in for any error only the
    // database sees (a constraint, a full disk on one page).
    if app.database_url.starts_with("postgres") {
        let db = sqlx::PgPool::connect(&app.database_url).await.unwrap();
        sqlx::raw_sql(
            "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN \
               IF NEW.title = 'poison' THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; \
             END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_poison BEFORE INSERT ON tickets \
               FOR EACH ROW EXECUTE FUNCTION refuse_poison();",
        )
        .execute(&db)
        .await
        .unwrap();
    } else {
        let db = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
        sqlx::raw_sql(
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON tickets WHEN NEW.title = 'poison' \
             BEGIN SELECT RAISE(ABORT, 'poisoned'); END;",
        )
        .execute(&db)
        .await
        .unwrap();
    }
    let mut tasks = Vec::new();
    for i in 0..24 {
        let title = if i % 8 == 3 {
            "poison".to_owned()
        } else {
            format!("ticket {i}")
        };
        let body = json!({"title": title, "company_id": w.company});
        tasks.push((title, create_at_once(&app, body)));
    }
    let mut written = 0;
    for (title, task) in tasks {
        let (status, body) = task.await.unwrap();
        if title == "poison" {
            assert_eq!(status, 500, "{body}");
            assert_eq!(body["code"], "internal", "{body}");
        } else {
            assert_eq!(status, 201, "{body}");
            assert_eq!(body["title"], title);
            written += 1;
        }
    }
    assert_eq!(written, 21);
    assert_eq!(app.ticket_count().await, 21);
}

#[tokio::test]
async fn a_secondary_resource_list_past_the_limit_is_refused_whole() {
    let app = spawn_app().await;
    let w = app.world().await;
    // More ids than either database takes as parameters of one statement.
    let ids: Vec<i64> = (1..=70_000).collect();
    let refused = app
        .post(
            "/tickets",
            json!({"title": "Too many helpers", "company_id": w.company, "secondary_resource_ids": ids}),
        )
        .await
        .problem(422, "too_many", Some("secondary_resource_ids"));
    assert_eq!(refused["errors"].as_array().unwrap().len(), 1, "{refused}");
    assert_eq!(app.ticket_count().await, 0);
}

/// A sweep's history is written a few hundred rows per insert, all sent together: the
/// rows land whole and in order (PostgreSQL runs the parts of one statement in no set
/// order, so two inserts into one table never share a statement).
#[tokio::test]
async fn history_written_in_many_inserts_keeps_its_order() {
    use fixpoint_core::ticket::FieldChange;
    let app = spawn_app().await;
    let w = app.world().await;
    let t = app.ticket(&w, "Noisy monitor").await;
    let id = fixpoint_core::ids::TicketId(t["id"].as_i64().unwrap());
    let changes: Vec<FieldChange> = (0..10_000)
        .map(|i| FieldChange {
            field: "note".into(),
            old: None,
            new: Some(format!("alert {i}")),
        })
        .collect();
    let rows: Vec<_> = changes.iter().map(|c| (id, 2, c)).collect();
    let at = jiff::Timestamp::now();
    let mut tx = app.store.write().await.unwrap();
    fixpoint_store::tickets::write_history_rows(&mut tx, &rows, at, "monitor")
        .await
        .unwrap();
    fixpoint_store::Store::commit(tx).await.unwrap();

    let mut conn = app.store.read().await.unwrap();
    let history = fixpoint_store::tickets::history(&mut conn, id)
        .await
        .unwrap();
    let alerts: Vec<String> = history
        .iter()
        .filter(|h| h.actor == "monitor")
        .filter_map(|h| h.new_value.clone())
        .collect();
    let first_out_of_order = (0..10_000).position(|i| alerts.get(i) != Some(&format!("alert {i}")));
    assert_eq!((alerts.len(), first_out_of_order), (10_000, None));
}

/// A note's and an edit's trailing writes go to the database together (one SQLite
/// call, one PostgreSQL statement): each still lands, on every backend.
#[tokio::test]
async fn a_note_and_an_edit_write_all_they_touch() {
    let app = spawn_app().await;
    let w = app.world().await;
    let t = app.ticket(&w, "Scanner offline").await;
    let id = t["id"].as_i64().unwrap();
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
    app.clock.set(later);

    let note = app
        .post(
            &format!("/tickets/{id}/notes"),
            json!({"body": "Reseated the FIRMWARE cable.", "visibility": "internal"}),
        )
        .await
        .expect(201);
    let touched = app.get(&format!("/tickets/{id}")).await.expect(200);
    assert_eq!(touched["last_activity_at"], note["created_at"], "{touched}");
    assert_eq!(touched["version"], t["version"], "a note is no new version");
    let found = app
        .post("/tickets/search", json!({"q": "firmware"}))
        .await
        .expect(200);
    assert_eq!(found["items"][0]["id"], id, "{found}");

    app.patch(
        &format!("/tickets/{id}"),
        json!({"title": "Plotter offline", "secondary_resource_ids": [w.resource]}),
    )
    .await
    .expect(200);
    let edited = app.get(&format!("/tickets/{id}")).await.expect(200);
    assert_eq!(edited["secondary_resource_ids"], json!([w.resource]));
    for (word, hits) in [("plotter", 1), ("scanner", 0), ("firmware", 1)] {
        let found = app
            .post("/tickets/search", json!({"q": word}))
            .await
            .expect(200);
        assert_eq!(found["total"], hits, "{word}: {found}");
    }
    app.patch(
        &format!("/tickets/{id}"),
        json!({"secondary_resource_ids": []}),
    )
    .await
    .expect(200);
    let cleared = app.get(&format!("/tickets/{id}")).await.expect(200);
    assert_eq!(cleared["secondary_resource_ids"], json!([]));

    let history = app.get(&format!("/tickets/{id}/history")).await.expect(200);
    let added: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["field"] == "note_added")
        .collect();
    assert_eq!(added.len(), 1, "{history}");
    assert_eq!(added[0]["new_value"], note["id"].to_string());
    assert!(fields(&history).contains(&"title".to_owned()), "{history}");

    let mut conn = app.store.read().await.unwrap();
    let events = fixpoint_store::escalation::pending_events(&mut conn, 100)
        .await
        .unwrap();
    let topics: Vec<&str> = events
        .iter()
        .map(|e| e.topic.as_str())
        .filter(|topic| topic.starts_with("ticket.") || topic.starts_with("note."))
        .collect();
    assert_eq!(
        topics,
        [
            "ticket.created",
            "note.created",
            "ticket.updated",
            "ticket.updated"
        ]
    );
}

/// A page of tickets quotes, of each, its first note and its last by the contact and
/// by staff (Atera's form): the store reads those three and no others.
#[tokio::test]
async fn a_page_reads_only_the_first_and_last_notes_of_each_ticket() {
    let app = spawn_app().await;
    let w = app.world().await;
    let talk = app.ticket_id(&w, "Long conversation").await;
    let one = app.ticket_id(&w, "One reply").await;
    let quiet = app.ticket_id(&w, "No notes").await;
    let note = |ticket: i64, body: &'static str, by_contact: bool| {
        let contact = by_contact.then_some(w.contact);
        let app = &app;
        async move {
            app.post(
                &format!("/tickets/{ticket}/notes"),
                json!({"body": body, "visibility": "external", "contact_id": contact}),
            )
            .await
            .expect(201)
        }
    };
    for (body, by_contact) in [
        ("staff 1", false),
        ("contact 1", true),
        ("staff 2", false),
        ("contact 2", true),
        ("staff 3", false),
    ] {
        note(talk, body, by_contact).await;
    }
    note(one, "only reply", true).await;

    let mut conn = app.store.read().await.unwrap();
    let ids = [talk, one, quiet].map(fixpoint_core::ids::TicketId);
    let notes = fixpoint_store::work::first_and_last_notes_of_tickets(&mut conn, &ids)
        .await
        .unwrap();
    let read: Vec<(i64, &str)> = notes
        .iter()
        .map(|n| (n.ticket_id.0, n.body.as_str()))
        .collect();
    assert_eq!(
        read,
        [
            (talk, "staff 1"),
            (talk, "contact 2"),
            (talk, "staff 3"),
            (one, "only reply")
        ]
    );
}

/// Sends all these bodies to `path` at once; their statuses and bodies, in order.
async fn race(
    app: &common::App,
    method: reqwest::Method,
    path: &str,
    bodies: Vec<Value>,
) -> Vec<(u16, String)> {
    let mut racers = Vec::new();
    for body in bodies {
        let request = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&app.admin)
            .json(&body);
        racers.push(tokio::spawn(async move {
            let r = request.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }));
    }
    let mut answers = Vec::new();
    for racer in racers {
        answers.push(racer.await.unwrap());
    }
    answers
}

/// Writes that name no version (no If-Match) apply to whatever version the ticket is
/// at when they land, on every backend: racing plain edits and racing first replies
/// all succeed, each recorded once, none lost.
#[tokio::test]
async fn racing_writes_without_a_version_all_land() {
    let app = spawn_app().await;
    let w = app.world().await;
    let racers = 20;
    let id = app.ticket_id(&w, "Shared mailbox full").await;
    let path = format!("/tickets/{id}");
    let edits = (0..racers)
        .map(|i| json!({"description": format!("writer {i}")}))
        .collect();
    for (status, body) in race(&app, reqwest::Method::PATCH, &path, edits).await {
        assert_eq!(status, 200, "{body}");
    }
    let history = app.get(&format!("{path}/history")).await.expect(200);
    let described = fields(&history)
        .iter()
        .filter(|f| *f == "description")
        .count();
    let t = app.get(&path).await.expect(200);
    assert_eq!(
        (t["version"].as_i64(), described),
        (Some(1 + racers), racers as usize),
        "{history}"
    );

    // Each of these replies could be the ticket's first response.
    let replied = app.ticket_id(&w, "Printer offline").await;
    let notes_path = format!("/tickets/{replied}/notes");
    let replies = (0..racers)
        .map(|i| json!({"body": format!("reply {i}"), "visibility": "external"}))
        .collect();
    for (status, body) in race(&app, reqwest::Method::POST, &notes_path, replies).await {
        assert_eq!(status, 201, "{body}");
    }
    let notes = app.get(&notes_path).await.expect(200);
    assert_eq!(notes.as_array().map(Vec::len), Some(racers as usize));
    let t = app.get(&format!("/tickets/{replied}")).await.expect(200);
    assert!(t["first_response_at"].is_string(), "{t}");
}

/// Admins adding one name at once, in any case: one wins, the others hear that it
/// exists, on every backend (on PostgreSQL all pass the name rule and the database's
/// unique keys refuse all but one).
#[tokio::test]
async fn racing_creates_of_one_name_get_one_201_and_409s() {
    let app = spawn_app().await;
    let racers = 10;
    let spellings = ["Parked for parts", "parked for parts", "PARKED FOR PARTS"];
    let statuses = (0..racers)
        .map(|i| json!({"name": spellings[i % 3], "category": "waiting", "sla_clock": "paused"}))
        .collect();
    let mut answers = race(&app, reqwest::Method::POST, "/statuses", statuses).await;
    answers.sort();
    let created = answers.iter().filter(|(status, _)| *status == 201).count();
    let refused = answers
        .iter()
        .filter(|(status, body)| *status == 409 && body.contains("already_exists"))
        .count();
    assert_eq!((created, refused), (1, racers - 1), "{answers:?}");
}

/// A problem ticket deleted while an incident is being linked to it: whichever lands
/// first, the other is refused with an answer a client can act on, never a 500, and
/// no incident is left pointing at a ticket that is gone. On PostgreSQL both can pass
/// their rules at once (neither sees the other's uncommitted write) and a foreign key
/// refuses the second; SQLite's one writer lets the rules see the first.
#[tokio::test]
async fn a_problem_deleted_while_an_incident_is_linked_to_it_answers_without_a_500() {
    let app = spawn_app().await;
    let w = app.world().await;
    for _ in 0..12 {
        let open = |title: &str, type_id: i64| {
            app.post(
                "/tickets",
                json!({"title": title, "company_id": w.company, "type_id": type_id}),
            )
        };
        let problem = open("Exchange outage", 3).await.expect(201)["id"].clone();
        let incident = open("Can't send mail", 2).await.expect(201)["id"].clone();
        let problem_path = format!("/tickets/{problem}");
        let incident_path = format!("/tickets/{incident}");
        let (deleted, linked) = tokio::join!(
            app.delete(&problem_path),
            app.patch(&incident_path, json!({ "problem_ticket_id": problem })),
        );
        let answers = format!(
            "delete {} {}, link {} {}",
            deleted.status, deleted.body, linked.status, linked.body
        );
        let deleted = deleted.status.as_u16();
        let linked = linked.status.as_u16();
        assert!(
            matches!(deleted, 204 | 409 | 422) && matches!(linked, 200 | 409 | 422),
            "{answers}"
        );
        assert!(!(deleted == 204 && linked == 200), "both landed: {answers}");
        let problem_exists = app.get(&problem_path).await.status.as_u16() == 200;
        assert_eq!(deleted == 204, !problem_exists, "{answers}");
        let now_linked = app.get(&incident_path).await.expect(200)["problem_ticket_id"].clone();
        assert_eq!(linked == 200, now_linked == problem, "{answers}");
    }
}

/// Secondary resources come back in the order they were given, not by id, from a
/// ticket's own read and from a list, and an edit's new order replaces the old.
#[tokio::test]
async fn secondary_resources_keep_their_order() {
    let app = spawn_app().await;
    let w = app.world().await;
    let mut helpers = Vec::new();
    for name in ["Ann", "Bob", "Cid"] {
        helpers.push(
            app.created(
                "/resources",
                json!({"first_name": name, "last_name": "Tech", "email": format!("{name}@msp.example")}),
            )
            .await,
        );
    }
    let order = json!([helpers[2], helpers[0], helpers[1]]);
    let id = app
        .post(
            "/tickets",
            json!({"title": "Office move", "company_id": w.company, "queue_id": w.queue,
                   "secondary_resource_ids": order}),
        )
        .await
        .expect(201)["id"]
        .clone();
    let read = app.get(&format!("/tickets/{id}")).await.expect(200);
    assert_eq!(read["secondary_resource_ids"], order, "{read}");
    let listed = app
        .get(&format!("/tickets?queue_id={}", w.queue))
        .await
        .expect(200);
    assert_eq!(
        listed["items"][0]["secondary_resource_ids"], order,
        "{listed}"
    );

    let reordered = json!([helpers[1], helpers[2]]);
    app.patch(
        &format!("/tickets/{id}"),
        json!({"secondary_resource_ids": reordered}),
    )
    .await
    .expect(200);
    let read = app.get(&format!("/tickets/{id}")).await.expect(200);
    assert_eq!(read["secondary_resource_ids"], reordered, "{read}");
}
