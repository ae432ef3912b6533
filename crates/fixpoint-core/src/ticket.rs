//! The ticket: its fields, the commands that create and change it, and what a
//! change looks like in its history.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};

use crate::catalog::{Catalog, Status, StatusCategory};
use crate::ids::{
    CompanyId, ContactId, ContractId, IssueTypeId, LocationId, PriorityId, QueueId, ResourceId,
    RoleId, SlaPolicyId, StatusId, TicketCategoryId, TicketId, TicketTypeId,
};

pub const TITLE_MAX: usize = 255;
pub const DESCRIPTION_MAX: usize = 8000;
pub const RESOLUTION_MAX: usize = 32000;
pub const ESCALATION_REASON_MAX: usize = 8000;
pub const CATEGORY_MAX: usize = 100;
pub const CATEGORY_LEVELS: usize = 4;
pub const CUSTOM_FIELDS_MAX: usize = 300;
pub const CUSTOM_FIELD_NAME_MAX: usize = 100;
pub const CUSTOM_FIELD_VALUE_MAX: usize = 8000;
pub const SECONDARY_RESOURCES_MAX: usize = 50;
/// A year of work: anything larger is a typo, not an estimate.
pub const ESTIMATED_MINUTES_MAX: i64 = 366 * 24 * 60;

/// How a ticket reached the service desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Source {
    Portal,
    Email,
    Phone,
    Agent,
    #[default]
    Api,
    Other,
}

