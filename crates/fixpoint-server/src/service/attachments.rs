//! Files on tickets: attach, list, fetch.

use fixpoint_core::DomainError;
use fixpoint_core::attachment::{Attachment, NewAttachment};
use fixpoint_core::ids::{AttachmentId, TicketId};
use fixpoint_core::ticket::FieldChange;
use fixpoint_store::{Store, Writes, attachments, tickets as store_tickets, work};
use jiff::Timestamp;

use super::ServiceResult;

/// Attaches a file to a ticket (and to one of its notes, when given).
pub async fn add(
    store: &Store,
    actor: &str,
    ticket_id: TicketId,
    new: NewAttachment,
    at: Timestamp,
) -> ServiceResult<Attachment> {
    let mut tx = store.write().await?;
    let attachment = add_in(&mut tx, actor, ticket_id, new, at).await?;
    Store::commit(tx).await?;
    Ok(attachment)
}

/// Attaches a file inside a caller's transaction.
pub(crate) async fn add_in(
    tx: &mut fixpoint_store::Conn,
    actor: &str,
    ticket_id: TicketId,
    new: NewAttachment,
    at: Timestamp,
) -> ServiceResult<Attachment> {
    let content_type = new.check()?;
    let ticket = super::tickets::existing_to_change(tx, ticket_id).await?;
    if let Some(note) = new.note_id {
        let on_ticket = work::notes_by_ids(tx, &[note.0])
            .await?
            .first()
            .is_some_and(|n| n.ticket_id == ticket_id);
        if !on_ticket {
            return Err(DomainError::invalid(
                "note_id",
                fixpoint_core::ErrorCode::UnknownReference,
                format!("ticket {ticket_id} has no note {note}"),
            )
            .into());
        }
    }
    let mut attachment = Attachment {
        id: AttachmentId::default(),
        ticket_id,
        note_id: new.note_id,
        filename: new.filename.trim().to_owned(),
        content_type,
        size: new.content.len() as i64,
        author: actor.to_owned(),
        created_at: at,
    };
    attachment.id = attachments::insert(tx, &attachment, new.content).await?;
    let change = FieldChange {
        field: "attachment_added".into(),
        old: None,
        new: Some(attachment.filename.clone()),
    };
    let mut later = Writes::default();
    store_tickets::touch_later(&mut later, ticket_id, at);
    store_tickets::history_later(&mut later, ticket_id, ticket.version, at, actor, &[change]);
    later.run(tx).await?;
    Ok(attachment)
}

/// A ticket's files, oldest first.
pub async fn list(store: &Store, ticket_id: TicketId) -> ServiceResult<Vec<Attachment>> {
    let mut conn = store.read().await?;
    if store_tickets::get(&mut conn, ticket_id).await?.is_none() {
        return Err(DomainError::not_found("ticket", ticket_id).into());
    }
    Ok(attachments::list(&mut conn, ticket_id).await?)
}

/// One file and its bytes.
pub async fn get(store: &Store, id: AttachmentId) -> ServiceResult<(Attachment, Vec<u8>)> {
    let mut conn = store.read().await?;
    Ok(attachments::get(&mut conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("attachment", id))?)
}
