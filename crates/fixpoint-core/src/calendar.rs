//! Business calendars: when the service desk is open, in the calendar's own time zone.
//!
//! A calendar is a time zone, weekly opening hours (several intervals per weekday
//! allowed) and holidays (whole or part days). Business time is real elapsed time
//! while open, so an opening that spans a DST change counts the hours that actually
//! passed (an 00:00–24:00 day is 23 or 25 hours long on a DST day).
//!
//! Local times that do not exist (the hour skipped in spring) map to the moment of
//! the change; repeated local times (the hour repeated in autumn) count both times.
//!
//! Edges: openings are half-open, `[start, end)`. [`Calendar::add`] returns the
//! instant the duration is used up, which may be exactly a closing edge (Fri 09:00 +
//! 8 business hours on a 09:00–17:00 day is Fri 17:00, not Mon 09:00); it is never
//! inside closed time. Adding zero returns the start unchanged.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

pub const DAY_SECONDS: u32 = 86_400;
/// More than this per weekday is a configuration mistake, and the bound keeps the
/// hot path free of allocation.
pub const MAX_OPENINGS_PER_DAY: usize = 6;
const MAX_SPANS: usize = 2 * MAX_OPENINGS_PER_DAY + 2;

/// `[start, end)` in seconds after local midnight; `end` may be 86400 (24:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Opening {
    pub start: u32,
    pub end: u32,
}

impl Opening {
    pub fn new(start: u32, end: u32) -> Result<Self, CalendarError> {
        if start >= end || end > DAY_SECONDS {
            return Err(CalendarError(format!(
                "an opening runs from a start to a later end within one day (00:00 to 24:00); got {} to {}",
                hhmm(start),
                hhmm(end)
            )));
        }
        Ok(Self { start, end })
    }

    /// `"09:00"`–`"17:30"`; `"24:00"` is the end of the day.
    pub fn parse(start: &str, end: &str) -> Result<Self, CalendarError> {
        Self::new(parse_hhmm(start)?, parse_hhmm(end)?)
    }
}

fn parse_hhmm(text: &str) -> Result<u32, CalendarError> {
    let bad = || {
        CalendarError(format!(
            "'{text}' is not a time of day; use HH:MM from 00:00 to 24:00"
        ))
    };
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 3600 + m * 60)
}

pub fn hhmm(seconds: u32) -> String {
    format!("{:02}:{:02}", seconds / 3600, seconds % 3600 / 60)
}

impl Serialize for Opening {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Opening", 2)?;
        st.serialize_field("start", &hhmm(self.start))?;
        st.serialize_field("end", &hhmm(self.end))?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for Opening {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wire {
            start: String,
            end: String,
        }
        let w = Wire::deserialize(d)?;
        Opening::parse(&w.start, &w.end).map_err(serde::de::Error::custom)
    }
}

/// A day (or part of one) the desk is closed although the week says open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holiday {
    pub date: Date,
    /// The closed part of the day; the whole day when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<Opening>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CalendarError(pub String);

/// How a calendar is written down: what is stored and what the API shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    /// IANA time zone, e.g. `America/New_York`.
    pub time_zone: String,
    /// Openings per weekday, Monday first (seven lists).
    pub week: Vec<Vec<Opening>>,
    #[serde(default)]
    pub holidays: Vec<Holiday>,
}

#[derive(Debug, Clone)]
pub struct Calendar {
    spec: CalendarSpec,
    zone: TimeZone,
    /// Monday first; sorted, merged.
    week: [Vec<Opening>; 7],
    /// Sorted by date.
    holidays: Vec<Holiday>,
    /// Open time in a week with no holiday and no DST change.
    weekly_open: SignedDuration,
}

