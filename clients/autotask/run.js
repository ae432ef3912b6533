// Drives Fixpoint's Autotask dialect with the npm package @apigrate/autotask-restapi,
// as an MSP's integration would, and checks each answer against the native API.
//
// Usage: node run.js BASE_URL ADMIN_KEY USERNAME SECRET INTEGRATION_CODE
// (BASE_URL like http://127.0.0.1:8080; the API user from `fixpoint apiuser create`).
'use strict';
const { AutotaskRestApi, AutotaskApiError } = require('@apigrate/autotask-restapi');

const [BASE, KEY, USER, SECRET, CODE] = process.argv.slice(2);

async function native(method, path, body) {
  const response = await fetch(`${BASE}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`native ${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

function check(condition, what) {
  if (!condition) {
    console.error(`FAILED: ${what}`);
    process.exit(1);
  }
  console.log(`ok   ${what}`);
}

async function main() {
  const api = new AutotaskRestApi(USER, SECRET, CODE, { base_url: `${BASE}/ATServicesRest/` });

  // Zone discovery happens on the first call; the client then uses the zone's url.
  const version = await api._get('/Version');
  check(api.zoneInfo && api.zoneInfo.url === `${BASE}/ATServicesRest/`, 'zone discovery names the facade itself');
  check(version && version.majorVersion === 1, 'Version answers');
  const threshold = await api.ThresholdInformation.get('');
  check(threshold.externalRequestThreshold === 10000, 'ThresholdInformation: 10,000 an hour');

  // A technician and a role to assign, from the native API (Autotask cannot create them).
  const tech = await native('POST', '/resources', { first_name: 'Ada', last_name: 'Tech', email: `ada.${Date.now()}@msp.example` });
  const role = await native('POST', '/roles', { name: `Service Desk ${Date.now()}` });

  const company = await api.Companies.create({ companyName: 'Contoso Dental', phone: '555-0100', companyType: 1 });
  check(Number.isInteger(company.itemId), `Companies.create → itemId ${company.itemId}`);
  const nativeCompany = await native('GET', `/companies/${company.itemId}`);
  check(nativeCompany.name === 'Contoso Dental', 'the company is in the native API');

  const contact = await api.CompanyContacts.create(company.itemId, { firstName: 'Dana', lastName: 'Lee', emailAddress: 'dana@contoso.example' });
  const nativeContact = await native('GET', `/contacts/${contact.itemId}`);
  check(nativeContact.company_id === company.itemId, 'CompanyContacts.create puts the contact under the company');

  const created = await api.Tickets.create({
    companyID: company.itemId, contactID: contact.itemId, title: 'Printer offline',
    description: 'The front desk printer shows offline', status: 1, priority: 3, ticketType: 2,
  });
  check(created.itemId === created.id, 'Tickets.create answers itemId (and id)');
  const got = await api.Tickets.get(created.itemId);
  const nativeTicket = await native('GET', `/tickets/${created.itemId}`);
  check(got.item.ticketNumber === nativeTicket.number && got.item.title === 'Printer offline', 'Tickets.get matches the native ticket');
  check(got.item.priority === 3 && nativeTicket.priority_id === 2, 'priority 3 (High) is Fixpoint High');
  check(Date.parse(got.item.resolvedDueDateTime) === Date.parse(nativeTicket.sla.resolution.due_at)
    && Date.parse(got.item.firstResponseDueDateTime) === Date.parse(nativeTicket.sla.first_response.due_at),
    'SLA due times are the clock\'s');
  const missing = await api.Tickets.get(999999999);
  check(missing.item === null, 'an unknown id answers {"item": null}');

  await api.Tickets.update({ id: created.itemId, status: 2, assignedResourceID: tech.id, assignedResourceRoleID: role.id });
  const afterPatch = await native('GET', `/tickets/${created.itemId}`);
  check(afterPatch.status_id === 2 && afterPatch.assigned_resource_id === tech.id && afterPatch.assigned_role_id === role.id,
    'PATCH status and assignment land in the native ticket');

  const note = await api.TicketNotes.create(created.itemId, { title: 'Called', description: 'Power-cycled the printer', noteType: 1, publish: 1 });
  const notes = await native('GET', `/tickets/${created.itemId}/notes`);
  check(notes.some((n) => n.id === note.itemId && n.visibility === 'external'), 'TicketNotes.create adds an external note');

  const entry = await api.TimeEntries.create({ ticketID: created.itemId, resourceID: tech.id, startDateTime: '2026-11-24T09:00:00Z', hoursWorked: 0.5, summaryNotes: 'Remote session' });
  const entries = await native('GET', `/tickets/${created.itemId}/time-entries`);
  check(entries.some((e) => e.id === entry.itemId && e.minutes === 30), 'TimeEntries.create logs 30 minutes');

  // Corrections: a note edited (PATCH and PUT under the ticket), time edited and withdrawn.
  await api.TicketNotes.update(created.itemId, { id: note.itemId, description: 'Power-cycled the printer twice' });
  let edited = (await native('GET', `/tickets/${created.itemId}/notes`)).find((n) => n.id === note.itemId);
  check(edited.body === 'Power-cycled the printer twice' && edited.title === 'Called', 'TicketNotes.update changes only what it sends');
  await api.TicketNotes.replace(created.itemId, { id: note.itemId, description: 'Replaced the toner', publish: 2 });
  edited = (await native('GET', `/tickets/${created.itemId}/notes`)).find((n) => n.id === note.itemId);
  check(edited.title === null && edited.visibility === 'internal', 'TicketNotes.replace clears what it leaves out');
  await api.TimeEntries.update({ id: entry.itemId, hoursWorked: 0.75, isNonBillable: true });
  const corrected = (await native('GET', `/tickets/${created.itemId}/time-entries`)).find((e) => e.id === entry.itemId);
  check(corrected.minutes === 45 && corrected.billable === false, 'TimeEntries.update corrects the hours and billing');
  const deleted = await api.TimeEntries.delete(entry.itemId);
  check(deleted.itemId === entry.itemId, 'TimeEntries.delete answers the itemId');
  check(!(await native('GET', `/tickets/${created.itemId}/time-entries`)).some((e) => e.id === entry.itemId),
    'the withdrawn time entry is gone from the native API');

  const contract = await api.Contracts.create({ companyID: company.itemId, contractName: 'Managed services' });
  // The client has no ServiceLevelAgreements entity; its generic POST reaches ours.
  const slas = await api._post('/ServiceLevelAgreements/query', { filter: [{ op: 'gte', field: 'id', value: 0 }] });
  const policies = await native('GET', '/sla-policies');
  check(JSON.stringify(slas.items.map((s) => s.name)) === JSON.stringify(policies.map((p) => p.name)),
    'ServiceLevelAgreements are the native SLA policies');
  await api.Contracts.update({ id: contract.itemId, serviceLevelAgreementID: slas.items[1].id });
  const nativeContract = await native('GET', `/contracts/${contract.itemId}`);
  check(nativeContract.sla_policy_id === slas.items[1].id && nativeContract.name === 'Managed services',
    'Contracts.update sets the SLA and keeps the name');
  const categories = await api.TicketCategories.query({ filter: [{ op: 'eq', field: 'isActive', value: true }] });
  const nativeCategories = await native('GET', '/ticket-categories');
  check(categories.items.length === nativeCategories.length && categories.items.some((c) => c.isGlobalDefault),
    'TicketCategories lists the native categories with the default marked');

  // Enough tickets for several pages, then a nested and/or query followed to the end.
  for (let i = 0; i < 11; i++) {
    await api.Tickets.create({ companyID: company.itemId, title: `Batch ${i}`, priority: i % 2 ? 4 : 1, status: 1 });
  }
  const filter = [
    { op: 'eq', field: 'companyID', value: company.itemId },
    { op: 'or', items: [
      { op: 'in', field: 'priority', value: [1, 4] },
      { op: 'and', items: [{ op: 'contains', field: 'title', value: 'printer' }, { op: 'noteq', field: 'status', value: 5 }] },
    ] },
  ];
  let page = await api.Tickets.query({ filter, MaxRecords: 4 });
  const seen = page.items.map((t) => t.id);
  let pages = 1;
  while (page.pageDetails.nextPageUrl) {
    const response = await fetch(page.pageDetails.nextPageUrl, { headers: { ApiIntegrationcode: CODE, UserName: USER, Secret: SECRET } });
    page = await response.json();
    seen.push(...page.items.map((t) => t.id));
    pages += 1;
  }
  const search = await native('POST', '/tickets/search', { filter: { op: 'and', items: [
    { op: 'eq', field: 'company_id', value: company.itemId },
    { op: 'or', items: [
      { op: 'in', field: 'priority_id', value: [4, 1] },
      { op: 'and', items: [{ op: 'contains', field: 'title', value: 'printer' }, { op: 'noteq', field: 'status_id', value: 10 }] },
    ] },
  ] }, limit: 100 });
  check(pages >= 3, `nextPageUrl followed across ${pages} pages`);
  check(JSON.stringify(seen) === JSON.stringify(search.items.map((t) => t.id).sort((a, b) => a - b)),
    `the pages hold the same ${seen.length} tickets as the native search, in id order`);

  const count = await api.Tickets.count({ filter });
  check(count.queryCount === seen.length, `count answers ${count.queryCount}`);

  const info = await api.Tickets.fieldInfo();
  const status = info.fields.find((f) => f.name === 'status');
  check(status.isPickList && status.picklistValues.some((p) => p.value === '5' && p.label === 'Complete'), 'fieldInfo lists status 5 Complete');

  try {
    await api.Tickets.create({ companyID: company.itemId, title: 'No such priority', priority: 42 });
    check(false, 'an invalid priority is refused');
  } catch (e) {
    check(e instanceof AutotaskApiError && e.status === 400 && e.details.errors[0].includes('priority'),
      `a validation error is 400 and names the field: ${e.details.errors[0]}`);
  }
  console.log('Autotask client: all checks passed');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
