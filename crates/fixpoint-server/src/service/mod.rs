//! The use cases. Each loads what the rules need, asks `fixpoint-core`, and writes
//! through `fixpoint-store` in one transaction. Nothing here knows about HTTP or
//! which API dialect a request came in.

pub mod attachments;
pub mod catalog;
pub mod escalation;
pub mod inbound;
pub mod mail;
pub mod outbox;
pub mod parties;
pub mod people;
pub mod reports;
pub mod sla;
pub mod tickets;
pub mod webhooks;

use fixpoint_core::DomainError;
use fixpoint_store::StoreError;

use crate::errors::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Domain(d) => d.into(),
            ServiceError::Store(s) => s.into(),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