impl Source {
    pub const ALL: [Source; 6] = [
        Self::Portal,
        Self::Email,
        Self::Phone,
        Self::Agent,
        Self::Api,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Portal => "portal",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Agent => "agent",
            Self::Api => "api",
            Self::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ticket {
    pub id: TicketId,
    /// `TYYYYMMDD.NNNN`: the day the ticket was opened (UTC) and its number that day.
    pub number: String,
    pub title: String,
    pub description: Option<String>,
    pub company_id: CompanyId,
    pub location_id: Option<LocationId>,
    pub contact_id: Option<ContactId>,
    pub status_id: StatusId,
    pub priority_id: PriorityId,
    pub type_id: TicketTypeId,
    /// The template the ticket was opened with (Autotask's ticketCategory).
    pub ticket_category_id: Option<TicketCategoryId>,
    pub queue_id: Option<QueueId>,
    pub issue_type_id: Option<IssueTypeId>,
    pub sub_issue_type_id: Option<IssueTypeId>,
    /// Up to four levels, most general first (HaloPSA's category_1..4).
    pub categories: Vec<String>,
    pub source: Source,
    pub assigned_resource_id: Option<ResourceId>,
    pub assigned_role_id: Option<RoleId>,
    pub secondary_resource_ids: Vec<ResourceId>,
    pub contract_id: Option<ContractId>,
    pub due_at: Option<Timestamp>,
    pub estimated_minutes: Option<i64>,
    pub resolution: Option<String>,
    pub escalation_reason: Option<String>,
    pub problem_ticket_id: Option<TicketId>,
    pub custom_fields: BTreeMap<String, String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub first_response_at: Option<Timestamp>,
    /// When the technician recorded a resolution plan (or the ticket was resolved
    /// without one): Autotask's resolution-plan milestone.
    pub resolution_plan_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub last_activity_at: Timestamp,
    /// The SLA policy set on the ticket itself (else its contract's, queue's or the default).
    pub sla_policy_id: Option<SlaPolicyId>,
    /// When the first-response target falls due (frozen once met; empty while paused).
    pub response_due_at: Option<Timestamp>,
    /// When the resolution-plan target falls due (frozen once met; empty while
    /// paused or when the policy sets no plan target).
    pub resolution_plan_due_at: Option<Timestamp>,
    /// When the resolution target falls due (frozen once met; empty while paused).
    pub resolution_due_at: Option<Timestamp>,
    /// The SLA clock's bookkeeping; shown through the `sla` block, not as fields.
    #[serde(skip)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub sla_clock: crate::sla::ClockState,
    /// Grows by one with every change; send it back in `If-Match` to update safely.
    pub version: i64,
}

/// Fields a client sets when opening a ticket. Omitted status, priority and type
/// take the catalogue's defaults (New, Medium, Service Request).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewTicket {
    pub title: String,
    pub description: Option<String>,
    pub company_id: CompanyId,
    pub location_id: Option<LocationId>,
    pub contact_id: Option<ContactId>,
    pub status_id: Option<StatusId>,
    pub priority_id: Option<PriorityId>,
    pub type_id: Option<TicketTypeId>,
    pub ticket_category_id: Option<TicketCategoryId>,
    pub queue_id: Option<QueueId>,
    pub issue_type_id: Option<IssueTypeId>,
    pub sub_issue_type_id: Option<IssueTypeId>,
    #[serde(default)]
    pub categories: Vec<String>,
    pub source: Option<Source>,
    pub assigned_resource_id: Option<ResourceId>,
    pub assigned_role_id: Option<RoleId>,
    #[serde(default)]
    pub secondary_resource_ids: Vec<ResourceId>,
    pub contract_id: Option<ContractId>,
    pub due_at: Option<Timestamp>,
    pub estimated_minutes: Option<i64>,
    pub resolution: Option<String>,
    pub escalation_reason: Option<String>,
    pub problem_ticket_id: Option<TicketId>,
    #[serde(default)]
    pub custom_fields: BTreeMap<String, String>,
    pub sla_policy_id: Option<SlaPolicyId>,
}

/// A partial update. An absent field is left alone; `null` clears a field that may
/// be empty. In `custom_fields`, a `null` value removes that field.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketPatch {
    pub title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub description: Option<Option<String>>,
    pub company_id: Option<CompanyId>,
    #[serde(default, deserialize_with = "nullable")]
    pub location_id: Option<Option<LocationId>>,
    #[serde(default, deserialize_with = "nullable")]
    pub contact_id: Option<Option<ContactId>>,
    pub status_id: Option<StatusId>,
    pub priority_id: Option<PriorityId>,
    pub type_id: Option<TicketTypeId>,
    #[serde(default, deserialize_with = "nullable")]
    pub ticket_category_id: Option<Option<TicketCategoryId>>,
    #[serde(default, deserialize_with = "nullable")]
    pub queue_id: Option<Option<QueueId>>,
    #[serde(default, deserialize_with = "nullable")]
    pub issue_type_id: Option<Option<IssueTypeId>>,
    #[serde(default, deserialize_with = "nullable")]
    pub sub_issue_type_id: Option<Option<IssueTypeId>>,
    pub categories: Option<Vec<String>>,
    pub source: Option<Source>,
    #[serde(default, deserialize_with = "nullable")]
    pub assigned_resource_id: Option<Option<ResourceId>>,
    #[serde(default, deserialize_with = "nullable")]
    pub assigned_role_id: Option<Option<RoleId>>,
    pub secondary_resource_ids: Option<Vec<ResourceId>>,
    #[serde(default, deserialize_with = "nullable")]
    pub contract_id: Option<Option<ContractId>>,
    #[serde(default, deserialize_with = "nullable")]
    pub due_at: Option<Option<Timestamp>>,
    #[serde(default, deserialize_with = "nullable")]
    pub estimated_minutes: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    pub resolution: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub escalation_reason: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub problem_ticket_id: Option<Option<TicketId>>,
    pub custom_fields: Option<BTreeMap<String, Option<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    pub sla_policy_id: Option<Option<SlaPolicyId>>,
    /// Records that the resolution plan was given, at this instant (not in the future,
    /// not before the ticket); once given it stays, so it cannot be cleared.
    pub resolution_plan_at: Option<Timestamp>,
}

