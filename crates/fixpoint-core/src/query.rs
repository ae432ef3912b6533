//! The ticket query language: a tree of `and` / `or` / `not` nodes over leaves
//! `{field, op, value}`, parsed from JSON with the path of every mistake, and its
//! meaning defined once by [`Node::matches`]. The store compiles the same tree to SQL;
//! a differential test holds the two to the same answers.
//!
//! Semantics, the same in memory, on SQLite and on PostgreSQL:
//! - Every leaf is true or false, never unknown: a ticket without a value for the
//!   field fails every test except `noteq`, `notIn` and `notExist`, which are exactly
//!   the negations of `eq`, `in` and `exist`.
//! - Text compares case-insensitively with ASCII case folding (what SQLite's `lower`
//!   does and PostgreSQL's `lower` under the C collation does), in code-point order.
//! - `text` is full-text search over title, description and notes: every word of the
//!   value must appear as a word, case-insensitively.

use jiff::Timestamp;
use serde_json::Value;

use crate::catalog::StatusCategory;
use crate::error::{DomainError, ErrorCode, Violations};
use crate::filter::SlaStateFilter;
use crate::ticket::{CUSTOM_FIELD_NAME_MAX, Ticket};

/// Deepest nesting of `and` / `or` / `not` a filter may have.
pub const DEPTH_MAX: usize = 10;
/// Most nodes (groups and leaves) in one filter.
pub const NODES_MAX: usize = 200;
/// Most values in one `in` / `notIn` list.
pub const IN_VALUES_MAX: usize = 500;
/// Longest text value of a leaf.
pub const TEXT_VALUE_MAX: usize = 1000;

/// A ticket column the language can test, with the kind of value it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Id,
    Number,
    Title,
    Description,
    CompanyId,
    LocationId,
    ContactId,
    StatusId,
    PriorityId,
    TypeId,
    TicketCategoryId,
    QueueId,
    IssueTypeId,
    SubIssueTypeId,
    Category1,
    Category2,
    Category3,
    Category4,
    Source,
    AssignedResourceId,
    AssignedRoleId,
    ContractId,
    DueAt,
    EstimatedMinutes,
    Resolution,
    EscalationReason,
    ProblemTicketId,
    CreatedAt,
    UpdatedAt,
    FirstResponseAt,
    ResolvedAt,
    CompletedAt,
    LastActivityAt,
    SlaPolicyId,
    ResponseDueAt,
    ResolutionPlanAt,
    ResolutionPlanDueAt,
    ResolutionDueAt,
    Version,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Integer,
    Text,
    Instant,
    Boolean,
}

impl Column {
    /// Every column, by the name clients use (also the SQL column name).
    pub const ALL: [(Column, &'static str, Kind); 39] = [
        (Self::Id, "id", Kind::Integer),
        (Self::Number, "number", Kind::Text),
        (Self::Title, "title", Kind::Text),
        (Self::Description, "description", Kind::Text),
        (Self::CompanyId, "company_id", Kind::Integer),
        (Self::LocationId, "location_id", Kind::Integer),
        (Self::ContactId, "contact_id", Kind::Integer),
        (Self::StatusId, "status_id", Kind::Integer),
        (Self::PriorityId, "priority_id", Kind::Integer),
        (Self::TypeId, "type_id", Kind::Integer),
        (Self::TicketCategoryId, "ticket_category_id", Kind::Integer),
        (Self::QueueId, "queue_id", Kind::Integer),
        (Self::IssueTypeId, "issue_type_id", Kind::Integer),
        (Self::SubIssueTypeId, "sub_issue_type_id", Kind::Integer),
        (Self::Category1, "category_1", Kind::Text),
        (Self::Category2, "category_2", Kind::Text),
        (Self::Category3, "category_3", Kind::Text),
        (Self::Category4, "category_4", Kind::Text),
        (Self::Source, "source", Kind::Text),
        (
            Self::AssignedResourceId,
            "assigned_resource_id",
            Kind::Integer,
        ),
        (Self::AssignedRoleId, "assigned_role_id", Kind::Integer),
        (Self::ContractId, "contract_id", Kind::Integer),
        (Self::DueAt, "due_at", Kind::Instant),
        (Self::EstimatedMinutes, "estimated_minutes", Kind::Integer),
        (Self::Resolution, "resolution", Kind::Text),
        (Self::EscalationReason, "escalation_reason", Kind::Text),
        (Self::ProblemTicketId, "problem_ticket_id", Kind::Integer),
        (Self::CreatedAt, "created_at", Kind::Instant),
        (Self::UpdatedAt, "updated_at", Kind::Instant),
        (Self::FirstResponseAt, "first_response_at", Kind::Instant),
        (Self::ResolvedAt, "resolved_at", Kind::Instant),
        (Self::CompletedAt, "completed_at", Kind::Instant),
        (Self::LastActivityAt, "last_activity_at", Kind::Instant),
        (Self::SlaPolicyId, "sla_policy_id", Kind::Integer),
        (Self::ResponseDueAt, "response_due_at", Kind::Instant),
        (Self::ResolutionPlanAt, "resolution_plan_at", Kind::Instant),
        (
            Self::ResolutionPlanDueAt,
            "resolution_plan_due_at",
            Kind::Instant,
        ),
        (Self::ResolutionDueAt, "resolution_due_at", Kind::Instant),
        (Self::Version, "version", Kind::Integer),
    ];

    pub fn name(self) -> &'static str {
        Self::entry(self).1
    }

