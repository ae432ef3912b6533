//! Statuses, priorities, ticket types, issue types and the workflow. Everyone reads;
//! admins add and rename.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use fixpoint_core::catalog::{
    IssueType, Priority, Status, TicketCategory, TicketType, WorkflowSettings,
};
use fixpoint_core::ids::{PriorityId, StatusId, TicketCategoryId, TicketTypeId};
use fixpoint_store::catalog as rows;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Id;
use crate::app::AppState;
use crate::auth::Caller;
use crate::errors::{ApiResult, Problem};
use crate::json::Json;
use crate::service::catalog::{
    self as service, NewIssueType, NewStatus, Numbering, NumberingInput, PriorityInput,
    StatusPatch, TicketCategoryInput, TicketTypeInput, Workflow,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_statuses, create_status))
        .routes(routes!(update_status))
        .routes(routes!(list_priorities, create_priority))
        .routes(routes!(update_priority))
        .routes(routes!(list_ticket_types, create_ticket_type))
        .routes(routes!(update_ticket_type))
        .routes(routes!(list_ticket_categories, create_ticket_category))
        .routes(routes!(update_ticket_category))
        .routes(routes!(list_issue_types, create_issue_type))
        .routes(routes!(get_workflow))
        .routes(routes!(put_workflow_settings))
        .routes(routes!(get_numbering))
        .routes(routes!(put_numbering))
}

