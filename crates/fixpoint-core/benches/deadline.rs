//! Deadline computation on a Mon–Fri office calendar with a year of holidays.
//! Target (issue 3): at least 1,000,000 deadlines per second per core.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fixpoint_core::calendar::{Calendar, Holiday, Opening};
use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};

fn office() -> Calendar {
    let days = [
        (1, 1),
        (1, 15),
        (2, 19),
        (5, 27),
        (6, 19),
        (7, 4),
        (9, 2),
        (10, 14),
        (11, 11),
        (11, 28),
        (12, 24),
        (12, 25),
    ];
    let mut holidays: Vec<Holiday> = days
        .iter()
        .map(|&(m, d)| Holiday {
            date: date(2024, m, d),
            closed: None,
            name: String::new(),
        })
        .collect();
    holidays.push(Holiday {
        date: date(2024, 11, 29),
        closed: Some(Opening::parse("12:00", "17:00").unwrap()),
        name: String::new(),
    });
    Calendar::weekdays("America/New_York", "09:00", "17:00", holidays).unwrap()
}

fn starts() -> Vec<Timestamp> {
    let first: Timestamp = "2024-01-02T14:00:00Z".parse().unwrap();
    // Spread over the year at an odd stride so every weekday and hour is hit.
    (0..1000)
        .map(|i| first + SignedDuration::from_mins(i * 517))
        .collect()
}

fn deadlines(c: &mut Criterion) {
    let calendar = office();
    let starts = starts();
    let mut group = c.benchmark_group("deadline");
    for (name, hours) in [
        ("4h response", 4),
        ("24h resolution", 24),
        ("72h resolution", 72),
    ] {
        group.throughput(Throughput::Elements(starts.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                for &start in &starts {
                    black_box(calendar.add(black_box(start), SignedDuration::from_hours(hours)));
                }
            })
        });
    }
    group.throughput(Throughput::Elements(starts.len() as u64));
    group.bench_function("business time between", |b| {
        b.iter(|| {
            for &start in &starts {
                black_box(
                    calendar.between(black_box(start), start + SignedDuration::from_hours(50)),
                );
            }
        })
    });
    group.finish();
}

criterion_group!(benches, deadlines);
criterion_main!(benches);
