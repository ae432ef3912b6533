//! HaloPSA contract tests: the real server, the HaloPSA routes, SQLite (or PostgreSQL
//! with FIXPOINT_TEST_POSTGRES_URL).

use fixpoint_server::auth::{ApiClient, Role, create_api_client};
use fixpoint_server::testing::{TestServer, spawn};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

struct Halo {
    server: TestServer,
    credentials: ApiClient,
    token: String,
    client: Client,
}

/// A form-encoded body, as HaloPSA's token endpoint takes it.
trait Form {
    fn form_body(self, pairs: &[(&str, &str)]) -> Self;
}

impl Form for reqwest::RequestBuilder {
    fn form_body(self, pairs: &[(&str, &str)]) -> Self {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }
}

impl Halo {
    async fn start() -> Self {
        Self::with(Default::default(), Role::Technician).await
    }

    async fn with(settings: fixpoint_dialects::Settings, role: Role) -> Self {
        let server = spawn(fixpoint_dialects::routes(&settings)).await;
        let credentials = create_api_client(&server.store, "integration", role, None)
            .await
            .unwrap();
        let client = Client::new();
        // The switches of a HaloPSA shop: an agent is assigned without a role.
        let response = client
            .put(format!("{}/api/v1/workflow/settings", server.base))
            .bearer_auth(&server.admin)
            .json(&fixpoint_core::catalog::WorkflowSettings::profile("halopsa").unwrap())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        let token = Self::token_for(&client, &server.base, &credentials).await;
        Self {
            server,
            credentials,
            token,
            client,
        }
    }

