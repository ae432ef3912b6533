//! The query language: the search endpoint's contract, and a differential property
//! test holding the SQL compilation (SQLite, or PostgreSQL when
//! FIXPOINT_TEST_POSTGRES_URL is set) to the in-memory meaning in fixpoint-core.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::{COMPLETE, IN_PROGRESS, RESOLVED, WAITING_CUSTOMER, spawn_app};
use fixpoint_core::catalog::StatusCategory;
use fixpoint_core::filter::{Sort, SortKey};
use fixpoint_core::ids::*;
use fixpoint_core::query::{self, Facts, Node};
use fixpoint_core::sla::ClockState;
use fixpoint_core::ticket::{Source, Ticket};
use fixpoint_core::time_entry::{Note, NoteKind, Visibility};
use fixpoint_store::tickets::{self as store_tickets, ListQuery};
use fixpoint_store::{catalog, work};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn search_finds_words_in_notes_and_ranks_title_matches_first() {
    let app = spawn_app().await;
    let world = app.world().await;
    let in_note = app.ticket(&world, "Laptop will not boot").await;
    let in_title = app.ticket(&world, "Toner cartridge empty").await;
    app.ticket(&world, "Password reset").await;
    app.post(
        &format!("/tickets/{}/notes", in_note["id"]),
        json!({"body": "Swapped the TONER while there.", "visibility": "internal"}),
    )
    .await
    .expect(201);

    let found = app
        .post("/tickets/search", json!({"q": "toner"}))
        .await
        .expect(200);
    let ids: Vec<_> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(ids, vec![in_title["id"].clone(), in_note["id"].clone()]);
    assert_eq!(found["total"], 2);

    let both = app
        .post(
            "/tickets/search",
            json!({"filter": {"op": "and", "items": [
                {"op": "text", "value": "toner boot"},
                {"op": "eq", "field": "QUEUE_ID", "value": world.queue}
            ]}}),
        )
        .await
        .expect(200);
    assert_eq!(both["total"], 1, "{both}");
    assert_eq!(both["items"][0]["id"], in_note["id"]);

    let listed = app
        .get("/tickets?q=TONER&sort=-created_at")
        .await
        .expect(200);
    assert_eq!(listed["total"], 2);
    assert_eq!(listed["items"][0]["id"], in_title["id"]);

    // A client that shows no count can skip counting; the page is the same.
    let uncounted = app
        .get("/tickets?q=TONER&sort=-created_at&total=false")
        .await
        .expect(200);
    assert!(uncounted.get("total").is_none(), "{uncounted}");
    assert_eq!(uncounted["items"], listed["items"]);
    let searched = app
        .post("/tickets/search", json!({"q": "toner", "total": false}))
        .await
        .expect(200);
    assert!(searched.get("total").is_none(), "{searched}");
    assert_eq!(searched["items"].as_array().unwrap().len(), 2);
    app.get("/tickets?total=maybe")
        .await
        .problem(422, "invalid_field", Some("total"));
}

/// A created ticket's search document is made from the ticket as written, not read
/// back (`fixpoint_store::search::index_new`): it must be the document that a refresh
/// makes from the database, word for word, on both backends.
#[tokio::test]
async fn a_created_tickets_search_document_is_the_one_a_refresh_writes() {
    let app = spawn_app().await;
    let world = app.world().await;
    let texts = [
        (
            "Outlook: jane.doe@example.com can't log in",
            Some("C:\\Users\\jdoe\\ost (v1.5.2); error 0x80070005!"),
        ),
        (
            "Naïve café — ÜBER Straße",
            Some("tabs\tand\nnew lines,  two spaces"),
        ),
        ("日本語のテキスト #42", None),
        (
            "--- [brackets] {braces} ~tilde~ `ticks` ^caret^ _under_ |pipe| ---",
            Some(""),
        ),
        ("  leading and trailing  ", Some("  ")),
        (
            "Printer on 3rd floor",
            Some("It's \"offline\"... again?! 50% of jobs <lost>"),
        ),
    ];
    let mut ids = Vec::new();
    for (title, description) in texts {
        let created = app
            .post(
                "/tickets",
                json!({"title": title, "description": description, "company_id": world.company}),
            )
            .await
            .expect(201);
        ids.push(TicketId(created["id"].as_i64().unwrap()));
    }
    let written = search_documents(&app).await;
    assert_eq!(written.len(), texts.len(), "{written:?}");

    let mut tx = app.store.write().await.unwrap();
    fixpoint_store::search::refresh(&mut tx, &ids)
        .await
        .unwrap();
    fixpoint_store::Store::commit(tx).await.unwrap();
    assert_eq!(written, search_documents(&app).await);

    let found = app
        .post("/tickets/search", json!({"q": "doe example"}))
        .await
        .expect(200);
    assert_eq!(found["items"][0]["id"], ids[0].0, "{found}");
}

