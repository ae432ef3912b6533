//! `fixpoint seed-demo`: a believable small MSP, written through the service layer so
//! every rule applies to the demo data as to real data.

use anyhow::{Context, bail};
use fixpoint_core::catalog::seeded;
use fixpoint_core::ids::*;
use fixpoint_core::parties::*;
use fixpoint_core::ticket::{NewTicket, Source, TicketPatch};
use fixpoint_core::time_entry::{NewNote, NewTimeEntry, NoteKind, Visibility};
use fixpoint_server::service::{catalog as catalog_service, parties, tickets};
use fixpoint_store::parties::{NamedTable, Page, PartyFilter};
use fixpoint_store::{Store, catalog};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ACTOR: &str = "demo-seed";

const COMPANIES: &[(&str, Option<usize>, &str)] = &[
    ("Northwind Holdings", None, "northwind.example"),
    (
        "Northwind Logistics",
        Some(0),
        "logistics.northwind.example",
    ),
    ("Contoso Dental Group", None, "contosodental.example"),
    ("Fabrikam Architects", None, "fabrikam.example"),
    ("Tailspin Accounting", None, "tailspin.example"),
    ("Adatum Legal LLP", None, "adatum-legal.example"),
    ("Wingtip Veterinary", None, "wingtipvet.example"),
    ("Litware Manufacturing", None, "litware.example"),
];

const PEOPLE: &[(&str, &str)] = &[
    ("John", "Smith"),
    ("Maria", "Garcia"),
    ("Wei", "Chen"),
    ("Aisha", "Khan"),
    ("Lars", "Nilsson"),
    ("Chloe", "Martin"),
    ("Tomás", "Silva"),
    ("Priya", "Patel"),
    ("Noah", "Brown"),
    ("Yuki", "Tanaka"),
    ("Fatima", "Haddad"),
    ("Oliver", "Jones"),
];

const TECHNICIANS: &[(&str, &str)] = &[
    ("Jane", "Tech"),
    ("Sam", "Okafor"),
    ("Ravi", "Menon"),
    ("Elena", "Rossi"),
    ("Mike", "Novak"),
    ("Grace", "Lee"),
];

const ISSUES: &[(&str, &[&str])] = &[
    ("Email", &["Outlook", "Shared mailbox", "Spam filtering"]),
    ("Network", &["VPN", "Wi-Fi", "Firewall"]),
    ("Hardware", &["Laptop", "Printer", "Monitor"]),
    ("Accounts", &["Password reset", "New starter", "Leaver"]),
    (
        "Software",
        &["Line-of-business app", "Microsoft 365", "Updates"],
    ),
];

const TITLES: &[(&str, usize, usize)] = &[
    ("Outlook keeps asking for password", 0, 0),
    ("Shared mailbox not showing in Outlook", 0, 1),
    ("Invoices landing in junk folder", 0, 2),
    ("VPN disconnects every 10 minutes", 1, 0),
    ("Wi-Fi drops in the back office", 1, 1),
    ("Firewall blocking supplier portal", 1, 2),
    ("Laptop will not boot after update", 2, 0),
    ("Printer on 2nd floor jams constantly", 2, 1),
    ("Second monitor flickering", 2, 2),
    ("Locked out of account", 3, 0),
    ("New starter on Monday needs accounts", 3, 1),
    ("Disable accounts for leaver", 3, 2),
    ("Practice management software crashes on save", 4, 0),
    ("Teams calls dropping audio", 4, 1),
    ("Windows updates failing on reception PC", 4, 2),
];

