//! `/api/Attachment`: a ticket's files. Uploads come as JSON records with the bytes
//! in `data_base64`; a file is read back as JSON too (HaloPSA clients expect JSON
//! from every call), its bytes again in `data_base64`.

use axum::response::Response;
use base64::Engine as _;
use fixpoint_core::attachment::{Attachment, NewAttachment};
use fixpoint_core::ids::{AttachmentId, NoteId, TicketId};
use fixpoint_server::service::attachments as service;
use serde_json::{Map, Value, json};

use super::tickets::at;
use super::{Call, Error, each_record, ok, upserted};
use crate::body::Body;

fn attachment_json(a: &Attachment) -> Value {
    json!({
        "id": a.id.0,
        "ticket_id": a.ticket_id.0,
        "action_id": a.note_id.map(|n| n.0),
        "filename": a.filename,
        "contenttype": a.content_type,
        "filesize": a.size,
        "isimage": a.content_type.starts_with("image/"),
        "datecreated": at(Some(a.created_at)),
        "who": a.author,
    })
}

pub async fn list(call: &Call) -> Result<Response, Error> {
    let ticket = call
        .int("ticket_id")?
        .ok_or_else(|| Error::field("ticket_id", "is required"))?;
    let action = call.int("action_id")?;
    let files: Vec<Value> = service::list(&call.state.store, TicketId(ticket))
        .await?
        .iter()
        .filter(|a| action.is_none_or(|id| a.note_id == Some(NoteId(id))))
        .map(attachment_json)
        .collect();
    ok(json!({"record_count": files.len(), "attachments": files}))
}

pub async fn get(call: &Call, id: i64) -> Result<Response, Error> {
    let (attachment, content) = service::get(&call.state.store, AttachmentId(id)).await?;
    let mut shown = attachment_json(&attachment);
    shown["data_base64"] = json!(base64::engine::general_purpose::STANDARD.encode(content));
    ok(shown)
}

pub async fn upload(call: &Call) -> Result<Response, Error> {
    call.writer()?;
    let records = call.records()?;
    let shown: Vec<Value> = each_record(&records, |record| async move {
        Ok(attachment_json(&upload_one(call, record).await?))
    })
    .await?;
    upserted("attachments", shown, true)
}

async fn upload_one(call: &Call, record: &Map<String, Value>) -> Result<Attachment, Error> {
    let body = Body(record);
    if body.int("id")?.flatten().is_some_and(|id| id > 0) {
        return Err(Error::field(
            "id",
            "an attachment cannot be changed; upload the file again",
        ));
    }
    let ticket = body
        .int("ticket_id")?
        .flatten()
        .ok_or_else(|| Error::field("ticket_id", "is required"))?;
    let encoded = body
        .text("data_base64")?
        .flatten()
        .ok_or_else(|| Error::field("data_base64", "is required: the file, base64-encoded"))?;
    // Some clients send a data URL (`data:image/png;base64,…`).
    let (given_type, encoded) = match encoded
        .strip_prefix("data:")
        .and_then(|d| d.split_once(','))
    {
        Some((meta, data)) => (
            meta.strip_suffix(";base64").map(str::to_owned),
            data.to_owned(),
        ),
        None => (None, encoded),
    };
    let cleaned: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let content = base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .map_err(|e| Error::field("data_base64", format!("is not base64: {e}")))?;
    let new = NewAttachment {
        filename: body
            .text("filename")?
            .flatten()
            .ok_or_else(|| Error::field("filename", "is required"))?,
        content_type: body.text("contenttype")?.flatten().or(given_type),
        note_id: body
            .int("action_id")?
            .flatten()
            .filter(|id| *id > 0)
            .map(NoteId),
        content,
    };
    Ok(service::add(
        &call.state.store,
        &call.actor(),
        TicketId(ticket),
        new,
        call.state.now(),
    )
    .await?)
}
