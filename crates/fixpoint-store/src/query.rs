//! The query language compiled to SQL: one sea-query condition per tree, rendered for
//! the backend. Meaning is defined by `fixpoint_core::query::Node::matches`; every
//! construct here keeps to it (a leaf is never NULL, text folds ASCII case only).

use fixpoint_core::catalog::Catalog;
use fixpoint_core::filter::SlaStateFilter;
use fixpoint_core::query::{Column, Field, Node, Scalar, Test, category_name, fold, words_of};
use jiff::Timestamp;
use sea_query::{Condition, Expr, ExprTrait, Func, LikeExpr};

use crate::db::{Backend, micros};

/// The tree as a condition over `tickets`, judged at `now` for SLA states, with the
/// catalogue that says which statuses are in which category.
pub fn condition(node: &Node, backend: Backend, now: Timestamp, catalog: &Catalog) -> Condition {
    Compiler {
        backend,
        now,
        catalog,
    }
    .node(node)
}

/// The tree as a condition over another record's table (attributes only).
pub fn attribute_condition(node: &Node, backend: Backend) -> Condition {
    Compiler {
        backend,
        now: Timestamp::UNIX_EPOCH,
        catalog: &Catalog::default(),
    }
    .node(node)
}

struct Compiler<'a> {
    backend: Backend,
    now: Timestamp,
    catalog: &'a Catalog,
}

