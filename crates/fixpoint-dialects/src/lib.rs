//! Vendor API dialects: each module speaks one vendor's wire format (paths, field
//! names, envelopes, paging, errors) and translates it onto Fixpoint's service layer.
//! No rules live here: a vendor behaviour that is a real rule is a setting in core.

pub mod atera;
pub mod autotask;

use axum::Router;
use fixpoint_server::AppState;

/// What an operator can tune in the dialects.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Requests per minute per API key on `/api/v3`, as Atera allows (700).
    pub atera_requests_per_minute: u32,
    /// Requests per hour for the whole database on `/ATServicesRest`, as Autotask
    /// allows (10,000).
    pub autotask_requests_per_hour: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            atera_requests_per_minute: 700,
            autotask_requests_per_hour: 10_000,
        }
    }
}

/// Every dialect's routes, for `fixpoint_server::router`.
pub fn routes(settings: &Settings) -> Router<AppState> {
    Router::new()
        .merge(atera::routes(settings.atera_requests_per_minute))
        .merge(autotask::routes(settings.autotask_requests_per_hour))
}