impl Calendar {
    pub fn new(spec: CalendarSpec) -> Result<Self, CalendarError> {
        let zone = TimeZone::get(&spec.time_zone).map_err(|_| {
            CalendarError(format!(
                "'{}' is not an IANA time zone such as Europe/London",
                spec.time_zone
            ))
        })?;
        if spec.week.len() != 7 {
            return Err(CalendarError(format!(
                "week has {} days; give seven lists of openings, Monday first",
                spec.week.len()
            )));
        }
        let mut week: [Vec<Opening>; 7] = Default::default();
        for (day, openings) in spec.week.iter().enumerate() {
            week[day] = merge(openings.clone());
            if week[day].len() > MAX_OPENINGS_PER_DAY {
                return Err(CalendarError(format!(
                    "at most {MAX_OPENINGS_PER_DAY} separate openings per day"
                )));
            }
        }
        if week.iter().all(Vec::is_empty) {
            return Err(CalendarError(
                "the calendar is never open; give at least one opening in the week".into(),
            ));
        }
        let mut holidays = spec.holidays.clone();
        holidays.sort_by_key(|h| h.date);
        let weekly_seconds: u32 = week.iter().flatten().map(|o| o.end - o.start).sum();
        let weekly_open = SignedDuration::from_secs(i64::from(weekly_seconds));
        Ok(Self {
            spec,
            zone,
            week,
            holidays,
            weekly_open,
        })
    }

    /// Open around the clock, every day.
    pub fn always_open(time_zone: &str) -> Result<Self, CalendarError> {
        let day = vec![Opening {
            start: 0,
            end: DAY_SECONDS,
        }];
        Self::new(CalendarSpec {
            time_zone: time_zone.into(),
            week: vec![day; 7],
            holidays: Vec::new(),
        })
    }

    /// The same hours Monday to Friday, closed at weekends.
    pub fn weekdays(
        time_zone: &str,
        start: &str,
        end: &str,
        holidays: Vec<Holiday>,
    ) -> Result<Self, CalendarError> {
        let opening = Opening::parse(start, end)?;
        let mut week = vec![vec![opening]; 5];
        week.extend([Vec::new(), Vec::new()]);
        Self::new(CalendarSpec {
            time_zone: time_zone.into(),
            week,
            holidays,
        })
    }

    pub fn spec(&self) -> &CalendarSpec {
        &self.spec
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.zone
    }

    fn local_date(&self, at: Timestamp) -> Date {
        self.zone.to_datetime(at).date()
    }

    fn instant(&self, date: Date, seconds: u32) -> Timestamp {
        let midnight = DateTime::from_parts(date, Time::midnight());
        let local = if seconds == DAY_SECONDS {
            match date.tomorrow() {
                Ok(next) => DateTime::from_parts(next, Time::midnight()),
                Err(_) => return Timestamp::MAX,
            }
        } else {
            midnight + SignedDuration::from_secs(i64::from(seconds))
        };
        self.zone.to_timestamp(local).unwrap_or(Timestamp::MAX)
    }

    /// The open spans of one local day as instants, in order, never overlapping.
    fn spans(&self, date: Date) -> ([(Timestamp, Timestamp); MAX_SPANS], usize) {
        let mut out = [(Timestamp::UNIX_EPOCH, Timestamp::UNIX_EPOCH); MAX_SPANS];
        let mut n = 0;
        let weekday = date.weekday().to_monday_zero_offset() as usize;
        let closures = self.closures(date);
        let mut floor = Timestamp::MIN;
        for opening in &self.week[weekday] {
            let mut pieces = [(opening.start, opening.end), (0, 0), (0, 0)];
            let mut count = 1;
            for closed in closures.iter().flatten() {
                let mut next = [(0, 0); 3];
                let mut m = 0;
                for &(s, e) in &pieces[..count] {
                    if closed.end <= s || closed.start >= e {
                        next[m] = (s, e);
                        m += 1;
                        continue;
                    }
                    if s < closed.start && m < 3 {
                        next[m] = (s, closed.start);
                        m += 1;
                    }
                    if closed.end < e && m < 3 {
                        next[m] = (closed.end, e);
                        m += 1;
                    }
                }
                pieces = next;
                count = m;
            }
            for &(s, e) in &pieces[..count] {
                // Clamping keeps spans ordered where a local time fell in a DST gap.
                let start = self.instant(date, s).max(floor);
                let end = self.instant(date, e).max(start);
                if end > start && n < MAX_SPANS {
                    out[n] = (start, end);
                    n += 1;
                }
                floor = end;
            }
        }
        (out, n)
    }

