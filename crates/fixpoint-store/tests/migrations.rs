//! The two migration folders must not drift: the same versions, names and order.

use std::path::Path;

fn versions(backend: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    names.sort();
    names
}

#[test]
fn sqlite_and_postgres_migrations_have_the_same_versions() {
    let sqlite = versions("sqlite");
    let postgres = versions("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "every migration needs a twin with the same version and name in the other folder"
    );
}

#[test]
fn every_table_exists_in_both_folders() {
    let tables = |backend: &str| -> Vec<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut found: Vec<String> = versions(backend)
            .iter()
            .flat_map(|file| {
                let text = std::fs::read_to_string(dir.join(file)).unwrap();
                text.lines()
                    .filter_map(|l| {
                        let l = l.trim();
                        l.strip_prefix("CREATE TABLE ")
                            .or_else(|| l.strip_prefix("CREATE VIRTUAL TABLE "))
                            .or_else(|| l.strip_prefix("CREATE INDEX "))
                            .or_else(|| l.strip_prefix("ALTER TABLE "))
                            .map(|rest| {
                                rest.split_whitespace()
                                    .take(if l.starts_with("ALTER") { 4 } else { 1 })
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            })
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        // FTS5 indexes itself; PostgreSQL's full-text twin needs a GIN index.
        found.retain(|name| name != "ticket_search_document");
        found.sort();
        found
    };
    assert_eq!(
        tables("sqlite"),
        tables("postgres"),
        "tables, indexes and added columns match"
    );
}

/// `migrate-data` copies the tables it lists; a table it forgets is silently lost.
#[test]
fn migrate_data_copies_every_table() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let mut created: Vec<String> = versions("sqlite")
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            text.lines()
                .filter_map(|l| l.trim().strip_prefix("CREATE TABLE "))
                .map(|rest| rest.split_whitespace().next().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    // One row the target's migrations create and its triggers keep.
    created.retain(|t| t != "reference_version");
    created.retain(|t| !fixpoint_store::transfer::DERIVED.contains(&t.as_str()));
    created.sort();
    let mut listed: Vec<String> = fixpoint_store::transfer::TABLES
        .iter()
        .map(|t| t.to_string())
        .collect();
    listed.sort();
    assert_eq!(created, listed);
}
