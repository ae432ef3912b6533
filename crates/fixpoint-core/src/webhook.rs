//! Webhook subscriptions: which events exist, which addresses a delivery may reach,
//! and how often a failing receiver is retried before it is switched off.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventType {
    #[serde(rename = "ticket.created")]
    TicketCreated,
    #[serde(rename = "ticket.updated")]
    TicketUpdated,
    #[serde(rename = "note.created")]
    NoteCreated,
    #[serde(rename = "time_entry.created")]
    TimeEntryCreated,
    #[serde(rename = "sla.at_risk")]
    SlaAtRisk,
    #[serde(rename = "sla.breached")]
    SlaBreached,
    #[serde(rename = "ticket.escalated")]
    TicketEscalated,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        Self::TicketCreated,
        Self::TicketUpdated,
        Self::NoteCreated,
        Self::TimeEntryCreated,
        Self::SlaAtRisk,
        Self::SlaBreached,
        Self::TicketEscalated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TicketCreated => "ticket.created",
            Self::TicketUpdated => "ticket.updated",
            Self::NoteCreated => "note.created",
            Self::TimeEntryCreated => "time_entry.created",
            Self::SlaAtRisk => "sla.at_risk",
            Self::SlaBreached => "sla.breached",
            Self::TicketEscalated => "ticket.escalated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// Attempts per delivery before it is given up.
pub const MAX_ATTEMPTS: i64 = 8;

/// What follows a failed attempt to deliver a webhook or send a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryIn(jiff::SignedDuration),
    GiveUp,
}

/// After attempt number `attempts` failed: retry later, or give up when the failure
/// is permanent (a refused address) or the attempts are spent.
pub fn after_failure(attempts: i64, permanent: bool) -> AfterFailure {
    if permanent || attempts >= MAX_ATTEMPTS {
        AfterFailure::GiveUp
    } else {
        AfterFailure::RetryIn(retry_delay(attempts))
    }
}

/// Failed attempts in a row, across deliveries, after which a webhook is switched off
/// until an admin switches it on again.
pub const DISABLE_AFTER_FAILURES: i64 = 10;

/// The wait before attempt `attempts + 1`: 30 s, doubling, at most six hours.
pub fn retry_delay(attempts: i64) -> jiff::SignedDuration {
    let doublings = attempts.clamp(1, 20) - 1;
    let seconds = (30_i64 << doublings).min(6 * 3600);
    jiff::SignedDuration::from_secs(seconds)
}

/// Which networks an admin lets deliveries reach besides the public internet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    pub loopback: bool,
    pub private: bool,
}

impl AddressPolicy {
    /// Why a delivery may not go to `ip`, or `None` when it may.
    pub fn refusal(&self, ip: IpAddr) -> Option<&'static str> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        if ip.is_unspecified() || ip.is_multicast() {
            return Some("an unspecified or multicast address");
        }
        if ip.is_loopback() {
            return (!self.loopback).then_some("a loopback address");
        }
        let private = match ip {
            IpAddr::V4(v4) => {
                let [a, b, ..] = v4.octets();
                v4.is_private()
                    || v4.is_link_local()
                    || v4.is_broadcast()
                    || (a == 100 && (64..128).contains(&b))
                    || a == 0
            }
            IpAddr::V6(v6) => {
                let first = v6.segments()[0];
                (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
            }
        };
        (private && !self.private).then_some("a private or link-local address")
    }
}

/// Checks a subscription's address: http(s), a host, no credentials, and, when the
/// host is an IP literal, an address the policy allows. Names are checked again each
/// time they are resolved.
pub fn check_url(field: &str, url: &str, policy: &AddressPolicy) -> Result<(), DomainError> {
    let refuse = |why: String| Err(DomainError::invalid(field, ErrorCode::InvalidField, why));
    if url.len() > 2000 {
        return refuse("the URL is longer than 2000 characters".into());
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return refuse(format!(
            "'{url}' is not an absolute URL (expected https://host/path)"
        ));
    };
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return refuse(format!(
            "scheme '{scheme}' is not allowed (use https or http)"
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return refuse("the URL may not carry a user name or password".into());
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return refuse(format!("'{url}' names no host"));
    }
    if let Ok(ip) = host.parse::<IpAddr>()
        && let Some(why) = policy.refusal(ip)
    {
        return refuse(format!(
            "{ip} is {why}; deliveries go to public addresses unless an admin allows {why}s (FIXPOINT_WEBHOOK_ALLOW)"
        ));
    }
    Ok(())
}

/// Parses a subscription's event list; `field[i]` names a wrong entry.
pub fn parse_events(field: &str, events: &[String]) -> Result<Vec<EventType>, DomainError> {
    if events.is_empty() {
        return Err(DomainError::invalid(
            field,
            ErrorCode::Required,
            "subscribe to at least one event",
        ));
    }
    let mut parsed = Vec::with_capacity(events.len());
    for (i, name) in events.iter().enumerate() {
        let Some(event) = EventType::parse(name) else {
            let known: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
            return Err(DomainError::invalid(
                format!("{field}[{i}]"),
                ErrorCode::InvalidField,
                format!("unknown event '{name}'; known events: {}", known.join(", ")),
            ));
        };
        if !parsed.contains(&event) {
            parsed.push(event);
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_stop_growing() {
        assert_eq!(retry_delay(1).as_secs(), 30);
        assert_eq!(retry_delay(2).as_secs(), 60);
        assert_eq!(retry_delay(5).as_secs(), 480);
        assert_eq!(retry_delay(30).as_secs(), 6 * 3600);
    }

    #[test]
    fn failures_retry_until_spent_or_permanent() {
        assert_eq!(
            after_failure(1, false),
            AfterFailure::RetryIn(retry_delay(1))
        );
        assert_eq!(after_failure(MAX_ATTEMPTS, false), AfterFailure::GiveUp);
        assert_eq!(after_failure(1, true), AfterFailure::GiveUp);
    }

    #[test]
    fn private_addresses_need_an_admin() {
        let strict = AddressPolicy::default();
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            "100.64.0.1",
        ] {
            assert!(strict.refusal(ip.parse().unwrap()).is_some(), "{ip}");
        }
        assert_eq!(strict.refusal("93.184.216.34".parse().unwrap()), None);
        let loopback = AddressPolicy {
            loopback: true,
            private: false,
        };
        assert_eq!(loopback.refusal("127.0.0.1".parse().unwrap()), None);
        assert!(loopback.refusal("10.0.0.1".parse().unwrap()).is_some());
    }

    #[test]
    fn urls_are_checked() {
        let strict = AddressPolicy::default();
        assert!(check_url("url", "https://hooks.example/in", &strict).is_ok());
        assert!(check_url("url", "https://hooks.example:8443", &strict).is_ok());
        for bad in [
            "ftp://x.example",
            "hooks.example",
            "https://user:pw@x.example",
            "http://127.0.0.1:9/x",
            "http://[::1]/",
            "https:///x",
        ] {
            assert!(check_url("url", bad, &strict).is_err(), "{bad}");
        }
    }

    #[test]
    fn events_are_named() {
        let events = parse_events(
            "events",
            &["ticket.created".into(), "ticket.created".into()],
        )
        .unwrap();
        assert_eq!(events, [EventType::TicketCreated]);
        let err = parse_events(
            "events",
            &["ticket.created".into(), "ticket.deleted".into()],
        )
        .unwrap_err();
        assert!(format!("{err:?}").contains("events[1]"));
        assert!(parse_events("events", &[]).is_err());
    }
}
