//! Companies (and their locations), contacts, resources, roles, queues, contracts.

use axum::extract::State;
use axum::http::StatusCode;
use fixpoint_core::ids::*;
use fixpoint_core::parties::*;
use fixpoint_store::parties::{NamedTable, PartyFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Id, ListPage, PageParams, Query};
use crate::app::AppState;
use crate::auth::Caller;
use crate::errors::{ApiResult, Problem};
use crate::json::Json;
use crate::service::parties as service;

type JsonOut<T> = axum::Json<T>;
type CreatedOut<T> = (StatusCode, axum::Json<T>);

fn created<T>(value: T) -> CreatedOut<T> {
    (StatusCode::CREATED, axum::Json(value))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_company, list_companies))
        .routes(routes!(get_company, update_company))
        .routes(routes!(create_location, list_locations))
        .routes(routes!(create_contact, list_contacts))
        .routes(routes!(get_contact, update_contact))
        .routes(routes!(create_resource, list_resources))
        .routes(routes!(get_resource, update_resource))
        .routes(routes!(create_role, list_roles))
        .routes(routes!(get_role, update_role))
        .routes(routes!(create_queue, list_queues))
        .routes(routes!(get_queue, update_queue))
        .routes(routes!(queue_members, set_queue_members))
        .routes(routes!(create_contract, list_contracts))
        .routes(routes!(get_contract, update_contract))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PartyParams {
    pub active: Option<bool>,
    /// Only records of this company (contacts, contracts).
    pub company_id: Option<i64>,
    /// Exact email, case-insensitive (contacts, resources).
    pub email: Option<String>,
    /// Text in the name (companies) or in the name or email (contacts).
    pub q: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

impl PartyParams {
    fn split(self) -> (PartyFilter, PageParams) {
        (
            PartyFilter {
                active: self.active,
                company_id: self.company_id.map(CompanyId),
                name_contains: self.q,
                email: self.email,
                ids: None,
            },
            PageParams {
                limit: self.limit,
                cursor: self.cursor,
            },
        )
    }
}

#[utoipa::path(post, path = "/companies", tag = "companies", request_body = NewCompany,
    responses((status = 201, body = Company), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn create_company(
    State(s): State<AppState>,
    caller: Caller,
    Json(new): Json<NewCompany>,
) -> ApiResult<CreatedOut<Company>> {
    caller.require_write()?;
    Ok(created(service::create_company(&s.store, new).await?))
}

#[utoipa::path(get, path = "/companies", tag = "companies", params(PartyParams),
    responses((status = 200, body = ListPage<Company>)), security(("api_key" = [])))]
async fn list_companies(
    State(s): State<AppState>,
    _c: Caller,
    Query(p): Query<PartyParams>,
) -> ApiResult<JsonOut<ListPage<Company>>> {
    let (filter, page) = p.split();
    let page = page.page()?;
    Ok(axum::Json(ListPage::new(
        service::companies(&s.store, &filter, &page).await?,
        &page,
    )))
}

