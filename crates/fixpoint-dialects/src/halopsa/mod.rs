//! HaloPSA's API: OAuth2 client credentials at `/auth/token`, and under `/api` the
//! tickets, their actions (notes and time), attachments and the reference data, in
//! HaloPSA's field names, numbering, array upserts, envelopes, paging and errors.
//!
//! HaloPSA's resource names are matched case-insensitively (`/api/tickets` and
//! `/api/Tickets`), which axum's router does not do: one catch-all route under `/api`
//! hands every request to [`dispatch`]. Fixpoint's own `/api/v1` and Atera's
//! `/api/v3` are more specific routes and keep precedence.

mod actions;
mod attachments;
mod reference;
mod tickets;
pub mod wire;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use fixpoint_core::attachment::ATTACHMENT_BYTES_MAX;
use fixpoint_server::AppState;
use fixpoint_server::auth::{ACCESS_TOKEN_SECONDS, Caller, issue_access_token};
use fixpoint_server::rate_limit::RateLimit;
use serde_json::{Map, Value, json};

pub use wire::Error;

const DIALECT: &str = "halopsa";
/// HaloPSA's rate limit window: clients assume 500 requests per rolling 180 s.
const WINDOW_SECS: u64 = 180;

#[derive(Clone)]
struct Limits {
    per_client: Arc<RateLimit>,
    per_window: u32,
}

pub fn routes(requests_per_window: u32) -> Router<AppState> {
    let limits = Limits {
        per_client: Arc::new(RateLimit::new(
            requests_per_window,
            std::time::Duration::from_secs(WINDOW_SECS),
        )),
        per_window: requests_per_window,
    };
    Router::new()
        .route("/auth/token", post(token))
        .route(
            "/api/{*rest}",
            any(
                move |State(state): State<AppState>,
                      Path(rest): Path<String>,
                      method: Method,
                      uri: Uri,
                      headers: HeaderMap,
                      body: Bytes| {
                    let limits = limits.clone();
                    async move {
                        let call = Call {
                            state,
                            method,
                            params: uri
                                .query()
                                .map(|q| {
                                    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
                                })
                                .unwrap_or_default(),
                            headers,
                            body,
                            caller: None,
                        };
                        dispatch(call, &limits, &rest, uri)
                            .await
                            .unwrap_or_else(IntoResponse::into_response)
                    }
                },
            ),
        )
        // Attachments arrive base64-encoded in JSON: a third larger than the file.
        .layer(DefaultBodyLimit::max(
            ATTACHMENT_BYTES_MAX / 3 * 4 + 1024 * 1024,
        ))
}

/// `POST /auth/token`: the client credentials grant, form-encoded (or JSON), with the
/// credentials in the body or in HTTP Basic auth.
async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form: Vec<(String, String)> = if body.trim_ascii_start().starts_with(b"{") {
        serde_json::from_slice::<Map<String, Value>>(&body)
            .map(|m| {
                m.into_iter()
                    .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        form_urlencoded::parse(&body).into_owned().collect()
    };
    let field = |name: &str| crate::param(&form, name).map(str::to_owned);
    let oauth = |status: StatusCode, error: &str, description: &str| {
        (
            status,
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(json!({"error": error, "error_description": description})),
        )
            .into_response()
    };
    let grant = field("grant_type");
    if grant.as_deref() != Some("client_credentials") {
        return oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    let basic = basic_credentials(&headers);
    let (client_id, secret) = match (field("client_id"), field("client_secret"), basic) {
        (Some(id), Some(secret), _) => (id, secret),
        (_, _, Some(pair)) => pair,
        _ => {
            return oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "send client_id and client_secret (form fields or HTTP Basic auth)",
            );
        }
    };
    match issue_access_token(&state.store, &client_id, &secret, state.now()).await {
        Ok(Some(token)) => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": ACCESS_TOKEN_SECONDS,
                "scope": field("scope").unwrap_or_else(|| "all".to_owned()),
            })),
        )
            .into_response(),
        Ok(None) => oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "the client_id or client_secret is wrong, or the API client was revoked.",
        ),
        Err(e) => Error::from(e).into_response(),
    }
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// One request, as the resource handlers see it.
pub(crate) struct Call {
    state: AppState,
    method: Method,
    headers: HeaderMap,
    params: Vec<(String, String)>,
    body: Bytes,
    /// The API client, authenticated by [`dispatch`] before any handler.
    caller: Option<Caller>,
}

impl Call {
    fn param(&self, name: &str) -> Option<&str> {
        crate::param(&self.params, name)
    }

    /// A whole-number parameter; present but not a number is a 400 naming it.
    fn int(&self, name: &str) -> Result<Option<i64>, Error> {
        self.param(name)
            .map(|v| {
                v.trim()
                    .parse()
                    .map_err(|_| Error::field(name, format!("'{v}' is not a whole number")))
            })
            .transpose()
    }

