//! Files on tickets, kept in the database.

use fixpoint_core::attachment::Attachment;
use fixpoint_core::ids::{AttachmentId, NoteId, TicketId};
use sea_query::{Expr, ExprTrait, Order, Query};
use sqlx::FromRow;

use crate::db::{Conn, Result, fetch_all, fetch_optional, insert_id, instant, micros};

const COLUMNS: [&str; 8] = [
    "id",
    "ticket_id",
    "note_id",
    "filename",
    "content_type",
    "size",
    "author",
    "created_at",
];

#[derive(FromRow)]
struct Row {
    id: i64,
    ticket_id: i64,
    note_id: Option<i64>,
    filename: String,
    content_type: String,
    size: i64,
    author: String,
    created_at: i64,
}

impl Row {
    fn into_attachment(self) -> Result<Attachment> {
        Ok(Attachment {
            id: AttachmentId(self.id),
            ticket_id: TicketId(self.ticket_id),
            note_id: self.note_id.map(NoteId),
            filename: self.filename,
            content_type: self.content_type,
            size: self.size,
            author: self.author,
            created_at: instant(self.created_at)?,
        })
    }
}

/// Stores a file; `a.id` and `a.size` are ignored (the size is the content's).
pub async fn insert(conn: &mut Conn, a: &Attachment, content: Vec<u8>) -> Result<AttachmentId> {
    let q = Query::insert()
        .into_table("attachments")
        .columns(COLUMNS[1..].iter().copied().chain(["content"]))
        .values_panic([
            a.ticket_id.0.into(),
            a.note_id.map(|n| n.0).into(),
            a.filename.clone().into(),
            a.content_type.clone().into(),
            (content.len() as i64).into(),
            a.author.clone().into(),
            micros(a.created_at).into(),
            content.into(),
        ])
        .to_owned();
    insert_id(conn, q).await.map(AttachmentId)
}

/// A ticket's files, oldest first.
pub async fn list(conn: &mut Conn, ticket: TicketId) -> Result<Vec<Attachment>> {
    let rows: Vec<Row> = fetch_all(
        conn,
        Query::select()
            .columns(COLUMNS)
            .from("attachments")
            .and_where(Expr::col("ticket_id").eq(ticket.0))
            .order_by("id", Order::Asc),
    )
    .await?;
    rows.into_iter().map(Row::into_attachment).collect()
}

/// One file with its bytes.
pub async fn get(conn: &mut Conn, id: AttachmentId) -> Result<Option<(Attachment, Vec<u8>)>> {
    #[derive(FromRow)]
    struct WithContent {
        #[sqlx(flatten)]
        row: Row,
        content: Vec<u8>,
    }
    let found: Option<WithContent> = fetch_optional(
        conn,
        Query::select()
            .columns(COLUMNS.iter().copied().chain(["content"]))
            .from("attachments")
            .and_where(Expr::col("id").eq(id.0)),
    )
    .await?;
    found
        .map(|f| Ok((f.row.into_attachment()?, f.content)))
        .transpose()
}