    pub fn kind(self) -> Kind {
        Self::entry(self).2
    }

    fn entry(self) -> &'static (Column, &'static str, Kind) {
        Self::ALL
            .iter()
            .find(|(c, _, _)| *c == self)
            .expect("every column is listed in Column::ALL")
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, n, _)| n.eq_ignore_ascii_case(name))
            .map(|(c, _, _)| *c)
    }

    /// The ticket's value for this column.
    pub fn value(self, t: &Ticket) -> Option<Scalar> {
        let id = |v: i64| Some(Scalar::Integer(v));
        let text = |v: &str| Some(Scalar::Text(v.to_owned()));
        let at = |v: Option<Timestamp>| v.map(Scalar::Instant);
        let category = |level: usize| t.categories.get(level).and_then(|c| text(c));
        match self {
            Self::Id => id(t.id.0),
            Self::Number => text(&t.number),
            Self::Title => text(&t.title),
            Self::Description => t.description.as_deref().and_then(text),
            Self::CompanyId => id(t.company_id.0),
            Self::LocationId => t.location_id.and_then(|v| id(v.0)),
            Self::ContactId => t.contact_id.and_then(|v| id(v.0)),
            Self::StatusId => id(t.status_id.0),
            Self::PriorityId => id(t.priority_id.0),
            Self::TypeId => id(t.type_id.0),
            Self::TicketCategoryId => t.ticket_category_id.and_then(|v| id(v.0)),
            Self::QueueId => t.queue_id.and_then(|v| id(v.0)),
            Self::IssueTypeId => t.issue_type_id.and_then(|v| id(v.0)),
            Self::SubIssueTypeId => t.sub_issue_type_id.and_then(|v| id(v.0)),
            Self::Category1 => category(0),
            Self::Category2 => category(1),
            Self::Category3 => category(2),
            Self::Category4 => category(3),
            Self::Source => text(t.source.as_str()),
            Self::AssignedResourceId => t.assigned_resource_id.and_then(|v| id(v.0)),
            Self::AssignedRoleId => t.assigned_role_id.and_then(|v| id(v.0)),
            Self::ContractId => t.contract_id.and_then(|v| id(v.0)),
            Self::DueAt => at(t.due_at),
            Self::EstimatedMinutes => t.estimated_minutes.and_then(id),
            Self::Resolution => t.resolution.as_deref().and_then(text),
            Self::EscalationReason => t.escalation_reason.as_deref().and_then(text),
            Self::ProblemTicketId => t.problem_ticket_id.and_then(|v| id(v.0)),
            Self::CreatedAt => at(Some(t.created_at)),
            Self::UpdatedAt => at(Some(t.updated_at)),
            Self::FirstResponseAt => at(t.first_response_at),
            Self::ResolvedAt => at(t.resolved_at),
            Self::CompletedAt => at(t.completed_at),
            Self::LastActivityAt => at(Some(t.last_activity_at)),
            Self::SlaPolicyId => t.sla_policy_id.and_then(|v| id(v.0)),
            Self::ResponseDueAt => at(t.response_due_at),
            Self::ResolutionPlanAt => at(t.resolution_plan_at),
            Self::ResolutionPlanDueAt => at(t.resolution_plan_due_at),
            Self::ResolutionDueAt => at(t.resolution_due_at),
            Self::Version => id(t.version),
        }
    }
}

/// What a leaf tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Column(Column),
    /// A custom (user-defined) field, by its exact name; its values are text.
    Custom(String),
    /// The category of the ticket's status: `new`, `in_progress`, `waiting`,
    /// `escalated`, `resolved`, `closed`.
    StatusCategory,
    /// The SLA state as of the query's instant, as in [`SlaStateFilter`].
    SlaState,
    /// A column of another record (a company, a contact…), from the whitelist given
    /// to [`parse_attributes`]; the name is the SQL column.
    Attribute(&'static str, Kind),
}

