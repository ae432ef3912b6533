//! Rows of the conversation with people and systems: the outbox's claim, webhook
//! subscriptions and their deliveries, mail sent and received, and mail templates.
//! Work rows are claimed with a lease (`next_attempt_at` moved past the work's
//! timeout) under `FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer.

use fixpoint_core::ids::{NoteId, TicketId};
use jiff::Timestamp;
use sea_query::{Expr, ExprTrait, LockBehavior, LockType, Order, Query, SelectStatement};
use serde::Serialize;
use sqlx::FromRow;

use crate::db::{
    Conn, Result, execute, fetch_all, fetch_optional, insert_id, instant, micros, opt_instant,
};
use crate::escalation::OutboxEvent;

/// The ids of up to `limit` rows of `table` that are due, locked against other
/// servers' claims; SQLite ignores the lock, having one writer.
fn due(table: &'static str, condition: sea_query::SimpleExpr, limit: u64) -> SelectStatement {
    Query::select()
        .column("id")
        .from(table)
        .and_where(condition)
        .order_by("id", Order::Asc)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .to_owned()
}

/// Work rows that servers lease: webhook deliveries and outbound mail.
pub trait Leased: Sized {
    const TABLE: &'static str;
    const COLUMNS: &'static [&'static str];
    type Row: crate::db::Row;
    fn from_row(row: Self::Row) -> Result<Self>;
    fn id(&self) -> i64;
}

impl Leased for Delivery {
    const TABLE: &'static str = "webhook_deliveries";
    const COLUMNS: &'static [&'static str] = &DELIVERY_COLUMNS;
    type Row = DeliveryRow;
    fn from_row(row: DeliveryRow) -> Result<Self> {
        row.into_delivery()
    }
    fn id(&self) -> i64 {
        self.id
    }
}

impl Leased for MailMessage {
    const TABLE: &'static str = "mail_messages";
    const COLUMNS: &'static [&'static str] = &MAIL_COLUMNS;
    type Row = MailRow;
    fn from_row(row: MailRow) -> Result<Self> {
        row.into_message()
    }
    fn id(&self) -> i64 {
        self.id
    }
}

/// Leases up to `limit` pending rows that are due at `now` until `lease_until`,
/// counting the attempt; oldest first.
pub async fn claim<T: Leased>(
    conn: &mut Conn,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u64,
) -> Result<Vec<T>> {
    let mut q = Query::update();
    q.table(T::TABLE)
        .value("next_attempt_at", micros(lease_until))
        .value("attempts", Expr::col("attempts").add(1))
        .and_where(Expr::col("id").in_subquery(due(T::TABLE, due_now(now), limit)))
        .returning(Query::returning().columns(T::COLUMNS.iter().copied()));
    let rows: Vec<T::Row> = fetch_all(conn, &q).await?;
    let mut claimed: Vec<T> = rows.into_iter().map(T::from_row).collect::<Result<_>>()?;
    claimed.sort_by_key(T::id);
    Ok(claimed)
}

/// Whether `table` has pending rows due at `now`: a read, so that an idle server's
/// workers never take the write lock.
pub async fn any_due(conn: &mut Conn, table: &'static str, now: Timestamp) -> Result<bool> {
    let found: Option<(i64,)> = fetch_optional(conn, &any_due_query(table, now)).await?;
    Ok(found.is_some())
}

fn any_due_query(table: &'static str, now: Timestamp) -> SelectStatement {
    Query::select()
        .column("id")
        .from(table)
        .and_where(due_now(now))
        .limit(1)
        .to_owned()
}

/// Pending rows due at `now`. 'pending' is written into the SQL, not bound: the
/// partial index over pending rows serves only a statement whose plan knows the state,
/// and neither SQLite (built with a stable plan per statement, SQLITE_ENABLE_QPSG) nor
/// PostgreSQL's generic plans look at bound values.
fn due_now(now: Timestamp) -> sea_query::SimpleExpr {
    Expr::col("state")
        .eq(Expr::cust("'pending'"))
        .and(Expr::col("next_attempt_at").lte(micros(now)))
}