/// Tells "absent" (outer `None`, via `#[serde(default)]`) from "null" (`Some(None)`).
impl TicketPatch {
    /// A record a dialect reads one way for both create and update, as a new ticket:
    /// what the patch sets (a cleared field is simply absent), with its title and
    /// client, which a new ticket must have.
    pub fn into_new(self, title: String, company_id: CompanyId) -> NewTicket {
        NewTicket {
            title,
            description: self.description.flatten(),
            company_id,
            location_id: self.location_id.flatten(),
            contact_id: self.contact_id.flatten(),
            status_id: self.status_id,
            priority_id: self.priority_id,
            type_id: self.type_id,
            ticket_category_id: self.ticket_category_id.flatten(),
            queue_id: self.queue_id.flatten(),
            issue_type_id: self.issue_type_id.flatten(),
            sub_issue_type_id: self.sub_issue_type_id.flatten(),
            categories: self.categories.unwrap_or_default(),
            source: self.source,
            assigned_resource_id: self.assigned_resource_id.flatten(),
            assigned_role_id: self.assigned_role_id.flatten(),
            secondary_resource_ids: self.secondary_resource_ids.unwrap_or_default(),
            contract_id: self.contract_id.flatten(),
            due_at: self.due_at.flatten(),
            estimated_minutes: self.estimated_minutes.flatten(),
            resolution: self.resolution.flatten(),
            escalation_reason: self.escalation_reason.flatten(),
            problem_ticket_id: self.problem_ticket_id.flatten(),
            custom_fields: self
                .custom_fields
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(name, value)| Some((name, value?)))
                .collect(),
            sla_policy_id: self.sla_policy_id.flatten(),
        }
    }
}

pub fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

impl NewTicket {
    /// Names the default category when the client named none, then fills what the
    /// client left out from the category: priority, type, queue and due time (`zone`
    /// places the category's time of day). An unknown category changes nothing; the
    /// rules report it.
    pub fn with_category_defaults(
        mut self,
        catalog: &Catalog,
        now: Timestamp,
        zone: &jiff::tz::TimeZone,
    ) -> Self {
        if self.ticket_category_id.is_none() {
            self.ticket_category_id = catalog.default_category().map(|c| c.id);
        }
        let Some(category) = self.ticket_category_id.and_then(|id| catalog.category(id)) else {
            return self;
        };
        self.priority_id = self.priority_id.or(category.default_priority_id);
        self.type_id = self.type_id.or(category.default_type_id);
        self.queue_id = self.queue_id.or(category.default_queue_id);
        if self.due_at.is_none() {
            self.due_at = category.default_due(now, zone);
        }
        self
    }

    /// The ticket this command would create, with the catalogue's defaults filled in.
    /// Id and number are placeholders until the store allocates them.
    pub fn into_ticket(self, catalog: &Catalog, now: Timestamp) -> Ticket {
        let or_default =
            |given: Option<_>, default: Option<_>| given.or(default).unwrap_or_default();
        Ticket {
            id: TicketId(0),
            number: String::new(),
            title: self.title,
            description: self.description,
            company_id: self.company_id,
            location_id: self.location_id,
            contact_id: self.contact_id,
            status_id: StatusId(or_default(
                self.status_id.map(|s| s.0),
                catalog.initial_status().map(|s| s.id.0),
            )),
            priority_id: PriorityId(or_default(
                self.priority_id.map(|p| p.0),
                catalog.default_priority().map(|p| p.id.0),
            )),
            type_id: TicketTypeId(or_default(
                self.type_id.map(|t| t.0),
                catalog.default_ticket_type().map(|t| t.id.0),
            )),
            ticket_category_id: self.ticket_category_id,
            queue_id: self.queue_id,
            issue_type_id: self.issue_type_id,
            sub_issue_type_id: self.sub_issue_type_id,
            categories: self.categories,
            source: self.source.unwrap_or_default(),
            assigned_resource_id: self.assigned_resource_id,
            assigned_role_id: self.assigned_role_id,
            secondary_resource_ids: self.secondary_resource_ids,
            contract_id: self.contract_id,
            due_at: self.due_at,
            estimated_minutes: self.estimated_minutes,
            resolution: self.resolution,
            escalation_reason: self.escalation_reason,
            problem_ticket_id: self.problem_ticket_id,
            custom_fields: self.custom_fields,
            created_at: now,
            updated_at: now,
            first_response_at: None,
            resolution_plan_at: None,
            resolved_at: None,
            completed_at: None,
            last_activity_at: now,
            sla_policy_id: self.sla_policy_id,
            response_due_at: None,
            resolution_plan_due_at: None,
            resolution_due_at: None,
            sla_clock: Default::default(),
            version: 1,
        }
    }
}