/// A column another record offers to the language: its name (also the SQL column)
/// and the kind of value it holds.
pub type Attribute = (&'static str, Kind);

/// A literal in a leaf, of the kind its field holds. Text is kept as given; it is
/// folded where it is compared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scalar {
    Integer(i64),
    Text(String),
    Instant(Timestamp),
    Boolean(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    NotEq,
    Gt,
    Gte,
    Lt,
    Lte,
    Between,
    In,
    NotIn,
    Contains,
    BeginsWith,
    EndsWith,
    Exist,
    NotExist,
    Text,
}

impl Op {
    pub const ALL: [(Op, &'static str); 15] = [
        (Self::Eq, "eq"),
        (Self::NotEq, "noteq"),
        (Self::Gt, "gt"),
        (Self::Gte, "gte"),
        (Self::Lt, "lt"),
        (Self::Lte, "lte"),
        (Self::Between, "between"),
        (Self::In, "in"),
        (Self::NotIn, "notIn"),
        (Self::Contains, "contains"),
        (Self::BeginsWith, "beginsWith"),
        (Self::EndsWith, "endsWith"),
        (Self::Exist, "exist"),
        (Self::NotExist, "notExist"),
        (Self::Text, "text"),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(o, _)| *o == self)
            .map(|(_, n)| *n)
            .unwrap_or("eq")
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(o, _)| *o)
    }

    const ORDERED: [Op; 14] = [
        Op::Eq,
        Op::NotEq,
        Op::Gt,
        Op::Gte,
        Op::Lt,
        Op::Lte,
        Op::Between,
        Op::In,
        Op::NotIn,
        Op::Exist,
        Op::NotExist,
        Op::Contains,
        Op::BeginsWith,
        Op::EndsWith,
    ];

    /// The ops a field accepts, in the order error messages list them.
    fn allowed(field: &Field) -> &'static [Op] {
        match field {
            Field::Column(c) if c.kind() == Kind::Text => &Self::ORDERED,
            Field::Attribute(_, Kind::Text) | Field::Custom(_) => &Self::ORDERED,
            Field::Attribute(_, Kind::Boolean) => &[Op::Eq, Op::NotEq, Op::Exist, Op::NotExist],
            Field::Column(_) | Field::Attribute(..) => &Self::ORDERED[..11],
            Field::StatusCategory | Field::SlaState => &[Op::Eq, Op::NotEq, Op::In, Op::NotIn],
        }
    }
}

/// One test on one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    Eq(Scalar),
    NotEq(Scalar),
    Gt(Scalar),
    Gte(Scalar),
    Lt(Scalar),
    Lte(Scalar),
    /// Inclusive at both ends.
    Between(Scalar, Scalar),
    In(Vec<Scalar>),
    NotIn(Vec<Scalar>),
    Contains(String),
    BeginsWith(String),
    EndsWith(String),
    Exist,
    NotExist,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    /// True when the conjunction of its items is false.
    Not(Vec<Node>),
    Leaf(Field, Test),
    /// Full-text search: every word must appear in the title, description or a note.
    Text(String),
}

/// What a query is evaluated against besides the ticket.
pub struct Facts<'a> {
    /// The instant SLA states are judged at.
    pub now: Timestamp,
    /// The category of each status id.
    pub category: &'a dyn Fn(crate::ids::StatusId) -> Option<StatusCategory>,
    /// The text of the ticket's notes, for `text`.
    pub notes: &'a dyn Fn(crate::ids::TicketId) -> String,
}

impl Node {
    /// Nothing filtered: every ticket.
    pub fn everything() -> Self {
        Self::And(Vec::new())
    }

    pub fn matches(&self, t: &Ticket, facts: &Facts<'_>) -> bool {
        match self {
            Self::And(items) => items.iter().all(|n| n.matches(t, facts)),
            Self::Or(items) => items.iter().any(|n| n.matches(t, facts)),
            Self::Not(items) => !items.iter().all(|n| n.matches(t, facts)),
            Self::Text(query) => {
                let words = words(&format!(
                    "{} {} {}",
                    t.title,
                    t.description.as_deref().unwrap_or(""),
                    (facts.notes)(t.id)
                ));
                let wanted = words_of(query);
                !wanted.is_empty() && wanted.iter().all(|w| words.contains(w))
            }
            Self::Leaf(field, test) => {
                let value = match field {
                    Field::Column(c) => c.value(t),
                    Field::Custom(name) => t.custom_fields.get(name).cloned().map(Scalar::Text),
                    Field::Attribute(..) => None,
                    Field::StatusCategory => (facts.category)(t.status_id)
                        .map(|c| Scalar::Text(category_name(c).to_owned())),
                    Field::SlaState => {
                        return test_sla_state(test, |state| state.matches(t, facts.now));
                    }
                };
                test.holds(value.as_ref())
            }
        }
    }

    /// Every text-search phrase in the tree.
    pub fn text_queries(&self) -> Vec<&str> {
        match self {
            Self::And(items) | Self::Or(items) | Self::Not(items) => {
                items.iter().flat_map(Node::text_queries).collect()
            }
            Self::Text(q) => vec![q.as_str()],
            Self::Leaf(..) => Vec::new(),
        }
    }
}

