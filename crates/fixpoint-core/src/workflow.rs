//! Status moves. Which moves exist is data (the catalogue's transitions); what a
//! move requires and warns about is decided here from the status rows.

use crate::catalog::{Catalog, Status, StatusCategory};
use crate::error::{ErrorCode, Violations, Warning};
use crate::ticket::Ticket;

/// Checks the ticket's status against where it came from (`None` on create).
/// Required fields are only demanded on entering a status, so a ticket already in
/// Complete can be edited without re-sending its resolution.
pub fn check_transition(
    catalog: &Catalog,
    from: Option<&Status>,
    to: &Status,
    ticket: &Ticket,
    v: &mut Violations,
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if from.is_some_and(|f| f.id == to.id) {
        return warnings;
    }
    if let Some(from) = from
        && !catalog.allows(from.id, to.id)
    {
        let allowed: Vec<_> = catalog
            .allowed_targets(from.id)
            .iter()
            .map(|s| format!("{} ({})", s.name, s.id))
            .collect();
        v.push(
            "status_id",
            ErrorCode::TransitionNotAllowed,
            format!(
                "a ticket cannot move from {} to {}; from {} it may move to: {}",
                from.name,
                to.name,
                from.name,
                if allowed.is_empty() {
                    "nothing".to_owned()
                } else {
                    allowed.join(", ")
                }
            ),
        );
        return warnings;
    }
    let from_category = from.map(|f| f.category);
    if catalog.settings.close_requires_resolved
        && to.category == StatusCategory::Closed
        && from_category != Some(StatusCategory::Resolved)
    {
        v.push(
            "status_id",
            ErrorCode::CloseRequiresResolved,
            format!("this service desk closes tickets only after they are resolved; set a resolved status before {}", to.name),
        );
    }
    if to.requires_resolution
        && !catalog.settings.resolution_optional
        && is_blank(ticket.resolution.as_deref())
    {
        v.push(
            "resolution",
            ErrorCode::Required,
            format!("a resolution is required to set the status to {}", to.name),
        );
    }
    if to.requires_escalation_reason && is_blank(ticket.escalation_reason.as_deref()) {
        v.push(
            "escalation_reason",
            ErrorCode::Required,
            format!(
                "an escalation reason is required to set the status to {}",
                to.name
            ),
        );
    }
    if !to.active {
        v.push(
            "status_id",
            ErrorCode::InactiveValue,
            format!("status {} is inactive and cannot be newly set", to.name),
        );
    }
    if matches!(
        to.category,
        StatusCategory::Resolved | StatusCategory::Closed
    ) && from_category == Some(StatusCategory::New)
    {
        warnings.push(Warning {
            code: "completed_without_in_progress",
            message: format!(
                "the ticket went from New to {} without an In Progress step",
                to.name
            ),
        });
    }
    if to.category == StatusCategory::InProgress && ticket.assigned_resource_id.is_none() {
        warnings.push(Warning {
            code: "in_progress_unassigned",
            message: format!("the ticket is {} but no resource is assigned", to.name),
        });
    }
    warnings
}

