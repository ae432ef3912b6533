"""Drives Fixpoint's HaloPSA dialect with the PyPI `HaloPSA` client, as an MSP's
script would, and checks every answer against Fixpoint's native API.

Usage: run.py BASE_URL API_KEY CLIENT_ID CLIENT_SECRET
  BASE_URL like http://127.0.0.1:8080; API_KEY an admin key of the native API;
  CLIENT_ID / CLIENT_SECRET from `fixpoint apiclient create`.

The client builds its URLs from a tenant name (https://<tenant>.halopsa.com); its
HTTP session's `request` is wrapped so that those requests reach BASE_URL instead.
Nothing else about the client is changed.
"""

import base64
import json
import sys
import urllib.request

import requests

BASE, KEY, CLIENT_ID, SECRET = sys.argv[1:5]
TENANT = "fixpoint-ci"
HALO_ORIGIN = f"https://{TENANT}.halopsa.com"

_request = requests.Session.request


def _to_fixpoint(self, method, url, *args, **kwargs):
    if url.startswith(HALO_ORIGIN):
        url = BASE + url[len(HALO_ORIGIN):]
    return _request(self, method, url, *args, **kwargs)


requests.Session.request = _to_fixpoint

from HaloPSA.Halo import Halo  # noqa: E402  (after the session is redirected)


