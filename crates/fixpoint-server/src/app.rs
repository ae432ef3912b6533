//! The router and the server loop.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use fixpoint_core::ErrorCode;
use fixpoint_store::Store;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::clock::Clock;
use crate::errors::{ApiError, error_table};

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: Clock,
    pub messaging: Arc<crate::messaging::Settings>,
    openapi: Arc<String>,
}

impl AppState {
    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Fixpoint API",
        description = "The native API of Fixpoint, a self-hosted PSA service desk. Every request needs \
            `Authorization: Bearer <key>`. Errors are `application/problem+json` with a stable `code` \
            (table at `/api/v1/errors`) and the failing `field`.",
        license(name = "AGPL-3.0-or-later")
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "tickets", description = "Tickets, their notes, time and history"),
        (name = "companies", description = "Client companies and their locations"),
        (name = "contacts", description = "People at client companies"),
        (name = "resources", description = "Technicians and their roles"),
        (name = "queues"), (name = "contracts"),
        (name = "catalogue", description = "Statuses, priorities, types and the workflow"),
        (name = "sla", description = "Business calendars and SLA policies"),
        (name = "reports", description = "Service metrics"),
        (name = "access", description = "API keys"),
        (name = "messages", description = "Webhooks, mail sent and received, mail templates"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A Fixpoint API key"))
                    .build(),
            ),
        );
    }
}

/// The native API's routes with their OpenAPI document.
fn native_api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(
            "/api/v1",
            OpenApiRouter::new()
                .merge(crate::api::tickets::routes())
                .merge(crate::api::attachments::routes())
                .merge(crate::api::parties::routes())
                .merge(crate::api::catalog::routes())
                .merge(crate::api::sla::routes())
                .merge(crate::api::escalations::routes())
                .merge(crate::api::messages::routes())
                .merge(crate::api::reports::routes())
                .merge(crate::api::keys::routes()),
        )
        .split_for_parts()
}

/// The OpenAPI document, as served at `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    native_api().1
}

/// The whole HTTP surface: the native API, its documents and probes, and the vendor
/// dialects' routes (from `fixpoint-dialects`, mounted by the binary; they share the
/// state, so the same keys, service layer and store answer them).
pub fn router(
    store: Store,
    clock: Clock,
    messaging: Arc<crate::messaging::Settings>,
    dialects: Router<AppState>,
) -> Router {
    let (api, openapi) = native_api();
    let openapi = Arc::new(openapi.to_pretty_json().unwrap_or_default());
    let state = AppState {
        store,
        clock,
        messaging,
        openapi,
    };
    Router::new()
        .merge(api)
        .merge(dialects)
        .merge(crate::web::routes())
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/v1/docs", get(docs))
        .route("/api/v1/errors", get(errors))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(no_such_route)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn openapi_json(State(state): State<AppState>) -> Response {
    let mut response = state.openapi.as_str().to_owned().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn docs() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}

async fn errors() -> axum::Json<Vec<crate::errors::ErrorTableEntry>> {
    axum::Json(error_table())
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// The native API's answer for a path nothing serves.
pub async fn no_such_route(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        ErrorCode::NoSuchRoute,
        format!("there is no endpoint at {}; see /api/v1/docs", uri.path()),
    )
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
