//! The `fixpoint` binary as an operator runs it: migrate, keys, demo data, serve.

use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

fn fixpoint(db: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fixpoint"));
    cmd.env("FIXPOINT_DATABASE_URL", db)
        .env_remove("FIXPOINT_LISTEN")
        .env_remove("FIXPOINT_CONFIG");
    cmd
}

async fn run(db: &str, args: &[&str]) -> String {
    let out = fixpoint(db).args(args).output().await.unwrap();
    assert!(
        out.status.success(),
        "fixpoint {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Starts `fixpoint serve` on a free port; returns it, its base URL and any key it printed.
async fn start_server(db: &str) -> (tokio::process::Child, String, Option<String>) {
    start_server_with(db, &[]).await
}

async fn start_server_with(
    db: &str,
    env: &[(&str, &str)],
) -> (tokio::process::Child, String, Option<String>) {
    let mut server = fixpoint(db)
        .envs(env.iter().copied())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let mut key = None;
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.contains("fpk_") {
            key = Some(key_in(&line));
        }
        if let Some(rest) = line.strip_prefix("Fixpoint is serving on ") {
            let base = rest
                .split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_owned();
            return (server, base, key);
        }
    }
    panic!("fixpoint serve exited without announcing its address");
}

fn key_in(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with("fpk_"))
        .expect("a key is printed")
        .to_owned()
}

#[tokio::test]
async fn an_operator_sets_up_and_serves_a_demo() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!(
        "sqlite://{}",
        dir.path().join("nested/dir/fixpoint.db").display()
    );

    assert!(run(&db, &["migrate"]).await.contains("up to date"));
    let config = run(&db, &["print-config"]).await;
    assert!(
        config.contains(&db) && config.contains("127.0.0.1:8080"),
        "{config}"
    );
    let created = run(
        &db,
        &["apikey", "create", "--name", "ops", "--role", "technician"],
    )
    .await;
    let technician = key_in(&created);
    let bad = fixpoint(&db)
        .args(["apikey", "create", "--name", "x", "--role", "root"])
        .output()
        .await
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("admin, technician or readonly"));

    assert!(
        run(&db, &["seed-demo", "--tickets", "40"])
            .await
            .contains("40 tickets")
    );
    let again = fixpoint(&db).args(["seed-demo"]).output().await.unwrap();
    assert!(
        !again.status.success(),
        "a second seed refuses to mix demo data into real data"
    );

    // Keys exist already, so serve prints none; it announces its address.
    let (mut server, base, printed) = start_server(&db).await;
    assert_eq!(printed, None, "no new admin key when keys exist");
    let client = reqwest::Client::new();
    let list: Value = client
        .get(format!("{base}/api/v1/tickets?limit=5&open=true"))
        .bearer_auth(&technician)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(list["total"].as_i64().unwrap() > 0, "{list}");
    let statuses: Value = client
        .get(format!("{base}/api/v1/statuses"))
        .bearer_auth(&technician)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(statuses.as_array().unwrap().len(), 10);
    server.kill().await.unwrap();
}