/// How a vendor dialect (`autotask`) numbers statuses, priorities and ticket types.
#[utoipa::path(get, path = "/dialects/{dialect}/codes", tag = "catalogue", params(("dialect" = String, Path)),
    responses((status = 200, body = Numbering), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn get_numbering(
    State(s): State<AppState>,
    _c: Caller,
    Path(dialect): Path<String>,
) -> ApiResult<axum::Json<Numbering>> {
    Ok(axum::Json(service::numbering(&s.store, &dialect).await?))
}

/// Replaces a dialect's numbering of one catalogue (`status`, `priority`,
/// `ticket_type`), as a tenant's picklists number them.
#[utoipa::path(put, path = "/dialects/{dialect}/codes/{catalogue}", tag = "catalogue",
    params(("dialect" = String, Path), ("catalogue" = String, Path)), request_body = NumberingInput,
    responses((status = 200, body = Numbering), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn put_numbering(
    State(s): State<AppState>,
    caller: Caller,
    Path((dialect, catalogue)): Path<(String, String)>,
    Json(input): Json<NumberingInput>,
) -> ApiResult<axum::Json<Numbering>> {
    caller.require_admin()?;
    Ok(axum::Json(
        service::set_numbering(&s.store, &dialect, &catalogue, input).await?,
    ))
}

/// Statuses with their SLA clock behaviour and what entering them requires.
#[utoipa::path(get, path = "/statuses", tag = "catalogue", responses((status = 200, body = Vec<Status>)), security(("api_key" = [])))]
async fn list_statuses(
    State(s): State<AppState>,
    _c: Caller,
) -> ApiResult<axum::Json<Vec<Status>>> {
    let mut conn = s.store.read().await?;
    Ok(axum::Json(rows::statuses(&mut conn).await?))
}

#[utoipa::path(post, path = "/statuses", tag = "catalogue", request_body = NewStatus,
    responses((status = 201, body = Status), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn create_status(
    State(s): State<AppState>,
    caller: Caller,
    Json(new): Json<NewStatus>,
) -> ApiResult<(StatusCode, axum::Json<Status>)> {
    caller.require_admin()?;
    Ok((
        StatusCode::CREATED,
        axum::Json(service::create_status(&s.store, new).await?),
    ))
}

#[utoipa::path(patch, path = "/statuses/{id}", tag = "catalogue", params(("id" = i64, Path)), request_body = StatusPatch,
    responses((status = 200, body = Status), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn update_status(
    State(s): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(patch): Json<StatusPatch>,
) -> ApiResult<axum::Json<Status>> {
    caller.require_admin()?;
    Ok(axum::Json(
        service::update_status(&s.store, StatusId(id), patch).await?,
    ))
}

/// Priorities, most urgent first.
#[utoipa::path(get, path = "/priorities", tag = "catalogue", responses((status = 200, body = Vec<Priority>)), security(("api_key" = [])))]
async fn list_priorities(
    State(s): State<AppState>,
    _c: Caller,
) -> ApiResult<axum::Json<Vec<Priority>>> {
    let mut conn = s.store.read().await?;
    Ok(axum::Json(rows::priorities(&mut conn).await?))
}

#[utoipa::path(post, path = "/priorities", tag = "catalogue", request_body = PriorityInput,
    responses((status = 201, body = Priority), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn create_priority(
    State(s): State<AppState>,
    caller: Caller,
    Json(input): Json<PriorityInput>,
) -> ApiResult<(StatusCode, axum::Json<Priority>)> {
    caller.require_admin()?;
    Ok((
        StatusCode::CREATED,
        axum::Json(service::save_priority(&s.store, None, input).await?),
    ))
}

#[utoipa::path(patch, path = "/priorities/{id}", tag = "catalogue", params(("id" = i64, Path)), request_body = PriorityInput,
    responses((status = 200, body = Priority), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn update_priority(
    State(s): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(input): Json<PriorityInput>,
) -> ApiResult<axum::Json<Priority>> {
    caller.require_admin()?;
    Ok(axum::Json(
        service::save_priority(&s.store, Some(PriorityId(id)), input).await?,
    ))
}

#[utoipa::path(get, path = "/ticket-types", tag = "catalogue", responses((status = 200, body = Vec<TicketType>)), security(("api_key" = [])))]
async fn list_ticket_types(
    State(s): State<AppState>,
    _c: Caller,
) -> ApiResult<axum::Json<Vec<TicketType>>> {
    let mut conn = s.store.read().await?;
    Ok(axum::Json(rows::ticket_types(&mut conn).await?))
}

#[utoipa::path(post, path = "/ticket-types", tag = "catalogue", request_body = TicketTypeInput,
    responses((status = 201, body = TicketType), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn create_ticket_type(
    State(s): State<AppState>,
    caller: Caller,
    Json(input): Json<TicketTypeInput>,
) -> ApiResult<(StatusCode, axum::Json<TicketType>)> {
    caller.require_admin()?;
    Ok((
        StatusCode::CREATED,
        axum::Json(service::save_ticket_type(&s.store, None, input).await?),
    ))
}

#[utoipa::path(patch, path = "/ticket-types/{id}", tag = "catalogue", params(("id" = i64, Path)), request_body = TicketTypeInput,
    responses((status = 200, body = TicketType), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn update_ticket_type(
    State(s): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(input): Json<TicketTypeInput>,
) -> ApiResult<axum::Json<TicketType>> {
    caller.require_admin()?;
    Ok(axum::Json(
        service::save_ticket_type(&s.store, Some(TicketTypeId(id)), input).await?,
    ))
}

/// Ticket categories: templates whose defaults fill a new ticket, and the queue they
/// may require.
#[utoipa::path(get, path = "/ticket-categories", tag = "catalogue", responses((status = 200, body = Vec<TicketCategory>)), security(("api_key" = [])))]
async fn list_ticket_categories(
    State(s): State<AppState>,
    _c: Caller,
) -> ApiResult<axum::Json<Vec<TicketCategory>>> {
    let mut conn = s.store.read().await?;
    Ok(axum::Json(rows::ticket_categories(&mut conn).await?))
}

#[utoipa::path(post, path = "/ticket-categories", tag = "catalogue", request_body = TicketCategoryInput,
    responses((status = 201, body = TicketCategory), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn create_ticket_category(
    State(s): State<AppState>,
    caller: Caller,
    Json(input): Json<TicketCategoryInput>,
) -> ApiResult<(StatusCode, axum::Json<TicketCategory>)> {
    caller.require_admin()?;
    Ok((
        StatusCode::CREATED,
        axum::Json(service::save_ticket_category(&s.store, None, input).await?),
    ))
}

#[utoipa::path(patch, path = "/ticket-categories/{id}", tag = "catalogue", params(("id" = i64, Path)), request_body = TicketCategoryInput,
    responses((status = 200, body = TicketCategory), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn update_ticket_category(
    State(s): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(input): Json<TicketCategoryInput>,
) -> ApiResult<axum::Json<TicketCategory>> {
    caller.require_admin()?;
    Ok(axum::Json(
        service::save_ticket_category(&s.store, Some(TicketCategoryId(id)), input).await?,
    ))
}

/// Issue types and, under them (`parent_id`), sub-issue types.
#[utoipa::path(get, path = "/issue-types", tag = "catalogue", responses((status = 200, body = Vec<IssueType>)), security(("api_key" = [])))]
async fn list_issue_types(
    State(s): State<AppState>,
    _c: Caller,
) -> ApiResult<axum::Json<Vec<IssueType>>> {
    let mut conn = s.store.read().await?;
    Ok(axum::Json(rows::issue_types(&mut conn).await?))
}

#[utoipa::path(post, path = "/issue-types", tag = "catalogue", request_body = NewIssueType,
    responses((status = 201, body = IssueType), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn create_issue_type(
    State(s): State<AppState>,
    caller: Caller,
    Json(new): Json<NewIssueType>,
) -> ApiResult<(StatusCode, axum::Json<IssueType>)> {
    caller.require_admin()?;
    Ok((
        StatusCode::CREATED,
        axum::Json(service::create_issue_type(&s.store, new).await?),
    ))
}

/// The allowed status moves and the workflow switches.
#[utoipa::path(get, path = "/workflow", tag = "catalogue", responses((status = 200, body = Workflow)), security(("api_key" = [])))]
async fn get_workflow(State(s): State<AppState>, _c: Caller) -> ApiResult<axum::Json<Workflow>> {
    Ok(axum::Json(service::workflow(&s.store).await?))
}

/// Set the workflow switches, e.g. `close_requires_resolved` (Atera's rule).
#[utoipa::path(put, path = "/workflow/settings", tag = "catalogue", request_body = WorkflowSettings,
    responses((status = 200, body = WorkflowSettings), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn put_workflow_settings(
    State(s): State<AppState>,
    caller: Caller,
    Json(settings): Json<WorkflowSettings>,
) -> ApiResult<axum::Json<WorkflowSettings>> {
    caller.require_admin()?;
    Ok(axum::Json(
        service::save_settings(&s.store, settings).await?,
    ))
}
