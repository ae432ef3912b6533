//! Notes and time entries on tickets.

use fixpoint_core::ids::{ContactId, NoteId, ResourceId, TicketId, TimeEntryId};
use fixpoint_core::time_entry::{Note, TimeEntry};
use sea_query::{Expr, ExprTrait, Order, Query, UnionType};
use sqlx::FromRow;

use crate::db::{
    Conn, Result, Writes, backend, enum_text, execute, fetch_all, insert_id, instant, micros,
    opt_instant, parse_enum,
};

const NOTE: &[&str] = &[
    "id",
    "ticket_id",
    "title",
    "body",
    "visibility",
    "kind",
    "author",
    "contact_id",
    "created_at",
];

#[derive(FromRow)]
struct NoteRow {
    id: i64,
    ticket_id: i64,
    title: Option<String>,
    body: String,
    visibility: String,
    kind: String,
    author: String,
    contact_id: Option<i64>,
    created_at: i64,
}

/// Writes a note and returns its id, leaving its ticket's search document in `later`.
pub async fn insert_note(conn: &mut Conn, n: &Note, later: &mut Writes) -> Result<NoteId> {
    let q = Query::insert()
        .into_table("notes")
        .columns(NOTE[1..].iter().copied())
        .values_panic(note_values(n))
        .to_owned();
    let id = insert_id(conn, q).await.map(NoteId)?;
    if !n.is_system() {
        crate::search::refresh_later(backend(conn), &[n.ticket_id], later);
    }
    Ok(id)
}

/// Rewrites a note's text, visibility and kind (its ticket, author and time stay).
pub async fn update_note(conn: &mut Conn, n: &Note) -> Result<()> {
    execute(
        conn,
        Query::update()
            .table("notes")
            .values([
                ("title", n.title.clone().into()),
                ("body", n.body.clone().into()),
                ("visibility", enum_text(n.visibility).into()),
                ("kind", enum_text(n.kind).into()),
            ])
            .and_where(Expr::col("id").eq(n.id.0)),
    )
    .await?;
    crate::search::refresh(conn, &[n.ticket_id]).await
}

/// Deletes a note; time logged with it stays, no longer tied to a note.
pub async fn delete_note(conn: &mut Conn, n: &Note) -> Result<()> {
    execute(
        conn,
        Query::update()
            .table("time_entries")
            .value("note_id", Option::<i64>::None)
            .and_where(Expr::col("note_id").eq(n.id.0)),
    )
    .await?;
    execute(
        conn,
        Query::delete()
            .from_table("notes")
            .and_where(Expr::col("id").eq(n.id.0)),
    )
    .await?;
    crate::search::refresh(conn, &[n.ticket_id]).await
}

fn note_values(n: &Note) -> [sea_query::Expr; 8] {
    [
        n.ticket_id.0.into(),
        n.title.clone().into(),
        n.body.clone().into(),
        enum_text(n.visibility).into(),
        enum_text(n.kind).into(),
        n.author.clone().into(),
        n.contact_id.map(|c| c.0).into(),
        micros(n.created_at).into(),
    ]
}

/// Many notes at once (a sweep), a few hundred per statement.
pub async fn insert_notes(conn: &mut Conn, notes: &[Note]) -> Result<()> {
    for chunk in notes.chunks(500) {
        let mut q = Query::insert();
        q.into_table("notes").columns(NOTE[1..].iter().copied());
        for n in chunk {
            q.values_panic(note_values(n));
        }
        crate::db::execute(conn, &q).await?;
    }
    let mut tickets: Vec<TicketId> = notes
        .iter()
        .filter(|n| !n.is_system())
        .map(|n| n.ticket_id)
        .collect();
    tickets.sort();
    tickets.dedup();
    crate::search::refresh(conn, &tickets).await
}

pub async fn notes(conn: &mut Conn, ticket: TicketId) -> Result<Vec<Note>> {
    notes_where(conn, Expr::col("ticket_id").eq(ticket.0)).await
}

