//! Mail in: a received message becomes a ticket, or a note on the ticket it answers;
//! a machine's message is recorded and ignored; a message that cannot be read is
//! quarantined with the reason. Each `Message-ID` is taken once.

use fixpoint_core::attachment::NewAttachment;
use fixpoint_core::ids::{CompanyId, ContactId, QueueId, TicketId};
use fixpoint_core::mail::{self, Signals};
use fixpoint_core::parties::{NewContact, NewQueue};
use fixpoint_core::ticket::{NewTicket, Source};
use fixpoint_core::time_entry::{NOTE_BODY_MAX, NOTE_TITLE_MAX, NewNote, Visibility};
use fixpoint_store::messages::{self as rows, InboundMessage};
use fixpoint_store::parties::{self, PartyFilter};
use fixpoint_store::{Conn, Store};
use jiff::Timestamp;
use mail_parser::{MessageParser, MimeHeaders};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{ServiceError, ServiceResult};

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Received {
    /// created, appended, ignored, quarantined or duplicate
    pub outcome: String,
    pub reason: Option<String>,
    pub message_id: String,
    pub ticket_id: Option<TicketId>,
    pub ticket_number: Option<String>,
}

impl Received {
    fn duplicate(message_id: String) -> Self {
        Self {
            outcome: "duplicate".into(),
            reason: Some("this Message-ID was received before".into()),
            message_id,
            ticket_id: None,
            ticket_number: None,
        }
    }
}

/// What the receiving side needs: the domain of Fixpoint's own message ids and the
/// address it sends from, to know its own mail when it comes back.
#[derive(Debug, Clone)]
pub struct Inbox {
    pub domain: String,
    pub own_address: Option<String>,
}

fn bracketed(id: &str) -> String {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    format!("<{id}>")
}