/// Marks up to `limit` undelivered outbox events as dispatched and returns them: the
/// caller fans them out in the same transaction, so each is dispatched once.
pub async fn claim_events(conn: &mut Conn, limit: u64, now: Timestamp) -> Result<Vec<OutboxEvent>> {
    #[derive(FromRow)]
    struct Row {
        id: i64,
        topic: String,
        payload: String,
    }
    let mut q = Query::update();
    q.table("outbox")
        .value("delivered_at", micros(now))
        .and_where(Expr::col("id").in_subquery(due(
            "outbox",
            Expr::col("delivered_at").is_null(),
            limit,
        )))
        .returning(Query::returning().columns(["id", "topic", "payload"]));
    let mut rows: Vec<Row> = fetch_all(conn, &q).await?;
    rows.sort_by_key(|r| r.id);
    Ok(rows
        .into_iter()
        .map(|r| OutboxEvent {
            id: r.id,
            topic: r.topic,
            payload: r.payload,
        })
        .collect())
}

/// Forgets dispatched events older than `before`.
pub async fn prune_events(conn: &mut Conn, before: Timestamp) -> Result<u64> {
    execute(
        conn,
        Query::delete()
            .from_table("outbox")
            .and_where(Expr::col("delivered_at").lt(micros(before))),
    )
    .await
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    /// The key every delivery is signed with (HMAC-SHA256).
    pub secret: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    /// Failed attempts in a row; at the limit the webhook is switched off.
    pub consecutive_failures: i64,
    pub disabled_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(FromRow)]
struct WebhookRow {
    id: i64,
    url: String,
    secret: String,
    events: String,
    description: Option<String>,
    active: bool,
    consecutive_failures: i64,
    disabled_reason: Option<String>,
    created_at: i64,
    updated_at: i64,
}

const WEBHOOK_COLUMNS: [&str; 10] = [
    "id",
    "url",
    "secret",
    "events",
    "description",
    "active",
    "consecutive_failures",
    "disabled_reason",
    "created_at",
    "updated_at",
];

impl WebhookRow {
    fn into_webhook(self) -> Result<Webhook> {
        Ok(Webhook {
            id: self.id,
            url: self.url,
            secret: self.secret,
            events: self
                .events
                .split(',')
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .collect(),
            description: self.description,
            active: self.active,
            consecutive_failures: self.consecutive_failures,
            disabled_reason: self.disabled_reason,
            created_at: instant(self.created_at)?,
            updated_at: instant(self.updated_at)?,
        })
    }
}

/// Stores a subscription (`w.id` is ignored) and returns its id.
pub async fn insert_webhook(conn: &mut Conn, w: &Webhook) -> Result<i64> {
    let q = Query::insert()
        .into_table("webhooks")
        .columns(WEBHOOK_COLUMNS[1..].iter().copied())
        .values_panic([
            w.url.clone().into(),
            w.secret.clone().into(),
            w.events.join(",").into(),
            w.description.clone().into(),
            w.active.into(),
            w.consecutive_failures.into(),
            w.disabled_reason.clone().into(),
            micros(w.created_at).into(),
            micros(w.updated_at).into(),
        ])
        .to_owned();
    insert_id(conn, q).await
}

/// Writes every field of a subscription but its id and creation time.
pub async fn update_webhook(conn: &mut Conn, w: &Webhook) -> Result<bool> {
    let q = Query::update()
        .table("webhooks")
        .values([
            ("url", w.url.clone().into()),
            ("secret", w.secret.clone().into()),
            ("events", w.events.join(",").into()),
            ("description", w.description.clone().into()),
            ("active", w.active.into()),
            ("consecutive_failures", w.consecutive_failures.into()),
            ("disabled_reason", w.disabled_reason.clone().into()),
            ("updated_at", micros(w.updated_at).into()),
        ])
        .and_where(Expr::col("id").eq(w.id))
        .to_owned();
    Ok(execute(conn, &q).await? == 1)
}

