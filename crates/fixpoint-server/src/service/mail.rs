//! Mail out: which event writes which message to whom, from templates an admin may
//! replace; and the sender that hands queued messages to SMTP with retries.

use fixpoint_core::catalog::StatusCategory;
use fixpoint_core::ids::{NoteId, TicketId};
use fixpoint_core::mail::{REPLY_ABOVE, subject_for, thread_id};
use fixpoint_core::webhook::AfterFailure;
use fixpoint_core::{DomainError, ErrorCode};
use fixpoint_store::escalation::OutboxEvent;
use fixpoint_store::messages::{self as rows, MailMessage, TemplateRow};
use fixpoint_store::{Conn, Store, catalog, parties, tickets as store_tickets, work};
use jiff::Timestamp;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Serialize;
use serde_json::{Value, json};

use super::ServiceResult;
use crate::messaging::MailSettings;

/// The messages Fixpoint writes, each a subject, a text body and an HTML body.
pub const TEMPLATE_NAMES: [&str; 4] = ["acknowledgment", "public_note", "resolution", "escalation"];

fn built_in(name: &str) -> Option<TemplateRow> {
    let (subject, text, html) = match name {
        "acknowledgment" => (
            "{{ ticket.title }}",
            "{{ reply_above }}\n\nHello {{ contact.first_name | default('there') }},\n\nwe have received your request and opened ticket {{ ticket.number }}: {{ ticket.title }}.\nPriority: {{ ticket.priority }}. Reply to this message to add to it.\n\n{{ company_signature }}\n",
            "<p style=\"color:#888\">{{ reply_above }}</p>\n<p>Hello {{ contact.first_name | default('there') }},</p>\n<p>we have received your request and opened ticket <strong>{{ ticket.number }}</strong>: {{ ticket.title }}.<br>Priority: {{ ticket.priority }}. Reply to this message to add to it.</p>\n<p>{{ company_signature }}</p>\n",
        ),
        "public_note" => (
            "{{ ticket.title }}",
            "{{ reply_above }}\n\n{{ note.body }}\n\n— {{ note.author }}\nTicket {{ ticket.number }} · status {{ ticket.status }}\n",
            "<p style=\"color:#888\">{{ reply_above }}</p>\n<div style=\"white-space:pre-wrap\">{{ note.body }}</div>\n<p>— {{ note.author }}<br>Ticket {{ ticket.number }} · status {{ ticket.status }}</p>\n",
        ),
        "resolution" => (
            "Resolved: {{ ticket.title }}",
            "{{ reply_above }}\n\nHello {{ contact.first_name | default('there') }},\n\nticket {{ ticket.number }} ({{ ticket.title }}) is {{ ticket.status | lower }}.\n\nResolution:\n{{ ticket.resolution | default('(none recorded)') }}\n\nIf the problem is not solved, reply to this message.\n\n{{ company_signature }}\n",
            "<p style=\"color:#888\">{{ reply_above }}</p>\n<p>Hello {{ contact.first_name | default('there') }},</p>\n<p>ticket <strong>{{ ticket.number }}</strong> ({{ ticket.title }}) is {{ ticket.status | lower }}.</p>\n<p><strong>Resolution:</strong></p>\n<div style=\"white-space:pre-wrap\">{{ ticket.resolution | default('(none recorded)') }}</div>\n<p>If the problem is not solved, reply to this message.</p>\n<p>{{ company_signature }}</p>\n",
        ),
        "escalation" => (
            "Escalation level {{ escalation.level }}: {{ ticket.title }}",
            "Ticket {{ ticket.number }} ({{ ticket.title }}, {{ company.name }}) reached escalation level {{ escalation.level }}.\n\n{{ escalation.reason }}\n\nStatus: {{ ticket.status }} · Priority: {{ ticket.priority }}\n",
            "<p>Ticket <strong>{{ ticket.number }}</strong> ({{ ticket.title }}, {{ company.name }}) reached escalation level {{ escalation.level }}.</p>\n<p>{{ escalation.reason }}</p>\n<p>Status: {{ ticket.status }} · Priority: {{ ticket.priority }}</p>\n",
        ),
        _ => return None,
    };
    Some(TemplateRow {
        name: name.to_owned(),
        language: "en".into(),
        subject: subject.to_owned(),
        body_text: text.to_owned(),
        body_html: html.to_owned(),
    })
}