#[tokio::test]
async fn first_start_prints_an_admin_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fixpoint.db").display());
    let (mut server, base, key) = start_server(&db).await;
    let key = key.expect("an admin key is printed");
    let response = reqwest::Client::new()
        .get(format!("{base}/api/v1/api-keys"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the printed key is an admin key");
    server.kill().await.unwrap();
}

#[tokio::test]
async fn a_bad_database_url_is_a_clear_error() {
    let out = fixpoint("mysql://nowhere/db")
        .args(["migrate"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sqlite://"), "{stderr}");
}

#[tokio::test]
async fn backup_makes_a_consistent_copy() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("live.db").display());
    run(&db, &["seed-demo", "--tickets", "20"]).await;
    let copy = dir.path().join("copy.db");
    assert!(
        run(&db, &["backup", "--to", copy.to_str().unwrap()])
            .await
            .contains("Backed up")
    );
    let again = fixpoint(&db)
        .args(["backup", "--to", copy.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(!again.status.success(), "a backup never overwrites");
    // The copy is a working database with the same tickets.
    let copy_url = format!("sqlite://{}", copy.display());
    let (mut server, base, _) = start_server(&copy_url).await;
    let key = key_in(
        &run(
            &copy_url,
            &["apikey", "create", "--name", "check", "--role", "readonly"],
        )
        .await,
    );
    let list: Value = reqwest::Client::new()
        .get(format!("{base}/api/v1/tickets?limit=1"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 20);
    server.kill().await.unwrap();
}

#[tokio::test]
async fn a_tenant_profile_sets_up_a_new_installation_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("atera.db").display());
    let out = fixpoint(&db)
        .args(["serve", "--tenant-profile", "kaseya"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("default, autotask, halopsa, atera"),
        "{stderr}"
    );

    let settings = |base: &str, key: &str| {
        let (base, key) = (base.to_owned(), key.to_owned());
        async move {
            reqwest::Client::new()
                .get(format!("{base}/api/v1/workflow"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["settings"]
                .clone()
        }
    };
    let profile = [("FIXPOINT_TENANT_PROFILE", "atera")];
    let (mut server, base, key) = start_server_with(&db, &profile).await;
    let key = key.expect("a new installation prints its admin key");
    let applied = settings(&base, &key).await;
    assert_eq!(applied["close_requires_resolved"], true);
    assert_eq!(applied["resource_without_role"], true);
    // An admin's later choice stands: the profile only sets up a new installation.
    reqwest::Client::new()
        .put(format!("{base}/api/v1/workflow/settings"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"close_requires_resolved": false, "resource_without_role": true}))
        .send()
        .await
        .unwrap();
    server.kill().await.unwrap();
    let (_server, base, _) = start_server_with(&db, &profile).await;
    assert_eq!(
        settings(&base, &key).await["close_requires_resolved"],
        false
    );
}

#[tokio::test]
async fn an_api_client_for_halopsa_acts_as_its_agent() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fixpoint.db").display());
    run(&db, &["seed-demo", "--tickets", "5"]).await;
    let unknown = fixpoint(&db)
        .args(["apiclient", "create", "--name", "x", "--agent-id", "9999"])
        .output()
        .await
        .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no technician"));
    let printed = run(
        &db,
        &["apiclient", "create", "--name", "rmm", "--agent-id", "1"],
    )
    .await;
    let field = |name: &str| {
        printed
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} in {printed}"))
            .trim()
            .to_owned()
    };
    let (client_id, secret) = (field("client_id:"), field("client_secret:"));
    let (mut server, base, _) = start_server(&db).await;
    let client = reqwest::Client::new();
    let body =
        format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}");
    let token: Value = client
        .post(format!("{base}/auth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let me: Value = client
        .get(format!("{base}/api/Agent/me"))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], 1, "{me}");
    server.kill().await.unwrap();
}

#[tokio::test]
async fn a_mail_server_pipes_a_message_in() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("pipe.db").display());
    run(&db, &["migrate"]).await;
    let message = b"From: Pat Doe <pat@newclient.example>\r\nSubject: Piped in\r\nMessage-ID: <pipe-1@newclient.example>\r\n\r\nHello from the pipe.\r\n";
    let pipe = || async {
        let mut child = fixpoint(&db)
            .args(["mail", "receive"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(message).await.unwrap();
        drop(stdin);
        let out = child.wait_with_output().await.unwrap();
        assert!(out.status.success());
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let first = pipe().await;
    assert_eq!(first["outcome"], "created", "{first}");
    assert!(first["ticket_number"].as_str().unwrap().starts_with('T'));
    assert_eq!(
        pipe().await["outcome"],
        "duplicate",
        "a redelivery is taken once"
    );
    // A database that cannot be opened: its directory is a file.
    let blocked = dir.path().join("not-a-directory");
    std::fs::write(&blocked, "").unwrap();
    let out = fixpoint(&format!("sqlite://{}/x.db", blocked.display()))
        .args(["mail", "receive"])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(75),
        "no database: the mail server is asked to retry (EX_TEMPFAIL), nothing is lost"
    );
}
