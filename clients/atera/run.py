"""Drives Fixpoint's Atera dialect with the PyPI `atera-client` (generated from
Atera's own API description), as an MSP's script would.

Usage: run.py BASE_URL API_KEY   (BASE_URL like http://127.0.0.1:8080, an admin key)
The native API (same base, same key) seeds what Atera cannot create and logs time.
"""

import json
import sys
import urllib.request

import atera_client
from atera_client.rest import ApiException

BASE, KEY = sys.argv[1], sys.argv[2]


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


configuration = atera_client.Configuration()
configuration.host = BASE
configuration.api_key["X-API-KEY"] = KEY
client = atera_client.ApiClient(configuration)
tickets = atera_client.TicketApi(client)
contacts = atera_client.ContactApi(client)
customers = atera_client.CustomerApi(client)

# Atera's rules as the core's settings (what --tenant-profile atera sets up): resolve
# before close; technicians without roles; no resolution text.
native("PUT", "/workflow/settings", {"close_requires_resolved": True, "resource_without_role": True, "resolution_optional": True})
company = native("POST", "/companies", {"name": "Client Script Co"})["id"]
contact = native("POST", "/contacts", {"company_id": company, "first_name": "Ada", "last_name": "Lovelace", "email": "ada@script.example"})["id"]
technician = native("POST", "/resources", {"first_name": "Tess", "last_name": "Tech", "email": "tess@msp.example"})["id"]

created = []
for i in range(3):
    result = tickets.ticket_post(
        atera_client.CreateTicketDTO(
            ticket_title=f"Printer offline #{i}",
            description="Reported by phone.",
            ticket_priority="High",
            ticket_impact="Minor",
            ticket_type="Incident",
            end_user_id=contact,
            technician_contact_id=technician,
        )
    )
    created.append(int(result.action_id))
check(len(created) == 3, "ticket_post creates tickets and returns ActionID")

one = tickets.ticket_get_0(created[0])
check(one.ticket_id == created[0] and one.ticket_title == "Printer offline #0", "ticket_get_0 reads a ticket")
check(one.ticket_priority == "High" and one.ticket_impact == "Minor" and one.ticket_type == "Incident", "enums come back as Atera's strings")
check(one.ticket_status == "Open" and one.customer_id == company and one.end_user_id == contact, "status, customer and end user")
check(one.technician_full_name == "Tess Tech" and one.ticket_created_date is not None, "technician and created date")

first = tickets.ticket_get(page=1, items_in_page=2, customer_id=company)
check(first.total_item_count == 3 and first.total_pages == 2 and len(first.items) == 2, "ticket_get pages with customer filter")
check(first.next_link.startswith(BASE) and "page=2" in first.next_link, "nextLink is absolute")
second = tickets.ticket_get(page=2, items_in_page=2, customer_id=company)
ids = [t.ticket_id for t in first.items + second.items]
check(sorted(ids) == sorted(created), "following the pages visits every ticket once")
opened = tickets.ticket_get(ticket_status="Open", customer_id=company)
check(opened.total_item_count == 3, "ticket_get filters by status")

tickets.ticket_put(created[1], atera_client.UpdateTicketDTO(ticket_status="Pending", ticket_priority="Critical"))
updated = tickets.ticket_get_0(created[1])
check(updated.ticket_status == "Pending" and updated.ticket_priority == "Critical", "ticket_put changes status and priority")

try:
    tickets.ticket_put(created[0], atera_client.UpdateTicketDTO(ticket_status="Closed"))
    check(False, "Open straight to Closed is refused")
except ApiException as e:
    body = json.loads(e.body)
    check(e.status == 400 and body["errors"][0]["field"] == "TicketStatus", "Open straight to Closed is refused with 400 on TicketStatus")

native("POST", f"/tickets/{created[0]}/notes", {"body": "Called the user.", "visibility": "external"})
comments = tickets.ticket_get_comments(created[0])
check(comments.total_item_count == 1 and comments.items[0].comment == "Called the user." and comments.items[0].is_internal is False, "ticket_get_comments lists notes")

native("POST", f"/tickets/{created[0]}/time-entries", {"resource_id": technician, "started_at": "2026-11-24T14:00:00Z", "ended_at": "2026-11-24T15:30:00Z", "billable": True})
native("POST", f"/tickets/{created[0]}/time-entries", {"resource_id": technician, "minutes": 30, "billable": False})
with_work = tickets.ticket_get_0(created[0])
check(with_work.total_duration_minutes == 120 and with_work.first_comment == "Called the user.", "the ticket carries its durations and first comment")
hours = tickets.ticket_get_workhours(created[0])
check(hours.billable.total_duration_hours == 1.5 and hours.non_billable.total_duration_hours == 0.5, "ticket_get_workhours sums billable and non-billable")
billable = tickets.ticket_get_billable_duration(created[0])
check(billable.total_duration_hours == 1.5 and billable.on_sla_duration_hours + billable.off_sla_duration_hours == 1.5, "ticket_get_billable_duration splits on and off SLA")
non_billable = tickets.ticket_get_non_billable_duration(created[0])
check(non_billable.total_duration_hours == 0.5, "ticket_get_non_billable_duration")
records = tickets.ticket_get_workhours_records(created[0])
check(records.total_item_count == 2 and any(r.billiable for r in records.items), "ticket_get_workhours_records")

tickets.ticket_put(created[2], atera_client.UpdateTicketDTO(ticket_status="Resolved"))
feed = tickets.ticket_track_status_modified()
check(created[2] in [t.ticket_id for t in feed.items], "ticket_track_status_modified lists the resolved ticket")

tickets.ticket_delete(created[1])
try:
    tickets.ticket_get_0(created[1])
    check(False, "a deleted ticket is gone")
except ApiException as e:
    check(e.status == 404, "ticket_delete, then 404")

found = contacts.contact_get(search_options_email="ada@script.example")
check(any(c.end_user_id == contact for c in found.items), "contact_get finds the contact")
listed = customers.customer_get()
check(any(c.customer_id == company for c in listed.items), "customer_get lists the customer")
print("atera-client: all checks passed")
