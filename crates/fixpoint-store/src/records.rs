//! The query language over records other than tickets (companies, contacts, notes…):
//! one SQL query for the ids that match, in id order, then the rows by id.

use fixpoint_core::query::Node;
use sea_query::{Expr, ExprTrait, Order, Query};
use sqlx::FromRow;

use crate::db::{Conn, Result, backend, fetch_all, fetch_scalar};

/// The tables a filter may run over; the whitelist of their columns is the caller's
/// (`fixpoint_core::query::parse_attributes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Companies,
    Contacts,
    Resources,
    Roles,
    Contracts,
    Notes,
    TimeEntries,
    TicketHistory,
    SlaPolicies,
    TicketCategories,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Self::Companies => "companies",
            Self::Contacts => "contacts",
            Self::Resources => "resources",
            Self::Roles => "roles",
            Self::Contracts => "contracts",
            Self::Notes => "notes",
            Self::TimeEntries => "time_entries",
            Self::TicketHistory => "ticket_history",
            Self::SlaPolicies => "sla_policies",
            Self::TicketCategories => "ticket_categories",
        }
    }
}

/// The ids of `table`'s rows matching `node`, ascending, after `after`, at most `limit`.
pub async fn matching_ids(
    conn: &mut Conn,
    table: Table,
    node: &Node,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<i64>> {
    ids(conn, table, node, after, limit, Order::Asc).await
}

/// The highest `limit` ids of `table`'s rows matching `node`, descending (a page
/// before another: `node` bounds the ids).
pub async fn matching_ids_descending(
    conn: &mut Conn,
    table: Table,
    node: &Node,
    limit: u64,
) -> Result<Vec<i64>> {
    ids(conn, table, node, None, limit, Order::Desc).await
}

async fn ids(
    conn: &mut Conn,
    table: Table,
    node: &Node,
    after: Option<i64>,
    limit: u64,
    order: Order,
) -> Result<Vec<i64>> {
    #[derive(FromRow)]
    struct Id {
        id: i64,
    }
    let condition = crate::query::attribute_condition(node, backend(conn));
    let mut q = Query::select();
    q.column("id").from(table.name()).cond_where(condition);
    if let Some(after) = after {
        q.and_where(Expr::col("id").gt(after));
    }
    q.order_by("id", order).limit(limit);
    let rows: Vec<Id> = fetch_all(conn, &q).await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// How many of `table`'s rows match `node`.
pub async fn count(conn: &mut Conn, table: Table, node: &Node) -> Result<i64> {
    let condition = crate::query::attribute_condition(node, backend(conn));
    fetch_scalar(
        conn,
        Query::select()
            .expr(Expr::col("id").count())
            .from(table.name())
            .cond_where(condition),
    )
    .await
}
