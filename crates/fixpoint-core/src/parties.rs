//! The people and organisations around tickets: client companies and their sites,
//! contacts, technicians (resources) and their roles, queues and contracts.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorCode, Violations};
use crate::ids::{CompanyId, ContactId, ContractId, LocationId, QueueId, ResourceId, RoleId};

pub const NAME_MAX: usize = 255;
pub const EMAIL_MAX: usize = 254;
pub const PHONE_MAX: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Company {
    pub id: CompanyId,
    pub name: String,
    pub parent_company_id: Option<CompanyId>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub active: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewCompany {
    pub name: String,
    pub parent_company_id: Option<CompanyId>,
    pub phone: Option<String>,
    pub website: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompanyPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::ticket::nullable")]
    pub parent_company_id: Option<Option<CompanyId>>,
    #[serde(default, deserialize_with = "crate::ticket::nullable")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::ticket::nullable")]
    pub website: Option<Option<String>>,
    pub active: Option<bool>,
}

impl Company {
    pub fn apply(&self, patch: CompanyPatch) -> Company {
        Company {
            name: patch.name.unwrap_or_else(|| self.name.clone()),
            parent_company_id: patch.parent_company_id.unwrap_or(self.parent_company_id),
            phone: patch.phone.unwrap_or_else(|| self.phone.clone()),
            website: patch.website.unwrap_or_else(|| self.website.clone()),
            active: patch.active.unwrap_or(self.active),
            ..self.clone()
        }
    }
}

/// Checks a company's own fields and its place in the company tree.
/// `ancestors` lists the proposed parent and its ancestors, nearest first.
pub fn check_company(
    company: &Company,
    parent_exists: bool,
    ancestors: &[CompanyId],
) -> Result<(), DomainError> {
    let mut v = Violations::default();
    v.required_text("name", &company.name, NAME_MAX);
    v.optional_text("phone", company.phone.as_deref(), PHONE_MAX);
    v.optional_text("website", company.website.as_deref(), NAME_MAX);
    if let Some(parent) = company.parent_company_id {
        if !parent_exists {
            v.push(
                "parent_company_id",
                ErrorCode::UnknownReference,
                format!("company {parent} does not exist"),
            );
        } else if parent == company.id || ancestors.contains(&company.id) {
            v.push(
                "parent_company_id",
                ErrorCode::CompanyParentCycle,
                format!("company {parent} is this company or one of its children; a company cannot be its own parent"),
            );
        }
    }
    v.into_result()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Location {
    pub id: LocationId,
    pub company_id: CompanyId,
    pub name: String,
    pub address: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewLocation {
    pub name: String,
    pub address: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

impl NewLocation {
    pub fn check(&self) -> Result<(), DomainError> {
        let mut v = Violations::default();
        v.required_text("name", &self.name, NAME_MAX);
        v.optional_text("address", self.address.as_deref(), 1000);
        v.into_result()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    pub id: ContactId,
    pub company_id: CompanyId,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The language the contact reads mail in (`de`, `pt-BR`); English when absent.
    pub language: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewContact {
    pub company_id: CompanyId,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactPatch {
    pub company_id: Option<CompanyId>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "crate::ticket::nullable")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::ticket::nullable")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::ticket::nullable")]
    pub language: Option<Option<String>>,
    pub active: Option<bool>,
}

impl Contact {
    pub fn apply(&self, patch: ContactPatch) -> Contact {
        Contact {
            company_id: patch.company_id.unwrap_or(self.company_id),
            first_name: patch.first_name.unwrap_or_else(|| self.first_name.clone()),
            last_name: patch.last_name.unwrap_or_else(|| self.last_name.clone()),
            email: patch.email.unwrap_or_else(|| self.email.clone()),
            phone: patch.phone.unwrap_or_else(|| self.phone.clone()),
            language: patch.language.unwrap_or_else(|| self.language.clone()),
            active: patch.active.unwrap_or(self.active),
            ..self.clone()
        }
    }

    pub fn check(&self, company_exists: bool) -> Result<(), DomainError> {
        let mut v = Violations::default();
        check_person(
            &mut v,
            &self.first_name,
            &self.last_name,
            self.email.as_deref(),
        );
        v.optional_text("phone", self.phone.as_deref(), PHONE_MAX);
        if let Some(language) = &self.language
            && crate::mail::language_tag(language).is_none()
        {
            v.push(
                "language",
                ErrorCode::InvalidField,
                format!("'{language}' is not a language tag (expected e.g. en, de, pt-BR)"),
            );
        }
        if !company_exists {
            v.push(
                "company_id",
                ErrorCode::UnknownReference,
                format!("company {} does not exist", self.company_id),
            );
        }
        v.into_result()
    }
}

fn check_person(v: &mut Violations, first_name: &str, last_name: &str, email: Option<&str>) {
    v.required_text("first_name", first_name, 100);
    v.required_text("last_name", last_name, 100);
    if let Some(email) = email {
        v.optional_text("email", Some(email), EMAIL_MAX);
        if !is_plausible_email(email) {
            v.push(
                "email",
                ErrorCode::InvalidField,
                format!("'{email}' is not an email address (expected name@domain)"),
            );
        }
    }
}

/// Deliberately loose: one `@` with text on both sides and a dot in the domain.
/// Deliverability is the mail server's business, not ours.
pub fn is_plausible_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// A technician.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Resource {
    pub id: ResourceId,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub active: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewResource {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    #[serde(default = "yes")]
    pub active: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourcePatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub active: Option<bool>,
}

impl Resource {
    pub fn apply(&self, patch: ResourcePatch) -> Resource {
        Resource {
            first_name: patch.first_name.unwrap_or_else(|| self.first_name.clone()),
            last_name: patch.last_name.unwrap_or_else(|| self.last_name.clone()),
            email: patch.email.unwrap_or_else(|| self.email.clone()),
            active: patch.active.unwrap_or(self.active),
            ..self.clone()
        }
    }

    pub fn check(&self) -> Result<(), DomainError> {
        let mut v = Violations::default();
        check_person(&mut v, &self.first_name, &self.last_name, Some(&self.email));
        v.into_result()
    }
}

/// A named, activatable catalogue row with no further fields: roles and queues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Role {
    pub id: RoleId,
    pub name: String,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Queue {
    pub id: QueueId,
    pub name: String,
    pub active: bool,
    /// The SLA policy its tickets follow when neither they nor their contract name one
    /// ([`crate::sla::choose_policy`]).
    pub sla_policy_id: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewQueue {
    pub name: String,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub sla_policy_id: Option<i64>,
}

impl NewQueue {
    /// `policy_exists`: whether the SLA policy named (if any) exists.
    pub fn check(&self, policy_exists: bool) -> Result<(), DomainError> {
        let mut v = Violations::default();
        v.required_text("name", &self.name, NAME_MAX);
        named_policy_exists(&mut v, self.sla_policy_id, policy_exists);
        v.into_result()
    }
}

/// Refuses an `sla_policy_id` that names no policy.
fn named_policy_exists(v: &mut Violations, policy: Option<i64>, exists: bool) {
    if let Some(policy) = policy.filter(|_| !exists) {
        v.push(
            "sla_policy_id",
            ErrorCode::UnknownReference,
            format!("SLA policy {policy} does not exist"),
        );
    }
}

/// A change to a queue: only the given fields; `null` clears the SLA policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueuePatch {
    pub name: Option<String>,
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "crate::ticket::nullable")]
    pub sla_policy_id: Option<Option<i64>>,
}

impl QueuePatch {
    /// The queue after the patch, as the command [`NewQueue::check`] judges.
    pub fn apply_to(self, q: &Queue) -> NewQueue {
        NewQueue {
            name: self.name.unwrap_or_else(|| q.name.clone()),
            active: self.active.unwrap_or(q.active),
            sla_policy_id: self.sla_policy_id.unwrap_or(q.sla_policy_id),
        }
    }
}

/// Body for creating or renaming a role or other named catalogue row.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewNamed {
    pub name: String,
    #[serde(default = "yes")]
    pub active: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NamedPatch {
    pub name: Option<String>,
    pub active: Option<bool>,
}

/// A password long enough to resist guessing, short enough to hash quickly.
pub const PASSWORD_MIN: usize = 10;
pub const PASSWORD_MAX: usize = 200;

/// Whether a person's new password may be used.
pub fn check_password(password: &str) -> Result<(), DomainError> {
    let length = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&length) {
        return Err(DomainError::invalid(
            "password",
            ErrorCode::OutOfRange,
            format!(
                "a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters; this one has {length}"
            ),
        ));
    }
    Ok(())
}

pub fn check_name(name: &str) -> Result<(), DomainError> {
    let mut v = Violations::default();
    v.required_text("name", name, NAME_MAX);
    v.into_result()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contract {
    pub id: ContractId,
    pub company_id: CompanyId,
    pub name: String,
    /// The SLA policy this contract brings (policies arrive with the SLA module).
    pub sla_policy_id: Option<i64>,
    pub active: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewContract {
    pub company_id: CompanyId,
    pub name: String,
    pub sla_policy_id: Option<i64>,
    #[serde(default = "yes")]
    pub active: bool,
}

impl NewContract {
    /// `policy_exists`: whether the SLA policy named (if any) exists.
    pub fn check(&self, company_exists: bool, policy_exists: bool) -> Result<(), DomainError> {
        let mut v = Violations::default();
        v.required_text("name", &self.name, NAME_MAX);
        if !company_exists {
            v.push(
                "company_id",
                ErrorCode::UnknownReference,
                format!("company {} does not exist", self.company_id),
            );
        }
        named_policy_exists(&mut v, self.sla_policy_id, policy_exists);
        v.into_result()
    }
}

/// A change to a contract: only the given fields; `null` clears the SLA policy. The
/// company stays: a contract is with one client for its whole life.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContractPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::ticket::nullable")]
    pub sla_policy_id: Option<Option<i64>>,
    pub active: Option<bool>,
}

impl ContractPatch {
    /// The contract after the patch, as the command [`NewContract::check`] judges.
    pub fn apply_to(self, c: &Contract) -> NewContract {
        NewContract {
            company_id: c.company_id,
            name: self.name.unwrap_or_else(|| c.name.clone()),
            sla_policy_id: self.sla_policy_id.unwrap_or(c.sla_policy_id),
            active: self.active.unwrap_or(c.active),
        }
    }
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod password_tests {
    use super::*;

    #[test]
    fn passwords_have_a_sensible_length() {
        assert!(check_password("short").is_err());
        assert!(check_password("long enough").is_ok());
        assert!(check_password(&"x".repeat(PASSWORD_MAX + 1)).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn company(id: i64, parent: Option<i64>) -> Company {
        Company {
            id: CompanyId(id),
            name: "Acme".into(),
            parent_company_id: parent.map(CompanyId),
            phone: None,
            website: None,
            active: true,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn company_cannot_be_its_own_ancestor() {
        assert!(check_company(&company(1, None), true, &[]).is_ok());
        assert!(check_company(&company(1, Some(2)), true, &[CompanyId(2), CompanyId(3)]).is_ok());
        let self_parent = check_company(&company(1, Some(1)), true, &[CompanyId(1)]).unwrap_err();
        assert!(
            matches!(self_parent, DomainError::Invalid(ref v) if v[0].code == ErrorCode::CompanyParentCycle)
        );
        let cycle =
            check_company(&company(1, Some(2)), true, &[CompanyId(2), CompanyId(1)]).unwrap_err();
        assert!(
            matches!(cycle, DomainError::Invalid(ref v) if v[0].code == ErrorCode::CompanyParentCycle)
        );
        let unknown = check_company(&company(1, Some(9)), false, &[]).unwrap_err();
        assert!(
            matches!(unknown, DomainError::Invalid(ref v) if v[0].code == ErrorCode::UnknownReference)
        );
    }

    #[test]
    fn emails_are_checked_loosely() {
        assert!(is_plausible_email("john.smith@acme.com"));
        assert!(!is_plausible_email("john.smith"));
        assert!(!is_plausible_email("john@acme"));
        assert!(!is_plausible_email("jo hn@acme.com"));
        assert!(!is_plausible_email("@acme.com"));
    }
}
