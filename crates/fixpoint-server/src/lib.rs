//! Fixpoint's HTTP server: the native API under `/api/v1`, its OpenAPI document,
//! authentication, the error table, and the service layer the dialects share.

pub mod api;
pub mod app;
pub mod auth;
pub mod clock;
pub mod errors;
pub mod json;
pub mod messaging;
pub mod rate_limit;
pub mod service;
pub mod smtp;
pub mod testing;
pub mod web;

pub use app::{AppState, router, serve};
pub use clock::Clock;