    /// Up to two holiday closures on one date (a whole day is one closure).
    fn closures(&self, date: Date) -> [Option<Opening>; 2] {
        let mut out = [None, None];
        let first = self.holidays.partition_point(|h| h.date < date);
        for (slot, h) in self.holidays[first..]
            .iter()
            .take_while(|h| h.date == date)
            .take(2)
            .enumerate()
        {
            out[slot] = Some(h.closed.unwrap_or(Opening {
                start: 0,
                end: DAY_SECONDS,
            }));
        }
        out
    }

    /// If the seven local days from `date` hold no holiday and no UTC offset change,
    /// the day after them: such a week is open exactly `weekly_open`.
    /// `before`: only weeks ending before this date are of use to the caller.
    fn plain_week_after(&self, date: Date, before: Option<Date>) -> Option<Date> {
        let end = date.checked_add(SignedDuration::from_hours(7 * 24)).ok()?;
        if before.is_some_and(|limit| end >= limit) {
            return None;
        }
        let first = self.holidays.partition_point(|h| h.date < date);
        if self.holidays.get(first).is_some_and(|h| h.date < end) {
            return None;
        }
        let from = self.instant(date, 0);
        let to = self.instant(end, 0);
        match self.zone.following(from).next() {
            Some(change) if change.timestamp() <= to => None,
            _ => Some(end),
        }
    }

    /// The instant when `duration` of business time has passed since `start`.
    pub fn add(&self, start: Timestamp, duration: SignedDuration) -> Timestamp {
        if duration <= SignedDuration::ZERO {
            return start;
        }
        let mut remaining = duration;
        let mut date = self.local_date(start);
        let mut first_day = true;
        loop {
            // Whole weeks at a time when nothing in them is irregular.
            while !first_day && remaining > self.weekly_open {
                match self.plain_week_after(date, None) {
                    Some(next) => {
                        remaining -= self.weekly_open;
                        date = next;
                    }
                    None => break,
                }
            }
            first_day = false;
            let (spans, n) = self.spans(date);
            for &(a, b) in &spans[..n] {
                if b <= start {
                    continue;
                }
                let from = a.max(start);
                let available = b.duration_since(from);
                if remaining <= available {
                    return from + remaining;
                }
                remaining -= available;
            }
            date = match date.tomorrow() {
                Ok(next) => next,
                Err(_) => return Timestamp::MAX,
            };
        }
    }

    /// Business time between two instants (zero when `to` is not after `from`).
    pub fn between(&self, from: Timestamp, to: Timestamp) -> SignedDuration {
        if to <= from {
            return SignedDuration::ZERO;
        }
        let mut total = SignedDuration::ZERO;
        let last = self.local_date(to);
        let mut date = self.local_date(from);
        let mut first_day = true;
        loop {
            if !first_day {
                while let Some(next) = self.plain_week_after(date, Some(last)) {
                    total += self.weekly_open;
                    date = next;
                }
            }
            first_day = false;
            let (spans, n) = self.spans(date);
            for &(a, b) in &spans[..n] {
                let (s, e) = (a.max(from), b.min(to));
                if e > s {
                    total += e.duration_since(s);
                }
            }
            if date >= last {
                return total;
            }
            date = match date.tomorrow() {
                Ok(next) => next,
                Err(_) => return total,
            };
        }
    }

    pub fn is_open(&self, at: Timestamp) -> bool {
        let (spans, n) = self.spans(self.local_date(at));
        spans[..n].iter().any(|&(a, b)| a <= at && at < b)
    }

    /// `at` itself when open, else the next instant the desk opens.
    pub fn next_opening(&self, at: Timestamp) -> Timestamp {
        let mut date = self.local_date(at);
        loop {
            let (spans, n) = self.spans(date);
            if let Some(&(a, _)) = spans[..n].iter().find(|&&(_, b)| b > at) {
                return a.max(at);
            }
            date = match date.tomorrow() {
                Ok(next) => next,
                Err(_) => return Timestamp::MAX,
            };
        }
    }
}

