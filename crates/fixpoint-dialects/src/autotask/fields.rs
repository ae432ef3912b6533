//! Each entity's fields as Autotask names them, what Fixpoint column answers a filter
//! on each, and `entityInformation` built from the same tables.

use fixpoint_core::query::Kind;
use fixpoint_store::dialects::CodeKind;
use serde_json::{Value, json};

use super::entities::Entity;
use super::{Call, Error};

/// How a field's values translate between Autotask and Fixpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    Plain,
    /// An Autotask number for a Fixpoint catalogue id (status, priority, type).
    Code(CodeKind),
    /// Ticket source: a number for Fixpoint's source name.
    Source,
    /// Note type: a number for Fixpoint's note kind.
    NoteType,
    /// Note publish: 1 all users (external), 2 internal only.
    Publish,
    /// Hours in Autotask, minutes in Fixpoint.
    Hours,
    /// A yes/no that is stored the other way round (isNonBillable over billable).
    Inverted,
    /// A ticket category: Fixpoint's id as is, listed from the catalogue.
    Category,
}

#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub name: &'static str,
    /// The Fixpoint column a filter on this field tests; none for computed fields.
    pub column: Option<&'static str>,
    pub kind: Kind,
    pub pick: Pick,
    pub read_only: bool,
    pub required: bool,
    pub reference: Option<&'static str>,
}

const fn f(name: &'static str, column: &'static str, kind: Kind) -> Spec {
    Spec {
        name,
        column: Some(column),
        kind,
        pick: Pick::Plain,
        read_only: false,
        required: false,
        reference: None,
    }
}

impl Spec {
    const fn pick(self, pick: Pick) -> Self {
        Self { pick, ..self }
    }
    const fn read_only(self) -> Self {
        Self {
            read_only: true,
            ..self
        }
    }
    const fn required(self) -> Self {
        Self {
            required: true,
            ..self
        }
    }
    const fn refers(self, entity: &'static str) -> Self {
        Self {
            reference: Some(entity),
            ..self
        }
    }
    const fn computed(self) -> Self {
        Self {
            column: None,
            read_only: true,
            ..self
        }
    }
}

use Kind::{Boolean as B, Instant as T, Integer as I, Text as S};

pub const TICKET: &[Spec] = &[
    f("id", "id", I).read_only(),
    f("ticketNumber", "number", S).read_only(),
    f("title", "title", S).required(),
    f("description", "description", S),
    f("companyID", "company_id", I)
        .required()
        .refers("Companies"),
    f("companyLocationID", "location_id", I),
    f("contactID", "contact_id", I).refers("Contacts"),
    f("status", "status_id", I)
        .pick(Pick::Code(CodeKind::Status))
        .required(),
    f("priority", "priority_id", I)
        .pick(Pick::Code(CodeKind::Priority))
        .required(),
    f("queueID", "queue_id", I),
    f("issueType", "issue_type_id", I),
    f("subIssueType", "sub_issue_type_id", I),
    f("ticketType", "type_id", I).pick(Pick::Code(CodeKind::TicketType)),
    f("ticketCategory", "ticket_category_id", I)
        .pick(Pick::Category)
        .refers("TicketCategories"),
    f("source", "source", S).pick(Pick::Source),
    f("assignedResourceID", "assigned_resource_id", I).refers("Resources"),
    f("assignedResourceRoleID", "assigned_role_id", I).refers("Roles"),
    f("contractID", "contract_id", I).refers("Contracts"),
    f("serviceLevelAgreementID", "sla_policy_id", I).refers("ServiceLevelAgreements"),
    f("dueDateTime", "due_at", T),
    f("estimatedHours", "estimated_minutes", I).pick(Pick::Hours),
    f("resolution", "resolution", S),
    f("problemTicketId", "problem_ticket_id", I).refers("Tickets"),
    f("createDate", "created_at", T).read_only(),
    f("lastActivityDate", "last_activity_at", T).read_only(),
    f("lastTrackedModificationDateTime", "updated_at", T).read_only(),
    f("completedDate", "completed_at", T).read_only(),
    f("firstResponseDateTime", "first_response_at", T).read_only(),
    f("resolvedDateTime", "resolved_at", T).read_only(),
    f("firstResponseDueDateTime", "response_due_at", T).read_only(),
    f("resolvedDueDateTime", "resolution_due_at", T).read_only(),
    // Given by the technician (PATCH it to record the plan); due from the policy.
    f("resolutionPlanDateTime", "resolution_plan_at", T),
    f("resolutionPlanDueDateTime", "resolution_plan_due_at", T).read_only(),
    f("serviceLevelAgreementHasBeenMet", "", B).computed(),
    f("serviceLevelAgreementPausedNextEventHours", "", I).computed(),
    // Fixpoint's: the reason a ticket is escalated (status 14 needs one).
    f("escalationReason", "escalation_reason", S),
];