/// A template as it is used: the admin's version, or the built-in one.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Template {
    pub name: String,
    /// `en`, or the language an admin wrote it for (`de`, `pt-BR`).
    pub language: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// False when an admin replaced the built-in template.
    pub built_in: bool,
}

/// Every template in use: the English one of each message (the admin's or the
/// built-in) and the admin's translations.
pub async fn templates(store: &Store) -> ServiceResult<Vec<Template>> {
    let mut conn = store.read().await?;
    let custom = rows::templates(&mut conn).await?;
    let mut all = Vec::new();
    for name in TEMPLATE_NAMES {
        if !custom.iter().any(|t| t.name == name && t.language == "en")
            && let Some(t) = built_in(name)
        {
            all.push(as_template(t, true));
        }
        all.extend(
            custom
                .iter()
                .filter(|t| t.name == name)
                .cloned()
                .map(|t| as_template(t, false)),
        );
    }
    Ok(all)
}

fn as_template(t: TemplateRow, built_in: bool) -> Template {
    Template {
        name: t.name,
        language: t.language,
        subject: t.subject,
        body_text: t.body_text,
        body_html: t.body_html,
        built_in,
    }
}

fn unknown_template(name: &str) -> DomainError {
    DomainError::not_found(
        "mail template",
        format!("{name} (templates: {})", TEMPLATE_NAMES.join(", ")),
    )
}

/// Replaces a built-in template, after rendering it once with sample values: a
/// template that does not render is refused with the part and line at fault.
pub async fn put_template(store: &Store, mut t: TemplateRow, now: Timestamp) -> ServiceResult<()> {
    if !TEMPLATE_NAMES.contains(&t.name.as_str()) {
        return Err(unknown_template(&t.name).into());
    }
    t.language = language(&t.language)?;
    render(&t, &sample_context())?;
    let mut tx = store.write().await?;
    rows::put_template(&mut tx, &t, now).await?;
    Store::commit(tx).await?;
    Ok(())
}

fn language(tag: &str) -> Result<String, DomainError> {
    fixpoint_core::mail::language_tag(tag).ok_or_else(|| {
        DomainError::invalid(
            "language",
            ErrorCode::InvalidField,
            format!("'{tag}' is not a language tag (expected e.g. en, de, pt-BR)"),
        )
    })
}

pub async fn reset_template(store: &Store, name: &str, tag: &str) -> ServiceResult<()> {
    if !TEMPLATE_NAMES.contains(&name) {
        return Err(unknown_template(name).into());
    }
    let tag = language(tag)?;
    let mut tx = store.write().await?;
    if !rows::delete_template(&mut tx, name, &tag).await? && tag != "en" {
        return Err(DomainError::not_found("mail template", format!("{name} in {tag}")).into());
    }
    Store::commit(tx).await?;
    Ok(())
}

fn sample_context() -> Value {
    json!({
        "ticket": {"number": "T20261124.0007", "title": "Printer down", "description": "It blinks.", "status": "In Progress", "priority": "High", "resolution": "Replaced the fuser."},
        "contact": {"first_name": "Ann", "last_name": "Lee", "email": "ann@acme.example"},
        "company": {"name": "Acme"},
        "note": {"body": "We are on it.", "author": "Sam", "title": null},
        "escalation": {"level": 2, "reason": "Resolution overdue"},
        "reply_above": REPLY_ABOVE,
        "company_signature": "Your service desk",
    })
}

