//! Autotask REST contract tests: the real server, the Autotask routes, SQLite (or
//! PostgreSQL with FIXPOINT_TEST_POSTGRES_URL).

use std::io::Write as _;

use fixpoint_server::auth::{ApiUser, Role, create_api_user};
use fixpoint_server::testing::{TestServer, spawn};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

struct Autotask {
    server: TestServer,
    user: ApiUser,
    client: Client,
}

impl Autotask {
    async fn start() -> Self {
        Self::with(Default::default()).await
    }

    async fn with(settings: fixpoint_dialects::Settings) -> Self {
        let server = spawn(fixpoint_dialects::routes(&settings)).await;
        let user = create_api_user(&server.store, "integration", Role::Technician)
            .await
            .unwrap();
        Self {
            server,
            user,
            client: Client::new(),
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}/ATServicesRest/V1.0{path}", self.server.base)
        };
        self.client
            .request(method, url)
            .header("ApiIntegrationcode", &self.user.integration_code)
            .header("UserName", &self.user.username)
            .header("Secret", &self.user.secret)
    }

    async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: not JSON: {text}"));
        (status, body)
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::send(request).await
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
        assert!(response.status().is_success(), "{}", response.status());
        response.json().await.unwrap()
    }

    /// `GET {path}`'s `item` (null for an unknown id).
    async fn item(&self, path: &str) -> Value {
        let (status, mut body) = self.call(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["item"].take()
    }

    /// A record made through the dialect: its `itemId`.
    async fn created(&self, path: &str, body: Value) -> i64 {
        let (status, body) = self.call(Method::POST, path, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["itemId"].as_i64().unwrap()
    }

    /// A technician made in the native API (Autotask does not create resources).
    async fn resource(&self, first: &str, last: &str, email: &str) -> i64 {
        self.native(
            Method::POST,
            "/resources",
            json!({"first_name": first, "last_name": last, "email": email}),
        )
        .await["id"]
            .as_i64()
            .unwrap()
    }

    async fn company(&self, name: &str) -> i64 {
        self.created("/Companies", json!({"companyName": name}))
            .await
    }

    async fn ticket(&self, company: i64, title: &str, priority: i64) -> i64 {
        self.created(
            "/Tickets",
            json!({"companyID": company, "title": title, "priority": priority}),
        )
        .await
    }
}

/// A field's picklist in an `entityInformation/fields` answer.
fn picklist(fields: &Value, name: &str) -> Vec<Value> {
    let field = fields["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no field {name}"));
    field["picklistValues"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_are_the_three_headers_of_an_api_user() {
    let at = Autotask::start().await;
    let (status, zone) = Autotask::send(at.client.get(format!(
        "{}/atservicesrest/v1.0/zoneInformation?user=x",
        at.server.base
    )))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        zone["url"],
        json!(format!("{}/ATServicesRest/", at.server.base))
    );
    let (status, body) = Autotask::send(
        at.client
            .get(format!("{}/ATServicesRest/V1.0/Tickets/1", at.server.base))
            .header("UserName", &at.user.username)
            .header("Secret", "wrong")
            .header("ApiIntegrationcode", &at.user.integration_code),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["errors"][0].as_str().unwrap().contains("Secret"));
    let (status, body) = at.call(Method::GET, "/Tickets/424242", None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"item": null})));
    let (status, body) = at.call(Method::GET, "/ThresholdInformation", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["externalRequestThreshold"], 10_000);
    assert!(body["currentTimeframeRequestCount"].as_u64().unwrap() >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn paths_and_keys_are_case_insensitive_and_bodies_may_be_gzipped() {
    let at = Autotask::start().await;
    let company = at.company("Fabrikam").await;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(
        json!({"CompanyId": company, "Title": "Gzipped"})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let (status, body) = Autotask::send(
        at.request(
            Method::POST,
            &format!("{}/atservicesrest/v1.0/tickets", at.server.base),
        )
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "gzip")
        .body(gz.finish().unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["id"].as_i64().unwrap();
    let (_, got) = at.call(Method::GET, &format!("/TICKETS/{id}"), None).await;
    assert_eq!(got["item"]["title"], "Gzipped");
    assert_eq!(got["item"]["status"], 1, "New by default");
    assert_eq!(got["item"]["priority"], 2, "Medium by default");
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_translate_names_codes_and_aliases_and_page_both_ways() {
    let at = Autotask::start().await;
    let company = at.company("Northwind").await;
    let other = at.company("Elsewhere").await;
    let mut critical = Vec::new();
    for i in 0..7 {
        let id = at.ticket(company, &format!("Server down {i}"), 4).await;
        critical.push(id);
        at.ticket(company, &format!("Mouse {i}"), 1).await;
    }
    at.ticket(other, "Server down elsewhere", 4).await;
    let filter = json!([
        {"op": "eq", "field": "companyid", "value": company.to_string()},
        {"op": "or", "items": [
            {"op": "eq", "field": "Priority", "value": 4},
            {"op": "beginsWith", "field": "title", "value": "nothing"}
        ]},
        {"op": "ne", "field": "status", "value": 5},
        {"op": "eq", "field": "contactID", "value": null}
    ]);
    let (status, first) = at
        .call(
            Method::POST,
            "/Tickets/query",
            Some(json!({"Filter": filter, "maxRecords": 3, "IncludeFields": ["title"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let ids = |page: &Value| -> Vec<i64> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&first), critical[..3]);
    assert_eq!(
        first["items"][0].as_object().unwrap().len(),
        2,
        "IncludeFields keeps id and title"
    );
    assert!(first["pageDetails"]["prevPageUrl"].is_null());
    let next = first["pageDetails"]["nextPageUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, second) = at.call(Method::GET, &next, None).await;
    assert_eq!(ids(&second), critical[3..6]);
    let prev = second["pageDetails"]["prevPageUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, back) = at.call(Method::POST, &prev, None).await;
    assert_eq!(
        ids(&back),
        critical[..3],
        "prevPageUrl returns to the first page"
    );
    let next = second["pageDetails"]["nextPageUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, last) = at.call(Method::GET, &next, None).await;
    assert_eq!(ids(&last), critical[6..]);
    assert!(last["pageDetails"]["nextPageUrl"].is_null());

    let search = serde_json::to_string(&json!({"filter": filter})).unwrap();
    let url = format!(
        "/Tickets/query/count?search={}",
        form_urlencoded::byte_serialize(search.as_bytes()).collect::<String>()
    );
    let (_, count) = at.call(Method::GET, &url, None).await;
    assert_eq!(count, json!({"queryCount": 7}));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_queries_and_writes_are_400_naming_the_field() {
    let at = Autotask::start().await;
    let company = at.company("Tailspin").await;
    let cases = [
        (
            json!({"filter": [{"op": "eq", "field": "colour", "value": 1}]}),
            "colour",
        ),
        (
            json!({"filter": [{"op": "sortOf", "field": "title", "value": "x"}]}),
            "filter[0].op",
        ),
        (
            json!({"filter": [{"op": "eq", "field": "id", "value": "abc"}]}),
            "filter[0].value",
        ),
        (json!({"filter": [], "MaxRecords": 501}), "MaxRecords"),
        (
            json!({"filter": [{"op": "eq", "field": "serviceLevelAgreementHasBeenMet", "value": true}]}),
            "computed",
        ),
    ];
    for (query, named) in cases {
        let (status, body) = at.call(Method::POST, "/Tickets/query", Some(query)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let message = body["errors"][0].as_str().unwrap();
        assert!(message.contains(named), "{message} should name {named}");
    }
    let (status, body) = at
        .call(
            Method::POST,
            "/Tickets",
            Some(json!({"title": "No company"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"][0].as_str().unwrap().starts_with("companyID"));
    let id = at.ticket(company, "To complete", 2).await;
    let (status, body) = at
        .call(
            Method::PATCH,
            "/Tickets",
            Some(json!({"id": id, "status": 5})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["errors"].to_string().contains("resolution"),
        "completing needs a resolution: {body}"
    );
    let (status, _) = at
        .call(
            Method::PATCH,
            "/Tickets",
            Some(json!({"id": id, "status": 5, "resolution": "Fixed"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let native = at
        .native(Method::GET, &format!("/tickets/{id}"), json!(null))
        .await;
    assert_eq!(native["status_id"], 10, "Autotask 5 is Fixpoint's Complete");
    let (status, body) = at
        .call(Method::DELETE, &format!("/Tickets/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    let (status, _) = at.call(Method::GET, "/Gadgets/1", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A forged paging token cannot lift MaxRecords (u64::MAX + 1 overflowed).
    let token = json!({"f": [], "m": u64::MAX, "a": 0}).to_string();
    let url = format!(
        "/Tickets/query/next?paging={}",
        form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
    );
    let (status, body) = at.call(Method::GET, &url, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["errors"][0].as_str().unwrap().starts_with("paging"));
    // Absurd hours reach the core's rule (and no overflow) and come back by Autotask's name.
    let (status, body) = at
        .call(
            Method::POST,
            "/TimeEntries",
            Some(json!({"ticketID": id, "resourceID": 1, "hoursWorked": 1e30})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["errors"].to_string().contains("hoursWorked"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn children_live_under_their_parents() {
    let at = Autotask::start().await;
    let company = at.company("Litware").await;
    let (status, contact) = at
        .call(
            Method::POST,
            &format!("/Companies/{company}/Contacts"),
            Some(json!({"firstName": "Ann", "lastName": "Oh", "emailAddress": "ann@litware.example"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{contact}");
    let ticket = at.ticket(company, "VPN", 3).await;
    for path in ["Notes", "TicketNotes"] {
        let (status, body) = at
            .call(
                Method::POST,
                &format!("/Tickets/{ticket}/{path}"),
                Some(json!({"description": format!("via {path}")})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, notes) = at
        .call(Method::GET, &format!("/Tickets/{ticket}/Notes"), None)
        .await;
    assert_eq!(notes["items"].as_array().unwrap().len(), 2);
    assert_eq!(notes["items"][0]["publish"], 2, "internal unless published");
    let (_, found) = at
        .call(
            Method::POST,
            "/TicketNotes/query",
            Some(json!({"filter": [{"op": "contains", "field": "description", "value": "TICKETNOTES"}]})),
        )
        .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    let (_, contacts) = at
        .call(
            Method::POST,
            "/Contacts/query",
            Some(json!({"filter": [{"op": "eq", "field": "isActive", "value": 1}, {"op": "eq", "field": "companyID", "value": company}]})),
        )
        .await;
    assert_eq!(contacts["items"][0]["emailAddress"], "ann@litware.example");
    let (_, history) = at
        .call(
            Method::POST,
            "/TicketHistory/query",
            Some(json!({"filter": [{"op": "eq", "field": "ticketID", "value": ticket}]})),
        )
        .await;
    assert!(!history["items"].as_array().unwrap().is_empty());
    let (_, fields) = at
        .call(Method::GET, "/Tickets/entityInformation/fields", None)
        .await;
    assert!(
        picklist(&fields, "priority")
            .iter()
            .any(|p| p["value"] == "4" && p["label"] == "Critical")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn over_the_threshold_is_429_with_retry_after() {
    let at = Autotask::with(fixpoint_dialects::Settings {
        autotask_requests_per_hour: 2,
        ..Default::default()
    })
    .await;
    for _ in 0..2 {
        let (status, _) = at.call(Method::GET, "/Version", None).await;
        assert_eq!(status, StatusCode::OK);
    }
    let response = at.request(Method::GET, "/Version").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread")]
async fn ticket_categories_are_listed_and_their_queue_rule_holds() {
    let at = Autotask::start().await;
    let company = at.company("Northwind").await;
    let queue = at
        .native(Method::POST, "/queues", json!({"name": "Monitoring"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let alerts = at
        .native(
            Method::POST,
            "/ticket-categories",
            json!({"name": "Monitoring Alert", "queue_requirement": "when_no_resource",
                   "default_priority_id": 2}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let (status, categories) = at
        .call(
            Method::POST,
            "/TicketCategories/query",
            Some(json!({"filter": [{"op": "eq", "field": "isActive", "value": true}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{categories}");
    let names: Vec<&str> = categories["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Standard", "Monitoring Alert"]);
    assert_eq!(categories["items"][0]["isGlobalDefault"], true);
    let (_, one) = at
        .call(Method::GET, &format!("/TicketCategories/{alerts}"), None)
        .await;
    assert_eq!(one["item"]["name"], "Monitoring Alert");
    let (status, _) = at
        .call(
            Method::POST,
            "/TicketCategories",
            Some(json!({"name": "From a script"})),
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    let (status, refused) = at
        .call(
            Method::POST,
            "/Tickets",
            Some(json!({"companyID": company, "title": "CPU high", "ticketCategory": alerts})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = refused["errors"][0].as_str().unwrap();
    assert!(message.contains("queueID"), "{message}");
    let (status, created) = at
        .call(
            Method::POST,
            "/Tickets",
            Some(
                json!({"companyID": company, "title": "CPU high", "ticketCategory": alerts,
                        "queueID": queue}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let (_, ticket) = at
        .call(
            Method::GET,
            &format!("/Tickets/{}", created["itemId"]),
            None,
        )
        .await;
    assert_eq!(ticket["item"]["ticketCategory"], alerts);
    assert_eq!(
        ticket["item"]["priority"], 3,
        "High from the category, in Autotask's numbers"
    );
    let (_, in_category) = at
        .call(
            Method::POST,
            "/Tickets/query/count",
            Some(json!({"filter": [{"op": "eq", "field": "ticketcategory", "value": alerts}]})),
        )
        .await;
    assert_eq!(in_category["queryCount"], 1);
    let (_, fields) = at
        .call(Method::GET, "/Tickets/entityInformation/fields", None)
        .await;
    let category = fields["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "ticketCategory")
        .unwrap();
    assert_eq!(category["isPickList"], true);
    assert_eq!(category["picklistValues"][0]["isDefaultValue"], true);
    assert_eq!(category["picklistValues"][1]["label"], "Monitoring Alert");
}

#[tokio::test(flavor = "multi_thread")]
async fn notes_time_and_contracts_are_corrected_and_time_withdrawn() {
    let at = Autotask::start().await;
    let company = at.company("Contoso").await;
    let ticket = at.ticket(company, "Printer jam", 2).await;
    let other = at.ticket(company, "Scanner", 2).await;
    let tech = at.resource("Sam", "Tech", "sam@msp.example").await;

    let (_, note) = at
        .call(
            Method::POST,
            &format!("/Tickets/{ticket}/Notes"),
            Some(json!({"title": "Call", "description": "Called the client"})),
        )
        .await;
    let note = note["itemId"].as_i64().unwrap();
    let (status, body) = at
        .call(
            Method::PATCH,
            &format!("/Tickets/{ticket}/Notes"),
            Some(json!({"id": note, "description": "Called the client back", "publish": 1})),
        )
        .await;
    assert_eq!(
        (status, &body["itemId"]),
        (StatusCode::OK, &json!(note)),
        "{body}"
    );
    let read = at.item(&format!("/TicketNotes/{note}")).await;
    assert_eq!(read["description"], "Called the client back");
    assert_eq!(read["publish"], 1);
    assert_eq!(read["title"], "Call", "PATCH keeps what is not given");
    let (status, _) = at
        .call(
            Method::PUT,
            &format!("/TicketNotes/{note}"),
            Some(json!({"description": "Replaced"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let read = at.item(&format!("/TicketNotes/{note}")).await;
    assert!(read["title"].is_null(), "PUT clears what is not given");
    let (status, body) = at
        .call(
            Method::PATCH,
            "/TicketNotes",
            Some(json!({"id": note, "description": null})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["errors"][0].as_str().unwrap().contains("description"),
        "{body}"
    );
    let (status, body) = at
        .call(
            Method::PATCH,
            "/TicketNotes",
            Some(json!({"id": note, "ticketID": other, "description": "moved"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["errors"][0].as_str().unwrap().contains("ticketID"),
        "{body}"
    );
    let (status, _) = at
        .call(
            Method::PATCH,
            &format!("/Tickets/{other}/Notes/{note}"),
            Some(json!({"description": "elsewhere"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the note is not under that ticket"
    );
    let (status, _) = at
        .call(Method::DELETE, &format!("/TicketNotes/{note}"), None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "notes stay");

    let (status, entry) = at
        .call(
            Method::POST,
            &format!("/Tickets/{ticket}/TimeEntries"),
            Some(json!({"resourceID": tech, "startDateTime": "2026-11-23T09:00:00Z", "endDateTime": "2026-11-23T10:30:00Z", "summaryNotes": "Cleared the jam"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{entry}");
    let entry = entry["itemId"].as_i64().unwrap();
    let (status, body) = at
        .call(
            Method::PATCH,
            &format!("/TimeEntries/{entry}"),
            Some(json!({"endDateTime": "2026-11-23T11:00:00Z", "isNonBillable": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let read = at.item(&format!("/TimeEntries/{entry}")).await;
    assert_eq!(read["hoursWorked"], 2.0, "recounted from the new range");
    assert_eq!(read["hoursToBill"], 0.0);
    assert_eq!(read["summaryNotes"], "Cleared the jam");
    let (status, body) = at
        .call(
            Method::PATCH,
            &format!("/TimeEntries/{entry}"),
            Some(json!({"endDateTime": "2026-11-23T08:00:00Z"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = at
        .call(
            Method::DELETE,
            &format!("/Tickets/{other}/TimeEntries/{entry}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = at
        .call(
            Method::DELETE,
            &format!("/Tickets/{ticket}/TimeEntries/{entry}"),
            None,
        )
        .await;
    assert_eq!(
        (status, &body["itemId"]),
        (StatusCode::OK, &json!(entry)),
        "{body}"
    );
    let read = at.item(&format!("/TimeEntries/{entry}")).await;
    assert!(read.is_null());
    let (status, _) = at
        .call(Method::DELETE, &format!("/TimeEntries/{entry}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "gone once");
    let (_, history) = at
        .call(
            Method::POST,
            "/TicketHistory/query",
            Some(json!({"filter": [{"op": "eq", "field": "ticketID", "value": ticket}]})),
        )
        .await;
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    for action in ["note_edited", "time_edited", "time_deleted"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }

    let (_, contract) = at
        .call(
            Method::POST,
            "/Contracts",
            Some(json!({"companyID": company, "contractName": "Managed services"})),
        )
        .await;
    let contract = contract["itemId"].as_i64().unwrap();
    let (_, slas) = at
        .call(
            Method::POST,
            "/ServiceLevelAgreements/query",
            Some(json!({"filter": [{"op": "gte", "field": "id", "value": 0}]})),
        )
        .await;
    let sla = slas["items"][1]["id"].as_i64().unwrap();
    let (status, body) = at
        .call(
            Method::PATCH,
            "/Contracts",
            Some(json!({"id": contract, "contractName": "Managed services Gold", "serviceLevelAgreementID": sla, "status": 0})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let read = at.item(&format!("/Contracts/{contract}")).await;
    assert_eq!(read["contractName"], "Managed services Gold");
    assert_eq!(read["serviceLevelAgreementID"], sla);
    assert_eq!(read["status"], 0);
    let (status, body) = at
        .call(
            Method::PATCH,
            "/Contracts",
            Some(json!({"id": contract, "serviceLevelAgreementID": 999})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .contains("serviceLevelAgreementID"),
        "{body}"
    );
    let (_, info) = at
        .call(Method::GET, "/TimeEntries/entityInformation", None)
        .await;
    assert_eq!(info["info"]["canDelete"], true);
    assert_eq!(info["info"]["canUpdate"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_renumbers_a_picklist_and_new_values_keep_their_code() {
    let at = Autotask::start().await;
    let admin = |method: Method, path: &str| {
        at.client
            .request(method, format!("{}/api/v1{path}", at.server.base))
            .bearer_auth(&at.server.admin)
    };
    let numbering: Value = admin(Method::GET, "/dialects/autotask/codes")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        numbering["priority"]
            .as_array()
            .unwrap()
            .contains(&json!({"code": 4, "target_id": 1})),
        "4 = Critical by default: {numbering}"
    );
    // A tenant whose picklist reads 1 High, 2 Medium, 3 Low, 4 Critical.
    let tenant = json!({"codes": [
        {"code": 1, "target_id": 2}, {"code": 2, "target_id": 3},
        {"code": 3, "target_id": 4}, {"code": 4, "target_id": 1},
    ]});
    let (status, body) =
        Autotask::send(admin(Method::PUT, "/dialects/autotask/codes/priority").json(&tenant)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let company = at.company("Fabrikam").await;
    let ticket = at.ticket(company, "Renumbered", 1).await;
    let native = at
        .native(Method::GET, &format!("/tickets/{ticket}"), json!(null))
        .await;
    assert_eq!(native["priority_id"], 2, "1 is High for this tenant");
    let (_, fields) = at
        .call(Method::GET, "/Tickets/entityInformation/fields", None)
        .await;
    assert!(
        picklist(&fields, "priority")
            .iter()
            .any(|p| p["value"] == "1" && p["label"] == "High"),
        "{fields}"
    );

    let (status, body) = Autotask::send(
        admin(Method::PUT, "/dialects/autotask/codes/priority")
            .json(&json!({"codes": [{"code": 1, "target_id": 2}, {"code": 1, "target_id": 99}]})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["codes[1].code", "codes[1].target_id"]);
    let (status, _) = Autotask::send(
        admin(Method::PUT, "/dialects/autotask/codes/priority").json(&json!({"codes": []})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an emptied table would be seeded again"
    );
    let (status, _) =
        Autotask::send(admin(Method::PUT, "/dialects/connectwise/codes/priority").json(&tenant))
            .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = Autotask::send(
        at.client
            .put(format!(
                "{}/api/v1/dialects/autotask/codes/priority",
                at.server.base
            ))
            .bearer_auth(&at.server.technician)
            .json(&tenant),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A value added later reads as 1000 + its id, and keeps that code after a restart.
    let parked = at
        .native(
            Method::POST,
            "/statuses",
            json!({"name": "Parked", "category": "waiting", "sla_clock": "paused"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let code = 1000 + parked;
    let status_code = |fields: &Value| {
        picklist(fields, "status")
            .iter()
            .find(|p| p["label"] == "Parked")
            .map(|p| p["value"].clone())
    };
    let (_, fields) = at
        .call(Method::GET, "/Tickets/entityInformation/fields", None)
        .await;
    assert_eq!(status_code(&fields), Some(json!(code.to_string())));
    at.server.store.migrate().await.unwrap();
    let (_, fields) = at
        .call(Method::GET, "/Tickets/entityInformation/fields", None)
        .await;
    assert_eq!(status_code(&fields), Some(json!(code.to_string())));
    let (_, read) = at
        .call(Method::GET, &format!("/Tickets/{ticket}"), None)
        .await;
    assert_eq!(read["item"]["priority"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_resolution_plan_milestone_is_read_and_recorded() {
    let at = Autotask::start().await;
    let policies = at.native(Method::GET, "/sla-policies", json!(null)).await;
    let calendar = policies[0]["calendar_id"].clone();
    let policy = at
        .native(
            Method::POST,
            "/sla-policies",
            json!({"name": "Planned", "calendar_id": calendar, "targets": [
                {"priority_id": 2, "first_response_minutes": 60, "resolution_plan_minutes": 240,
                 "resolution_minutes": 480}]}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let company = at.company("Northwind").await;
    let (status, body) = at
        .call(
            Method::POST,
            "/Tickets",
            Some(json!({"companyID": company, "title": "Plan me", "priority": 3, "serviceLevelAgreementID": policy})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["itemId"].as_i64().unwrap();
    let native = at
        .native(Method::GET, &format!("/tickets/{id}"), json!(null))
        .await;
    let ticket = at.item(&format!("/Tickets/{id}")).await;
    // Autotask's dates carry milliseconds, Fixpoint's microseconds; inside business
    // hours the deadline has both.
    let due = |v: &Value| v.as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    assert_eq!(
        due(&ticket["resolutionPlanDueDateTime"]).as_millisecond(),
        due(&native["sla"]["resolution_plan"]["due_at"]).as_millisecond()
    );
    assert!(ticket["resolutionPlanDateTime"].is_null());
    let (status, body) = at
        .call(
            Method::PATCH,
            "/Tickets",
            Some(json!({"id": id, "resolutionPlanDateTime": null})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .contains("resolutionPlanDateTime")
    );
    let now = at.server.clock.now();
    let (status, body) = at
        .call(
            Method::PATCH,
            "/Tickets",
            Some(json!({"id": id, "resolutionPlanDateTime": now.to_string()})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ticket = at.item(&format!("/Tickets/{id}")).await;
    assert_eq!(
        due(&ticket["resolutionPlanDateTime"]).as_millisecond(),
        now.as_millisecond(),
        "Autotask's times are to the millisecond"
    );
    let (_, found) = at
        .call(
            Method::POST,
            "/Tickets/query",
            Some(json!({"filter": [{"op": "exist", "field": "resolutionPlanDateTime"}]})),
        )
        .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    let (status, body) = at
        .call(
            Method::PATCH,
            "/Tickets",
            Some(json!({"id": id, "resolutionPlanDateTime": "2999-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn companies_contacts_resources_and_roles_keep_autotasks_verbs() {
    let at = Autotask::start().await;
    let parent = at.company("Fabrikam Holdings").await;
    let company = at.company("Fabrikam").await;
    let (status, _) = at
        .call(
            Method::PATCH,
            "/Companies",
            Some(
                json!({"id": company, "parentCompanyID": parent, "webAddress": "fabrikam.example"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let read = at.item(&format!("/Companies/{company}")).await;
    assert_eq!(read["parentCompanyID"], parent);
    assert_eq!(read["webAddress"], "fabrikam.example");
    let (_, found) = at
        .call(
            Method::POST,
            "/Companies/query",
            Some(json!({"filter": [{"op": "or", "items": [
                {"op": "beginsWith", "field": "companyname", "value": "fabrikam h"},
                {"op": "eq", "field": "parentCompanyID", "value": parent},
            ]}]})),
        )
        .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 2, "{found}");

    let contact = at
        .created(
            &format!("/Companies/{company}/Contacts"),
            json!({"firstName": "Lee", "lastName": "Park"}),
        )
        .await;
    let (status, _) = at
        .call(
            Method::PATCH,
            &format!("/Companies/{company}/Contacts"),
            Some(json!({"id": contact, "emailAddress": "lee@fabrikam.example"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let read = at
        .item(&format!("/Companies/{company}/Contacts/{contact}"))
        .await;
    assert_eq!(read["emailAddress"], "lee@fabrikam.example");
    assert!(
        at.item(&format!("/Companies/{parent}/Contacts/{contact}"))
            .await
            .is_null(),
        "a contact is found only under its own company"
    );

    let tech = at.resource("Ida", "Field", "ida@msp.example").await;
    let (_, resources) = at
        .call(
            Method::GET,
            r#"/Resources/query?search={"filter":[{"op":"eq","field":"email","value":"IDA@msp.example"}]}"#,
            None,
        )
        .await;
    assert_eq!(resources["items"][0]["id"], tech, "{resources}");
    assert_eq!(resources["items"][0]["userName"], "ida@msp.example");
    let (status, body) = at
        .call(
            Method::PATCH,
            "/Resources",
            Some(json!({"id": tech, "lastName": "Fields"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "resources are an admin's: {body}"
    );
    let (status, body) = at
        .call(Method::POST, "/Resources", Some(json!({"firstName": "X"})))
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        body["errors"][0].as_str().unwrap().contains("Resources"),
        "{body}"
    );

    let (_, role) = at
        .call(
            Method::POST,
            "/Roles",
            Some(json!({"name": "Field Engineer"})),
        )
        .await;
    let role = role["itemId"].as_i64().unwrap();
    let (status, _) = at
        .call(
            Method::PUT,
            "/Roles",
            Some(json!({"id": role, "name": "Field Engineer", "isActive": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, roles) = at
        .call(
            Method::POST,
            "/Roles/query",
            Some(json!({"filter": [{"op": "eq", "field": "isActive", "value": false}]})),
        )
        .await;
    assert_eq!(roles["items"].as_array().unwrap().len(), 1, "{roles}");
    assert_eq!(roles["items"][0]["id"], role);

    let (status, _) = at
        .call(Method::DELETE, &format!("/Companies/{company}"), None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(at.item(&format!("/Companies/{company}")).await.is_object());
}
