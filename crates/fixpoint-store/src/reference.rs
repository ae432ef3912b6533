//! The catalogue and the SLA set-up, kept in memory between requests. Every write
//! and list needs them; they change only when an admin edits them. A one-row token,
//! changed by triggers on every edit (on any server), says when to reload.

use std::sync::{Arc, RwLock};

use fixpoint_core::catalog::Catalog;
use fixpoint_core::sla::SlaPolicy;
use sea_query::{Expr, ExprTrait, Query};

use crate::db::{Conn, Result, fetch_scalar};
use crate::sla::NamedCalendar;

/// The catalogue and SLA set-up as of one token.
#[derive(Debug)]
pub struct Reference {
    pub token: i64,
    pub catalog: Catalog,
    pub policies: Vec<SlaPolicy>,
    pub calendars: Vec<NamedCalendar>,
}

#[derive(Debug, Default)]
pub(crate) struct ReferenceCache(RwLock<Option<Arc<Reference>>>);

impl ReferenceCache {
    /// The reference data as `conn` sees it: from memory when the token has not moved.
    pub(crate) async fn get(&self, conn: &mut Conn) -> Result<Arc<Reference>> {
        let token = fetch_scalar(
            conn,
            Query::select()
                .column("token")
                .from("reference_version")
                .and_where(Expr::col("id").eq(1)),
        )
        .await?;
        if let Some(cached) = self.current().filter(|r| r.token == token) {
            return Ok(cached);
        }
        let loaded = Arc::new(Reference {
            token,
            catalog: crate::catalog::load(conn).await?,
            policies: crate::sla::policies(conn).await?,
            calendars: crate::sla::calendars(conn).await?,
        });
        if let Ok(mut slot) = self.0.write() {
            *slot = Some(loaded.clone());
        }
        Ok(loaded)
    }

    fn current(&self) -> Option<Arc<Reference>> {
        self.0.read().ok().and_then(|slot| slot.clone())
    }
}
