//! What technicians add to a ticket as they work: notes and logged time.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorCode, Violations};
use crate::ids::{ContactId, NoteId, ResourceId, TicketId, TimeEntryId};
use crate::parties::Resource;

pub const NOTE_TITLE_MAX: usize = 255;
pub const NOTE_BODY_MAX: usize = 32000;
/// One entry covers at most a day; longer work is logged per day.
pub const ENTRY_MINUTES_MAX: i64 = 24 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Visibility {
    /// Technicians only.
    #[default]
    Internal,
    /// Visible to the client (portal, emails).
    External,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum NoteKind {
    #[default]
    Note,
    Email,
    Phone,
    SiteVisit,
}

/// How the authors of notes Fixpoint writes itself begin (the escalation sweep's
/// `fixpoint:escalation`). Text search leaves these notes out: it finds what people
/// wrote, and a boilerplate line on every escalated ticket would only add noise (and
/// re-index thousands of tickets per sweep).
pub const SYSTEM_AUTHOR_PREFIX: &str = "fixpoint:";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Note {
    pub id: NoteId,
    pub ticket_id: TicketId,
    pub title: Option<String>,
    pub body: String,
    pub visibility: Visibility,
    pub kind: NoteKind,
    /// Who wrote it: the API key's name, or the end user's.
    pub author: String,
    /// The client's contact who wrote it (a customer's reply); none for technicians
    /// and the system.
    pub contact_id: Option<ContactId>,
    pub created_at: Timestamp,
}

impl Note {
    /// Written by Fixpoint itself, not by a person or an integration.
    pub fn is_system(&self) -> bool {
        self.author.starts_with(SYSTEM_AUTHOR_PREFIX)
    }

    /// Written by the client's contact (a reply by e-mail or portal), not by staff.
    pub fn is_by_client(&self) -> bool {
        self.contact_id.is_some()
    }

    /// The first such note meets the first-response target: a technician telling the
    /// client something. A client's own message is not a response to them.
    pub fn responds_to_client(&self) -> bool {
        self.visibility == Visibility::External && !self.is_by_client()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewNote {
    pub title: Option<String>,
    pub body: String,
    #[serde(default)]
    pub visibility: Visibility,
    #[serde(default)]
    pub kind: NoteKind,
    /// Set when the client's contact wrote it (e.g. a reply by e-mail or portal).
    #[serde(default)]
    pub contact_id: Option<ContactId>,
    /// Who else receives a client-visible note by email, besides the ticket's contact.
    #[serde(default)]
    pub email_to: Vec<String>,
    #[serde(default)]
    pub email_cc: Vec<String>,
}

impl NewNote {
    pub fn check(&self) -> Result<(), DomainError> {
        let mut v = Violations::default();
        v.optional_text("title", self.title.as_deref(), NOTE_TITLE_MAX);
        v.required_text("body", &self.body, NOTE_BODY_MAX);
        v.into_result()?;
        for (field, list) in [("email_to", &self.email_to), ("email_cc", &self.email_cc)] {
            for (i, address) in list.iter().enumerate() {
                crate::mail::check_address(&format!("{field}[{i}]"), address)?;
            }
        }
        Ok(())
    }

    /// A contact who writes on a ticket is one of its client's people: the ticket's
    /// company or a parent of it (`client`). `contact` is what `contact_id` names.
    pub fn check_author(
        &self,
        contact: Option<&crate::parties::Contact>,
        client: &[crate::ids::CompanyId],
    ) -> Result<(), DomainError> {
        let Some(id) = self.contact_id else {
            return Ok(());
        };
        match contact {
            None => Err(DomainError::invalid(
                "contact_id",
                ErrorCode::UnknownReference,
                format!("there is no contact {id}"),
            )),
            Some(c) if !client.contains(&c.company_id) => Err(DomainError::invalid(
                "contact_id",
                ErrorCode::ContactNotInCompany,
                format!("contact {id} is not one of this ticket's client's people"),
            )),
            Some(_) => Ok(()),
        }
    }
}

/// A change to a note: only the given fields; `null` clears the title. Who wrote it
/// and when stay as they were.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotePatch {
    #[serde(default, deserialize_with = "crate::ticket::nullable")]
    pub title: Option<Option<String>>,
    pub body: Option<String>,
    pub visibility: Option<Visibility>,
    pub kind: Option<NoteKind>,
}

impl NotePatch {
    /// The note as it would be after this patch, checked like a new note.
    pub fn apply_to(self, note: &Note) -> Result<Note, DomainError> {
        let after = Note {
            title: self.title.unwrap_or_else(|| note.title.clone()),
            body: self.body.unwrap_or_else(|| note.body.clone()),
            visibility: self.visibility.unwrap_or(note.visibility),
            kind: self.kind.unwrap_or(note.kind),
            ..note.clone()
        };
        let mut v = Violations::default();
        v.optional_text("title", after.title.as_deref(), NOTE_TITLE_MAX);
        v.required_text("body", &after.body, NOTE_BODY_MAX);
        v.into_result().map(|()| after)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimeEntry {
    pub id: TimeEntryId,
    pub ticket_id: TicketId,
    pub resource_id: ResourceId,
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub minutes: i64,
    pub billable: bool,
    pub notes: Option<String>,
    /// The note the time was logged with (a HaloPSA action is both), if any.
    pub note_id: Option<NoteId>,
    pub created_at: Timestamp,
}

/// Time is logged either as `started_at` + `ended_at` or as a number of `minutes`
/// (optionally with a `started_at`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewTimeEntry {
    pub resource_id: ResourceId,
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub minutes: Option<i64>,
    #[serde(default = "billable_by_default")]
    pub billable: bool,
    pub notes: Option<String>,
}

fn billable_by_default() -> bool {
    true
}

/// A change to a time entry: only the given fields; `null` clears a time or the notes.
/// A new range without `minutes` recounts the minutes from the range.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimeEntryPatch {
    pub resource_id: Option<ResourceId>,
    #[serde(default, deserialize_with = "crate::ticket::nullable")]
    pub started_at: Option<Option<Timestamp>>,
    #[serde(default, deserialize_with = "crate::ticket::nullable")]
    pub ended_at: Option<Option<Timestamp>>,
    pub minutes: Option<i64>,
    pub billable: Option<bool>,
    #[serde(default, deserialize_with = "crate::ticket::nullable")]
    pub notes: Option<Option<String>>,
}

impl TimeEntryPatch {
    /// The entry as it would be logged after this patch; [`NewTimeEntry::check`] then
    /// judges it whole, as it judged the original.
    pub fn apply_to(self, entry: &TimeEntry) -> NewTimeEntry {
        let started_at = self.started_at.unwrap_or(entry.started_at);
        let ended_at = self.ended_at.unwrap_or(entry.ended_at);
        let ranged = started_at.is_some() && ended_at.is_some();
        NewTimeEntry {
            resource_id: self.resource_id.unwrap_or(entry.resource_id),
            started_at,
            ended_at,
            minutes: self.minutes.or((!ranged).then_some(entry.minutes)),
            billable: self.billable.unwrap_or(entry.billable),
            notes: self.notes.unwrap_or_else(|| entry.notes.clone()),
        }
    }
}

impl NewTimeEntry {
    /// The logged minutes, from the range or the count; both given must agree.
    /// `resource`: the technician named in `resource_id`, as found (none: no such row).
    /// Only an existing, active resource logs time.
    pub fn check(&self, resource: Option<&Resource>) -> Result<i64, DomainError> {
        let mut v = Violations::default();
        match resource {
            None => v.push(
                "resource_id",
                ErrorCode::UnknownReference,
                format!("resource {} does not exist", self.resource_id),
            ),
            Some(r) if !r.active => v.push(
                "resource_id",
                ErrorCode::InactiveValue,
                format!("resource {} is inactive and cannot log time", r.id),
            ),
            Some(_) => {}
        }
        v.optional_text("notes", self.notes.as_deref(), NOTE_BODY_MAX);
        let from_range = match (self.started_at, self.ended_at) {
            (Some(start), Some(end)) => {
                if end <= start {
                    v.push(
                        "ended_at",
                        ErrorCode::TimeRangeInvalid,
                        "ended_at must be after started_at",
                    );
                    None
                } else {
                    Some(minutes_between(start, end))
                }
            }
            (None, Some(_)) => {
                v.push(
                    "started_at",
                    ErrorCode::Required,
                    "ended_at needs started_at",
                );
                None
            }
            _ => None,
        };
        let minutes = match (self.minutes, from_range) {
            (Some(m), Some(r)) if m != r => {
                v.push(
                    "minutes",
                    ErrorCode::TimeRangeInvalid,
                    format!("minutes ({m}) disagrees with started_at..ended_at ({r} minutes); send one or the other"),
                );
                m
            }
            (Some(m), _) => m,
            (None, Some(r)) => r,
            (None, None) => {
                if v.is_empty() {
                    v.push(
                        "minutes",
                        ErrorCode::Required,
                        "give minutes, or started_at and ended_at",
                    );
                }
                0
            }
        };
        let time_flagged = v.has("minutes") || v.has("started_at") || v.has("ended_at");
        if !time_flagged && !(1..=ENTRY_MINUTES_MAX).contains(&minutes) {
            v.push(
                "minutes",
                ErrorCode::OutOfRange,
                format!("a time entry is 1 to {ENTRY_MINUTES_MAX} minutes long"),
            );
        }
        v.into_result().map(|()| minutes)
    }
}

/// Whole minutes, rounded up: a started minute is a worked minute.
fn minutes_between(start: Timestamp, end: Timestamp) -> i64 {
    let secs = end.duration_since(start).as_secs();
    (secs + 59).div_euclid(60)
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BillableSummary {
    pub billable_minutes: i64,
    pub non_billable_minutes: i64,
    pub billable_hours: f64,
    pub non_billable_hours: f64,
}

/// Minutes of work inside and outside the SLA calendar's business hours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaSplit {
    pub on_sla_minutes: i64,
    pub off_sla_minutes: i64,
}

impl SlaSplit {
    /// Splits entries by the calendar. An entry with a start (and an end, or its
    /// minutes after the start) is split by the business time inside it; one logged as
    /// bare minutes has no time of day and counts as on-SLA.
    pub fn of<'a>(
        entries: impl IntoIterator<Item = &'a TimeEntry>,
        calendar: Option<&crate::calendar::Calendar>,
    ) -> Self {
        let mut split = Self::default();
        for e in entries {
            let on = match (calendar, e.started_at) {
                (Some(calendar), Some(start)) => {
                    let end = e
                        .ended_at
                        .unwrap_or(start + jiff::SignedDuration::from_mins(e.minutes));
                    (calendar.between(start, end).as_secs() / 60).min(e.minutes)
                }
                _ => e.minutes,
            };
            split.on_sla_minutes += on;
            split.off_sla_minutes += e.minutes - on;
        }
        split
    }
}

impl BillableSummary {
    pub fn of(entries: &[TimeEntry]) -> Self {
        let (billable, non): (Vec<_>, Vec<_>) = entries.iter().partition(|e| e.billable);
        let sum = |list: Vec<&TimeEntry>| list.iter().map(|e| e.minutes).sum::<i64>();
        Self::from_minutes(sum(billable), sum(non))
    }

    pub fn from_minutes(billable_minutes: i64, non_billable_minutes: i64) -> Self {
        let hours =
            |m: i64| (SignedDuration::from_mins(m).as_secs_f64() / 3600.0 * 100.0).round() / 100.0;
        Self {
            billable_minutes,
            non_billable_minutes,
            billable_hours: hours(billable_minutes),
            non_billable_hours: hours(non_billable_minutes),
        }
    }
}

#[cfg(test)]
mod patch_tests {
    use super::*;

    fn entry() -> TimeEntry {
        TimeEntry {
            id: TimeEntryId(1),
            ticket_id: TicketId(1),
            resource_id: ResourceId(1),
            started_at: Some("2024-03-01T09:00:00Z".parse().unwrap()),
            ended_at: Some("2024-03-01T10:00:00Z".parse().unwrap()),
            minutes: 60,
            billable: true,
            notes: Some("Replaced the switch".into()),
            note_id: None,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_new_end_recounts_the_minutes_and_a_count_replaces_them() {
        let later = TimeEntryPatch {
            ended_at: Some(Some("2024-03-01T11:30:00Z".parse().unwrap())),
            ..Default::default()
        }
        .apply_to(&entry());
        assert_eq!(later.minutes, None, "counted from the range by check");
        let counted = TimeEntryPatch {
            started_at: Some(None),
            ended_at: Some(None),
            billable: Some(false),
            ..Default::default()
        }
        .apply_to(&entry());
        assert_eq!((counted.minutes, counted.billable), (Some(60), false));
        let disagreeing = TimeEntryPatch {
            minutes: Some(15),
            ..Default::default()
        }
        .apply_to(&entry());
        assert_eq!(
            disagreeing.minutes,
            Some(15),
            "check refuses 15 against the hour"
        );
    }

    #[test]
    fn a_note_patch_is_checked_like_a_new_note() {
        let note = Note {
            id: NoteId(1),
            ticket_id: TicketId(1),
            title: Some("Called".into()),
            body: "Left a voicemail".into(),
            visibility: Visibility::Internal,
            kind: NoteKind::Phone,
            author: "jane".into(),
            contact_id: None,
            created_at: Timestamp::UNIX_EPOCH,
        };
        let edited = NotePatch {
            title: Some(None),
            visibility: Some(Visibility::External),
            ..Default::default()
        }
        .apply_to(&note)
        .unwrap();
        assert_eq!(
            (edited.title, edited.body.as_str()),
            (None, "Left a voicemail")
        );
        let blank = NotePatch {
            body: Some(" ".into()),
            ..Default::default()
        };
        assert!(
            matches!(blank.apply_to(&note), Err(DomainError::Invalid(v)) if v[0].field == "body")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(started: Option<&str>, ended: Option<&str>, minutes: Option<i64>) -> NewTimeEntry {
        NewTimeEntry {
            resource_id: ResourceId(1),
            started_at: started.map(|s| s.parse().unwrap()),
            ended_at: ended.map(|s| s.parse().unwrap()),
            minutes,
            billable: true,
            notes: None,
        }
    }

    #[test]
    fn work_splits_at_the_edges_of_business_hours() {
        let calendar =
            crate::calendar::Calendar::weekdays("Europe/London", "09:00", "17:00", Vec::new())
                .unwrap();
        let logged = |start: Option<&str>, end: Option<&str>, minutes: i64| TimeEntry {
            id: Default::default(),
            ticket_id: Default::default(),
            resource_id: ResourceId(1),
            started_at: start.map(|s| s.parse().unwrap()),
            ended_at: end.map(|s| s.parse().unwrap()),
            minutes,
            billable: true,
            notes: None,
            note_id: None,
            created_at: "2026-11-24T00:00:00Z".parse().unwrap(),
        };
        let entries = [
            // Tuesday 16:00–18:30 London (UTC in winter): 60 on, 90 off.
            logged(
                Some("2026-11-24T16:00:00Z"),
                Some("2026-11-24T18:30:00Z"),
                150,
            ),
            // Saturday, 45 minutes from the start: all off.
            logged(Some("2026-11-28T10:00:00Z"), None, 45),
            // Bare minutes: no time of day, counted on-SLA.
            logged(None, None, 30),
        ];
        assert_eq!(
            SlaSplit::of(&entries, Some(&calendar)),
            SlaSplit {
                on_sla_minutes: 90,
                off_sla_minutes: 135
            }
        );
        assert_eq!(SlaSplit::of(&entries, None).off_sla_minutes, 0);
    }

    fn tech() -> Resource {
        Resource {
            id: ResourceId(1),
            first_name: "Jane".into(),
            last_name: "Tech".into(),
            email: "jane@msp.example".into(),
            active: true,
        }
    }

    #[test]
    fn only_an_existing_active_resource_logs_time() {
        let e = entry(None, None, Some(30));
        assert_eq!(
            code(e.check(None)),
            ("resource_id".into(), ErrorCode::UnknownReference)
        );
        let away = Resource {
            active: false,
            ..tech()
        };
        assert_eq!(
            code(e.check(Some(&away))),
            ("resource_id".into(), ErrorCode::InactiveValue)
        );
    }

    fn code(r: Result<i64, DomainError>) -> (String, ErrorCode) {
        match r {
            Err(DomainError::Invalid(v)) => (v[0].field.clone(), v[0].code),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn minutes_from_range_or_count() {
        assert_eq!(
            entry(
                Some("2024-02-15T09:00:00Z"),
                Some("2024-02-15T10:30:00Z"),
                None
            )
            .check(Some(&tech())),
            Ok(90)
        );
        assert_eq!(
            entry(
                Some("2024-02-15T09:00:00Z"),
                Some("2024-02-15T09:00:01Z"),
                None
            )
            .check(Some(&tech())),
            Ok(1)
        );
        assert_eq!(entry(None, None, Some(30)).check(Some(&tech())), Ok(30));
        assert_eq!(
            entry(
                Some("2024-02-15T09:00:00Z"),
                Some("2024-02-15T09:30:00Z"),
                Some(30)
            )
            .check(Some(&tech())),
            Ok(30)
        );
    }

    #[test]
    fn bad_ranges_and_counts_are_refused() {
        assert_eq!(
            code(
                entry(
                    Some("2024-02-15T10:00:00Z"),
                    Some("2024-02-15T09:00:00Z"),
                    None
                )
                .check(Some(&tech()))
            ),
            ("ended_at".into(), ErrorCode::TimeRangeInvalid)
        );
        assert_eq!(
            code(entry(None, Some("2024-02-15T09:00:00Z"), None).check(Some(&tech()))),
            ("started_at".into(), ErrorCode::Required)
        );
        assert_eq!(
            code(entry(None, None, None).check(Some(&tech()))),
            ("minutes".into(), ErrorCode::Required)
        );
        assert_eq!(
            code(entry(None, None, Some(0)).check(Some(&tech()))),
            ("minutes".into(), ErrorCode::OutOfRange)
        );
        assert_eq!(
            code(entry(None, None, Some(24 * 60 + 1)).check(Some(&tech()))),
            ("minutes".into(), ErrorCode::OutOfRange)
        );
        assert_eq!(
            code(
                entry(
                    Some("2024-02-15T09:00:00Z"),
                    Some("2024-02-15T09:30:00Z"),
                    Some(45)
                )
                .check(Some(&tech()))
            ),
            ("minutes".into(), ErrorCode::TimeRangeInvalid)
        );
    }

    #[test]
    fn billable_summary_splits_and_converts() {
        let s = BillableSummary::from_minutes(90, 20);
        assert_eq!((s.billable_hours, s.non_billable_hours), (1.5, 0.33));
    }

    #[test]
    fn notes_need_a_body() {
        let note = NewNote {
            title: None,
            body: " ".into(),
            visibility: Visibility::External,
            kind: NoteKind::Phone,
            ..Default::default()
        };
        assert!(note.check().is_err());
    }
}