fn test_sla_state(test: &Test, holds: impl Fn(SlaStateFilter) -> bool) -> bool {
    let state = |s: &Scalar| match s {
        Scalar::Text(name) => SlaStateFilter::parse(name).map(&holds).unwrap_or(false),
        _ => false,
    };
    match test {
        Test::Eq(v) => state(v),
        Test::NotEq(v) => !state(v),
        Test::In(vs) => vs.iter().any(state),
        Test::NotIn(vs) => !vs.iter().any(state),
        _ => false,
    }
}

pub fn category_name(c: StatusCategory) -> &'static str {
    match c {
        StatusCategory::New => "new",
        StatusCategory::InProgress => "in_progress",
        StatusCategory::Waiting => "waiting",
        StatusCategory::Escalated => "escalated",
        StatusCategory::Resolved => "resolved",
        StatusCategory::Closed => "closed",
    }
}

/// Every status category, in the order messages list them.
pub const CATEGORIES: [StatusCategory; 6] = [
    StatusCategory::New,
    StatusCategory::InProgress,
    StatusCategory::Waiting,
    StatusCategory::Escalated,
    StatusCategory::Resolved,
    StatusCategory::Closed,
];

/// The words of a text as full-text search sees them: runs of letters and digits,
/// lower-cased.
pub fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn words(text: &str) -> std::collections::HashSet<String> {
    words_of(text).into_iter().collect()
}

/// ASCII case folding: the comparison both databases make.
pub fn fold(text: &str) -> String {
    text.to_ascii_lowercase()
}

fn folded(s: &Scalar) -> Scalar {
    match s {
        Scalar::Text(t) => Scalar::Text(fold(t)),
        other => other.clone(),
    }
}

impl Test {
    fn holds(&self, value: Option<&Scalar>) -> bool {
        let Some(value) = value.map(folded) else {
            return matches!(self, Self::NotEq(_) | Self::NotIn(_) | Self::NotExist);
        };
        let text = || match &value {
            Scalar::Text(t) => Some(t.as_str()),
            _ => None,
        };
        match self {
            Self::Eq(v) => value == folded(v),
            Self::NotEq(v) => value != folded(v),
            Self::Gt(v) => value > folded(v),
            Self::Gte(v) => value >= folded(v),
            Self::Lt(v) => value < folded(v),
            Self::Lte(v) => value <= folded(v),
            Self::Between(lo, hi) => value >= folded(lo) && value <= folded(hi),
            Self::In(vs) => vs.iter().any(|v| value == folded(v)),
            Self::NotIn(vs) => !vs.iter().any(|v| value == folded(v)),
            Self::Contains(s) => text().is_some_and(|t| t.contains(&fold(s))),
            Self::BeginsWith(s) => text().is_some_and(|t| t.starts_with(&fold(s))),
            Self::EndsWith(s) => text().is_some_and(|t| t.ends_with(&fold(s))),
            Self::Exist => true,
            Self::NotExist => false,
        }
    }
}

/// Parses a filter: one node, or an array of nodes that must all hold. `path` names
/// the filter in the request (`filter`), so errors read `filter.items[2].op`.
pub fn parse(json: &Value, path: &str) -> Result<Node, DomainError> {
    Parser::new(None).run(json, path)
}

/// Parses a filter over another record's columns (`attributes`) instead of a ticket's.
pub fn parse_attributes(
    json: &Value,
    path: &str,
    attributes: &[Attribute],
) -> Result<Node, DomainError> {
    Parser::new(Some(attributes)).run(json, path)
}

struct Parser<'a> {
    violations: Violations,
    nodes: usize,
    attributes: Option<&'a [Attribute]>,
}

impl<'a> Parser<'a> {
    fn new(attributes: Option<&'a [Attribute]>) -> Self {
        Self {
            violations: Violations::default(),
            nodes: 0,
            attributes,
        }
    }

    fn run(mut self, json: &Value, path: &str) -> Result<Node, DomainError> {
        let node = match json {
            Value::Array(items) => Some(Node::And(self.items(items, path, 1))),
            other => self.node(other, path, 1),
        };
        self.violations.into_result()?;
        Ok(node.unwrap_or_else(Node::everything))
    }

    fn fail(&mut self, path: &str, code: ErrorCode, message: impl Into<String>) -> Option<Node> {
        self.violations.push(path, code, message);
        None
    }