pub async fn delete_webhook(conn: &mut Conn, id: i64) -> Result<bool> {
    execute(
        conn,
        Query::delete()
            .from_table("webhook_deliveries")
            .and_where(Expr::col("webhook_id").eq(id)),
    )
    .await?;
    Ok(execute(
        conn,
        Query::delete()
            .from_table("webhooks")
            .and_where(Expr::col("id").eq(id)),
    )
    .await?
        == 1)
}

pub async fn webhook(conn: &mut Conn, id: i64) -> Result<Option<Webhook>> {
    let row: Option<WebhookRow> = fetch_optional(
        conn,
        Query::select()
            .columns(WEBHOOK_COLUMNS)
            .from("webhooks")
            .and_where(Expr::col("id").eq(id)),
    )
    .await?;
    row.map(WebhookRow::into_webhook).transpose()
}

/// Every subscription, or only the active ones.
pub async fn webhooks(conn: &mut Conn, only_active: bool) -> Result<Vec<Webhook>> {
    let mut q = Query::select();
    q.columns(WEBHOOK_COLUMNS)
        .from("webhooks")
        .order_by("id", Order::Asc);
    if only_active {
        q.and_where(Expr::col("active").eq(true));
    }
    let rows: Vec<WebhookRow> = fetch_all(conn, &q).await?;
    rows.into_iter().map(WebhookRow::into_webhook).collect()
}

/// A delivery to record: one event for one subscription.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub webhook_id: i64,
    pub event_id: i64,
    pub event_type: String,
    pub payload: String,
}

