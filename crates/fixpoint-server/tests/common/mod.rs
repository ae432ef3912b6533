//! Starts the real server on 127.0.0.1:0 against a fresh SQLite file per test.

#![allow(dead_code)]

use fixpoint_core::catalog::seeded;
use fixpoint_server::Clock;
use fixpoint_server::testing::TestServer;
use fixpoint_store::Store;
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

/// The default catalogue's statuses, by id as the JSON carries them.
pub const NEW: i64 = seeded::NEW.0;
pub const IN_PROGRESS: i64 = seeded::IN_PROGRESS.0;
pub const WAITING_CUSTOMER: i64 = seeded::WAITING_CUSTOMER.0;
pub const ESCALATED: i64 = seeded::ESCALATED.0;
pub const RESOLVED: i64 = seeded::RESOLVED.0;
pub const COMPLETE: i64 = seeded::COMPLETE.0;

pub struct App {
    pub base: String,
    /// The server's clock: tests move it instead of sleeping.
    pub clock: Clock,
    pub client: Client,
    pub admin: String,
    pub technician: String,
    pub readonly: String,
    pub store: Store,
    pub messaging: std::sync::Arc<fixpoint_server::messaging::Settings>,
    pub database_url: String,
    _server: TestServer,
}

/// The native API alone, on SQLite or (with `FIXPOINT_TEST_POSTGRES_URL`) on a fresh
/// PostgreSQL database: see `fixpoint_server::testing`.
pub async fn spawn_app() -> App {
    let server = fixpoint_server::testing::spawn(axum::Router::new()).await;
    App {
        base: server.base.clone(),
        clock: server.clock.clone(),
        client: Client::new(),
        admin: server.admin.clone(),
        technician: server.technician.clone(),
        readonly: server.readonly.clone(),
        store: server.store.clone(),
        messaging: server.messaging.clone(),
        database_url: server.database_url.clone(),
        _server: server,
    }
}

/// A response read whole: status, headers we look at, JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The `field` of a problem document.
    pub fn field(&self) -> &str {
        self.body["field"].as_str().unwrap_or("")
    }

    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// Asserts a problem+json error with this status, code and field.
    #[track_caller]
    pub fn problem(self, status: u16, code: &str, field: Option<&str>) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(
            self.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "body: {}",
            self.body
        );
        assert_eq!(self.code(), code, "body: {}", self.body);
        if let Some(field) = field {
            assert_eq!(self.field(), field, "body: {}", self.body);
        }
        assert!(
            !self.body["detail"].as_str().unwrap_or("").is_empty(),
            "a problem explains itself"
        );
        self.body
    }
}

pub async fn read(response: Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply {
        status,
        headers,
        body,
    }
}

impl App {
    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{}", self.base, path)
    }

    pub fn as_key(&self, key: &str, builder: RequestBuilder) -> RequestBuilder {
        builder.bearer_auth(key)
    }

    /// One request as `key`, with a JSON body when there is one.
    async fn send(&self, method: Method, key: &str, path: &str, body: Option<Value>) -> Reply {
        let mut request = self.client.request(method, self.url(path)).bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, &self.admin, path, None).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, &self.admin, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.post_as(&self.admin, path, body).await
    }

    pub async fn post_as(&self, key: &str, path: &str, body: Value) -> Reply {
        self.send(Method::POST, key, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PUT, &self.admin, path, Some(body)).await
    }

    /// A default SLA policy on the built-in 24×7 calendar, so that business time is
    /// plain time; `targets` as `POST /sla-policies` takes them. Returns its id.
    pub async fn round_the_clock(&self, targets: Value) -> i64 {
        let calendars = self.get("/calendars").await.expect(200);
        let always = calendars
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "24×7")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        self.post(
            "/sla-policies",
            json!({"name": "24x7", "calendar_id": always, "is_default": true, "targets": targets}),
        )
        .await
        .expect(201)["id"]
            .as_i64()
            .unwrap()
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PATCH, &self.admin, path, Some(body))
            .await
    }

    pub async fn patch_if(&self, path: &str, version: i64, body: Value) -> Reply {
        read(
            self.client
                .patch(self.url(path))
                .bearer_auth(&self.admin)
                .header("If-Match", format!("\"{version}\""))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn raw_post(&self, path: &str, body: &'static str) -> Reply {
        read(
            self.client
                .post(self.url(path))
                .bearer_auth(&self.admin)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Creates a record through the API (201 expected) and returns its id.
    pub async fn created(&self, path: &str, body: Value) -> i64 {
        self.post(path, body).await.expect(201)["id"]
            .as_i64()
            .unwrap()
    }

    /// A company with a contact, a technician with a role, and a queue.
    pub async fn world(&self) -> World {
        let company = self
            .created("/companies", json!({"name": "Acme Corporation"}))
            .await;
        let contact = self
            .created("/contacts", json!({"company_id": company, "first_name": "John", "last_name": "Smith", "email": "john.smith@acme.example"}))
            .await;
        let resource = self
            .created(
                "/resources",
                json!({"first_name": "Jane", "last_name": "Tech", "email": "jane@msp.example"}),
            )
            .await;
        let role = self.created("/roles", json!({"name": "Tier 1"})).await;
        let queue = self
            .created("/queues", json!({"name": "Service Desk"}))
            .await;
        World {
            company,
            contact,
            resource,
            role,
            queue,
        }
    }

    /// Another client company with one contact of its own: (company, contact).
    pub async fn stranger(&self) -> (i64, i64) {
        let company = self.created("/companies", json!({"name": "Globex"})).await;
        let contact = self
            .created(
                "/contacts",
                json!({"company_id": company, "first_name": "Hank", "last_name": "Scorpio"}),
            )
            .await;
        (company, contact)
    }

    /// [`App::ticket`]'s id.
    pub async fn ticket_id(&self, world: &World, title: &str) -> i64 {
        self.ticket(world, title).await["id"].as_i64().unwrap()
    }

    pub async fn ticket(&self, world: &World, title: &str) -> Value {
        self.post(
            "/tickets",
            json!({"title": title, "company_id": world.company, "queue_id": world.queue}),
        )
        .await
        .expect(201)
    }

    pub async fn ticket_count(&self) -> i64 {
        self.get("/tickets?limit=1").await.expect(200)["total"]
            .as_i64()
            .unwrap()
    }
}

pub struct World {
    pub company: i64,
    pub contact: i64,
    pub resource: i64,
    pub role: i64,
    pub queue: i64,
}
