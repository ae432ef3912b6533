//! Companies, their locations and contacts; resources, roles, queues, contracts.

use fixpoint_core::ids::{
    CompanyId, ContactId, ContractId, LocationId, QueueId, ResourceId, RoleId,
};
use fixpoint_core::parties::{
    Company, Contact, Contract, Location, NewQueue, Queue, Resource, Role,
};
use jiff::Timestamp;
use sea_query::{Expr, ExprTrait, Func, Order, Query, SelectStatement};
use sqlx::FromRow;

use crate::db::{Conn, Result, execute, fetch_all, insert_id, instant, micros};

/// One page of a list ordered by id: `after` is the last id of the previous page.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub after: Option<i64>,
    pub limit: u64,
}

/// Filters shared by the party lists; each applies only where the table has the column.
#[derive(Debug, Clone, Default)]
pub struct PartyFilter {
    pub active: Option<bool>,
    pub company_id: Option<CompanyId>,
    /// Lower-cased substring of the name (or of first/last name and email for people).
    pub name_contains: Option<String>,
    pub email: Option<String>,
    /// Only these ids (from a query over the records, see [`crate::records`]).
    pub ids: Option<Vec<i64>>,
}

fn select(table: &'static str, columns: &[&'static str]) -> SelectStatement {
    Query::select()
        .columns(columns.iter().copied())
        .from(table)
        .to_owned()
}

