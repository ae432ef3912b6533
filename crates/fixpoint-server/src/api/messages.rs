//! Webhooks (`/webhooks`), mail sent about a ticket, mail received (`/mail/inbound`),
//! mail templates and who hears of an escalation. All but a ticket's mail are an admin's.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use fixpoint_core::ErrorCode;
use fixpoint_core::ids::TicketId;
use fixpoint_store::messages::{Delivery, InboundMessage, MailMessage, TemplateRow, Webhook};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Id, Query, limit};
use crate::app::AppState;
use crate::auth::Caller;
use crate::errors::{ApiError, ApiResult, Problem};
use crate::json::Json;
use crate::service::inbound::{self, Received};
use crate::service::mail::{self, Template};
use crate::service::webhooks::{self, NewWebhook, WebhookPatch};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(redeliver))
        .routes(routes!(ticket_mail))
        .routes(routes!(receive, list_inbound))
        .routes(routes!(inbound_raw))
        .routes(routes!(list_templates))
        .routes(routes!(put_template, reset_template))
        .routes(routes!(set_escalation_notify))
        .layer(axum::extract::DefaultBodyLimit::max(
            fixpoint_core::mail::MAX_INBOUND_BYTES + 64 * 1024,
        ))
}

/// Subscribe a URL to events. Deliveries are POSTs of `{id, type, created_at, data}`
/// signed in `Fixpoint-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
#[utoipa::path(post, path = "/webhooks", tag = "messages", request_body = NewWebhook,
    responses((status = 201, body = Webhook), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn create_webhook(
    State(s): State<AppState>,
    caller: Caller,
    Json(new): Json<NewWebhook>,
) -> ApiResult<(StatusCode, axum::Json<Webhook>)> {
    caller.require_admin()?;
    let hook = webhooks::create(&s.store, &s.messaging.webhook_policy, new, s.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(hook)))
}

#[utoipa::path(get, path = "/webhooks", tag = "messages", responses((status = 200, body = Vec<Webhook>)), security(("api_key" = [])))]
async fn list_webhooks(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<Webhook>>> {
    caller.require_admin()?;
    Ok(axum::Json(webhooks::list(&s.store).await?))
}

#[utoipa::path(get, path = "/webhooks/{id}", tag = "messages", params(("id" = i64, Path)),
    responses((status = 200, body = Webhook), (status = 404, body = Problem, content_type = "application/problem+json")), security(("api_key" = [])))]
async fn get_webhook(
    State(s): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<Webhook>> {
    caller.require_admin()?;
    Ok(axum::Json(webhooks::get(&s.store, id).await?))
}

/// Change a webhook; `{"active": true}` switches one that failed too often back on.
#[utoipa::path(patch, path = "/webhooks/{id}", tag = "messages", params(("id" = i64, Path)), request_body = WebhookPatch,
    responses((status = 200, body = Webhook), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn update_webhook(
    State(s): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(patch): Json<WebhookPatch>,
) -> ApiResult<axum::Json<Webhook>> {
    caller.require_admin()?;
    Ok(axum::Json(
        webhooks::update(&s.store, &s.messaging.webhook_policy, id, patch, s.now()).await?,
    ))
}

#[utoipa::path(delete, path = "/webhooks/{id}", tag = "messages", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")), security(("api_key" = [])))]
async fn delete_webhook(
    State(s): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    caller.require_admin()?;
    webhooks::delete(&s.store, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LimitParams {
    /// At most 500; 50 when omitted.
    pub limit: Option<u64>,
}

/// The delivery log: each event sent to this webhook, its attempts and last answer.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "messages", params(("id" = i64, Path), LimitParams),
    responses((status = 200, body = Vec<Delivery>), (status = 404, body = Problem, content_type = "application/problem+json")), security(("api_key" = [])))]
async fn list_deliveries(
    State(s): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Query(p): Query<LimitParams>,
) -> ApiResult<axum::Json<Vec<Delivery>>> {
    caller.require_admin()?;
    Ok(axum::Json(
        webhooks::deliveries(&s.store, id, limit(p.limit)?).await?,
    ))
}

/// Send a delivery again (its attempts start over).
#[utoipa::path(post, path = "/webhooks/{id}/deliveries/{delivery}/retry", tag = "messages", params(("id" = i64, Path), ("delivery" = i64, Path)),
    responses((status = 202), (status = 404, body = Problem, content_type = "application/problem+json")), security(("api_key" = [])))]
async fn redeliver(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, delivery)): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    caller.require_admin()?;
    webhooks::redeliver(&s.store, id, delivery, s.now()).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Mail written about a ticket, oldest first, with its threading headers and state.
