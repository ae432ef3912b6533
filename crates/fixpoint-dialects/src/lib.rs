//! Vendor API dialects: each module speaks one vendor's wire format (paths, field
//! names, envelopes, paging, errors) and translates it onto Fixpoint's service layer.
//! No rules live here: a vendor behaviour that is a real rule is a setting in core.

pub mod atera;

use axum::Router;
use fixpoint_server::AppState;

/// Every dialect's routes, for `fixpoint_server::router`.
pub fn routes() -> Router<AppState> {
    Router::new().merge(atera::routes())
}