/// Of each of these tickets, its first note and its last by the client and by staff
/// (`Note::is_by_client`: a contact set or not), fewer when they coincide, by id
/// ascending: one query for a page of tickets that reads three notes a ticket however
/// long its conversation.
pub async fn first_and_last_notes_of_tickets(
    conn: &mut Conn,
    tickets: &[TicketId],
) -> Result<Vec<Note>> {
    let of_tickets = || {
        let mut q = Query::select();
        q.from("notes")
            .and_where(Expr::col("ticket_id").is_in(tickets.iter().map(|t| t.0)))
            .group_by_col("ticket_id");
        q
    };
    let mut ends = of_tickets();
    ends.expr(Expr::col("id").min());
    let mut last_by_contact = of_tickets();
    last_by_contact
        .expr(Expr::col("id").max())
        .and_where(Expr::col("contact_id").is_not_null());
    let mut last_by_staff = of_tickets();
    last_by_staff
        .expr(Expr::col("id").max())
        .and_where(Expr::col("contact_id").is_null());
    ends.union(UnionType::Distinct, last_by_contact)
        .union(UnionType::Distinct, last_by_staff);
    notes_where(conn, Expr::col("id").in_subquery(ends)).await
}

/// These notes, by id ascending (ids from [`crate::records::matching_ids`]).
pub async fn notes_by_ids(conn: &mut Conn, ids: &[i64]) -> Result<Vec<Note>> {
    notes_where(conn, Expr::col("id").is_in(ids.iter().copied())).await
}

async fn notes_where(conn: &mut Conn, condition: Expr) -> Result<Vec<Note>> {
    let rows: Vec<NoteRow> = fetch_all(
        conn,
        Query::select()
            .columns(NOTE.iter().copied())
            .from("notes")
            .and_where(condition)
            .order_by("id", Order::Asc),
    )
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Note {
                id: NoteId(r.id),
                ticket_id: TicketId(r.ticket_id),
                title: r.title,
                body: r.body,
                visibility: parse_enum(&r.visibility)?,
                kind: parse_enum(&r.kind)?,
                author: r.author,
                contact_id: r.contact_id.map(ContactId),
                created_at: instant(r.created_at)?,
            })
        })
        .collect()
}

const ENTRY: &[&str] = &[
    "id",
    "ticket_id",
    "resource_id",
    "started_at",
    "ended_at",
    "minutes",
    "billable",
    "notes",
    "note_id",
    "created_at",
];

#[derive(FromRow)]
struct EntryRow {
    id: i64,
    ticket_id: i64,
    resource_id: i64,
    started_at: Option<i64>,
    ended_at: Option<i64>,
    minutes: i64,
    billable: bool,
    notes: Option<String>,
    note_id: Option<i64>,
    created_at: i64,
}

pub async fn insert_time_entry(conn: &mut Conn, e: &TimeEntry) -> Result<TimeEntryId> {
    let q = Query::insert()
        .into_table("time_entries")
        .columns(ENTRY[1..].iter().copied())
        .values_panic(entry_values(e))
        .to_owned();
    insert_id(conn, q).await.map(TimeEntryId)
}

pub async fn update_time_entry(conn: &mut Conn, e: &TimeEntry) -> Result<()> {
    let columns = ENTRY[1..].iter().copied();
    execute(
        conn,
        Query::update()
            .table("time_entries")
            .values(columns.zip(entry_values(e)))
            .and_where(Expr::col("id").eq(e.id.0)),
    )
    .await?;
    Ok(())
}

pub async fn delete_time_entry(conn: &mut Conn, id: TimeEntryId) -> Result<()> {
    execute(
        conn,
        Query::delete()
            .from_table("time_entries")
            .and_where(Expr::col("id").eq(id.0)),
    )
    .await?;
    Ok(())
}

