//! API keys and access tokens remembered between requests on PostgreSQL.
//!
//! Every request checks its credentials. On PostgreSQL that lookup was a round trip and
//! a statement for the server's busiest connection pool: a third of the database's CPU
//! for each ticket created (BENCHMARKS, "2026-12-02 afternoon"). A server
//! remembers what it found for as long as it hears PostgreSQL's word on the
//! `fixpoint_credentials` channel, which a trigger raises on any change to a key or a
//! token (migration 0023), whichever server, CLI or person made it. It forgets
//! everything at each word, when it stops hearing (the listening connection broke:
//! words may have been missed) and after [`REMEMBERED_FOR`] in any case, which bounds
//! what a listener cut off without noticing could serve.
//!
//! SQLite's server is the only process serving its database and reads in-process, so
//! it looks credentials up each time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use sqlx::postgres::{PgConnectOptions, PgListener};

use crate::auth::ApiKeyRecord;

/// PostgreSQL's channel for changes to keys and tokens (migration 0023).
const CHANNEL: &str = "fixpoint_credentials";

/// The longest a lookup is remembered, heard from or not.
pub(crate) const REMEMBERED_FOR: Duration = Duration::from_secs(10);

/// Enough for every key of an installation; past it, all are forgotten and looked up
/// again, so that made-up keys cannot grow the memory.
const REMEMBERED_AT_MOST: usize = 1024;

/// How long the listener waits before connecting again after it failed to.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// What a credential was looked up by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Lookup {
    /// The digest of an API key.
    KeyDigest(String),
    /// An Autotask API user's username.
    ApiUser(String),
    /// The digest of an access token.
    TokenDigest(String),
}

/// What a lookup found: the key, the stored digest of its secret (API users) and when
/// the token it was found by expires (access tokens).
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub record: ApiKeyRecord,
    pub digest: Option<String>,
    pub expires_at: Option<Timestamp>,
}

impl Found {
    /// A key found by itself, with no secret to compare and nothing that expires.
    pub(crate) fn key(record: ApiKeyRecord) -> Self {
        Self {
            record,
            digest: None,
            expires_at: None,
        }
    }
}

#[derive(Default)]
struct Memory {
    /// Whether the listener is connected and listening: only then is anything kept.
    hearing: bool,
    /// Moves at each forgetting, so that a lookup which began before it does not store
    /// what it read.
    generation: u64,
    found: HashMap<Lookup, (Found, Instant)>,
}

#[derive(Default)]
struct Remembered(Mutex<Memory>);

impl Remembered {
    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn forget(&self, hearing: bool) {
        let mut memory = self.lock();
        memory.hearing = hearing;
        memory.generation += 1;
        memory.found.clear();
    }
}

/// Forgets everything when the listener stops, for whatever reason (an error, the
/// runtime it ran on shutting down, the store dropped).
struct StopsHearing(Arc<Remembered>);

impl Drop for StopsHearing {
    fn drop(&mut self) {
        self.0.forget(false);
    }
}

/// The credentials one store remembers, with the task listening for changes to them.
#[derive(Default)]
pub(crate) struct Credentials {
    remembered: Arc<Remembered>,
    listener: OnceLock<tokio::task::AbortHandle>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let memory = self.remembered.lock();
        f.debug_struct("Credentials")
            .field("hearing", &memory.hearing)
            .field("remembered", &memory.found.len())
            .finish()
    }
}

impl Drop for Credentials {
    fn drop(&mut self) {
        if let Some(listener) = self.listener.get() {
            listener.abort();
        }
    }
}

/// Where a lookup stands before it reads: what is remembered, or the generation to
/// store what it reads under.
pub(crate) enum Recall {
    Remembered(Box<Found>),
    Read { generation: u64 },
}

impl Credentials {
    /// What is remembered for `lookup`, starting the listener on PostgreSQL's first
    /// lookup (`postgres` says where it connects; `None` on SQLite, which never listens).
    pub(crate) fn recall(
        &self,
        lookup: &Lookup,
        postgres: impl FnOnce() -> Option<Arc<PgConnectOptions>>,
    ) -> Recall {
        if self.listener.get().is_none()
            && let Some(options) = postgres()
        {
            self.listener.get_or_init(|| {
                tokio::spawn(listen((*options).clone(), self.remembered.clone())).abort_handle()
            });
        }
        let memory = self.remembered.lock();
        match memory.found.get(lookup) {
            Some((found, at)) if memory.hearing && at.elapsed() < REMEMBERED_FOR => {
                Recall::Remembered(Box::new(found.clone()))
            }
            _ => Recall::Read {
                generation: memory.generation,
            },
        }
    }

