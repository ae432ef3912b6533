#![recursion_limit = "256"]
//! Vendor API dialects: each module speaks one vendor's wire format (paths, field
//! names, envelopes, paging, errors) and translates it onto Fixpoint's service layer.
//! No rules live here: a vendor behaviour that is a real rule is a setting in core.

/// A dialect's error answers every error of the layers below as the native API would
/// classify it (its `From<ApiError>`), then in its own words.
macro_rules! errors_via_api_error {
    ($error:ty) => {
        impl From<fixpoint_server::service::ServiceError> for $error {
            fn from(e: fixpoint_server::service::ServiceError) -> Self {
                fixpoint_server::errors::ApiError::from(e).into()
            }
        }

        impl From<fixpoint_store::StoreError> for $error {
            fn from(e: fixpoint_store::StoreError) -> Self {
                fixpoint_server::errors::ApiError::from(e).into()
            }
        }

        impl From<fixpoint_core::DomainError> for $error {
            fn from(e: fixpoint_core::DomainError) -> Self {
                fixpoint_server::errors::ApiError::from(
                    fixpoint_server::service::ServiceError::from(e),
                )
                .into()
            }
        }
    };
}
pub(crate) use errors_via_api_error;

pub mod atera;
pub mod autotask;
mod body;
pub mod halopsa;
mod numbering;

use axum::Router;
use fixpoint_server::AppState;

/// The facade's own origin (`http://host`), as the client reached it: paging links
/// and zone discovery point back at it.
pub(crate) fn origin(headers: &axum::http::HeaderMap) -> String {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let scheme = header("x-forwarded-proto").unwrap_or("http");
    let host = header("x-forwarded-host")
        .or(header("host"))
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

/// A query parameter by name, case-insensitively (`customerId` or `CustomerID`);
/// an empty value counts as absent.
pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// What an operator can tune in the dialects.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Requests per minute per API key on `/api/v3`, as Atera allows (700).
    pub atera_requests_per_minute: u32,
    /// Requests per hour for the whole database on `/ATServicesRest`, as Autotask
    /// allows (10,000).
    pub autotask_requests_per_hour: u32,
    /// Requests per rolling 180 s per API client on `/api`, as HaloPSA allows (500).
    pub halopsa_requests_per_window: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            atera_requests_per_minute: 700,
            autotask_requests_per_hour: 10_000,
            halopsa_requests_per_window: 500,
        }
    }
}

/// Every dialect's routes, for `fixpoint_server::router`.
pub fn routes(settings: &Settings) -> Router<AppState> {
    Router::new()
        .merge(atera::routes(settings.atera_requests_per_minute))
        .merge(autotask::routes(settings.autotask_requests_per_hour))
        .merge(halopsa::routes(settings.halopsa_requests_per_window))
}