/// Every search document, as text, by ticket id.
async fn search_documents(app: &common::App) -> Vec<(i64, String)> {
    if app.database_url.starts_with("postgres") {
        let db = sqlx::PgPool::connect(&app.database_url).await.unwrap();
        sqlx::query_as("SELECT ticket_id, document::text FROM ticket_search ORDER BY ticket_id")
            .fetch_all(&db)
            .await
            .unwrap()
    } else {
        let db = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
        sqlx::query_as("SELECT rowid, title || '|' || body FROM ticket_search ORDER BY rowid")
            .fetch_all(&db)
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn search_pages_with_cursors_to_the_end() {
    let app = spawn_app().await;
    let world = app.world().await;
    for i in 0..7 {
        app.ticket(&world, &format!("Printer {i} jammed")).await;
    }
    for sort in ["relevance", "-created_at", "due_at", "priority"] {
        let mut seen = Vec::new();
        let mut cursor = Value::Null;
        loop {
            let mut body = json!({"q": "printer", "limit": 3, "sort": sort});
            if !cursor.is_null() {
                body["cursor"] = cursor.clone();
            }
            let page = app.post("/tickets/search", body).await.expect(200);
            assert_eq!(page["total"], 7);
            seen.extend(
                page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["id"].as_i64().unwrap()),
            );
            cursor = page["next_cursor"].clone();
            if cursor.is_null() {
                break;
            }
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 7, "sort {sort} visits every ticket once");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn search_errors_name_the_offending_node() {
    let app = spawn_app().await;
    let bad = app
        .post(
            "/tickets/search",
            json!({"filter": {"op": "and", "items": [
                {"op": "eq", "field": "status_id", "value": 1},
                {"op": "or", "items": [{"op": "eq", "field": "title", "value": "x"}]},
                {"op": "like", "field": "title", "value": "x"}
            ]}}),
        )
        .await;
    let problem = bad.problem(422, "invalid_field", Some("filter.items[2].op"));
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("op")
            || problem.to_string().contains("beginsWith"),
        "{problem}"
    );

    app.post(
        "/tickets/search",
        json!({"filter": [{"op": "gt", "field": "custom.Site", "udf": 3}]}),
    )
    .await
    .problem(422, "invalid_field", Some("filter[0].udf"));
    app.post(
        "/tickets/search",
        json!({"filter": {"op": "in", "field": "id", "value": (0..501).collect::<Vec<_>>()}}),
    )
    .await
    .problem(422, "too_many", Some("filter.value"));
    app.post("/tickets/search", json!({"sort": "relevance"}))
        .await
        .problem(422, "invalid_field", Some("sort"));
    app.post("/tickets/search", json!({"q": "x", "cursor": "12_3"}))
        .await
        .problem(422, "invalid_field", Some("cursor"));
    app.post(
        "/tickets/search",
        json!({"q": "x", "cursor": "o18446744073709551615"}),
    )
    .await
    .problem(422, "invalid_field", Some("cursor"));
    app.post("/tickets/search", json!({"filters": []}))
        .await
        .problem(422, "invalid_field", Some("filters"));
    app.post("/tickets/search", json!({"limit": 501}))
        .await
        .problem(422, "out_of_range", Some("limit"));
}

// ---- The differential property test ----

const WORDS: [&str; 10] = [
    "printer", "Toner", "VPN", "outage", "reboot", "Émile", "émile", "50%", "off_site", "zebra",
];

/// A deterministic generator for the dataset (the trees come from proptest).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next(100) < percent
    }
    fn words(&mut self, count: u64) -> String {
        (0..1 + self.next(count))
            .map(|_| WORDS[self.next(WORDS.len() as u64) as usize])
            .collect::<Vec<_>>()
            .join(if self.chance(50) { " " } else { ", " })
    }
}

