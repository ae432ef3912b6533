//! Two `fixpoint serve` processes on one PostgreSQL database, hammered at once, and
//! a SQLite installation moved to PostgreSQL. Ignored unless asked for: CI's
//! PostgreSQL pass runs them with `--include-ignored` and FIXPOINT_TEST_POSTGRES_URL.

use std::collections::{BTreeSet, HashMap};
use std::process::Stdio;

use fixpoint_store::db::{TestPostgresDatabase, required_test_postgres_admin};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `fixpoint apikey create` for an admin; returns the printed key.
async fn admin_key(db: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_fixpoint"))
        .env("FIXPOINT_DATABASE_URL", db)
        .args(["apikey", "create", "--name", "tester", "--role", "admin"])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.split_whitespace()
        .find(|w| w.starts_with("fpk_"))
        .expect("a key is printed")
        .to_owned()
}

async fn serve(db: &str, sweep_interval_secs: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fixpoint"))
        .env("FIXPOINT_DATABASE_URL", db)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--sweep-interval-secs",
            sweep_interval_secs,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(rest) = line.strip_prefix("Fixpoint is serving on ") {
            let base = rest
                .split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_owned();
            return (child, base);
        }
    }
    panic!("fixpoint serve did not start");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with FIXPOINT_TEST_POSTGRES_URL and --include-ignored (.ci/run does)"]