#[utoipa::path(get, path = "/companies/{id}", tag = "companies", params(("id" = i64, Path)),
    responses((status = 200, body = Company), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn get_company(
    State(s): State<AppState>,
    _c: Caller,
    Id(id): Id,
) -> ApiResult<JsonOut<Company>> {
    Ok(axum::Json(service::company(&s.store, CompanyId(id)).await?))
}

/// Change a company; `active: false` keeps it on existing tickets but not new ones.
#[utoipa::path(patch, path = "/companies/{id}", tag = "companies", params(("id" = i64, Path)), request_body = CompanyPatch,
    responses((status = 200, body = Company), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn update_company(
    State(s): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(patch): Json<CompanyPatch>,
) -> ApiResult<JsonOut<Company>> {
    caller.require_write()?;
    Ok(axum::Json(
        service::update_company(&s.store, CompanyId(id), patch).await?,
    ))
}

#[utoipa::path(post, path = "/companies/{id}/locations", tag = "companies", params(("id" = i64, Path)), request_body = NewLocation,
    responses((status = 201, body = Location), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn create_location(
    State(s): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(new): Json<NewLocation>,
) -> ApiResult<CreatedOut<Location>> {
    caller.require_write()?;
    Ok(created(
        service::create_location(&s.store, CompanyId(id), new).await?,
    ))
}

#[utoipa::path(get, path = "/companies/{id}/locations", tag = "companies", params(("id" = i64, Path), PageParams),
    responses((status = 200, body = ListPage<Location>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn list_locations(
    State(s): State<AppState>,
    _c: Caller,
    Id(id): Id,
    Query(p): Query<PageParams>,
) -> ApiResult<JsonOut<ListPage<Location>>> {
    let page = p.page()?;
    Ok(axum::Json(ListPage::new(
        service::locations(&s.store, Some(CompanyId(id)), &page).await?,
        &page,
    )))
}

#[utoipa::path(post, path = "/contacts", tag = "contacts", request_body = NewContact,
    responses((status = 201, body = Contact), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn create_contact(
    State(s): State<AppState>,
    caller: Caller,
    Json(new): Json<NewContact>,
) -> ApiResult<CreatedOut<Contact>> {
    caller.require_write()?;
    Ok(created(service::create_contact(&s.store, new).await?))
}

#[utoipa::path(get, path = "/contacts", tag = "contacts", params(PartyParams),
    responses((status = 200, body = ListPage<Contact>)), security(("api_key" = [])))]
async fn list_contacts(
    State(s): State<AppState>,
    _c: Caller,
    Query(p): Query<PartyParams>,
) -> ApiResult<JsonOut<ListPage<Contact>>> {
    let (filter, page) = p.split();
    let page = page.page()?;
    Ok(axum::Json(ListPage::new(
        service::contacts(&s.store, &filter, &page).await?,
        &page,
    )))
}

#[utoipa::path(get, path = "/contacts/{id}", tag = "contacts", params(("id" = i64, Path)),
    responses((status = 200, body = Contact), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn get_contact(
    State(s): State<AppState>,
    _c: Caller,
    Id(id): Id,
) -> ApiResult<JsonOut<Contact>> {
    Ok(axum::Json(service::contact(&s.store, ContactId(id)).await?))
}

#[utoipa::path(patch, path = "/contacts/{id}", tag = "contacts", params(("id" = i64, Path)), request_body = ContactPatch,
    responses((status = 200, body = Contact), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn update_contact(
    State(s): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(patch): Json<ContactPatch>,
) -> ApiResult<JsonOut<Contact>> {
    caller.require_write()?;
    Ok(axum::Json(
        service::update_contact(&s.store, ContactId(id), patch).await?,
    ))
}

#[utoipa::path(post, path = "/resources", tag = "resources", request_body = NewResource,
    responses((status = 201, body = Resource), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn create_resource(
    State(s): State<AppState>,
    caller: Caller,
    Json(new): Json<NewResource>,
) -> ApiResult<CreatedOut<Resource>> {
    caller.require_admin()?;
    Ok(created(service::create_resource(&s.store, new).await?))
}

#[utoipa::path(get, path = "/resources", tag = "resources", params(PartyParams),
    responses((status = 200, body = ListPage<Resource>)), security(("api_key" = [])))]
async fn list_resources(
    State(s): State<AppState>,
    _c: Caller,
    Query(p): Query<PartyParams>,
) -> ApiResult<JsonOut<ListPage<Resource>>> {
    let (filter, page) = p.split();
    let page = page.page()?;
    Ok(axum::Json(ListPage::new(
        service::resources(&s.store, &filter, &page).await?,
        &page,
    )))
}

#[utoipa::path(get, path = "/resources/{id}", tag = "resources", params(("id" = i64, Path)),
    responses((status = 200, body = Resource), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn get_resource(
    State(s): State<AppState>,
    _c: Caller,
    Id(id): Id,
) -> ApiResult<JsonOut<Resource>> {
    Ok(axum::Json(
        service::resource(&s.store, ResourceId(id)).await?,
    ))
}

#[utoipa::path(patch, path = "/resources/{id}", tag = "resources", params(("id" = i64, Path)), request_body = ResourcePatch,
    responses((status = 200, body = Resource), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn update_resource(
    State(s): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(patch): Json<ResourcePatch>,
) -> ApiResult<JsonOut<Resource>> {
    caller.require_admin()?;
    Ok(axum::Json(
        service::update_resource(&s.store, ResourceId(id), patch).await?,
    ))
}

#[utoipa::path(post, path = "/roles", tag = "resources", request_body = NewNamed,
    responses((status = 201, body = Role), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn create_role(
    State(s): State<AppState>,
    caller: Caller,
    Json(new): Json<NewNamed>,
) -> ApiResult<CreatedOut<Role>> {
    caller.require_admin()?;
    let id = service::create_named(&s.store, NamedTable::Roles, new.clone()).await?;
    Ok(created(Role {
        id: RoleId(id),
        name: new.name,
        active: new.active,
    }))
}

#[utoipa::path(get, path = "/roles", tag = "resources", params(PartyParams),
    responses((status = 200, body = ListPage<Role>)), security(("api_key" = [])))]
async fn list_roles(
    State(s): State<AppState>,
    _c: Caller,
    Query(p): Query<PartyParams>,
) -> ApiResult<JsonOut<ListPage<Role>>> {
    let (filter, page) = p.split();
    let page = page.page()?;
    Ok(axum::Json(ListPage::new(
        service::roles(&s.store, &filter, &page).await?,
        &page,
    )))
}

#[utoipa::path(get, path = "/roles/{id}", tag = "resources", params(("id" = i64, Path)),
    responses((status = 200, body = Role), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn get_role(State(s): State<AppState>, _c: Caller, Id(id): Id) -> ApiResult<JsonOut<Role>> {
    Ok(axum::Json(service::role(&s.store, RoleId(id)).await?))
}

#[utoipa::path(patch, path = "/roles/{id}", tag = "resources", params(("id" = i64, Path)), request_body = NamedPatch,
    responses((status = 200, body = Role), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn update_role(
    State(s): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(patch): Json<NamedPatch>,
) -> ApiResult<JsonOut<Role>> {
    caller.require_admin()?;
    Ok(axum::Json(
        service::update_role(&s.store, RoleId(id), patch).await?,
    ))
}

/// Open a queue (an admin's); `sla_policy_id` is the policy its tickets follow when
/// neither they nor their contract name one.
#[utoipa::path(post, path = "/queues", tag = "queues", request_body = NewQueue,
    responses((status = 201, body = Queue), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn create_queue(
    State(s): State<AppState>,
    caller: Caller,
    Json(new): Json<NewQueue>,
) -> ApiResult<CreatedOut<Queue>> {
    caller.require_admin()?;
    Ok(created(service::create_queue(&s.store, new).await?))
}

#[utoipa::path(get, path = "/queues", tag = "queues", params(PartyParams),
    responses((status = 200, body = ListPage<Queue>)), security(("api_key" = [])))]
async fn list_queues(
    State(s): State<AppState>,
    _c: Caller,
    Query(p): Query<PartyParams>,
) -> ApiResult<JsonOut<ListPage<Queue>>> {
    let (filter, page) = p.split();
    let page = page.page()?;
    Ok(axum::Json(ListPage::new(
        service::queues(&s.store, &filter, &page).await?,
        &page,
    )))
}

#[utoipa::path(get, path = "/queues/{id}", tag = "queues", params(("id" = i64, Path)),
    responses((status = 200, body = Queue), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn get_queue(State(s): State<AppState>, _c: Caller, Id(id): Id) -> ApiResult<JsonOut<Queue>> {
    Ok(axum::Json(service::queue(&s.store, QueueId(id)).await?))
}

/// Change a queue (an admin's): only the given fields; `"sla_policy_id": null` clears
/// its policy. Tickets already open keep the policy they got.
#[utoipa::path(patch, path = "/queues/{id}", tag = "queues", params(("id" = i64, Path)), request_body = QueuePatch,
    responses((status = 200, body = Queue), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn update_queue(
    State(s): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(patch): Json<QueuePatch>,
) -> ApiResult<JsonOut<Queue>> {
    caller.require_admin()?;
    Ok(axum::Json(
        service::update_queue(&s.store, QueueId(id), patch).await?,
    ))
}

/// Who works a queue: the technicians whose My work page lists its unassigned tickets.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueMembers {
    pub resource_ids: Vec<ResourceId>,
}

#[utoipa::path(get, path = "/queues/{id}/members", tag = "queues", params(("id" = i64, Path)),
    responses((status = 200, body = QueueMembers), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn queue_members(
    State(s): State<AppState>,
    _c: Caller,
    Id(id): Id,
) -> ApiResult<JsonOut<QueueMembers>> {
    Ok(axum::Json(QueueMembers {
        resource_ids: service::queue_members(&s.store, QueueId(id)).await?,
    }))
}

/// Replace who works a queue (an admin's).
#[utoipa::path(put, path = "/queues/{id}/members", tag = "queues", params(("id" = i64, Path)), request_body = QueueMembers,
    responses((status = 200, body = QueueMembers), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn set_queue_members(
    State(s): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(members): Json<QueueMembers>,
) -> ApiResult<JsonOut<QueueMembers>> {
    caller.require_admin()?;
    Ok(axum::Json(QueueMembers {
        resource_ids: service::set_queue_members(&s.store, QueueId(id), members.resource_ids)
            .await?,
    }))
}

#[utoipa::path(post, path = "/contracts", tag = "contracts", request_body = NewContract,
    responses((status = 201, body = Contract), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn create_contract(
    State(s): State<AppState>,
    caller: Caller,
    Json(new): Json<NewContract>,
) -> ApiResult<CreatedOut<Contract>> {
    caller.require_write()?;
    Ok(created(service::create_contract(&s.store, new).await?))
}

#[utoipa::path(get, path = "/contracts", tag = "contracts", params(PartyParams),
    responses((status = 200, body = ListPage<Contract>)), security(("api_key" = [])))]
async fn list_contracts(
    State(s): State<AppState>,
    _c: Caller,
    Query(p): Query<PartyParams>,
) -> ApiResult<JsonOut<ListPage<Contract>>> {
    let (filter, page) = p.split();
    let page = page.page()?;
    Ok(axum::Json(ListPage::new(
        service::contracts(&s.store, &filter, &page).await?,
        &page,
    )))
}

#[utoipa::path(get, path = "/contracts/{id}", tag = "contracts", params(("id" = i64, Path)),
    responses((status = 200, body = Contract), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn get_contract(
    State(s): State<AppState>,
    _c: Caller,
    Id(id): Id,
) -> ApiResult<JsonOut<Contract>> {
    Ok(axum::Json(
        service::contract(&s.store, ContractId(id)).await?,
    ))
}

#[utoipa::path(patch, path = "/contracts/{id}", tag = "contracts", params(("id" = i64, Path)), request_body = ContractPatch,
    responses((status = 200, body = Contract), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn update_contract(
    State(s): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Json(patch): Json<ContractPatch>,
) -> ApiResult<JsonOut<Contract>> {
    caller.require_write()?;
    Ok(axum::Json(
        service::update_contract(&s.store, ContractId(id), patch).await?,
    ))
}
