//! Drives a running server over HTTP: a fixed number of concurrent clients for a fixed
//! time per scenario, each request timed; throughput and latency percentiles out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, Method};
use serde::Serialize;
use serde_json::{Value, json};

use anyhow::Context as _;

use crate::dataset::RARE_WORD;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// The cheapest authenticated endpoint: HTTP and key check alone.
    Ceiling,
    Create,
    Get,
    UpdateStatus,
    AddNote,
    ListQueue,
    /// The same page without its `total` (`total=false`), as the web UI's queue asks.
    ListQueueUncounted,
    Search,
    Report,
    /// The same create through the Atera dialect (`POST /api/v3/tickets`).
    AteraCreate,
    /// A page of a customer's tickets through the Atera dialect.
    AteraList,
    /// The same create through the Autotask dialect (`POST /V1.0/Tickets`).
    AutotaskCreate,
    /// A queue's open tickets through Autotask's query (`POST /V1.0/Tickets/query`).
    AutotaskList,
    /// The same create through the HaloPSA dialect (`POST /api/Tickets`, an array).
    HalopsaCreate,
    /// A team's open tickets by deadline through HaloPSA's list (`GET /api/Tickets`).
    HalopsaList,
    /// The peer, Request Tracker (REST 2): a ticket created in its General queue.
    RtCreate,
    /// The peer: one ticket read.
    RtGet,
    /// The peer: tickets whose subject holds the rare word (TicketSQL).
    RtSearch,
}

impl Scenario {
    pub const ALL: [(Scenario, &'static str); 18] = [
        (Self::Ceiling, "ceiling"),
        (Self::Create, "create"),
        (Self::Get, "get"),
        (Self::UpdateStatus, "update_status"),
        (Self::AddNote, "add_note"),
        (Self::ListQueue, "list_queue"),
        (Self::ListQueueUncounted, "list_queue_uncounted"),
        (Self::Search, "search"),
        (Self::Report, "report"),
        (Self::AteraCreate, "atera_create"),
        (Self::AteraList, "atera_list"),
        (Self::AutotaskCreate, "autotask_create"),
        (Self::AutotaskList, "autotask_list"),
        (Self::HalopsaCreate, "halopsa_create"),
        (Self::HalopsaList, "halopsa_list"),
        (Self::RtCreate, "rt_create"),
        (Self::RtGet, "rt_get"),
        (Self::RtSearch, "rt_search"),
    ];

    fn is_peer(self) -> bool {
        matches!(self, Self::RtCreate | Self::RtGet | Self::RtSearch)
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("?", |(_, n)| n)
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        Self::ALL
            .iter()
            .find(|(_, n)| *n == text)
            .map(|(s, _)| *s)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|(_, n)| *n).collect();
                anyhow::anyhow!("unknown scenario '{text}'; use {}", names.join(", "))
            })
    }
}

/// An Autotask API user's three headers.
#[derive(Debug, Clone)]
pub struct AutotaskUser {
    pub username: String,
    pub secret: String,
    pub integration_code: String,
}

/// A HaloPSA API client's credentials (`fixpoint apiclient create`).
#[derive(Debug, Clone)]
pub struct HalopsaClient {
    pub client_id: String,
    pub secret: String,
}

/// A Request Tracker user for the peer scenarios.
#[derive(Debug, Clone)]
pub struct RtUser {
    pub user: String,
    pub password: String,
}

/// A signed-in Request Tracker session. Its REST 2 API also takes basic
/// authentication, but then checks the password's slow hash on every request (270 ms
/// here, more than RT's own work); a session cookie is the fair match for Fixpoint's
/// API key (a digest lookup).
#[derive(Debug, Clone)]
pub struct RtSession {
    pub cookie: String,
}

/// What the scenarios need to know about the dataset on the server.
#[derive(Debug, Clone)]
pub struct Target {
    pub base: String,
    pub key: String,
    /// For the Autotask scenarios, which authenticate as an API user.
    pub autotask: Option<AutotaskUser>,
    /// For the HaloPSA scenarios: a bearer token from `/auth/token`.
    pub halopsa_token: Option<String>,
    /// For the peer scenarios: `base` is Request Tracker's.
    pub rt: Option<RtSession>,
    pub max_ticket_id: i64,
    pub open_ticket_ids: Vec<i64>,
    pub company_id: i64,
    pub queue_id: i64,
}

