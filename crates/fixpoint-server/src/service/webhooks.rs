//! Webhook subscriptions and their delivery: signed, retried with back-off, switched
//! off after repeated failure, and never sent to an address the admin has not allowed.

use fixpoint_core::webhook::{
    self, AddressPolicy, AfterFailure, DISABLE_AFTER_FAILURES, check_url, parse_events,
};
use fixpoint_core::{DomainError, ErrorCode};
use fixpoint_store::Store;
use fixpoint_store::messages::{self as rows, Attempt, Delivery, Webhook};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde::Deserialize;
use sha2::Sha256;

use super::ServiceResult;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    pub url: String,
    /// Event types: ticket.created, ticket.updated, note.created, time_entry.created,
    /// sla.at_risk, sla.breached, ticket.escalated.
    pub events: Vec<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<Option<String>>,
    /// `true` switches a webhook that failed too often back on.
    pub active: Option<bool>,
    /// `true` replaces the signing secret.
    #[serde(default)]
    pub rotate_secret: bool,
}

fn new_secret() -> String {
    format!("whsec_{:032x}", rand::random::<u128>())
}

fn check_description(d: &Option<String>) -> Result<(), DomainError> {
    match d {
        Some(d) if d.chars().count() > 500 => Err(DomainError::invalid(
            "description",
            ErrorCode::TooLong,
            "at most 500 characters",
        )),
        _ => Ok(()),
    }
}

fn event_names(events: &[String]) -> Result<Vec<String>, DomainError> {
    Ok(parse_events("events", events)?
        .into_iter()
        .map(|e| e.as_str().to_owned())
        .collect())
}

pub async fn create(
    store: &Store,
    policy: &AddressPolicy,
    new: NewWebhook,
    now: Timestamp,
) -> ServiceResult<Webhook> {
    check_url("url", new.url.trim(), policy)?;
    check_description(&new.description)?;
    let mut hook = Webhook {
        id: 0,
        url: new.url.trim().to_owned(),
        secret: new_secret(),
        events: event_names(&new.events)?,
        description: new.description,
        active: true,
        consecutive_failures: 0,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
    };
    let mut tx = store.write().await?;
    hook.id = rows::insert_webhook(&mut tx, &hook).await?;
    Store::commit(tx).await?;
    Ok(hook)
}

pub async fn get(store: &Store, id: i64) -> ServiceResult<Webhook> {
    let mut conn = store.read().await?;
    Ok(rows::webhook(&mut conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("webhook", id))?)
}

pub async fn list(store: &Store) -> ServiceResult<Vec<Webhook>> {
    let mut conn = store.read().await?;
    Ok(rows::webhooks(&mut conn, false).await?)
}

pub async fn update(
    store: &Store,
    policy: &AddressPolicy,
    id: i64,
    patch: WebhookPatch,
    now: Timestamp,
) -> ServiceResult<Webhook> {
    let mut tx = store.write().await?;
    let mut hook = rows::webhook(&mut tx, id)
        .await?
        .ok_or_else(|| DomainError::not_found("webhook", id))?;
    if let Some(url) = patch.url {
        check_url("url", url.trim(), policy)?;
        hook.url = url.trim().to_owned();
    }
    if let Some(events) = patch.events {
        hook.events = event_names(&events)?;
    }
    if let Some(description) = patch.description {
        check_description(&description)?;
        hook.description = description;
    }
    if let Some(active) = patch.active {
        hook.active = active;
        if active {
            hook.consecutive_failures = 0;
            hook.disabled_reason = None;
        }
    }
    if patch.rotate_secret {
        hook.secret = new_secret();
    }
    hook.updated_at = now;
    rows::update_webhook(&mut tx, &hook).await?;
    Store::commit(tx).await?;
    Ok(hook)
}

pub async fn delete(store: &Store, id: i64) -> ServiceResult<()> {
    let mut tx = store.write().await?;
    if !rows::delete_webhook(&mut tx, id).await? {
        return Err(DomainError::not_found("webhook", id).into());
    }
    Store::commit(tx).await?;
    Ok(())
}

pub async fn deliveries(store: &Store, id: i64, limit: u64) -> ServiceResult<Vec<Delivery>> {
    get(store, id).await?;
    let mut conn = store.read().await?;
    Ok(rows::deliveries(&mut conn, id, limit).await?)
}