/// Renders subject, text and HTML (autoescaped) of one template.
fn render(t: &TemplateRow, context: &Value) -> Result<(String, String, String), DomainError> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    let parts = [
        ("subject", "subject.txt", &t.subject),
        ("body_text", "body.txt", &t.body_text),
        ("body_html", "body.html", &t.body_html),
    ];
    let mut out = Vec::with_capacity(3);
    for (field, file, source) in parts {
        let fail = |e: minijinja::Error| {
            DomainError::invalid(
                field,
                ErrorCode::InvalidField,
                format!("the template does not render: {e}"),
            )
        };
        env.add_template_owned(file, source.clone()).map_err(fail)?;
        out.push(
            env.get_template(file)
                .and_then(|tpl| tpl.render(context))
                .map_err(fail)?,
        );
    }
    let html = out.pop().unwrap_or_default();
    let text = out.pop().unwrap_or_default();
    let subject = out
        .pop()
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    Ok((subject, text, html))
}

/// The template for a reader of `language`: the admin's in that language (or its
/// primary language), else the admin's English one, else the built-in one.
fn template(
    custom: &[TemplateRow],
    name: &str,
    language: Option<&str>,
) -> Result<TemplateRow, DomainError> {
    let found = fixpoint_core::mail::language_fallbacks(language)
        .iter()
        .find_map(|tag| {
            custom
                .iter()
                .find(|t| t.name == name && &t.language == tag)
                .cloned()
        });
    found
        .or_else(|| built_in(name))
        .ok_or_else(|| unknown_template(name))
}

/// What one event asks to be written, if anything.
struct Wanted {
    kind: &'static str,
    ticket: TicketId,
    /// Besides the ticket's contact (who gets every kind but escalation notices).
    recipients: Vec<String>,
    cc: Vec<String>,
    note: Option<NoteId>,
    escalation: Option<Value>,
}

/// What composing reads once per dispatched batch rather than once per event.
pub(crate) struct Catalogue {
    statuses: Vec<fixpoint_core::catalog::Status>,
    priorities: Vec<fixpoint_core::catalog::Priority>,
    templates: Vec<TemplateRow>,
}

impl Catalogue {
    pub(crate) async fn load(tx: &mut Conn) -> ServiceResult<Self> {
        Ok(Self {
            statuses: catalog::statuses(tx).await?,
            priorities: catalog::priorities(tx).await?,
            templates: rows::templates(tx).await?,
        })
    }

    fn category(&self, id: Option<&str>) -> Option<StatusCategory> {
        let id: i64 = id?.parse().ok()?;
        self.statuses
            .iter()
            .find(|s| s.id.0 == id)
            .map(|s| s.category)
    }
}