pub async fn insert_deliveries(
    conn: &mut Conn,
    deliveries: &[NewDelivery],
    now: Timestamp,
) -> Result<()> {
    for chunk in deliveries.chunks(200) {
        let mut q = Query::insert();
        q.into_table("webhook_deliveries").columns([
            "webhook_id",
            "event_id",
            "event_type",
            "payload",
            "state",
            "attempts",
            "next_attempt_at",
            "created_at",
        ]);
        for d in chunk {
            q.values_panic([
                d.webhook_id.into(),
                d.event_id.into(),
                d.event_type.clone().into(),
                d.payload.clone().into(),
                "pending".into(),
                0.into(),
                micros(now).into(),
                micros(now).into(),
            ]);
        }
        execute(conn, &q).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    pub event_type: String,
    pub payload: String,
    /// pending, delivered or failed
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

#[derive(FromRow)]
pub struct DeliveryRow {
    id: i64,
    webhook_id: i64,
    event_id: i64,
    event_type: String,
    payload: String,
    state: String,
    attempts: i64,
    next_attempt_at: i64,
    last_status: Option<i64>,
    last_error: Option<String>,
    delivered_at: Option<i64>,
    created_at: i64,
}

const DELIVERY_COLUMNS: [&str; 12] = [
    "id",
    "webhook_id",
    "event_id",
    "event_type",
    "payload",
    "state",
    "attempts",
    "next_attempt_at",
    "last_status",
    "last_error",
    "delivered_at",
    "created_at",
];

impl DeliveryRow {
    fn into_delivery(self) -> Result<Delivery> {
        Ok(Delivery {
            id: self.id,
            webhook_id: self.webhook_id,
            event_id: self.event_id,
            event_type: self.event_type,
            payload: self.payload,
            state: self.state,
            attempts: self.attempts,
            next_attempt_at: instant(self.next_attempt_at)?,
            last_status: self.last_status,
            last_error: self.last_error,
            delivered_at: opt_instant(self.delivered_at)?,
            created_at: instant(self.created_at)?,
        })
    }
}

/// How one attempt ended.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status: Option<i64>,
    pub error: Option<String>,
    /// delivered, failed (given up) or pending (to retry at `next_attempt_at`)
    pub state: &'static str,
    pub next_attempt_at: Timestamp,
}

pub async fn record_attempt(
    conn: &mut Conn,
    id: i64,
    attempt: &Attempt,
    now: Timestamp,
) -> Result<()> {
    let delivered = (attempt.state == "delivered").then(|| micros(now));
    execute(
        conn,
        Query::update()
            .table("webhook_deliveries")
            .values([
                ("state", attempt.state.into()),
                ("last_status", attempt.status.into()),
                ("last_error", attempt.error.clone().into()),
                ("next_attempt_at", micros(attempt.next_attempt_at).into()),
                ("delivered_at", delivered.into()),
            ])
            .and_where(Expr::col("id").eq(id)),
    )
    .await?;
    Ok(())
}

/// A webhook's deliveries, newest first.
pub async fn deliveries(conn: &mut Conn, webhook_id: i64, limit: u64) -> Result<Vec<Delivery>> {
    let rows: Vec<DeliveryRow> = fetch_all(
        conn,
        Query::select()
            .columns(DELIVERY_COLUMNS)
            .from("webhook_deliveries")
            .and_where(Expr::col("webhook_id").eq(webhook_id))
            .order_by("id", Order::Desc)
            .limit(limit),
    )
    .await?;
    rows.into_iter().map(DeliveryRow::into_delivery).collect()
}

/// Puts a delivery back in the queue for another round of attempts.
pub async fn retry_delivery(
    conn: &mut Conn,
    webhook_id: i64,
    id: i64,
    now: Timestamp,
) -> Result<bool> {
    let q = Query::update()
        .table("webhook_deliveries")
        .values([
            ("state", "pending".into()),
            ("attempts", 0.into()),
            ("next_attempt_at", micros(now).into()),
        ])
        .and_where(Expr::col("id").eq(id))
        .and_where(Expr::col("webhook_id").eq(webhook_id))
        .to_owned();
    Ok(execute(conn, &q).await? == 1)
}

/// A message to send about a ticket.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailMessage {
    pub id: i64,
    pub ticket_id: TicketId,
    /// acknowledgment, public_note, resolution or escalation
    pub kind: String,
    pub recipients: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub body_text: String,
    pub body_html: String,
    /// pending, sent or failed
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

#[derive(FromRow)]
pub struct MailRow {
    id: i64,
    ticket_id: i64,
    kind: String,
    recipients: String,
    cc: String,
    subject: String,
    message_id: String,
    in_reply_to: Option<String>,
    refs: String,
    body_text: String,
    body_html: String,
    state: String,
    attempts: i64,
    last_error: Option<String>,
    sent_at: Option<i64>,
    created_at: i64,
}

const MAIL_COLUMNS: [&str; 16] = [
    "id",
    "ticket_id",
    "kind",
    "recipients",
    "cc",
    "subject",
    "message_id",
    "in_reply_to",
    "refs",
    "body_text",
    "body_html",
    "state",
    "attempts",
    "last_error",
    "sent_at",
    "created_at",
];

fn split_list(s: &str, separator: char) -> Vec<String> {
    s.split(separator)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

impl MailRow {
    fn into_message(self) -> Result<MailMessage> {
        Ok(MailMessage {
            id: self.id,
            ticket_id: TicketId(self.ticket_id),
            kind: self.kind,
            recipients: split_list(&self.recipients, ','),
            cc: split_list(&self.cc, ','),
            subject: self.subject,
            message_id: self.message_id,
            in_reply_to: self.in_reply_to,
            references: split_list(&self.refs, ' '),
            body_text: self.body_text,
            body_html: self.body_html,
            state: self.state,
            attempts: self.attempts,
            last_error: self.last_error,
            sent_at: opt_instant(self.sent_at)?,
            created_at: instant(self.created_at)?,
        })
    }
}

/// Queues a message (`m.id`, state and attempts are ignored) to be sent from `now`.
pub async fn insert_mail(conn: &mut Conn, m: &MailMessage) -> Result<i64> {
    let q = Query::insert()
        .into_table("mail_messages")
        .columns(MAIL_COLUMNS[1..12].iter().copied().chain([
            "attempts",
            "next_attempt_at",
            "created_at",
        ]))
        .values_panic([
            m.ticket_id.0.into(),
            m.kind.clone().into(),
            m.recipients.join(",").into(),
            m.cc.join(",").into(),
            m.subject.clone().into(),
            m.message_id.clone().into(),
            m.in_reply_to.clone().into(),
            m.references.join(" ").into(),
            m.body_text.clone().into(),
            m.body_html.clone().into(),
            "pending".into(),
            0.into(),
            micros(m.created_at).into(),
            micros(m.created_at).into(),
        ])
        .to_owned();
    insert_id(conn, q).await
}

/// Records how sending a message went: sent, failed (given up) or pending again.
pub async fn record_mail_attempt(
    conn: &mut Conn,
    id: i64,
    state: &str,
    error: Option<String>,
    next_attempt_at: Timestamp,
    now: Timestamp,
) -> Result<()> {
    let sent = (state == "sent").then(|| micros(now));
    execute(
        conn,
        Query::update()
            .table("mail_messages")
            .values([
                ("state", state.into()),
                ("last_error", error.into()),
                ("next_attempt_at", micros(next_attempt_at).into()),
                ("sent_at", sent.into()),
            ])
            .and_where(Expr::col("id").eq(id)),
    )
    .await?;
    Ok(())
}

/// A ticket's mail, oldest first.
pub async fn mail_of_ticket(conn: &mut Conn, ticket: TicketId) -> Result<Vec<MailMessage>> {
    let rows: Vec<MailRow> = fetch_all(
        conn,
        Query::select()
            .columns(MAIL_COLUMNS)
            .from("mail_messages")
            .and_where(Expr::col("ticket_id").eq(ticket.0))
            .order_by("id", Order::Asc),
    )
    .await?;
    rows.into_iter().map(MailRow::into_message).collect()
}

/// The ticket one of `message_ids` belongs to: a message Fixpoint sent about it or
/// one it received into it.
pub async fn ticket_of_messages(
    conn: &mut Conn,
    message_ids: &[String],
) -> Result<Option<TicketId>> {
    if message_ids.is_empty() {
        return Ok(None);
    }
    for table in ["mail_messages", "inbound_messages"] {
        let found: Option<(Option<i64>,)> = fetch_optional(
            conn,
            Query::select()
                .column("ticket_id")
                .from(table)
                .and_where(Expr::col("message_id").is_in(message_ids.iter().cloned()))
                .and_where(Expr::col("ticket_id").is_not_null())
                .order_by("id", Order::Desc)
                .limit(1),
        )
        .await?;
        if let Some((Some(ticket),)) = found {
            return Ok(Some(TicketId(ticket)));
        }
    }
    Ok(None)
}

/// The latest message received into a ticket, to answer in its thread.
pub async fn last_inbound_of_ticket(conn: &mut Conn, ticket: TicketId) -> Result<Option<String>> {
    let found: Option<(String,)> = fetch_optional(
        conn,
        Query::select()
            .column("message_id")
            .from("inbound_messages")
            .and_where(Expr::col("ticket_id").eq(ticket.0))
            .order_by("id", Order::Desc)
            .limit(1),
    )
    .await?;
    Ok(found.map(|(id,)| id))
}

/// What became of a received message.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboundMessage {
    pub id: i64,
    pub message_id: String,
    pub sender: Option<String>,
    pub subject: Option<String>,
    /// created, appended, ignored or quarantined
    pub outcome: String,
    pub reason: Option<String>,
    pub ticket_id: Option<TicketId>,
    pub note_id: Option<NoteId>,
    pub size: i64,
    pub received_at: Timestamp,
}

#[derive(FromRow)]
struct InboundRow {
    id: i64,
    message_id: String,
    sender: Option<String>,
    subject: Option<String>,
    outcome: String,
    reason: Option<String>,
    ticket_id: Option<i64>,
    note_id: Option<i64>,
    size: i64,
    received_at: i64,
}

const INBOUND_COLUMNS: [&str; 10] = [
    "id",
    "message_id",
    "sender",
    "subject",
    "outcome",
    "reason",
    "ticket_id",
    "note_id",
    "size",
    "received_at",
];

impl InboundRow {
    fn into_message(self) -> Result<InboundMessage> {
        Ok(InboundMessage {
            id: self.id,
            message_id: self.message_id,
            sender: self.sender,
            subject: self.subject,
            outcome: self.outcome,
            reason: self.reason,
            ticket_id: self.ticket_id.map(TicketId),
            note_id: self.note_id.map(NoteId),
            size: self.size,
            received_at: instant(self.received_at)?,
        })
    }
}

pub async fn inbound_by_message_id(
    conn: &mut Conn,
    message_id: &str,
) -> Result<Option<InboundMessage>> {
    let row: Option<InboundRow> = fetch_optional(
        conn,
        Query::select()
            .columns(INBOUND_COLUMNS)
            .from("inbound_messages")
            .and_where(Expr::col("message_id").eq(message_id)),
    )
    .await?;
    row.map(InboundRow::into_message).transpose()
}

/// Records a received message; `raw` is kept only for a quarantined one.
pub async fn insert_inbound(
    conn: &mut Conn,
    m: &InboundMessage,
    raw: Option<Vec<u8>>,
) -> Result<i64> {
    let q = Query::insert()
        .into_table("inbound_messages")
        .columns(INBOUND_COLUMNS[1..].iter().copied().chain(["raw"]))
        .values_panic([
            m.message_id.clone().into(),
            m.sender.clone().into(),
            m.subject.clone().into(),
            m.outcome.clone().into(),
            m.reason.clone().into(),
            m.ticket_id.map(|t| t.0).into(),
            m.note_id.map(|n| n.0).into(),
            m.size.into(),
            micros(m.received_at).into(),
            raw.into(),
        ])
        .to_owned();
    insert_id(conn, q).await
}

/// Received messages with one outcome, newest first.
pub async fn inbound(
    conn: &mut Conn,
    outcome: Option<&str>,
    limit: u64,
) -> Result<Vec<InboundMessage>> {
    let mut q = Query::select();
    q.columns(INBOUND_COLUMNS)
        .from("inbound_messages")
        .order_by("id", Order::Desc)
        .limit(limit);
    if let Some(outcome) = outcome {
        q.and_where(Expr::col("outcome").eq(outcome));
    }
    let rows: Vec<InboundRow> = fetch_all(conn, &q).await?;
    rows.into_iter().map(InboundRow::into_message).collect()
}

/// The raw bytes of a quarantined message.
pub async fn inbound_raw(conn: &mut Conn, id: i64) -> Result<Option<Vec<u8>>> {
    let row: Option<(Option<Vec<u8>>,)> = fetch_optional(
        conn,
        Query::select()
            .column("raw")
            .from("inbound_messages")
            .and_where(Expr::col("id").eq(id)),
    )
    .await?;
    Ok(row.and_then(|(raw,)| raw))
}

/// An admin's version of a template, in one language.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct TemplateRow {
    pub name: String,
    pub language: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
}

