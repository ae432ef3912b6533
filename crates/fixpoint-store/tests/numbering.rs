//! Bulk imports and single creates draw ticket numbers from the same daily sequence.

use fixpoint_core::catalog::default_catalog;
use fixpoint_core::ids::CompanyId;
use fixpoint_core::parties::Company;
use fixpoint_core::ticket::NewTicket;
use fixpoint_store::{Store, parties, tickets};

#[tokio::test]
async fn imported_tickets_and_later_creates_never_share_a_number() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("n.db").display()))
        .await
        .unwrap();
    let at: jiff::Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
    let mut tx = store.write().await.unwrap();
    let company = parties::insert_company(
        &mut tx,
        &Company {
            id: CompanyId(0),
            name: "Acme".into(),
            parent_company_id: None,
            phone: None,
            website: None,
            active: true,
            created_at: at,
        },
    )
    .await
    .unwrap();
    let catalog = default_catalog();
    let new = |title: &str, when: jiff::Timestamp| {
        NewTicket {
            title: title.into(),
            company_id: company,
            ..Default::default()
        }
        .into_ticket(&catalog, when)
    };
    let yesterday = at - jiff::SignedDuration::from_hours(24);
    let mut kept = new("numbered by its source system", yesterday);
    kept.number = "LEGACY-1".into();
    let batch = vec![new("a", at), new("b", yesterday), new("c", at), kept];
    let ids = tickets::insert_many(&mut tx, &batch).await.unwrap();
    let created = tickets::insert(
        &mut tx,
        vec![(new("d", at), "test"), (new("e", yesterday), "other")],
    )
    .await
    .unwrap();
    Store::commit(tx).await.unwrap();

    let mut conn = store.read().await.unwrap();
    let mut numbers = Vec::new();
    for id in ids {
        numbers.push(tickets::get(&mut conn, id).await.unwrap().unwrap().number);
    }
    for t in &created {
        let stored = tickets::get(&mut conn, t.id).await.unwrap().unwrap();
        assert_eq!(
            (stored.title.as_str(), &stored.number),
            (t.title.as_str(), &t.number)
        );
        numbers.push(stored.number);
    }
    assert_eq!(
        numbers,
        [
            "T20261124.0001",
            "T20261123.0001",
            "T20261124.0002",
            "LEGACY-1",
            "T20261124.0003",
            "T20261123.0002"
        ]
    );
}
