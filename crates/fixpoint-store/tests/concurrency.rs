//! Shared state under concurrency: SQLite's group commit (concurrent writes share a
//! transaction, yet each lands or fails on its own) and the reference-data cache.

use std::time::Duration;

use fixpoint_core::ids::{CompanyId, ContactId};
use fixpoint_core::parties::{Company, Contact};
use fixpoint_store::Store;
use fixpoint_store::parties::{self, Page, PartyFilter};

fn company(name: String) -> Company {
    Company {
        id: CompanyId(0),
        name,
        parent_company_id: None,
        phone: None,
        website: None,
        active: true,
        created_at: jiff::Timestamp::now(),
    }
}

async fn names(store: &Store) -> Vec<String> {
    let mut conn = store.read().await.unwrap();
    let mut names: Vec<String> = parties::companies(
        &mut conn,
        &PartyFilter::default(),
        &Page {
            after: None,
            limit: 1000,
        },
    )
    .await
    .unwrap()
    .into_iter()
    .map(|c| c.name)
    .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_land_or_fail_each_on_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("group.db").display());
    let store = Store::open(&url).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..120 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.write().await?;
            parties::insert_company(&mut tx, &company(format!("kept {i:03}"))).await?;
            match i % 4 {
                // A failing statement after a good one: the whole write is refused.
                1 => {
                    parties::insert_contact(
                        &mut tx,
                        &Contact {
                            id: ContactId(0),
                            company_id: CompanyId(999_999),
                            first_name: "No".into(),
                            last_name: "Company".into(),
                            email: None,
                            phone: None,
                            language: None,
                            active: true,
                        },
                    )
                    .await?;
                    Store::commit(tx).await
                }
                // Abandoned without commit: an error path in a handler.
                2 => {
                    drop(tx);
                    Ok(())
                }
                _ => Store::commit(tx).await,
            }
        }));
    }
    // Writers that give up while queued for their turn.
    for i in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_micros(50), async {
                let mut tx = store.write().await?;
                parties::insert_company(&mut tx, &company(format!("maybe {i:03}"))).await?;
                tokio::time::sleep(Duration::from_millis(5)).await;
                Store::commit(tx).await
            })
            .await;
            Ok(())
        }));
    }
    let mut refused = 0;
    for task in tasks {
        if task.await.unwrap().is_err() {
            refused += 1;
        }
    }
    assert_eq!(
        refused, 30,
        "every write with a bad statement, and only those, fails"
    );
    let names = names(&store).await;
    let expected: Vec<String> = (0..120)
        .filter(|i| i % 4 == 0 || i % 4 == 3)
        .map(|i| format!("kept {i:03}"))
        .collect();
    let kept: Vec<&String> = names.iter().filter(|n| n.starts_with("kept")).collect();
    assert_eq!(kept, expected.iter().collect::<Vec<_>>());
    // A cancelled write either finished its commit before the timeout or left nothing.
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("kept") || n.starts_with("maybe"))
    );

    // The store keeps working, and what it reports is on disk.
    let mut tx = store.write().await.unwrap();
    parties::insert_company(&mut tx, &company("after".into()))
        .await
        .unwrap();
    Store::commit(tx).await.unwrap();
    store.close().await;
    let reopened = Store::open(&url).await.unwrap();
    let again = self::names(&reopened).await;
    assert!(again.contains(&"after".to_owned()));
    assert_eq!(again.iter().filter(|n| n.starts_with("kept")).count(), 60);
}

/// The write that opens a batch has no savepoint of its own: undone, it takes the
/// whole (so far its own) transaction, and the writes queued behind it still land in
/// the next; one that joined later is undone alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undoing_the_write_that_opened_a_batch_leaves_the_next_writes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("opening.db").display());
    let store = Store::open(&url).await.unwrap();
    let write_then = |name: &'static str, keep: bool| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.write().await.unwrap();
            parties::insert_company(&mut tx, &company(name.into()))
                .await
                .unwrap();
            if keep {
                Store::commit(tx).await.unwrap();
            }
        })
    };
    for keep_opening in [false, true] {
        // The opening write holds the batch while the others queue behind it.
        let mut opening = store.write().await.unwrap();
        let (name, then, abandoned) = if keep_opening {
            ("opening kept", "joined kept", "joined abandoned")
        } else {
            ("opening abandoned", "queued kept", "queued abandoned")
        };
        parties::insert_company(&mut opening, &company(name.into()))
            .await
            .unwrap();
        let kept = write_then(then, true);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let dropped = write_then(abandoned, false);
        tokio::time::sleep(Duration::from_millis(50)).await;
        if keep_opening {
            Store::commit(opening).await.unwrap();
        } else {
            drop(opening);
        }
        kept.await.unwrap();
        dropped.await.unwrap();
    }
    assert_eq!(
        names(&store).await,
        ["joined kept", "opening kept", "queued kept"]
    );
}

#[tokio::test]
async fn cached_reference_data_follows_another_servers_edits() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("reference.db").display());
    let (one, two) = (
        Store::open(&url).await.unwrap(),
        Store::open(&url).await.unwrap(),
    );
    let name_of_new = |store: Store| async move {
        let mut conn = store.read().await.unwrap();
        let reference = store.reference(&mut conn).await.unwrap();
        let status = reference
            .catalog
            .status(fixpoint_core::catalog::seeded::NEW)
            .unwrap();
        status.name.clone()
    };
    assert_eq!(name_of_new(one.clone()).await, "New");
    let mut tx = two.write().await.unwrap();
    let mut status = fixpoint_store::catalog::statuses(&mut tx)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id == fixpoint_core::catalog::seeded::NEW)
        .unwrap();
    status.name = "Just in".into();
    fixpoint_store::catalog::update_status(&mut tx, &status)
        .await
        .unwrap();
    Store::commit(tx).await.unwrap();
    assert_eq!(name_of_new(one).await, "Just in");
}

/// A commit reaches the database file itself a moment later with no further write:
/// a connection of its own copies the log, so the writer never stops to.
#[tokio::test]
async fn commits_reach_the_database_file_without_another_write() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.db");
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let mut tx = store.write().await.unwrap();
    parties::insert_company(&mut tx, &company("copied".into()))
        .await
        .unwrap();
    Store::commit(tx).await.unwrap();
    // `immutable` reads the database file alone, as if it had no log.
    let file = format!("sqlite://{}?immutable=true", path.display());
    let mut in_file = 0;
    for _ in 0..100 {
        let mut conn = sqlx::SqliteConnection::connect(&file).await.unwrap();
        // Until the first copy the file has not even the tables.
        in_file = sqlx::query_scalar("SELECT count(*) FROM companies WHERE name = 'copied'")
            .fetch_one(&mut conn)
            .await
            .unwrap_or(0);
        if in_file == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(in_file, 1, "the commit is still only in the log");
}