pub const NOTE: &[Spec] = &[
    f("id", "id", I).read_only(),
    f("ticketID", "ticket_id", I).required().refers("Tickets"),
    f("title", "title", S),
    f("description", "body", S).required(),
    f("noteType", "kind", S).pick(Pick::NoteType),
    f("publish", "visibility", S).pick(Pick::Publish),
    f("createDateTime", "created_at", T).read_only(),
    f("lastActivityDate", "created_at", T).read_only(),
    f("creatorResourceID", "", I).computed(),
    f("createdByContactID", "contact_id", I).refers("Contacts"),
];

pub const TIME_ENTRY: &[Spec] = &[
    f("id", "id", I).read_only(),
    f("ticketID", "ticket_id", I).required().refers("Tickets"),
    f("resourceID", "resource_id", I)
        .required()
        .refers("Resources"),
    f("roleID", "", I).computed(),
    f("dateWorked", "started_at", T),
    f("startDateTime", "started_at", T),
    f("endDateTime", "ended_at", T),
    f("hoursWorked", "minutes", I).pick(Pick::Hours),
    f("hoursToBill", "", I).computed(),
    f("summaryNotes", "notes", S),
    f("internalNotes", "", S).computed(),
    f("isNonBillable", "billable", B).pick(Pick::Inverted),
    f("billingCodeID", "", I).computed(),
    f("createDateTime", "created_at", T).read_only(),
];

pub const COMPANY: &[Spec] = &[
    f("id", "id", I).read_only(),
    f("companyName", "name", S).required(),
    f("parentCompanyID", "parent_company_id", I).refers("Companies"),
    f("phone", "phone", S),
    f("webAddress", "website", S),
    f("isActive", "active", B),
    f("createDate", "created_at", T).read_only(),
    f("companyType", "", I).computed(),
];

pub const CONTACT: &[Spec] = &[
    f("id", "id", I).read_only(),
    f("companyID", "company_id", I)
        .required()
        .refers("Companies"),
    f("firstName", "first_name", S).required(),
    f("lastName", "last_name", S).required(),
    f("emailAddress", "email", S),
    f("phone", "phone", S),
    f("isActive", "active", B),
];

pub const RESOURCE: &[Spec] = &[
    f("id", "id", I).read_only(),
    f("firstName", "first_name", S).required(),
    f("lastName", "last_name", S).required(),
    f("email", "email", S).required(),
    f("userName", "email", S).read_only(),
    f("isActive", "active", B),
    f("resourceType", "", S).computed(),
];

pub const NAMED: &[Spec] = &[
    f("id", "id", I).read_only(),
    f("name", "name", S).required(),
    f("isActive", "active", B),
    f("description", "", S).computed(),
];

pub const CONTRACT: &[Spec] = &[
    f("id", "id", I).read_only(),
    f("companyID", "company_id", I)
        .required()
        .refers("Companies"),
    f("contractName", "name", S).required(),
    f("serviceLevelAgreementID", "sla_policy_id", I).refers("ServiceLevelAgreements"),
    f("status", "active", B),
];

pub const SLA: &[Spec] = &[
    f("id", "id", I).read_only(),
    f("name", "name", S).read_only(),
    f("isActive", "", B).computed(),
    f("description", "", S).computed(),
];

pub const CATEGORY: &[Spec] = &[
    f("id", "id", I).read_only(),
    f("name", "name", S).read_only(),
    f("nickname", "name", S).read_only(),
    f("isActive", "active", B).read_only(),
    f("isGlobalDefault", "is_default", B).read_only(),
    f("isApiOnly", "", B).computed(),
    f("displayColorRGB", "", I).computed(),
];

