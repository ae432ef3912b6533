//! The rules of a ticket's email conversation: which messages are machines talking
//! (never a ticket, never an answer), how a reply finds its ticket, how a sender finds
//! its company, what of a reply is new text, and how Fixpoint's own mail threads.

use crate::error::{DomainError, ErrorCode};

/// Put in every message Fixpoint sends, so that the customer's reply can be cut at it.
pub const REPLY_ABOVE: &str = "##- Please type your reply above this line -##";

/// The largest message accepted; a bigger one is quarantined unread.
pub const MAX_INBOUND_BYTES: usize = 25 * 1024 * 1024;

/// What a received message says about who sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signals<'a> {
    pub from: Option<&'a str>,
    pub auto_submitted: Option<&'a str>,
    pub precedence: Option<&'a str>,
    /// `X-Autoreply`, `X-Autorespond` or `X-Auto-Response-Suppress: All` present.
    pub autoresponder_header: bool,
    /// `Return-Path: <>`: the null sender of bounces and notifications.
    pub null_return_path: bool,
    /// The top-level content type, such as `multipart/report`.
    pub content_type: Option<&'a str>,
    /// The `report-type` parameter of a `multipart/report`.
    pub report_type: Option<&'a str>,
}

/// Why a message is a machine's, or `None` for a person's. Answering a machine makes
/// mail loops; a bounce is not a customer's request.
pub fn automatic(s: &Signals<'_>) -> Option<&'static str> {
    let lower = |v: Option<&str>| v.map(|v| v.trim().to_ascii_lowercase());
    let content_type = lower(s.content_type).unwrap_or_default();
    if content_type == "multipart/report"
        && lower(s.report_type)
            .is_none_or(|t| t == "delivery-status" || t == "disposition-notification")
    {
        return Some("a delivery or read report (multipart/report)");
    }
    if let Some(from) = lower(s.from) {
        let local = from.split('@').next().unwrap_or_default();
        if matches!(local, "mailer-daemon" | "postmaster") {
            return Some("a bounce (sent by the mail system)");
        }
    }
    if lower(s.auto_submitted).is_some_and(|v| v != "no") {
        return Some("an automatic reply (Auto-Submitted)");
    }
    if lower(s.precedence)
        .is_some_and(|v| matches!(v.as_str(), "bulk" | "junk" | "list" | "auto_reply"))
    {
        return Some("bulk or automatic mail (Precedence)");
    }
    if s.autoresponder_header {
        return Some("an automatic reply (X-Autoreply)");
    }
    if s.null_return_path {
        return Some("a notification from the null sender (Return-Path: <>)");
    }
    None
}

/// Who wrote what came in by mail, as notes and history name them.
pub const MAIL_ACTOR_PREFIX: &str = "email:";

/// Whether a note is mailed to the client: client-visible, written by a technician —
/// not by the client, and nothing that came in by mail (a reply from someone who is no
/// contact is not mailed on, or mail would answer mail).
pub fn note_is_mailed(
    visibility: crate::time_entry::Visibility,
    contact_id: Option<crate::ids::ContactId>,
    author: &str,
) -> bool {
    visibility == crate::time_entry::Visibility::External
        && contact_id.is_none()
        && !author.starts_with(MAIL_ACTOR_PREFIX)
}

/// Whether a status change finishes a ticket (into resolved or closed from an open
/// status): the moment the client is sent the resolution.
pub fn finishes(
    from: Option<crate::catalog::StatusCategory>,
    to: Option<crate::catalog::StatusCategory>,
) -> bool {
    let finished = |c: Option<crate::catalog::StatusCategory>| c.is_some_and(|c| !c.is_open());
    finished(to) && !finished(from)
}

/// Text cut to at most `max` characters, ending with a line that says so: a long
/// message still makes its ticket or note.
pub fn fit(text: &str, max: usize) -> String {
    let length = text.chars().count();
    if length <= max {
        return text.to_owned();
    }
    let marker = format!("\n[… cut here: the message was {length} characters]");
    let keep = max.saturating_sub(marker.chars().count());
    text.chars().take(keep).collect::<String>() + &marker
}

/// A new contact's first and last name from a sender: the display name split at its
/// first space; a sender known only by an address is named by its two halves (`pat`
/// of `newclient.example`) until someone corrects it. Each at most 100 characters.
pub fn contact_names(display_name: Option<&str>, sender: &str) -> (String, String) {
    let (local, domain) = sender.rsplit_once('@').unwrap_or((sender, ""));
    let name = display_name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(local);
    let (first, last) = name.split_once(' ').unwrap_or((name, domain));
    let cut = |s: &str| s.trim().chars().take(100).collect::<String>();
    (cut(first), cut(last))
}

/// The ticket number a subject carries, as in `Re: [T20261124.0007] Printer down`.
pub fn ticket_number_in_subject(subject: &str) -> Option<&str> {
    let mut rest = subject;
    while let Some(open) = rest.find("[T") {
        let candidate = &rest[open + 1..];
        if let Some(close) = candidate.find(']') {
            let number = &candidate[..close];
            if is_ticket_number(number) {
                return Some(number);
            }
        }
        rest = &rest[open + 2..];
    }
    None
}

fn is_ticket_number(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('T') else {
        return false;
    };
    let Some((day, sequence)) = digits.split_once('.') else {
        return false;
    };
    day.len() == 8
        && day.bytes().all(|b| b.is_ascii_digit())
        && !sequence.is_empty()
        && sequence.len() <= 9
        && sequence.bytes().all(|b| b.is_ascii_digit())
}

/// The subject of a message about a ticket: its number first, once.
pub fn subject_for(number: &str, text: &str) -> String {
    let text = text.trim();
    if ticket_number_in_subject(text) == Some(number) {
        text.to_owned()
    } else {
        format!("[{number}] {text}")
    }
}

/// The domain of an address, lowercased: `Ann@Acme.Example` → `acme.example`.
pub fn domain_of(address: &str) -> Option<String> {
    let (_, domain) = address.trim().rsplit_once('@')?;
    let domain = domain.trim_end_matches('>').trim().to_ascii_lowercase();
    (!domain.is_empty() && domain.contains('.')).then_some(domain)
}

/// The mail domain a company's website names: `https://www.acme.example/help` →
/// `acme.example`.
pub fn website_domain(website: &str) -> Option<String> {
    let host = website.trim();
    let host = host.split_once("://").map_or(host, |(_, rest)| rest);
    let host = host.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    (host.contains('.') && !host.starts_with('.')).then(|| host.to_owned())
}

/// The new text of a reply: everything above Fixpoint's marker, or above the first
/// quoted block or "On … wrote:" line, without trailing blank lines. A message that is
/// all quote keeps its whole text.
pub fn reply_text(body: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for line in body.lines() {
        let trimmed = line.trim();
        let quote_header = (trimmed.starts_with("On ") && trimmed.ends_with("wrote:"))
            || trimmed == "-----Original Message-----"
            || trimmed.contains(REPLY_ABOVE);
        if quote_header || trimmed.starts_with('>') {
            break;
        }
        kept.push(line);
    }
    let text = kept.join("\n");
    let text = text.trim();
    if text.is_empty() {
        body.trim().to_owned()
    } else {
        text.to_owned()
    }
}

/// A list of recipients from a field such as `emailto`: addresses separated by commas
/// or semicolons, each checked.
pub fn parse_addresses(field: &str, value: &str) -> Result<Vec<String>, DomainError> {
    let mut addresses = Vec::new();
    for (i, part) in value.split([',', ';']).enumerate() {
        let address = part.trim();
        if address.is_empty() {
            continue;
        }
        check_address(&format!("{field}[{i}]"), address)?;
        addresses.push(address.to_owned());
    }
    Ok(addresses)
}

pub fn check_address(field: &str, address: &str) -> Result<(), DomainError> {
    // An address that goes into a header: plausible, and nothing that would end it.
    let valid = address.len() <= 254
        && crate::parties::is_plausible_email(address)
        && !address
            .chars()
            .any(|c| c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"'));
    if valid {
        Ok(())
    } else {
        Err(DomainError::invalid(
            field,
            ErrorCode::InvalidField,
            format!("'{address}' is not an email address (expected name@domain.example)"),
        ))
    }
}

/// A language tag as templates are keyed: the primary language lowercased, a region
/// uppercased (`pt-br` → `pt-BR`); `None` for anything else.
pub fn language_tag(tag: &str) -> Option<String> {
    let tag = tag.trim();
    let (primary, region) = match tag.split_once(['-', '_']) {
        Some((p, r)) => (p, Some(r)),
        None => (tag, None),
    };
    let letters = |s: &str, range: std::ops::RangeInclusive<usize>| {
        range.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic())
    };
    if !letters(primary, 2..=3) {
        return None;
    }
    match region {
        None => Some(primary.to_ascii_lowercase()),
        Some(r) if letters(r, 2..=2) => Some(format!(
            "{}-{}",
            primary.to_ascii_lowercase(),
            r.to_ascii_uppercase()
        )),
        Some(_) => None,
    }
}

/// The templates to try for a reader of `language`, most specific first, ending in
/// English: `pt-BR` → `pt-BR`, `pt`, `en`.
pub fn language_fallbacks(language: Option<&str>) -> Vec<String> {
    let mut tries = Vec::new();
    if let Some(tag) = language.and_then(language_tag) {
        if let Some((primary, _)) = tag.split_once('-') {
            let primary = primary.to_owned();
            tries.push(tag);
            tries.push(primary);
        } else {
            tries.push(tag);
        }
    }
    if !tries.iter().any(|t| t == "en") {
        tries.push("en".into());
    }
    tries
}

/// The `Message-ID` that stands for a ticket's thread: every message Fixpoint sends
/// about the ticket refers to it, so mail clients keep one conversation.
pub fn thread_id(ticket_id: i64, domain: &str) -> String {
    format!("<ticket.{ticket_id}@{domain}>")
}

/// Finds the ticket a thread id names, if it is one of ours.
pub fn ticket_of_thread_id(message_id: &str, domain: &str) -> Option<i64> {
    let (ticket, rest) = ours(message_id, domain)?;
    rest.is_empty().then_some(ticket)
}

/// Finds the ticket a message Fixpoint sent was about (`<ticket.{id}.{unique}@domain>`).
pub fn ticket_of_message_id(message_id: &str, domain: &str) -> Option<i64> {
    let (ticket, rest) = ours(message_id, domain)?;
    (!rest.is_empty()).then_some(ticket)
}

/// The ticket id and what follows it in one of Fixpoint's ids, if this is one.
fn ours<'a>(message_id: &'a str, domain: &str) -> Option<(i64, &'a str)> {
    let inner = message_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    let (local, host) = inner.rsplit_once('@')?;
    if !host.eq_ignore_ascii_case(domain) {
        return None;
    }
    let rest = local.strip_prefix("ticket.")?;
    let (id, unique) = rest.split_once('.').unwrap_or((rest, ""));
    Some((id.parse().ok()?, unique))
}