pub async fn templates(conn: &mut Conn) -> Result<Vec<TemplateRow>> {
    fetch_all(
        conn,
        Query::select()
            .columns(["name", "language", "subject", "body_text", "body_html"])
            .from("mail_templates")
            .order_by("name", Order::Asc)
            .order_by("language", Order::Asc),
    )
    .await
}

pub async fn put_template(conn: &mut Conn, t: &TemplateRow, now: Timestamp) -> Result<()> {
    delete_template(conn, &t.name, &t.language).await?;
    execute(
        conn,
        Query::insert()
            .into_table("mail_templates")
            .columns([
                "name",
                "language",
                "subject",
                "body_text",
                "body_html",
                "updated_at",
            ])
            .values_panic([
                t.name.clone().into(),
                t.language.clone().into(),
                t.subject.clone().into(),
                t.body_text.clone().into(),
                t.body_html.clone().into(),
                micros(now).into(),
            ]),
    )
    .await?;
    Ok(())
}

pub async fn delete_template(conn: &mut Conn, name: &str, language: &str) -> Result<bool> {
    let q = Query::delete()
        .from_table("mail_templates")
        .and_where(Expr::col("name").eq(name))
        .and_where(Expr::col("language").eq(language))
        .to_owned();
    Ok(execute(conn, &q).await? == 1)
}