pub async fn redeliver(store: &Store, id: i64, delivery: i64, now: Timestamp) -> ServiceResult<()> {
    let mut tx = store.write().await?;
    if !rows::retry_delivery(&mut tx, id, delivery, now).await? {
        return Err(
            DomainError::not_found("delivery", format!("{delivery} of webhook {id}")).into(),
        );
    }
    Store::commit(tx).await?;
    Ok(())
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the receiver recomputes it
/// with the secret and refuses an old `t`, so a captured delivery cannot be replayed.
pub fn signature(secret: &str, at: Timestamp, body: &str) -> String {
    let t = at.as_second();
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{t}.{body}").as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// How long a claimed delivery is another server's: past the request's timeout.
const LEASE: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// The largest answer read from a receiver.
const RESPONSE_LIMIT: usize = 64 * 1024;

/// Delivers due events; returns how many receivers acknowledged.
pub async fn deliver_due(
    store: &Store,
    http: &reqwest::Client,
    policy: &AddressPolicy,
    now: Timestamp,
) -> ServiceResult<usize> {
    if !rows::any_due(&mut store.read().await?, "webhook_deliveries", now).await? {
        return Ok(0);
    }
    let due = {
        let mut tx = store.write().await?;
        let due = rows::claim::<Delivery>(&mut tx, now, now + LEASE, 50).await?;
        Store::commit(tx).await?;
        due
    };
    let mut delivered = 0;
    for delivery in due {
        let Some(hook) = ({
            let mut conn = store.read().await?;
            rows::webhook(&mut conn, delivery.webhook_id).await?
        }) else {
            continue;
        };
        let result = if hook.active {
            post(http, policy, &hook, &delivery, now).await
        } else {
            Err((None, "the webhook is switched off".to_owned()))
        };
        let attempt = match &result {
            Ok(status) => Attempt {
                status: Some(*status),
                error: None,
                state: "delivered",
                next_attempt_at: now,
            },
            // A switched-off webhook's deliveries are given up at once.
            Err((status, error)) => {
                let (state, next_attempt_at) =
                    match webhook::after_failure(delivery.attempts, !hook.active) {
                        AfterFailure::RetryIn(delay) => ("pending", now + delay),
                        AfterFailure::GiveUp => ("failed", now),
                    };
                Attempt {
                    status: *status,
                    error: Some(error.clone()),
                    state,
                    next_attempt_at,
                }
            }
        };
        let mut tx = store.write().await?;
        rows::record_attempt(&mut tx, delivery.id, &attempt, now).await?;
        if hook.active
            && let Some(mut hook) = rows::webhook(&mut tx, hook.id).await?
        {
            if result.is_ok() {
                delivered += 1;
                hook.consecutive_failures = 0;
            } else {
                hook.consecutive_failures += 1;
                if hook.consecutive_failures >= DISABLE_AFTER_FAILURES {
                    hook.active = false;
                    hook.disabled_reason = Some(format!(
                        "switched off after {} failed attempts in a row; the last: {}",
                        hook.consecutive_failures,
                        attempt.error.as_deref().unwrap_or_default()
                    ));
                    tracing::warn!(webhook = hook.id, url = %hook.url, "webhook switched off after repeated failure");
                }
            }
            hook.updated_at = now;
            rows::update_webhook(&mut tx, &hook).await?;
        }
        Store::commit(tx).await?;
    }
    Ok(delivered)
}

async fn post(
    http: &reqwest::Client,
    policy: &AddressPolicy,
    hook: &Webhook,
    delivery: &Delivery,
    now: Timestamp,
) -> Result<i64, (Option<i64>, String)> {
    check_url("url", &hook.url, policy).map_err(|e| (None, e.to_string()))?;
    let response = http
        .post(&hook.url)
        .header("content-type", "application/json")
        .header("fixpoint-event", &delivery.event_type)
        .header("fixpoint-event-id", delivery.event_id.to_string())
        .header("fixpoint-delivery", delivery.id.to_string())
        .header(
            "fixpoint-signature",
            signature(&hook.secret, now, &delivery.payload),
        )
        .body(delivery.payload.clone())
        .send()
        .await
        .map_err(|e| (None, describe(&e)))?;
    let status = i64::from(response.status().as_u16());
    let mut response = response;
    let mut read = 0usize;
    let mut head = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| (Some(status), describe(&e)))?
    {
        read += chunk.len();
        if head.len() < 512 {
            head.extend_from_slice(&chunk[..chunk.len().min(512 - head.len())]);
        }
        if read > RESPONSE_LIMIT {
            break;
        }
    }
    if (200..300).contains(&status) {
        Ok(status)
    } else {
        Err((
            Some(status),
            format!(
                "the receiver answered {status}: {}",
                String::from_utf8_lossy(&head).trim()
            ),
        ))
    }
}

fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_of_time_and_body() {
        let at = Timestamp::from_second(1_700_000_000).unwrap();
        let sig = signature("whsec_test", at, "{\"id\":1}");
        assert!(sig.starts_with("t=1700000000,v1="));
        assert_eq!(sig.len(), "t=1700000000,v1=".len() + 64);
        assert_ne!(sig, signature("whsec_other", at, "{\"id\":1}"));
    }
}
