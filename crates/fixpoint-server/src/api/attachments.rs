//! Files on a ticket, and the duplicate check of a new ticket.

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fixpoint_core::ErrorCode;
use fixpoint_core::attachment::{ATTACHMENT_BYTES_MAX, Attachment, NewAttachment};
use fixpoint_core::ids::{AttachmentId, CompanyId, NoteId, TicketId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Id, Query};
use crate::app::AppState;
use crate::auth::Caller;
use crate::errors::{ApiError, ApiResult, Problem};
use crate::service::attachments as service;
use crate::service::tickets::{self as tickets, SimilarTicket};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(attach, attachments))
        .routes(routes!(download))
        .routes(routes!(similar))
        // Room for the largest file the core accepts, so that it, not the transport,
        // says what the limit is.
        .layer(axum::extract::DefaultBodyLimit::max(
            ATTACHMENT_BYTES_MAX + 64 * 1024,
        ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AttachParams {
    /// The file's name, e.g. `screenshot.png`.
    pub filename: String,
    /// The note the file belongs with, on the same ticket.
    pub note_id: Option<i64>,
}

/// Attach a file: the request body is the file itself, its `Content-Type` the file's
/// (guessed from the name when absent or `application/octet-stream`). At most 10 MB.
#[utoipa::path(
    post, path = "/tickets/{id}/attachments", tag = "tickets",
    params(("id" = i64, Path, description = "Ticket id"), AttachParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 201, body = Attachment),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than 10 MB", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn attach(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Query(p): Query<AttachParams>,
    request: Request,
) -> ApiResult<(StatusCode, axum::Json<Attachment>)> {
    caller.require_write()?;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.eq_ignore_ascii_case(fixpoint_core::attachment::DEFAULT_CONTENT_TYPE))
        .map(str::to_owned);
    let content = Bytes::from_request(request, &state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("a file may be at most {ATTACHMENT_BYTES_MAX} bytes"),
            )
        } else {
            ApiError::new(
                ErrorCode::MalformedJson,
                format!("the body cannot be read: {e}"),
            )
        }
    })?;
    let new = NewAttachment {
        filename: p.filename,
        content_type,
        note_id: p.note_id.map(NoteId),
        content: content.to_vec(),
    };
    let attachment = service::add(
        &state.store,
        &caller.actor(),
        TicketId(id),
        new,
        state.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(attachment)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentList {
    pub items: Vec<Attachment>,
}

/// A ticket's files, oldest first (without their bytes).
#[utoipa::path(
    get, path = "/tickets/{id}/attachments", tag = "tickets",
    params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 200, body = AttachmentList), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn attachments(
    State(state): State<AppState>,
    _caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<AttachmentList>> {
    let items = service::list(&state.store, TicketId(id)).await?;
    Ok(axum::Json(AttachmentList { items }))
}

/// Download a file, as its content type, always as an attachment (never shown
/// inline, so a stored HTML file cannot run in the API's origin).
#[utoipa::path(
    get, path = "/tickets/{id}/attachments/{attachment_id}", tag = "tickets",
    params(("id" = i64, Path, description = "Ticket id"), ("attachment_id" = i64, Path, description = "Attachment id")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn download(
    State(state): State<AppState>,
    _caller: Caller,
    path: Result<Path<(i64, i64)>, axum::extract::rejection::PathRejection>,
) -> ApiResult<Response> {
    let Path((ticket, id)) = path.map_err(|_| {
        ApiError::field(
            "attachment_id",
            ErrorCode::InvalidField,
            "the ids in the path must be integers",
        )
    })?;
    let (attachment, content) = service::get(&state.store, AttachmentId(id)).await?;
    if attachment.ticket_id != TicketId(ticket) {
        return Err(fixpoint_core::DomainError::not_found("attachment", id).into());
    }
    Ok(file_response(&attachment, content))
}

/// A file as an HTTP response: its type, its name for saving, never sniffed.
pub fn file_response(attachment: &Attachment, content: Vec<u8>) -> Response {
    let mut headers = HeaderMap::new();
    let content_type = HeaderValue::from_str(&attachment.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    let ascii_name: String = attachment
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{ascii_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    (headers, content).into_response()
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SimilarParams {
    pub company_id: i64,
    /// The new ticket's title.
    pub title: String,
    /// At most 50; 5 when omitted.
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimilarList {
    pub items: Vec<SimilarTicket>,
}

/// Open tickets of the company whose title is like this one, most alike first: the
/// duplicate check to run before opening a ticket.
#[utoipa::path(
    get, path = "/tickets/similar", tag = "tickets",
    params(SimilarParams),
    responses((status = 200, body = SimilarList), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn similar(
    State(state): State<AppState>,
    _caller: Caller,
    Query(p): Query<SimilarParams>,
) -> ApiResult<axum::Json<SimilarList>> {
    let limit = match p.limit {
        None => 5,
        Some(n @ 1..=50) => n,
        Some(n) => {
            return Err(ApiError::field(
                "limit",
                ErrorCode::OutOfRange,
                format!("limit is {n}; it must be 1 to 50"),
            ));
        }
    };
    if p.title.trim().is_empty() {
        return Err(ApiError::field(
            "title",
            ErrorCode::Required,
            "the title to compare is required",
        ));
    }
    let items = tickets::similar(
        &state.store,
        CompanyId(p.company_id),
        &p.title,
        limit,
        state.now(),
    )
    .await?;
    Ok(axum::Json(SimilarList { items }))
}