impl Target {
    /// Asks the server for what the scenarios pick from.
    pub async fn discover(
        base: &str,
        key: &str,
        autotask: Option<AutotaskUser>,
        halopsa: Option<HalopsaClient>,
    ) -> anyhow::Result<Self> {
        let client = Client::new();
        let halopsa_token = match halopsa {
            Some(credentials) => Some(halopsa_token(&client, base, &credentials).await?),
            None => None,
        };
        let get = |path: String| {
            let client = client.clone();
            let url = format!("{base}/api/v1{path}");
            let key = key.to_owned();
            async move {
                let response = client.get(url).bearer_auth(key).send().await?;
                anyhow::ensure!(
                    response.status().is_success(),
                    "{path}: {}",
                    response.status()
                );
                Ok::<Value, anyhow::Error>(response.json().await?)
            }
        };
        let newest = get("/tickets?limit=1&sort=-id".into()).await?;
        let queue = get("/queues?limit=1".into()).await?;
        let queue_id = queue["items"][0]["id"].as_i64().unwrap_or(1);
        let open = get(format!("/tickets?open=true&limit=500&queue_id={queue_id}")).await?;
        Ok(Self {
            base: base.to_owned(),
            key: key.to_owned(),
            autotask,
            halopsa_token,
            rt: None,
            max_ticket_id: newest["items"][0]["id"].as_i64().unwrap_or(1),
            company_id: newest["items"][0]["company_id"].as_i64().unwrap_or(1),
            open_ticket_ids: open["items"]
                .as_array()
                .map(|a| a.iter().filter_map(|t| t["id"].as_i64()).collect())
                .unwrap_or_default(),
            queue_id,
        })
    }
}

impl Target {
    /// Asks Request Tracker for its newest ticket, which the peer scenarios pick below.
    pub async fn discover_rt(base: &str, user: RtUser) -> anyhow::Result<Self> {
        let client = Client::new();
        let login = client
            .post(format!("{base}/NoAuth/Login.html"))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(format!(
                "user={}&pass={}",
                form_encoded(&user.user),
                form_encoded(&user.password)
            ))
            .send()
            .await?;
        let cookie = login
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("RT_SID"))
            .and_then(|v| v.split(';').next())
            .context("Request Tracker set no session cookie: check the user and password")?
            .to_owned();
        let response = client
            .get(format!(
                "{base}/REST/2.0/tickets?query=id>0&orderby=id&order=DESC&per_page=1"
            ))
            .header(reqwest::header::COOKIE, &cookie)
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "Request Tracker at {base}: {}",
            response.status()
        );
        let newest: Value = response.json().await?;
        let max_ticket_id = newest["items"][0]["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .context("Request Tracker holds no tickets: load its dataset first")?;
        Ok(Self {
            base: base.to_owned(),
            key: String::new(),
            autotask: None,
            halopsa_token: None,
            rt: Some(RtSession { cookie }),
            max_ticket_id,
            open_ticket_ids: Vec::new(),
            company_id: 0,
            queue_id: 0,
        })
    }
}

/// A bearer token for a HaloPSA API client (good for an hour: longer than any run).
async fn halopsa_token(
    client: &Client,
    base: &str,
    credentials: &HalopsaClient,
) -> anyhow::Result<String> {
    let response = client
        .post(format!("{base}/auth/token"))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            form_encoded(&credentials.client_id),
            form_encoded(&credentials.secret)
        ))
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "HaloPSA token: {}",
        response.status()
    );
    let body: Value = response.json().await?;
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("HaloPSA token: no access_token in the answer")
}

/// A form field's value, percent-encoded.
fn form_encoded(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub scenario: &'static str,
    pub requests: u64,
    pub errors: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Throughput as a share of the ceiling's (HTTP + auth alone), when measured.
    pub share_of_ceiling: Option<f64>,
}

