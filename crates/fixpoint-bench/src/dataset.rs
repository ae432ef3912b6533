//! A believable MSP's history, bulk-loaded through the store layer: five years of
//! tickets from 200 client companies across five queues, the newest 3% still open,
//! about 1.5 notes, 0.8 time entries and 2.5 history rows per ticket.
//!
//! Deterministic for a size, so runs compare. One word, `quasar`, appears in one
//! ticket in 100,000: the rare word the text-search scenario looks for.

use std::time::Instant;

use fixpoint_core::catalog::{default_catalog, seeded};
use fixpoint_core::ids::*;
use fixpoint_core::parties::{Company, Contact, NewQueue, Resource};
use fixpoint_core::ticket::{FieldChange, NewTicket, Ticket};
use fixpoint_core::time_entry::{Note, NoteKind, TimeEntry, Visibility};
use fixpoint_store::parties::{self, NamedTable};
use fixpoint_store::{Store, tickets, work};
use jiff::{SignedDuration, Timestamp};

pub const RARE_WORD: &str = "quasar";
const COMPANIES: usize = 200;
const CONTACTS_PER_COMPANY: usize = 5;
const RESOURCES: usize = 20;
const QUEUES: [&str; 5] = [
    "Service Desk",
    "Triage",
    "Projects",
    "Escalations",
    "Network",
];
/// Ticket share per queue, in percent.
const QUEUE_WEIGHTS: [u64; 5] = [50, 20, 10, 5, 15];
const BATCH: usize = 5_000;

const PROBLEMS: [&str; 16] = [
    "Printer offline",
    "Outlook keeps asking for password",
    "VPN disconnects every hour",
    "Laptop will not boot",
    "New starter needs accounts",
    "Shared drive mapping missing",
    "Teams calls drop audio",
    "Firewall blocking supplier portal",
    "Backup job failed overnight",
    "Wi-Fi slow in meeting room",
    "Phone system voicemail full",
    "Install accounting software update",
    "Server disk nearly full",
    "Reset MFA for user",
    "Monitor flickering",
    "Website SSL certificate expiring",
];
const PLACES: [&str; 8] = [
    "reception",
    "finance office",
    "warehouse",
    "second floor",
    "boardroom",
    "branch office",
    "home worker",
    "CEO laptop",
];
const NOTES: [&str; 8] = [
    "Called the user, reproduced the issue and collected logs.",
    "Remote session: cleared the cache, rebooted, monitoring.",
    "Waiting for the customer to confirm a time for a site visit.",
    "Escalated to the network team with the traceroute attached.",
    "Replaced the toner and ran a test page; all good.",
    "Vendor ticket opened, reference attached, expecting reply tomorrow.",
    "Applied the latest firmware; the device came back online.",
    "User confirmed the fix works; closing after 24 hours.",
];

/// What was built, for the report.
pub struct Built {
    pub tickets: u64,
    pub seconds: f64,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.next(from.len() as u64) as usize]
    }
}

