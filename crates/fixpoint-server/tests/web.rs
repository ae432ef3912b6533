//! The web UI's handlers over HTTP: sign-in, sessions, the form token, permissions,
//! and the pages a technician works in (SQLite, or PostgreSQL with
//! FIXPOINT_TEST_POSTGRES_URL).

use fixpoint_core::parties::NewResource;
use fixpoint_server::auth::Role;
use fixpoint_server::service::people;
use fixpoint_server::testing::{TestServer, spawn};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

struct Browser {
    server: TestServer,
    client: Client,
}

impl Browser {
    async fn start() -> Self {
        let server = spawn(axum::Router::new()).await;
        for (email, role) in [
            ("tess@msp.example", Role::Technician),
            ("rita@msp.example", Role::Readonly),
        ] {
            let new = NewResource {
                first_name: email[..4].to_owned(),
                last_name: "Example".into(),
                email: email.into(),
                active: true,
            };
            people::create_person(&server.store, new, PASSWORD, role)
                .await
                .unwrap();
        }
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { server, client }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base)
    }

    async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/signin"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("email", email),
                ("password", password),
                ("next", "/tickets"),
            ]))
            .send()
            .await
            .unwrap()
    }

    /// Signs in and returns the session cookie (`name=value`).
    async fn session(&self, email: &str) -> String {
        let response = self.sign_in(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        cookie.split(';').next().unwrap().to_owned()
    }

    async fn get(&self, cookie: &str, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(self.url(path))
            .header(COOKIE, cookie)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn post(&self, cookie: &str, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header(COOKIE, cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(fields))
            .send()
            .await
            .unwrap()
    }

    /// Posts the ticket form at `location` as its page would: with the page's form
    /// token and the version it shows, and these fields.
    async fn change(
        &self,
        cookie: &str,
        location: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let (_, page) = self.get(cookie, location).await;
        let version = version_in(&page);
        let token = csrf_in(&page);
        let mut all = vec![("csrf", token.as_str()), ("version", version.as_str())];
        all.extend_from_slice(fields);
        self.post(cookie, location, &all).await
    }

    async fn native(&self, path: &str, body: Value) -> Value {
        self.client
            .post(format!("{}/api/v1{path}", self.server.base))
            .bearer_auth(&self.server.admin)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// The ticket version a page's form carries.
fn version_in(page: &str) -> String {
    let start = page.find("name=\"version\" value=\"").expect("a version") + 22;
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

/// The form token a page carries.
fn csrf_in(page: &str) -> String {
    let start = page.find("name=\"csrf\" value=\"").expect("a form token") + 19;
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_gives_an_http_only_session_and_the_pages_need_it() {
    let web = Browser::start().await;
    let response = web
        .client
        .get(web.url("/tickets?open=true"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[LOCATION],
        "/signin?next=%2Ftickets%3Fopen%3Dtrue"
    );
    let (status, page) = web.get("", "/signin?next=/tickets").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<label for=\"email\">"), "labelled fields");

    let wrong = web.sign_in("tess@msp.example", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.text().await.unwrap().contains("wrong"));
    let unknown = web.sign_in("nobody@msp.example", PASSWORD).await;
    assert_eq!(
        unknown.status(),
        StatusCode::UNAUTHORIZED,
        "same answer as a wrong password"
    );

    let response = web.sign_in("TESS@msp.example", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/tickets");
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap();
    let (status, page) = web.get(session, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("My work") && page.contains("tess Example"));

    // An open redirect is not offered.
    let response = web
        .client
        .post(web.url("/signin"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("email", "tess@msp.example"),
            ("password", PASSWORD),
            ("next", "//evil.example/"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[LOCATION], "/");

    // Sessions end: after twelve hours, and at sign-out.
    web.server
        .clock
        .advance(jiff::SignedDuration::from_hours(13));
    let (status, _) = web.get(session, "/").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let session = web.session("tess@msp.example").await;
    let (_, page) = web.get(&session, "/").await;
    let out = web
        .post(&session, "/signout", &[("csrf", &csrf_in(&page))])
        .await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(
        out.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, _) = web.get(&session, "/").await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "the old cookie no longer works"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_sign_ins_are_limited_per_email() {
    let web = Browser::start().await;
    for _ in 0..5 {
        let response = web.sign_in("tess@msp.example", "guess guess guess").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = web.sign_in("tess@msp.example", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Try again in 15 minutes")
    );
    let other = web.sign_in("rita@msp.example", PASSWORD).await;
    assert_eq!(
        other.status(),
        StatusCode::SEE_OTHER,
        "other people are not locked out"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forms_need_the_session_token_and_the_right_role() {
    let web = Browser::start().await;
    let company = web.native("/companies", json!({"name": "Acme"})).await["id"].clone();
    let ticket = web
        .native(
            "/tickets",
            json!({"title": "Printer jam", "company_id": company}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/tickets/{ticket}/notes");
    let session = web.session("tess@msp.example").await;
    let (status, page) = web.get(&session, &format!("/tickets/{ticket}")).await;
    assert_eq!(status, StatusCode::OK);
    let token = csrf_in(&page);

    let forged = web
        .post(&session, &path, &[("csrf", "forged"), ("body", "hi")])
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let missing = web.post(&session, &path, &[("body", "hi")]).await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    let cross_site = web
        .client
        .post(web.url(&path))
        .header(COOKIE, &session)
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("csrf", &token), ("body", "hi")]))
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let signed_out = web
        .client
        .post(web.url(&path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("csrf", &token), ("body", "hi")]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        signed_out.status(),
        StatusCode::SEE_OTHER,
        "to the sign-in page"
    );

    let added = web
        .post(
            &session,
            &path,
            &[
                ("csrf", &token),
                ("body", "Cleared the jam"),
                ("visibility", "internal"),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let (_, page) = web.get(&session, &format!("/tickets/{ticket}")).await;
    assert!(page.contains("Cleared the jam") && page.contains("added an internal note"));

    // A read-only person reads but does not change.
    let reader = web.session("rita@msp.example").await;
    let (status, page) = web.get(&reader, &format!("/tickets/{ticket}")).await;
    assert_eq!(status, StatusCode::OK);
    let refused = web
        .post(
            &reader,
            &path,
            &[("csrf", &csrf_in(&page)), ("body", "sneaky")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_technician_opens_works_and_completes_a_ticket() {
    let web = Browser::start().await;
    let company = web.native("/companies", json!({"name": "Globex"})).await["id"]
        .as_i64()
        .unwrap();
    let contact = web
        .native(
            "/contacts",
            json!({"company_id": company, "first_name": "Hank", "last_name": "Scorpio", "email": "hank@globex.example"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let session = web.session("tess@msp.example").await;
    let (status, page) = web.get(&session, "/tickets/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("data-company=\"{company}\"")),
        "contacts carry their company"
    );
    let token = csrf_in(&page);
    let company = company.to_string();
    let contact = contact.to_string();

    let missing = web
        .post(
            &session,
            "/tickets/new",
            &[("csrf", &token), ("company_id", &company), ("title", "")],
        )
        .await;
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.text().await.unwrap().contains("title"));
    let opened = web
        .post(
            &session,
            "/tickets/new",
            &[
                ("csrf", &token),
                ("company_id", &company),
                ("contact_id", &contact),
                ("title", "VPN drops hourly"),
                ("priority_id", "2"),
            ],
        )
        .await;
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    let location = opened.headers()[LOCATION].to_str().unwrap().to_owned();
    let (_, page) = web.get(&session, &location).await;
    assert!(page.contains("VPN drops hourly") && page.contains("Hank Scorpio"));
    assert!(page.contains("First response"), "the SLA block");
    // The acknowledgment the contact was sent shows on the timeline.
    let outbound = fixpoint_server::messaging::Outbound::new(&web.server.messaging).unwrap();
    fixpoint_server::messaging::run_once(
        &web.server.store,
        &web.server.messaging,
        &outbound,
        web.server.clock.now(),
    )
    .await
    .unwrap();
    let (_, page) = web.get(&session, &location).await;
    assert!(
        page.contains("mailed the acknowledgment to hank@globex.example"),
        "mail on the timeline"
    );

    let logged = web
        .post(
            &session,
            &format!("{location}/time"),
            &[("csrf", &token), ("minutes", "30"), ("billable", "true")],
        )
        .await;
    assert_eq!(logged.status(), StatusCode::SEE_OTHER);
    let (_, page) = web.get(&session, &location).await;
    assert!(page.contains("logged 30 minutes"));
    let moved = web.change(&session, &location, &[("status_id", "2")]).await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    let (_, page) = web.get(&session, &location).await;
    assert!(page.contains("<strong>In Progress</strong>"));
    let queue = web.native("/queues", json!({"name": "Network"})).await["id"].to_string();
    let edited = web
        .change(
            &session,
            &location,
            &[("queue_id", &queue), ("due_at", "2030-01-02T09:30")],
        )
        .await;
    assert_eq!(edited.status(), StatusCode::SEE_OTHER);
    let (_, page) = web.get(&session, &location).await;
    assert!(
        page.contains("value=\"2030-01-02T09:30\""),
        "the due date round-trips"
    );
    let bad_due = web.change(&session, &location, &[("due_at", "soon")]).await;
    assert_eq!(bad_due.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let typed = web
        .change(
            &session,
            &location,
            &[
                ("type_id", "2"),
                ("category_1", "Network"),
                ("category_2", "VPN"),
                ("category_3", ""),
                ("category_4", ""),
            ],
        )
        .await;
    assert_eq!(typed.status(), StatusCode::SEE_OTHER);
    let (_, page) = web.get(&session, &location).await;
    assert!(
        page.contains("value=\"VPN\""),
        "the category levels round-trip"
    );
    let gap = web
        .change(
            &session,
            &location,
            &[("category_1", ""), ("category_2", "VPN")],
        )
        .await;
    assert_eq!(
        gap.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a level without the one above"
    );
    let with_fields = web
        .change(
            &session,
            &location,
            &[("custom_fields", "Asset tag: LT-42\nSite: HQ")],
        )
        .await;
    assert_eq!(with_fields.status(), StatusCode::SEE_OTHER);
    let renamed = web
        .change(&session, &location, &[("custom_fields", "Site: Branch")])
        .await;
    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    let fields = web
        .client
        .get(format!("{}/api/v1{location}", web.server.base))
        .bearer_auth(&web.server.admin)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["custom_fields"]
        .clone();
    assert_eq!(
        fields,
        json!({"Site": "Branch"}),
        "a line taken out removes its field"
    );
    let people: Value = web
        .client
        .get(format!("{}/api/v1/resources?limit=10", web.server.base))
        .bearer_auth(&web.server.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<String> = people["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].to_string())
        .collect();
    let policies = web
        .client
        .get(format!("{}/api/v1/sla-policies", web.server.base))
        .bearer_auth(&web.server.admin)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let policy_where = |default: bool| {
        policies
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["is_default"] == default)
            .unwrap()["id"]
            .clone()
    };
    let (default_policy, policy) = (policy_where(true), policy_where(false).to_string());
    let helped = web
        .change(
            &session,
            &location,
            &[
                ("secondaries_shown", "1"),
                ("secondary_resource_ids", &ids[0]),
                ("secondary_resource_ids", &ids[1]),
                ("sla_policy_id", &policy),
            ],
        )
        .await;
    assert_eq!(helped.status(), StatusCode::SEE_OTHER);
    let read = |web: &Browser| {
        let url = format!("{}/api/v1{location}", web.server.base);
        let admin = web.server.admin.clone();
        let client = web.client.clone();
        async move {
            client
                .get(url)
                .bearer_auth(admin)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let ticket = read(&web).await;
    assert_eq!(
        ticket["secondary_resource_ids"].as_array().unwrap().len(),
        2
    );
    assert_eq!(ticket["sla_policy_id"].to_string(), policy, "{ticket}");
    let cleared = web
        .change(
            &session,
            &location,
            &[("secondaries_shown", "1"), ("sla_policy_id", "")],
        )
        .await;
    assert_eq!(cleared.status(), StatusCode::SEE_OTHER);
    let ticket = read(&web).await;
    assert_eq!(
        ticket["secondary_resource_ids"],
        json!([]),
        "none chosen clears them"
    );
    assert_eq!(
        ticket["sla_policy_id"], default_policy,
        "cleared, the ticket takes its contract's, queue's or the default policy again"
    );
    let garbled = web
        .change(&session, &location, &[("custom_fields", "no colon here")])
        .await;
    assert_eq!(garbled.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, listed) = web
        .get(&session, &format!("/tickets?queue_id={queue}"))
        .await;
    assert!(listed.contains("VPN drops hourly"), "the queue filter");
    let (_, before_completion) = web.get(&session, &location).await;
    // Completing without a resolution: the page says what is missing.
    let refused = web
        .change(&session, &location, &[("status_id", "10")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("resolution"));
    let done = web
        .change(
            &session,
            &location,
            &[("status_id", "10"), ("resolution", "Replaced the router")],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    // A stale version is a conflict, not a lost update.
    let stale_version = version_in(&before_completion);
    let stale = web
        .post(
            &session,
            &location,
            &[
                ("csrf", &token),
                ("version", &stale_version),
                ("title", "Renamed"),
            ],
        )
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);

    // Files on the ticket are in its timeline and download with the session.
    let ticket_id = location.trim_start_matches("/tickets/");
    let uploaded: Value = web
        .client
        .post(format!(
            "{}/api/v1/tickets/{ticket_id}/attachments?filename=trace.txt",
            web.server.base
        ))
        .bearer_auth(&web.server.admin)
        .body("hop 3 drops")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (_, page) = web.get(&session, &location).await;
    let link = format!("{location}/attachments/{}", uploaded["id"]);
    assert!(page.contains(&link) && page.contains("trace.txt"));
    let (status, body) = web.get(&session, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "hop 3 drops");
    let (status, _) = web.get("", &link).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "files need a session too");

    let (status, page) = web.get(&session, "/tickets?q=vpn").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("VPN drops hourly"));
    let (_, page) = web.get(&session, "/tickets?open=true").await;
    assert!(!page.contains("VPN drops hourly"), "completed is not open");
    let (status, body) = web
        .get(
            &session,
            &format!("/tickets/similar.json?company_id={company}&title=vpn%20drops"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "[]", "a completed ticket is no duplicate");
    let (status, _) = web.get(&session, "/static/app.js").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = web.get(&session, "/tickets/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Reports draw their charts on the server; a bad date is said, not a 500.
    let (status, page) = web
        .get(&session, "/reports?from=2020-01-01&to=2100-01-01")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<svg") && page.contains("SLA compliance") && page.contains("1 tickets"));
    assert!(page.contains("0.5 h"), "the half hour logged, billable");
    let (status, page) = web.get(&session, "/reports?from=yesterday").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("not a date"));
    let (_, page) = web.get(&session, "/companies?q=glob").await;
    assert!(page.contains("Globex"));
    let (_, page) = web.get(&session, "/contacts").await;
    assert!(page.contains("Hank Scorpio"));
}

#[tokio::test(flavor = "multi_thread")]
async fn my_work_shows_my_tickets_and_the_unassigned_ones_of_my_queues() {
    let web = Browser::start().await;
    let company = web.native("/companies", json!({"name": "Initech"})).await["id"].clone();
    let network = web.native("/queues", json!({"name": "Network"})).await["id"].clone();
    let billing = web.native("/queues", json!({"name": "Billing"})).await["id"].clone();
    for (title, queue) in [("Switch down", &network), ("Invoice query", &billing)] {
        web.native(
            "/tickets",
            json!({"title": title, "company_id": company, "queue_id": queue}),
        )
        .await;
    }
    let session = web.session("tess@msp.example").await;
    let (_, page) = web.get(&session, "/").await;
    assert!(
        page.contains("you work no queue yet")
            && page.contains("Switch down")
            && page.contains("Invoice query")
    );

    let tess = web
        .client
        .get(format!("{}/api/v1/resources?limit=10", web.server.base))
        .bearer_auth(&web.server.admin)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["email"] == "tess@msp.example")
        .unwrap()["id"]
        .clone();
    let members = format!("{}/api/v1/queues/{network}/members", web.server.base);
    let refused = web
        .client
        .put(&members)
        .bearer_auth(&web.server.admin)
        .json(&json!({"resource_ids": [tess, 999_999]}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "resource_ids[1]");
    let not_admin = web
        .client
        .put(&members)
        .bearer_auth(&web.server.technician)
        .json(&json!({"resource_ids": [tess]}))
        .send()
        .await
        .unwrap();
    assert_eq!(not_admin.status(), StatusCode::FORBIDDEN);
    let set: Value = web
        .client
        .put(&members)
        .bearer_auth(&web.server.admin)
        .json(&json!({"resource_ids": [tess, tess]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(set["resource_ids"], json!([tess]));

    let (_, page) = web.get(&session, "/").await;
    assert!(page.contains("Unassigned in my queues"));
    assert!(
        page.contains("Switch down") && !page.contains("Invoice query"),
        "only my queue's"
    );
}