    /// Keeps what a lookup read, unless something was forgotten since it began.
    pub(crate) fn remember(&self, lookup: Lookup, found: &Found, generation: u64) {
        let mut memory = self.remembered.lock();
        if !memory.hearing || memory.generation != generation {
            return;
        }
        if memory.found.len() >= REMEMBERED_AT_MOST {
            memory.found.clear();
        }
        memory.found.insert(lookup, (found.clone(), Instant::now()));
    }

    /// Forgets everything: after a change this server made, which it must not wait to
    /// hear about.
    pub(crate) fn forget(&self) {
        let mut memory = self.remembered.lock();
        memory.generation += 1;
        memory.found.clear();
    }
}

/// Listens on [`CHANNEL`] for as long as the store lives, reconnecting when the
/// connection breaks.
async fn listen(options: PgConnectOptions, remembered: Arc<Remembered>) {
    let _stops = StopsHearing(remembered.clone());
    // Said once an outage, not at every attempt.
    let mut warned = false;
    loop {
        match listening(&options).await {
            Ok(mut listener) => {
                warned = false;
                remembered.forget(true);
                // `Ok(None)`: the connection broke and was made again; what was said in
                // between is lost.
                while listener.try_recv().await.is_ok() {
                    remembered.forget(true);
                }
                remembered.forget(false);
            }
            Err(e) if !warned => {
                warned = true;
                tracing::warn!(error = %e, "cannot listen for credential changes; looking them up at each request until it can");
            }
            Err(_) => {}
        }
        tokio::time::sleep(RECONNECT_AFTER).await;
    }
}

async fn listening(options: &PgConnectOptions) -> sqlx::Result<PgListener> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(options.clone());
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(id: i64) -> Found {
        Found::key(ApiKeyRecord {
            id,
            name: "k".into(),
            role: "admin".into(),
            created_at: Timestamp::UNIX_EPOCH,
            revoked_at: None,
            username: None,
            integration_code: None,
            client_id: None,
            resource_id: None,
        })
    }

    fn hearing() -> Credentials {
        let credentials = Credentials::default();
        credentials.remembered.forget(true);
        credentials
    }

    fn generation(recall: Recall) -> u64 {
        match recall {
            Recall::Read { generation } => generation,
            Recall::Remembered(_) => panic!("expected a read"),
        }
    }

    #[test]
    fn a_lookup_is_remembered_only_while_changes_are_heard() {
        let lookup = Lookup::KeyDigest("d".into());
        let deaf = Credentials::default();
        let g = generation(deaf.recall(&lookup, || None));
        deaf.remember(lookup.clone(), &found(1), g);
        assert!(matches!(deaf.recall(&lookup, || None), Recall::Read { .. }));

        let credentials = hearing();
        let g = generation(credentials.recall(&lookup, || None));
        credentials.remember(lookup.clone(), &found(1), g);
        assert!(
            matches!(credentials.recall(&lookup, || None), Recall::Remembered(f) if f.record.id == 1)
        );
        credentials.remembered.forget(false);
        assert!(matches!(
            credentials.recall(&lookup, || None),
            Recall::Read { .. }
        ));
    }

    #[test]
    fn a_read_that_began_before_a_forgetting_is_not_kept() {
        let lookup = Lookup::ApiUser("u".into());
        let credentials = hearing();
        let before = generation(credentials.recall(&lookup, || None));
        credentials.forget();
        credentials.remember(lookup.clone(), &found(1), before);
        assert!(matches!(
            credentials.recall(&lookup, || None),
            Recall::Read { .. }
        ));
    }

    #[test]
    fn memory_is_bounded() {
        let credentials = hearing();
        for i in 0..=REMEMBERED_AT_MOST {
            let lookup = Lookup::TokenDigest(i.to_string());
            let g = generation(credentials.recall(&lookup, || None));
            credentials.remember(lookup, &found(i as i64), g);
        }
        assert_eq!(credentials.remembered.lock().found.len(), 1);
    }
}