/// Events not yet dispatched (a read, so an idle server never takes the write lock).
pub async fn pending_event_count(conn: &mut Conn) -> Result<i64> {
    let q = Query::select()
        .expr(Expr::col("id").count())
        .from("outbox")
        .and_where(Expr::col("delivered_at").is_null())
        .to_owned();
    crate::db::fetch_scalar(conn, &q).await
}

/// The ticket with a number, as a reply's subject names it.
pub async fn ticket_by_number(conn: &mut Conn, number: &str) -> Result<Option<TicketId>> {
    let found: Option<(i64,)> = fetch_optional(
        conn,
        Query::select()
            .column("id")
            .from("tickets")
            .and_where(Expr::col("number").eq(number)),
    )
    .await?;
    Ok(found.map(|(id,)| TicketId(id)))
}

/// Active companies whose website mentions `domain`, with the website, for the
/// core to match exactly.
pub async fn companies_by_website(conn: &mut Conn, domain: &str) -> Result<Vec<(i64, String)>> {
    fetch_all(
        conn,
        Query::select()
            .columns(["id", "website"])
            .from("companies")
            .and_where(Expr::col("active").eq(true))
            .and_where(Expr::col("website").like(format!("%{}%", domain.replace(['%', '_'], ""))))
            .order_by("id", Order::Asc)
            .limit(50),
    )
    .await
}