pub const HISTORY: &[Spec] = &[
    f("id", "id", I).read_only(),
    f("ticketID", "ticket_id", I).read_only().refers("Tickets"),
    f("date", "at", T).read_only(),
    f("action", "field", S).read_only(),
    f("detail", "", S).computed(),
    f("resourceID", "", I).computed(),
];

/// The field spec by Autotask name, case-insensitively.
pub fn spec(entity: Entity, name: &str) -> Option<&'static Spec> {
    entity
        .fields()
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
}

/// A Fixpoint field name in an error, as Autotask clients know it (`company_id` →
/// `companyID`); names the tables do not list are turned into camelCase.
pub fn autotask_name(native: &str) -> String {
    let (head, tail) = native
        .split_once(['.', '['])
        .map_or((native, ""), |(h, _)| (h, &native[h.len()..]));
    for table in [
        TICKET, NOTE, TIME_ENTRY, COMPANY, CONTACT, RESOURCE, CONTRACT,
    ] {
        if let Some(spec) = table.iter().find(|s| s.column == Some(head)) {
            return format!("{}{tail}", spec.name);
        }
    }
    let mut out = String::new();
    let mut upper = false;
    for c in head.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.push(c.to_ascii_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    format!("{out}{tail}")
}

/// `GET /{Entity}/entityInformation`.
pub fn info(entity: Entity) -> Value {
    let verbs = entity.allows();
    json!({"info": {
        "name": entity.singular(),
        "canCreate": verbs.create,
        "canDelete": verbs.delete,
        "canQuery": true,
        "canUpdate": verbs.update,
        "userAccessForCreate": if verbs.create { "All" } else { "None" },
        "userAccessForDelete": if verbs.delete { "All" } else { "None" },
        "userAccessForQuery": "All",
        "userAccessForUpdate": if verbs.update { "All" } else { "None" },
        "hasUserDefinedFields": entity == Entity::Tickets,
        "supportsWebhookCallouts": false,
    }})
}

/// `GET /{Entity}/entityInformation/fields`, with picklists from Fixpoint's catalogue.
pub async fn fields(call: &Call, entity: Entity) -> Result<Value, Error> {
    let vocabulary = super::tickets::Vocabulary::load(call).await?;
    let fields: Vec<Value> = entity
        .fields()
        .iter()
        .map(|s| {
            let picklist = vocabulary.picklist(s.pick);
            json!({
                "name": s.name,
                "dataType": match (s.kind, s.pick) {
                    (_, Pick::Code(_) | Pick::NoteType | Pick::Publish | Pick::Source | Pick::Category) => "integer",
                    (_, Pick::Hours) => "decimal",
                    (Kind::Integer, _) => "integer",
                    (Kind::Text, _) => "string",
                    (Kind::Instant, _) => "datetime",
                    (Kind::Boolean, _) => "boolean",
                },
                "length": if s.kind == Kind::Text { 8000 } else { 0 },
                "isRequired": s.required,
                "isReadOnly": s.read_only,
                "isQueryable": s.column.is_some(),
                "isReference": s.reference.is_some(),
                "referenceEntityType": s.reference.unwrap_or(""),
                "isPickList": picklist.is_some(),
                "picklistValues": picklist,
                "picklistParentValueField": "",
                "isSupportedWebhookField": false,
            })
        })
        .collect();
    Ok(json!({ "fields": fields }))
}

/// `GET /{Entity}/entityInformation/userDefinedFields`: for tickets, the custom
/// field names in use; other entities have none.
pub async fn user_defined(call: &Call, entity: Entity) -> Result<Value, Error> {
    let names = if entity == Entity::Tickets {
        let mut conn = call.state.store.read().await?;
        fixpoint_store::tickets::custom_field_names(&mut conn).await?
    } else {
        Vec::new()
    };
    let fields: Vec<Value> = names
        .iter()
        .map(|name| {
            json!({
                "name": name, "label": name, "dataType": "string", "length": 8000,
                "isRequired": false, "isReadOnly": false, "isQueryable": true,
                "isReference": false, "isPickList": false, "picklistValues": null,
            })
        })
        .collect();
    Ok(json!({ "fields": fields }))
}
