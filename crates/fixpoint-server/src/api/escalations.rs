//! `/escalations`: open escalations, newest first.

use axum::extract::State;
use fixpoint_core::ids::{CompanyId, QueueId};
use fixpoint_store::escalation::{EscalationEntry, EscalationFilter};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Query, limit};
use crate::app::AppState;
use crate::auth::Caller;
use crate::errors::{ApiResult, Problem};
use crate::service::escalation as service;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EscalationParams {
    /// 1, 2 or 3.
    pub level: Option<i64>,
    pub queue_id: Option<i64>,
    pub company_id: Option<i64>,
    /// At most 500; 50 when omitted.
    pub limit: Option<u64>,
}

/// Escalations of tickets that are still open: SLA overdue (levels 1–3 at 0, 4 and 8
/// hours), waiting on the customer for over 7 days, Critical with nobody assigned.
#[utoipa::path(get, path = "/escalations", tag = "sla", params(EscalationParams),
    responses((status = 200, body = Vec<EscalationEntry>), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn list(
    State(s): State<AppState>,
    _c: Caller,
    Query(p): Query<EscalationParams>,
) -> ApiResult<axum::Json<Vec<EscalationEntry>>> {
    let filter = EscalationFilter {
        level: p.level,
        queue_id: p.queue_id.map(QueueId),
        company_id: p.company_id.map(CompanyId),
        limit: limit(p.limit)?,
    };
    Ok(axum::Json(
        service::open_escalations(&s.store, &filter).await?,
    ))
}