impl TicketPatch {
    /// The ticket as it would be after this patch; the rules then judge it whole.
    pub fn apply_to(self, before: &Ticket) -> Ticket {
        let mut t = before.clone();
        macro_rules! set {
            ($($field:ident),*) => {$( if let Some(value) = self.$field { t.$field = value; } )*};
        }
        set!(
            title,
            description,
            company_id,
            location_id,
            contact_id,
            status_id,
            priority_id,
            type_id,
            ticket_category_id,
            queue_id,
            issue_type_id,
            sub_issue_type_id,
            categories,
            source,
            assigned_resource_id,
            assigned_role_id,
            secondary_resource_ids,
            contract_id,
            due_at,
            estimated_minutes,
            resolution,
            escalation_reason,
            problem_ticket_id,
            sla_policy_id
        );
        if let Some(at) = self.resolution_plan_at {
            t.resolution_plan_at = Some(at);
        }
        if let Some(fields) = self.custom_fields {
            for (name, value) in fields {
                match value {
                    Some(value) => t.custom_fields.insert(name, value),
                    None => t.custom_fields.remove(&name),
                };
            }
        }
        t
    }
}

/// What entering a status does to the ticket's timestamps: the first move out of
/// New is the first response; entering Resolved or Closed stamps resolution (and
/// completion for Closed) and, if none was recorded, the resolution plan; reopening
/// clears resolution and completion (the plan was given and stays).
pub fn apply_status_effects(
    ticket: &mut Ticket,
    from: Option<&Status>,
    to: &Status,
    now: Timestamp,
) {
    if from.is_some_and(|f| f.id == to.id) {
        return;
    }
    if from.is_some() && to.category != StatusCategory::New && ticket.first_response_at.is_none() {
        ticket.first_response_at = Some(now);
    }
    if matches!(
        to.category,
        StatusCategory::Resolved | StatusCategory::Closed
    ) {
        ticket.resolution_plan_at.get_or_insert(now);
    }
    match to.category {
        StatusCategory::Resolved => {
            ticket.resolved_at.get_or_insert(now);
            ticket.completed_at = None;
        }
        StatusCategory::Closed => {
            ticket.resolved_at.get_or_insert(now);
            ticket.completed_at = Some(now);
        }
        _ => {
            ticket.resolved_at = None;
            ticket.completed_at = None;
        }
    }
}

/// One changed field, as written to the ticket's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    /// The old and new values as JSON text; `None` when the field was empty.
    pub old: Option<String>,
    pub new: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
/// One row of a ticket's history: who changed which field from what to what.
pub struct HistoryEntry {
    pub id: i64,
    pub ticket_id: i64,
    /// The ticket version this change produced.
    pub version: i64,
    pub at: Timestamp,
    pub actor: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// Fields that change on every write and would only add noise to the history.
/// SLA deadlines are derived from other fields and move with every pause.
const UNTRACKED: &[&str] = &[
    "updated_at",
    "last_activity_at",
    "version",
    "response_due_at",
    "resolution_plan_due_at",
    "resolution_due_at",
];

/// Every field that differs between two states of a ticket, one entry per field
/// (custom fields one per name, as `custom_fields.<name>`).
pub fn diff(before: Option<&Ticket>, after: &Ticket) -> Vec<FieldChange> {
    let to_map = |t: Option<&Ticket>| match t.map(serde_json::to_value) {
        Some(Ok(serde_json::Value::Object(map))) => flatten(map),
        _ => BTreeMap::new(),
    };
    let old = to_map(before);
    let new = to_map(Some(after));
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter(|k| !UNTRACKED.contains(&k.as_str()))
        .filter_map(|k| {
            let (o, n) = (old.get(k).cloned().flatten(), new.get(k).cloned().flatten());
            (o != n).then(|| FieldChange {
                field: k.clone(),
                old: o,
                new: n,
            })
        })
        .collect()
}

fn flatten(map: serde_json::Map<String, serde_json::Value>) -> BTreeMap<String, Option<String>> {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(a) if a.is_empty() => None,
        other => Some(other.to_string()),
    };
    let mut out = BTreeMap::new();
    for (key, value) in map {
        if key == "custom_fields" {
            if let serde_json::Value::Object(fields) = value {
                for (name, v) in fields {
                    out.insert(format!("custom_fields.{name}"), text(&v));
                }
            }
        } else {
            out.insert(key, text(&value));
        }
    }
    out
}