/// Takes one raw RFC 822 message.
pub async fn receive(
    store: &Store,
    inbox: &Inbox,
    raw: &[u8],
    now: Timestamp,
) -> ServiceResult<Received> {
    let digest_id = || format!("<sha256.{:x}@fixpoint.invalid>", Sha256::digest(raw));
    let set_aside = |message_id, sender, subject, aside, reason| {
        record(
            store,
            (message_id, sender, subject),
            aside,
            reason,
            raw,
            now,
        )
    };
    if raw.len() > mail::MAX_INBOUND_BYTES {
        let reason = format!(
            "the message is {} bytes; the limit is {}",
            raw.len(),
            mail::MAX_INBOUND_BYTES
        );
        return set_aside(digest_id(), None, None, Aside::Quarantined, reason).await;
    }
    let Some(message) = MessageParser::default()
        .parse(raw)
        .filter(|m| m.from().is_some() || m.message_id().is_some())
    else {
        return set_aside(
            digest_id(),
            None,
            None,
            Aside::Quarantined,
            "not a readable RFC 822 message (no headers)".into(),
        )
        .await;
    };
    let message_id = message
        .message_id()
        .map(bracketed)
        .unwrap_or_else(digest_id);
    let from = message.from().and_then(|a| a.first());
    let sender = from
        .and_then(|a| a.address())
        .map(|a| a.trim().to_ascii_lowercase());
    let subject = message.subject().map(|s| s.trim().to_owned());
    {
        let mut conn = store.read().await?;
        if rows::inbound_by_message_id(&mut conn, &message_id)
            .await?
            .is_some()
        {
            return Ok(Received::duplicate(message_id));
        }
    }
    let Some(sender) = sender.filter(|s| mail::check_address("from", s).is_ok()) else {
        return set_aside(
            message_id,
            None,
            subject,
            Aside::Quarantined,
            "the message has no sender address (From)".into(),
        )
        .await;
    };
    let content_type = message.content_type();
    let full_type =
        content_type.map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or_default()));
    let signals = Signals {
        from: Some(&sender),
        auto_submitted: message.header_raw("Auto-Submitted"),
        precedence: message.header_raw("Precedence"),
        autoresponder_header: message.header_raw("X-Autoreply").is_some()
            || message.header_raw("X-Autorespond").is_some()
            || message
                .header_raw("X-Auto-Response-Suppress")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("all")),
        null_return_path: message
            .header_raw("Return-Path")
            .is_some_and(|v| v.trim() == "<>"),
        content_type: full_type.as_deref(),
        report_type: content_type.and_then(|c| c.attribute("report-type")),
    };
    // Fixpoint's own mail, come back by a forwarding rule or a misdirected reply-to:
    // taking it in would answer it, and so on for ever.
    let own = mail::ticket_of_message_id(&message_id, &inbox.domain).is_some()
        || inbox.own_address.as_deref() == Some(sender.as_str());
    if own {
        return set_aside(
            message_id,
            Some(sender),
            subject,
            Aside::Ignored,
            "a message Fixpoint sent came back".into(),
        )
        .await;
    }
    if let Some(why) = mail::automatic(&signals) {
        return set_aside(
            message_id,
            Some(sender),
            subject,
            Aside::Ignored,
            why.into(),
        )
        .await;
    }
    let body = message
        .body_text(0)
        .map(|b| b.into_owned())
        .unwrap_or_default();
    let attachments: Vec<NewAttachment> = message
        .attachments()
        .filter(|part| !part.is_message())
        .map(|part| NewAttachment {
            filename: part.attachment_name().unwrap_or("attachment").to_owned(),
            content_type: part
                .content_type()
                .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or_default())),
            content: part.contents().to_vec(),
            note_id: None,
        })
        .collect();
    let mut thread: Vec<String> = Vec::new();
    for header in [message.in_reply_to(), message.references()] {
        if let Some(ids) = header.as_text_list() {
            thread.extend(ids.iter().map(|id| bracketed(id)));
        }
    }
    let display_name = from.and_then(|a| a.name()).map(str::to_owned);
    // The language the sender writes in, as their mail client declares it.
    let language = message
        .header_raw("Content-Language")
        .and_then(|v| v.split(',').next())
        .and_then(mail::language_tag);
    let actor = format!("{}{sender}", mail::MAIL_ACTOR_PREFIX);

    let mut tx = store.write().await?;
    // Checked again where writers meet: the same message delivered twice at once.
    if rows::inbound_by_message_id(&mut tx, &message_id)
        .await?
        .is_some()
    {
        return Ok(Received::duplicate(message_id));
    }
    let written = async {
    let answered = answered_ticket(&mut tx, inbox, &thread, subject.as_deref()).await?;
    let contact = find_contact(&mut tx, &sender).await?;
    let (outcome, ticket, note) = match answered {
        Some(ticket_id) => {
            let ticket = fixpoint_store::tickets::get(&mut tx, ticket_id).await?;
            let author = contact
                .filter(|(_, company)| ticket.as_ref().is_some_and(|t| t.company_id == *company))
                .map(|(id, _)| id);
            let note = NewNote {
                title: subject.as_deref().map(|s| mail::fit(s, NOTE_TITLE_MAX)),
                body: mail::fit(&nonempty(mail::reply_text(&body)), NOTE_BODY_MAX),
                visibility: Visibility::External,
                contact_id: author,
                ..Default::default()
            };
            let note =
                super::tickets::note_in(store, &mut tx, &actor, ticket_id, note, now).await?;
            ("appended", ticket_id, Some(note.id))
        }
        None => {
            let (company, contact, queue) = match contact {
                Some((contact, company)) => (company, contact, None),
                None => {
                    place_stranger(&mut tx, &sender, (display_name.as_deref(), language), now)
                        .await?
                }
            };
            let new = NewTicket {
                title: mail::fit(
                    subject
                        .as_deref()
                        .filter(|s| !s.is_empty())
                        .unwrap_or("(no subject)"),
                    fixpoint_core::ticket::TITLE_MAX,
                ),
                description: Some(mail::fit(body.trim(), fixpoint_core::ticket::DESCRIPTION_MAX))
                    .filter(|b| !b.is_empty()),
                company_id: company,
                contact_id: Some(contact),
                queue_id: queue,
                source: Some(Source::Email),
                ..Default::default()
            };
            let created = super::tickets::create_in(store, &mut tx, &actor, new, now).await?;
            ("created", created.view.ticket.id, None)
        }
    };
    for attachment in attachments {
        let attachment = NewAttachment {
            note_id: note,
            ..attachment
        };
        if let Err(e) = super::attachments::add_in(&mut tx, &actor, ticket, attachment, now).await {
            tracing::warn!(%message_id, error = %e, "an attachment of a received message was not kept");
        }
    }
    Ok::<_, ServiceError>((outcome, ticket, note))
    }
    .await;
    let (outcome, ticket, note) = match written {
        Ok(written) => written,
        // Nothing a retry would change (a field the core refuses): kept aside with the
        // reason rather than refused, so the sending server does not retry for ever.
        Err(ServiceError::Domain(e)) => {
            drop(tx);
            let reason = format!("the message could not become a ticket or a note: {e}");
            return set_aside(
                message_id,
                Some(sender),
                subject,
                Aside::Quarantined,
                reason,
            )
            .await;
        }
        Err(e) => return Err(e),
    };
    let entry = InboundMessage {
        id: 0,
        message_id: message_id.clone(),
        sender: Some(sender),
        subject,
        outcome: outcome.into(),
        reason: None,
        ticket_id: Some(ticket),
        note_id: note,
        size: raw.len() as i64,
        received_at: now,
    };
    match rows::insert_inbound(&mut tx, &entry, None).await {
        Ok(_) => {}
        // The same message, delivered twice at once to two servers: the other won.
        Err(e) if e.is_unique_violation() => {
            drop(tx);
            return Ok(Received::duplicate(message_id));
        }
        Err(e) => return Err(e.into()),
    }
    let number = fixpoint_store::tickets::get(&mut tx, ticket)
        .await?
        .map(|t| t.number);
    Store::commit(tx).await?;
    Ok(Received {
        outcome: outcome.into(),
        reason: None,
        message_id,
        ticket_id: Some(ticket),
        ticket_number: number,
    })
}