    /// A flag as HaloPSA clients send it: `true`/`True`/`1`; anything else is false.
    fn flag(&self, name: &str) -> bool {
        self.param(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
    }

    /// The JSON body: HaloPSA's writes are arrays of records; a single object is
    /// taken as an array of one.
    fn records(&self) -> Result<Vec<Map<String, Value>>, Error> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::bad_request(
                "the request needs a JSON body: an array of records",
            ));
        }
        let value: Value = serde_json::from_slice(&self.body)
            .map_err(|e| Error::bad_request(format!("the body is not valid JSON: {e}")))?;
        let items = match value {
            Value::Array(items) => items,
            object @ Value::Object(_) => vec![object],
            _ => return Err(Error::bad_request("the body must be an array of records")),
        };
        if items.is_empty() {
            return Err(Error::bad_request(
                "the array is empty: send at least one record",
            ));
        }
        if items.len() > RECORDS_PER_REQUEST_MAX {
            return Err(Error::bad_request(format!(
                "{} records in one request; at most {RECORDS_PER_REQUEST_MAX}",
                items.len()
            )));
        }
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Object(map) => Ok(map),
                _ => Err(Error::field(&format!("[{i}]"), "is not a JSON object")),
            })
            .collect()
    }

    fn caller(&self) -> &Caller {
        self.caller
            .as_ref()
            .expect("dispatch authenticates before any handler")
    }

    fn writer(&self) -> Result<&Caller, Error> {
        let caller = self.caller();
        caller.require_write()?;
        Ok(caller)
    }

    fn actor(&self) -> String {
        self.caller().actor()
    }
}

/// Applies `one` to each record in order, each in its own transaction. A refused
/// record stops the rest; with several records the error names it by its index and
/// says how many before it were saved.
async fn each_record<'a, T, F>(
    records: &'a [Map<String, Value>],
    mut one: impl FnMut(&'a Map<String, Value>) -> F,
) -> Result<Vec<T>, Error>
where
    F: Future<Output = Result<T, Error>>,
{
    let mut done = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        match one(record).await {
            Ok(value) => done.push(value),
            Err(mut e) if records.len() > 1 => {
                for (field, _) in &mut e.errors {
                    *field = format!("[{i}].{field}");
                }
                e.description = format!(
                    "record {i}: {} ({} record(s) before it were saved)",
                    e.description,
                    done.len()
                );
                return Err(e);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// More records than this in one upsert is a client bug, not a workload.
const RECORDS_PER_REQUEST_MAX: usize = 100;

fn ok(body: Value) -> Result<Response, Error> {
    Ok(axum::Json(body).into_response())
}

fn created(body: Value) -> Result<Response, Error> {
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// A write's answer: the record itself, also under `key` as a one-item list (older
/// clients read `tickets[0]`, newer ones the bare object); several records answer
/// with the first, and all of them under `key`.
fn upserted(key: &str, records: Vec<Value>, any_created: bool) -> Result<Response, Error> {
    let mut first = records.first().cloned().unwrap_or_else(|| json!({}));
    if let Value::Object(map) = &mut first {
        map.insert(key.to_owned(), Value::Array(records));
    }
    if any_created {
        created(first)
    } else {
        ok(first)
    }
}

fn parse_id(text: &str) -> Result<i64, Error> {
    text.parse()
        .map_err(|_| Error::not_found(format!("'{text}' is not an id")))
}

fn no_route(method: &Method, rest: &str) -> Error {
    Error::not_found(format!(
        "Fixpoint's HaloPSA API has no {method} endpoint at /api/{rest}"
    ))
}

fn not_allowed(method: &Method, rest: &str, allowed: &str) -> Error {
    Error::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("/api/{rest} does not allow {method}; it allows {allowed}"),
    )
}

async fn dispatch(
    mut call: Call,
    limits: &Limits,
    rest: &str,
    uri: Uri,
) -> Result<Response, Error> {
    let lower: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    // Under Fixpoint's own and Atera's prefixes a path no route matched is theirs to
    // refuse, in their own error shape.
    if matches!(lower.first(), Some(&"v1" | &"v3")) {
        return Ok(fixpoint_server::app::no_such_route(uri)
            .await
            .into_response());
    }
    call.caller = Some(Caller::authenticate_access_token(&call.headers, &call.state).await?);
    let key = call.caller().key_id.to_string();
    if let Err(retry_after) = limits.per_client.check(&key, std::time::Instant::now()) {
        return Err(Error::rate_limited(
            limits.per_window,
            WINDOW_SECS,
            retry_after,
        ));
    }
    use Method as M;
    let method = call.method.clone();
    match (lower.as_slice(), &method) {
        (["tickets"], &M::GET) => tickets::list(&call).await,
        (["tickets"], &M::POST) => tickets::upsert(&call).await,
        (["tickets"], _) => Err(not_allowed(&method, rest, "GET, POST")),
        (["tickets", id], &M::GET) => tickets::get(&call, parse_id(id)?).await,
        (["tickets", id], &M::DELETE) => tickets::delete(&call, parse_id(id)?).await,
        (["tickets", _], _) => Err(not_allowed(&method, rest, "GET, DELETE")),
        (["tickets", id, "actions"], &M::GET) => actions::list(&call, Some(parse_id(id)?)).await,
        (["actions"], &M::GET) => actions::list(&call, None).await,
        (["actions"], &M::POST) => actions::upsert(&call).await,
        (["actions"], _) => Err(not_allowed(&method, rest, "GET, POST")),
        (["actions", id], &M::GET) => actions::get(&call, parse_id(id)?).await,
        (["actions", id], &M::DELETE) => actions::delete(&call, parse_id(id)?).await,
        (["actions", _], _) => Err(not_allowed(&method, rest, "GET, DELETE")),
        (["attachment"], &M::GET) => attachments::list(&call).await,
        (["attachment"], &M::POST) => attachments::upload(&call).await,
        (["attachment"], _) => Err(not_allowed(&method, rest, "GET, POST")),
        (["attachment", id], &M::GET) => attachments::get(&call, parse_id(id)?).await,
        (["attachment", _], _) => Err(not_allowed(&method, rest, "GET")),
        ([resource, tail @ ..], _) => match reference::Entity::parse(resource) {
            Some(resource) => reference::route(&call, resource, tail, rest).await,
            None => Err(no_route(&method, rest)),
        },
        ([], _) => Err(no_route(&method, rest)),
    }
}