/// Many time entries at once (imports, benchmark datasets), a few hundred per statement.
pub async fn insert_time_entries(conn: &mut Conn, entries: &[TimeEntry]) -> Result<()> {
    for chunk in entries.chunks(500) {
        let mut q = Query::insert();
        q.into_table("time_entries")
            .columns(ENTRY[1..].iter().copied());
        for e in chunk {
            q.values_panic(entry_values(e));
        }
        crate::db::execute(conn, &q).await?;
    }
    Ok(())
}

fn entry_values(e: &TimeEntry) -> [sea_query::Expr; 9] {
    [
        e.ticket_id.0.into(),
        e.resource_id.0.into(),
        e.started_at.map(micros).into(),
        e.ended_at.map(micros).into(),
        e.minutes.into(),
        e.billable.into(),
        e.notes.clone().into(),
        e.note_id.map(|n| n.0).into(),
        micros(e.created_at).into(),
    ]
}

pub async fn time_entries(conn: &mut Conn, ticket: TicketId) -> Result<Vec<TimeEntry>> {
    entries_where(conn, Expr::col("ticket_id").eq(ticket.0)).await
}

/// The time logged on these tickets, by id ascending: one query for a page of tickets.
pub async fn time_entries_of_tickets(
    conn: &mut Conn,
    tickets: &[TicketId],
) -> Result<Vec<TimeEntry>> {
    entries_where(
        conn,
        Expr::col("ticket_id").is_in(tickets.iter().map(|t| t.0)),
    )
    .await
}

/// The time logged with these notes.
pub async fn time_entries_of_notes(conn: &mut Conn, notes: &[NoteId]) -> Result<Vec<TimeEntry>> {
    entries_where(conn, Expr::col("note_id").is_in(notes.iter().map(|n| n.0))).await
}

/// These time entries, by id ascending.
pub async fn time_entries_by_ids(conn: &mut Conn, ids: &[i64]) -> Result<Vec<TimeEntry>> {
    entries_where(conn, Expr::col("id").is_in(ids.iter().copied())).await
}

async fn entries_where(conn: &mut Conn, condition: Expr) -> Result<Vec<TimeEntry>> {
    let rows: Vec<EntryRow> = fetch_all(
        conn,
        Query::select()
            .columns(ENTRY.iter().copied())
            .from("time_entries")
            .and_where(condition)
            .order_by("id", Order::Asc),
    )
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(TimeEntry {
                id: TimeEntryId(r.id),
                ticket_id: TicketId(r.ticket_id),
                resource_id: ResourceId(r.resource_id),
                started_at: opt_instant(r.started_at)?,
                ended_at: opt_instant(r.ended_at)?,
                minutes: r.minutes,
                billable: r.billable,
                notes: r.notes,
                note_id: r.note_id.map(NoteId),
                created_at: instant(r.created_at)?,
            })
        })
        .collect()
}

/// Billable and non-billable minutes logged on each of these tickets.
pub async fn minutes_by_ticket(
    conn: &mut Conn,
    tickets: &[TicketId],
) -> Result<std::collections::HashMap<TicketId, (i64, i64)>> {
    if tickets.is_empty() {
        return Ok(Default::default());
    }
    #[derive(FromRow)]
    struct Sum {
        ticket_id: i64,
        billable: bool,
        minutes: i64,
    }
    let rows: Vec<Sum> = fetch_all(
        conn,
        Query::select()
            .columns(["ticket_id", "billable"])
            .expr_as(Expr::col("minutes").sum().cast_as("BIGINT"), "minutes")
            .from("time_entries")
            .and_where(Expr::col("ticket_id").is_in(tickets.iter().map(|t| t.0)))
            .group_by_columns(["ticket_id", "billable"]),
    )
    .await?;
    let mut out = std::collections::HashMap::new();
    for row in rows {
        let entry: &mut (i64, i64) = out.entry(TicketId(row.ticket_id)).or_default();
        if row.billable {
            entry.0 += row.minutes;
        } else {
            entry.1 += row.minutes;
        }
    }
    Ok(out)
}
