"""Email and webhooks end to end, with real mail software on both sides.

Usage: run.py BASE_URL API_KEY SMTP_IN_PORT SINK_PORT
  BASE_URL like http://127.0.0.1:8080; API_KEY an admin key of the native API;
  SMTP_IN_PORT where the server receives mail (FIXPOINT_SMTP_LISTEN);
  SINK_PORT where this script runs an aiosmtpd server that Fixpoint sends to
  (FIXPOINT_SMTP_URL=smtp://127.0.0.1:SINK_PORT). The server must allow loopback
  webhooks (FIXPOINT_WEBHOOK_ALLOW=loopback).

A customer writes in with Python's smtplib; Fixpoint's acknowledgment, a technician's
public note and the resolution arrive at aiosmtpd and are read with the email package;
the customer's reply threads back into the ticket. Machines' mail (an auto-reply, a
bounce) makes no ticket; a broken message is quarantined. A stdlib HTTP server
receives the webhooks, checks each HMAC signature, fails on purpose and sees the
webhook switched off. The whole conversation's headers are printed at the end.
"""

import email
import email.policy
import hashlib
import hmac
import json
import smtplib
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

BASE, KEY, SMTP_IN, SINK = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
CUSTOMER = "robin@client-ci.example"


def native(method, path, body=None, expect=(200, 201, 202, 204)):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{BASE}/api/v1{path}", data=data, method=method)
    request.add_header("Authorization", f"Bearer {KEY}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    assert status in expect, f"{method} {path}: {status} {text}"
    return json.loads(text) if text else None


def wait_for(what, check, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"waited {seconds} s for {what}")


class Sink:
    """aiosmtpd handler: keeps every message Fixpoint sends."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    def about(self, number):
        """Messages about one ticket (other tests' tickets may have mail in flight)."""
        return [m for m in self.messages if f"[{number}]" in m[2]["Subject"]]


class Hooks(BaseHTTPRequestHandler):
    received = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        Hooks.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(Hooks.status)
        self.end_headers()

    def log_message(self, *args):
        pass


def verify(secret, headers, body):
    t, v1 = headers["fixpoint-signature"].split(",v1=")
    t = t.removeprefix("t=")
    expected = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, v1), "webhook signature does not verify"
    assert abs(time.time() - int(t)) < 300, "webhook timestamp is not fresh"


def send(raw):
    """Sends one message to Fixpoint's SMTP listener; returns the server's answer to DATA."""
    with smtplib.SMTP("127.0.0.1", SMTP_IN, timeout=30) as smtp:
        smtp.ehlo("client-ci.example")
        smtp.mail("robin@client-ci.example")
        smtp.rcpt("desk@msp-ci.example")
        code, answer = smtp.data(raw.replace("\n", "\r\n").encode())
        assert code == 250, f"{code} {answer}"
        return answer.decode()


sink = Sink()
controller = Controller(sink, hostname="127.0.0.1", port=SINK)
controller.start()
hooks = ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
threading.Thread(target=hooks.serve_forever, daemon=True).start()
hook_url = f"http://127.0.0.1:{hooks.server_address[1]}/fixpoint"

try:
    hook = native("POST", "/webhooks", {"url": hook_url, "events": ["ticket.created", "ticket.updated", "note.created"]})
    native("POST", "/webhooks", {"url": "http://192.168.1.10/x", "events": ["ticket.created"]}, expect=(422,))

    # 1. The customer writes in.
    first_id = f"<ci-first-{time.time_ns()}@client-ci.example>"
    answer = send(f"From: Robin Roe <{CUSTOMER}>\nTo: desk@msp-ci.example\nSubject: Scanner offline\n"
                  f"Message-ID: {first_id}\nDate: Mon, 30 Nov 2026 09:00:00 +0000\n\nThe scanner on floor 3 is offline.\n")
    assert "created T" in answer, answer
    number = answer.split("created ")[1].split()[0]
    received = native("GET", "/mail/inbound?limit=1")[0]
    assert received["message_id"] == first_id and received["outcome"] == "created", received
    ticket_id = received["ticket_id"]
    ticket = native("GET", f"/tickets/{ticket_id}")
    assert ticket["number"] == number and ticket["source"] == "email", ticket

    # 2. The acknowledgment reaches aiosmtpd, in the customer's thread.
    _, rcpt, ack = wait_for("the acknowledgment", lambda: next(iter(sink.about(number)), None))
    assert rcpt == [CUSTOMER], rcpt
    assert ack["Subject"] == f"[{number}] Scanner offline", ack["Subject"]
    assert ack["In-Reply-To"] == first_id, ack["In-Reply-To"]
    assert first_id in ack["References"] and f"<ticket.{ticket_id}@msp-ci.example>" in ack["References"]
    assert ack["Auto-Submitted"] == "auto-generated"
    assert ack.get_content_type() == "multipart/alternative"
    assert number in ack.get_body(("plain",)).get_content()
    assert "<strong>" in ack.get_body(("html",)).get_content()

    # 3. The technician answers in public, copying the customer's IT lead.
    native("POST", f"/tickets/{ticket_id}/notes", {"body": "Please power-cycle the scanner.", "visibility": "external", "email_cc": ["it@client-ci.example"]})
    native("POST", f"/tickets/{ticket_id}/notes", {"body": "internal only", "visibility": "internal"})
    _, rcpt, note = wait_for("the public note", lambda: sink.about(number)[1] if len(sink.about(number)) > 1 else None)
    assert sorted(rcpt) == sorted([CUSTOMER, "it@client-ci.example"]), rcpt
    assert note["Cc"] == "it@client-ci.example"
    assert "Please power-cycle the scanner." in note.get_body(("plain",)).get_content()
    assert note["In-Reply-To"] == first_id

    # 4. The customer replies to that mail: a note on the same ticket.
    reply_id = f"<ci-reply-{time.time_ns()}@client-ci.example>"
    answer = send(f"From: Robin Roe <{CUSTOMER}>\nTo: desk@msp-ci.example\nSubject: Re: {note['Subject']}\n"
                  f"Message-ID: {reply_id}\nIn-Reply-To: {note['Message-ID']}\nReferences: {first_id} {note['Message-ID']}\n\n"
                  "Done, it prints again.\n\nOn Mon, CI Service Desk wrote:\n> Please power-cycle the scanner.\n")
    assert f"appended {number}" in answer, answer
    notes = native("GET", f"/tickets/{ticket_id}/notes")
    notes = notes["items"] if isinstance(notes, dict) else notes
    assert notes[-1]["body"] == "Done, it prints again." and notes[-1]["visibility"] == "external", notes[-1]

    # 5. Resolved: the summary goes out, answering the customer's reply.
    ticket = native("GET", f"/tickets/{ticket_id}")
    request = urllib.request.Request(f"{BASE}/api/v1/tickets/{ticket_id}", method="PATCH",
                                     data=json.dumps({"status_id": 9, "resolution": "Power-cycled; firmware 2.1 installed."}).encode())
    request.add_header("Authorization", f"Bearer {KEY}")
    request.add_header("Content-Type", "application/json")
    request.add_header("If-Match", f"\"{ticket['version']}\"")
    urllib.request.urlopen(request).read()
    _, _, resolution = wait_for("the resolution", lambda: next((m for m in sink.about(number) if "Resolved:" in m[2]["Subject"]), None))
    assert resolution["In-Reply-To"] == reply_id, resolution["In-Reply-To"]
    assert "firmware 2.1" in resolution.get_body(("plain",)).get_content()

    # 6. Machines and broken mail make no ticket.
    before = native("GET", "/tickets?limit=1")["total"]
    assert "ignored" in send(f"From: {CUSTOMER}\nSubject: Automatic reply: Scanner offline\nAuto-Submitted: auto-replied\n"
                             f"Message-ID: <ci-ooo-{time.time_ns()}@client-ci.example>\n\nI am out of office.\n")
    assert "ignored" in send("From: MAILER-DAEMON@mx.client-ci.example\nSubject: Undelivered Mail\n"
                             f"Message-ID: <ci-bounce-{time.time_ns()}@mx.client-ci.example>\n"
                             "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n"
                             "--b\nContent-Type: text/plain\n\nDelivery failed.\n--b\nContent-Type: message/delivery-status\n\nStatus: 5.1.1\n--b--\n")
    assert "quarantined" in send("garbage without any headers\n")
    assert native("GET", "/tickets?limit=1")["total"] == before
    assert any(m["outcome"] == "quarantined" for m in native("GET", "/mail/inbound?outcome=quarantined"))
    with smtplib.SMTP("127.0.0.1", SMTP_IN, timeout=30) as smtp:
        assert smtp.docmd("DATA")[0] == 503, "DATA before RCPT is refused"
        assert smtp.docmd("FOO")[0] == 502

    # 7. A multipart message with an attachment, sent as the customer's mail client would.
    message = email.message.EmailMessage()
    message["From"], message["To"], message["Subject"] = CUSTOMER, "desk@msp-ci.example", "Error log attached"
    message["Message-ID"] = f"<ci-att-{time.time_ns()}@client-ci.example>"
    message.set_content("See the log.")
    message.add_alternative("<p>See the <b>log</b>.</p>", subtype="html")
    message.add_attachment(b"E42 paper jam\n", maintype="text", subtype="plain", filename="scanner.log")
    with smtplib.SMTP("127.0.0.1", SMTP_IN, timeout=30) as smtp:
        smtp.send_message(message)
    attached = native("GET", "/mail/inbound?limit=1")[0]
    assert attached["outcome"] == "created", attached
    files = native("GET", f"/tickets/{attached['ticket_id']}/attachments")["items"]
    assert [f["filename"] for f in files] == ["scanner.log"], files

    # An HTML-only message: the ticket's text is read from the HTML.
    assert "created" in send(f"From: {CUSTOMER}\nSubject: Monitor flickers\nMessage-ID: <ci-html-{time.time_ns()}@client-ci.example>\n"
                             "MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n<p>The <b>monitor</b> flickers.</p>\n")
    html_ticket = native("GET", f"/tickets/{native('GET', '/mail/inbound?limit=1')[0]['ticket_id']}")
    assert "monitor" in html_ticket["description"] and "<b>" not in html_ticket["description"], html_ticket["description"]

    # 8. Webhooks: every delivery signed; a failing receiver is switched off.
    wait_for("webhook deliveries", lambda: len(Hooks.received) >= 5)
    for headers, body in Hooks.received:
        verify(hook["secret"], headers, body)
    types = {json.loads(body)["type"] for _, body in Hooks.received}
    assert {"ticket.created", "note.created", "ticket.updated"} <= types, types
    Hooks.status = 500
    company = native("POST", "/companies", {"name": "Webhook CI"})["id"]
    for n in range(10):
        native("POST", "/tickets", {"title": f"failing delivery {n}", "company_id": company})
    wait_for("the webhook to be switched off", lambda: not native("GET", f"/webhooks/{hook['id']}")["active"], seconds=60)
    assert "500" in native("GET", f"/webhooks/{hook['id']}")["disabled_reason"]
    log = native("GET", f"/webhooks/{hook['id']}/deliveries?limit=20")
    assert any(d["last_status"] == 500 for d in log), log
    assert log[0]["state"] == "failed" and "switched off" in log[0]["last_error"], log[0]
    Hooks.status = 200
    assert native("PATCH", f"/webhooks/{hook['id']}", {"active": True})["active"] is True
    native("POST", f"/webhooks/{hook['id']}/deliveries/{log[0]['id']}/retry", {})
    wait_for("the retried delivery", lambda: native("GET", f"/webhooks/{hook['id']}/deliveries?limit=5")[0]["state"] == "delivered")

    print(f"mail client checks passed ({len(sink.messages)} messages out, {len(Hooks.received)} webhook requests)")
    print("the conversation:")
    print(f"  in : Message-ID {first_id}  Subject: Scanner offline")
    for _, rcpt, m in sink.about(number)[:3]:
        print(f"  out: To {','.join(rcpt)}  Subject: {m['Subject']}\n       Message-ID {m['Message-ID']}\n       In-Reply-To {m['In-Reply-To']}\n       References {m['References']}")
        if m is note:
            print(f"  in : Message-ID {reply_id}  In-Reply-To {note['Message-ID']}  -> note on {number}")
finally:
    controller.stop()
    hooks.shutdown()