const BASE: i64 = 1_790_000_000;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(BASE + seconds).unwrap()
}

fn dataset(companies: &[i64], queues: &[i64], policies: &[i64]) -> (Vec<Ticket>, Vec<Note>) {
    let mut rng = Lcg(42);
    let mut tickets = Vec::new();
    let pick = |rng: &mut Lcg, from: &[i64]| from[rng.next(from.len() as u64) as usize];
    for i in 0..120 {
        let created = at(rng.next(100_000) as i64);
        let maybe_at = |rng: &mut Lcg| {
            rng.chance(60)
                .then(|| created + SignedDuration::from_secs(rng.next(200_000) as i64 - 50_000))
        };
        let mut custom = BTreeMap::new();
        if rng.chance(50) {
            custom.insert("Dept".to_owned(), rng.words(1));
        }
        if rng.chance(30) {
            custom.insert("Site id".to_owned(), format!("{}", rng.next(20)));
        }
        let categories = (0..rng.next(3)).map(|_| rng.words(1)).collect();
        let resolved_at = rng
            .chance(40)
            .then(|| created + SignedDuration::from_secs(rng.next(90_000) as i64));
        tickets.push(Ticket {
            id: TicketId(0),
            number: format!("T20260901.{i:04}"),
            title: rng.words(4),
            description: rng.chance(70).then(|| rng.words(6)),
            company_id: CompanyId(pick(&mut rng, companies)),
            location_id: None,
            contact_id: None,
            status_id: StatusId(1 + rng.next(10) as i64),
            priority_id: PriorityId(1 + rng.next(4) as i64),
            type_id: TicketTypeId(1 + rng.next(4) as i64),
            ticket_category_id: rng.chance(50).then_some(TicketCategoryId(1)),
            queue_id: rng.chance(70).then(|| QueueId(pick(&mut rng, queues))),
            issue_type_id: None,
            sub_issue_type_id: None,
            categories,
            source: Source::ALL[rng.next(6) as usize],
            assigned_resource_id: None,
            assigned_role_id: None,
            secondary_resource_ids: Vec::new(),
            contract_id: None,
            due_at: maybe_at(&mut rng),
            estimated_minutes: rng.chance(50).then(|| rng.next(600) as i64),
            resolution: resolved_at.map(|_| rng.words(3)),
            escalation_reason: None,
            problem_ticket_id: None,
            custom_fields: custom,
            created_at: created,
            updated_at: created,
            first_response_at: maybe_at(&mut rng),
            resolution_plan_at: maybe_at(&mut rng),
            resolved_at,
            completed_at: None,
            last_activity_at: created,
            sla_policy_id: rng
                .chance(80)
                .then(|| SlaPolicyId(pick(&mut rng, policies))),
            response_due_at: maybe_at(&mut rng),
            resolution_plan_due_at: maybe_at(&mut rng),
            resolution_due_at: maybe_at(&mut rng),
            sla_clock: ClockState {
                paused_seconds: 0,
                paused_since: rng.chance(20).then_some(created),
                resolution_business_seconds: None,
                starts_at: maybe_at(&mut rng),
                response_at_risk_at: maybe_at(&mut rng),
                resolution_at_risk_at: maybe_at(&mut rng),
            },
            version: 1 + rng.next(5) as i64,
        });
    }
    let notes = (0..80)
        .map(|_| Note {
            id: NoteId(0),
            // An index into the dataset until the tickets have ids.
            ticket_id: TicketId(rng.next(120) as i64),
            title: rng.chance(30).then(|| rng.words(2)),
            body: rng.words(5),
            visibility: Visibility::Internal,
            kind: NoteKind::Note,
            author: "test".into(),
            contact_id: None,
            created_at: at(100_000),
        })
        .collect();
    (tickets, notes)
}

