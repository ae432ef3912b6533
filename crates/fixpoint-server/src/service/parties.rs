//! Companies, locations, contacts, resources, roles, queues and contracts.

use fixpoint_core::DomainError;
use fixpoint_core::ids::{
    CompanyId, ContactId, ContractId, LocationId, QueueId, ResourceId, RoleId,
};
use fixpoint_core::parties::*;
use fixpoint_store::parties::{self as rows, NamedTable, Page, PartyFilter, now};
use fixpoint_store::{Conn, Store};

use super::ServiceResult;

async fn company_exists(conn: &mut Conn, id: CompanyId) -> ServiceResult<bool> {
    Ok(rows::company(conn, id).await?.is_some())
}

pub async fn create_company(store: &Store, new: NewCompany) -> ServiceResult<Company> {
    let mut tx = store.write().await?;
    let mut company = Company {
        id: CompanyId(0),
        name: new.name,
        parent_company_id: new.parent_company_id,
        phone: new.phone,
        website: new.website,
        active: new.active,
        created_at: now(),
    };
    check_tree(&mut tx, &company).await?;
    company.id = rows::insert_company(&mut tx, &company).await?;
    Store::commit(tx).await?;
    Ok(company)
}

async fn check_tree(conn: &mut Conn, company: &Company) -> ServiceResult<()> {
    let (exists, ancestors) = match company.parent_company_id {
        Some(parent) => (
            company_exists(conn, parent).await?,
            rows::company_ancestors(conn, parent).await?,
        ),
        None => (true, Vec::new()),
    };
    Ok(check_company(company, exists, &ancestors)?)
}

pub async fn update_company(
    store: &Store,
    id: CompanyId,
    patch: CompanyPatch,
) -> ServiceResult<Company> {
    let mut tx = store.write().await?;
    let before = rows::company(&mut tx, id)
        .await?
        .ok_or_else(|| DomainError::not_found("company", id))?;
    let after = before.apply(patch);
    check_tree(&mut tx, &after).await?;
    rows::update_company(&mut tx, &after).await?;
    Store::commit(tx).await?;
    Ok(after)
}

pub async fn company(store: &Store, id: CompanyId) -> ServiceResult<Company> {
    let mut conn = store.read().await?;
    Ok(rows::company(&mut conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("company", id))?)
}

pub async fn companies(store: &Store, f: &PartyFilter, page: &Page) -> ServiceResult<Vec<Company>> {
    let mut conn = store.read().await?;
    Ok(rows::companies(&mut conn, f, page).await?)
}

pub async fn create_location(
    store: &Store,
    company: CompanyId,
    new: NewLocation,
) -> ServiceResult<Location> {
    new.check()?;
    let mut tx = store.write().await?;
    if !company_exists(&mut tx, company).await? {
        return Err(DomainError::not_found("company", company).into());
    }
    let mut location = Location {
        id: LocationId(0),
        company_id: company,
        name: new.name,
        address: new.address,
        active: new.active,
    };
    location.id = rows::insert_location(&mut tx, &location).await?;
    Store::commit(tx).await?;
    Ok(location)
}

/// Locations of one company (which must exist), or of every company.
pub async fn locations(
    store: &Store,
    company: Option<CompanyId>,
    page: &Page,
) -> ServiceResult<Vec<Location>> {
    let mut conn = store.read().await?;
    if let Some(company) = company
        && !company_exists(&mut conn, company).await?
    {
        return Err(DomainError::not_found("company", company).into());
    }
    Ok(rows::locations(&mut conn, company, page).await?)
}

pub async fn create_contact(store: &Store, new: NewContact) -> ServiceResult<Contact> {
    let mut tx = store.write().await?;
    let contact = add_contact(&mut tx, new).await?;
    Store::commit(tx).await?;
    Ok(contact)
}

/// Checks and writes a contact in the caller's transaction.
pub(crate) async fn add_contact(tx: &mut Conn, new: NewContact) -> ServiceResult<Contact> {
    let mut contact = Contact {
        id: ContactId(0),
        company_id: new.company_id,
        first_name: new.first_name,
        last_name: new.last_name,
        email: new.email,
        phone: new.phone,
        language: new.language,
        active: new.active,
    };
    contact.check(company_exists(tx, contact.company_id).await?)?;
    contact.id = rows::insert_contact(tx, &contact).await?;
    Ok(contact)
}

