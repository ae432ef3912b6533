//! Atera's customers (Fixpoint's companies) and contacts: list, get, create.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use fixpoint_core::ids::{CompanyId, ContactId};
use fixpoint_core::parties::{Company, Contact, NewCompany, NewContact};
use fixpoint_server::AppState;
use fixpoint_server::service::parties as service;
use fixpoint_store::parties::{Page, PartyFilter};

use super::wire::{self, Error};
use super::{Params, body, caller, envelope, page_of, paging, param};

const CUSTOMERS_IN_PAGE_MAX: u64 = 500;
const CONTACTS_IN_PAGE_MAX: u64 = 50;
/// Customers and contacts are paged in memory: an MSP has hundreds or a few thousand.
const PARTIES_MAX: u64 = 100_000;

fn everything() -> Page {
    Page {
        after: None,
        limit: PARTIES_MAX,
    }
}

fn not_found(what: &str, id: &str) -> Error {
    Error {
        status: StatusCode::NOT_FOUND,
        message: format!("there is no {what} '{id}'"),
        errors: Vec::new(),
    }
}

fn customer(c: Company) -> wire::Customer {
    let created = super::instant_text(Some(c.created_at));
    wire::Customer {
        customer_id: c.id.0,
        customer_name: c.name,
        created_on: created.clone(),
        last_modified: created,
        domain: c.website,
        phone: c.phone,
        business_number: None,
        address: None,
        city: None,
        state: None,
        country: None,
        notes: None,
    }
}

fn contact(c: Contact, company: Option<&str>) -> wire::Contact {
    wire::Contact {
        end_user_id: c.id.0,
        customer_id: c.company_id.0,
        customer_name: company.map(str::to_owned),
        firstname: c.first_name,
        lastname: c.last_name,
        email: c.email,
        phone: c.phone,
        mobile_phone: None,
        job_title: None,
        is_contact_person: false,
        in_ignore_mode: !c.active,
    }
}

pub async fn customers(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, Error> {
    caller(&headers, &state).await?;
    let paging = paging(&params, CUSTOMERS_IN_PAGE_MAX)?;
    let all = service::companies(&state.store, &PartyFilter::default(), &everything()).await?;
    let (companies, total) = page_of(all, paging);
    let items: Vec<_> = companies.into_iter().map(customer).collect();
    let page = envelope(items, total, paging, &headers, "/api/v3/customers", &params);
    Ok(axum::Json(page).into_response())
}

pub async fn get_customer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    caller(&headers, &state).await?;
    let number: i64 = id.parse().map_err(|_| not_found("customer", &id))?;
    let company = service::company(&state.store, CompanyId(number)).await?;
    Ok(axum::Json(customer(company)).into_response())
}

pub async fn create_customer(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Error> {
    caller(&headers, &state).await?.require_write()?;
    let new: wire::NewCustomer = body(&bytes)?;
    let name = new
        .customer_name
        .ok_or_else(|| Error::field("CustomerName", "CustomerName is required"))?;
    let company = service::create_company(
        &state.store,
        NewCompany {
            name,
            parent_company_id: None,
            phone: new.phone,
            website: new.domain,
            active: true,
        },
    )
    .await
    .map_err(|e| rename(e.into(), "name", "CustomerName"))?;
    Ok((
        StatusCode::CREATED,
        axum::Json(wire::ActionId {
            action_id: company.id.0,
        }),
    )
        .into_response())
}

/// Renames a field in a refusal (Atera names a contact's fields differently on a
/// ticket and on the contact).
fn rename(mut e: Error, native: &str, atera: &str) -> Error {
    for f in &mut e.errors {
        if f.field == native {
            f.field = atera.to_owned();
        }
    }
    e
}

pub async fn contacts(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, Error> {
    caller(&headers, &state).await?;
    let paging = paging(&params, CONTACTS_IN_PAGE_MAX)?;
    let filter = PartyFilter {
        email: param(&params, "searchOptions.email").map(str::to_owned),
        company_id: super::number(&params, "customerId")?.map(CompanyId),
        ..Default::default()
    };
    let mut all = service::contacts(&state.store, &filter, &everything()).await?;
    if let Some(phone) = param(&params, "searchOptions.phone") {
        let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
        let wanted = digits(phone);
        all.retain(|c| c.phone.as_deref().is_some_and(|p| digits(p) == wanted));
    }
    let (page, total) = page_of(all, paging);
    let companies = service::companies(&state.store, &PartyFilter::default(), &everything())
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect::<std::collections::HashMap<_, _>>();
    let items: Vec<_> = page
        .into_iter()
        .map(|c| {
            let company = companies.get(&c.company_id).map(String::as_str);
            contact(c, company)
        })
        .collect();
    let page = envelope(items, total, paging, &headers, "/api/v3/contacts", &params);
    Ok(axum::Json(page).into_response())
}

pub async fn get_contact(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    caller(&headers, &state).await?;
    let number: i64 = id.parse().map_err(|_| not_found("contact", &id))?;
    let found = service::contact(&state.store, ContactId(number)).await?;
    let company = service::company(&state.store, found.company_id).await?;
    Ok(axum::Json(contact(found, Some(&company.name))).into_response())
}

pub async fn create_contact(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Error> {
    caller(&headers, &state).await?.require_write()?;
    let new: wire::NewContact = body(&bytes)?;
    let company = new
        .customer_id
        .ok_or_else(|| Error::field("CustomerID", "CustomerID is required"))?;
    let created = service::create_contact(
        &state.store,
        NewContact {
            company_id: CompanyId(company),
            first_name: new.firstname.unwrap_or_default(),
            last_name: new.lastname.unwrap_or_default(),
            email: new.email,
            phone: new.phone,
            language: None,
            active: true,
        },
    )
    .await
    .map_err(|e| {
        // Named for the ticket's end user by default; here they are the contact's own.
        let e = rename(e.into(), "EndUserFirstName", "Firstname");
        let e = rename(e, "EndUserLastName", "Lastname");
        let e = rename(e, "EndUserPhone", "Phone");
        rename(e, "EndUserEmail", "Email")
    })?;
    Ok((
        StatusCode::CREATED,
        axum::Json(wire::ActionId {
            action_id: created.id.0,
        }),
    )
        .into_response())
}
