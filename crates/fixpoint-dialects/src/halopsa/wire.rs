//! HaloPSA's error bodies: always JSON, with OAuth2's `error` and
//! `error_description` (clients index both on a 401), and for validation an `errors`
//! list of `{field, message}` in HaloPSA's field names.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fixpoint_core::ErrorCode;
use fixpoint_server::errors::ApiError;
use serde_json::json;

#[derive(Debug)]
pub struct Error {
    pub status: StatusCode,
    /// OAuth2-style code: `invalid_request`, `invalid_client`, `invalid_token`,
    /// `forbidden`, `not_found`, …
    pub error: &'static str,
    pub description: String,
    /// Validation failures, field by field.
    pub errors: Vec<(String, String)>,
    retry_after: Option<u64>,
}

impl Error {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn field(field: &str, message: impl std::fmt::Display) -> Self {
        let message = message.to_string();
        Self {
            errors: vec![(field.to_owned(), message.clone())],
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("{field}: {message}"),
            )
        }
    }

    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", description)
    }

    pub fn unauthorized(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
    }

    pub fn rate_limited(per_window: u32, window_secs: u64, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "this API client made more than {per_window} requests in {window_secs} s; retry in {retry_after} s"
                ),
            )
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let errors: Vec<_> = self
            .errors
            .iter()
            .map(|(field, message)| json!({"field": field, "message": message}))
            .collect();
        let mut body = json!({"error": self.error, "error_description": self.description});
        if !errors.is_empty() {
            body["errors"] = json!(errors);
        }
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}

/// A Fixpoint field path as HaloPSA names it (`title` → `summary`).
pub fn halo_name(field: &str) -> String {
    let (head, rest) = field
        .find(['.', '['])
        .map_or((field, ""), |i| field.split_at(i));
    let name = match head {
        "title" => "summary",
        "description" => "details",
        "company_id" => "client_id",
        "location_id" => "site_id",
        "contact_id" => "user_id",
        "type_id" => "tickettype_id",
        "queue_id" => "team_id",
        "assigned_resource_id" => "agent_id",
        "sla_policy_id" => "sla_id",
        "estimated_minutes" => "estimate",
        "problem_ticket_id" => "parent_id",
        "due_at" => "deadlinedate",
        "custom_fields" => "customfields",
        "categories" => "category_1",
        "body" => "note",
        "resource_id" => "agent_id",
        "minutes" => "timetaken",
        "first_name" => "firstname",
        "last_name" => "surname",
        "email" => "emailaddress",
        other => other,
    };
    format!("{name}{rest}")
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        let status = match e.status() {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            other => other,
        };
        let error = match e.code {
            ErrorCode::NotFound | ErrorCode::NoSuchRoute => "not_found",
            ErrorCode::Unauthorized => "invalid_token",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::VersionConflict | ErrorCode::AlreadyExists => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::Internal => "server_error",
            _ if status == StatusCode::CONFLICT => "conflict",
            _ => "invalid_request",
        };
        let errors: Vec<(String, String)> = e
            .errors
            .iter()
            .map(|v| (halo_name(&v.field), v.message.clone()))
            .collect();
        let description = if errors.is_empty() {
            e.detail
        } else {
            errors
                .iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        Self {
            status,
            error,
            description,
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