#[utoipa::path(get, path = "/tickets/{id}/mail", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<MailMessage>)), security(("api_key" = [])))]
async fn ticket_mail(
    State(s): State<AppState>,
    _caller: Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<Vec<MailMessage>>> {
    Ok(axum::Json(
        mail::mail_of_ticket(&s.store, TicketId(id)).await?,
    ))
}

/// Take in one raw RFC 822 message (for a mail server that posts instead of piping):
/// it becomes a ticket or a note, or is ignored or quarantined, as the outcome says.
#[utoipa::path(post, path = "/mail/inbound", tag = "messages", request_body(content = Vec<u8>, content_type = "message/rfc822"),
    responses((status = 200, body = Received), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 413, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn receive(
    State(s): State<AppState>,
    caller: Caller,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<axum::Json<Received>> {
    caller.require_admin()?;
    let raw = body.map_err(|e| {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "a message may be at most {} bytes: {e}",
                fixpoint_core::mail::MAX_INBOUND_BYTES
            ),
        )
    })?;
    let inbox = s.messaging.inbox();
    Ok(axum::Json(
        inbound::receive(&s.store, &inbox, &raw, s.now()).await?,
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboundParams {
    /// created, appended, ignored or quarantined
    pub outcome: Option<String>,
    /// At most 500; 50 when omitted.
    pub limit: Option<u64>,
}

/// Messages received, newest first: what became of each, and why.
#[utoipa::path(get, path = "/mail/inbound", tag = "messages", params(InboundParams),
    responses((status = 200, body = Vec<InboundMessage>), (status = 422, body = Problem, content_type = "application/problem+json")), security(("api_key" = [])))]
async fn list_inbound(
    State(s): State<AppState>,
    caller: Caller,
    Query(p): Query<InboundParams>,
) -> ApiResult<axum::Json<Vec<InboundMessage>>> {
    caller.require_admin()?;
    if let Some(outcome) = &p.outcome
        && !matches!(
            outcome.as_str(),
            "created" | "appended" | "ignored" | "quarantined"
        )
    {
        return Err(ApiError::field(
            "outcome",
            ErrorCode::InvalidField,
            format!("'{outcome}' is not an outcome; use created, appended, ignored or quarantined"),
        ));
    }
    Ok(axum::Json(
        inbound::messages(&s.store, p.outcome.as_deref(), limit(p.limit)?).await?,
    ))
}

/// The raw bytes of a quarantined message.
#[utoipa::path(get, path = "/mail/inbound/{id}/raw", tag = "messages", params(("id" = i64, Path)),
    responses((status = 200, content_type = "message/rfc822"), (status = 404, body = Problem, content_type = "application/problem+json")), security(("api_key" = [])))]
async fn inbound_raw(State(s): State<AppState>, caller: Caller, Id(id): Id) -> ApiResult<Response> {
    caller.require_admin()?;
    let raw = inbound::raw(&s.store, id).await?;
    Ok(([(header::CONTENT_TYPE, "message/rfc822")], raw).into_response())
}

/// The mail templates in use (minijinja: `{{ ticket.number }}`, `{{ contact.first_name }}`,
/// `{{ note.body }}`, `{{ escalation.level }}`, `{{ reply_above }}` …).
#[utoipa::path(get, path = "/mail/templates", tag = "messages", responses((status = 200, body = Vec<Template>)), security(("api_key" = [])))]
async fn list_templates(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<Template>>> {
    caller.require_admin()?;
    Ok(axum::Json(mail::templates(&s.store).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LanguageParams {
    /// The readers' language (`de`, `pt-BR`); `en` when omitted.
    pub language: Option<String>,
}

/// Replace a template (acknowledgment, public_note, resolution, escalation), or add
/// a translation with `?language=de`; it must render with sample values or the part
/// at fault is named (422). A contact with a language gets that translation.
#[utoipa::path(put, path = "/mail/templates/{name}", tag = "messages", params(("name" = String, Path), LanguageParams), request_body = TemplateBody,
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn put_template(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(p): Query<LanguageParams>,
    Json(body): Json<TemplateBody>,
) -> ApiResult<StatusCode> {
    caller.require_admin()?;
    let row = TemplateRow {
        name,
        language: p.language.unwrap_or_else(|| "en".into()),
        subject: body.subject,
        body_text: body.body_text,
        body_html: body.body_html,
    };
    mail::put_template(&s.store, row, s.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Go back to the built-in template (or drop a translation, with `?language=`).
#[utoipa::path(delete, path = "/mail/templates/{name}", tag = "messages", params(("name" = String, Path), LanguageParams),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")), security(("api_key" = [])))]
async fn reset_template(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(p): Query<LanguageParams>,
) -> ApiResult<StatusCode> {
    caller.require_admin()?;
    let language = p.language.as_deref().unwrap_or("en");
    mail::reset_template(&s.store, &name, language).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationNotify {
    /// Email addresses told when a ticket reaches this rule's level.
    pub notify: Vec<String>,
}

/// Who is mailed when an escalation rule fires.
#[utoipa::path(put, path = "/escalation-rules/{id}/notify", tag = "sla", params(("id" = i64, Path)), request_body = EscalationNotify,
    responses((status = 200, body = EscalationNotify), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn set_escalation_notify(
    State(s): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(body): Json<EscalationNotify>,
) -> ApiResult<axum::Json<EscalationNotify>> {
    caller.require_admin()?;
    for (i, address) in body.notify.iter().enumerate() {
        fixpoint_core::mail::check_address(&format!("notify[{i}]"), address)?;
    }
    let mut tx = s.store.write().await?;
    if !fixpoint_store::messages::set_rule_notify(&mut tx, id, &body.notify).await? {
        return Err(fixpoint_core::DomainError::not_found("escalation rule", id).into());
    }
    fixpoint_store::Store::commit(tx).await?;
    Ok(axum::Json(body))
}
