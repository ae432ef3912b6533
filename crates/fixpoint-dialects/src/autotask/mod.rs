//! Autotask REST under `/ATServicesRest/V1.0/`: zone discovery, the three-header
//! credentials, the threshold, and the entities (tickets, their notes and time,
//! companies, contacts, resources, roles, contracts, SLAs, ticket history) in
//! Autotask's field names, numbering, filter language, paging and error body.
//!
//! Autotask's paths are matched case-insensitively, which axum's router does not do:
//! one catch-all route hands every request to [`dispatch`].

mod entities;
mod fields;
mod query;
mod tickets;
pub mod wire;

use std::io::Read as _;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use fixpoint_server::AppState;
use fixpoint_server::auth::Caller;
use fixpoint_server::rate_limit::RateLimit;
use serde_json::{Value, json};

use entities::Entity;
pub use wire::Error;

const ROOT: &str = "atservicesrest";
const VERSION: &str = "v1.0";
/// The whole database shares one threshold, as in Autotask.
const THRESHOLD_KEY: &str = "database";

#[derive(Clone)]
struct Limits {
    threshold: Arc<RateLimit>,
    per_hour: u32,
}

pub fn routes(requests_per_hour: u32) -> Router<AppState> {
    let limits = Limits {
        threshold: Arc::new(RateLimit::new(
            requests_per_hour,
            std::time::Duration::from_secs(3600),
        )),
        per_hour: requests_per_hour,
    };
    Router::new().route(
        "/{root}/{*rest}",
        any(
            move |State(state): State<AppState>,
                  Path((root, rest)): Path<(String, String)>,
                  method: Method,
                  uri: Uri,
                  headers: HeaderMap,
                  body: Bytes| {
                let limits = limits.clone();
                async move {
                    if !root.eq_ignore_ascii_case(ROOT) {
                        return fixpoint_server::app::no_such_route(uri)
                            .await
                            .into_response();
                    }
                    let call = Call {
                        state,
                        method,
                        params: uri
                            .query()
                            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                            .unwrap_or_default(),
                        base: format!("{}/ATServicesRest/", crate::origin(&headers)),
                        headers,
                        body,
                        caller: None,
                    };
                    dispatch(call, &limits, &rest)
                        .await
                        .unwrap_or_else(IntoResponse::into_response)
                }
            },
        ),
    )
}

/// One request, as the entity handlers see it.
pub(crate) struct Call {
    state: AppState,
    method: Method,
    headers: HeaderMap,
    params: Vec<(String, String)>,
    body: Bytes,
    /// `http://host/ATServicesRest/` as the client reached it.
    base: String,
    /// The API user, authenticated once by [`dispatch`] before any entity handler.
    caller: Option<Caller>,
}

impl Call {
    fn param(&self, name: &str) -> Option<&str> {
        crate::param(&self.params, name)
    }

    /// The JSON body, gunzipped when it starts with gzip's magic bytes (one client
    /// sends `Content-Encoding: gzip` over plain JSON).
    fn json(&self) -> Result<Value, Error> {
        let bytes: std::borrow::Cow<'_, [u8]> = if self.body.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&self.body[..])
                .take(16 * 1024 * 1024)
                .read_to_end(&mut out)
                .map_err(|e| Error::bad_request(format!("the gzip body cannot be read: {e}")))?;
            out.into()
        } else {
            (&self.body[..]).into()
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::bad_request("the request needs a JSON body"));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::bad_request(format!("the body is not valid JSON: {e}")))
    }

    fn caller(&self) -> Result<&Caller, Error> {
        self.caller.as_ref().ok_or_else(|| {
            Error::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "send the UserName, Secret and ApiIntegrationcode headers of a Fixpoint API user",
            )
        })
    }

    fn writer(&self) -> Result<&Caller, Error> {
        let caller = self.caller()?;
        caller.require_write()?;
        Ok(caller)
    }
}

fn ok(body: Value) -> Result<Response, Error> {
    Ok(axum::Json(body).into_response())
}