/// Sorts openings and joins those that touch or overlap.
fn merge(mut openings: Vec<Opening>) -> Vec<Opening> {
    openings.sort();
    let mut out: Vec<Opening> = Vec::with_capacity(openings.len());
    for o in openings {
        match out.last_mut() {
            Some(last) if o.start <= last.end => last.end = last.end.max(o.end),
            _ => out.push(o),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn at(zone: &str, text: &str) -> Timestamp {
        text.parse::<DateTime>()
            .unwrap()
            .in_tz(zone)
            .unwrap()
            .timestamp()
    }

    fn hours(h: i64) -> SignedDuration {
        SignedDuration::from_hours(h)
    }

    fn office(zone: &str) -> Calendar {
        Calendar::weekdays(zone, "09:00", "17:00", Vec::new()).unwrap()
    }

    const NY: &str = "America/New_York";

    #[test]
    fn hand_computed_office_hours() {
        let c = office(NY);
        // Friday 16:30 + 2 business hours = Monday 10:30.
        assert_eq!(
            c.add(at(NY, "2024-02-16T16:30"), hours(2)),
            at(NY, "2024-02-19T10:30")
        );
        // Saturday + 1h = Monday 10:00.
        assert_eq!(
            c.add(at(NY, "2024-02-17T12:00"), hours(1)),
            at(NY, "2024-02-19T10:00")
        );
        // Early morning starts at opening.
        assert_eq!(
            c.add(at(NY, "2024-02-19T06:00"), hours(4)),
            at(NY, "2024-02-19T13:00")
        );
        // A full day ends on the closing edge, not the next morning.
        assert_eq!(
            c.add(at(NY, "2024-02-19T09:00"), hours(8)),
            at(NY, "2024-02-19T17:00")
        );
        // 24 business hours from Monday 09:00 = Wednesday 17:00.
        assert_eq!(
            c.add(at(NY, "2024-02-19T09:00"), hours(24)),
            at(NY, "2024-02-21T17:00")
        );
        // 72h (Autotask Low) is nine 8-hour days: from Tue 20 Feb 14:00 (leap year) to Mon 4 Mar 14:00.
        assert_eq!(
            c.add(at(NY, "2024-02-20T14:00"), hours(72)),
            at(NY, "2024-03-04T14:00")
        );
        assert_eq!(
            c.between(at(NY, "2024-02-16T16:30"), at(NY, "2024-02-19T10:30")),
            hours(2)
        );
        assert_eq!(
            c.between(at(NY, "2024-02-17T00:00"), at(NY, "2024-02-18T23:59")),
            SignedDuration::ZERO
        );
        assert_eq!(
            c.next_opening(at(NY, "2024-02-16T17:00")),
            at(NY, "2024-02-19T09:00")
        );
        assert_eq!(
            c.next_opening(at(NY, "2024-02-16T12:00")),
            at(NY, "2024-02-16T12:00")
        );
        assert!(
            !c.is_open(at(NY, "2024-02-16T17:00")),
            "closing edge is closed"
        );
        assert!(
            c.is_open(at(NY, "2024-02-16T09:00")),
            "opening edge is open"
        );
    }

    #[test]
    fn holidays_are_skipped_whole_or_in_part() {
        let holidays = vec![
            Holiday {
                date: date(2024, 2, 19),
                closed: None,
                name: "Presidents' Day".into(),
            },
            Holiday {
                date: date(2024, 2, 20),
                closed: Some(Opening::parse("12:00", "14:00").unwrap()),
                name: "Staff lunch".into(),
            },
        ];
        let c = Calendar::weekdays(NY, "09:00", "17:00", holidays).unwrap();
        assert_eq!(
            c.add(at(NY, "2024-02-16T16:30"), hours(2)),
            at(NY, "2024-02-20T10:30")
        );
        assert_eq!(
            c.add(at(NY, "2024-02-20T11:00"), hours(2)),
            at(NY, "2024-02-20T15:00")
        );
        assert_eq!(
            c.between(at(NY, "2024-02-19T00:00"), at(NY, "2024-02-21T00:00")),
            hours(6)
        );
        assert!(!c.is_open(at(NY, "2024-02-20T13:00")));
    }

    #[test]
    fn split_days_and_a_lunch_break() {
        let lunch = vec![
            Opening::parse("08:00", "12:00").unwrap(),
            Opening::parse("13:00", "17:00").unwrap(),
        ];
        let mut week = vec![lunch; 5];
        week.extend([vec![], vec![]]);
        let c = Calendar::new(CalendarSpec {
            time_zone: "Europe/London".into(),
            week,
            holidays: vec![],
        })
        .unwrap();
        let t = at("Europe/London", "2024-03-04T11:00");
        assert_eq!(c.add(t, hours(2)), at("Europe/London", "2024-03-04T14:00"));
    }

    #[test]
    fn dst_days_count_the_hours_that_pass() {
        let c = Calendar::always_open(NY).unwrap();
        // 2024-03-10: New York springs forward; the local day has 23 hours.
        assert_eq!(
            c.between(at(NY, "2024-03-10T00:00"), at(NY, "2024-03-11T00:00")),
            hours(23)
        );
        // 2024-11-03: falls back; 25 hours.
        assert_eq!(
            c.between(at(NY, "2024-11-03T00:00"), at(NY, "2024-11-04T00:00")),
            hours(25)
        );
        let london = Calendar::always_open("Europe/London").unwrap();
        assert_eq!(
            london.between(
                at("Europe/London", "2024-03-31T00:00"),
                at("Europe/London", "2024-04-01T00:00")
            ),
            hours(23)
        );
        let sydney = Calendar::always_open("Australia/Sydney").unwrap();
        // Sydney falls back on 2024-04-07 and springs forward on 2024-10-06.
        assert_eq!(
            sydney.between(
                at("Australia/Sydney", "2024-04-07T00:00"),
                at("Australia/Sydney", "2024-04-08T00:00")
            ),
            hours(25)
        );
        assert_eq!(
            sydney.between(
                at("Australia/Sydney", "2024-10-06T00:00"),
                at("Australia/Sydney", "2024-10-07T00:00")
            ),
            hours(23)
        );
        // An office opening inside the skipped hour: 01:30–03:30 is one real hour that day.
        let mut week = vec![vec![Opening::parse("01:30", "03:30").unwrap()]; 7];
        week[0] = vec![Opening::parse("01:30", "03:30").unwrap()];
        let night = Calendar::new(CalendarSpec {
            time_zone: NY.into(),
            week,
            holidays: vec![],
        })
        .unwrap();
        assert_eq!(
            night.between(at(NY, "2024-03-10T00:00"), at(NY, "2024-03-11T00:00")),
            hours(1)
        );
    }

    #[test]
    fn bad_calendars_are_refused() {
        assert!(Calendar::weekdays("Mars/Olympus", "09:00", "17:00", vec![]).is_err());
        assert!(Opening::parse("17:00", "09:00").is_err());
        assert!(Opening::parse("09:00", "24:30").is_err());
        assert!(Opening::parse("9am", "17:00").is_err());
        let never = CalendarSpec {
            time_zone: NY.into(),
            week: vec![vec![]; 7],
            holidays: vec![],
        };
        assert!(Calendar::new(never).is_err());
        let six = CalendarSpec {
            time_zone: NY.into(),
            week: vec![vec![]; 6],
            holidays: vec![],
        };
        assert!(Calendar::new(six).is_err());
    }

    #[test]
    fn specs_round_trip_through_json() {
        let c = Calendar::weekdays(
            NY,
            "09:00",
            "24:00",
            vec![Holiday {
                date: date(2024, 12, 25),
                closed: None,
                name: "Christmas".into(),
            }],
        )
        .unwrap();
        let json = serde_json::to_string(c.spec()).unwrap();
        assert!(json.contains("\"24:00\""), "{json}");
        let back: CalendarSpec = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, c.spec());
    }

    const ZONES: [&str; 3] = ["America/New_York", "Europe/London", "Australia/Sydney"];

    fn calendars() -> impl Strategy<Value = Calendar> {
        (0usize..3, 0usize..4, proptest::bool::ANY).prop_map(|(zone, shape, holidays)| {
            let zone = ZONES[zone];
            let hol = if holidays {
                // Holidays near each zone's DST changes and around year ends.
                vec![
                    Holiday {
                        date: date(2024, 3, 11),
                        closed: None,
                        name: String::new(),
                    },
                    Holiday {
                        date: date(2024, 4, 8),
                        closed: Some(Opening::parse("10:00", "12:00").unwrap()),
                        name: String::new(),
                    },
                    Holiday {
                        date: date(2024, 10, 7),
                        closed: None,
                        name: String::new(),
                    },
                    Holiday {
                        date: date(2024, 11, 4),
                        closed: Some(Opening::parse("00:00", "10:00").unwrap()),
                        name: String::new(),
                    },
                    Holiday {
                        date: date(2024, 12, 25),
                        closed: None,
                        name: String::new(),
                    },
                ]
            } else {
                vec![]
            };
            let mut spec = match shape {
                0 => Calendar::always_open(zone).unwrap().spec().clone(),
                1 => Calendar::weekdays(zone, "09:00", "17:00", vec![])
                    .unwrap()
                    .spec()
                    .clone(),
                // Openings across the small hours, where DST changes happen.
                2 => CalendarSpec {
                    time_zone: zone.into(),
                    week: vec![
                        vec![
                            Opening::parse("00:30", "03:30").unwrap(),
                            Opening::parse("20:00", "24:00").unwrap()
                        ];
                        7
                    ],
                    holidays: vec![],
                },
                _ => CalendarSpec {
                    time_zone: zone.into(),
                    week: vec![
                        vec![
                            Opening::parse("08:00", "12:00").unwrap(),
                            Opening::parse("13:00", "18:30").unwrap(),
                        ],
                        vec![],
                        vec![Opening::parse("00:00", "24:00").unwrap()],
                        vec![],
                        vec![Opening::parse("09:00", "17:00").unwrap()],
                        vec![],
                        vec![],
                    ],
                    holidays: vec![],
                },
            };
            spec.holidays = hol;
            Calendar::new(spec).unwrap()
        })
    }

    /// Instants through 2024, weighted towards the DST weekends of the three zones.
    fn instants() -> impl Strategy<Value = Timestamp> {
        let year = at("UTC", "2024-01-01T00:00").as_second();
        let dst_weekends: Vec<i64> = [
            "2024-03-09T00:00",
            "2024-03-30T00:00",
            "2024-04-06T00:00",
            "2024-10-05T00:00",
            "2024-10-26T00:00",
            "2024-11-02T00:00",
        ]
        .iter()
        .map(|t| at("UTC", t).as_second())
        .collect();
        prop_oneof![
            (0i64..366 * 86_400).prop_map(move |s| Timestamp::from_second(year + s).unwrap()),
            (0usize..dst_weekends.len(), 0i64..3 * 86_400)
                .prop_map(move |(w, s)| Timestamp::from_second(dst_weekends[w] + s).unwrap()),
        ]
    }

    fn durations() -> impl Strategy<Value = SignedDuration> {
        (1i64..200 * 3600).prop_map(SignedDuration::from_secs)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn adding_then_measuring_gives_the_duration(c in calendars(), t in instants(), d in durations()) {
            let due = c.add(t, d);
            prop_assert_eq!(c.between(t, due), d);
        }

        #[test]
        fn adding_is_monotonic(c in calendars(), t in instants(), gap in 0i64..100_000, d in durations(), more in 0i64..50_000) {
            let later = t + SignedDuration::from_secs(gap);
            prop_assert!(c.add(t, d) <= c.add(later, d));
            prop_assert!(c.add(t, d) <= c.add(t, d + SignedDuration::from_secs(more)));
        }

        #[test]
        fn measuring_is_monotonic_and_additive(c in calendars(), t in instants(), a in 0i64..400_000, b in 0i64..400_000) {
            let mid = t + SignedDuration::from_secs(a);
            let end = mid + SignedDuration::from_secs(b);
            prop_assert_eq!(c.between(t, mid) + c.between(mid, end), c.between(t, end));
            prop_assert!(c.between(t, mid) <= c.between(t, end));
        }

        #[test]
        fn a_due_time_is_open_or_a_closing_edge(c in calendars(), t in instants(), d in durations()) {
            let due = c.add(t, d);
            let just_before = due - SignedDuration::from_micros(1);
            prop_assert!(c.is_open(due) || c.is_open(just_before), "due {due} is in closed time");
        }

        #[test]
        fn next_opening_is_open_and_nothing_opens_before_it(c in calendars(), t in instants()) {
            let next = c.next_opening(t);
            prop_assert!(next >= t);
            prop_assert!(c.is_open(next));
            prop_assert_eq!(c.between(t, next), SignedDuration::ZERO);
        }
    }
}