fn scalar_for(field: &str) -> BoxedStrategy<Value> {
    let word = proptest::sample::select(WORDS.to_vec()).prop_map(|w| json!(w));
    let fragment = proptest::sample::select(vec!["PRI", "ner", "%", "_", "É", "mile", "1", ""])
        .prop_map(|w| json!(w));
    let instant = (-50_000i64..250_000).prop_map(|s| json!(at(s).to_string()));
    match field {
        "status_id" => (0i64..12).prop_map(|v| json!(v)).boxed(),
        "priority_id" | "type_id" => (0i64..6).prop_map(|v| json!(v)).boxed(),
        "id" => (0i64..130).prop_map(|v| json!(v)).boxed(),
        "company_id" | "queue_id" | "sla_policy_id" | "ticket_category_id" => {
            (0i64..8).prop_map(|v| json!(v)).boxed()
        }
        "estimated_minutes" => (0i64..600).prop_map(|v| json!(v)).boxed(),
        "version" => (0i64..7).prop_map(|v| json!(v)).boxed(),
        "source" => proptest::sample::select(vec!["api", "EMAIL", "phone", "portal"])
            .prop_map(|v| json!(v))
            .boxed(),
        "custom.Site id" => (0i64..20).prop_map(|v| json!(v.to_string())).boxed(),
        "status_category" => {
            proptest::sample::select(vec!["new", "in_progress", "waiting", "resolved", "closed"])
                .prop_map(|v| json!(v))
                .boxed()
        }
        "sla_state" => proptest::sample::select(vec![
            "not_started",
            "running",
            "at_risk",
            "paused",
            "met",
            "breached",
        ])
        .prop_map(|v| json!(v))
        .boxed(),
        f if f.ends_with("_at") => instant.boxed(),
        _ => prop_oneof![word, fragment].boxed(),
    }
}

const FIELDS: [&str; 23] = [
    "id",
    "ticket_category_id",
    "title",
    "description",
    "status_id",
    "priority_id",
    "type_id",
    "company_id",
    "queue_id",
    "sla_policy_id",
    "estimated_minutes",
    "version",
    "source",
    "category_1",
    "category_2",
    "resolution",
    "created_at",
    "due_at",
    "resolved_at",
    "response_due_at",
    "custom.Dept",
    "custom.Site id",
    "status_category",
];

fn leaf() -> BoxedStrategy<Value> {
    let field = proptest::sample::select(
        FIELDS
            .iter()
            .copied()
            .chain(["sla_state"])
            .collect::<Vec<_>>(),
    );
    let comparison = field.prop_flat_map(|field| {
        let named = matches!(field, "status_category" | "sla_state");
        let text = is_text(field);
        let ops: Vec<&str> = if named {
            vec!["eq", "noteq", "in", "notIn"]
        } else if text {
            vec![
                "eq",
                "noteq",
                "gt",
                "gte",
                "lt",
                "lte",
                "between",
                "in",
                "notIn",
                "exist",
                "notExist",
                "contains",
                "beginsWith",
                "endsWith",
            ]
        } else {
            vec![
                "eq", "noteq", "gt", "gte", "lt", "lte", "between", "in", "notIn", "exist",
                "notExist",
            ]
        };
        (
            Just(field),
            proptest::sample::select(ops),
            scalar_for(field),
            proptest::collection::vec(scalar_for(field), 1..4),
        )
            .prop_map(|(field, op, one, many)| match op {
                "exist" | "notExist" => json!({"op": op, "field": field}),
                "in" | "notIn" => json!({"op": op, "field": field, "value": many}),
                "between" => {
                    let hi = many[0].clone();
                    json!({"op": op, "field": field, "value": [one, hi]})
                }
                _ => json!({"op": op, "field": field, "value": one}),
            })
    });
    let text = proptest::collection::vec(proptest::sample::select(WORDS.to_vec()), 1..3)
        .prop_map(|w| json!({"op": "text", "value": w.join(" ")}));
    prop_oneof![8 => comparison, 1 => text].boxed()
}

fn is_text(field: &str) -> bool {
    matches!(
        field,
        "title"
            | "description"
            | "source"
            | "category_1"
            | "category_2"
            | "resolution"
            | "custom.Dept"
            | "custom.Site id"
    )
}

fn tree() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        (
            proptest::sample::select(vec!["and", "or", "not"]),
            proptest::collection::vec(inner, 1..4),
        )
            .prop_map(|(op, items)| json!({"op": op, "items": items}))
    })
}

/// The differential tests' world: a server with 120 generated tickets and their notes,
/// as stored, with each status's category.
struct Differential {
    rt: tokio::runtime::Runtime,
    app: common::App,
    stored: Vec<Ticket>,
    categories: HashMap<StatusId, StatusCategory>,
    notes: HashMap<TicketId, String>,
}