impl Compiler<'_> {
    fn node(&self, node: &Node) -> Condition {
        match node {
            Node::And(items) => items
                .iter()
                .fold(Condition::all(), |c, n| c.add(self.node(n))),
            Node::Or(items) if items.is_empty() => never(),
            Node::Or(items) => items
                .iter()
                .fold(Condition::any(), |c, n| c.add(self.node(n))),
            Node::Not(items) => items
                .iter()
                .fold(Condition::all(), |c, n| c.add(self.node(n)))
                .not(),
            Node::Text(query) => Condition::all().add(self.text(query)),
            // A status set as literal ids, from the catalogue: an index on status_id
            // serves, and PostgreSQL's estimate sees how rare open statuses are (a join
            // with statuses hid that and made it scan).
            Node::Leaf(Field::StatusCategory, test) => {
                match category_statuses(test, self.catalog) {
                    Some(ids) => status_in(ids),
                    None => never(),
                }
            }
            Node::Leaf(Field::SlaState, test) => self.named(test, |names| {
                names
                    .iter()
                    .filter_map(|n| SlaStateFilter::parse(n).ok())
                    .fold(Condition::any(), |c, state| {
                        c.add(sla_state_condition(state, micros(self.now)))
                    })
            }),
            Node::Leaf(field @ Field::Column(Column::StatusId), test) => {
                match other_statuses(test, self.catalog) {
                    Some(ids) => status_in(ids),
                    None => self.leaf(field, test),
                }
            }
            Node::Leaf(field, test) => self.leaf(field, test),
        }
    }

    /// `eq` / `in` (and their negations) over a field whose values are names that
    /// `positive` turns into a condition.
    fn named(&self, test: &Test, positive: impl Fn(Vec<String>) -> Condition) -> Condition {
        let names = |values: &[Scalar]| {
            values
                .iter()
                .filter_map(|v| match v {
                    Scalar::Text(t) => Some(t.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        match test {
            Test::Eq(v) => positive(names(std::slice::from_ref(v))),
            Test::In(vs) => positive(names(vs)),
            Test::NotEq(v) => positive(names(std::slice::from_ref(v))).not(),
            Test::NotIn(vs) => positive(names(vs)).not(),
            _ => never(),
        }
    }

    fn leaf(&self, field: &Field, test: &Test) -> Condition {
        let (value, text) = match field {
            Field::Column(c) => (
                Expr::col(("tickets", c.name())),
                c.kind() == fixpoint_core::query::Kind::Text,
            ),
            Field::Custom(name) => (self.custom(name), true),
            Field::Attribute(name, kind) => {
                (Expr::col(*name), *kind == fixpoint_core::query::Kind::Text)
            }
            Field::StatusCategory | Field::SlaState => unreachable!("compiled by node()"),
        };
        let compared = if text {
            self.fold(value.clone())
        } else {
            value.clone()
        };
        let present = Condition::all().add(value.clone().is_not_null());
        let holds = |c: Expr| present.clone().add(c);
        match test {
            Test::Exist => present.clone(),
            Test::NotExist => present.clone().not(),
            Test::Eq(v) => holds(compared.eq(literal(v))),
            Test::NotEq(v) => holds(compared.eq(literal(v))).not(),
            Test::Gt(v) => holds(compared.gt(literal(v))),
            Test::Gte(v) => holds(compared.gte(literal(v))),
            Test::Lt(v) => holds(compared.lt(literal(v))),
            Test::Lte(v) => holds(compared.lte(literal(v))),
            Test::Between(lo, hi) => {
                holds(compared.clone().gte(literal(lo))).add(compared.lte(literal(hi)))
            }
            Test::In(vs) => holds(compared.is_in(vs.iter().map(literal))),
            Test::NotIn(vs) => holds(compared.is_in(vs.iter().map(literal))).not(),
            Test::Contains(s) => holds(compared.like(pattern("%", s, "%"))),
            Test::BeginsWith(s) => holds(compared.like(pattern("", s, "%"))),
            Test::EndsWith(s) => holds(compared.like(pattern("%", s, ""))),
        }
    }

    /// ASCII case folding, ordered by code point: SQLite's `lower` and BINARY
    /// collation do both; PostgreSQL's need the C collation.
    fn fold(&self, e: Expr) -> Expr {
        match self.backend {
            Backend::Sqlite => Expr::expr(Func::lower(e)),
            Backend::Postgres => Expr::cust_with_exprs("lower($1 COLLATE \"C\")", [e]),
        }
    }

    /// A custom field's value, by exact name (json_each: SQLite's path syntax cannot
    /// spell every name).
    fn custom(&self, name: &str) -> Expr {
        let name = Expr::val(name.to_owned());
        match self.backend {
            Backend::Sqlite => Expr::cust_with_exprs(
                "(SELECT j.value FROM json_each(tickets.custom_fields) j WHERE j.key = ?)",
                [name],
            ),
            Backend::Postgres => {
                Expr::cust_with_exprs("(tickets.custom_fields::jsonb ->> $1)", [name])
            }
        }
    }

    fn text(&self, query: &str) -> Expr {
        match self.backend {
            Backend::Sqlite => Expr::cust_with_exprs(
                "tickets.id IN (SELECT rowid FROM ticket_search WHERE ticket_search MATCH ?)",
                [Expr::val(quoted_words(query, self.backend, true))],
            ),
            Backend::Postgres => Expr::cust_with_exprs(
                "tickets.id IN (SELECT ticket_id FROM ticket_search WHERE document @@ to_tsquery('simple', $1))",
                [Expr::val(quoted_words(query, self.backend, true))],
            ),
        }
    }
}

/// How well a ticket matches text queries: lower sorts first (better).
pub fn relevance(queries: &[&str], backend: Backend) -> Expr {
    let all = queries.join(" ");
    match backend {
        Backend::Sqlite => Expr::cust_with_exprs(
            "COALESCE((SELECT bm25(ticket_search, 4.0, 1.0) FROM ticket_search WHERE ticket_search MATCH ? AND rowid = tickets.id), 0)",
            [Expr::val(quoted_words(&all, backend, false))],
        ),
        Backend::Postgres => Expr::cust_with_exprs(
            "COALESCE((SELECT -ts_rank(document, to_tsquery('simple', $1)) FROM ticket_search WHERE ticket_id = tickets.id), 0)",
            [Expr::val(quoted_words(&all, backend, false))],
        ),
    }
}

/// The tree split by status: when one of its top-level conjuncts keeps tickets to
/// named statuses (a status, a category, `open`), the tree once per status with that
/// conjunct narrowed to the one status, beside its status. Together the branches select
/// what the tree does, each ticket in one branch; None when any status may match.
pub fn status_branches(node: &Node, catalog: &Catalog) -> Option<Vec<(i64, Node)>> {
    let only = |status| {
        Node::Leaf(
            Field::Column(Column::StatusId),
            Test::Eq(Scalar::Integer(status)),
        )
    };
    match node {
        Node::And(items) => {
            let (at, statuses) = items
                .iter()
                .enumerate()
                .find_map(|(at, item)| Some((at, kept_statuses(item, catalog)?)))?;
            Some(
                statuses
                    .into_iter()
                    .map(|status| {
                        let mut items = items.clone();
                        items[at] = only(status);
                        (status, Node::And(items))
                    })
                    .collect(),
            )
        }
        leaf => Some(
            kept_statuses(leaf, catalog)?
                .into_iter()
                .map(|status| (status, only(status)))
                .collect(),
        ),
    }
}

/// The one integer a top-level conjunct of the tree holds `column` to (`eq`, or `in`
/// with one value as the REST filters write it).
pub fn fixed(node: &Node, column: Column) -> Option<i64> {
    let value = |n: &Node| match n {
        Node::Leaf(Field::Column(c), Test::Eq(Scalar::Integer(v))) if *c == column => Some(*v),
        Node::Leaf(Field::Column(c), Test::In(values)) if *c == column => match values.as_slice() {
            [Scalar::Integer(v)] => Some(*v),
            _ => None,
        },
        _ => None,
    };
    match node {
        Node::And(items) => items.iter().find_map(value),
        leaf => value(leaf),
    }
}

/// A queue's tickets in some statuses and nothing more, the queue view's filter
/// (`queue_id=…&open=true`, a status category or list), as the queue and its statuses:
/// such a filter is counted from the queue counts instead of the tickets.
pub fn queue_and_statuses(node: &Node, catalog: &Catalog) -> Option<(i64, Vec<i64>)> {
    let Node::And(items) = node else {
        return None;
    };
    let [first, second] = items.as_slice() else {
        return None;
    };
    let queue = fixed(node, Column::QueueId)?;
    let statuses = [first, second]
        .into_iter()
        .find_map(|item| kept_statuses(item, catalog))?;
    Some((queue, statuses))
}

/// The statuses a leaf keeps tickets to, as literal ids.
fn kept_statuses(node: &Node, catalog: &Catalog) -> Option<Vec<i64>> {
    match node {
        Node::Leaf(Field::StatusCategory, test) => category_statuses(test, catalog),
        Node::Leaf(Field::Column(Column::StatusId), test) => {
            other_statuses(test, catalog).or_else(|| match test {
                Test::Eq(v) => integers(std::slice::from_ref(v)),
                Test::In(vs) => integers(vs),
                _ => None,
            })
        }
        _ => None,
    }
}

/// The statuses in (or, negated, not in) the named categories; None for a test that
/// names no category set.
fn category_statuses(test: &Test, catalog: &Catalog) -> Option<Vec<i64>> {
    let (names, negated) = match test {
        Test::Eq(v) => (std::slice::from_ref(v), false),
        Test::In(vs) => (vs.as_slice(), false),
        Test::NotEq(v) => (std::slice::from_ref(v), true),
        Test::NotIn(vs) => (vs.as_slice(), true),
        _ => return None,
    };
    let named = |category| {
        names
            .iter()
            .any(|n| matches!(n, Scalar::Text(t) if t == category_name(category)))
    };
    Some(
        catalog
            .statuses
            .iter()
            .filter(|s| named(s.category) != negated)
            .map(|s| s.id.0)
            .collect(),
    )
}

/// "Status is not Complete" as the statuses it leaves, literally: the (queue, status)
/// index then reads only those, where the negation made SQLite walk every closed ticket
/// of the queue (97% of them) for a page of open ones. `status_id` is never NULL and
/// always a catalogue status, so the two mean the same.
fn other_statuses(test: &Test, catalog: &Catalog) -> Option<Vec<i64>> {
    let excluded = match test {
        Test::NotEq(v) => integers(std::slice::from_ref(v))?,
        Test::NotIn(vs) => integers(vs)?,
        _ => return None,
    };
    if excluded.is_empty() || catalog.statuses.is_empty() {
        return None;
    }
    Some(
        catalog
            .statuses
            .iter()
            .map(|s| s.id.0)
            .filter(|id| !excluded.contains(id))
            .collect(),
    )
}

fn integers(values: &[Scalar]) -> Option<Vec<i64>> {
    values
        .iter()
        .map(|v| match v {
            Scalar::Integer(id) => Some(*id),
            _ => None,
        })
        .collect()
}

fn status_in(ids: Vec<i64>) -> Condition {
    if ids.is_empty() {
        return never();
    }
    Condition::all().add(Expr::col(("tickets", "status_id")).is_in(ids))
}

fn never() -> Condition {
    Condition::all().add(Expr::val(1).eq(0))
}

fn literal(v: &Scalar) -> Expr {
    match v {
        Scalar::Integer(i) => Expr::val(*i),
        Scalar::Text(t) => Expr::val(fold(t)),
        Scalar::Instant(at) => Expr::val(micros(*at)),
        Scalar::Boolean(b) => Expr::val(*b),
    }
}

fn pattern(before: &str, text: &str, after: &str) -> LikeExpr {
    let escaped = escape_like(&fold(text));
    LikeExpr::new(format!("{before}{escaped}{after}")).escape('\\')
}

/// Text matched literally inside a LIKE pattern (escape character `\`).
pub(crate) fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The words of a search, each quoted so that none is read as an operator (words are
/// letters and digits only), joined by the backend's AND or OR.
fn quoted_words(text: &str, backend: Backend, every: bool) -> String {
    let (quote, joiner) = match (backend, every) {
        (Backend::Sqlite, true) => ('"', " AND "),
        (Backend::Sqlite, false) => ('"', " OR "),
        (Backend::Postgres, true) => ('\'', " & "),
        (Backend::Postgres, false) => ('\'', " | "),
    };
    words_of(text)
        .iter()
        .map(|w| format!("{quote}{w}{quote}"))
        .collect::<Vec<_>>()
        .join(joiner)
}

/// The SLA state as a condition over the instants stored on each ticket; the same
/// question `SlaStateFilter::matches` answers in memory.
pub(crate) fn sla_state_condition(state: SlaStateFilter, now: i64) -> Condition {
    let col = |name: &'static str| Expr::col(("tickets", name));
    // Every comparison is guarded by IS NOT NULL so that NOT(breached) is never NULL.
    let late = |met: &'static str, due: &'static str| {
        Condition::any()
            .add(
                Condition::all()
                    .add(col(met).is_null())
                    .add(col(due).is_not_null())
                    .add(col(due).lt(now)),
            )
            .add(
                Condition::all()
                    .add(col(met).is_not_null())
                    .add(col(due).is_not_null())
                    .add(col(met).gt(col(due))),
            )
    };
    let response_late = || late("first_response_at", "response_due_at");
    let resolution_late = || late("resolved_at", "resolution_due_at");
    let breached = || Condition::any().add(response_late()).add(resolution_late());
    let running = || {
        Condition::all()
            .add(col("sla_policy_id").is_not_null())
            .add(col("resolved_at").is_null())
            .add(col("sla_paused_since").is_null())
    };
    match state {
        SlaStateFilter::Breached => breached(),
        SlaStateFilter::Paused => Condition::all()
            .add(col("sla_paused_since").is_not_null())
            .add(col("resolved_at").is_null())
            .add(breached().not()),
        SlaStateFilter::Met => Condition::all()
            .add(col("sla_policy_id").is_not_null())
            .add(col("resolved_at").is_not_null())
            .add(breached().not()),
        SlaStateFilter::Running => running().add(breached().not()),
        SlaStateFilter::NotStarted => running()
            .add(col("sla_starts_at").is_not_null())
            .add(col("sla_starts_at").gt(now))
            .add(breached().not()),
        SlaStateFilter::AtRisk => {
            let risky = |met: &'static str, at_risk: &'static str| {
                Condition::all()
                    .add(col(met).is_null())
                    .add(col(at_risk).is_not_null())
                    .add(col(at_risk).lte(now))
            };
            running()
                .add(
                    Condition::any()
                        .add(risky("first_response_at", "response_at_risk_at"))
                        .add(risky("resolved_at", "resolution_at_risk_at")),
                )
                .add(breached().not())
        }
    }
}
