//! How a dialect numbers Fixpoint's statuses, priorities and ticket types: the
//! admin-editable code tables, read once per request.

use fixpoint_core::catalog::{Catalog, UNNUMBERED_FROM};
use fixpoint_store::Conn;
use fixpoint_store::dialects::{self, CodeKind, DialectCode};

pub struct Numbering(Vec<DialectCode>);

impl Numbering {
    pub async fn load(conn: &mut Conn, dialect: &str) -> Result<Self, fixpoint_store::StoreError> {
        Ok(Self(dialects::codes(conn, dialect).await?))
    }

    /// The vendor's number for a Fixpoint id (1000 + the id when none is set).
    pub fn code(&self, kind: CodeKind, id: i64) -> i64 {
        self.0
            .iter()
            .find(|c| c.kind == kind && c.target_id == id)
            .map_or(UNNUMBERED_FROM + id, |c| c.code)
    }

    /// The Fixpoint id a vendor number stands for.
    pub fn id(&self, catalog: &Catalog, kind: CodeKind, code: i64) -> Option<i64> {
        self.0
            .iter()
            .find(|c| c.kind == kind && c.code == code)
            .map(|c| c.target_id)
            .or_else(|| {
                let id = code - UNNUMBERED_FROM;
                let known = kind.values(catalog).contains(&id);
                let coded = self.0.iter().any(|c| c.kind == kind && c.target_id == id);
                (known && !coded).then_some(id)
            })
    }
}