impl Differential {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let (app, stored, categories, notes) = rt.block_on(async {
            let app = spawn_app().await;
            let world = app.world().await;
            let other = app.created("/companies", json!({"name": "Globex"})).await;
            let queue = app.created("/queues", json!({"name": "Projects"})).await;
            let mut tx = app.store.write().await.unwrap();
            let policies: Vec<i64> = fixpoint_store::sla::policies(&mut tx)
                .await
                .unwrap()
                .iter()
                .map(|p| p.id.0)
                .collect();
            let (tickets, mut notes) =
                dataset(&[world.company, other], &[world.queue, queue], &policies);
            let ids = store_tickets::insert_many(&mut tx, &tickets).await.unwrap();
            for n in &mut notes {
                n.ticket_id = ids[n.ticket_id.0 as usize];
            }
            work::insert_notes(&mut tx, &notes).await.unwrap();
            let categories: HashMap<StatusId, StatusCategory> = catalog::statuses(&mut tx)
                .await
                .unwrap()
                .into_iter()
                .map(|s| (s.id, s.category))
                .collect();
            fixpoint_store::Store::commit(tx).await.unwrap();
            let mut text: HashMap<TicketId, String> = HashMap::new();
            for n in &notes {
                let entry = text.entry(n.ticket_id).or_default();
                entry.push_str(&format!(" {} {}", n.title.as_deref().unwrap_or(""), n.body));
            }
            let stored = everything(&app.store, &Node::everything()).await;
            assert_eq!(stored.len(), 120);
            (app, stored, categories, text)
        });
        Self {
            rt,
            app,
            stored,
            categories,
            notes,
        }
    }

    /// The tickets the in-memory meaning selects, in store order.
    fn expected(&self, node: &Node, now: Timestamp) -> Vec<&Ticket> {
        let facts = Facts {
            now,
            category: &|id| self.categories.get(&id).copied(),
            notes: &|id| self.notes.get(&id).cloned().unwrap_or_default(),
        };
        self.stored
            .iter()
            .filter(|t| node.matches(t, &facts))
            .collect()
    }
}

#[test]
fn sql_and_memory_agree_on_random_filters() {
    let world = Differential::new();
    let now = at(60_000);
    let mut runner = TestRunner::new(Config {
        cases: 400,
        ..Config::default()
    });
    let matched_some = std::cell::Cell::new(0);
    runner
        .run(&tree(), |json| {
            let node = query::parse(&json, "filter").expect("generated filters are valid");
            let mut expected: Vec<i64> =
                world.expected(&node, now).iter().map(|t| t.id.0).collect();
            expected.sort();
            let mut actual: Vec<i64> = world
                .rt
                .block_on(list_ids(&world.app.store, &node, now))
                .into_iter()
                .collect();
            actual.sort();
            if !expected.is_empty() && expected.len() < world.stored.len() {
                matched_some.set(matched_some.get() + 1);
            }
            prop_assert_eq!(actual, expected, "filter {}", json);
            Ok(())
        })
        .unwrap();
    let matched_some = matched_some.get();
    assert!(
        matched_some > 100,
        "the trees discriminate: {matched_some} of 400 matched some but not all"
    );
}

