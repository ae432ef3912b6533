//! Webhooks delivered to a real HTTP receiver, and mail in and out against a real
//! database: one whole conversation, machines' mail, quarantine and threading.

mod common;

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use common::{App, spawn_app};
use fixpoint_server::messaging::{Outbound, run_once};
use hmac::{Hmac, Mac};
use jiff::SignedDuration;
use serde_json::{Value, json};
use sha2::Sha256;

/// An HTTP receiver on loopback that records what it is sent and answers `status`.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    status: Arc<AtomicU16>,
}

impl Receiver {
    async fn start() -> (Self, String) {
        let receiver = Receiver::default();
        receiver.status.store(200, Ordering::SeqCst);
        let state = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    state.seen.lock().unwrap().push((headers, body));
                    axum::http::StatusCode::from_u16(state.status.load(Ordering::SeqCst)).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, url)
    }

    fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn bodies(&self) -> Vec<Value> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| serde_json::from_str(b).unwrap())
            .collect()
    }
}

/// Checks a delivery's signature as a receiver would.
fn signed_by(secret: &str, headers: &HeaderMap, body: &str) -> bool {
    let header = headers["fixpoint-signature"].to_str().unwrap();
    let (t, v1) = header.split_once(",v1=").unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    expected == v1
}

async fn round(app: &App, outbound: &Outbound) -> fixpoint_server::messaging::Round {
    run_once(&app.store, &app.messaging, outbound, app.clock.now())
        .await
        .unwrap()
}

#[tokio::test]
async fn webhooks_are_signed_retried_and_switched_off() {
    let app = spawn_app().await;
    let w = app.world().await;
    let outbound = Outbound::new(&app.messaging).unwrap();
    let (receiver, url) = Receiver::start().await;

    app.post(
        "/webhooks",
        json!({"url": "http://10.1.2.3/hook", "events": ["ticket.created"]}),
    )
    .await
    .problem(422, "invalid_field", Some("url"));
    app.post(
        "/webhooks",
        json!({"url": url, "events": ["ticket.created", "ticket.exploded"]}),
    )
    .await
    .problem(422, "invalid_field", Some("events[1]"));
    app.post_as(
        &app.technician,
        "/webhooks",
        json!({"url": url, "events": ["ticket.created"]}),
    )
    .await
    .expect(403);
    let hook = app
        .post("/webhooks", json!({"url": url, "events": ["ticket.created", "note.created", "ticket.updated"], "description": "PSA bridge"}))
        .await
        .expect(201);
    let (hook_id, secret) = (
        hook["id"].as_i64().unwrap(),
        hook["secret"].as_str().unwrap().to_owned(),
    );
    assert!(secret.starts_with("whsec_"));

    let ticket = app.ticket(&w, "Mail server down").await;
    let id = ticket["id"].as_i64().unwrap();
    let r = round(&app, &outbound).await;
    assert_eq!((r.dispatched, r.delivered), (1, 1), "{r:?}");
    {
        let seen = receiver.seen.lock().unwrap();
        let (headers, body) = &seen[0];
        assert!(
            signed_by(&secret, headers, body),
            "the signature checks out"
        );
        assert!(!signed_by("whsec_wrong", headers, body));
        assert_eq!(headers["fixpoint-event"], "ticket.created");
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["type"], "ticket.created");
        assert_eq!(body["data"]["ticket_id"], id);
        assert_eq!(body["data"]["number"], ticket["number"]);
    }

    // The receiver fails: the delivery waits 30 s, then 60 s, and lands when it recovers.
    receiver.answer(500);
    app.patch(&format!("/tickets/{id}"), json!({"priority_id": 1}))
        .await
        .expect(200);
    round(&app, &outbound).await;
    let log = app
        .get(&format!("/webhooks/{hook_id}/deliveries"))
        .await
        .expect(200);
    assert_eq!(log[0]["event_type"], "ticket.updated");
    assert_eq!(
        (
            log[0]["state"].as_str(),
            log[0]["attempts"].as_i64(),
            log[0]["last_status"].as_i64()
        ),
        (Some("pending"), Some(1), Some(500))
    );
    let changes = &receiver.bodies()[1]["data"]["changes"];
    assert!(
        changes
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["field"] == "priority_id"),
        "{changes}"
    );
    round(&app, &outbound).await;
    assert_eq!(receiver.bodies().len(), 2, "not before its time");
    app.clock.advance(SignedDuration::from_secs(31));
    receiver.answer(200);
    assert_eq!(round(&app, &outbound).await.delivered, 1);
    let log = app
        .get(&format!("/webhooks/{hook_id}/deliveries"))
        .await
        .expect(200);
    assert_eq!(
        (log[0]["state"].as_str(), log[0]["attempts"].as_i64()),
        (Some("delivered"), Some(2))
    );
    let bodies = receiver.bodies();
    assert_eq!(
        bodies[1]["id"], bodies[2]["id"],
        "a retry carries the same event id"
    );

    // Ten failures in a row switch the webhook off; an admin switches it back on.
    receiver.answer(503);
    for n in 0..10 {
        app.post(
            &format!("/tickets/{id}/notes"),
            json!({"body": format!("update {n}")}),
        )
        .await
        .expect(201);
        round(&app, &outbound).await;
    }
    let hook = app.get(&format!("/webhooks/{hook_id}")).await.expect(200);
    assert_eq!(hook["active"], false, "{hook}");
    assert!(
        hook["disabled_reason"].as_str().unwrap().contains("503"),
        "{hook}"
    );
    let before = receiver.bodies().len();
    app.ticket(&w, "Another").await;
    app.clock.advance(SignedDuration::from_hours(1));
    round(&app, &outbound).await;
    assert_eq!(
        receiver.bodies().len(),
        before,
        "a switched-off webhook gets nothing"
    );
    receiver.answer(200);
    let hook = app
        .patch(&format!("/webhooks/{hook_id}"), json!({"active": true}))
        .await
        .expect(200);
    assert_eq!(
        (
            hook["active"].as_bool(),
            hook["consecutive_failures"].as_i64()
        ),
        (Some(true), Some(0))
    );
    let failed = app
        .get(&format!("/webhooks/{hook_id}/deliveries?limit=1"))
        .await
        .expect(200)[0]["id"]
        .as_i64()
        .unwrap();
    app.post(
        &format!("/webhooks/{hook_id}/deliveries/{failed}/retry"),
        json!({}),
    )
    .await
    .expect(202);
    assert!(round(&app, &outbound).await.delivered >= 1);
    app.delete(&format!("/webhooks/{hook_id}"))
        .await
        .expect(204);
    app.get(&format!("/webhooks/{hook_id}")).await.expect(404);
}

