//! Fixpoint's storage. Queries are built once with sea-query and rendered for the
//! backend in [`db`]; this crate holds no business rules, only rows.

pub mod attachments;
pub mod auth;
pub mod catalog;
mod checkpoint;
mod credentials;
pub mod db;
pub mod dialects;
pub mod escalation;
mod group;
pub mod messages;
pub mod parties;
pub mod people;
pub mod query;
pub mod records;
pub mod reference;
pub mod reports;
pub mod search;
pub mod sla;
pub mod tickets;
pub mod transfer;
pub mod work;

pub use db::{Conn, Read, Store, StoreError, Tx, Writes};
