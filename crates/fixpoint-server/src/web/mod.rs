//! The technician's web UI: server-rendered pages (askama templates compiled into the
//! binary) over the same service layer as the API, a session cookie after sign-in,
//! a form token on every form, and a little progressive-enhancement JavaScript.

mod charts;
mod overview;
mod pages;

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::auth::same_secret;
use crate::rate_limit::RateLimit;
use crate::service::people::{self, Person, SESSION_HOURS};

const COOKIE: &str = "fixpoint_session";
/// Failed sign-ins per email before a pause.
const SIGN_IN_FAILURES_MAX: u32 = 5;
const SIGN_IN_PAUSE: Duration = Duration::from_secs(15 * 60);

#[derive(Clone)]
struct SignInFailures(Arc<RateLimit>);

pub fn routes() -> Router<AppState> {
    let failures = SignInFailures(Arc::new(RateLimit::new(
        SIGN_IN_FAILURES_MAX,
        SIGN_IN_PAUSE,
    )));
    Router::new()
        .route("/signin", get(sign_in_page).post(sign_in))
        .route("/signout", post(sign_out))
        .route("/", get(pages::my_work))
        .route("/tickets", get(pages::tickets))
        .route(
            "/tickets/new",
            get(pages::new_ticket).post(pages::open_ticket),
        )
        .route("/tickets/similar.json", get(pages::similar))
        .route(
            "/tickets/{id}",
            get(pages::ticket).post(pages::change_ticket),
        )
        .route("/tickets/{id}/notes", post(pages::add_note))
        .route("/tickets/{id}/time", post(pages::log_time))
        .route(
            "/tickets/{id}/attachments/{attachment_id}",
            get(pages::attachment),
        )
        .route("/reports", get(overview::reports))
        .route("/companies", get(overview::companies))
        .route("/contacts", get(overview::contacts))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        .layer(Extension(failures))
}

async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../static/app.css"),
    )
}

async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../static/app.js"),
    )
}

/// A page as HTML, or a plain error when the template cannot render (it always can:
/// templates are checked at compile time, their data is ours).
fn html(page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => Html(body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be shown",
            )
                .into_response()
        }
    }
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            pair.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(str::to_owned)
        })
        .filter(|t| !t.is_empty())
}

/// The signed-in person, or the way to the sign-in page (back here afterwards).
async fn signed_in(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<Person, Response> {
    let person = match session_token(headers) {
        Some(token) => people::person(&state.store, &token, state.now())
            .await
            .map_err(|e| failure(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))?,
        None => None,
    };
    person.ok_or_else(|| {
        let next = uri.path_and_query().map_or("/", |p| p.as_str());
        let target = format!(
            "/signin?next={}",
            form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        );
        Redirect::to(&target).into_response()
    })
}

/// A form posted by a signed-in person: the session must be live, the form token
/// must be this session's, and a browser's `Origin` must be this server.
async fn posted<T: DeserializeOwned + HasCsrf>(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    body: &Bytes,
) -> Result<(Person, T), Response> {
    let person = signed_in(state, headers, uri).await?;
    same_origin(headers).map_err(IntoResponse::into_response)?;
    let form: T = serde_urlencoded::from_bytes(body).map_err(|e| {
        failure(
            StatusCode::BAD_REQUEST,
            &format!("the form could not be read: {e}"),
        )
    })?;
    if !same_secret(form.csrf(), &person.csrf) {
        return Err(failure(
            StatusCode::FORBIDDEN,
            "this form has expired or did not come from Fixpoint; reload the page and try again",
        ));
    }
    Ok((person, form))
}

/// A request refused with a short page saying why.
struct Refusal {
    status: StatusCode,
    message: &'static str,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        failure(self.status, self.message)
    }
}

/// Refuses a cross-site form post (a browser always sends `Origin` on one).
fn same_origin(headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get("x-forwarded-host")
        .or(headers.get(header::HOST))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    if origin == "null" || origin_host != host {
        return Err(Refusal {
            status: StatusCode::FORBIDDEN,
            message: "this form was sent from another site; Fixpoint only takes its own forms",
        });
    }
    Ok(())
}

trait HasCsrf {
    fn csrf(&self) -> &str;
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    signed_in: Option<&'a Person>,
    heading: &'a str,
    message: &'a str,
}

/// A short page that says what went wrong.
fn failure(status: StatusCode, message: &str) -> Response {
    let heading = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
        s if s.is_client_error() => "That did not work",
        _ => "Something went wrong",
    };
    let page = MessagePage {
        signed_in: None,
        heading,
        message,
    };
    (status, html(&page)).into_response()
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage<'a> {
    signed_in: Option<&'a Person>,
    problem: Option<String>,
    next: String,
    email: String,
}

#[derive(Deserialize, Default)]
struct SignInQuery {
    next: Option<String>,
}

/// Only a path on this server: never an open redirect.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

async fn sign_in_page(uri: Uri) -> Response {
    let query: SignInQuery = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    html(&SignInPage {
        signed_in: None,
        problem: None,
        next: local_path(query.next.as_deref()),
        email: String::new(),
    })
}

#[derive(Deserialize)]
struct SignInForm {
    email: String,
    password: String,
    next: Option<String>,
}

async fn sign_in(
    State(state): State<AppState>,
    Extension(failures): Extension<SignInFailures>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = same_origin(&headers) {
        return refused.into_response();
    }
    let Ok(form) = serde_urlencoded::from_bytes::<SignInForm>(&body) else {
        return failure(StatusCode::BAD_REQUEST, "send the email and the password");
    };
    let next = local_path(form.next.as_deref());
    let again = |status: StatusCode, problem: String| {
        let page = SignInPage {
            signed_in: None,
            problem: Some(problem),
            next: next.clone(),
            email: form.email.clone(),
        };
        (status, html(&page)).into_response()
    };
    let key = form.email.trim().to_lowercase();
    let now = std::time::Instant::now();
    if let Some(seconds) = failures.0.blocked(&key, now) {
        return again(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed sign-ins for this email. Try again in {} minutes.",
                seconds.div_ceil(60)
            ),
        );
    }
    match people::sign_in(&state.store, &form.email, &form.password, state.now()).await {
        Ok(Some((token, _))) => {
            let cookie = format!(
                "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
                SESSION_HOURS * 3600
            );
            let mut response = Redirect::to(&next).into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Ok(None) => {
            let _ = failures.0.check(&key, now);
            again(
                StatusCode::UNAUTHORIZED,
                "The email or the password is wrong.".to_owned(),
            )
        }
        Err(e) => failure(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}

impl HasCsrf for CsrfOnly {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    if let Err(refused) = posted::<CsrfOnly>(&state, &headers, &uri, &body).await {
        return refused;
    }
    if let Some(token) = session_token(&headers)
        && let Err(e) = people::sign_out(&state.store, &token).await
    {
        return failure(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
    }
    let mut response = Redirect::to("/signin").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("fixpoint_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    response
}
