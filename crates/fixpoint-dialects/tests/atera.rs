//! Atera v3 contract tests: the real server, the Atera routes, SQLite (or PostgreSQL
//! with FIXPOINT_TEST_POSTGRES_URL).

use fixpoint_server::testing::{TestServer, spawn};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

struct Atera {
    server: TestServer,
    client: Client,
}

struct World {
    company: i64,
    contact: i64,
    technician: i64,
}

impl Atera {
    async fn start() -> Self {
        Self {
            server: spawn(fixpoint_dialects::routes(&Default::default())).await,
            client: Client::new(),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.server.base)
        };
        let mut request = self
            .client
            .request(method, url)
            .header("X-API-KEY", &self.server.admin);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        if !text.is_empty() {
            assert_eq!(content_type.as_deref(), Some("application/json"), "{text}");
        }
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn native(&self, method: Method, path: &str, body: Value) -> Value {
        let response = self
            .client
            .request(method, format!("{}/api/v1{path}", self.server.base))
            .bearer_auth(&self.server.admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    async fn world(&self) -> World {
        let company = self
            .native(
                Method::POST,
                "/companies",
                json!({"name": "Acme Corporation"}),
            )
            .await["id"]
            .as_i64()
            .unwrap();
        let contact = self
            .native(
                Method::POST,
                "/contacts",
                json!({"company_id": company, "first_name": "John", "last_name": "Smith", "email": "john@acme.example", "phone": "+1 555 0100"}),
            )
            .await["id"]
            .as_i64()
            .unwrap();
        let technician = self
            .native(
                Method::POST,
                "/resources",
                json!({"first_name": "Jane", "last_name": "Tech", "email": "jane@msp.example"}),
            )
            .await["id"]
            .as_i64()
            .unwrap();
        World {
            company,
            contact,
            technician,
        }
    }

    async fn create(&self, body: Value) -> i64 {
        let (status, created) = self.call(Method::POST, "/api/v3/tickets", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["ActionID"].as_i64().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tickets_are_created_and_read_in_ateras_words() {
    let atera = Atera::start().await;
    let w = atera.world().await;
    let id = atera
        .create(json!({
            "TicketTitle": "Printer offline",
            "Description": "The printer on floor 2 is offline.",
            "EndUserID": w.contact,
            "TicketPriority": "High",
            "TicketType": "Incident",
            "TicketImpact": "Minor"
        }))
        .await;
    let (status, t) = atera
        .call(Method::GET, &format!("/api/v3/tickets/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(t["TicketID"], id);
    assert_eq!(t["TicketTitle"], "Printer offline");
    assert_eq!(t["TicketStatus"], "Open");
    assert_eq!(t["TicketPriority"], "High");
    assert_eq!(t["TicketType"], "Incident");
    assert_eq!(t["TicketImpact"], "Minor");
    assert_eq!(t["TicketSource"], "Api");
    assert_eq!(
        t["CustomerID"], w.company,
        "the company comes from the end user"
    );
    assert_eq!(t["CustomerName"], "Acme Corporation");
    assert_eq!(t["EndUserEmail"], "john@acme.example");
    assert_eq!(t["EndUserFirstName"], "John");
    assert!(t["TicketNumber"].as_str().unwrap().starts_with('T'));
    assert!(t["TicketCreatedDate"].as_str().unwrap().ends_with('Z'));
    assert!(
        t["FirstResponseDueDate"].is_string(),
        "the SLA applies: {t}"
    );

    // The contact found by e-mail address; the defaults for what is left out.
    let by_email = atera
        .create(json!({"TicketTitle": "VPN", "Description": "Drops hourly.", "EndUserEmail": "JOHN@acme.example"}))
        .await;
    let (_, t) = atera
        .call(Method::GET, &format!("/api/v3/tickets/{by_email}"), None)
        .await;
    assert_eq!(t["EndUserID"], w.contact);
    assert_eq!(t["TicketPriority"], "Medium");
    assert_eq!(t["TicketType"], "Request");
    assert_eq!(t["TicketImpact"], "NoImpact");
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_json_with_the_failing_field() {
    let atera = Atera::start().await;
    let w = atera.world().await;
    let (status, e) = atera
        .call(
            Method::POST,
            "/api/v3/tickets",
            Some(json!({"Description": "x", "CustomerID": w.company})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["errors"][0]["field"], "TicketTitle");
    assert!(e["message"].as_str().unwrap().contains("required"));

    let (status, e) = atera
        .call(
            Method::POST,
            "/api/v3/tickets",
            Some(json!({"TicketTitle": "x", "Description": "x", "CustomerID": w.company, "TicketPriority": "Urgent"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["errors"][0]["field"], "TicketPriority");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("Critical, High, Medium, Low")
    );

    // A rule from the core, named in Atera's field names.
    let (status, e) = atera
        .call(
            Method::POST,
            "/api/v3/tickets",
            Some(json!({"TicketTitle": "x", "Description": "x", "CustomerID": 999999})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["field"], "CustomerID");

    let (status, e) = atera
        .call(Method::GET, "/api/v3/tickets/424242", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(e["message"].is_string());
    let (status, e) = atera.call(Method::GET, "/api/v3/devices", None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "unknown endpoints answer in Atera's JSON too"
    );
    assert!(e["message"].as_str().unwrap().contains("/api/v3/devices"));

    let response = atera
        .client
        .post(format!("{}/api/v3/tickets", atera.server.base))
        .header("X-API-KEY", &atera.server.admin)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let response = atera
        .client
        .get(format!("{}/api/v3/tickets", atera.server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert!(body["message"].is_string());

    let response = atera
        .client
        .get(format!("{}/api/v3/tickets", atera.server.base))
        .bearer_auth(&atera.server.readonly)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "Bearer works as well");
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_page_with_absolute_links_and_filter_case_insensitively() {
    let atera = Atera::start().await;
    let w = atera.world().await;
    let other = atera
        .native(Method::POST, "/companies", json!({"name": "Globex"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut mine = Vec::new();
    for i in 0..5 {
        mine.push(
            atera
                .create(json!({"TicketTitle": format!("Acme {i}"), "Description": "x", "CustomerID": w.company}))
                .await,
        );
    }
    atera
        .create(json!({"TicketTitle": "Globex", "Description": "x", "CustomerID": other}))
        .await;

    let (status, first) = atera
        .call(
            Method::GET,
            &format!("/api/v3/tickets?ItemsInPage=2&CustomerID={}", w.company),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["totalItemCount"], 5);
    assert_eq!(first["totalPages"], 3);
    assert_eq!(first["page"], 1);
    assert_eq!(first["itemsInPage"], 2);
    assert_eq!(first["prevLink"], "");
    let mut seen: Vec<i64> = Vec::new();
    let mut page = first;
    loop {
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["TicketID"].as_i64().unwrap()),
        );
        let next = page["nextLink"].as_str().unwrap().to_owned();
        if next.is_empty() {
            break;
        }
        assert!(next.starts_with(&atera.server.base), "{next}");
        page = atera.call(Method::GET, &next, None).await.1;
    }
    mine.sort();
    mine.reverse();
    assert_eq!(seen, mine, "newest first, every ticket once");

    let (_, pending) = atera
        .call(Method::GET, "/api/v3/tickets?ticketStatus=Pending", None)
        .await;
    assert_eq!(pending["totalItemCount"], 0);
    let (_, nobodys) = atera
        .call(Method::GET, "/api/v3/tickets?TechnicianID=1", None)
        .await;
    assert_eq!(nobodys["totalItemCount"], 0);
    let (_, since) = atera
        .call(
            Method::GET,
            "/api/v3/tickets?DateFrom=2000-01-01&DateTo=2999-12-31T00:00:00Z",
            None,
        )
        .await;
    assert_eq!(since["totalItemCount"], 6);
    let (_, future) = atera
        .call(Method::GET, "/api/v3/tickets?dateFrom=2999-01-01", None)
        .await;
    assert_eq!(future["totalItemCount"], 0);
    let (status, e) = atera
        .call(Method::GET, "/api/v3/tickets?itemsInPage=51", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["errors"][0]["field"], "itemsInPage");
    let (status, e) = atera
        .call(Method::GET, "/api/v3/tickets?page=922337203685477580", None)
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "no overflow from page × itemsInPage"
    );
    assert_eq!(e["errors"][0]["field"], "page");
    let (status, e) = atera
        .call(Method::GET, "/api/v3/tickets?ticketStatus=Waiting", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("Open, Pending, Resolved, Closed")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn updates_follow_the_core_workflow_settings() {
    let atera = Atera::start().await;
    let w = atera.world().await;
    let id = atera
        .create(json!({"TicketTitle": "Server disk", "Description": "Nearly full.", "CustomerID": w.company}))
        .await;
    let path = format!("/api/v3/tickets/{id}");

    // Fixpoint assigns resource and role together unless the tenant has no roles.
    let (status, e) = atera
        .call(
            Method::PUT,
            &path,
            Some(json!({"TechnicianContactID": w.technician})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["errors"][0]["field"], "TechnicianContactID");
    atera
        .native(
            Method::PUT,
            "/workflow/settings",
            json!({"close_requires_resolved": true, "resource_without_role": true}),
        )
        .await;
    let (status, body) = atera
        .call(
            Method::POST,
            &path,
            Some(json!({"TechnicianEmail": "jane@msp.example", "TicketStatus": "Pending", "TicketPriority": "Critical"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"ActionID": id}));
    let (_, t) = atera.call(Method::GET, &path, None).await;
    assert_eq!(t["TicketStatus"], "Pending");
    assert_eq!(t["TicketPriority"], "Critical");
    assert_eq!(t["TechnicianFullName"], "Jane Tech");

    // Atera's rule, as the core's setting: not straight to Closed.
    let (status, e) = atera
        .call(Method::PUT, &path, Some(json!({"TicketStatus": "Closed"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["field"], "TicketStatus");
}

#[tokio::test(flavor = "multi_thread")]
async fn comments_in_both_shapes_and_work_hours_by_sla() {
    let atera = Atera::start().await;
    let w = atera.world().await;
    let id = atera
        .create(json!({"TicketTitle": "Backup failed", "Description": "Overnight job.", "EndUserID": w.contact}))
        .await;
    let comments = format!("/api/v3/tickets/{id}/comments");
    for body in [
        json!({"CommentText": "Looking into it.", "TechnicianCommentDetails": {"TechnicianId": w.technician, "IsInternal": true}}),
        json!({"CommentText": "Still failing here.", "EnduserCommentDetails": {"EnduserId": w.contact}}),
        json!({"Comment": "Rerun scheduled tonight.", "IsInternal": false}),
    ] {
        let (status, body) = atera.call(Method::POST, &comments, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, e) = atera
        .call(Method::POST, &comments, Some(json!({"IsInternal": true})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["errors"][0]["field"], "CommentText");

    let (_, page) = atera
        .call(Method::GET, &format!("{comments}?itemsInPage=2"), None)
        .await;
    assert_eq!(page["totalItemCount"], 3);
    assert_eq!(page["totalPages"], 2);
    let first = &page["items"][0];
    assert_eq!(first["Comment"], "Looking into it.");
    assert_eq!(first["IsInternal"], true);
    assert_eq!(first["CreatorName"], "Jane Tech");
    assert_eq!(page["items"][1]["CreatorName"], "John Smith");
    assert_eq!(page["items"][1]["IsInternal"], false);
    assert_eq!(page["items"][1]["EndUserID"], w.contact);
    assert_eq!(page["items"][1]["FirstName"], "John");
    assert_eq!(page["items"][1]["Email"], "john@acme.example");
    let (_, rest) = atera
        .call(Method::GET, page["nextLink"].as_str().unwrap(), None)
        .await;
    assert_eq!(rest["items"][0]["Comment"], "Rerun scheduled tonight.");

    // Time logged the way Node clients do it, and read back as Atera's durations.
    let work = format!("/api/v3/tickets/{id}/workhours");
    let (status, body) = atera
        .call(
            Method::POST,
            &work,
            Some(json!({"TechnicianContactID": w.technician, "Date": "2026-11-24", "StartTime": "16:00", "EndTime": "18:30", "Description": "Restored the job", "IsBillable": true})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = atera
        .call(
            Method::POST,
            &work,
            Some(json!({"TechnicianContactID": w.technician, "StartTime": "2026-11-25T10:00:00Z", "EndTime": "2026-11-25T10:30:00Z", "IsBillable": false})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, e) = atera
        .call(
            Method::POST,
            &work,
            Some(json!({"TechnicianContactID": w.technician, "StartTime": "soon"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["errors"][0]["field"], "StartTime");

    let (_, hours) = atera.call(Method::GET, &work, None).await;
    assert_eq!(hours["TicketID"], id);
    assert_eq!(hours["Billable"]["TotalDurationHours"], 2.5);
    assert_eq!(hours["NonBillable"]["TotalDurationHours"], 0.5);
    let on = hours["Billable"]["OnSLADurationHours"].as_f64().unwrap();
    let off = hours["Billable"]["OffSLADurationHours"].as_f64().unwrap();
    assert!(
        (on + off - 2.5).abs() < 0.011 && off > 0.0,
        "18:30 is after hours: {hours}"
    );

    let (_, billable) = atera
        .call(
            Method::GET,
            &format!("/api/v3/tickets/{id}/billableduration"),
            None,
        )
        .await;
    assert_eq!(billable["TicketId"], id);
    assert_eq!(billable["TotalDurationHours"], 2.5);
    let (_, non) = atera
        .call(
            Method::GET,
            &format!("/api/v3/tickets/{id}/nonbillableduration"),
            None,
        )
        .await;
    assert_eq!(non["TotalDurationHours"], 0.5);

    let (_, records) = atera
        .call(
            Method::GET,
            &format!("/api/v3/tickets/{id}/workhoursrecords"),
            None,
        )
        .await;
    assert_eq!(records["totalItemCount"], 2);
    let record = &records["items"][0];
    assert_eq!(record["Billiable"], true);
    assert_eq!(record["TechnicianFullName"], "Jane Tech");
    assert_eq!(record["StartWorkHour"], "2026-11-24T16:00:00Z");
    assert_eq!(record["EndWorkHour"], "2026-11-24T18:30:00Z");
    assert_eq!(record["Description"], "Restored the job");

    // The ticket carries its work and conversation too.
    let (_, t) = atera
        .call(Method::GET, &format!("/api/v3/tickets/{id}"), None)
        .await;
    assert_eq!(t["TotalDurationMinutes"], 180);
    assert_eq!(t["TotalDurationSeconds"], 10800);
    assert_eq!(
        t["OnSLADurationMinutes"].as_i64().unwrap() + t["OffSLADurationMinutes"].as_i64().unwrap(),
        180
    );
    assert_eq!(t["FirstComment"], "Looking into it.");
    assert_eq!(t["LastTechnicianComment"], "Rerun scheduled tonight.");
    assert_eq!(t["LastEndUserComment"], "Still failing here.");

    // On a page of tickets each carries its own work and conversation.
    let other = atera
        .create(json!({"TicketTitle": "Printer jam", "Description": "Floor 2.", "EndUserID": w.contact}))
        .await;
    let (status, body) = atera
        .call(
            Method::POST,
            &format!("/api/v3/tickets/{other}/comments"),
            Some(json!({"CommentText": "Cleared the tray.", "TechnicianCommentDetails": {"TechnicianId": w.technician, "IsInternal": false}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, page) = atera
        .call(
            Method::GET,
            &format!("/api/v3/tickets?CustomerID={}", w.company),
            None,
        )
        .await;
    let item = |ticket: i64| {
        page["items"]
            .as_array()
            .and_then(|items| items.iter().find(|t| t["TicketID"] == ticket))
            .unwrap_or_else(|| panic!("ticket {ticket} is not on the page: {page}"))
    };
    let (first, second) = (item(id), item(other));
    assert_eq!(first["TotalDurationMinutes"], 180);
    assert_eq!(first["FirstComment"], "Looking into it.");
    assert_eq!(first["LastEndUserComment"], "Still failing here.");
    assert_eq!(first["LastTechnicianComment"], "Rerun scheduled tonight.");
    assert_eq!(second["TotalDurationMinutes"], 0);
    assert_eq!(second["FirstComment"], "Cleared the tray.");
    assert_eq!(second["LastTechnicianComment"], "Cleared the tray.");
    assert_eq!(second["LastEndUserComment"], Value::Null);
    for t in [first, second] {
        assert_eq!(t["EndUserFirstName"], "John");
        assert!(t["CustomerName"].is_string(), "{t}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn customers_and_contacts_are_listed_found_and_created() {
    let atera = Atera::start().await;
    let w = atera.world().await;
    let (status, created) = atera
        .call(
            Method::POST,
            "/api/v3/customers",
            Some(json!({"CustomerName": "Initech", "Domain": "initech.example", "Phone": "+1 555 0199"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let initech = created["ActionID"].as_i64().unwrap();
    let (status, e) = atera
        .call(
            Method::POST,
            "/api/v3/customers",
            Some(json!({"Domain": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["errors"][0]["field"], "CustomerName");

    let (_, customers) = atera
        .call(Method::GET, "/api/v3/customers?ItemsInPage=1", None)
        .await;
    assert_eq!(customers["totalItemCount"], 2);
    assert_eq!(customers["totalPages"], 2);
    assert_eq!(customers["items"][0]["CustomerName"], "Acme Corporation");
    let (_, one) = atera
        .call(Method::GET, &format!("/api/v3/customers/{initech}"), None)
        .await;
    assert_eq!(one["CustomerID"], initech);
    assert_eq!(one["Domain"], "initech.example");
    let (status, _) = atera
        .call(Method::GET, "/api/v3/customers/999999", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, created) = atera
        .call(
            Method::POST,
            "/api/v3/contacts",
            Some(json!({"CustomerID": initech, "Firstname": "Peter", "Lastname": "Gibbons", "Email": "peter@initech.example", "Phone": "(555) 0142"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let peter = created["ActionID"].as_i64().unwrap();
    let (status, e) = atera
        .call(
            Method::POST,
            "/api/v3/contacts",
            Some(json!({"CustomerID": initech, "Lastname": "Nobody"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["field"], "Firstname");

    let (_, by_email) = atera
        .call(
            Method::GET,
            "/api/v3/contacts?searchOptions.email=PETER@initech.example",
            None,
        )
        .await;
    assert_eq!(by_email["totalItemCount"], 1);
    assert_eq!(by_email["items"][0]["EndUserID"], peter);
    assert_eq!(by_email["items"][0]["CustomerName"], "Initech");
    let (_, by_phone) = atera
        .call(
            Method::GET,
            "/api/v3/contacts?searchOptions.phone=5550142",
            None,
        )
        .await;
    assert_eq!(by_phone["items"][0]["Firstname"], "Peter");
    let (_, one) = atera
        .call(
            Method::GET,
            &format!("/api/v3/contacts/{}", w.contact),
            None,
        )
        .await;
    assert_eq!(one["Email"], "john@acme.example");
    assert_eq!(one["CustomerID"], w.company);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_over_its_limit_gets_429_with_retry_after() {
    let server = spawn(fixpoint_dialects::routes(&fixpoint_dialects::Settings {
        atera_requests_per_minute: 3,
        ..Default::default()
    }))
    .await;
    let client = Client::new();
    let get = |key: &str| {
        client
            .get(format!("{}/api/v3/tickets", server.base))
            .header("X-API-KEY", key)
            .send()
    };
    for _ in 0..3 {
        assert_eq!(get(&server.admin).await.unwrap().status(), StatusCode::OK);
    }
    let refused = get(&server.admin).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    let body: Value = refused.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("too many"));
    assert_eq!(
        get(&server.technician).await.unwrap().status(),
        StatusCode::OK,
        "another key has its own allowance"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tickets_are_deleted_and_feeds_follow_changes() {
    let atera = Atera::start().await;
    let w = atera.world().await;
    let gone = atera
        .create(json!({"TicketTitle": "Duplicate", "Description": "Opened twice.", "CustomerID": w.company}))
        .await;
    let kept = atera
        .create(json!({"TicketTitle": "Monitor flickers", "Description": "Desk 4.", "CustomerID": w.company}))
        .await;
    atera
        .call(
            Method::POST,
            &format!("/api/v3/tickets/{gone}/comments"),
            Some(json!({"Comment": "Same as the other one.", "IsInternal": true})),
        )
        .await;
    let (status, body) = atera
        .call(Method::DELETE, &format!("/api/v3/tickets/{gone}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = atera
        .call(Method::GET, &format!("/api/v3/tickets/{gone}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = atera
        .call(Method::DELETE, &format!("/api/v3/tickets/{gone}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Atera has no resolution text: under its profile none is asked for. Resolve the
    // other ticket and see it in the status feed; both feeds page like every list.
    let (status, e) = atera
        .call(
            Method::PUT,
            &format!("/api/v3/tickets/{kept}"),
            Some(json!({"TicketStatus": "Resolved"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the default profile asks for one"
    );
    assert_eq!(e["errors"][0]["field"], "TicketStatus");
    atera
        .native(
            Method::PUT,
            "/workflow/settings",
            json!(fixpoint_core::catalog::WorkflowSettings::profile("atera").unwrap()),
        )
        .await;
    let (status, body) = atera
        .call(
            Method::PUT,
            &format!("/api/v3/tickets/{kept}"),
            Some(json!({"TicketStatus": "Resolved"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, feed) = atera
        .call(Method::GET, "/api/v3/tickets/statusmodified", None)
        .await;
    assert_eq!(feed["totalItemCount"], 1);
    assert_eq!(feed["items"][0]["TicketID"], kept);
    assert_eq!(feed["items"][0]["TicketStatus"], "Resolved");
    assert!(feed["items"][0]["TicketResolvedDate"].is_string());
    let (_, recent) = atera
        .call(
            Method::GET,
            "/api/v3/tickets/lastmodified?date=2000-01-01&itemsInPage=1",
            None,
        )
        .await;
    assert_eq!(recent["totalItemCount"], 1);
    let (status, e) = atera
        .call(Method::GET, "/api/v3/tickets/lastmodified", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["errors"][0]["field"], "date");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_end_user_is_created_with_the_ticket_or_not_at_all() {
    let atera = Atera::start().await;
    let w = atera.world().await;
    // A rule fails after the contact was written: neither lands.
    let (status, e) = atera
        .call(
            Method::POST,
            "/api/v3/tickets",
            Some(json!({"TicketTitle": "Laptop", "Description": "Will not boot.", "CustomerID": w.company,
                "EndUserEmail": "grace@acme.example", "EndUserFirstName": "Grace", "EndUserLastName": "Hopper",
                "TechnicianContactID": 999999})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(
        grace_count(&atera).await,
        0,
        "the end user went with the refused ticket"
    );

    let (status, e) = atera
        .call(
            Method::POST,
            "/api/v3/tickets",
            Some(json!({"TicketTitle": "Laptop", "Description": "Will not boot.", "CustomerID": w.company,
                "EndUserEmail": "grace@acme.example"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["errors"][0]["field"], "EndUserFirstName");

    let id = atera
        .create(json!({"TicketTitle": "Laptop", "Description": "Will not boot.", "CustomerID": w.company,
            "EndUserEmail": "grace@acme.example", "EndUserFirstName": "Grace", "EndUserLastName": "Hopper",
            "EndUserPhone": "+1 555 0111"}))
        .await;
    assert_eq!(grace_count(&atera).await, 1);
    let (_, t) = atera
        .call(Method::GET, &format!("/api/v3/tickets/{id}"), None)
        .await;
    assert_eq!(t["EndUserFirstName"], "Grace");
    assert_eq!(t["EndUserPhone"], "+1 555 0111");
    // The next ticket for the same address finds her.
    let again = atera
        .create(json!({"TicketTitle": "Dock", "Description": "No video.", "EndUserEmail": "grace@acme.example"}))
        .await;
    let (_, t) = atera
        .call(Method::GET, &format!("/api/v3/tickets/{again}"), None)
        .await;
    assert!(t["EndUserID"].is_i64());
    assert_eq!(t["CustomerID"], w.company);
    assert_eq!(grace_count(&atera).await, 1);
}

async fn grace_count(atera: &Atera) -> Value {
    let path = "/api/v3/contacts?searchOptions.email=grace@acme.example";
    atera.call(Method::GET, path, None).await.1["totalItemCount"].clone()
}