fn nonempty(s: String) -> String {
    if s.trim().is_empty() {
        "(empty message)".into()
    } else {
        s
    }
}

/// Why a message became no ticket and no note.
#[derive(Clone, Copy)]
enum Aside {
    /// A machine's message (auto-reply, bounce, list) or Fixpoint's own come back.
    Ignored,
    /// Unreadable or refused: kept whole, with the reason, for an admin to look at.
    Quarantined,
}

/// Records a message set aside, so that the same Message-ID is taken once.
async fn record(
    store: &Store,
    (message_id, sender, subject): (String, Option<String>, Option<String>),
    aside: Aside,
    reason: String,
    raw: &[u8],
    now: Timestamp,
) -> ServiceResult<Received> {
    let outcome = match aside {
        Aside::Ignored => "ignored",
        Aside::Quarantined => "quarantined",
    };
    let entry = InboundMessage {
        id: 0,
        message_id: message_id.clone(),
        sender,
        subject,
        outcome: outcome.into(),
        reason: Some(reason.clone()),
        ticket_id: None,
        note_id: None,
        size: raw.len() as i64,
        received_at: now,
    };
    let keep = matches!(aside, Aside::Quarantined).then(|| raw.to_vec());
    let mut tx = store.write().await?;
    match rows::insert_inbound(&mut tx, &entry, keep).await {
        Ok(_) => Store::commit(tx).await?,
        Err(e) if e.is_unique_violation() => {
            return Ok(Received::duplicate(message_id));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Received {
        outcome: outcome.into(),
        reason: Some(reason),
        message_id,
        ticket_id: None,
        ticket_number: None,
    })
}

/// The ticket a message answers: by its thread (a message Fixpoint sent or received
/// about the ticket), else by the ticket number in its subject.
async fn answered_ticket(
    tx: &mut Conn,
    inbox: &Inbox,
    thread: &[String],
    subject: Option<&str>,
) -> ServiceResult<Option<TicketId>> {
    for id in thread.iter().rev() {
        if let Some(ticket) = mail::ticket_of_thread_id(id, &inbox.domain)
            && fixpoint_store::tickets::get(tx, TicketId(ticket))
                .await?
                .is_some()
        {
            return Ok(Some(TicketId(ticket)));
        }
    }
    if let Some(ticket) = rows::ticket_of_messages(tx, thread).await? {
        return Ok(Some(ticket));
    }
    match subject.and_then(mail::ticket_number_in_subject) {
        Some(number) => Ok(rows::ticket_by_number(tx, number).await?),
        None => Ok(None),
    }
}

/// The active contact with this address, and their company.
async fn find_contact(
    tx: &mut Conn,
    sender: &str,
) -> ServiceResult<Option<(ContactId, CompanyId)>> {
    let filter = PartyFilter {
        email: Some(sender.to_owned()),
        active: Some(true),
        ..Default::default()
    };
    let found = parties::contacts(
        tx,
        &filter,
        &parties::Page {
            after: None,
            limit: 1,
        },
    )
    .await?;
    Ok(found.first().map(|c| (c.id, c.company_id)))
}

const TRIAGE_COMPANY: &str = "mail.triage_company_id";
const TRIAGE_QUEUE: &str = "mail.triage_queue_id";

/// A sender who is no one's contact: a new contact of the company whose website has
/// the sender's domain; otherwise of the "Unknown senders" company, with the ticket
/// in the "Email triage" queue (both made on first need, then found by id).
async fn place_stranger(
    tx: &mut Conn,
    sender: &str,
    (name, language): (Option<&str>, Option<String>),
    now: Timestamp,
) -> ServiceResult<(CompanyId, ContactId, Option<QueueId>)> {
    let mut company = None;
    if let Some(domain) = mail::domain_of(sender) {
        for (id, website) in rows::companies_by_website(tx, &domain).await? {
            if mail::website_domain(&website).as_deref() == Some(domain.as_str()) {
                company = Some(CompanyId(id));
                break;
            }
        }
    }
    let (company, queue) = match company {
        Some(company) => (company, None),
        None => (
            triage_company(tx, now).await?,
            Some(triage_queue(tx).await?),
        ),
    };
    let (first_name, last_name) = mail::contact_names(name, sender);
    let contact = NewContact {
        company_id: company,
        first_name,
        last_name,
        email: Some(sender.to_owned()),
        phone: None,
        language,
        active: true,
    };
    let contact = super::parties::add_contact(tx, contact).await?;
    Ok((company, contact.id, queue))
}

async fn triage_company(tx: &mut Conn, now: Timestamp) -> ServiceResult<CompanyId> {
    if let Some(id) = rows::setting(tx, TRIAGE_COMPANY)
        .await?
        .and_then(|v| v.parse().ok())
        && parties::company(tx, CompanyId(id)).await?.is_some()
    {
        return Ok(CompanyId(id));
    }
    let company = fixpoint_core::parties::Company {
        id: CompanyId::default(),
        name: "Unknown senders".into(),
        parent_company_id: None,
        phone: None,
        website: None,
        active: true,
        created_at: now,
    };
    let id = parties::insert_company(tx, &company).await?;
    rows::put_setting(tx, TRIAGE_COMPANY, &id.0.to_string()).await?;
    Ok(id)
}

async fn triage_queue(tx: &mut Conn) -> ServiceResult<QueueId> {
    if let Some(id) = rows::setting(tx, TRIAGE_QUEUE)
        .await?
        .and_then(|v| v.parse().ok())
        && parties::queue(tx, QueueId(id)).await?.is_some()
    {
        return Ok(QueueId(id));
    }
    let id = parties::insert_queue(
        tx,
        &NewQueue {
            name: "Email triage".into(),
            active: true,
            sla_policy_id: None,
        },
    )
    .await?;
    rows::put_setting(tx, TRIAGE_QUEUE, &id.0.to_string()).await?;
    Ok(id)
}

pub async fn messages(
    store: &Store,
    outcome: Option<&str>,
    limit: u64,
) -> ServiceResult<Vec<InboundMessage>> {
    let mut conn = store.read().await?;
    Ok(rows::inbound(&mut conn, outcome, limit).await?)
}

pub async fn raw(store: &Store, id: i64) -> ServiceResult<Vec<u8>> {
    let mut conn = store.read().await?;
    Ok(rows::inbound_raw(&mut conn, id)
        .await?
        .ok_or_else(|| fixpoint_core::DomainError::not_found("quarantined message", id))?)
}