pub async fn setting(conn: &mut Conn, key: &str) -> Result<Option<String>> {
    let found: Option<(String,)> = fetch_optional(
        conn,
        Query::select()
            .column("value")
            .from("settings")
            .and_where(Expr::col("key").eq(key)),
    )
    .await?;
    Ok(found.map(|(v,)| v))
}

pub async fn put_setting(conn: &mut Conn, key: &str, value: &str) -> Result<()> {
    execute(
        conn,
        Query::delete()
            .from_table("settings")
            .and_where(Expr::col("key").eq(key)),
    )
    .await?;
    execute(
        conn,
        Query::insert()
            .into_table("settings")
            .columns(["key", "value"])
            .values_panic([key.into(), value.into()]),
    )
    .await?;
    Ok(())
}

/// The message a ticket was opened from, if it came by mail: the root of the
/// customer's own thread.
pub async fn first_inbound_of_ticket(conn: &mut Conn, ticket: TicketId) -> Result<Option<String>> {
    let found: Option<(String,)> = fetch_optional(
        conn,
        Query::select()
            .column("message_id")
            .from("inbound_messages")
            .and_where(Expr::col("ticket_id").eq(ticket.0))
            .and_where(Expr::col("outcome").eq("created"))
            .limit(1),
    )
    .await?;
    Ok(found.map(|(id,)| id))
}

/// Who hears of an escalation by a rule.
pub async fn rule_notify(conn: &mut Conn, rule: i64) -> Result<Vec<String>> {
    let found: Option<(String,)> = fetch_optional(
        conn,
        Query::select()
            .column("notify")
            .from("escalation_rules")
            .and_where(Expr::col("id").eq(rule)),
    )
    .await?;
    Ok(found
        .map(|(list,)| split_list(&list, ','))
        .unwrap_or_default())
}

pub async fn set_rule_notify(conn: &mut Conn, rule: i64, addresses: &[String]) -> Result<bool> {
    let q = Query::update()
        .table("escalation_rules")
        .value("notify", addresses.join(","))
        .and_where(Expr::col("id").eq(rule))
        .to_owned();
    Ok(execute(conn, &q).await? == 1)
}

/// An SLA target of an open, running ticket that turned at risk or breached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaAlert {
    pub ticket_id: TicketId,
    pub number: String,
    /// response or resolution
    pub target: &'static str,
    /// at_risk or breached
    pub kind: &'static str,
    /// The target's deadline.
    pub due_at: Timestamp,
}

