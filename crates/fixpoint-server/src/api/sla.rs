//! `/calendars` and `/sla-policies`.

use axum::extract::State;
use axum::http::StatusCode;
use fixpoint_core::sla::SlaPolicy;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::Caller;
use crate::errors::{ApiResult, Problem};
use crate::json::Json;
use crate::service::sla::{self as service, CalendarView, NewCalendar, NewPolicy};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_calendars, create_calendar))
        .routes(routes!(list_policies, create_policy))
}

/// Business calendars: time zone, weekly openings, holidays.
#[utoipa::path(get, path = "/calendars", tag = "sla", responses((status = 200, body = Vec<CalendarView>)), security(("api_key" = [])))]
async fn list_calendars(
    State(s): State<AppState>,
    _c: Caller,
) -> ApiResult<axum::Json<Vec<CalendarView>>> {
    Ok(axum::Json(service::calendars(&s.store).await?))
}

#[utoipa::path(post, path = "/calendars", tag = "sla", request_body = NewCalendar,
    responses((status = 201, body = CalendarView), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn create_calendar(
    State(s): State<AppState>,
    caller: Caller,
    Json(new): Json<NewCalendar>,
) -> ApiResult<(StatusCode, axum::Json<CalendarView>)> {
    caller.require_admin()?;
    Ok((
        StatusCode::CREATED,
        axum::Json(service::create_calendar(&s.store, new).await?),
    ))
}

/// SLA policies: first-response and resolution targets per priority, on a calendar.
#[utoipa::path(get, path = "/sla-policies", tag = "sla", responses((status = 200, body = Vec<SlaPolicy>)), security(("api_key" = [])))]
async fn list_policies(
    State(s): State<AppState>,
    _c: Caller,
) -> ApiResult<axum::Json<Vec<SlaPolicy>>> {
    Ok(axum::Json(service::policies(&s.store).await?))
}

#[utoipa::path(post, path = "/sla-policies", tag = "sla", request_body = NewPolicy,
    responses((status = 201, body = SlaPolicy), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn create_policy(
    State(s): State<AppState>,
    caller: Caller,
    Json(new): Json<NewPolicy>,
) -> ApiResult<(StatusCode, axum::Json<SlaPolicy>)> {
    caller.require_admin()?;
    Ok((
        StatusCode::CREATED,
        axum::Json(service::create_policy(&s.store, new).await?),
    ))
}
