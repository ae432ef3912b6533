//! Autotask's error body: `{"errors": ["message", …]}`, with the status a client can
//! act on (validation is 400 here, where real Autotask answers 500).

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fixpoint_core::ErrorCode;
use fixpoint_server::errors::ApiError;

use super::Call;
use super::entities::Entity;

#[derive(Debug)]
pub struct Error {
    pub status: StatusCode,
    pub errors: Vec<String>,
    retry_after: Option<u64>,
}

impl Error {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            errors: vec![message.into()],
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// A field-level validation error, named as Autotask names the field.
    pub fn field(field: &str, message: impl std::fmt::Display) -> Self {
        Self::bad_request(format!("{field}: {message}"))
    }

    pub(super) fn no_route(call: &Call, rest: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!(
                "Fixpoint's Autotask API has no {} endpoint at /ATServicesRest/{rest}",
                call.method
            ),
        )
    }

    pub(super) fn not_allowed(entity: Entity, method: &Method) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "{} does not allow {method} here; it allows: {}",
                entity.name(),
                entity.verbs()
            ),
        )
    }

    pub(super) fn threshold(per_hour: u32, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "the request threshold of {per_hour} requests per hour is used up; retry in {retry_after} s"
                ),
            )
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            axum::Json(serde_json::json!({"errors": self.errors})),
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        let status = match e.status() {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            other => other,
        };
        let errors = if e.errors.is_empty() || e.code == ErrorCode::NotFound {
            vec![e.detail]
        } else {
            e.errors
                .iter()
                .map(|v| format!("{}: {}", super::fields::autotask_name(&v.field), v.message))
                .collect()
        };
        Self {
            status,
            errors,
            retry_after: None,
        }
    }
}

crate::errors_via_api_error!(Error);

impl From<crate::body::FieldError> for Error {
    fn from(e: crate::body::FieldError) -> Self {
        Self::field(&e.field, e.message)
    }
}
