//! The one error table of the HTTP edge: every [`ErrorCode`] has one status and one
//! title, and every error leaves as `application/problem+json` (RFC 9457).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fixpoint_core::{DomainError, ErrorCode, Violation};
use fixpoint_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// Status and title of each code. The dialects use the same table for the status.
pub fn describe(code: ErrorCode) -> (StatusCode, &'static str) {
    use ErrorCode::*;
    match code {
        MalformedJson => (
            StatusCode::BAD_REQUEST,
            "The request body is not valid JSON",
        ),
        InvalidField => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "A field has the wrong type or an unknown name",
        ),
        Required => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "A required field is missing",
        ),
        TooLong => (StatusCode::UNPROCESSABLE_ENTITY, "A text field is too long"),
        TooMany => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "A list has too many entries",
        ),
        OutOfRange => (StatusCode::UNPROCESSABLE_ENTITY, "A number is out of range"),
        UnknownReference => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "A referenced record does not exist",
        ),
        InactiveValue => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "An inactive value cannot be newly assigned",
        ),
        ContactNotInCompany => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "The contact does not belong to the ticket's company",
        ),
        LocationNotInCompany => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "The location does not belong to the ticket's company",
        ),
        ContractNotForCompany => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "The contract does not belong to the ticket's company",
        ),
        SubIssueWithoutIssue => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "A sub-issue type needs its issue type",
        ),
        SubIssueNotUnderIssue => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "The sub-issue type belongs to another issue type",
        ),
        ResourceAndRoleTogether => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Resource and role are assigned together",
        ),
        SecondaryIsPrimary => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "The primary resource cannot also be secondary",
        ),
        DuplicateSecondary => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "A secondary resource is listed twice",
        ),
        ProblemLinkNotAllowed => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Only an incident can be linked to a problem",
        ),
        ProblemTicketInvalid => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "The linked ticket is not a problem ticket",
        ),
        ProblemHasIncidents => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "A problem with incidents keeps its type",
        ),
        CategoryLevelGap => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Category levels must not have gaps",
        ),
        CompanyParentCycle => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "A company cannot be its own ancestor",
        ),
        TimeRangeInvalid => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "The time range is invalid",
        ),
        TransitionNotAllowed => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "The status change is not allowed",
        ),
        CloseRequiresResolved => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "The ticket must be resolved before it is closed",
        ),
        NotFound => (StatusCode::NOT_FOUND, "Not found"),
        VersionConflict => (
            StatusCode::CONFLICT,
            "The record was changed by someone else",
        ),
        IdempotencyKeyReused => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "The idempotency key was used for another request",
        ),
        AlreadyExists => (StatusCode::CONFLICT, "The record already exists"),
        Unauthorized => (StatusCode::UNAUTHORIZED, "Authentication required"),
        Forbidden => (StatusCode::FORBIDDEN, "Not allowed for this API key's role"),
        NoSuchRoute => (StatusCode::NOT_FOUND, "No such endpoint"),
        UnsupportedMediaType => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send JSON with Content-Type: application/json",
        ),
        PayloadTooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is too large",
        ),
        Internal => (StatusCode::INTERNAL_SERVER_ERROR, "Internal error"),
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// `/api/v1/errors#<code>`: the entry in the served error table.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// Path of the (first) failing field, when a field is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every failing field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Violation>,
}

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: String,
    pub errors: Vec<Violation>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn field(field: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        let v = Violation::new(field, code, message);
        Self {
            code,
            detail: v.message.clone(),
            errors: vec![v],
        }
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, detail)
    }

    pub fn status(&self) -> StatusCode {
        describe(self.code).0
    }

    pub fn problem(&self) -> Problem {
        let (status, title) = describe(self.code);
        Problem {
            type_: format!("/api/v1/errors#{}", self.code.as_str()),
            title,
            status: status.as_u16(),
            detail: self.detail.clone(),
            code: self.code,
            field: self.errors.first().map(|v| v.field.clone()),
            errors: self.errors.clone(),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid(errors) => {
                // One violation: its own code. Several: the first one's code, all listed.
                let code = errors.first().map_or(ErrorCode::InvalidField, |v| v.code);
                let detail = if errors.len() == 1 {
                    errors[0].message.clone()
                } else {
                    format!(
                        "{} fields are invalid: {}",
                        errors.len(),
                        e_summary(&errors)
                    )
                };
                Self {
                    code,
                    detail,
                    errors,
                }
            }
            DomainError::NotFound { entity, id } => {
                Self::new(ErrorCode::NotFound, format!("{entity} {id} does not exist"))
            }
            DomainError::Conflict { code, message } => Self::new(code, message),
        }
    }
}

fn e_summary(errors: &[Violation]) -> String {
    errors
        .iter()
        .map(|v| format!("{}: {}", v.field, v.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        // Two requests wrote the same unique value at once: the rules checked each
        // against what was written before it, and the database's unique key refused
        // the second (PostgreSQL; SQLite's one writer lets the rules see the first).
        if e.is_unique_violation() {
            tracing::warn!(error = %e, "a unique key refused a concurrent write");
            return Self::new(
                ErrorCode::AlreadyExists,
                "another request wrote the same name or key a moment ago; it exists now",
            );
        }
        // A write and a delete of a record it refers to passed their rules at once
        // (a problem ticket deleted while an incident is linked to it), and a foreign
        // key refused whichever came second. Read again, the rules answer it.
        if e.is_foreign_key_violation() {
            tracing::warn!(error = %e, "a foreign key refused a concurrent write");
            return Self::new(
                ErrorCode::VersionConflict,
                "a record this write refers to was deleted, or one it deletes was referred to, by another request a moment ago; read it again before retrying",
            );
        }
        // The database's own words stay in the log; the client gets a reference.
        tracing::error!(error = %e, "store error");

        Self::new(
            ErrorCode::Internal,
            "the server could not complete the request; the error has been logged",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"fixpoint\""),
            );
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// One entry of the error table served at `/api/v1/errors`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorTableEntry {
    pub code: ErrorCode,
    pub status: u16,
    pub title: &'static str,
}

pub fn error_table() -> Vec<ErrorTableEntry> {
    ErrorCode::ALL
        .iter()
        .map(|&code| {
            let (status, title) = describe(code);
            ErrorTableEntry {
                code,
                status: status.as_u16(),
                title,
            }
        })
        .collect()
}