pub async fn update_contact(
    store: &Store,
    id: ContactId,
    patch: ContactPatch,
) -> ServiceResult<Contact> {
    let mut tx = store.write().await?;
    let before = rows::contact(&mut tx, id)
        .await?
        .ok_or_else(|| DomainError::not_found("contact", id))?;
    let after = before.apply(patch);
    after.check(company_exists(&mut tx, after.company_id).await?)?;
    rows::update_contact(&mut tx, &after).await?;
    Store::commit(tx).await?;
    Ok(after)
}

pub async fn contact(store: &Store, id: ContactId) -> ServiceResult<Contact> {
    let mut conn = store.read().await?;
    Ok(rows::contact(&mut conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("contact", id))?)
}

pub async fn contacts(store: &Store, f: &PartyFilter, page: &Page) -> ServiceResult<Vec<Contact>> {
    let mut conn = store.read().await?;
    Ok(rows::contacts(&mut conn, f, page).await?)
}

pub async fn create_resource(store: &Store, new: NewResource) -> ServiceResult<Resource> {
    let mut resource = Resource {
        id: ResourceId(0),
        first_name: new.first_name,
        last_name: new.last_name,
        email: new.email,
        active: new.active,
    };
    resource.check()?;
    let mut tx = store.write().await?;
    resource.id = rows::insert_resource(&mut tx, &resource).await?;
    Store::commit(tx).await?;
    Ok(resource)
}

pub async fn update_resource(
    store: &Store,
    id: ResourceId,
    patch: ResourcePatch,
) -> ServiceResult<Resource> {
    let mut tx = store.write().await?;
    let before = rows::resource(&mut tx, id)
        .await?
        .ok_or_else(|| DomainError::not_found("resource", id))?;
    let after = before.apply(patch);
    after.check()?;
    rows::update_resource(&mut tx, &after).await?;
    Store::commit(tx).await?;
    Ok(after)
}

pub async fn resource(store: &Store, id: ResourceId) -> ServiceResult<Resource> {
    let mut conn = store.read().await?;
    Ok(rows::resource(&mut conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("resource", id))?)
}

pub async fn resources(
    store: &Store,
    f: &PartyFilter,
    page: &Page,
) -> ServiceResult<Vec<Resource>> {
    let mut conn = store.read().await?;
    Ok(rows::resources(&mut conn, f, page).await?)
}

/// Roles and queues share one shape: a name and an active flag.
pub async fn create_named(store: &Store, table: NamedTable, new: NewNamed) -> ServiceResult<i64> {
    check_name(&new.name)?;
    let mut tx = store.write().await?;
    let id = rows::insert_named(&mut tx, table, &new.name, new.active).await?;
    Store::commit(tx).await?;
    Ok(id)
}

pub async fn role(store: &Store, id: RoleId) -> ServiceResult<Role> {
    let mut conn = store.read().await?;
    Ok(rows::role(&mut conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("role", id))?)
}

pub async fn update_role(store: &Store, id: RoleId, patch: NamedPatch) -> ServiceResult<Role> {
    let mut tx = store.write().await?;
    let before = rows::role(&mut tx, id)
        .await?
        .ok_or_else(|| DomainError::not_found("role", id))?;
    let after = Role {
        name: patch.name.unwrap_or(before.name),
        active: patch.active.unwrap_or(before.active),
        ..before
    };
    check_name(&after.name)?;
    rows::update_named(&mut tx, NamedTable::Roles, id.0, &after.name, after.active).await?;
    Store::commit(tx).await?;
    Ok(after)
}

pub async fn roles(store: &Store, f: &PartyFilter, page: &Page) -> ServiceResult<Vec<Role>> {
    let mut conn = store.read().await?;
    Ok(rows::roles(&mut conn, f, page).await?)
}

pub async fn queue(store: &Store, id: QueueId) -> ServiceResult<Queue> {
    let mut conn = store.read().await?;
    Ok(rows::queue(&mut conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("queue", id))?)
}

pub async fn create_queue(store: &Store, new: NewQueue) -> ServiceResult<Queue> {
    let mut tx = store.write().await?;
    check_queue(&mut tx, &new).await?;
    let id = rows::insert_queue(&mut tx, &new).await?;
    Store::commit(tx).await?;
    Ok(Queue {
        id,
        name: new.name,
        active: new.active,
        sla_policy_id: new.sla_policy_id,
    })
}

pub async fn update_queue(store: &Store, id: QueueId, patch: QueuePatch) -> ServiceResult<Queue> {
    let mut tx = store.write().await?;
    let before = rows::queue(&mut tx, id)
        .await?
        .ok_or_else(|| DomainError::not_found("queue", id))?;
    let new = patch.apply_to(&before);
    check_queue(&mut tx, &new).await?;
    let after = Queue {
        id,
        name: new.name,
        active: new.active,
        sla_policy_id: new.sla_policy_id,
    };
    rows::update_queue(&mut tx, &after).await?;
    Store::commit(tx).await?;
    Ok(after)
}