async fn two_servers_on_one_postgres_database() {
    let database = TestPostgresDatabase::create(&required_test_postgres_admin()).await;
    let db = database.url.clone();
    let key = admin_key(&db).await;
    let (mut server_a, a) = serve(&db, "1").await;
    let (mut server_b, b) = serve(&db, "1").await;
    let servers = [a.clone(), b.clone()];
    let client = reqwest::Client::new();
    let post = |base: &str, path: &str, body: Value| {
        client
            .post(format!("{base}/api/v1{path}"))
            .bearer_auth(&key)
            .json(&body)
    };

    let company = post(&a, "/companies", json!({"name": "Contoso"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["id"]
        .clone();

    // 200 creates across both servers; every fourth is retried on the other server
    // with the same Idempotency-Key, and must not make a second ticket.
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (first, second) = (servers[i % 2].clone(), servers[(i + 1) % 2].clone());
        let (client, key) = (client.clone(), key.clone());
        let body = json!({"title": format!("Hammered {i}"), "company_id": company, "priority_id": if i % 10 == 0 { 1 } else { 3 }});
        tasks.push(tokio::spawn(async move {
            let send = |base: String| {
                client
                    .post(format!("{base}/api/v1/tickets"))
                    .bearer_auth(&key)
                    .header("Idempotency-Key", format!("create-{i}"))
                    .json(&body)
                    .send()
            };
            let (r1, r2) = if i % 4 == 0 {
                tokio::join!(send(first), async { Some(send(second).await) })
            } else {
                (send(first).await, None)
            };
            let first: Value = r1.unwrap().json().await.unwrap();
            if let Some(r2) = r2 {
                let second: Value = r2.unwrap().json().await.unwrap();
                assert_eq!(
                    first["id"], second["id"],
                    "a retry returns the first ticket"
                );
            }
            first["id"].as_i64().expect("created")
        }));
    }
    let mut acknowledged = BTreeSet::new();
    for t in tasks {
        acknowledged.insert(t.await.unwrap());
    }
    assert_eq!(acknowledged.len(), 200);

    // 5 tickets, 40 concurrent guarded updates each across both servers.
    let targets: Vec<i64> = acknowledged.iter().take(5).copied().collect();
    let mut updates = Vec::new();
    for &id in &targets {
        for n in 0..40 {
            let (base, client, key) = (servers[n % 2].clone(), client.clone(), key.clone());
            updates.push(tokio::spawn(async move {
                let current: Value = client
                    .get(format!("{base}/api/v1/tickets/{id}"))
                    .bearer_auth(&key)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let version = current["version"].as_i64().unwrap();
                let r = client
                    .patch(format!("{base}/api/v1/tickets/{id}"))
                    .bearer_auth(&key)
                    .header("If-Match", format!("\"{version}\""))
                    .json(&json!({"description": format!("writer {n}")}))
                    .send()
                    .await
                    .unwrap();
                (id, r.status().as_u16())
            }));
        }
    }
    let mut won: HashMap<i64, i64> = HashMap::new();
    for u in updates {
        let (id, status) = u.await.unwrap();
        assert!(
            status == 200 || status == 409,
            "a guarded update wins or gets 409, got {status}"
        );
        if status == 200 {
            *won.entry(id).or_default() += 1;
        }
    }

    // Let both sweepers run over the Critical, unassigned tickets a few times.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;

    // Every acknowledged create exists exactly once, with a unique number.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{a}/api/v1/tickets?limit=500&sort=id&cursor={c}"),
            None => format!("{a}/api/v1/tickets?limit=500&sort=id"),
        };
        let page: Value = client
            .get(url)
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen.extend(page["items"].as_array().unwrap().iter().map(|t| {
            (
                t["id"].as_i64().unwrap(),
                t["number"].as_str().unwrap().to_owned(),
                t["version"].as_i64().unwrap(),
            )
        }));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen.iter().map(|(id, _, _)| *id).collect::<BTreeSet<_>>(),
        acknowledged
    );
    assert_eq!(seen.len(), 200);
    assert_eq!(
        seen.iter()
            .map(|(_, n, _)| n.clone())
            .collect::<BTreeSet<_>>()
            .len(),
        200,
        "numbers are unique"
    );

    // Versions agree with the history: one description change per successful update.
    for &id in &targets {
        let version = seen.iter().find(|(t, _, _)| *t == id).unwrap().2;
        let wins = won.get(&id).copied().unwrap_or(0);
        assert!(wins >= 1, "someone wins each ticket");
        assert_eq!(
            version,
            1 + wins,
            "ticket {id}: version follows the accepted updates"
        );
        let history: Value = client
            .get(format!("{b}/api/v1/tickets/{id}/history"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let changes = history
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["field"] == "description")
            .count() as i64;
        assert_eq!(changes, wins);
    }

    // Each Critical ticket was escalated once (nobody assigned), though two servers swept.
    let escalations: Value = client
        .get(format!("{b}/api/v1/escalations?limit=500"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut per_ticket: HashMap<i64, i64> = HashMap::new();
    for e in escalations.as_array().unwrap() {
        *per_ticket
            .entry(e["ticket_id"].as_i64().unwrap())
            .or_default() += 1;
    }
    assert_eq!(
        per_ticket.len(),
        20,
        "the 20 Critical tickets were escalated"
    );
    assert!(per_ticket.values().all(|n| *n == 1), "{per_ticket:?}");
    server_a.kill().await.unwrap();
    server_b.kill().await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with FIXPOINT_TEST_POSTGRES_URL and --include-ignored (.ci/run does)"]
async fn a_sqlite_installation_moves_to_postgres() {
    let admin = required_test_postgres_admin();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("old.db").display());
    let run = |db: &str, args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fixpoint"));
        cmd.env("FIXPOINT_DATABASE_URL", db).args(args);
        cmd
    };
    assert!(
        run(&sqlite, &["seed-demo", "--tickets", "60"])
            .output()
            .await
            .unwrap()
            .status
            .success()
    );
    let key = admin_key(&sqlite).await;
    // A file on a ticket: bytes that are not text must arrive unchanged.
    let file: Vec<u8> = vec![0x89, b'P', b'N', b'G', 0, 0xff, 0xfe, 10];
    {
        let store = fixpoint_store::Store::open(&sqlite).await.unwrap();
        let new = fixpoint_core::attachment::NewAttachment {
            filename: "scan.png".into(),
            content_type: None,
            note_id: None,
            content: file.clone(),
        };
        let ticket = fixpoint_core::ids::TicketId(1);
        fixpoint_server::service::attachments::add(
            &store,
            "tester",
            ticket,
            new,
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
        store.close().await;
    }
    let database = TestPostgresDatabase::create(&admin).await;
    let postgres = database.url.clone();
    let moved = run(
        &sqlite,
        &["migrate-data", "--from", &sqlite, "--to", &postgres],
    )
    .output()
    .await
    .unwrap();
    assert!(
        moved.status.success(),
        "{}",
        String::from_utf8_lossy(&moved.stderr)
    );
    assert!(String::from_utf8_lossy(&moved.stdout).contains("verified"));
    let again = run(
        &sqlite,
        &["migrate-data", "--from", &sqlite, "--to", &postgres],
    )
    .output()
    .await
    .unwrap();
    assert!(
        !again.status.success(),
        "a second move into a filled database is refused"
    );

    // The same key works against the moved installation, everything is there, and
    // new tickets continue the numbering and ids.
    // No sweeps here: they would escalate each copy at its own moment.
    let (mut old, old_base) = serve(&sqlite, "0").await;
    let (mut new, new_base) = serve(&postgres, "0").await;
    let client = reqwest::Client::new();
    let get = |base: &str, path: &str| {
        client
            .get(format!("{base}/api/v1{path}"))
            .bearer_auth(&key)
            .send()
    };
    let before: Value = get(&old_base, "/tickets?limit=1&sort=id")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let after: Value = get(&new_base, "/tickets?limit=1&sort=id")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(before["total"], after["total"]);
    assert_eq!(before["items"][0]["number"], after["items"][0]["number"]);
    let id = after["items"][0]["id"].as_i64().unwrap();
    let h_old: Value = get(&old_base, &format!("/tickets/{id}/history"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let h_new: Value = get(&new_base, &format!("/tickets/{id}/history"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h_old, h_new);
    let moved_file = get(&new_base, "/tickets/1/attachments/1").await.unwrap();
    assert_eq!(moved_file.headers()["content-type"], "image/png");
    assert_eq!(moved_file.bytes().await.unwrap().as_ref(), file.as_slice());
    let company = after["items"][0]["company_id"].clone();
    let created: Value = client
        .post(format!("{new_base}/api/v1/tickets"))
        .bearer_auth(&key)
        .json(&json!({"title": "First ticket on PostgreSQL", "company_id": company}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(created["id"].as_i64().unwrap() > 60, "{created}");
    old.kill().await.unwrap();
    new.kill().await.unwrap();
}