def native(method, path, body=None):
    request = urllib.request.Request(
        f"{BASE}/api/v1{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        text = response.read()
        return json.loads(text) if text else None


def check(condition, what):
    if not condition:
        raise SystemExit(f"FAILED: {what}")
    print(f"ok   {what}")


def refused(call, what, needle):
    try:
        call()
    except ValueError as error:  # the client raises ValueError on a 400
        check(needle in str(error), f"{what} (400 naming {needle})")
        return
    raise SystemExit(f"FAILED: {what}: no error")


# A HaloPSA shop's workflow switches (what --tenant-profile halopsa sets up): an
# agent is assigned without a role.
native("PUT", "/workflow/settings", {"close_requires_resolved": False, "resource_without_role": True, "resolution_optional": False})
agent = native("POST", "/resources", {"first_name": "Hal", "last_name": "Agent", "email": "hal@msp.example"})["id"]

# 1. A token from /auth/token (inside the constructor).
halo = Halo(tenant=TENANT, clientid=CLIENT_ID, secret=SECRET)
check(halo._mh.token, "client credentials give a bearer token")
try:
    Halo(tenant=TENANT, clientid=CLIENT_ID, secret="wrong")
    raise SystemExit("FAILED: a wrong secret was accepted")
except ValueError as error:
    check("client ID and secret" in str(error), "a wrong secret is 401 invalid_client, as the client reads it")

# 2. Reference data: statuses, ticket types, agents, teams, me.
statuses = halo.Status.search()
names = {s["id"]: s["name"] for s in statuses}
check(names.get(1) == "New" and names.get(2) == "In Progress" and names.get(8) == "Resolved", "Status lists HaloPSA's numbering")
types = halo.TicketTypes.search()
check(any(t["id"] == 1 and t["name"] == "Incident" for t in types), "TicketType 1 is Incident")
agents = halo.Agents.search()
check(any(a["id"] == agent for a in agents), "Agent lists the technicians")
check(halo.Agents.get(agent)["email"] == "hal@msp.example", "Agent/{id}")
check(isinstance(halo.Teams.search(), list), "Team lists the queues")

# 3. A client, a site and a user, checked against the native API.
client = halo.Clients.update(name="Halo Script Co")
check(client["name"] == "Halo Script Co" and client["clients"][0]["id"] == client["id"], "Client created (bare object and clients[0])")
check(native("GET", f"/companies/{client['id']}")["name"] == "Halo Script Co", "the client is a Fixpoint company")
site = halo.Sites.update(name="Head Office", client_id=client["id"])
check(site["client_id"] == client["id"], "Site created for the client")
user = halo.Users.update(name="Ada Lovelace", site_id=site["id"], emailaddress="ada@halo.example")
check(user["client_id"] == client["id"], "User created through its site's client")
contact = native("GET", f"/contacts/{user['id']}")
check(contact["email"] == "ada@halo.example" and contact["last_name"] == "Lovelace", "the user is a Fixpoint contact")
listed = halo.Clients.search(search="halo script")
check(listed["record_count"] == 1 and listed["clients"][0]["id"] == client["id"], "Client search")
users = halo.Users.search(client_id=client["id"])
check(users["record_count"] == 1 and users["users"][0]["emailaddress"] == "ada@halo.example", "Users by client")
check(halo.Clients.get(client["id"])["id"] == client["id"], "Client/{id}")
refused(lambda: halo.Users.update(name="Nobody", emailaddress="nobody@x.example"), "a user without a client is refused", "client_id")

# 4. Tickets: create, get, update status and agent.
ticket = halo.Tickets.update(
    summary="Outlook disconnected for the sales team",
    details="Since 9am; webmail works.",
    client_id=client["id"],
    user_id=user["id"],
    tickettype_id=1,
    priority_id=2,
    category_1="Email",
    category_2="Outlook",
)
tid = ticket["id"]
check(ticket["tickets"][0]["id"] == tid, "Ticket created (bare object and tickets[0])")
check(ticket["status_id"] == 1 and ticket["priority_name"] == "High", "a new ticket is New, priority 2 is High")
check(ticket["fixbydate"] and ticket["respondbydate"], "the SLA clock gives fix-by and respond-by dates")
mirror = native("GET", f"/tickets/{tid}")
check(mirror["title"] == ticket["summary"] and mirror["contact_id"] == user["id"], "the native API has the same ticket")
check(mirror["priority_id"] == 2 and mirror["categories"] == ["Email", "Outlook"], "priority and categories map onto Fixpoint's")
check(mirror["sla"]["resolution"]["due_at"][:19] == ticket["fixbydate"][:19], "fixbydate is the core's resolution deadline")
got = halo.Tickets.get(tid)
check(got["summary"] == ticket["summary"] and got["client_name"] == "Halo Script Co", "Tickets/{id}")
updated = halo.Tickets.update(id=tid, status_id=2, agent_id=agent)
check(updated["status_name"] == "In Progress" and updated["agent_id"] == agent, "status and agent updated")
mirror = native("GET", f"/tickets/{tid}")
check(mirror["status_id"] == 2 and mirror["assigned_resource_id"] == agent, "the native API sees the update")
refused(lambda: halo.Tickets.update(client_id=client["id"], tickettype_id=1), "a ticket without a summary is refused", "summary")
refused(lambda: halo.Tickets.update(id=tid, status_id=8), "resolving without a resolution is refused", "resolution")

# 5. Lists with paging and filters.
for n in range(4):
    halo.Tickets.update(summary=f"Printer {n} offline", client_id=client["id"], tickettype_id=1)
page = halo.Tickets.search(pageinate=True, page_size=2, page_no=2, client_id=client["id"], order="id")
check(page["record_count"] == 5 and len(page["tickets"]) == 2, "paging: page 2 of 2 per page, with the total")
page_one = halo.Tickets.search(pageinate=True, page_size=2, page_no=1, client_id=client["id"], order="id")
check(page_one["tickets"][1]["id"] < page["tickets"][0]["id"], "pages follow each other")
native_total = native("GET", f"/tickets?company_id={client['id']}")["total"]
check(native_total == page["record_count"], "record_count equals the native total")
open_ones = halo.Tickets.search(client_id=client["id"], open_only=True, status_id=2)
check([t["id"] for t in open_ones["tickets"]] == [tid], "filters: open_only and status_id")
found = halo.Tickets.search(search="outlook")
check(found["record_count"] == 1 and found["tickets"][0]["id"] == tid, "text search")
ids = halo.Tickets.search(client_id=client["id"], ticketidonly=True)
check(set(ids["tickets"][0]) == {"id", "sla_id", "status_id", "client_id", "client_name", "lastincomingemail"}, "ticketidonly")

# 6. Actions: a private note, then a client-visible note with half an hour of work.
note = halo.Actions.update(ticket_id=tid, outcome="Investigation", note="Cached credentials are stale.", hiddenfromuser=True)
check(note["hiddenfromuser"] is True and note["actions"][0]["id"] == note["id"], "a private note")
work = halo.Actions.update(ticket_id=tid, outcome="Customer Update", note="Fixed: profile rebuilt.", hiddenfromuser=False, timetaken=0.5, agent_id=agent)
check(work["timetaken"] == 0.5 and work["actionchargehours"] == 0.5, "a time action of 0.5 h")
entries = native("GET", f"/tickets/{tid}/time-entries")
entries = entries.get("items", entries) if isinstance(entries, dict) else entries
check(len(entries) == 1 and entries[0]["minutes"] == 30 and entries[0]["note_id"] == work["id"], "the time is a 30-minute Fixpoint time entry on that note")
notes = native("GET", f"/tickets/{tid}/notes")
notes = notes.get("items", notes) if isinstance(notes, dict) else notes
visibility = {n["id"]: n["visibility"] for n in notes}
check(visibility == {note["id"]: "internal", work["id"]: "external"}, "hiddenfromuser is the note's visibility")
actions = halo.Actions.search(ticket_id=tid)
check(actions["record_count"] == 2 and [a["id"] for a in actions["actions"]] == [note["id"], work["id"]], "Actions for the ticket, oldest first")
one = halo.Actions.get(id=work["id"], ticket_id=tid)
check(one["note"] == "Fixed: profile rebuilt.", "Actions/{id}")
check(halo.Tickets.get(tid)["timetaken"] == 0.5, "the ticket's timetaken")
check(native("GET", f"/tickets/{tid}")["first_response_at"] is not None, "the client-visible note is the first response")

# 7. Attachments.
png = bytes([0x89, 0x50, 0x4E, 0x47, 0, 1, 2, 255])
uploaded = halo.Attachments.upload(filename="screen.png", ticket_id=tid, data_base64=base64.b64encode(png).decode())
check(uploaded["contenttype"] == "image/png" and uploaded["filesize"] == len(png), "Attachment uploaded")
files = halo.Attachments.search(ticket_id=tid)
check(files["record_count"] == 1, "Attachment list")
back = halo.Attachments.get(uploaded["id"])
check(base64.b64decode(back["data_base64"]) == png, "Attachment/{id} returns the same bytes")
native_files = native("GET", f"/tickets/{tid}/attachments")["items"]
check([f["id"] for f in native_files] == [uploaded["id"]], "the native API lists the same file")

# 8. Resolve with a resolution.
resolved = halo.Tickets.update(id=tid, status_id=8, resolution="Rebuilt the Outlook profile.")
check(resolved["status_id"] == 8 and resolved["dateresolved"], "resolved with a resolution")
check(native("GET", f"/tickets/{tid}")["resolved_at"] is not None, "the native API records the resolution")

print("HaloPSA client: all checks passed")