/// A queue's filter kept to a few statuses is read status by status and merged (by
/// due date on PostgreSQL), or in one query (other orders, SQLite); paged by cursor
/// either way, it visits the same tickets in the same order as sorting the in-memory
/// matches.
#[test]
fn lists_kept_to_some_statuses_page_in_order() {
    let world = Differential::new();
    let now = at(60_000);
    let statuses = proptest::sample::select(vec![
        json!({"op": "in", "field": "status_category", "value": ["new", "in_progress", "waiting"]}),
        json!({"op": "noteq", "field": "status_category", "value": "closed"}),
        json!({"op": "notIn", "field": "status_id", "value": [2, 5]}),
        json!({"op": "in", "field": "status_id", "value": [1, 3, 4, 7, 99]}),
        json!({"op": "eq", "field": "status_id", "value": 3}),
    ]);
    let keys = proptest::sample::select(vec![
        SortKey::DueAt,
        SortKey::DueAt,
        SortKey::DueAt,
        SortKey::CreatedAt,
        SortKey::UpdatedAt,
        SortKey::Id,
    ]);
    let case = (
        statuses,
        (0i64..4, any::<bool>()),
        proptest::option::of(tree()),
        keys,
        any::<bool>(),
        1u64..15,
    );
    let mut runner = TestRunner::new(Config {
        cases: 150,
        ..Config::default()
    });
    runner
        .run(
            &case,
            |(statuses, (queue, listed), rest, key, descending, limit)| {
                // `in` with one value is how the REST filters (`?queue_id=1`) put it.
                let queue = if listed {
                    json!({"op": "in", "field": "queue_id", "value": [queue]})
                } else {
                    json!({"op": "eq", "field": "queue_id", "value": queue})
                };
                let json = match rest {
                    Some(rest) => json!({"op": "and", "items": [statuses, queue, rest]}),
                    None => json!({"op": "and", "items": [queue, statuses]}),
                };
                let node = query::parse(&json, "filter").expect("generated filters are valid");
                let sort = Sort { key, descending };
                let sort_key = |t: &Ticket| match key {
                    SortKey::DueAt => t.due_at.map(|d| d.as_microsecond()),
                    SortKey::CreatedAt => Some(t.created_at.as_microsecond()),
                    SortKey::UpdatedAt => Some(t.updated_at.as_microsecond()),
                    _ => Some(t.id.0),
                };
                let mut expected = world.expected(&node, now);
                // Tickets without a due date last in either direction.
                expected.sort_by(|a, b| {
                    let (ka, kb) = (sort_key(a), sort_key(b));
                    ka.is_none().cmp(&kb.is_none()).then_with(|| {
                        let order = ka.cmp(&kb).then(a.id.cmp(&b.id));
                        if descending { order.reverse() } else { order }
                    })
                });
                let expected: Vec<i64> = expected.iter().map(|t| t.id.0).collect();
                let (actual, totals) =
                    world
                        .rt
                        .block_on(paged_ids(&world.app.store, &node, now, sort, limit));
                let counted = world.rt.block_on(counted(&world.app.store, &node, now));
                prop_assert_eq!(counted, expected.len(), "count of {}", json);
                prop_assert!(
                    totals.iter().all(|&total| total == expected.len()),
                    "totals beside the pages of {}: {:?}, expected {}",
                    json,
                    totals,
                    expected.len()
                );
                prop_assert_eq!(actual, expected, "filter {} sorted {:?}", json, sort);
                Ok(())
            },
        )
        .unwrap();
}

/// Every page of a list, following its cursors, as ids in the order given, with the
/// total counted beside each page (as the REST list does).
async fn paged_ids(
    store: &fixpoint_store::Store,
    node: &Node,
    now: Timestamp,
    sort: Sort,
    limit: u64,
) -> (Vec<i64>, Vec<usize>) {
    let mut conn = store.read().await.unwrap();
    let reference = store.reference(&mut conn).await.unwrap();
    let mut ids = Vec::new();
    let mut totals = Vec::new();
    let mut after = None;
    loop {
        let query = ListQuery {
            filter: node,
            catalog: &reference.catalog,
            now,
            sort,
            limit,
            after,
        };
        let (page, total) = store_tickets::list_counted(&mut conn, || store.spare_read(), &query)
            .await
            .unwrap();
        assert!(page.items.len() as u64 <= limit);
        ids.extend(page.items.iter().map(|t| t.id.0));
        totals.push(total as usize);
        match page.next_cursor {
            Some(cursor) => after = Some(cursor),
            None => return (ids, totals),
        }
    }
}

/// How many tickets the store counts for a filter (a queue view's from the queue counts).
async fn counted(store: &fixpoint_store::Store, node: &Node, now: Timestamp) -> usize {
    let mut conn = store.read().await.unwrap();
    let reference = store.reference(&mut conn).await.unwrap();
    let query = ListQuery {
        filter: node,
        catalog: &reference.catalog,
        now,
        sort: Sort::default(),
        limit: 1,
        after: None,
    };
    store_tickets::count(&mut conn, &query).await.unwrap() as usize
}

