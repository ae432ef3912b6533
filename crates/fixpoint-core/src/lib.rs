//! Fixpoint's domain: the entities an MSP service desk works with and every rule
//! that decides what may happen to them. Pure: no I/O, no HTTP, no SQL, no vendor.

pub mod attachment;
pub mod calendar;
pub mod catalog;
pub mod error;
pub mod escalation;
pub mod filter;
pub mod ids;
pub mod mail;
pub mod metrics;
pub mod parties;
pub mod query;
pub mod rules;
pub mod similar;
pub mod sla;
pub mod ticket;
pub mod time_entry;
pub mod webhook;
pub mod workflow;

pub use error::{DomainError, ErrorCode, Violation, Warning};