fn is_blank(text: Option<&str>) -> bool {
    text.is_none_or(|t| t.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{default_catalog, seeded::*};
    use crate::error::DomainError;
    use crate::ids::{ResourceId, StatusId};
    use crate::ticket::tests::sample;

    fn check(
        catalog: &Catalog,
        from: StatusId,
        to: StatusId,
        ticket: &Ticket,
    ) -> Result<Vec<Warning>, DomainError> {
        let mut v = Violations::default();
        let warnings = check_transition(
            catalog,
            catalog.status(from),
            catalog.status(to).unwrap(),
            ticket,
            &mut v,
        );
        v.into_result().map(|()| warnings)
    }

    fn codes(err: DomainError) -> Vec<(String, ErrorCode)> {
        match err {
            DomainError::Invalid(list) => list.into_iter().map(|v| (v.field, v.code)).collect(),
            other => panic!("expected violations, got {other:?}"),
        }
    }

    #[test]
    fn completing_requires_a_resolution() {
        let c = default_catalog();
        let mut t = sample(&c);
        assert_eq!(
            codes(check(&c, IN_PROGRESS, COMPLETE, &t).unwrap_err()),
            [("resolution".into(), ErrorCode::Required)]
        );
        assert_eq!(
            codes(check(&c, IN_PROGRESS, RESOLVED, &t).unwrap_err()),
            [("resolution".into(), ErrorCode::Required)]
        );
        t.resolution = Some("   ".into());
        assert!(
            check(&c, IN_PROGRESS, COMPLETE, &t).is_err(),
            "a blank resolution is no resolution"
        );
        t.resolution = Some("Rebuilt the Outlook profile".into());
        assert_eq!(check(&c, IN_PROGRESS, COMPLETE, &t).unwrap(), []);
    }

    #[test]
    fn escalating_requires_a_reason() {
        let c = default_catalog();
        let mut t = sample(&c);
        assert_eq!(
            codes(check(&c, IN_PROGRESS, ESCALATED, &t).unwrap_err()),
            [("escalation_reason".into(), ErrorCode::Required)]
        );
        t.escalation_reason = Some("Exchange hybrid needs a senior engineer".into());
        assert!(check(&c, IN_PROGRESS, ESCALATED, &t).is_ok());
    }

    #[test]
    fn warnings_for_skipping_in_progress_and_for_unassigned_work() {
        let c = default_catalog();
        let mut t = sample(&c);
        t.resolution = Some("Password reset".into());
        let w = check(&c, NEW, COMPLETE, &t).unwrap();
        assert_eq!(w[0].code, "completed_without_in_progress");
        let w = check(&c, NEW, IN_PROGRESS, &t).unwrap();
        assert_eq!(w[0].code, "in_progress_unassigned");
        t.assigned_resource_id = Some(ResourceId(1));
        assert_eq!(check(&c, NEW, IN_PROGRESS, &t).unwrap(), []);
    }

    #[test]
    fn moves_outside_the_table_are_refused_with_the_allowed_ones() {
        let c = default_catalog();
        let t = sample(&c);
        let err = check(&c, COMPLETE, WAITING_CUSTOMER, &t).unwrap_err();
        let DomainError::Invalid(list) = err else {
            panic!()
        };
        assert_eq!(list[0].code, ErrorCode::TransitionNotAllowed);
        assert!(
            list[0].message.contains("In Progress (2)"),
            "{}",
            list[0].message
        );
    }

    #[test]
    fn atera_setting_requires_resolved_before_closed() {
        let mut c = default_catalog();
        let mut t = sample(&c);
        t.resolution = Some("done".into());
        assert!(
            check(&c, NEW, COMPLETE, &t).is_ok(),
            "default: allowed (Autotask, HaloPSA)"
        );
        c.settings.close_requires_resolved = true;
        assert_eq!(
            codes(check(&c, NEW, COMPLETE, &t).unwrap_err()),
            [("status_id".into(), ErrorCode::CloseRequiresResolved)]
        );
        assert!(check(&c, RESOLVED, COMPLETE, &t).is_ok());
    }

    #[test]
    fn atera_setting_resolves_without_a_resolution() {
        let mut c = default_catalog();
        let t = sample(&c);
        assert_eq!(
            codes(check(&c, IN_PROGRESS, RESOLVED, &t).unwrap_err()),
            [("resolution".into(), ErrorCode::Required)]
        );
        c.settings.resolution_optional = true;
        assert!(check(&c, IN_PROGRESS, RESOLVED, &t).is_ok());
    }

    #[test]
    fn staying_put_needs_nothing() {
        let c = default_catalog();
        let t = sample(&c);
        assert_eq!(check(&c, COMPLETE, COMPLETE, &t).unwrap(), []);
    }

    #[test]
    fn inactive_status_cannot_be_entered() {
        let mut c = default_catalog();
        c.statuses
            .iter_mut()
            .find(|s| s.id == ON_HOLD)
            .unwrap()
            .active = false;
        let t = sample(&c);
        assert_eq!(
            codes(check(&c, NEW, ON_HOLD, &t).unwrap_err()),
            [("status_id".into(), ErrorCode::InactiveValue)]
        );
    }
}
