//! `/reports/tickets`: service metrics over a range of tickets.

use axum::extract::State;
use fixpoint_core::ids::{CompanyId, QueueId, ResourceId};
use fixpoint_core::metrics::{ReportScope, TicketReport};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Query, instant};
use crate::app::AppState;
use crate::auth::Caller;
use crate::errors::{ApiResult, Problem};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(tickets))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// Tickets created at or after this instant (RFC 3339).
    pub from: Option<String>,
    /// Tickets created before this instant.
    pub to: Option<String>,
    pub company_id: Option<i64>,
    pub queue_id: Option<i64>,
    /// Tickets assigned to this resource.
    pub resource_id: Option<i64>,
}

/// Ticket counts, resolution times (wall and business), SLA compliance, status and
/// priority distributions, escalations by level, billable and non-billable hours.
#[utoipa::path(get, path = "/reports/tickets", tag = "reports", params(ReportParams),
    responses((status = 200, body = TicketReport), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn tickets(
    State(s): State<AppState>,
    _c: Caller,
    Query(p): Query<ReportParams>,
) -> ApiResult<axum::Json<TicketReport>> {
    let scope = ReportScope {
        from: instant("from", p.from.as_deref())?,
        to: instant("to", p.to.as_deref())?,
        company_id: p.company_id.map(CompanyId),
        queue_id: p.queue_id.map(QueueId),
        resource_id: p.resource_id.map(ResourceId),
    };
    Ok(axum::Json(
        crate::service::reports::tickets(&s.store, &scope, s.now()).await?,
    ))
}