async fn dispatch(mut call: Call, limits: &Limits, rest: &str) -> Result<Response, Error> {
    let lower: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    match lower.as_slice() {
        ["versioninformation"] => return ok(json!({"apiVersions": ["1.0"]})),
        [VERSION, "zoneinformation"] => {
            return ok(json!({
                "zoneName": "Fixpoint",
                "url": call.base,
                "webUrl": call.base.trim_end_matches("ATServicesRest/"),
                "ci": 0,
            }));
        }
        [VERSION, ..] => {}
        _ => return Err(Error::no_route(&call, rest)),
    }
    // Every other call needs the API user's headers, and counts against the threshold.
    call.caller = Some(Caller::authenticate_api_user(&call.headers, &call.state).await?);
    let count = match limits
        .threshold
        .check(THRESHOLD_KEY, std::time::Instant::now())
    {
        Ok(count) => count,
        Err(retry_after) => return Err(Error::threshold(limits.per_hour, retry_after)),
    };
    let lower = &lower[1..];
    let method = call.method.clone();
    match (lower, &method) {
        (["version"], &Method::GET) => {
            ok(json!({"majorVersion": 1, "minorVersion": 0, "build": env!("CARGO_PKG_VERSION")}))
        }
        (["thresholdinformation"], &Method::GET) => ok(json!({
            "externalRequestThreshold": limits.per_hour,
            "requestThresholdTimeframe": 60,
            "currentTimeframeRequestCount": count,
        })),
        ([entity, tail @ ..], _) => {
            let entity = Entity::parse(entity).ok_or_else(|| Error::no_route(&call, rest))?;
            route(&call, entity, tail, rest).await
        }
        _ => Err(Error::no_route(&call, rest)),
    }
}

/// Everything under `/V1.0/{Entity}/…`.
async fn route(call: &Call, entity: Entity, lower: &[&str], rest: &str) -> Result<Response, Error> {
    use Method as M;
    let method = &call.method;
    match (lower, method) {
        (["entityinformation"], &M::GET) => ok(fields::info(entity)),
        (["entityinformation", "fields"], &M::GET) => ok(fields::fields(call, entity).await?),
        (["entityinformation", "userdefinedfields"], &M::GET) => {
            ok(fields::user_defined(call, entity).await?)
        }
        (["query"], &M::GET | &M::POST) => query::query(call, entity, None).await,
        (["query", "count"], &M::GET | &M::POST) => query::count(call, entity, None).await,
        (["query", "next" | "previous"], &M::GET | &M::POST) => query::follow(call, entity).await,
        ([], &M::POST) => entities::create(call, entity, None).await,
        ([], &M::PATCH | &M::PUT) => entities::update(call, entity, None, None).await,
        ([id], _) if id.parse::<i64>().is_ok() => {
            let id = parse_id(id)?;
            match *method {
                M::GET => entities::get(call, entity, id).await,
                M::PATCH | M::PUT => entities::update(call, entity, Some(id), None).await,
                M::DELETE => entities::delete(call, entity, id, None).await,
                _ => Err(Error::not_allowed(entity, method)),
            }
        }
        ([parent, child, tail @ ..], _) if parent.parse::<i64>().is_ok() => {
            let parent_id = parse_id(parent)?;
            let child = entity
                .child(child)
                .ok_or_else(|| Error::no_route(call, rest))?;
            let under = Some((entity, parent_id));
            match (tail, method) {
                ([], &M::POST) => entities::create(call, child, under).await,
                ([], &M::PATCH | &M::PUT) => entities::update(call, child, None, under).await,
                ([], &M::GET) => query::children(call, child, under).await,
                (["query"], &M::GET | &M::POST) => query::query(call, child, under).await,
                (["query", "count"], &M::GET | &M::POST) => query::count(call, child, under).await,
                ([id], _) if id.parse::<i64>().is_ok() => {
                    let id = parse_id(id)?;
                    match *method {
                        M::GET => entities::get_under(call, child, id, under).await,
                        M::PATCH | M::PUT => entities::update(call, child, Some(id), under).await,
                        M::DELETE => entities::delete(call, child, id, under).await,
                        _ => Err(Error::not_allowed(child, method)),
                    }
                }
                _ => Err(Error::not_allowed(child, method)),
            }
        }
        (["query" | "entityinformation", ..], _) | ([], _) => {
            Err(Error::not_allowed(entity, method))
        }
        _ => Err(Error::no_route(call, rest)),
    }
}

fn parse_id(text: &str) -> Result<i64, Error> {
    text.parse()
        .map_err(|_| Error::bad_request(format!("'{text}' is not an id")))
}