/// Which message an event calls for, decided from the event alone (the core's rules),
/// before anything is read for it.
async fn wanted(
    tx: &mut Conn,
    reference: &Catalogue,
    event: &OutboxEvent,
) -> ServiceResult<Option<Wanted>> {
    let payload: Value = serde_json::from_str(&event.payload).unwrap_or(Value::Null);
    let Some(ticket) = payload
        .get("ticket_id")
        .and_then(Value::as_i64)
        .map(TicketId)
    else {
        return Ok(None);
    };
    let list = |key: &str| -> Vec<String> {
        payload
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let field = |key: &str| payload.get(key).cloned().unwrap_or(Value::Null);
    let plain = |kind| Wanted {
        kind,
        ticket,
        recipients: vec![],
        cc: vec![],
        note: None,
        escalation: None,
    };
    Ok(match event.topic.as_str() {
        "ticket.created" => Some(plain("acknowledgment")),
        "note.created" => {
            let visibility = serde_json::from_value(field("visibility")).unwrap_or_default();
            let contact = serde_json::from_value(field("contact_id")).unwrap_or_default();
            let author = payload
                .get("author")
                .and_then(Value::as_str)
                .unwrap_or_default();
            fixpoint_core::mail::note_is_mailed(visibility, contact, author).then(|| Wanted {
                recipients: list("email_to"),
                cc: list("email_cc"),
                note: payload.get("note_id").and_then(Value::as_i64).map(NoteId),
                ..plain("public_note")
            })
        }
        "ticket.updated" => {
            let changes = payload.get("changes").and_then(Value::as_array);
            let status = changes.and_then(|c| {
                c.iter()
                    .find(|c| c.get("field").and_then(Value::as_str) == Some("status_id"))
            });
            status
                .filter(|c| {
                    fixpoint_core::mail::finishes(
                        reference.category(c.get("old").and_then(Value::as_str)),
                        reference.category(c.get("new").and_then(Value::as_str)),
                    )
                })
                .map(|_| plain("resolution"))
        }
        "ticket.escalated" => {
            let rule = payload
                .get("rule_id")
                .and_then(Value::as_i64)
                .unwrap_or_default();
            Some(Wanted {
                recipients: rows::rule_notify(tx, rule).await?,
                escalation: Some(payload.clone()),
                ..plain("escalation")
            })
        }
        _ => None,
    })
}

/// Queues the mail an event calls for: an acknowledgment of a new ticket, a
/// client-visible note, the resolution, an escalation notice.
pub(crate) async fn compose_for_event(
    tx: &mut Conn,
    settings: &MailSettings,
    reference: &Catalogue,
    event: &OutboxEvent,
    now: Timestamp,
) -> ServiceResult<()> {
    let Some(mut wanted) = wanted(tx, reference, event).await? else {
        return Ok(());
    };
    let Some(ticket) = store_tickets::get(tx, wanted.ticket).await? else {
        return Ok(());
    };
    let contact = match ticket.contact_id {
        Some(id) => parties::contact(tx, id).await?,
        None => None,
    };
    if wanted.kind != "escalation"
        && let Some(email) = contact.as_ref().and_then(|c| c.email.clone())
    {
        wanted.recipients.insert(0, email);
    }
    if wanted.recipients.is_empty() {
        return Ok(());
    }
    let note = match wanted.note {
        Some(id) => work::notes_by_ids(tx, &[id.0]).await?.into_iter().next(),
        None => None,
    };
    let company = parties::company(tx, ticket.company_id).await?;
    let name_of_status = reference
        .statuses
        .iter()
        .find(|s| s.id == ticket.status_id)
        .map(|s| s.name.clone());
    let name_of_priority = reference
        .priorities
        .iter()
        .find(|p| p.id == ticket.priority_id)
        .map(|p| p.name.clone());
    let context = json!({
        "ticket": {"number": ticket.number, "title": ticket.title, "description": ticket.description,
                   "status": name_of_status, "priority": name_of_priority, "resolution": ticket.resolution},
        "contact": contact.as_ref().map(|c| json!({"first_name": c.first_name, "last_name": c.last_name, "email": c.email})),
        "company": {"name": company.map(|c| c.name)},
        "note": note.as_ref().map(|n| json!({"body": n.body, "author": n.author, "title": n.title})),
        "escalation": wanted.escalation,
        "reply_above": REPLY_ABOVE,
        "company_signature": settings.signature,
    });
    let reader_language = match wanted.kind {
        "escalation" => None,
        _ => contact.as_ref().and_then(|c| c.language.clone()),
    };
    let tpl = template(
        &reference.templates,
        wanted.kind,
        reader_language.as_deref(),
    )?;
    // A template that stopped rendering must not hold up the outbox: the built-in one
    // answers, and if even that fails the message is skipped with a warning.
    let rendered = render(&tpl, &context).or_else(|e| {
        tracing::warn!(template = wanted.kind, error = ?e, "a mail template no longer renders; using the built-in one");
        built_in(wanted.kind)
            .ok_or_else(|| unknown_template(wanted.kind))
            .and_then(|t| render(&t, &context))
    });
    let (subject, body_text, body_html) = match rendered {
        Ok(parts) => parts,
        Err(e) => {
            tracing::warn!(template = wanted.kind, ticket = %wanted.ticket, error = ?e, "no mail written for this event");
            return Ok(());
        }
    };
    let root = thread_id(wanted.ticket.0, &settings.domain);
    let origin = rows::first_inbound_of_ticket(tx, wanted.ticket).await?;
    let latest = rows::last_inbound_of_ticket(tx, wanted.ticket).await?;
    let mut references: Vec<String> = origin.iter().cloned().collect();
    references.push(root.clone());
    if let Some(latest) = &latest
        && !references.contains(latest)
    {
        references.push(latest.clone());
    }
    let message = MailMessage {
        id: 0,
        ticket_id: wanted.ticket,
        kind: wanted.kind.to_owned(),
        recipients: dedup(wanted.recipients),
        cc: dedup(wanted.cc),
        subject: subject_for(&ticket.number, &subject),
        message_id: fixpoint_core::mail::message_id(
            wanted.ticket.0,
            rand::random(),
            &settings.domain,
        ),
        in_reply_to: Some(latest.unwrap_or(root)),
        references,
        body_text,
        body_html,
        state: "pending".into(),
        attempts: 0,
        last_error: None,
        sent_at: None,
        created_at: now,
    };
    rows::insert_mail(tx, &message).await?;
    Ok(())
}

fn dedup(mut list: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    list.retain(|a| seen.insert(a.to_ascii_lowercase()));
    list
}

pub async fn mail_of_ticket(store: &Store, ticket: TicketId) -> ServiceResult<Vec<MailMessage>> {
    let mut conn = store.read().await?;
    Ok(rows::mail_of_ticket(&mut conn, ticket).await?)
}

/// How long a claimed message is another server's to send.
const LEASE: jiff::SignedDuration = jiff::SignedDuration::from_secs(120);

/// Sends due messages; returns how many went out.
pub async fn send_due(
    store: &Store,
    settings: &MailSettings,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    now: Timestamp,
) -> ServiceResult<usize> {
    if !rows::any_due(&mut store.read().await?, "mail_messages", now).await? {
        return Ok(0);
    }
    let due = {
        let mut tx = store.write().await?;
        let due = rows::claim::<MailMessage>(&mut tx, now, now + LEASE, 20).await?;
        Store::commit(tx).await?;
        due
    };
    let mut sent = 0;
    for message in due {
        let outcome = match build(settings, &message) {
            Ok(email) => transport
                .send(email)
                .await
                .map(drop)
                .map_err(|e| (e.is_permanent(), e.to_string())),
            Err(e) => Err((true, e)),
        };
        let (state, error, next) = match outcome {
            Ok(()) => {
                sent += 1;
                ("sent", None, now)
            }
            Err((permanent, error)) => {
                let after = fixpoint_core::webhook::after_failure(message.attempts, permanent);
                tracing::warn!(message_id = %message.message_id, attempts = message.attempts, ?after, %error, "sending mail failed");
                match after {
                    AfterFailure::RetryIn(delay) => ("pending", Some(error), now + delay),
                    AfterFailure::GiveUp => ("failed", Some(error), now),
                }
            }
        };
        let mut tx = store.write().await?;
        rows::record_mail_attempt(&mut tx, message.id, state, error, next, now).await?;
        Store::commit(tx).await?;
    }
    Ok(sent)
}

fn build(settings: &MailSettings, m: &MailMessage) -> Result<lettre::Message, String> {
    let from: Mailbox = settings
        .from
        .parse()
        .map_err(|e| format!("the sender '{}' is not an address: {e}", settings.from))?;
    let mut builder = lettre::Message::builder()
        .from(from)
        .subject(m.subject.clone())
        .message_id(Some(m.message_id.clone()))
        .references(m.references.join(" "));
    if let Some(parent) = &m.in_reply_to {
        builder = builder.in_reply_to(parent.clone());
    }
    for to in &m.recipients {
        builder = builder.to(to.parse().map_err(|e| format!("recipient '{to}': {e}"))?);
    }
    for cc in &m.cc {
        builder = builder.cc(cc.parse().map_err(|e| format!("cc '{cc}': {e}"))?);
    }
    if matches!(m.kind.as_str(), "acknowledgment" | "escalation") {
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            m.body_text.clone(),
            m.body_html.clone(),
        ))
        .map_err(|e| e.to_string())
}