/// The queue counts follow a ticket through every move that changes its queue or
/// status (create, status change, move between queues, into and out of no queue,
/// delete), before and after the maintenance pass folds them: a queue view counts the
/// same as counting its tickets, through the store and in the REST list's total.
#[tokio::test(flavor = "multi_thread")]
async fn queue_counts_follow_tickets_through_every_move() {
    let app = spawn_app().await;
    let world = app.world().await;
    let other = app.created("/queues", json!({"name": "Projects"})).await;
    let mut tickets = Vec::new();
    for (i, queue) in [
        Some(world.queue),
        Some(world.queue),
        Some(world.queue),
        Some(other),
        Some(other),
        None,
    ]
    .into_iter()
    .enumerate()
    {
        let id = app
            .created(
                "/tickets",
                json!({"title": format!("Ticket {i}"), "company_id": world.company, "queue_id": queue}),
            )
            .await;
        tickets.push(id);
    }
    let views = |queue: i64| {
        [
            json!({"op": "in", "field": "status_category", "value": ["new", "in_progress", "waiting"]}),
            json!({"op": "noteq", "field": "status_category", "value": "closed"}),
            json!({"op": "eq", "field": "status_id", "value": IN_PROGRESS}),
            json!({"op": "in", "field": "status_id", "value": [1, WAITING_CUSTOMER, 99]}),
        ]
        .map(|statuses| json!({"op": "and", "items": [{"op": "in", "field": "queue_id", "value": [queue]}, statuses]}))
    };
    let check = |moment: &'static str| {
        let app = &app;
        let queues = [world.queue, other];
        async move {
            for queue in queues {
                for view in views(queue) {
                    let node = query::parse(&view, "filter").unwrap();
                    // A third conjunct that keeps everything: counted from the tickets.
                    let Node::And(mut items) = node.clone() else {
                        unreachable!()
                    };
                    items.push(
                        query::parse(&json!({"op": "gte", "field": "id", "value": 0}), "filter")
                            .unwrap(),
                    );
                    let now = Timestamp::now();
                    assert_eq!(
                        counted(&app.store, &node, now).await,
                        counted(&app.store, &Node::And(items), now).await,
                        "{moment}: {view}"
                    );
                }
                let open = app
                    .get(&format!("/tickets?queue_id={queue}&open=true&limit=1"))
                    .await
                    .expect(200);
                let all = app
                    .get(&format!("/tickets?queue_id={queue}&limit=200"))
                    .await
                    .expect(200);
                let still_open = all["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|t| ![RESOLVED, COMPLETE].contains(&t["status_id"].as_i64().unwrap()))
                    .count();
                assert_eq!(
                    open["total"].as_u64(),
                    Some(still_open as u64),
                    "{moment}: queue {queue}"
                );
            }
        }
    };
    check("created").await;
    let moves = [
        (tickets[0], json!({"status_id": IN_PROGRESS})),
        (tickets[1], json!({"queue_id": other})),
        (
            tickets[2],
            json!({"queue_id": other, "status_id": WAITING_CUSTOMER}),
        ),
        (tickets[3], json!({"queue_id": null})),
        (
            tickets[5],
            json!({"queue_id": world.queue, "status_id": IN_PROGRESS}),
        ),
        (
            tickets[4],
            json!({"status_id": RESOLVED, "resolution": "Replaced the toner."}),
        ),
    ];
    for (id, patch) in moves {
        app.patch(&format!("/tickets/{id}"), patch)
            .await
            .expect(200);
    }
    app.delete(&format!("/tickets/{}", tickets[2]))
        .await
        .expect(204);
    check("moved").await;
    assert!(app.store.fold_rollups().await.unwrap() > 0);
    check("folded").await;
}

async fn list_ids(store: &fixpoint_store::Store, node: &Node, now: Timestamp) -> Vec<i64> {
    let mut conn = store.read().await.unwrap();
    let reference = store.reference(&mut conn).await.unwrap();
    let query = ListQuery {
        filter: node,
        catalog: &reference.catalog,
        now,
        sort: Sort {
            key: SortKey::Id,
            descending: false,
        },
        limit: 500,
        after: None,
    };
    let page = store_tickets::list(&mut conn, &query).await.unwrap();
    assert_eq!(
        store_tickets::count(&mut conn, &query).await.unwrap() as usize,
        page.items.len(),
        "count and rows agree"
    );
    page.items.iter().map(|t| t.id.0).collect()
}

async fn everything(store: &fixpoint_store::Store, node: &Node) -> Vec<Ticket> {
    let mut conn = store.read().await.unwrap();
    let reference = store.reference(&mut conn).await.unwrap();
    store_tickets::list(
        &mut conn,
        &ListQuery {
            filter: node,
            catalog: &reference.catalog,
            now: Timestamp::now(),
            sort: Sort::default(),
            limit: 500,
            after: None,
        },
    )
    .await
    .unwrap()
    .items
}
