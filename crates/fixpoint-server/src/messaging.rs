//! The outbound side's settings and workers: one loop per server dispatches events,
//! delivers webhooks and sends mail; the database's claims keep servers apart.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fixpoint_core::webhook::AddressPolicy;
use fixpoint_store::Store;
use jiff::Timestamp;
use lettre::{AsyncSmtpTransport, Tokio1Executor};

use crate::clock::Clock;
use crate::service::{mail, outbox, webhooks};

/// Mail out: where from, through which server.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `Service Desk <support@msp.example>`
    pub from: String,
    /// The sender's address alone (`support@msp.example`).
    pub address: String,
    /// The domain of Fixpoint's message ids (the sender's).
    pub domain: String,
    /// `smtp://host:25`, `smtp://user:pass@host:587?tls=required` (STARTTLS) or
    /// `smtps://user:pass@host:465` (TLS), as lettre reads them.
    pub smtp_url: String,
    /// The closing line of messages to clients.
    pub signature: String,
}

impl MailSettings {
    /// Checks the sender and the SMTP address once, at start.
    pub fn new(from: &str, smtp_url: &str) -> Result<Self, String> {
        let mailbox: lettre::message::Mailbox = from.parse().map_err(|e| {
            format!("FIXPOINT_MAIL_FROM '{from}' is not a mailbox (Name <user@domain>): {e}")
        })?;
        let domain = mailbox.email.domain().to_ascii_lowercase();
        AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| format!("FIXPOINT_SMTP_URL is not usable: {e}"))?;
        let signature = mailbox
            .name
            .clone()
            .unwrap_or_else(|| "Your service desk".into());
        Ok(Self {
            from: from.to_owned(),
            address: mailbox.email.to_string().to_ascii_lowercase(),
            domain,
            smtp_url: smtp_url.to_owned(),
            signature,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Absent: no mail is written or sent.
    pub mail: Option<MailSettings>,
    pub webhook_policy: AddressPolicy,
}

impl Settings {
    /// What the receiving side needs to know of the sending side.
    pub fn inbox(&self) -> crate::service::inbound::Inbox {
        crate::service::inbound::Inbox {
            domain: self.domain(),
            own_address: self.mail.as_ref().map(|m| m.address.clone()),
        }
    }

    /// The domain Fixpoint's thread ids carry: the sender's, or a fixed one.
    pub fn domain(&self) -> String {
        self.mail
            .as_ref()
            .map_or_else(|| "fixpoint.invalid".into(), |m| m.domain.clone())
    }
}

/// The connections the workers send through, made once.
pub struct Outbound {
    http: reqwest::Client,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

impl Outbound {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("Fixpoint-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(CheckedResolver(settings.webhook_policy)))
            .build()
            .map_err(|e| format!("the webhook HTTP client: {e}"))?;
        let smtp = match &settings.mail {
            Some(m) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(&m.smtp_url)
                    .map_err(|e| format!("FIXPOINT_SMTP_URL: {e}"))?
                    .timeout(Some(Duration::from_secs(30)))
                    .build(),
            ),
            None => None,
        };
        Ok(Self { http, smtp })
    }
}

/// Resolves a webhook's host and keeps only addresses the policy allows, so a name
/// that points at a private address is refused when it is used, not only when saved.
struct CheckedResolver(AddressPolicy);

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| policy.refusal(a.ip()).is_none())
                .collect();
            if allowed.is_empty() {
                let why = found
                    .first()
                    .and_then(|a| policy.refusal(a.ip()))
                    .unwrap_or("no address");
                return Err(format!("{host} resolves to {why}, which deliveries may not reach (FIXPOINT_WEBHOOK_ALLOW)").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    pub dispatched: usize,
    pub delivered: usize,
    pub mailed: usize,
}

/// One round of every outbound job: dispatch events, deliver due webhooks, send due mail.
pub async fn run_once(
    store: &Store,
    settings: &Settings,
    outbound: &Outbound,
    now: Timestamp,
) -> crate::service::ServiceResult<Round> {
    let dispatched = outbox::dispatch(store, settings, now).await?;
    let delivered =
        webhooks::deliver_due(store, &outbound.http, &settings.webhook_policy, now).await?;
    let mailed = match (&settings.mail, &outbound.smtp) {
        (Some(m), Some(smtp)) => mail::send_due(store, m, smtp, now).await?,
        _ => 0,
    };
    Ok(Round {
        dispatched,
        delivered,
        mailed,
    })
}

/// Runs [`run_once`] every `interval` (and again at once while there was work), and
/// forgets dispatched events after a week.
pub fn spawn(
    store: Store,
    clock: Clock,
    settings: Arc<Settings>,
    outbound: Outbound,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_pruned = std::time::Instant::now();
        loop {
            let busy = match run_once(&store, &settings, &outbound, clock.now()).await {
                Ok(round) => round != Round::default(),
                Err(e) => {
                    tracing::warn!(error = %e, "the outbound round failed; retrying next tick");
                    false
                }
            };
            if last_pruned.elapsed() > Duration::from_secs(3600) {
                last_pruned = std::time::Instant::now();
                let week_ago = clock.now() - jiff::SignedDuration::from_hours(24 * 7);
                if let Err(e) = prune(&store, week_ago).await {
                    tracing::warn!(error = %e, "pruning dispatched events failed");
                }
            }
            if !busy {
                tokio::time::sleep(interval).await;
            }
        }
    })
}

async fn prune(store: &Store, before: Timestamp) -> crate::service::ServiceResult<()> {
    let mut tx = store.write().await?;
    fixpoint_store::messages::prune_events(&mut tx, before).await?;
    Store::commit(tx).await?;
    Ok(())
}