/// The `Message-ID` of one message Fixpoint sends about a ticket.
pub fn message_id(ticket_id: i64, unique: u64, domain: &str) -> String {
    format!("<ticket.{ticket_id}.{unique:016x}@{domain}>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_not_machines() {
        let person = Signals {
            from: Some("ann@acme.example"),
            auto_submitted: Some("no"),
            content_type: Some("text/plain"),
            ..Default::default()
        };
        assert_eq!(automatic(&person), None);
    }

    #[test]
    fn machines_are_recognised() {
        let cases = [
            Signals {
                auto_submitted: Some("auto-replied"),
                ..Default::default()
            },
            Signals {
                precedence: Some("Bulk"),
                ..Default::default()
            },
            Signals {
                autoresponder_header: true,
                ..Default::default()
            },
            Signals {
                null_return_path: true,
                ..Default::default()
            },
            Signals {
                from: Some("MAILER-DAEMON@mx.example"),
                ..Default::default()
            },
            Signals {
                content_type: Some("multipart/report"),
                report_type: Some("delivery-status"),
                ..Default::default()
            },
        ];
        for case in cases {
            assert!(automatic(&case).is_some(), "{case:?}");
        }
    }

    #[test]
    fn a_subject_names_its_ticket() {
        assert_eq!(
            ticket_number_in_subject("Re: [T20261124.0007] Printer"),
            Some("T20261124.0007")
        );
        assert_eq!(
            ticket_number_in_subject("[Tag] and [T20261124.12]"),
            Some("T20261124.12")
        );
        assert_eq!(ticket_number_in_subject("[T2026.1] no"), None);
        assert_eq!(ticket_number_in_subject("[T20261124.] no"), None);
        assert_eq!(ticket_number_in_subject("Printer"), None);
        assert_eq!(
            subject_for("T20261124.0007", "Printer"),
            "[T20261124.0007] Printer"
        );
        assert_eq!(
            subject_for("T20261124.0007", "Re: [T20261124.0007] Printer"),
            "Re: [T20261124.0007] Printer"
        );
    }

    #[test]
    fn domains() {
        assert_eq!(
            domain_of("Ann@Acme.Example").as_deref(),
            Some("acme.example")
        );
        assert_eq!(domain_of("nobody"), None);
        assert_eq!(
            website_domain("https://www.Acme.example:8443/help?x").as_deref(),
            Some("acme.example")
        );
        assert_eq!(
            website_domain("acme.example").as_deref(),
            Some("acme.example")
        );
        assert_eq!(website_domain("localhost"), None);
    }

    #[test]
    fn a_reply_is_cut_at_the_quote() {
        let body = format!("Still broken.\nThanks\n\n{REPLY_ABOVE}\nold text");
        assert_eq!(reply_text(&body), "Still broken.\nThanks");
        assert_eq!(reply_text("Yes\n\nOn Mon, Ann wrote:\n> hi"), "Yes");
        assert_eq!(reply_text("Fixed\n> quoted"), "Fixed");
        assert_eq!(reply_text("> only a quote"), "> only a quote");
    }

    #[test]
    fn addresses_are_checked() {
        assert_eq!(
            parse_addresses("emailto", "a@x.example; b@y.example,").unwrap(),
            ["a@x.example", "b@y.example"]
        );
        let err = parse_addresses("emailto", "a@x.example, nobody").unwrap_err();
        assert!(format!("{err:?}").contains("emailto[1]"), "{err:?}");
        assert!(check_address("to", "a b@x.example").is_err());
        assert!(check_address("to", "a@localhost").is_err());
    }

    #[test]
    fn which_notes_are_mailed() {
        use crate::time_entry::Visibility::{External, Internal};
        assert!(note_is_mailed(External, None, "apikey:jane"));
        assert!(!note_is_mailed(Internal, None, "apikey:jane"));
        assert!(!note_is_mailed(
            External,
            Some(crate::ids::ContactId(3)),
            "email:ann@x.example"
        ));
        assert!(!note_is_mailed(External, None, "email:it@x.example"));
    }

    #[test]
    fn finishing_moves() {
        use crate::catalog::StatusCategory::{Closed, InProgress, Resolved};
        assert!(finishes(Some(InProgress), Some(Resolved)));
        assert!(!finishes(Some(Resolved), Some(Closed)), "already finished");
        assert!(!finishes(Some(Resolved), Some(InProgress)));
    }

    #[test]
    fn long_text_is_cut_and_says_so() {
        assert_eq!(fit("short", 10), "short");
        let cut = fit(&"x".repeat(100), 60);
        assert_eq!(cut.chars().count(), 60);
        assert!(cut.ends_with("the message was 100 characters]"), "{cut}");
    }

    #[test]
    fn senders_get_names() {
        assert_eq!(
            contact_names(Some("Pat Doe"), "pat@x.example"),
            ("Pat".into(), "Doe".into())
        );
        assert_eq!(
            contact_names(None, "pat@x.example"),
            ("pat".into(), "x.example".into())
        );
        assert_eq!(contact_names(Some("  "), "pat@x.example").0, "pat");
    }

    #[test]
    fn languages() {
        assert_eq!(language_tag("pt_br").as_deref(), Some("pt-BR"));
        assert_eq!(language_tag("DE").as_deref(), Some("de"));
        assert_eq!(language_tag("german"), None);
        assert_eq!(language_tag("de-DEU"), None);
        assert_eq!(language_fallbacks(Some("pt-BR")), ["pt-BR", "pt", "en"]);
        assert_eq!(language_fallbacks(Some("en")), ["en"]);
        assert_eq!(language_fallbacks(None), ["en"]);
        assert_eq!(language_fallbacks(Some("??")), ["en"]);
    }

    #[test]
    fn thread_ids_round_trip() {
        let id = thread_id(42, "msp.example");
        assert_eq!(id, "<ticket.42@msp.example>");
        assert_eq!(ticket_of_thread_id(&id, "MSP.example"), Some(42));
        assert_eq!(ticket_of_thread_id(&id, "other.example"), None);
        assert_eq!(
            ticket_of_thread_id("<abc@msp.example>", "msp.example"),
            None
        );
        let sent = message_id(42, 7, "msp.example");
        assert_eq!(sent, "<ticket.42.0000000000000007@msp.example>");
        assert_eq!(ticket_of_message_id(&sent, "msp.example"), Some(42));
        assert_eq!(ticket_of_thread_id(&sent, "msp.example"), None);
        assert_eq!(ticket_of_message_id(&id, "msp.example"), None);
    }
}
