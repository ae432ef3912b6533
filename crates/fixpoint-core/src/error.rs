//! What the domain says when it refuses something. Every refusal carries a stable
//! [`ErrorCode`]; the server maps codes to HTTP statuses in one table, the dialects
//! to their vendors' shapes.

use serde::Serialize;

/// The stable error codes of Fixpoint. Clients match on [`ErrorCode::as_str`];
/// never rename one, only add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ErrorCode {
    // Shape of the input.
    MalformedJson,
    InvalidField,
    Required,
    TooLong,
    TooMany,
    OutOfRange,
    // References to other records.
    UnknownReference,
    InactiveValue,
    // Rules from the seeds.
    ContactNotInCompany,
    LocationNotInCompany,
    ContractNotForCompany,
    SubIssueWithoutIssue,
    SubIssueNotUnderIssue,
    ResourceAndRoleTogether,
    SecondaryIsPrimary,
    DuplicateSecondary,
    ProblemLinkNotAllowed,
    ProblemTicketInvalid,
    ProblemHasIncidents,
    CategoryLevelGap,
    CompanyParentCycle,
    TimeRangeInvalid,
    // Workflow.
    TransitionNotAllowed,
    CloseRequiresResolved,
    // Records and concurrency.
    NotFound,
    VersionConflict,
    IdempotencyKeyReused,
    AlreadyExists,
    // Access.
    Unauthorized,
    Forbidden,
    // The HTTP edge.
    NoSuchRoute,
    UnsupportedMediaType,
    PayloadTooLarge,
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 34] = [
        Self::MalformedJson,
        Self::InvalidField,
        Self::Required,
        Self::TooLong,
        Self::TooMany,
        Self::OutOfRange,
        Self::UnknownReference,
        Self::InactiveValue,
        Self::ContactNotInCompany,
        Self::LocationNotInCompany,
        Self::ContractNotForCompany,
        Self::SubIssueWithoutIssue,
        Self::SubIssueNotUnderIssue,
        Self::ResourceAndRoleTogether,
        Self::SecondaryIsPrimary,
        Self::DuplicateSecondary,
        Self::ProblemLinkNotAllowed,
        Self::ProblemTicketInvalid,
        Self::ProblemHasIncidents,
        Self::CategoryLevelGap,
        Self::CompanyParentCycle,
        Self::TimeRangeInvalid,
        Self::TransitionNotAllowed,
        Self::CloseRequiresResolved,
        Self::NotFound,
        Self::VersionConflict,
        Self::IdempotencyKeyReused,
        Self::AlreadyExists,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NoSuchRoute,
        Self::UnsupportedMediaType,
        Self::PayloadTooLarge,
        Self::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::InvalidField => "invalid_field",
            Self::Required => "required",
            Self::TooLong => "too_long",
            Self::TooMany => "too_many",
            Self::OutOfRange => "out_of_range",
            Self::UnknownReference => "unknown_reference",
            Self::InactiveValue => "inactive_value",
            Self::ContactNotInCompany => "contact_not_in_company",
            Self::LocationNotInCompany => "location_not_in_company",
            Self::ContractNotForCompany => "contract_not_for_company",
            Self::SubIssueWithoutIssue => "sub_issue_without_issue",
            Self::SubIssueNotUnderIssue => "sub_issue_not_under_issue",
            Self::ResourceAndRoleTogether => "resource_and_role_together",
            Self::SecondaryIsPrimary => "secondary_is_primary",
            Self::DuplicateSecondary => "duplicate_secondary",
            Self::ProblemLinkNotAllowed => "problem_link_not_allowed",
            Self::ProblemTicketInvalid => "problem_ticket_invalid",
            Self::ProblemHasIncidents => "problem_has_incidents",
            Self::CategoryLevelGap => "category_level_gap",
            Self::CompanyParentCycle => "company_parent_cycle",
            Self::TimeRangeInvalid => "time_range_invalid",
            Self::TransitionNotAllowed => "transition_not_allowed",
            Self::CloseRequiresResolved => "close_requires_resolved",
            Self::NotFound => "not_found",
            Self::VersionConflict => "version_conflict",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::AlreadyExists => "already_exists",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NoSuchRoute => "no_such_route",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Internal => "internal",
        }
    }
}

/// One thing wrong with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Violation {
    /// Path of the failing field in the request body, e.g. `title` or `secondary_resource_ids[1]`.
    pub field: String,
    pub code: ErrorCode,
    pub message: String,
}

impl Violation {
    pub fn new(field: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// Something allowed but worth telling the technician, returned with the response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Warning {
    pub code: &'static str,
    pub message: String,
}

/// A refusal from the domain or the service layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("the request is invalid: {}", summary(.0))]
    Invalid(Vec<Violation>),
    #[error("{entity} {id} does not exist")]
    NotFound { entity: &'static str, id: String },
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
}

fn summary(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl DomainError {
    pub fn not_found(entity: &'static str, id: impl std::fmt::Display) -> Self {
        Self::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    pub fn invalid(field: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Invalid(vec![Violation::new(field, code, message)])
    }
}

/// Collects violations so a client learns about every bad field at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<Violation>);

impl Violations {
    pub fn push(&mut self, field: impl Into<String>, code: ErrorCode, message: impl Into<String>) {
        self.0.push(Violation::new(field, code, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a violation was already recorded for this field.
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|v| v.field == field)
    }

    pub fn into_result(self) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(self.0))
        }
    }

    /// A required, length-limited text: present, not blank, at most `max` characters.
    pub fn required_text(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.push(
                field,
                ErrorCode::Required,
                format!("{field} is required and must not be blank"),
            );
        } else {
            self.max_chars(field, value, max);
        }
    }

    pub fn optional_text(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(value) = value {
            self.max_chars(field, value, max);
        }
    }

    fn max_chars(&mut self, field: &str, value: &str, max: usize) {
        let len = value.chars().count();
        if len > max {
            self.push(
                field,
                ErrorCode::TooLong,
                format!("{field} is {len} characters long; at most {max} are allowed"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_unique() {
        let names: std::collections::BTreeSet<_> =
            ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        for code in ErrorCode::ALL {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                code.as_str(),
                "serde name and as_str agree"
            );
        }
    }

    #[test]
    fn text_limits_count_characters_not_bytes() {
        let mut v = Violations::default();
        v.required_text("title", &"é".repeat(255), 255);
        assert!(v.is_empty());
        v.required_text("title", &"é".repeat(256), 255);
        v.required_text("name", "   ", 10);
        let err = v.into_result().unwrap_err();
        let DomainError::Invalid(list) = err else {
            panic!("expected Invalid")
        };
        assert_eq!(list[0].code, ErrorCode::TooLong);
        assert_eq!(list[1].field, "name");
        assert_eq!(list[1].code, ErrorCode::Required);
    }
}