pub async fn seed(store: &Store, tickets_wanted: usize) -> anyhow::Result<()> {
    let existing = parties::companies(
        store,
        &PartyFilter::default(),
        &Page {
            after: None,
            limit: 1,
        },
    )
    .await?;
    if !existing.is_empty() {
        bail!("the database already holds companies; seed-demo only fills an empty database");
    }
    let mut rng = StdRng::seed_from_u64(20261124);

    let mut companies = Vec::new();
    for (name, parent, domain) in COMPANIES {
        let company = parties::create_company(
            store,
            NewCompany {
                name: (*name).into(),
                parent_company_id: parent
                    .map(|i: usize| companies.get(i).map(|c: &Company| c.id))
                    .flatten(),
                phone: Some(format!("+1 555 01{:02}", companies.len())),
                website: Some(format!("https://{domain}")),
                active: true,
            },
        )
        .await?;
        parties::create_location(
            store,
            company.id,
            NewLocation {
                name: "Head office".into(),
                address: Some(format!("1 Main Street, {name}")),
                active: true,
            },
        )
        .await?;
        companies.push(company);
    }

    let mut contacts: Vec<Contact> = Vec::new();
    for (i, company) in companies.iter().enumerate() {
        let domain = COMPANIES[i].2;
        for k in 0..3 {
            let (first, last) = PEOPLE[(i * 3 + k) % PEOPLE.len()];
            let email = format!("{}.{}@{domain}", first.to_lowercase(), last.to_lowercase())
                .replace('á', "a");
            contacts.push(
                parties::create_contact(
                    store,
                    NewContact {
                        company_id: company.id,
                        first_name: first.into(),
                        last_name: last.into(),
                        email: Some(email),
                        phone: None,
                        language: None,
                        active: true,
                    },
                )
                .await?,
            );
        }
    }

    let mut technicians = Vec::new();
    for (first, last) in TECHNICIANS {
        technicians.push(
            parties::create_resource(
                store,
                NewResource {
                    first_name: (*first).into(),
                    last_name: (*last).into(),
                    email: format!("{}@fixpoint-msp.example", first.to_lowercase()),
                    active: true,
                },
            )
            .await?,
        );
    }
    let mut roles = Vec::new();
    for name in ["Tier 1 Support", "Tier 2 Support", "Network Engineer"] {
        roles.push(RoleId(
            parties::create_named(
                store,
                NamedTable::Roles,
                NewNamed {
                    name: name.into(),
                    active: true,
                },
            )
            .await?,
        ));
    }
    let mut queues = Vec::new();
    for name in ["Service Desk", "Triage", "Projects", "Escalations"] {
        let queue = NewQueue {
            name: name.into(),
            active: true,
            sla_policy_id: None,
        };
        queues.push(parties::create_queue(store, queue).await?.id);
    }
    for company in &companies {
        parties::create_contract(
            store,
            NewContract {
                company_id: company.id,
                name: format!("{} managed services", company.name),
                sla_policy_id: None,
                active: true,
            },
        )
        .await?;
    }
    let mut issues = Vec::new();
    for (issue, subs) in ISSUES {
        let parent = catalog_service::create_issue_type(
            store,
            catalog_service::NewIssueType {
                name: (*issue).into(),
                parent_id: None,
                active: true,
            },
        )
        .await?;
        let mut children = Vec::new();
        for sub in *subs {
            children.push(
                catalog_service::create_issue_type(
                    store,
                    catalog_service::NewIssueType {
                        name: (*sub).into(),
                        parent_id: Some(parent.id),
                        active: true,
                    },
                )
                .await?
                .id,
            );
        }
        issues.push((parent.id, children));
    }

    // Tickets arrive over the last two weeks, and each is worked in the hours after,
    // so the SLA clocks show every state.
    let start = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(14 * 24);
    let spacing = jiff::SignedDuration::from_secs(14 * 24 * 3600 / tickets_wanted.max(1) as i64);
    for n in 0..tickets_wanted {
        let opened = start + spacing * n as i32;
        let mut at = opened;
        let mut later = |rng: &mut StdRng| {
            at += jiff::SignedDuration::from_mins(rng.random_range(10..240));
            at
        };
        let contact = &contacts[rng.random_range(0..contacts.len())];
        let (title, issue, sub) = TITLES[rng.random_range(0..TITLES.len())];
        let priority = [
            seeded::CRITICAL,
            seeded::HIGH,
            seeded::MEDIUM,
            seeded::MEDIUM,
            seeded::LOW,
        ][rng.random_range(0..5)];
        let source =
            [Source::Email, Source::Phone, Source::Portal, Source::Agent][rng.random_range(0..4)];
        let new = NewTicket {
            title: title.into(),
            description: Some(format!(
                "Reported by {} {}. {}",
                contact.first_name, contact.last_name, "User says it started this morning."
            )),
            company_id: contact.company_id,
            contact_id: Some(contact.id),
            priority_id: Some(priority),
            type_id: Some(if n % 7 == 0 {
                seeded::INCIDENT
            } else {
                seeded::SERVICE_REQUEST
            }),
            queue_id: Some(queues[rng.random_range(0..2)]),
            issue_type_id: Some(issues[issue].0),
            sub_issue_type_id: Some(issues[issue].1[sub]),
            categories: vec![ISSUES[issue].0.into(), ISSUES[issue].1[sub].into()],
            source: Some(source),
            due_at: Some(
                jiff::Timestamp::now()
                    + jiff::SignedDuration::from_hours(rng.random_range(-24..96)),
            ),
            ..NewTicket::default()
        };
        let created = match tickets::create(store, ACTOR, new, None, opened).await? {
            tickets::Created::New(outcome) => outcome.view.ticket,
            tickets::Created::Replayed(_) => unreachable!("no idempotency key was sent"),
        };
        let id = created.id;
        let tech = &technicians[rng.random_range(0..technicians.len())];
        let role = roles[rng.random_range(0..roles.len())];
        // Walk each ticket part of the way through its life; the spread covers every status.
        let stage = n % 10;
        if stage == 0 {
            continue;
        }
        step(
            store,
            id,
            later(&mut rng),
            TicketPatch {
                status_id: Some(seeded::IN_PROGRESS),
                assigned_resource_id: Some(Some(tech.id)),
                assigned_role_id: Some(Some(role)),
                ..Default::default()
            },
        )
        .await?;
        note(
            store,
            id,
            later(&mut rng),
            "Initial triage",
            "Checked the user's device and reproduced the fault.",
            Visibility::Internal,
            NoteKind::Note,
        )
        .await?;
        tickets::log_time(
            store,
            ACTOR,
            id,
            NewTimeEntry {
                resource_id: tech.id,
                started_at: None,
                ended_at: None,
                minutes: Some(rng.random_range(10..90)),
                billable: rng.random_bool(0.8),
                notes: Some("Diagnosis".into()),
            },
            later(&mut rng),
        )
        .await?;
        let next = match stage {
            1 => None,
            2 => Some(TicketPatch {
                status_id: Some(seeded::WAITING_CUSTOMER),
                ..Default::default()
            }),
            3 => Some(TicketPatch {
                status_id: Some(seeded::WAITING_THIRD_PARTY),
                ..Default::default()
            }),
            4 => Some(TicketPatch {
                status_id: Some(seeded::WAITING_MATERIALS),
                ..Default::default()
            }),
            5 => Some(TicketPatch {
                status_id: Some(seeded::ON_HOLD),
                ..Default::default()
            }),
            6 => Some(TicketPatch {
                status_id: Some(seeded::ESCALATED),
                escalation_reason: Some(Some(
                    "Needs a senior engineer: root cause is in the firewall configuration".into(),
                )),
                ..Default::default()
            }),
            7 => Some(TicketPatch {
                status_id: Some(seeded::PENDING),
                ..Default::default()
            }),
            8 => Some(TicketPatch {
                status_id: Some(seeded::RESOLVED),
                resolution: Some(Some("Applied the fix and confirmed with the user.".into())),
                ..Default::default()
            }),
            _ => Some(TicketPatch {
                status_id: Some(seeded::COMPLETE),
                resolution: Some(Some("Fixed and confirmed with the user; closing.".into())),
                ..Default::default()
            }),
        };
        if let Some(patch) = next {
            step(store, id, later(&mut rng), patch).await?;
            note(
                store,
                id,
                later(&mut rng),
                "Update",
                "We are working on this and will keep you posted.",
                Visibility::External,
                NoteKind::Email,
            )
            .await?;
        }
    }
    let mut conn = store.read().await?;
    let statuses = catalog::statuses(&mut conn).await?;
    println!(
        "Seeded {} companies, {} contacts, {} technicians and {} tickets across {} statuses.",
        companies.len(),
        contacts.len(),
        technicians.len(),
        tickets_wanted,
        statuses.len()
    );
    Ok(())
}

async fn step(
    store: &Store,
    id: TicketId,
    at: jiff::Timestamp,
    patch: TicketPatch,
) -> anyhow::Result<()> {
    tickets::update(store, ACTOR, id, patch, None, at)
        .await
        .with_context(|| format!("moving demo ticket {id}"))?;
    Ok(())
}

async fn note(
    store: &Store,
    id: TicketId,
    at: jiff::Timestamp,
    title: &str,
    body: &str,
    visibility: Visibility,
    kind: NoteKind,
) -> anyhow::Result<()> {
    tickets::add_note(
        store,
        ACTOR,
        id,
        NewNote {
            title: Some(title.into()),
            body: body.into(),
            visibility,
            kind,
            ..Default::default()
        },
        at,
    )
    .await?;
    Ok(())
}