/// Targets that crossed a line in `(since, now]`, on tickets whose clock runs; the
/// window keeps each sweep's work to what is new (a server down longer than the
/// window does not warn of old crossings).
pub async fn sla_crossings(
    conn: &mut Conn,
    since: Timestamp,
    now: Timestamp,
) -> Result<Vec<SlaAlert>> {
    #[derive(FromRow)]
    struct Row {
        id: i64,
        number: String,
        due: i64,
    }
    let lines: [(&str, &str, &str, &str); 4] = [
        (
            "response",
            "at_risk",
            "response_at_risk_at",
            "first_response_at",
        ),
        (
            "response",
            "breached",
            "response_due_at",
            "first_response_at",
        ),
        (
            "resolution",
            "at_risk",
            "resolution_at_risk_at",
            "resolved_at",
        ),
        ("resolution", "breached", "resolution_due_at", "resolved_at"),
    ];
    let closed = Query::select()
        .column("id")
        .from("statuses")
        .and_where(Expr::col("category").is_in(["resolved", "closed"]))
        .to_owned();
    let mut alerts = Vec::new();
    for (target, kind, line, met) in lines {
        let due_column = if target == "response" {
            "response_due_at"
        } else {
            "resolution_due_at"
        };
        let rows: Vec<Row> = fetch_all(
            conn,
            Query::select()
                .column("id")
                .column("number")
                .expr_as(Expr::col(due_column), "due")
                .from("tickets")
                .and_where(Expr::col(line).gt(micros(since)))
                .and_where(Expr::col(line).lte(micros(now)))
                .and_where(Expr::col(line).is_not_null())
                .and_where(Expr::col(met).is_null())
                .and_where(Expr::col(due_column).is_not_null())
                .and_where(Expr::col("sla_paused_since").is_null())
                .and_where(Expr::col("status_id").not_in_subquery(closed.clone())),
        )
        .await?;
        for r in rows {
            alerts.push(SlaAlert {
                ticket_id: TicketId(r.id),
                number: r.number,
                target,
                kind,
                due_at: instant(r.due)?,
            });
        }
    }
    Ok(alerts)
}

/// Records alerts not yet recorded and returns those: each fires once.
pub async fn record_sla_alerts(
    conn: &mut Conn,
    alerts: &[SlaAlert],
    now: Timestamp,
) -> Result<Vec<SlaAlert>> {
    #[derive(FromRow)]
    struct Key {
        ticket_id: i64,
        target: String,
        kind: String,
        due_at: i64,
    }
    let mut fresh = Vec::new();
    for chunk in alerts.chunks(200) {
        let mut q = Query::insert();
        q.into_table("sla_alerts")
            .columns(["ticket_id", "target", "kind", "due_at", "created_at"]);
        for a in chunk {
            q.values_panic([
                a.ticket_id.0.into(),
                a.target.into(),
                a.kind.into(),
                micros(a.due_at).into(),
                micros(now).into(),
            ]);
        }
        q.on_conflict(
            sea_query::OnConflict::columns(["ticket_id", "target", "kind", "due_at"])
                .do_nothing()
                .to_owned(),
        )
        .returning(Query::returning().columns(["ticket_id", "target", "kind", "due_at"]));
        let keys: Vec<Key> = fetch_all(conn, &q).await?;
        fresh.extend(
            chunk
                .iter()
                .filter(|a| {
                    keys.iter().any(|k| {
                        k.ticket_id == a.ticket_id.0
                            && k.target == a.target
                            && k.kind == a.kind
                            && k.due_at == micros(a.due_at)
                    })
                })
                .cloned(),
        );
    }
    Ok(fresh)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Connection;

    #[tokio::test]
    async fn the_due_rows_are_found_through_the_partial_index_of_pending_rows() {
        let dir = tempfile::tempdir().expect("a directory");
        let url = format!("sqlite://{}", dir.path().join("due.db").display());
        let store = crate::Store::open(&url).await.expect("a store");
        let mut conn = store.read().await.expect("a connection");
        let crate::db::Raw::Sqlite(c) = conn.raw() else {
            unreachable!("a SQLite store")
        };
        for (table, index) in [
            ("webhook_deliveries", "webhook_deliveries_due"),
            ("mail_messages", "mail_messages_due"),
        ] {
            let (sql, values) =
                crate::db::render(&any_due_query(table, Timestamp::UNIX_EPOCH), false);
            let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as_with(
                sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {}", sql.0)),
                values,
            )
            .fetch_all(&mut *c)
            .await
            .expect("a plan");
            assert!(
                plan.iter().any(|(.., detail)| detail.contains(index)),
                "{table}: {plan:?}"
            );
        }
    }
}