async fn get<R>(
    conn: &mut Conn,
    table: &'static str,
    columns: &[&'static str],
    id: i64,
) -> Result<Option<R>>
where
    R: crate::db::Row,
{
    Ok(by_ids(conn, table, columns, vec![id]).await?.pop())
}

/// The rows with these ids, in no particular order; missing ids are simply absent.
async fn by_ids<R>(
    conn: &mut Conn,
    table: &'static str,
    columns: &[&'static str],
    ids: Vec<i64>,
) -> Result<Vec<R>>
where
    R: crate::db::Row,
{
    let ids = crate::db::distinct(ids);
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    fetch_all(
        conn,
        select(table, columns).and_where(Expr::col("id").is_in(ids)),
    )
    .await
}

async fn list<R>(conn: &mut Conn, mut q: SelectStatement, page: &Page) -> Result<Vec<R>>
where
    R: crate::db::Row,
{
    if let Some(after) = page.after {
        q.and_where(Expr::col("id").gt(after));
    }
    q.order_by("id", Order::Asc).limit(page.limit);
    fetch_all(conn, &q).await
}

/// `lower(column) LIKE '%text%'`, with the user's `%`, `_` and `\` taken literally.
pub(crate) fn contains(column: &'static str, text: &str) -> Expr {
    let escaped = crate::query::escape_like(&text.to_lowercase());
    Expr::expr(Func::lower(Expr::col(column)))
        .like(sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

fn active_filter(q: &mut SelectStatement, f: &PartyFilter) {
    if let Some(active) = f.active {
        q.and_where(Expr::col("active").eq(active));
    }
    if let Some(ids) = &f.ids {
        q.and_where(Expr::col("id").is_in(ids.iter().copied()));
    }
}

// --- companies ---

const COMPANY: &[&str] = &[
    "id",
    "name",
    "parent_company_id",
    "phone",
    "website",
    "active",
    "created_at",
];

#[derive(FromRow)]
struct CompanyRow {
    id: i64,
    name: String,
    parent_company_id: Option<i64>,
    phone: Option<String>,
    website: Option<String>,
    active: bool,
    created_at: i64,
}

impl CompanyRow {
    fn into_company(self) -> Result<Company> {
        Ok(Company {
            id: CompanyId(self.id),
            name: self.name,
            parent_company_id: self.parent_company_id.map(CompanyId),
            phone: self.phone,
            website: self.website,
            active: self.active,
            created_at: instant(self.created_at)?,
        })
    }
}

pub async fn company(conn: &mut Conn, id: CompanyId) -> Result<Option<Company>> {
    get::<CompanyRow>(conn, "companies", COMPANY, id.0)
        .await?
        .map(CompanyRow::into_company)
        .transpose()
}

pub async fn companies_by_id(conn: &mut Conn, ids: &[CompanyId]) -> Result<Vec<Company>> {
    let rows: Vec<CompanyRow> = by_ids(
        conn,
        "companies",
        COMPANY,
        ids.iter().map(|i| i.0).collect(),
    )
    .await?;
    rows.into_iter().map(CompanyRow::into_company).collect()
}

pub async fn companies(conn: &mut Conn, f: &PartyFilter, page: &Page) -> Result<Vec<Company>> {
    let mut q = select("companies", COMPANY);
    active_filter(&mut q, f);
    if let Some(text) = &f.name_contains {
        q.and_where(contains("name", text));
    }
    let rows: Vec<CompanyRow> = list(conn, q, page).await?;
    rows.into_iter().map(CompanyRow::into_company).collect()
}

/// The chain of parents above `id`, nearest first (stops at a repeat, so a corrupt
/// cycle cannot loop forever).
pub async fn company_ancestors(conn: &mut Conn, id: CompanyId) -> Result<Vec<CompanyId>> {
    let mut chain = Vec::new();
    let mut next = Some(id);
    while let Some(current) = next {
        if chain.contains(&current) {
            break;
        }
        chain.push(current);
        next = company(conn, current)
            .await?
            .and_then(|c| c.parent_company_id);
    }
    Ok(chain)
}

pub async fn insert_company(conn: &mut Conn, c: &Company) -> Result<CompanyId> {
    let q = Query::insert()
        .into_table("companies")
        .columns(COMPANY[1..].iter().copied())
        .values_panic([
            c.name.clone().into(),
            c.parent_company_id.map(|p| p.0).into(),
            c.phone.clone().into(),
            c.website.clone().into(),
            c.active.into(),
            micros(c.created_at).into(),
        ])
        .to_owned();
    insert_id(conn, q).await.map(CompanyId)
}

pub async fn update_company(conn: &mut Conn, c: &Company) -> Result<()> {
    execute(
        conn,
        Query::update()
            .table("companies")
            .values([
                ("name", c.name.clone().into()),
                ("parent_company_id", c.parent_company_id.map(|p| p.0).into()),
                ("phone", c.phone.clone().into()),
                ("website", c.website.clone().into()),
                ("active", c.active.into()),
            ])
            .and_where(Expr::col("id").eq(c.id.0)),
    )
    .await
    .map(drop)
}

// --- locations ---

const LOCATION: &[&str] = &["id", "company_id", "name", "address", "active"];

#[derive(FromRow)]
struct LocationRow {
    id: i64,
    company_id: i64,
    name: String,
    address: Option<String>,
    active: bool,
}

impl From<LocationRow> for Location {
    fn from(r: LocationRow) -> Self {
        Location {
            id: LocationId(r.id),
            company_id: CompanyId(r.company_id),
            name: r.name,
            address: r.address,
            active: r.active,
        }
    }
}

pub async fn location(conn: &mut Conn, id: LocationId) -> Result<Option<Location>> {
    Ok(
        get::<LocationRow>(conn, "company_locations", LOCATION, id.0)
            .await?
            .map(Into::into),
    )
}

pub async fn locations_by_id(conn: &mut Conn, ids: &[LocationId]) -> Result<Vec<Location>> {
    let rows: Vec<LocationRow> = by_ids(
        conn,
        "company_locations",
        LOCATION,
        ids.iter().map(|i| i.0).collect(),
    )
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Locations of one company, or of every company.
pub async fn locations(
    conn: &mut Conn,
    company: Option<CompanyId>,
    page: &Page,
) -> Result<Vec<Location>> {
    let mut q = select("company_locations", LOCATION);
    if let Some(company) = company {
        q.and_where(Expr::col("company_id").eq(company.0));
    }
    let rows: Vec<LocationRow> = list(conn, q, page).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn insert_location(conn: &mut Conn, l: &Location) -> Result<LocationId> {
    let q = Query::insert()
        .into_table("company_locations")
        .columns(LOCATION[1..].iter().copied())
        .values_panic([
            l.company_id.0.into(),
            l.name.clone().into(),
            l.address.clone().into(),
            l.active.into(),
        ])
        .to_owned();
    insert_id(conn, q).await.map(LocationId)
}

// --- contacts ---

const CONTACT: &[&str] = &[
    "id",
    "company_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "language",
    "active",
];

#[derive(FromRow)]
struct ContactRow {
    id: i64,
    company_id: i64,
    first_name: String,
    last_name: String,
    email: Option<String>,
    phone: Option<String>,
    language: Option<String>,
    active: bool,
}

impl From<ContactRow> for Contact {
    fn from(r: ContactRow) -> Self {
        Contact {
            id: ContactId(r.id),
            company_id: CompanyId(r.company_id),
            first_name: r.first_name,
            last_name: r.last_name,
            email: r.email,
            phone: r.phone,
            language: r.language,
            active: r.active,
        }
    }
}

pub async fn contact(conn: &mut Conn, id: ContactId) -> Result<Option<Contact>> {
    Ok(get::<ContactRow>(conn, "contacts", CONTACT, id.0)
        .await?
        .map(Into::into))
}

pub async fn contacts_by_id(conn: &mut Conn, ids: &[ContactId]) -> Result<Vec<Contact>> {
    let rows: Vec<ContactRow> =
        by_ids(conn, "contacts", CONTACT, ids.iter().map(|i| i.0).collect()).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn contacts(conn: &mut Conn, f: &PartyFilter, page: &Page) -> Result<Vec<Contact>> {
    let mut q = select("contacts", CONTACT);
    active_filter(&mut q, f);
    if let Some(company) = f.company_id {
        q.and_where(Expr::col("company_id").eq(company.0));
    }
    if let Some(email) = &f.email {
        q.and_where(Expr::expr(Func::lower(Expr::col("email"))).eq(email.to_lowercase()));
    }
    if let Some(text) = &f.name_contains {
        q.cond_where(
            sea_query::Condition::any()
                .add(contains("first_name", text))
                .add(contains("last_name", text))
                .add(contains("email", text)),
        );
    }
    let rows: Vec<ContactRow> = list(conn, q, page).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn insert_contact(conn: &mut Conn, c: &Contact) -> Result<ContactId> {
    let q = Query::insert()
        .into_table("contacts")
        .columns(CONTACT[1..].iter().copied())
        .values_panic([
            c.company_id.0.into(),
            c.first_name.clone().into(),
            c.last_name.clone().into(),
            c.email.clone().into(),
            c.phone.clone().into(),
            c.language.clone().into(),
            c.active.into(),
        ])
        .to_owned();
    insert_id(conn, q).await.map(ContactId)
}

pub async fn update_contact(conn: &mut Conn, c: &Contact) -> Result<()> {
    execute(
        conn,
        Query::update()
            .table("contacts")
            .values([
                ("company_id", c.company_id.0.into()),
                ("first_name", c.first_name.clone().into()),
                ("last_name", c.last_name.clone().into()),
                ("email", c.email.clone().into()),
                ("phone", c.phone.clone().into()),
                ("language", c.language.clone().into()),
                ("active", c.active.into()),
            ])
            .and_where(Expr::col("id").eq(c.id.0)),
    )
    .await
    .map(drop)
}

// --- resources ---

const RESOURCE: &[&str] = &["id", "first_name", "last_name", "email", "active"];

#[derive(FromRow)]
struct ResourceRow {
    id: i64,
    first_name: String,
    last_name: String,
    email: String,
    active: bool,
}

impl From<ResourceRow> for Resource {
    fn from(r: ResourceRow) -> Self {
        Resource {
            id: ResourceId(r.id),
            first_name: r.first_name,
            last_name: r.last_name,
            email: r.email,
            active: r.active,
        }
    }
}

pub async fn resource(conn: &mut Conn, id: ResourceId) -> Result<Option<Resource>> {
    Ok(get::<ResourceRow>(conn, "resources", RESOURCE, id.0)
        .await?
        .map(Into::into))
}

pub async fn resources_by_id(conn: &mut Conn, ids: &[ResourceId]) -> Result<Vec<Resource>> {
    let rows: Vec<ResourceRow> = by_ids(
        conn,
        "resources",
        RESOURCE,
        ids.iter().map(|i| i.0).collect(),
    )
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn resources(conn: &mut Conn, f: &PartyFilter, page: &Page) -> Result<Vec<Resource>> {
    let mut q = select("resources", RESOURCE);
    active_filter(&mut q, f);
    if let Some(email) = &f.email {
        q.and_where(Expr::expr(Func::lower(Expr::col("email"))).eq(email.to_lowercase()));
    }
    let rows: Vec<ResourceRow> = list(conn, q, page).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn insert_resource(conn: &mut Conn, r: &Resource) -> Result<ResourceId> {
    let q = Query::insert()
        .into_table("resources")
        .columns(RESOURCE[1..].iter().copied())
        .values_panic([
            r.first_name.clone().into(),
            r.last_name.clone().into(),
            r.email.clone().into(),
            r.active.into(),
        ])
        .to_owned();
    insert_id(conn, q).await.map(ResourceId)
}

pub async fn update_resource(conn: &mut Conn, r: &Resource) -> Result<()> {
    execute(
        conn,
        Query::update()
            .table("resources")
            .values([
                ("first_name", r.first_name.clone().into()),
                ("last_name", r.last_name.clone().into()),
                ("email", r.email.clone().into()),
                ("active", r.active.into()),
            ])
            .and_where(Expr::col("id").eq(r.id.0)),
    )
    .await
    .map(drop)
}

// --- roles and queues: named, activatable rows ---

#[derive(FromRow)]
struct NamedRow {
    id: i64,
    name: String,
    active: bool,
}

impl From<NamedRow> for Role {
    fn from(r: NamedRow) -> Self {
        Role {
            id: RoleId(r.id),
            name: r.name,
            active: r.active,
        }
    }
}

/// The tables that hold nothing but a name and an active flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedTable {
    Roles,
}

impl NamedTable {
    fn table(self) -> &'static str {
        match self {
            Self::Roles => "roles",
        }
    }
}

const NAMED: &[&str] = &["id", "name", "active"];

async fn named(conn: &mut Conn, table: NamedTable, id: i64) -> Result<Option<NamedRow>> {
    get(conn, table.table(), NAMED, id).await
}

async fn named_list<T: From<NamedRow>>(
    conn: &mut Conn,
    table: NamedTable,
    f: &PartyFilter,
    page: &Page,
) -> Result<Vec<T>> {
    let mut q = select(table.table(), NAMED);
    active_filter(&mut q, f);
    let rows: Vec<NamedRow> = list(conn, q, page).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

async fn named_by_id<T: From<NamedRow>>(
    conn: &mut Conn,
    table: NamedTable,
    ids: Vec<i64>,
) -> Result<Vec<T>> {
    let rows: Vec<NamedRow> = by_ids(conn, table.table(), NAMED, ids).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn insert_named(
    conn: &mut Conn,
    table: NamedTable,
    name: &str,
    active: bool,
) -> Result<i64> {
    let q = Query::insert()
        .into_table(table.table())
        .columns(["name", "active"])
        .values_panic([name.into(), active.into()])
        .to_owned();
    insert_id(conn, q).await
}

pub async fn update_named(
    conn: &mut Conn,
    table: NamedTable,
    id: i64,
    name: &str,
    active: bool,
) -> Result<()> {
    execute(
        conn,
        Query::update()
            .table(table.table())
            .values([("name", name.into()), ("active", active.into())])
            .and_where(Expr::col("id").eq(id)),
    )
    .await
    .map(drop)
}

pub async fn role(conn: &mut Conn, id: RoleId) -> Result<Option<Role>> {
    Ok(named(conn, NamedTable::Roles, id.0).await?.map(Into::into))
}

pub async fn roles_by_id(conn: &mut Conn, ids: &[RoleId]) -> Result<Vec<Role>> {
    named_by_id(conn, NamedTable::Roles, ids.iter().map(|i| i.0).collect()).await
}

pub async fn roles(conn: &mut Conn, f: &PartyFilter, page: &Page) -> Result<Vec<Role>> {
    named_list(conn, NamedTable::Roles, f, page).await
}

const QUEUE: &[&str] = &["id", "name", "active", "sla_policy_id"];

#[derive(FromRow)]
struct QueueRow {
    id: i64,
    name: String,
    active: bool,
    sla_policy_id: Option<i64>,
}

impl From<QueueRow> for Queue {
    fn from(r: QueueRow) -> Self {
        Queue {
            id: QueueId(r.id),
            name: r.name,
            active: r.active,
            sla_policy_id: r.sla_policy_id,
        }
    }
}

pub async fn queue(conn: &mut Conn, id: QueueId) -> Result<Option<Queue>> {
    let row: Option<QueueRow> = get(conn, "queues", QUEUE, id.0).await?;
    Ok(row.map(Into::into))
}

pub async fn queues_by_id(conn: &mut Conn, ids: &[QueueId]) -> Result<Vec<Queue>> {
    let rows: Vec<QueueRow> =
        by_ids(conn, "queues", QUEUE, ids.iter().map(|i| i.0).collect()).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn queues(conn: &mut Conn, f: &PartyFilter, page: &Page) -> Result<Vec<Queue>> {
    let mut q = select("queues", QUEUE);
    active_filter(&mut q, f);
    let rows: Vec<QueueRow> = list(conn, q, page).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn insert_queue(conn: &mut Conn, new: &NewQueue) -> Result<QueueId> {
    let q = Query::insert()
        .into_table("queues")
        .columns(["name", "active", "sla_policy_id"])
        .values_panic([
            new.name.as_str().into(),
            new.active.into(),
            new.sla_policy_id.into(),
        ])
        .to_owned();
    Ok(QueueId(insert_id(conn, q).await?))
}

pub async fn update_queue(conn: &mut Conn, queue: &Queue) -> Result<()> {
    execute(
        conn,
        Query::update()
            .table("queues")
            .values([
                ("name", queue.name.as_str().into()),
                ("active", queue.active.into()),
                ("sla_policy_id", queue.sla_policy_id.into()),
            ])
            .and_where(Expr::col("id").eq(queue.id.0)),
    )
    .await
    .map(drop)
}

// --- contracts ---

const CONTRACT: &[&str] = &["id", "company_id", "name", "sla_policy_id", "active"];

#[derive(FromRow)]
struct ContractRow {
    id: i64,
    company_id: i64,
    name: String,
    sla_policy_id: Option<i64>,
    active: bool,
}

impl From<ContractRow> for Contract {
    fn from(r: ContractRow) -> Self {
        Contract {
            id: ContractId(r.id),
            company_id: CompanyId(r.company_id),
            name: r.name,
            sla_policy_id: r.sla_policy_id,
            active: r.active,
        }
    }
}

pub async fn contract(conn: &mut Conn, id: ContractId) -> Result<Option<Contract>> {
    Ok(get::<ContractRow>(conn, "contracts", CONTRACT, id.0)
        .await?
        .map(Into::into))
}

pub async fn contracts_by_id(conn: &mut Conn, ids: &[ContractId]) -> Result<Vec<Contract>> {
    let rows: Vec<ContractRow> = by_ids(
        conn,
        "contracts",
        CONTRACT,
        ids.iter().map(|i| i.0).collect(),
    )
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn contracts(conn: &mut Conn, f: &PartyFilter, page: &Page) -> Result<Vec<Contract>> {
    let mut q = select("contracts", CONTRACT);
    active_filter(&mut q, f);
    if let Some(company) = f.company_id {
        q.and_where(Expr::col("company_id").eq(company.0));
    }
    let rows: Vec<ContractRow> = list(conn, q, page).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

fn contract_values(c: &Contract) -> [Expr; 4] {
    [
        c.company_id.0.into(),
        c.name.clone().into(),
        c.sla_policy_id.into(),
        c.active.into(),
    ]
}

pub async fn insert_contract(conn: &mut Conn, c: &Contract) -> Result<ContractId> {
    let q = Query::insert()
        .into_table("contracts")
        .columns(CONTRACT[1..].iter().copied())
        .values_panic(contract_values(c))
        .to_owned();
    insert_id(conn, q).await.map(ContractId)
}

pub async fn update_contract(conn: &mut Conn, c: &Contract) -> Result<()> {
    let columns = CONTRACT[1..].iter().copied();
    crate::db::execute(
        conn,
        Query::update()
            .table("contracts")
            .values(columns.zip(contract_values(c)))
            .and_where(Expr::col("id").eq(c.id.0)),
    )
    .await?;
    Ok(())
}

/// The current instant, truncated to what the database stores (microseconds), so a
/// value read back equals the value written.
pub fn now() -> Timestamp {
    instant(micros(Timestamp::now())).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Replaces who works a queue.
pub async fn set_queue_members(
    conn: &mut Conn,
    queue: QueueId,
    members: &[ResourceId],
) -> Result<()> {
    execute(
        conn,
        Query::delete()
            .from_table("queue_members")
            .and_where(Expr::col("queue_id").eq(queue.0)),
    )
    .await?;
    if members.is_empty() {
        return Ok(());
    }
    let mut insert = Query::insert();
    insert
        .into_table("queue_members")
        .columns(["queue_id", "resource_id"]);
    for member in members {
        insert.values_panic([queue.0.into(), member.0.into()]);
    }
    execute(conn, &insert).await.map(drop)
}

/// The technicians who work a queue, by id.
pub async fn queue_members(conn: &mut Conn, queue: QueueId) -> Result<Vec<ResourceId>> {
    let rows: Vec<(i64,)> = crate::db::fetch_all(
        conn,
        Query::select()
            .column("resource_id")
            .from("queue_members")
            .and_where(Expr::col("queue_id").eq(queue.0))
            .order_by("resource_id", sea_query::Order::Asc),
    )
    .await?;
    Ok(rows.into_iter().map(|(id,)| ResourceId(id)).collect())
}

/// The queues a technician works.
pub async fn queues_of(conn: &mut Conn, resource: ResourceId) -> Result<Vec<QueueId>> {
    let rows: Vec<(i64,)> = crate::db::fetch_all(
        conn,
        Query::select()
            .column("queue_id")
            .from("queue_members")
            .and_where(Expr::col("resource_id").eq(resource.0))
            .order_by("queue_id", sea_query::Order::Asc),
    )
    .await?;
    Ok(rows.into_iter().map(|(id,)| QueueId(id)).collect())
}