    async fn token_for(client: &Client, base: &str, credentials: &ApiClient) -> String {
        let response = client
            .post(format!("{base}/auth/token"))
            .form_body(&[
                ("grant_type", "client_credentials"),
                ("client_id", credentials.client_id.as_str()),
                ("client_secret", credentials.secret.as_str()),
                ("scope", "all"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["scope"], "all");
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = response.text().await.unwrap();
        assert!(
            content_type.starts_with("application/json"),
            "{status}: {content_type}: {text}"
        );
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: not JSON: {text}"));
        (status, body)
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}/api{path}", self.server.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::send(request).await
    }

    async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, body) = self.call(method, path, body).await;
        assert!(status.is_success(), "{status}: {body}");
        body
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
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{status}: {body}");
        body
    }

    async fn client_named(&self, name: &str) -> i64 {
        let body = self
            .ok(Method::POST, "/Client", Some(json!([{"name": name}])))
            .await;
        body["id"].as_i64().unwrap()
    }

    async fn agent(&self, first: &str, last: &str) -> i64 {
        self.native(
            Method::POST,
            "/resources",
            json!({"first_name": first, "last_name": last, "email": format!("{first}@msp.example")}),
        )
        .await["id"]
            .as_i64()
            .unwrap()
    }

    async fn ticket(&self, client: i64, summary: &str) -> Value {
        self.ok(
            Method::POST,
            "/Tickets",
            Some(json!([{"summary": summary, "client_id": client, "tickettype_id": 1}])),
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_come_from_client_credentials_and_expire() {
    let halo = Halo::start().await;
    let base = &halo.server.base;
    // Wrong secret: 401 with both OAuth2 keys (a client indexes them).
    let (status, body) = Halo::send(halo.client.post(format!("{base}/auth/token")).form_body(&[
        ("grant_type", "client_credentials"),
        ("client_id", halo.credentials.client_id.as_str()),
        ("client_secret", "wrong"),
    ]))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("client_secret")
    );
    let (status, body) = Halo::send(
        halo.client
            .post(format!("{base}/auth/token"))
            .form_body(&[("grant_type", "password")]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
    // HTTP Basic credentials are the other standard way to send them.
    let (status, body) = Halo::send(
        halo.client
            .post(format!("{base}/auth/token"))
            .basic_auth(&halo.credentials.client_id, Some(&halo.credentials.secret))
            .form_body(&[("grant_type", "client_credentials")]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // No token, a made-up token, the API key of the native API: all 401, in JSON.
    for token in [None, Some("nonsense"), Some(halo.server.admin.as_str())] {
        let mut request = halo.client.get(format!("{base}/api/Status"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let (status, body) = Halo::send(request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(body["error"], "invalid_token");
        assert!(body["error_description"].is_string());
    }
    halo.ok(Method::GET, "/Status", None).await;
    halo.server
        .clock
        .advance(jiff::SignedDuration::from_secs(3601));
    let (status, body) = halo.call(Method::GET, "/Status", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_route_shadows_another() {
    let halo = Halo::start().await;
    // The native API and Atera's keep their own routes and their own 404s.
    let native = halo.native(Method::GET, "/statuses", json!(null)).await;
    assert!(native.is_array() || native.is_object());
    let response = halo
        .client
        .get(format!("{}/api/v1/nothing-here", halo.server.base))
        .bearer_auth(&halo.server.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let response = halo
        .client
        .get(format!("{}/api/v3/tickets", halo.server.base))
        .header("X-API-KEY", &halo.server.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // HaloPSA's names are case-insensitive; an unknown one is a JSON 404.
    let upper = halo.ok(Method::GET, "/STATUS", None).await;
    let lower = halo.ok(Method::GET, "/status", None).await;
    assert_eq!(upper, lower);
    let (status, body) = halo.call(Method::GET, "/Nothing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
    let (status, _) = halo.call(Method::PUT, "/Tickets", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test(flavor = "multi_thread")]
async fn halopsa_numbering_and_reference_lists() {
    let halo = Halo::start().await;
    let statuses = halo.ok(Method::GET, "/Status", None).await;
    let named = |list: &Value, id: i64| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .map(|s| s["name"].as_str().unwrap().to_owned())
    };
    assert_eq!(named(&statuses, 1).as_deref(), Some("New"));
    assert_eq!(named(&statuses, 2).as_deref(), Some("In Progress"));
    assert_eq!(named(&statuses, 8).as_deref(), Some("Resolved"));
    assert_eq!(named(&statuses, 9).as_deref(), Some("Complete"));
    let priorities = halo.ok(Method::GET, "/Priority", None).await;
    assert_eq!(named(&priorities, 1).as_deref(), Some("Critical"));
    assert_eq!(named(&priorities, 4).as_deref(), Some("Low"));
    let types = halo.ok(Method::GET, "/TicketType", None).await;
    assert_eq!(named(&types, 1).as_deref(), Some("Incident"));
    // With paging asked for, the envelope.
    let paged = halo
        .ok(
            Method::GET,
            "/Status?pageinate=true&page_size=3&page_no=2",
            None,
        )
        .await;
    assert_eq!(paged["statuses"].as_array().unwrap().len(), 3);
    assert!(paged["record_count"].as_i64().unwrap() >= 8);
    let one = halo.ok(Method::GET, "/Priority/2", None).await;
    assert_eq!(one["name"], "High");
    let (status, _) = halo.call(Method::GET, "/Priority/77", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Clients, sites and users: created, listed with filters, read back.
    let acme = halo.client_named("Acme").await;
    let globex = halo.client_named("Globex").await;
    let site = halo
        .ok(
            Method::POST,
            "/Site",
            Some(json!([{"name": "Head office", "client_id": acme}])),
        )
        .await;
    assert_eq!(site["sites"][0]["client_id"], acme);
    let user = halo
        .ok(
            Method::POST,
            "/Users",
            Some(json!([{"name": "Jo Bloggs", "site_id": site["id"], "emailaddress": "jo@acme.example"}])),
        )
        .await;
    assert_eq!(user["client_id"], acme, "the site's client");
    assert_eq!(user["firstname"], "Jo");
    assert_eq!(user["surname"], "Bloggs");
    let (status, body) = halo
        .call(
            Method::POST,
            "/Users",
            Some(json!([{"name": "No Client", "emailaddress": "not-an-email"}])),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["field"], "client_id");
    let (status, body) = halo
        .call(
            Method::POST,
            "/Users",
            Some(
                json!([{"name": "Bad Mail", "client_id": globex, "emailaddress": "not-an-email"}]),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["errors"][0]["field"], "emailaddress");
    let users = halo
        .ok(Method::GET, &format!("/Users?client_id={acme}"), None)
        .await;
    assert_eq!(users["record_count"], 1);
    assert_eq!(users["users"][0]["emailaddress"], "jo@acme.example");
    // A ticket at the site carries the site's name, read back alone and in a list.
    let at_site = halo
        .ok(
            Method::POST,
            "/Tickets",
            Some(json!([{"summary": "Printer jam", "client_id": acme, "site_id": site["id"], "tickettype_id": 1}])),
        )
        .await;
    assert_eq!(at_site["site_name"], "Head office");
    let listed = halo
        .ok(Method::GET, &format!("/Tickets?client_id={acme}"), None)
        .await;
    assert_eq!(listed["tickets"][0]["id"], at_site["id"], "{listed}");
    assert_eq!(listed["tickets"][0]["site_name"], "Head office");
    let clients = halo
        .ok(Method::GET, "/Client?search=glob&count=50", None)
        .await;
    assert_eq!(clients["record_count"], 1);
    assert_eq!(clients["clients"][0]["name"], "Globex");
    let renamed = halo
        .ok(
            Method::POST,
            "/Client",
            Some(json!([{"id": globex, "name": "Globex Corp"}])),
        )
        .await;
    assert_eq!(renamed["name"], "Globex Corp");
    assert_eq!(renamed["clients"][0]["id"], globex);

    // Agents and teams; /Agent/me is the client itself when it acts as nobody.
    let agent = halo.agent("ada", "Lovelace").await;
    let agents = halo.ok(Method::GET, "/Agent", None).await;
    assert!(agents.as_array().unwrap().iter().any(|a| a["id"] == agent));
    let me = halo.ok(Method::GET, "/Agent/me", None).await;
    assert_eq!(me["id"], 0);
    assert_eq!(me["name"], "integration");
    let teams = halo.ok(Method::GET, "/Team", None).await;
    assert!(teams.is_array());
    let queue_id = halo
        .native(Method::POST, "/queues", json!({"name": "Service Desk"}))
        .await["id"]
        .clone();
    let team = halo
        .ok(Method::GET, &format!("/Team/{queue_id}"), None)
        .await;
    assert_eq!(team["id"], queue_id);
    let user_id = user["id"].as_i64().unwrap();
    let one = halo
        .ok(Method::GET, &format!("/Users/{user_id}"), None)
        .await;
    assert_eq!(one["name"], "Jo Bloggs");
    // Sites of every client, or of one.
    halo.ok(
        Method::POST,
        "/Site",
        Some(json!([{"name": "Warehouse", "client_id": globex}])),
    )
    .await;
    let sites = halo.ok(Method::GET, "/Site", None).await;
    assert_eq!(sites["record_count"], 2);
    let sites = halo
        .ok(Method::GET, &format!("/Site?client_id={globex}"), None)
        .await;
    assert_eq!(sites["sites"][0]["name"], "Warehouse");

    // Categories are the values in use, by level.
    halo.ok(
        Method::POST,
        "/Tickets",
        Some(
            json!([{"summary": "Mail", "client_id": acme, "tickettype_id": 1,
                      "category_1": "Email", "category_2": "Outlook"}]),
        ),
    )
    .await;
    let categories = halo.ok(Method::GET, "/Category", None).await;
    let levels: Vec<(i64, &str)> = categories
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["type_id"].as_i64().unwrap(), c["value"].as_str().unwrap()))
        .collect();
    assert_eq!(levels, [(1, "Email"), (2, "Outlook")]);

    // An admin renumbers HaloPSA's priorities; the dialect follows.
    let response = halo
        .client
        .put(format!(
            "{}/api/v1/dialects/halopsa/codes/priority",
            halo.server.base
        ))
        .bearer_auth(&halo.server.admin)
        .json(&json!({"codes": [
            {"code": 10, "target_id": 1}, {"code": 20, "target_id": 2},
            {"code": 30, "target_id": 3}, {"code": 40, "target_id": 4},
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let priorities = halo.ok(Method::GET, "/Priority", None).await;
    assert_eq!(named(&priorities, 10).as_deref(), Some("Critical"));
    let (status, body) = halo
        .call(
            Method::POST,
            "/Tickets",
            Some(
                json!([{"summary": "x", "client_id": acme, "tickettype_id": 1, "priority_id": 1}]),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("10 (Critical)"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tickets_are_created_updated_listed_and_deleted_in_halopsas_shape() {
    let halo = Halo::start().await;
    // A Tuesday morning: the SLA clocks run from the start.
    halo.server
        .clock
        .set("2026-11-24T10:00:00Z".parse().unwrap());
    let acme = halo.client_named("Acme").await;
    let agent = halo.agent("grace", "Hopper").await;
    let created = halo
        .ok(
            Method::POST,
            "/Tickets",
            Some(json!([{
                "summary": "Outlook disconnected for the sales team",
                "details": "<p>Since 9am</p>",
                "client_id": acme, "tickettype_id": 1, "priority_id": 2,
                "category_1": "Email", "category_2": "Outlook",
                "customfields": [{"name": "Asset tag", "value": "LT-0042"}],
            }])),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        created["tickets"][0]["id"], id,
        "older clients read tickets[0]"
    );
    assert_eq!(created["status_id"], 1);
    assert_eq!(created["status_name"], "New");
    assert_eq!(created["priority_id"], 2);
    assert_eq!(created["priority_name"], "High");
    assert_eq!(created["client_name"], "Acme");
    assert_eq!(created["category_2"], "Outlook");
    assert_eq!(created["customfields"][0]["value"], "LT-0042");
    // SLA fields from the core's clock: High is 1 h response, 4 h resolution.
    assert!(created["respondbydate"].is_string());
    assert!(created["fixbydate"].is_string());
    assert_eq!(created["deadlinedate"], created["fixbydate"]);
    assert_eq!(created["slaresponsestate"], 1);
    assert_eq!(created["slahold"], false);
    let native = halo
        .native(Method::GET, &format!("/tickets/{id}"), json!(null))
        .await;
    assert_eq!(native["priority_id"], 2, "HaloPSA's 2 is High");
    assert_eq!(native["type_id"], 2, "HaloPSA's 1 is Incident");
    assert_eq!(native["categories"], json!(["Email", "Outlook"]));

    // Required fields and bad codes are 400 with the field named.
    for (record, field) in [
        (json!({"client_id": acme, "tickettype_id": 1}), "summary"),
        (json!({"summary": "x", "tickettype_id": 1}), "client_id"),
        (json!({"summary": "x", "client_id": acme}), "tickettype_id"),
        (
            json!({"summary": "x", "client_id": acme, "tickettype_id": 1, "priority_id": 42}),
            "priority_id",
        ),
        (
            json!({"summary": "x", "client_id": 999_999, "tickettype_id": 1}),
            "client_id",
        ),
    ] {
        let (status, body) = halo
            .call(Method::POST, "/Tickets", Some(json!([record])))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["errors"][0]["field"], field, "{body}");
        assert!(body["error_description"].as_str().unwrap().contains(field));
    }
    let (status, _) = halo.call(Method::POST, "/Tickets", Some(json!([]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = halo
        .call(Method::POST, "/Tickets", Some(json!("text")))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Update by id: status and agent; resolving needs a resolution (the core's rule).
    let updated = halo
        .ok(
            Method::POST,
            "/Tickets",
            Some(json!([{"id": id, "status_id": 2, "agent_id": agent}])),
        )
        .await;
    assert_eq!(updated["status_name"], "In Progress");
    assert_eq!(updated["agent_name"], "grace Hopper");
    assert_eq!(updated["category_1"], "Email", "untouched levels stay");
    let (status, body) = halo
        .call(
            Method::POST,
            "/Tickets",
            Some(json!([{"id": id, "status_id": 8}])),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["errors"][0]["field"], "resolution", "{body}");
    let resolved = halo
        .ok(
            Method::POST,
            "/Tickets",
            Some(json!([{"id": id, "status_id": 8, "resolution": "Rebuilt the profile"}])),
        )
        .await;
    assert_eq!(resolved["status_id"], 8);
    assert!(resolved["dateresolved"].is_string());

    // Several records in one array; lists with filters, paging and the total.
    for n in 0..4 {
        halo.ticket(acme, &format!("Printer {n} offline")).await;
    }
    let page = halo
        .ok(
            Method::GET,
            &format!("/Tickets?client_id={acme}&pageinate=true&page_size=2&page_no=2&order=id"),
            None,
        )
        .await;
    assert_eq!(page["record_count"], 5);
    let ids: Vec<i64> = page["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids[0] < ids[1]);
    let open = halo
        .ok(
            Method::GET,
            &format!("/Tickets?client_id={acme}&open_only=True"),
            None,
        )
        .await;
    assert_eq!(open["record_count"], 4, "the resolved one is not open");
    let not_open = halo
        .ok(
            Method::GET,
            &format!("/Tickets?client_id={acme}&open_only=False"),
            None,
        )
        .await;
    assert_eq!(not_open["record_count"], 5, "False is false");
    let searched = halo.ok(Method::GET, "/Tickets?search=outlook", None).await;
    assert_eq!(searched["record_count"], 1);
    assert_eq!(searched["tickets"][0]["id"], id);
    let capped = halo.ok(Method::GET, "/Tickets?count=3", None).await;
    assert_eq!(capped["tickets"].as_array().unwrap().len(), 3);
    assert_eq!(capped["record_count"], 5);
    let by_status = halo.ok(Method::GET, "/Tickets?status_id=8", None).await;
    assert_eq!(by_status["record_count"], 1);
    let ids_only = halo
        .ok(Method::GET, "/Tickets?ticketidonly=true", None)
        .await;
    let first = ids_only["tickets"][0].as_object().unwrap();
    let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "client_id",
            "client_name",
            "id",
            "lastincomingemail",
            "sla_id",
            "status_id"
        ]
    );
    let (status, body) = halo.call(Method::GET, "/Tickets?order=colour", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["field"], "order");
    halo.ok(Method::GET, "/Tickets?unheard_of=1", None).await;

    // Waiting on the client holds the SLA clock.
    let waiting = halo.ticket(acme, "Needs the client's password").await;
    let waiting = halo
        .ok(
            Method::POST,
            "/Tickets",
            Some(json!([{"id": waiting["id"], "status_id": 5}])),
        )
        .await;
    assert_eq!(waiting["status_name"], "Waiting Customer");
    assert_eq!(waiting["onhold"], true);
    assert_eq!(waiting["slahold"], true);
    assert_eq!(waiting["slaresolutionstate"], 2);

    // Get, delete (an admin's), 404 after.
    let got = halo.ok(Method::GET, &format!("/Tickets/{id}"), None).await;
    assert_eq!(got["summary"], "Outlook disconnected for the sales team");
    let (status, _) = halo
        .call(Method::DELETE, &format!("/Tickets/{id}"), None)
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a technician's client may not delete"
    );
    let admin = create_api_client(&halo.server.store, "admin tool", Role::Admin, None)
        .await
        .unwrap();
    let admin_token = Halo::token_for(&halo.client, &halo.server.base, &admin).await;
    let (status, body) = Halo::send(
        halo.client
            .delete(format!("{}/api/Tickets/{id}", halo.server.base))
            .bearer_auth(&admin_token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({}));
    let (status, body) = halo
        .call(Method::GET, &format!("/Tickets/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
}

#[tokio::test(flavor = "multi_thread")]
async fn actions_are_notes_with_their_time() {
    let halo = Halo::start().await;
    let acme = halo.client_named("Acme").await;
    let agent = halo.agent("linus", "T").await;
    let ticket = halo.ticket(acme, "VPN drops").await;
    let id = ticket["id"].as_i64().unwrap();

    let (status, body) = halo
        .call(
            Method::POST,
            "/Actions",
            Some(json!([{"ticket_id": id, "note": "no outcome"}])),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["field"], "outcome");
    let (status, body) = halo
        .call(
            Method::POST,
            "/Actions",
            Some(json!([{"ticket_id": id, "outcome": "Work", "timetaken": 0.5}])),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "nobody to log the time for"
    );
    assert_eq!(body["errors"][0]["field"], "agent_id");

    let private = halo
        .ok(
            Method::POST,
            "/Actions",
            Some(json!([{"ticket_id": id, "outcome": "Investigation", "note": "Firmware bug", "hiddenfromuser": true}])),
        )
        .await;
    assert_eq!(private["actions"][0]["id"], private["id"]);
    assert_eq!(private["hiddenfromuser"], true);
    let public = halo
        .ok(
            Method::POST,
            "/Actions",
            Some(json!([{"ticket_id": id, "outcome": "Customer Update", "note": "Fix tonight",
                          "hiddenfromuser": false, "timetaken": 0.5, "agent_id": agent, "actiontype_id": 2}])),
        )
        .await;
    assert_eq!(public["timetaken"], 0.5);
    assert_eq!(public["actionchargehours"], 0.5);
    assert_eq!(public["actiontype_id"], 2);
    let time = halo
        .native(
            Method::GET,
            &format!("/tickets/{id}/time-entries"),
            json!(null),
        )
        .await;
    let entries = time["items"]
        .as_array()
        .or(time.as_array())
        .unwrap()
        .clone();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["minutes"], 30);
    assert_eq!(entries[0]["note_id"], public["id"]);
    let ticket = halo.ok(Method::GET, &format!("/Tickets/{id}"), None).await;
    assert_eq!(ticket["timetaken"], 0.5);
    assert!(
        ticket["responsedate"].is_string(),
        "the public note answered the client"
    );

    // Non-billable time; lists with filters; get with and without the ticket.
    halo.ok(
        Method::POST,
        "/Actions",
        Some(json!([{"ticket_id": id, "outcome": "Travel", "actionnonchargehours": 1.25, "agent_id": agent}])),
    )
    .await;
    let all = halo
        .ok(Method::GET, &format!("/Actions?ticket_id={id}"), None)
        .await;
    assert_eq!(all["record_count"], 3);
    let outcomes: Vec<&str> = all["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["Investigation", "Customer Update", "Travel"],
        "oldest first"
    );
    let nested = halo
        .ok(Method::GET, &format!("/Tickets/{id}/Actions"), None)
        .await;
    assert_eq!(nested, all);
    let public_only = halo
        .ok(
            Method::GET,
            &format!("/Actions?ticket_id={id}&excludeprivate=true"),
            None,
        )
        .await;
    assert_eq!(public_only["record_count"], 1);
    let one = halo
        .ok(
            Method::GET,
            &format!("/Actions/{}?ticket_id={id}", public["id"]),
            None,
        )
        .await;
    assert_eq!(one["note"], "Fix tonight");
    let (status, _) = halo
        .call(
            Method::GET,
            &format!("/Actions/{}?ticket_id={}", public["id"], id + 1000),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let ticket = halo.ok(Method::GET, &format!("/Tickets/{id}"), None).await;
    assert_eq!(ticket["timetaken"], 1.75);
    assert_eq!(ticket["chargeabletime"], 0.5);
    assert_eq!(ticket["nonchargeabletime"], 1.25);
    let (status, _) = halo.call(Method::GET, "/Actions", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // An update edits the note and its time; new_status moves the ticket.
    let edited = halo
        .ok(
            Method::POST,
            "/Actions",
            Some(json!([{"id": public["id"], "note": "Fix tomorrow", "timetaken": 1, "new_status": 2}])),
        )
        .await;
    assert_eq!(edited["note"], "Fix tomorrow");
    assert_eq!(edited["timetaken"], 1.0);
    let ticket = halo.ok(Method::GET, &format!("/Tickets/{id}"), None).await;
    assert_eq!(ticket["status_id"], 2);

    // Delete takes the time with it.
    let deleted = halo
        .ok(Method::DELETE, &format!("/Actions/{}", public["id"]), None)
        .await;
    assert_eq!(deleted, json!({}));
    let ticket = halo.ok(Method::GET, &format!("/Tickets/{id}"), None).await;
    assert_eq!(ticket["timetaken"], 1.25);
    let with_actions = halo
        .ok(
            Method::GET,
            &format!("/Tickets/{id}?includeactions=true"),
            None,
        )
        .await;
    assert_eq!(with_actions["actions"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn attachments_go_up_as_base64_and_come_back_in_both_apis() {
    use base64::Engine as _;
    let halo = Halo::start().await;
    let acme = halo.client_named("Acme").await;
    let id = halo.ticket(acme, "Screen flickers").await["id"]
        .as_i64()
        .unwrap();
    let png = [0x89u8, b'P', b'N', b'G', 0, 1, 2, 255];
    let encoded = base64::engine::general_purpose::STANDARD.encode(png);
    let uploaded = halo
        .ok(
            Method::POST,
            "/Attachment",
            Some(json!([{"filename": "screen.png", "ticket_id": id, "data_base64": encoded}])),
        )
        .await;
    assert_eq!(uploaded["contenttype"], "image/png");
    assert_eq!(uploaded["filesize"], 8);
    assert_eq!(uploaded["isimage"], true);
    let listed = halo
        .ok(Method::GET, &format!("/Attachment?ticket_id={id}"), None)
        .await;
    assert_eq!(listed["record_count"], 1);
    let got = halo
        .ok(
            Method::GET,
            &format!("/Attachment/{}", uploaded["id"]),
            None,
        )
        .await;
    assert_eq!(got["data_base64"], encoded);

    // The native API serves the same file as bytes, never to be sniffed.
    let response = halo
        .client
        .get(format!(
            "{}/api/v1/tickets/{id}/attachments/{}",
            halo.server.base, uploaded["id"]
        ))
        .bearer_auth(&halo.server.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("screen.png")
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), png);
    // Another ticket's path does not reach the file; a read-only key cannot attach.
    let response = halo
        .client
        .get(format!(
            "{}/api/v1/tickets/{}/attachments/{}",
            halo.server.base,
            id + 1,
            uploaded["id"]
        ))
        .bearer_auth(&halo.server.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = halo
        .client
        .post(format!(
            "{}/api/v1/tickets/{id}/attachments?filename=x.txt",
            halo.server.base
        ))
        .bearer_auth(&halo.server.readonly)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Uploaded natively, listed by the dialect.
    let response = halo
        .client
        .post(format!(
            "{}/api/v1/tickets/{id}/attachments?filename=notes.txt",
            halo.server.base
        ))
        .bearer_auth(&halo.server.technician)
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let listed = halo
        .ok(Method::GET, &format!("/Attachment?ticket_id={id}"), None)
        .await;
    assert_eq!(listed["attachments"][1]["contenttype"], "text/plain");

    for (record, field) in [
        (
            json!({"filename": "a.txt", "ticket_id": id, "data_base64": "%%%"}),
            "data_base64",
        ),
        (
            json!({"filename": "../a.txt", "ticket_id": id, "data_base64": ""}),
            "filename",
        ),
        (json!({"filename": "a.txt", "data_base64": ""}), "ticket_id"),
    ] {
        let (status, body) = halo
            .call(Method::POST, "/Attachment", Some(json!([record])))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["errors"][0]["field"], field);
    }
    // Past the limit: 413, named, nothing stored.
    let big = base64::engine::general_purpose::STANDARD.encode(vec![
        0u8;
        fixpoint_core::attachment::ATTACHMENT_BYTES_MAX
            + 1
    ]);
    let (status, body) = halo
        .call(
            Method::POST,
            "/Attachment",
            Some(json!([{"filename": "big.bin", "ticket_id": id, "data_base64": big}])),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let listed = halo
        .ok(Method::GET, &format!("/Attachment?ticket_id={id}"), None)
        .await;
    assert_eq!(listed["record_count"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_check_finds_similar_open_tickets() {
    let halo = Halo::start().await;
    let acme = halo.client_named("Acme").await;
    let globex = halo.client_named("Globex").await;
    let first = halo.ticket(acme, "Email not working for sales").await;
    halo.ticket(acme, "Printer jammed").await;
    halo.ticket(globex, "Email not working").await;
    let similar = halo
        .native(
            Method::GET,
            &format!("/tickets/similar?company_id={acme}&title=email%20not%20working"),
            json!(null),
        )
        .await;
    let items = similar["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "only this client's, only alike: {similar}");
    assert_eq!(items[0]["id"], first["id"]);
    assert!(items[0]["similarity"].as_f64().unwrap() > 0.5);

    let (status, body) = halo
        .call(
            Method::POST,
            "/Tickets",
            Some(json!([{"summary": "Email not working", "client_id": acme, "tickettype_id": 1, "check_duplicates": true}])),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "duplicate");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains(&first["id"].to_string())
    );
    let opened = halo
        .ok(
            Method::POST,
            "/Tickets",
            Some(json!([{"summary": "Email not working", "client_id": acme, "tickettype_id": 1, "check_duplicates": false}])),
        )
        .await;
    assert!(opened["id"].as_i64().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_over_its_limit_gets_429_with_retry_after() {
    let halo = Halo::with(
        fixpoint_dialects::Settings {
            halopsa_requests_per_window: 3,
            ..Default::default()
        },
        Role::Technician,
    )
    .await;
    for _ in 0..3 {
        halo.ok(Method::GET, "/Status", None).await;
    }
    let response = halo
        .client
        .get(format!("{}/api/Status", halo.server.base))
        .bearer_auth(&halo.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=180).contains(&retry));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
}