    fn items(&mut self, items: &[Value], path: &str, depth: usize) -> Vec<Node> {
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.node(item, &format!("{path}[{i}]"), depth))
            .collect()
    }

    fn node(&mut self, json: &Value, path: &str, depth: usize) -> Option<Node> {
        self.nodes += 1;
        if self.nodes == NODES_MAX + 1 {
            return self.fail(
                path,
                ErrorCode::TooMany,
                format!("a filter may have at most {NODES_MAX} nodes"),
            );
        }
        if self.nodes > NODES_MAX {
            return None;
        }
        if depth > DEPTH_MAX {
            return self.fail(
                path,
                ErrorCode::TooMany,
                format!("filters nest at most {DEPTH_MAX} levels deep"),
            );
        }
        let Value::Object(object) = json else {
            return self.fail(
                path,
                ErrorCode::InvalidField,
                "a filter node is an object such as {\"op\": \"eq\", \"field\": \"status_id\", \"value\": 1} or {\"op\": \"and\", \"items\": [...]}",
            );
        };
        let member = |name: &str| {
            object
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        for key in object.keys() {
            if !["op", "field", "value", "items", "udf"]
                .iter()
                .any(|k| k.eq_ignore_ascii_case(key))
            {
                return self.fail(
                    &format!("{path}.{key}"),
                    ErrorCode::InvalidField,
                    "unknown member; a node has op, field, value, udf (leaves) or op, items (groups)",
                );
            }
        }
        let op_path = format!("{path}.op");
        let Some(op_name) = member("op").and_then(Value::as_str) else {
            return self.fail(
                &op_path,
                ErrorCode::Required,
                "op is required: and, or, not, or a comparison such as eq",
            );
        };
        let group = ["and", "or", "not"]
            .into_iter()
            .find(|g| g.eq_ignore_ascii_case(op_name));
        if let Some(group) = group {
            let items_path = format!("{path}.items");
            let Some(Value::Array(items)) = member("items") else {
                return self.fail(
                    &items_path,
                    ErrorCode::Required,
                    format!("{group} needs items: an array of filter nodes"),
                );
            };
            if items.is_empty() {
                return self.fail(
                    &items_path,
                    ErrorCode::Required,
                    format!("{group} needs at least one item"),
                );
            }
            let items = self.items(items, &items_path, depth + 1);
            return Some(match group {
                "and" => Node::And(items),
                "or" => Node::Or(items),
                _ => Node::Not(items),
            });
        }
        let Some(op) = Op::parse(op_name) else {
            let names: Vec<_> = Op::ALL.iter().map(|(_, n)| *n).collect();
            return self.fail(
                &op_path,
                ErrorCode::InvalidField,
                format!(
                    "unknown op '{op_name}'; use and, or, not, {}",
                    names.join(", ")
                ),
            );
        };
        let value = member("value");
        let value_path = format!("{path}.value");
        if op == Op::Text {
            if member("field").is_some() {
                return self.fail(
                    &format!("{path}.field"),
                    ErrorCode::InvalidField,
                    "the text op searches title, description and notes together; omit field",
                );
            }
            let query = self.text_value(value, &value_path)?;
            if words_of(&query).is_empty() {
                return self.fail(
                    &value_path,
                    ErrorCode::Required,
                    "text needs at least one word to search for",
                );
            }
            return Some(Node::Text(query));
        }
        let field = self.field(member("field"), member("udf"), path)?;
        if !Op::allowed(&field).contains(&op) {
            let names: Vec<_> = Op::allowed(&field).iter().map(|o| o.name()).collect();
            return self.fail(
                &op_path,
                ErrorCode::InvalidField,
                format!(
                    "op {} does not apply to {}; use {}",
                    op.name(),
                    field_name(&field),
                    names.join(", ")
                ),
            );
        }
        let test = self.test(op, &field, value, &value_path)?;
        Some(Node::Leaf(field, test))
    }

    fn field(&mut self, field: Option<&Value>, udf: Option<&Value>, path: &str) -> Option<Field> {
        let field_path = format!("{path}.field");
        let Some(name) = field.and_then(Value::as_str) else {
            return self.fail_field(&field_path, ErrorCode::Required, "field is required");
        };
        if let Some(attributes) = self.attributes {
            if let Some((column, kind)) = attributes
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                return Some(Field::Attribute(column, *kind));
            }
            let names: Vec<_> = attributes.iter().map(|(n, _)| *n).collect();
            return self.fail_field(
                &field_path,
                ErrorCode::InvalidField,
                format!("unknown field '{name}'; use {}", names.join(", ")),
            );
        }
        let udf = match udf {
            None | Some(Value::Bool(false)) => false,
            Some(Value::Bool(true)) => true,
            Some(_) => {
                return self.fail_field(
                    &format!("{path}.udf"),
                    ErrorCode::InvalidField,
                    "udf is true or false",
                );
            }
        };
        let custom = if udf {
            Some(name)
        } else {
            name.strip_prefix("custom.")
        };
        if let Some(custom) = custom {
            if custom.is_empty() || custom.chars().count() > CUSTOM_FIELD_NAME_MAX {
                return self.fail_field(
                    &field_path,
                    ErrorCode::InvalidField,
                    format!("a custom field name has 1 to {CUSTOM_FIELD_NAME_MAX} characters"),
                );
            }
            return Some(Field::Custom(custom.to_owned()));
        }
        if let Some(column) = Column::parse(name) {
            return Some(Field::Column(column));
        }
        if name.eq_ignore_ascii_case("status_category") {
            return Some(Field::StatusCategory);
        }
        if name.eq_ignore_ascii_case("sla_state") {
            return Some(Field::SlaState);
        }
        let names: Vec<_> = Column::ALL.iter().map(|(_, n, _)| *n).collect();
        self.fail_field(
            &field_path,
            ErrorCode::InvalidField,
            format!(
                "unknown field '{name}'; use {}, status_category, sla_state, or custom.<name> (or udf: true) for a custom field",
                names.join(", ")
            ),
        )
    }

    fn fail_field(
        &mut self,
        path: &str,
        code: ErrorCode,
        message: impl Into<String>,
    ) -> Option<Field> {
        self.violations.push(path, code, message);
        None
    }

    fn test(&mut self, op: Op, field: &Field, value: Option<&Value>, path: &str) -> Option<Test> {
        let kind = match field {
            Field::Column(c) => c.kind(),
            Field::Attribute(_, kind) => *kind,
            _ => Kind::Text,
        };
        if matches!(op, Op::Exist | Op::NotExist) {
            return Some(if op == Op::Exist {
                Test::Exist
            } else {
                Test::NotExist
            });
        }
        if matches!(op, Op::Contains | Op::BeginsWith | Op::EndsWith) {
            let text = self.text_value(value, path)?;
            return Some(match op {
                Op::Contains => Test::Contains(text),
                Op::BeginsWith => Test::BeginsWith(text),
                _ => Test::EndsWith(text),
            });
        }
        let Some(value) = value else {
            self.violations.push(
                path,
                ErrorCode::Required,
                format!("op {} needs a value", op.name()),
            );
            return None;
        };
        let list = |parser: &mut Self, min: usize, max: usize, what: &str| {
            let Value::Array(items) = value else {
                parser
                    .violations
                    .push(path, ErrorCode::InvalidField, what.to_owned());
                return None;
            };
            if items.len() < min || items.len() > max {
                parser.violations.push(
                    path,
                    if items.len() > max {
                        ErrorCode::TooMany
                    } else {
                        ErrorCode::Required
                    },
                    format!("{what}; this one has {}", items.len()),
                );
                return None;
            }
            let scalars: Vec<_> = items
                .iter()
                .enumerate()
                .map(|(i, v)| parser.scalar(kind, field, v, &format!("{path}[{i}]")))
                .collect();
            scalars.into_iter().collect::<Option<Vec<_>>>()
        };
        Some(match op {
            Op::Between => {
                let mut pair = list(self, 2, 2, "between needs [low, high]")?.into_iter();
                let (lo, hi) = (pair.next()?, pair.next()?);
                Test::Between(lo, hi)
            }
            Op::In | Op::NotIn => {
                let what = format!(
                    "{} needs an array of 1 to {IN_VALUES_MAX} values",
                    op.name()
                );
                let values = list(self, 1, IN_VALUES_MAX, &what)?;
                if op == Op::In {
                    Test::In(values)
                } else {
                    Test::NotIn(values)
                }
            }
            _ => {
                let v = self.scalar(kind, field, value, path)?;
                match op {
                    Op::Eq => Test::Eq(v),
                    Op::NotEq => Test::NotEq(v),
                    Op::Gt => Test::Gt(v),
                    Op::Gte => Test::Gte(v),
                    Op::Lt => Test::Lt(v),
                    _ => Test::Lte(v),
                }
            }
        })
    }

    fn text_value(&mut self, value: Option<&Value>, path: &str) -> Option<String> {
        match value {
            Some(Value::String(s)) if s.chars().count() <= TEXT_VALUE_MAX => Some(s.clone()),
            Some(Value::String(_)) => {
                self.violations.push(
                    path,
                    ErrorCode::TooLong,
                    format!("a text value has at most {TEXT_VALUE_MAX} characters"),
                );
                None
            }
            _ => {
                self.violations
                    .push(path, ErrorCode::InvalidField, "value must be a string");
                None
            }
        }
    }

    fn scalar(&mut self, kind: Kind, field: &Field, value: &Value, path: &str) -> Option<Scalar> {
        let category_names = CATEGORIES.map(category_name);
        let state_names = SlaStateFilter::ALL.map(SlaStateFilter::name);
        let named = |names: &[&str]| -> Option<Scalar> {
            let text = value.as_str()?;
            names
                .iter()
                .find(|n| n.eq_ignore_ascii_case(text))
                .map(|n| Scalar::Text((*n).to_owned()))
        };
        let (parsed, expected) = match (field, kind) {
            (Field::StatusCategory, _) => (
                named(&category_names),
                format!("one of {}", category_names.join(", ")),
            ),
            (Field::SlaState, _) => (
                named(&state_names),
                format!("one of {}", state_names.join(", ")),
            ),
            (_, Kind::Integer) => (
                value.as_i64().map(Scalar::Integer),
                "a whole number".to_owned(),
            ),
            (_, Kind::Text) => match value {
                Value::String(s) if s.chars().count() <= TEXT_VALUE_MAX => {
                    (Some(Scalar::Text(s.clone())), String::new())
                }
                Value::String(_) => {
                    self.violations.push(
                        path,
                        ErrorCode::TooLong,
                        format!("a text value has at most {TEXT_VALUE_MAX} characters"),
                    );
                    return None;
                }
                _ => (None, "a string".to_owned()),
            },
            (_, Kind::Boolean) => (
                match value {
                    Value::Bool(b) => Some(Scalar::Boolean(*b)),
                    Value::String(s) if s.eq_ignore_ascii_case("true") => Some(Scalar::Boolean(true)),
                    Value::String(s) if s.eq_ignore_ascii_case("false") => Some(Scalar::Boolean(false)),
                    _ => None,
                },
                "true or false".to_owned(),
            ),
            (_, Kind::Instant) => (
                value.as_str().and_then(parse_instant).map(Scalar::Instant),
                "an RFC 3339 instant such as 2026-02-15T09:00:00Z, or a date such as 2026-02-15 (midnight UTC)".to_owned(),
            ),
        };
        if parsed.is_none() {
            self.violations.push(
                path,
                ErrorCode::InvalidField,
                format!(
                    "{value} is not a value for {}; give {expected}",
                    field_name(field)
                ),
            );
        }
        parsed
    }
}