pub async fn build(store: &Store, total: u64, now: Timestamp) -> anyhow::Result<Built> {
    let started = Instant::now();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut tx = store.write().await?;
    let mut companies = Vec::new();
    let mut contacts: Vec<Vec<ContactId>> = Vec::new();
    for c in 0..COMPANIES {
        let company = parties::insert_company(
            &mut tx,
            &Company {
                id: CompanyId(0),
                name: format!("Client {c:03} Ltd"),
                parent_company_id: None,
                phone: Some(format!("+1 555 {c:04}")),
                website: None,
                active: true,
                created_at: now,
            },
        )
        .await?;
        let mut people = Vec::new();
        for p in 0..CONTACTS_PER_COMPANY {
            people.push(
                parties::insert_contact(
                    &mut tx,
                    &Contact {
                        id: ContactId(0),
                        company_id: company,
                        first_name: format!("Person{p}"),
                        last_name: format!("Client{c:03}"),
                        email: Some(format!("person{p}@client{c:03}.example")),
                        phone: None,
                        language: None,
                        active: true,
                    },
                )
                .await?,
            );
        }
        companies.push(company);
        contacts.push(people);
    }
    let mut resources = Vec::new();
    for r in 0..RESOURCES {
        resources.push(
            parties::insert_resource(
                &mut tx,
                &Resource {
                    id: ResourceId(0),
                    first_name: format!("Tech{r:02}"),
                    last_name: "Engineer".into(),
                    email: format!("tech{r:02}@msp.example"),
                    active: true,
                },
            )
            .await?,
        );
    }
    let mut roles = Vec::new();
    for name in ["Tier 1", "Tier 2", "Network Engineer"] {
        roles.push(RoleId(
            parties::insert_named(&mut tx, NamedTable::Roles, name, true).await?,
        ));
    }
    let mut queues = Vec::new();
    for name in QUEUES {
        let queue = NewQueue {
            name: name.into(),
            active: true,
            sla_policy_id: None,
        };
        queues.push(parties::insert_queue(&mut tx, &queue).await?.0);
    }
    Store::commit(tx).await?;
    let world = World {
        companies,
        contacts,
        resources,
        roles,
        queues,
    };

    let catalog = default_catalog();
    let span = SignedDuration::from_hours(5 * 365 * 24);
    let first = now - span;
    let step = span.as_secs() / total.max(1) as i64;
    let open_from = total - total * 3 / 100;
    let mut done = 0u64;
    while done < total {
        let count = (total - done).min(BATCH as u64);
        let mut batch = Vec::with_capacity(count as usize);
        for i in done..done + count {
            let created = first + SignedDuration::from_secs(i as i64 * step);
            batch.push(ticket(
                &mut rng,
                i,
                i >= open_from,
                &catalog,
                &world,
                created,
            ));
        }
        let mut tx = store.write().await?;
        let ids = tickets::insert_many(&mut tx, &batch).await?;
        let mut notes = Vec::new();
        let mut entries = Vec::new();
        let mut changes = Vec::new();
        for (t, id) in batch.iter().zip(&ids) {
            let closed = t.resolved_at.is_some();
            for n in 0..rng.next(4) {
                notes.push(Note {
                    id: NoteId(0),
                    ticket_id: *id,
                    title: None,
                    body: (*rng.pick(&NOTES)).to_owned(),
                    visibility: if n == 0 {
                        Visibility::External
                    } else {
                        Visibility::Internal
                    },
                    kind: NoteKind::Note,
                    author: "bench".into(),
                    contact_id: None,
                    created_at: t.created_at + SignedDuration::from_mins(10 * (n as i64 + 1)),
                });
            }
            if closed || rng.next(2) == 0 {
                let minutes = 15 + 15 * rng.next(8) as i64;
                entries.push(TimeEntry {
                    id: TimeEntryId(0),
                    ticket_id: *id,
                    resource_id: *rng.pick(&world.resources),
                    started_at: Some(t.created_at + SignedDuration::from_mins(30)),
                    ended_at: Some(t.created_at + SignedDuration::from_mins(30 + minutes)),
                    minutes,
                    billable: rng.next(5) != 0,
                    notes: None,
                    note_id: None,
                    created_at: t.created_at + SignedDuration::from_mins(30 + minutes),
                });
            }
            changes.push((*id, 1, "created", None, Some(t.number.clone())));
            if closed {
                changes.push((
                    *id,
                    2,
                    "status_id",
                    Some("1".to_owned()),
                    Some("2".to_owned()),
                ));
                changes.push((
                    *id,
                    3,
                    "status_id",
                    Some("2".to_owned()),
                    Some(t.status_id.0.to_string()),
                ));
            } else if rng.next(2) == 0 {
                changes.push((
                    *id,
                    2,
                    "status_id",
                    Some("1".to_owned()),
                    Some(t.status_id.0.to_string()),
                ));
            }
        }
        work::insert_notes(&mut tx, &notes).await?;
        work::insert_time_entries(&mut tx, &entries).await?;
        let changes: Vec<(TicketId, i64, FieldChange)> = changes
            .into_iter()
            .map(|(id, version, field, old, new)| {
                (
                    id,
                    version,
                    FieldChange {
                        field: field.to_owned(),
                        old,
                        new,
                    },
                )
            })
            .collect();
        let rows: Vec<(TicketId, i64, &FieldChange)> =
            changes.iter().map(|(id, v, c)| (*id, *v, c)).collect();
        let at = batch.last().map_or(now, |t| t.created_at);
        tickets::write_history_rows(&mut tx, &rows, at, "bench").await?;
        Store::commit(tx).await?;
        done += count;
        if (done / BATCH as u64).is_power_of_two() {
            // Statistics that keep up with the growing tables, so that no plan made
            // for an empty table is kept for a large one.
            store.analyze().await?;
        }
        let elapsed = started.elapsed().as_secs_f64();
        eprint!(
            "\r  dataset: {done:>9} / {total} tickets  {:>5.1}%  {:>6.0} tickets/s",
            done as f64 * 100.0 / total as f64,
            done as f64 / elapsed.max(0.001)
        );
    }
    eprintln!();
    store.after_bulk_load().await?;
    store.analyze().await?;
    Ok(Built {
        tickets: total,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The parties tickets refer to.
struct World {
    companies: Vec<CompanyId>,
    contacts: Vec<Vec<ContactId>>,
    resources: Vec<ResourceId>,
    roles: Vec<RoleId>,
    queues: Vec<i64>,
}

fn ticket(
    rng: &mut Rng,
    i: u64,
    open: bool,
    catalog: &fixpoint_core::catalog::Catalog,
    world: &World,
    created: Timestamp,
) -> Ticket {
    let World {
        companies,
        contacts,
        resources,
        roles,
        queues,
    } = world;
    let c = rng.next(companies.len() as u64) as usize;
    let mut queue_roll = rng.next(100);
    let queue = QUEUE_WEIGHTS
        .iter()
        .position(|w| {
            let hit = queue_roll < *w;
            queue_roll = queue_roll.saturating_sub(*w);
            hit
        })
        .unwrap_or(0);
    let rare = if i % 100_000 == 7 {
        format!(" {RARE_WORD}")
    } else {
        String::new()
    };
    let priority = PriorityId(1 + rng.next(4) as i64);
    let mut t = NewTicket {
        title: format!("{} in {}{rare}", rng.pick(&PROBLEMS), rng.pick(&PLACES)),
        description: Some(format!(
            "Reported by phone. {} Ticket reference {i}.",
            rng.pick(&NOTES)
        )),
        company_id: companies[c],
        contact_id: Some(*rng.pick(&contacts[c])),
        priority_id: Some(priority),
        queue_id: Some(QueueId(queues[queue])),
        ..Default::default()
    }
    .into_ticket(catalog, created);
    if rng.next(5) != 0 {
        t.assigned_resource_id = Some(*rng.pick(resources));
        t.assigned_role_id = Some(*rng.pick(roles));
    }
    // Numbered by the store from the day's sequence, as live creates are.
    t.number = String::new();
    let hours = [4, 8, 24, 72][priority.0 as usize - 1];
    t.sla_policy_id = Some(SlaPolicyId(1));
    t.due_at = Some(created + SignedDuration::from_hours(hours));
    t.response_due_at = Some(created + SignedDuration::from_hours(hours / 4));
    t.resolution_due_at = t.due_at;
    t.first_response_at = Some(created + SignedDuration::from_mins(5 + rng.next(120) as i64));
    if open {
        t.status_id = *rng.pick(&[
            seeded::NEW,
            seeded::IN_PROGRESS,
            seeded::IN_PROGRESS,
            seeded::WAITING_CUSTOMER,
            seeded::ESCALATED,
        ]);
    } else {
        let resolved = created + SignedDuration::from_mins(20 + rng.next(hours as u64 * 90) as i64);
        t.status_id = seeded::COMPLETE;
        t.resolution = Some("Fixed and confirmed with the user.".into());
        t.resolved_at = Some(resolved);
        t.completed_at = Some(resolved);
        t.sla_clock.resolution_business_seconds = Some(resolved.duration_since(created).as_secs());
    }
    t.updated_at = t.resolved_at.unwrap_or(created);
    t.last_activity_at = t.updated_at;
    t
}