async fn check_queue(conn: &mut Conn, new: &NewQueue) -> ServiceResult<()> {
    Ok(new.check(policy_exists(conn, new.sla_policy_id).await?)?)
}

/// Whether the SLA policy a queue or contract names exists (true when it names none).
async fn policy_exists(conn: &mut Conn, id: Option<i64>) -> ServiceResult<bool> {
    let Some(id) = id else {
        return Ok(true);
    };
    let policies = fixpoint_store::sla::policies(conn).await?;
    Ok(policies.iter().any(|p| p.id.0 == id))
}

/// Sets who works a queue; every member must be a technician that exists.
pub async fn set_queue_members(
    store: &Store,
    queue: QueueId,
    mut members: Vec<ResourceId>,
) -> ServiceResult<Vec<ResourceId>> {
    let mut tx = store.write().await?;
    if rows::queue(&mut tx, queue).await?.is_none() {
        return Err(DomainError::not_found("queue", queue).into());
    }
    let known = rows::resources_by_id(&mut tx, &members).await?;
    let mut v = fixpoint_core::error::Violations::default();
    for (i, member) in members.iter().enumerate() {
        if !known.iter().any(|r| r.id == *member) {
            v.push(
                format!("resource_ids[{i}]"),
                fixpoint_core::ErrorCode::UnknownReference,
                format!("there is no technician (resource) {member}"),
            );
        }
    }
    v.into_result()?;
    members.sort();
    members.dedup();
    rows::set_queue_members(&mut tx, queue, &members).await?;
    Store::commit(tx).await?;
    Ok(members)
}

pub async fn queue_members(store: &Store, queue: QueueId) -> ServiceResult<Vec<ResourceId>> {
    let mut conn = store.read().await?;
    if rows::queue(&mut conn, queue).await?.is_none() {
        return Err(DomainError::not_found("queue", queue).into());
    }
    Ok(rows::queue_members(&mut conn, queue).await?)
}

/// The queues a technician works.
pub async fn queues_of(store: &Store, resource: ResourceId) -> ServiceResult<Vec<QueueId>> {
    let mut conn = store.read().await?;
    Ok(rows::queues_of(&mut conn, resource).await?)
}

pub async fn queues(store: &Store, f: &PartyFilter, page: &Page) -> ServiceResult<Vec<Queue>> {
    let mut conn = store.read().await?;
    Ok(rows::queues(&mut conn, f, page).await?)
}

pub async fn create_contract(store: &Store, new: NewContract) -> ServiceResult<Contract> {
    let mut tx = store.write().await?;
    let mut contract = checked_contract(&mut tx, ContractId(0), new).await?;
    contract.id = rows::insert_contract(&mut tx, &contract).await?;
    Store::commit(tx).await?;
    Ok(contract)
}

pub async fn update_contract(
    store: &Store,
    id: ContractId,
    patch: ContractPatch,
) -> ServiceResult<Contract> {
    let mut tx = store.write().await?;
    let before = rows::contract(&mut tx, id)
        .await?
        .ok_or_else(|| DomainError::not_found("contract", id))?;
    let after = checked_contract(&mut tx, id, patch.apply_to(&before)).await?;
    rows::update_contract(&mut tx, &after).await?;
    Store::commit(tx).await?;
    Ok(after)
}

/// The contract a command describes, once its company and SLA policy are found.
async fn checked_contract(
    conn: &mut fixpoint_store::Conn,
    id: ContractId,
    new: NewContract,
) -> ServiceResult<Contract> {
    let policy_exists = policy_exists(conn, new.sla_policy_id).await?;
    new.check(company_exists(conn, new.company_id).await?, policy_exists)?;
    Ok(Contract {
        id,
        company_id: new.company_id,
        name: new.name,
        sla_policy_id: new.sla_policy_id,
        active: new.active,
    })
}

pub async fn contract(store: &Store, id: ContractId) -> ServiceResult<Contract> {
    let mut conn = store.read().await?;
    Ok(rows::contract(&mut conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("contract", id))?)
}

pub async fn contracts(
    store: &Store,
    f: &PartyFilter,
    page: &Page,
) -> ServiceResult<Vec<Contract>> {
    let mut conn = store.read().await?;
    Ok(rows::contracts(&mut conn, f, page).await?)
}