/// An RFC 3339 instant, or a date-time without offset or a plain date, both read as UTC.
pub fn parse_instant(text: &str) -> Option<Timestamp> {
    text.parse::<Timestamp>().ok().or_else(|| {
        let local: jiff::civil::DateTime = text
            .parse()
            .ok()
            .or_else(|| text.parse::<jiff::civil::Date>().ok().map(Into::into))?;
        jiff::tz::TimeZone::UTC.to_timestamp(local).ok()
    })
}

fn field_name(field: &Field) -> String {
    match field {
        Field::Column(c) => c.name().to_owned(),
        Field::Custom(name) => format!("custom field '{name}'"),
        Field::StatusCategory => "status_category".to_owned(),
        Field::SlaState => "sla_state".to_owned(),
        Field::Attribute(name, _) => (*name).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn violation(json: Value) -> (String, ErrorCode, String) {
        match parse(&json, "filter") {
            Err(DomainError::Invalid(v)) => (v[0].field.clone(), v[0].code, v[0].message.clone()),
            other => panic!("expected a violation, got {other:?}"),
        }
    }

    #[test]
    fn parses_nested_groups_with_case_insensitive_names() {
        let node = parse(
            &json!([{"op": "OR", "items": [
                {"op": "eq", "field": "Status_ID", "value": 1},
                {"op": "notin", "field": "queue_id", "value": [2, 3]},
                {"op": "not", "items": [{"op": "exist", "field": "due_at"}]},
                {"op": "contains", "field": "Department", "udf": true, "value": "Sales"},
                {"op": "text", "value": "printer toner"}
            ]}]),
            "filter",
        )
        .unwrap();
        assert_eq!(
            node,
            Node::And(vec![Node::Or(vec![
                Node::Leaf(
                    Field::Column(Column::StatusId),
                    Test::Eq(Scalar::Integer(1))
                ),
                Node::Leaf(
                    Field::Column(Column::QueueId),
                    Test::NotIn(vec![Scalar::Integer(2), Scalar::Integer(3)])
                ),
                Node::Not(vec![Node::Leaf(Field::Column(Column::DueAt), Test::Exist)]),
                Node::Leaf(
                    Field::Custom("Department".into()),
                    Test::Contains("Sales".into())
                ),
                Node::Text("printer toner".into()),
            ])])
        );
    }

    #[test]
    fn errors_name_the_path_of_the_offending_node() {
        let (path, code, message) = violation(json!({"op": "and", "items": [
            {"op": "eq", "field": "title", "value": "a"},
            {"op": "eq", "field": "title", "value": "b"},
            {"op": "like", "field": "title", "value": "c"}
        ]}));
        assert_eq!(path, "filter.items[2].op");
        assert_eq!(code, ErrorCode::InvalidField);
        assert!(message.contains("beginsWith"), "{message}");

        let (path, _, message) = violation(json!({"op": "eq", "field": "colour", "value": 1}));
        assert_eq!(path, "filter.field");
        assert!(message.contains("status_id") && message.contains("custom."));

        let (path, _, message) =
            violation(json!({"op": "contains", "field": "status_id", "value": "1"}));
        assert_eq!(path, "filter.op");
        assert!(message.contains("does not apply to status_id"), "{message}");

        let (path, _, _) = violation(json!({"op": "in", "field": "status_id", "value": [1, "x"]}));
        assert_eq!(path, "filter.value[1]");

        let (path, _, _) = violation(json!({"op": "gt", "field": "created_at", "value": "soon"}));
        assert_eq!(path, "filter.value");

        let (path, code, _) = violation(json!({"op": "between", "field": "id", "value": [1]}));
        assert_eq!((path.as_str(), code), ("filter.value", ErrorCode::Required));

        let (path, code, _) = violation(json!({"op": "eq", "field": "sla_state", "value": "late"}));
        assert_eq!(
            (path.as_str(), code),
            ("filter.value", ErrorCode::InvalidField)
        );
    }

    #[test]
    fn limits_depth_nodes_and_list_sizes() {
        let mut deep = json!({"op": "eq", "field": "id", "value": 1});
        for _ in 0..DEPTH_MAX {
            deep = json!({"op": "and", "items": [deep]});
        }
        let (path, code, _) = violation(deep);
        assert_eq!(code, ErrorCode::TooMany);
        assert!(path.ends_with(".items[0]"), "{path}");

        let many: Vec<_> = (0..NODES_MAX)
            .map(|i| json!({"op": "eq", "field": "id", "value": i}))
            .collect();
        let (path, code, _) = violation(json!({"op": "or", "items": many}));
        assert_eq!(
            (path.as_str(), code),
            ("filter.items[199]", ErrorCode::TooMany)
        );

        let values: Vec<_> = (0..=IN_VALUES_MAX as i64).collect();
        let (path, code, _) = violation(json!({"op": "in", "field": "id", "value": values}));
        assert_eq!((path.as_str(), code), ("filter.value", ErrorCode::TooMany));
    }

    fn ticket() -> Ticket {
        let mut t: Ticket = serde_json::from_value(json!({
            "id": 7, "number": "T20261124.0001", "title": "Printer DOWN on floor 2",
            "description": null, "company_id": 3, "location_id": null, "contact_id": null,
            "status_id": 1, "priority_id": 2, "type_id": 1, "queue_id": null,
            "issue_type_id": null, "sub_issue_type_id": null, "categories": ["Hardware"],
            "source": "email", "assigned_resource_id": null, "assigned_role_id": null,
            "secondary_resource_ids": [], "contract_id": null, "due_at": null,
            "estimated_minutes": null, "resolution": null, "escalation_reason": null,
            "problem_ticket_id": null, "custom_fields": {"Department": "Sales"},
            "created_at": "2026-11-24T09:00:00Z", "updated_at": "2026-11-24T09:00:00Z",
            "first_response_at": null, "resolved_at": null, "completed_at": null,
            "last_activity_at": "2026-11-24T09:00:00Z", "sla_policy_id": null,
            "response_due_at": null, "resolution_due_at": null,
            "resolution_plan_at": null, "resolution_plan_due_at": null, "version": 1
        }))
        .unwrap();
        t.sla_clock = Default::default();
        t
    }

    fn holds(filter: Value) -> bool {
        let node = parse(&filter, "filter").unwrap();
        let facts = Facts {
            now: "2026-11-24T10:00:00Z".parse().unwrap(),
            category: &|_| Some(StatusCategory::New),
            notes: &|_| "replaced the toner cartridge".to_owned(),
        };
        node.matches(&ticket(), &facts)
    }

    #[test]
    fn missing_values_fail_every_test_but_the_negative_ones() {
        assert!(!holds(json!({"op": "eq", "field": "queue_id", "value": 1})));
        assert!(!holds(json!({"op": "lt", "field": "queue_id", "value": 1})));
        assert!(holds(
            json!({"op": "noteq", "field": "queue_id", "value": 1})
        ));
        assert!(holds(
            json!({"op": "notIn", "field": "queue_id", "value": [1]})
        ));
        assert!(holds(json!({"op": "notExist", "field": "queue_id"})));
        assert!(!holds(
            json!({"op": "contains", "field": "custom.Team", "value": ""})
        ));
    }

    #[test]
    fn text_compares_with_ascii_case_folding() {
        assert!(holds(
            json!({"op": "contains", "field": "title", "value": "printer down"})
        ));
        assert!(holds(
            json!({"op": "beginsWith", "field": "title", "value": "PRINTER"})
        ));
        assert!(holds(
            json!({"op": "eq", "field": "custom.Department", "value": "sales"})
        ));
        assert!(holds(
            json!({"op": "eq", "field": "category_1", "value": "hardware"})
        ));
        assert!(holds(
            json!({"op": "gt", "field": "title", "value": "PRINTER A"})
        ));
        assert!(holds(
            json!({"op": "between", "field": "created_at", "value": ["2026-11-24", "2026-11-24T09:00:00Z"]})
        ));
        assert!(holds(json!({"op": "text", "value": "printer TONER"})));
        assert!(!holds(json!({"op": "text", "value": "printer paper"})));
        assert!(holds(
            json!({"op": "eq", "field": "status_category", "value": "NEW"})
        ));
        assert!(holds(
            json!({"op": "not", "items": [{"op": "eq", "field": "sla_state", "value": "breached"}]})
        ));
    }
}
