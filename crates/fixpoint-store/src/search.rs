//! The full-text index: one document per ticket (title, description, notes), kept in
//! step with them inside the same write transaction.

use fixpoint_core::ids::TicketId;
use fixpoint_core::ticket::Ticket;
use sea_query::{Condition, Expr, ExprTrait, InsertStatement, Query};

use crate::db::{Backend, Conn, Result, Writes, backend};

/// The text of a ticket's description and notes, as SQL over `tickets t`: the notes
/// people wrote (not Fixpoint's own, see `SYSTEM_AUTHOR_PREFIX`).
const BODY_SQLITE: &str = "COALESCE(t.description, '') || ' ' || COALESCE((SELECT group_concat(COALESCE(n.title, '') || ' ' || n.body, ' ') FROM notes n WHERE n.ticket_id = t.id AND n.author NOT LIKE 'fixpoint:%'), '')";
const BODY_POSTGRES: &str = "COALESCE(t.description, '') || ' ' || COALESCE((SELECT string_agg(COALESCE(n.title, '') || ' ' || n.body, ' ') FROM notes n WHERE n.ticket_id = t.id AND n.author NOT LIKE 'fixpoint:%'), '')";

/// Rewrites the documents of these tickets from their current text.
pub async fn refresh(conn: &mut Conn, tickets: &[TicketId]) -> Result<()> {
    let mut later = Writes::default();
    refresh_later(backend(conn), tickets, &mut later);
    later.run(conn).await
}

/// [`refresh`], as writes for the caller to run with its own. They read the tickets'
/// title and description and their notes, so those must be written before.
pub fn refresh_later(backend: Backend, tickets: &[TicketId], later: &mut Writes) {
    for chunk in chunks(tickets) {
        rewrite(backend, chunk, later);
    }
}

/// Adds the writes of the documents of tickets just inserted, made from the tickets
/// as written rather than read back: a new ticket has no notes yet, and no document to
/// replace (a ticket's document is deleted with it). On PostgreSQL the words are cut in
/// Rust ([`search_text`]), off the one connection that writes every create.
pub fn index_new(backend: Backend, tickets: &[Ticket], later: &mut Writes) {
    for chunk in tickets.chunks(500) {
        let mut insert = Query::insert();
        insert.into_table("ticket_search");
        match backend {
            Backend::Sqlite => insert.columns(["rowid", "title", "body"]),
            Backend::Postgres => insert.columns(["ticket_id", "document"]),
        };
        for t in chunk {
            let body = new_ticket_body(t);
            let document: Vec<Expr> = match backend {
                Backend::Sqlite => vec![t.title.clone().into(), body.into()],
                Backend::Postgres => vec![Expr::cust_with_values(
                    "setweight(to_tsvector('simple', $1), 'A') || to_tsvector('simple', $2)",
                    [search_text(&t.title), search_text(&body)],
                )],
            };
            insert.values_panic(std::iter::once(Expr::val(t.id.0)).chain(document));
        }
        later.push(insert);
    }
}

/// What [`BODY_SQLITE`] and [`BODY_POSTGRES`] make of a ticket without notes.
fn new_ticket_body(ticket: &Ticket) -> String {
    format!("{} ", ticket.description.as_deref().unwrap_or(""))
}

/// PostgreSQL's `fixpoint_words` before its `to_tsvector` (migration 0006): every run of
/// ASCII punctuation, spaces and control characters becomes one space, as
/// `regexp_replace(body, '[\x01-\x2F\x3A-\x40\x5B-\x60\x7B-\x7F]+', ' ', 'g')`
/// does, so that both give `to_tsvector` the same text.
fn search_text(text: &str) -> String {
    let cut = |c: char| matches!(c, '\x01'..='\x2F' | '\x3A'..='\x40' | '\x5B'..='\x60' | '\x7B'..='\x7F');
    let mut out = String::with_capacity(text.len());
    let mut in_run = false;
    for c in text.chars() {
        if cut(c) {
            if !in_run {
                out.push(' ');
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out
}

/// The tickets a few hundred at a time, as conditions on `tickets t`.
fn chunks(tickets: &[TicketId]) -> impl Iterator<Item = Condition> + '_ {
    tickets.chunks(500).map(|chunk| {
        let ids: Vec<i64> = chunk.iter().map(|t| t.0).collect();
        Condition::all().add(Expr::col(("t", "id")).is_in(ids))
    })
}

/// Rewrites every document: after a bulk copy into a database.
pub async fn rebuild_all(conn: &mut Conn) -> Result<()> {
    let mut later = Writes::default();
    rewrite(backend(conn), Condition::all(), &mut later);
    later.run(conn).await
}

/// SQLite's FTS5 table takes no upsert: the old documents go first.
fn rewrite(backend: Backend, tickets: Condition, later: &mut Writes) {
    if backend == Backend::Sqlite {
        let rowids = Query::select()
            .column(("t", "id"))
            .from_as("tickets", "t")
            .cond_where(tickets.clone())
            .to_owned();
        later.push(
            Query::delete()
                .from_table("ticket_search")
                .and_where(Expr::col("rowid").in_subquery(rowids))
                .to_owned(),
        );
    }
    later.push(documents(backend, tickets));
}

fn documents(backend: Backend, tickets: Condition) -> InsertStatement {
    let (columns, document): (&[&str], Vec<Expr>) = match backend {
        Backend::Sqlite => (
            &["rowid", "title", "body"],
            vec![Expr::col(("t", "title")), Expr::cust(BODY_SQLITE)],
        ),
        Backend::Postgres => (
            &["ticket_id", "document"],
            vec![Expr::cust(format!(
                "setweight(fixpoint_words(t.title), 'A') || fixpoint_words({BODY_POSTGRES})"
            ))],
        ),
    };
    let select = Query::select()
        .column(("t", "id"))
        .exprs(document)
        .from_as("tickets", "t")
        .cond_where(tickets)
        .to_owned();
    let mut insert = Query::insert();
    insert
        .into_table("ticket_search")
        .columns(columns.iter().copied())
        .select_from(select)
        .expect("the select yields one value per column");
    if backend == Backend::Postgres {
        insert.on_conflict(
            sea_query::OnConflict::column("ticket_id")
                .update_column("document")
                .to_owned(),
        );
    }
    insert
}

#[cfg(test)]
mod tests {
    use super::*;
    use fixpoint_core::time_entry::SYSTEM_AUTHOR_PREFIX;

    #[test]
    fn search_text_turns_each_run_of_ascii_punctuation_into_one_space() {
        assert_eq!(search_text("jane.doe@example.com"), "jane doe example com");
        assert_eq!(search_text("v1.5.2; C:\\Temp"), "v1 5 2 C Temp");
        assert_eq!(search_text("a\x01\t\x7F--[b]"), "a b ");
        assert_eq!(search_text("  café — Straße  "), " café — Straße ");
        assert_eq!(search_text("AZaz09\u{80}"), "AZaz09\u{80}");
        assert_eq!(search_text(""), "");
    }

    #[test]
    fn documents_leave_out_the_notes_the_core_calls_systems() {
        let excluded = format!("n.author NOT LIKE '{SYSTEM_AUTHOR_PREFIX}%'");
        assert!(BODY_SQLITE.contains(&excluded));
        assert!(BODY_POSTGRES.contains(&excluded));
    }
}