async fn inbound(app: &App, raw: String) -> Value {
    common::read(
        app.client
            .post(app.url("/mail/inbound"))
            .bearer_auth(&app.admin)
            .header("content-type", "message/rfc822")
            .body(raw.replace('\n', "\r\n"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(200)
}

async fn mail_of(app: &App, ticket: i64) -> Vec<Value> {
    app.get(&format!("/tickets/{ticket}/mail"))
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_whole_conversation_by_mail() {
    let app = spawn_app().await;
    let w = app.world().await;
    let outbound = Outbound::new(&app.messaging).unwrap();

    // A stranger writes: a ticket in the triage queue, for a new contact.
    let first = inbound(&app, "From: Pat Doe <pat@newclient.example>\nTo: desk@msp.example\nSubject: VPN drops every hour\nContent-Language: de\nMessage-ID: <first-1@newclient.example>\nDate: Mon, 30 Nov 2026 09:00:00 +0000\n\nSince this morning the VPN drops.\n".into()).await;
    assert_eq!(first["outcome"], "created", "{first}");
    let id = first["ticket_id"].as_i64().unwrap();
    let number = first["ticket_number"].as_str().unwrap().to_owned();
    let ticket = app.get(&format!("/tickets/{id}")).await.expect(200);
    assert_eq!(ticket["source"], "email");
    assert_eq!(ticket["description"], "Since this morning the VPN drops.");
    let queue = app
        .get(&format!("/queues/{}", ticket["queue_id"]))
        .await
        .expect(200);
    assert_eq!(queue["name"], "Email triage");
    let contact = app
        .get(&format!("/contacts/{}", ticket["contact_id"]))
        .await
        .expect(200);
    assert_eq!(
        (contact["first_name"].as_str(), contact["email"].as_str()),
        (Some("Pat"), Some("pat@newclient.example"))
    );
    assert_eq!(
        contact["language"], "de",
        "from the Content-Language of their mail"
    );

    // The acknowledgment goes back in the customer's thread.
    round(&app, &outbound).await;
    let mail = mail_of(&app, id).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    let ack = &mail[0];
    assert_eq!(ack["kind"], "acknowledgment");
    assert_eq!(ack["recipients"], json!(["pat@newclient.example"]));
    assert_eq!(ack["subject"], format!("[{number}] VPN drops every hour"));
    assert_eq!(ack["in_reply_to"], "<first-1@newclient.example>");
    assert_eq!(
        ack["references"],
        json!([
            "<first-1@newclient.example>",
            format!("<ticket.{id}@msp.example>")
        ])
    );
    assert!(
        ack["message_id"]
            .as_str()
            .unwrap()
            .ends_with("@msp.example>")
    );
    assert!(ack["body_text"].as_str().unwrap().contains(&number));

    // The technician answers in public, copying a colleague; an internal note stays in.
    app.post(
        &format!("/tickets/{id}/notes"),
        json!({"body": "Internal: check the firewall", "visibility": "internal"}),
    )
    .await
    .expect(201);
    app.post(&format!("/tickets/{id}/notes"), json!({"body": "Please <restart> the VPN client.", "visibility": "external", "email_cc": ["it@newclient.example"]})).await.expect(201);
    app.post(
        &format!("/tickets/{id}/notes"),
        json!({"body": "x", "visibility": "external", "email_to": ["not an address"]}),
    )
    .await
    .problem(422, "invalid_field", Some("email_to[0]"));
    round(&app, &outbound).await;
    let mail = mail_of(&app, id).await;
    assert_eq!(mail.len(), 2, "only the public note is mailed: {mail:?}");
    let answer = &mail[1];
    assert_eq!(answer["kind"], "public_note");
    assert_eq!(answer["cc"], json!(["it@newclient.example"]));
    assert!(
        answer["body_text"]
            .as_str()
            .unwrap()
            .contains("Please <restart> the VPN client.")
    );
    assert!(
        answer["body_html"]
            .as_str()
            .unwrap()
            .contains("Please &lt;restart&gt; the VPN client."),
        "HTML is escaped"
    );
    let answer_id = answer["message_id"].as_str().unwrap().to_owned();

    // The customer replies to it: a note on the same ticket, quote cut off.
    let reply = format!(
        "From: pat@newclient.example\nSubject: Re: [{number}] VPN drops every hour\nMessage-ID: <reply-2@newclient.example>\nIn-Reply-To: {answer_id}\nReferences: <first-1@newclient.example> {answer_id}\n\nDone, it works now.\n\nOn Mon, Service Desk wrote:\n> Please restart the VPN client.\n"
    );
    let replied = inbound(&app, reply.clone()).await;
    assert_eq!(
        (replied["outcome"].as_str(), replied["ticket_id"].as_i64()),
        (Some("appended"), Some(id)),
        "{replied}"
    );
    let notes = app.get(&format!("/tickets/{id}/notes")).await.expect(200);
    let last = notes["items"].as_array().map_or_else(
        || notes.as_array().unwrap().last().unwrap().clone(),
        |n| n.last().unwrap().clone(),
    );
    assert_eq!(last["body"], "Done, it works now.");
    assert_eq!(last["visibility"], "external");
    assert_eq!(last["contact_id"], ticket["contact_id"]);
    round(&app, &outbound).await;
    assert_eq!(
        mail_of(&app, id).await.len(),
        2,
        "the customer's own note is not mailed back"
    );

    // The same message delivered twice is taken once.
    assert_eq!(inbound(&app, reply).await["outcome"], "duplicate");

    // Fixpoint's own mail coming back (a forwarding loop) is not taken in.
    let looped = inbound(&app, format!("From: Service Desk <desk@msp.example>\nTo: pat@newclient.example\nSubject: [{number}] VPN drops every hour\nMessage-ID: {answer_id}\n\nPlease restart the VPN client.\n")).await;
    assert_eq!(looped["outcome"], "ignored", "{looped}");
    // A colleague who is no contact answers in the thread: a note, but not mailed on.
    let colleague = inbound(&app, format!("From: it@newclient.example\nSubject: Re: [{number}] VPN\nMessage-ID: <it-1@newclient.example>\nIn-Reply-To: {answer_id}\n\nI restarted the concentrator too.\n")).await;
    assert_eq!(
        (
            colleague["outcome"].as_str(),
            colleague["ticket_id"].as_i64()
        ),
        (Some("appended"), Some(id))
    );
    round(&app, &outbound).await;
    assert_eq!(
        mail_of(&app, id).await.len(),
        2,
        "mail that came in is never mailed on"
    );

    // A reply that lost its headers still finds the ticket by the number in its subject.
    let by_subject = inbound(&app, format!("From: pat@newclient.example\nSubject: RE: [{number}] VPN\nMessage-ID: <reply-3@newclient.example>\n\nOne more thing.\n")).await;
    assert_eq!(
        (
            by_subject["outcome"].as_str(),
            by_subject["ticket_id"].as_i64()
        ),
        (Some("appended"), Some(id))
    );

    // Resolved: the summary goes out once, in the thread, answering the latest message.
    let t = app.get(&format!("/tickets/{id}")).await.expect(200);
    app.patch_if(
        &format!("/tickets/{id}"),
        t["version"].as_i64().unwrap(),
        json!({"status_id": 9, "resolution": "Updated the VPN client to 7.2."}),
    )
    .await
    .expect(200);
    round(&app, &outbound).await;
    let mail = mail_of(&app, id).await;
    let resolution = mail
        .iter()
        .find(|m| m["kind"] == "resolution")
        .expect("a resolution summary");
    assert!(
        resolution["body_text"]
            .as_str()
            .unwrap()
            .contains("Updated the VPN client to 7.2.")
    );
    assert_eq!(resolution["in_reply_to"], "<reply-3@newclient.example>");
    assert_eq!(mail.iter().filter(|m| m["kind"] == "resolution").count(), 1);

    // A known contact's new message opens a ticket for their company.
    let known = inbound(&app, "From: John Smith <John.Smith@acme.example>\nSubject: New laptop\nMessage-ID: <k-1@acme.example>\n\nPlease order one.\n".into()).await;
    let known_ticket = app
        .get(&format!("/tickets/{}", known["ticket_id"]))
        .await
        .expect(200);
    assert_eq!(
        (
            known_ticket["company_id"].as_i64(),
            known_ticket["contact_id"].as_i64()
        ),
        (Some(w.company), Some(w.contact))
    );
}

#[tokio::test]
async fn machines_and_broken_mail_never_make_tickets() {
    let app = spawn_app().await;
    app.world().await;
    let tickets = app.ticket_count().await;
    let auto = inbound(&app, "From: pat@newclient.example\nSubject: Out of office\nAuto-Submitted: auto-replied\nMessage-ID: <ooo@newclient.example>\n\nI am away.\n".into()).await;
    assert_eq!(auto["outcome"], "ignored");
    assert!(auto["reason"].as_str().unwrap().contains("Auto-Submitted"));
    let bounce = inbound(&app, "From: MAILER-DAEMON@mx.newclient.example\nSubject: Undelivered Mail Returned to Sender\nMessage-ID: <bounce@mx.newclient.example>\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nDelivery failed.\n--b\nContent-Type: message/delivery-status\n\nStatus: 5.1.1\n--b--\n".into()).await;
    assert_eq!(bounce["outcome"], "ignored");
    let bulk = inbound(&app, "From: news@vendor.example\nSubject: Newsletter\nPrecedence: bulk\nMessage-ID: <news@vendor.example>\n\nNews.\n".into()).await;
    assert_eq!(bulk["outcome"], "ignored");
    let broken = inbound(&app, "this is not a mail message at all".into()).await;
    assert_eq!(broken["outcome"], "quarantined", "{broken}");
    let nobody = inbound(
        &app,
        "Subject: who?\nMessage-ID: <nobody@x.example>\n\nno sender\n".into(),
    )
    .await;
    assert_eq!(nobody["outcome"], "quarantined");
    assert_eq!(app.ticket_count().await, tickets);
    let quarantined = app
        .get("/mail/inbound?outcome=quarantined")
        .await
        .expect(200);
    assert_eq!(quarantined.as_array().unwrap().len(), 2);
    let raw_id = quarantined[1]["id"].as_i64().unwrap();
    let raw = app
        .client
        .get(app.url(&format!("/mail/inbound/{raw_id}/raw")))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(
        raw.text().await.unwrap(),
        "this is not a mail message at all"
    );
    app.get("/mail/inbound?outcome=lost")
        .await
        .problem(422, "invalid_field", Some("outcome"));

    // HTML only, and a file attached: the text is read from the HTML, the file kept.
    let html = inbound(&app, "From: pat@newclient.example\nSubject: Screen\nMessage-ID: <html-1@newclient.example>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"m\"\n\n--m\nContent-Type: text/html; charset=utf-8\n\n<p>The <b>screen</b> flickers.</p>\n--m\nContent-Type: text/plain; name=\"log.txt\"\nContent-Disposition: attachment; filename=\"log.txt\"\n\nerror 42\n--m--\n".into()).await;
    assert_eq!(html["outcome"], "created", "{html}");
    let id = html["ticket_id"].as_i64().unwrap();
    let ticket = app.get(&format!("/tickets/{id}")).await.expect(200);
    let description = ticket["description"].as_str().unwrap();
    assert!(
        description.contains("screen")
            && description.contains("flickers")
            && !description.contains("<b>"),
        "{description}"
    );
    let files = app
        .get(&format!("/tickets/{id}/attachments"))
        .await
        .expect(200);
    assert_eq!(files["items"][0]["filename"], "log.txt");

    // The same message delivered twice at once (two MX hosts): one ticket.
    let before = app.ticket_count().await;
    let twice = "From: pat@newclient.example\nSubject: Twice\nMessage-ID: <twice@newclient.example>\n\nonce please\n";
    let (a, b) = tokio::join!(inbound(&app, twice.into()), inbound(&app, twice.into()));
    let mut outcomes = [
        a["outcome"].as_str().unwrap().to_owned(),
        b["outcome"].as_str().unwrap().to_owned(),
    ];
    outcomes.sort();
    assert_eq!(outcomes, ["created", "duplicate"]);
    assert_eq!(app.ticket_count().await, before + 1);

    // A message longer than a ticket's description still makes its ticket, cut and
    // saying so (refusing it would have the sending server retry for ever).
    let long = format!(
        "From: pat@newclient.example\nSubject: {}\nMessage-ID: <long@newclient.example>\n\n{}\n",
        "S".repeat(400),
        "log line\n".repeat(10_000)
    );
    let taken = inbound(&app, long).await;
    assert_eq!(taken["outcome"], "created", "{taken}");
    let ticket = app
        .get(&format!("/tickets/{}", taken["ticket_id"]))
        .await
        .expect(200);
    assert!(
        ticket["description"]
            .as_str()
            .unwrap()
            .ends_with("characters]")
    );
    assert!(ticket["title"].as_str().unwrap().chars().count() <= 255);
}

#[tokio::test]
async fn templates_are_an_admins_and_must_render() {
    let app = spawn_app().await;
    let w = app.world().await;
    let outbound = Outbound::new(&app.messaging).unwrap();
    let all = app.get("/mail/templates").await.expect(200);
    assert_eq!(all.as_array().unwrap().len(), 4);
    app.put(
        "/mail/templates/acknowledgment",
        json!({"subject": "Got it: {{ ticket.title", "body_text": "x", "body_html": "x"}),
    )
    .await
    .problem(422, "invalid_field", Some("subject"));
    app.put("/mail/templates/acknowledgment", json!({"subject": "Got it: {{ ticket.title }}", "body_text": "Hi {{ contact.first_name }}, number {{ ticket.number }}.", "body_html": "<p>{{ ticket.title }}</p>"}))
        .await
        .expect(204);
    let id = app
        .post(
            "/tickets",
            json!({"title": "Printer", "company_id": w.company, "contact_id": w.contact}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    round(&app, &outbound).await;
    let mail = mail_of(&app, id).await;
    assert!(
        mail[0]["subject"]
            .as_str()
            .unwrap()
            .ends_with("] Got it: Printer"),
        "{}",
        mail[0]["subject"]
    );
    assert!(
        mail[0]["body_text"]
            .as_str()
            .unwrap()
            .starts_with("Hi John, number T")
    );
    // A contact who reads German gets the German translation; others the English one.
    app.post(
        "/contacts",
        json!({"company_id": w.company, "first_name": "X", "last_name": "Y", "language": "german"}),
    )
    .await
    .problem(422, "invalid_field", Some("language"));
    let greta = app
        .post("/contacts", json!({"company_id": w.company, "first_name": "Greta", "last_name": "Gruber", "email": "greta@acme.example", "language": "de-at"}))
        .await
        .expect(201);
    app.put(
        "/mail/templates/acknowledgment?language=de",
        json!({"subject": "Erhalten: {{ ticket.title }}", "body_text": "Hallo {{ contact.first_name }}.", "body_html": "<p>Hallo</p>"}),
    )
    .await
    .expect(204);
    let german = app
        .post(
            "/tickets",
            json!({"title": "Drucker", "company_id": w.company, "contact_id": greta["id"]}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    round(&app, &outbound).await;
    let mail = mail_of(&app, german).await;
    assert!(
        mail[0]["subject"]
            .as_str()
            .unwrap()
            .ends_with("] Erhalten: Drucker"),
        "{}",
        mail[0]["subject"]
    );
    assert_eq!(mail[0]["body_text"], "Hallo Greta.");
    let all = app.get("/mail/templates").await.expect(200);
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|t| t["language"] == "de" && t["name"] == "acknowledgment")
    );
    app.delete("/mail/templates/acknowledgment?language=de")
        .await
        .expect(204);
    app.delete("/mail/templates/acknowledgment?language=fr")
        .await
        .expect(404);
    app.delete("/mail/templates/acknowledgment?language=klingon")
        .await
        .problem(422, "invalid_field", Some("language"));
    app.delete("/mail/templates/acknowledgment")
        .await
        .expect(204);
    app.delete("/mail/templates/farewell").await.expect(404);

    app.put(
        "/escalation-rules/1/notify",
        json!({"notify": ["lead@msp.example", "nope"]}),
    )
    .await
    .problem(422, "invalid_field", Some("notify[1]"));
}

#[tokio::test]
async fn sla_warnings_and_breaches_are_announced_once() {
    let app = spawn_app().await;
    let w = app.world().await;
    let outbound = Outbound::new(&app.messaging).unwrap();
    let (receiver, url) = Receiver::start().await;
    app.round_the_clock(
        json!([{"priority_id": 3, "first_response_minutes": 240, "resolution_minutes": 1440}]),
    )
    .await;
    app.post(
        "/webhooks",
        json!({"url": url, "events": ["sla.at_risk", "sla.breached"]}),
    )
    .await
    .expect(201);
    let t0: jiff::Timestamp = "2026-03-04T08:00:00Z".parse().unwrap();
    app.clock.set(t0);
    let id = app.ticket_id(&w, "Backups failing").await;
    let sweep = || fixpoint_server::service::escalation::sweep(&app.store, app.clock.now());

    app.clock.set(t0 + SignedDuration::from_mins(239));
    sweep().await.unwrap();
    round(&app, &outbound).await;
    let warned: Vec<(String, String)> = receiver
        .bodies()
        .iter()
        .map(|b| {
            (
                b["type"].as_str().unwrap().to_owned(),
                b["data"]["target"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        warned,
        [("sla.at_risk".to_owned(), "response".to_owned())],
        "at risk before the deadline, not yet breached"
    );

    app.clock.set(t0 + SignedDuration::from_mins(241));
    sweep().await.unwrap();
    sweep().await.unwrap();
    round(&app, &outbound).await;
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(
        (
            bodies[1]["type"].as_str(),
            bodies[1]["data"]["target"].as_str(),
            bodies[1]["data"]["ticket_id"].as_i64()
        ),
        (Some("sla.breached"), Some("response"), Some(id))
    );

    // Answered in time for the resolution target, then waiting: a paused clock warns of nothing.
    app.post(
        &format!("/tickets/{id}/notes"),
        json!({"body": "Looking into it", "visibility": "external"}),
    )
    .await
    .expect(201);
    let t = app.get(&format!("/tickets/{id}")).await.expect(200);
    app.patch_if(
        &format!("/tickets/{id}"),
        t["version"].as_i64().unwrap(),
        json!({"status_id": 5}),
    )
    .await
    .expect(200);
    app.clock.set(t0 + SignedDuration::from_hours(30));
    sweep().await.unwrap();
    round(&app, &outbound).await;
    assert_eq!(receiver.bodies().len(), 2, "{:?}", receiver.bodies());
}

#[tokio::test]
async fn two_servers_deliver_each_event_once() {
    let app = spawn_app().await;
    let w = app.world().await;
    let (receiver, url) = Receiver::start().await;
    app.post(
        "/webhooks",
        json!({"url": url, "events": ["ticket.created", "note.created"]}),
    )
    .await
    .expect(201);
    let second = fixpoint_store::Store::open(&app.database_url)
        .await
        .unwrap();
    let (one, two) = (
        Outbound::new(&app.messaging).unwrap(),
        Outbound::new(&app.messaging).unwrap(),
    );
    let mut expected = 0;
    for batch in 0..3 {
        for n in 0..10 {
            let id = app.ticket(&w, &format!("Ticket {batch}.{n}")).await["id"]
                .as_i64()
                .unwrap();
            app.post(&format!("/tickets/{id}/notes"), json!({"body": "noted"}))
                .await
                .expect(201);
            expected += 2;
        }
        let now = app.clock.now();
        let (a, b) = tokio::join!(
            run_once(&app.store, &app.messaging, &one, now),
            run_once(&second, &app.messaging, &two, now),
        );
        a.unwrap();
        b.unwrap();
        // What one server left for its next round, either finishes.
        run_once(&second, &app.messaging, &two, now).await.unwrap();
    }
    let mut ids: Vec<i64> = receiver
        .bodies()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), expected, "every event delivered");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), expected, "no event delivered twice");
}

#[tokio::test]
async fn a_name_that_resolves_to_a_private_address_is_refused_when_delivering() {
    let app = spawn_app().await;
    let w = app.world().await;
    let (receiver, url) = Receiver::start().await;
    let by_name = url.replace("127.0.0.1", "localhost");
    app.post(
        "/webhooks",
        json!({"url": by_name, "events": ["ticket.created"]}),
    )
    .await
    .expect(201);
    app.ticket(&w, "Anything").await;
    // The same server with the default policy: public addresses only.
    let strict = fixpoint_server::messaging::Settings {
        webhook_policy: Default::default(),
        ..(*app.messaging).clone()
    };
    let outbound = Outbound::new(&strict).unwrap();
    run_once(&app.store, &strict, &outbound, app.clock.now())
        .await
        .unwrap();
    assert!(
        receiver.bodies().is_empty(),
        "nothing reached the loopback receiver"
    );
    let hooks = app.get("/webhooks").await.expect(200);
    let log = app
        .get(&format!("/webhooks/{}/deliveries", hooks[0]["id"]))
        .await
        .expect(200);
    let error = log[0]["last_error"].as_str().unwrap();
    assert!(error.contains("loopback"), "{error}");
}

#[tokio::test]
async fn senders_are_placed_by_their_domain_and_escalations_reach_the_rule_recipients() {
    let app = spawn_app().await;
    let outbound = Outbound::new(&app.messaging).unwrap();
    let company = app
        .post(
            "/companies",
            json!({"name": "Initech", "website": "https://www.initech.example/"}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let placed = inbound(&app, "From: Peter Gibbons <peter@initech.example>\nSubject: TPS reports\nMessage-ID: <tps@initech.example>\n\nThe cover sheet.\n".into()).await;
    let ticket = app
        .get(&format!("/tickets/{}", placed["ticket_id"]))
        .await
        .expect(200);
    assert_eq!(ticket["company_id"], company);
    assert!(
        ticket["queue_id"].is_null(),
        "a known client's mail is not triage"
    );
    let contact = app
        .get(&format!("/contacts/{}", ticket["contact_id"]))
        .await
        .expect(200);
    assert_eq!(
        (
            contact["company_id"].as_i64(),
            contact["last_name"].as_str()
        ),
        (Some(company), Some("Gibbons"))
    );

    // The SLA-overdue rules tell the service lead.
    let rules: Vec<i64> = (1..=3).collect();
    for rule in &rules {
        app.put(
            &format!("/escalation-rules/{rule}/notify"),
            json!({"notify": ["lead@msp.example"]}),
        )
        .await
        .expect(200);
    }
    app.round_the_clock(
        json!([{"priority_id": 3, "first_response_minutes": 60, "resolution_minutes": 240}]),
    )
    .await;
    let t0 = app.clock.now();
    let id = app
        .post(
            "/tickets",
            json!({"title": "Server room hot", "company_id": company}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    app.clock.set(t0 + SignedDuration::from_hours(2));
    fixpoint_server::service::escalation::sweep(&app.store, app.clock.now())
        .await
        .unwrap();
    round(&app, &outbound).await;
    let notices: Vec<Value> = mail_of(&app, id)
        .await
        .into_iter()
        .filter(|m| m["kind"] == "escalation")
        .collect();
    assert!(!notices.is_empty(), "an escalation notice");
    assert_eq!(notices[0]["recipients"], json!(["lead@msp.example"]));
    assert!(
        notices[0]["subject"]
            .as_str()
            .unwrap()
            .contains("Escalation level"),
        "{}",
        notices[0]["subject"]
    );
}

/// Speaks SMTP to the listener line by line, as a sending server would.
struct SmtpClient {
    reader: tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl SmtpClient {
    async fn connect(addr: std::net::SocketAddr) -> (Self, String) {
        let (read, writer) = tokio::net::TcpStream::connect(addr)
            .await
            .unwrap()
            .into_split();
        let mut client = SmtpClient {
            reader: tokio::io::BufReader::new(read),
            writer,
        };
        let greeting = client.answer().await;
        (client, greeting)
    }

    /// One reply, all of its lines.
    async fn answer(&mut self) -> String {
        use tokio::io::AsyncBufReadExt;
        let mut all = String::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).await.unwrap();
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return all;
            }
        }
    }

    /// MAIL, RCPT and DATA for one message to the desk, each accepted.
    async fn open_message(&mut self) {
        for (command, reply) in [
            ("MAIL FROM:<a@sender.example>", "250"),
            ("RCPT TO:<desk@msp.example>", "250"),
            ("DATA", "354"),
        ] {
            let answer = self.say(command).await;
            assert!(answer.starts_with(reply), "{command}: {answer}");
        }
    }

    async fn say(&mut self, text: &str) -> String {
        use tokio::io::AsyncWriteExt;
        self.writer
            .write_all(format!("{text}\r\n").as_bytes())
            .await
            .unwrap();
        self.answer().await
    }
}

#[tokio::test]
async fn the_smtp_listener_keeps_to_the_protocol() {
    let app = spawn_app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let inbox = app.messaging.inbox();
    tokio::spawn(fixpoint_server::smtp::serve(
        listener,
        app.store.clone(),
        app.clock.clone(),
        inbox,
    ));

    let (mut smtp, greeting) = SmtpClient::connect(addr).await;
    assert!(greeting.starts_with("220 "), "{greeting}");
    let ehlo = smtp.say("EHLO mx.sender.example").await;
    assert!(
        ehlo.contains("250-SIZE 26214400") && ehlo.contains("250 PIPELINING"),
        "{ehlo}"
    );
    assert!(smtp.say("DATA").await.starts_with("503"));
    assert!(
        smtp.say("RCPT TO:<desk@msp.example>")
            .await
            .starts_with("503"),
        "RCPT before MAIL"
    );
    assert!(
        smtp.say("MAIL FROM:<a@sender.example> SIZE=999999999")
            .await
            .starts_with("552"),
        "declared too big"
    );
    smtp.open_message().await;
    // A line that starts with a dot arrives dot-stuffed and is stored without it.
    let stored = smtp
        .say("From: Ann <ann@sender.example>\r\nSubject: Dots\r\nMessage-ID: <dots@sender.example>\r\n\r\n..config is missing\r\nthanks\r\n.")
        .await;
    assert!(stored.starts_with("250 2.0.0 OK created T"), "{stored}");
    let received = app.get("/mail/inbound?limit=1").await.expect(200);
    let ticket = app
        .get(&format!("/tickets/{}", received[0]["ticket_id"]))
        .await
        .expect(200);
    assert_eq!(ticket["description"], ".config is missing\r\nthanks");

    // Over the size limit while sending: refused, and the conversation goes on.
    smtp.open_message().await;
    let chunk = "x".repeat(1000);
    {
        use tokio::io::AsyncWriteExt;
        smtp.writer
            .write_all(b"From: a@sender.example\r\nSubject: big\r\n\r\n")
            .await
            .unwrap();
        for _ in 0..(26 * 1024) {
            smtp.writer.write_all(chunk.as_bytes()).await.unwrap();
            smtp.writer.write_all(b"\r\n").await.unwrap();
        }
    }
    assert!(smtp.say(".").await.starts_with("552"), "too big");
    assert!(smtp.say("NOOP").await.starts_with("250"));
    assert!(smtp.say("RSET").await.starts_with("250"));
    assert!(smtp.say("VRFY ann").await.starts_with("252"));
    assert!(
        smtp.say("STARTTLS").await.starts_with("502"),
        "no TLS offered"
    );
    assert!(smtp.say("QUIT").await.starts_with("221"));
    assert_eq!(
        app.get("/mail/inbound?limit=5")
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        1,
        "the big one left no trace"
    );
}