/// `T20240215.0001`: Autotask's format, which the other dialects show as is.
pub fn ticket_number(day: jiff::civil::Date, sequence: i64) -> String {
    format!(
        "T{:04}{:02}{:02}.{:04}",
        day.year(),
        day.month(),
        day.day(),
        sequence
    )
}

/// The `YYYYMMDD` day key under which a ticket's sequence is counted.
pub fn number_day(at: Timestamp) -> jiff::civil::Date {
    at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::catalog::{default_catalog, seeded};

    pub fn sample(catalog: &Catalog) -> Ticket {
        NewTicket {
            title: "Outlook disconnected for the sales team".into(),
            company_id: CompanyId(1),
            ..Default::default()
        }
        .into_ticket(catalog, Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn a_category_fills_what_a_create_leaves_out() {
        use crate::catalog::{QueueRequirement, TicketCategory};
        let mut catalog = default_catalog();
        catalog.categories.push(TicketCategory {
            id: TicketCategoryId(2),
            name: "Monitoring alert".into(),
            active: true,
            is_default: false,
            queue_requirement: QueueRequirement::Always,
            default_priority_id: Some(seeded::HIGH),
            default_type_id: Some(seeded::INCIDENT),
            default_queue_id: Some(QueueId(4)),
            sla_policy_id: None,
            due_in_days: Some(1),
            due_time: Some(jiff::civil::time(17, 0, 0, 0)),
        });
        let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();
        // Friday 2024-03-08 22:00 New York: due the next day at 17:00 local time.
        let now: Timestamp = "2024-03-09T03:00:00Z".parse().unwrap();
        let new = |category, priority| NewTicket {
            title: "Disk space low".into(),
            company_id: CompanyId(1),
            ticket_category_id: category,
            priority_id: priority,
            ..Default::default()
        };
        let t = new(Some(TicketCategoryId(2)), Some(seeded::LOW))
            .with_category_defaults(&catalog, now, &ny)
            .into_ticket(&catalog, now);
        assert_eq!(t.priority_id, seeded::LOW, "a given value wins");
        assert_eq!(t.type_id, seeded::INCIDENT);
        assert_eq!(t.queue_id, Some(QueueId(4)));
        // Saturday 17:00 EST is 22:00 UTC (DST starts on Sunday the 10th).
        assert_eq!(t.due_at, Some("2024-03-09T22:00:00Z".parse().unwrap()));

        let plain = new(None, None)
            .with_category_defaults(&catalog, now, &ny)
            .into_ticket(&catalog, now);
        assert_eq!(plain.ticket_category_id, Some(seeded::STANDARD));
        assert_eq!(
            (plain.priority_id, plain.queue_id, plain.due_at),
            (seeded::MEDIUM, None, None)
        );
    }

    #[test]
    fn a_patch_sets_and_clears_the_sla_policy_like_any_field() {
        let before = sample(&crate::catalog::default_catalog());
        let set = TicketPatch {
            sla_policy_id: Some(Some(SlaPolicyId(2))),
            ..Default::default()
        }
        .apply_to(&before);
        assert_eq!(set.sla_policy_id, Some(SlaPolicyId(2)));
        let cleared = TicketPatch {
            sla_policy_id: Some(None),
            ..Default::default()
        }
        .apply_to(&set);
        assert_eq!(cleared.sla_policy_id, None);
        let untouched = TicketPatch::default().apply_to(&set);
        assert_eq!(untouched.sla_policy_id, Some(SlaPolicyId(2)));
    }

    #[test]
    fn numbers_follow_autotask_format() {
        assert_eq!(
            ticket_number(jiff::civil::date(2024, 2, 15), 1),
            "T20240215.0001"
        );
        assert_eq!(
            ticket_number(jiff::civil::date(2024, 2, 15), 12345),
            "T20240215.12345"
        );
        let at: Timestamp = "2024-02-15T23:59:59Z".parse().unwrap();
        assert_eq!(number_day(at), jiff::civil::date(2024, 2, 15));
    }

    #[test]
    fn create_defaults_are_new_medium_service_request() {
        let catalog = default_catalog();
        let t = sample(&catalog);
        assert_eq!(t.status_id, seeded::NEW);
        assert_eq!(t.priority_id, seeded::MEDIUM);
        assert_eq!(t.type_id, seeded::SERVICE_REQUEST);
        assert_eq!(t.source, Source::Api);
        assert_eq!(t.version, 1);
    }

    #[test]
    fn patch_distinguishes_absent_from_null() {
        let catalog = default_catalog();
        let mut before = sample(&catalog);
        before.description = Some("kept".into());
        before.queue_id = Some(QueueId(3));
        before.custom_fields.insert("asset".into(), "LT-001".into());
        let patch: TicketPatch = serde_json::from_str(
            r#"{"queue_id": null, "custom_fields": {"asset": null, "site": "HQ"}}"#,
        )
        .unwrap();
        let after = patch.apply_to(&before);
        assert_eq!(after.description.as_deref(), Some("kept"));
        assert_eq!(after.queue_id, None);
        assert_eq!(
            after.custom_fields.get("site").map(String::as_str),
            Some("HQ")
        );
        assert!(!after.custom_fields.contains_key("asset"));
    }

    #[test]
    fn diff_lists_each_changed_field_once() {
        let catalog = default_catalog();
        let before = sample(&catalog);
        let mut after = before.clone();
        after.status_id = seeded::IN_PROGRESS;
        after.secondary_resource_ids = vec![ResourceId(4)];
        after.custom_fields.insert("asset".into(), "LT-001".into());
        after.version = 2;
        let changes = diff(Some(&before), &after);
        let fields: Vec<_> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            ["custom_fields.asset", "secondary_resource_ids", "status_id"]
        );
        assert_eq!(changes[2].old.as_deref(), Some("1"));
        assert_eq!(changes[2].new.as_deref(), Some("2"));
        assert!(diff(Some(&before), &before).is_empty());
    }

    #[test]
    fn status_effects_stamp_and_clear() {
        let catalog = default_catalog();
        let status = |id| catalog.status(id).unwrap();
        let mut t = sample(&catalog);
        let t1: Timestamp = "2024-02-15T10:00:00Z".parse().unwrap();
        apply_status_effects(
            &mut t,
            Some(status(seeded::NEW)),
            status(seeded::IN_PROGRESS),
            t1,
        );
        assert_eq!(t.first_response_at, Some(t1));
        let t2: Timestamp = "2024-02-15T11:00:00Z".parse().unwrap();
        apply_status_effects(
            &mut t,
            Some(status(seeded::IN_PROGRESS)),
            status(seeded::COMPLETE),
            t2,
        );
        assert_eq!((t.resolved_at, t.completed_at), (Some(t2), Some(t2)));
        assert_eq!(
            t.resolution_plan_at,
            Some(t2),
            "resolved without a plan: met then"
        );
        apply_status_effects(
            &mut t,
            Some(status(seeded::COMPLETE)),
            status(seeded::IN_PROGRESS),
            t2,
        );
        assert_eq!(
            (t.resolved_at, t.completed_at, t.first_response_at),
            (None, None, Some(t1))
        );
        assert_eq!(
            t.resolution_plan_at,
            Some(t2),
            "a given plan stays on reopening"
        );
    }
}