pub async fn run(
    target: Arc<Target>,
    scenario: Scenario,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Stats> {
    let autotask = matches!(scenario, Scenario::AutotaskCreate | Scenario::AutotaskList);
    anyhow::ensure!(
        !autotask || target.autotask.is_some(),
        "{} needs an Autotask API user (--autotask-username, --autotask-secret, --autotask-integration-code)",
        scenario.name()
    );
    let halopsa = matches!(scenario, Scenario::HalopsaCreate | Scenario::HalopsaList);
    anyhow::ensure!(
        !halopsa || target.halopsa_token.is_some(),
        "{} needs a HaloPSA API client (--halopsa-client-id, --halopsa-client-secret)",
        scenario.name()
    );
    anyhow::ensure!(
        scenario.is_peer() == target.rt.is_some(),
        "{} runs against {}",
        scenario.name(),
        if scenario.is_peer() {
            "Request Tracker (the peer command)"
        } else {
            "Fixpoint"
        }
    );
    let client = Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let (client, target) = (client.clone(), target.clone());
        workers.push(tokio::spawn(async move {
            let mut rng = 0x2545_F491_4F6C_DD1D_u64 ^ ((worker as u64 + 1) * 0x9E37_79B9);
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut first_error = None;
            while Instant::now() < deadline {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let (method, path, body) = request(&target, scenario, rng);
                let mut builder = client.request(method, format!("{}{path}", target.base));
                builder = match (&target.autotask, autotask, &target.rt) {
                    _ if halopsa => {
                        builder.bearer_auth(target.halopsa_token.as_deref().unwrap_or_default())
                    }
                    (Some(user), true, _) => builder
                        .header("UserName", &user.username)
                        .header("Secret", &user.secret)
                        .header("ApiIntegrationcode", &user.integration_code),
                    // RT refuses a cookie-authenticated write without its own origin.
                    (_, _, Some(rt)) => builder
                        .header(reqwest::header::COOKIE, &rt.cookie)
                        .header(reqwest::header::ORIGIN, &target.base),
                    _ => builder.bearer_auth(&target.key),
                };
                if let Some(body) = body {
                    builder = builder.json(&body);
                }
                let sent = Instant::now();
                let outcome = builder.send().await;
                let ok = match outcome {
                    Ok(response) => {
                        let status = response.status();
                        let text = response.bytes().await;
                        if !status.is_success() && first_error.is_none() {
                            first_error = Some(format!(
                                "{status}: {}",
                                String::from_utf8_lossy(&text.unwrap_or_default())
                            ));
                        }
                        status.is_success()
                    }
                    Err(e) => {
                        first_error.get_or_insert_with(|| e.to_string());
                        false
                    }
                };
                latencies.push(sent.elapsed().as_micros() as u32);
                if !ok {
                    errors += 1;
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (l, e, first) = worker.await?;
        latencies.extend(l);
        errors += e;
        if let Some(first) = first {
            eprintln!("  {}: first error: {first}", scenario.name());
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |&us| us as f64 / 1000.0)
    };
    Ok(Stats {
        scenario: scenario.name(),
        requests: latencies.len() as u64,
        errors,
        per_second: latencies.len() as f64 / elapsed,
        p50_ms: at(0.50),
        p90_ms: at(0.90),
        p99_ms: at(0.99),
        max_ms: latencies.last().map_or(0.0, |&us| us as f64 / 1000.0),
        share_of_ceiling: None,
    })
}

const PRIORITIES: [&str; 4] = ["Critical", "High", "Medium", "Low"];

fn request(t: &Target, scenario: Scenario, rng: u64) -> (Method, String, Option<Value>) {
    let any_ticket = 1 + (rng % t.max_ticket_id.max(1) as u64) as i64;
    let open_ticket = if t.open_ticket_ids.is_empty() {
        any_ticket
    } else {
        t.open_ticket_ids[(rng % t.open_ticket_ids.len() as u64) as usize]
    };
    match scenario {
        Scenario::Ceiling => (Method::GET, "/api/v1/me".into(), None),
        Scenario::Create => (
            Method::POST,
            "/api/v1/tickets".into(),
            Some(json!({
                "title": format!("Load test: printer offline #{rng}"),
                "description": "Created by fixpoint-bench.",
                "company_id": t.company_id,
                "queue_id": t.queue_id,
                "priority_id": 1 + (rng % 4) as i64,
            })),
        ),
        Scenario::Get => (Method::GET, format!("/api/v1/tickets/{any_ticket}"), None),
        Scenario::UpdateStatus => (
            Method::PATCH,
            format!("/api/v1/tickets/{open_ticket}"),
            // In Progress and Waiting Customer: both open, each reachable from the other.
            Some(json!({"status_id": if rng.is_multiple_of(2) { 2 } else { 5 }})),
        ),
        Scenario::AddNote => (
            Method::POST,
            format!("/api/v1/tickets/{open_ticket}/notes"),
            Some(
                json!({"body": "Checked in with the user; still investigating.", "visibility": "internal"}),
            ),
        ),
        Scenario::ListQueue | Scenario::ListQueueUncounted => {
            let mut path = format!(
                "/api/v1/tickets?queue_id={}&open=true&sort=due_at&limit=50",
                t.queue_id
            );
            if scenario == Scenario::ListQueueUncounted {
                path.push_str("&total=false");
            }
            (Method::GET, path, None)
        }
        Scenario::Search => (
            Method::POST,
            "/api/v1/tickets/search".into(),
            Some(json!({"q": RARE_WORD, "limit": 50})),
        ),
        Scenario::Report => (Method::GET, "/api/v1/reports/tickets".into(), None),
        Scenario::AteraCreate => (
            Method::POST,
            "/api/v3/tickets".into(),
            Some(json!({
                "TicketTitle": format!("Load test: VPN drops #{rng}"),
                "Description": "Created by fixpoint-bench through the Atera dialect.",
                "CustomerID": t.company_id,
                "TicketPriority": PRIORITIES[(rng % 4) as usize],
            })),
        ),
        Scenario::AteraList => (
            Method::GET,
            format!("/api/v3/tickets?customerId={}&itemsInPage=50", t.company_id),
            None,
        ),
        Scenario::AutotaskCreate => (
            Method::POST,
            "/ATServicesRest/V1.0/Tickets".into(),
            Some(json!({
                "title": format!("Load test: mailbox full #{rng}"),
                "description": "Created by fixpoint-bench through the Autotask dialect.",
                "companyID": t.company_id,
                "queueID": t.queue_id,
                "status": 1,
                // Autotask numbers priorities 1 Low … 4 Critical.
                "priority": 1 + (rng % 4) as i64,
            })),
        ),
        Scenario::AutotaskList => (
            Method::POST,
            "/ATServicesRest/V1.0/Tickets/query".into(),
            Some(json!({
                "filter": [
                    {"op": "eq", "field": "queueID", "value": t.queue_id},
                    {"op": "noteq", "field": "status", "value": 5},
                ],
                "MaxRecords": 50,
            })),
        ),
        Scenario::HalopsaCreate => (
            Method::POST,
            "/api/Tickets".into(),
            Some(json!([{
                "summary": format!("Load test: VPN drops #{rng}"),
                "details": "Created by fixpoint-bench through the HaloPSA dialect.",
                "client_id": t.company_id,
                "team_id": t.queue_id,
                "tickettype_id": 1,
                // HaloPSA numbers priorities 1 Critical … 4 Low.
                "priority_id": 1 + (rng % 4) as i64,
            }])),
        ),
        Scenario::HalopsaList => (
            Method::GET,
            format!(
                "/api/Tickets?team_id={}&open_only=true&order=deadlinedate&pageinate=true&page_size=50&page_no=1",
                t.queue_id
            ),
            None,
        ),
        Scenario::RtCreate => (
            Method::POST,
            "/REST/2.0/ticket".into(),
            Some(json!({
                "Queue": "General",
                "Subject": format!("Load test: printer offline #{rng}"),
                "Content": "Created by fixpoint-bench.",
                "Priority": (rng % 100) as i64,
            })),
        ),
        Scenario::RtGet => (Method::GET, format!("/REST/2.0/ticket/{any_ticket}"), None),
        Scenario::RtSearch => (
            Method::GET,
            format!("/REST/2.0/tickets?query=Subject%20LIKE%20'{RARE_WORD}'&per_page=50"),
            None,
        ),
    }
}

pub fn table(rows: &[Stats]) -> String {
    let mut out = format!(
        "{:<14} {:>9} {:>7} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
        "scenario",
        "requests",
        "errors",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "ceiling"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<14} {:>9} {:>7} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9}\n",
            r.scenario,
            r.requests,
            r.errors,
            r.per_second,
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            r.max_ms,
            r.share_of_ceiling
                .map_or("-".to_owned(), |s| format!("{:.0}%", s * 100.0))
        ));
    }
    out
}
