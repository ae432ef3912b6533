//! Reports (charts over a date range), companies and contacts.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use fixpoint_core::metrics::ReportScope;
use fixpoint_store::parties::{Page, PartyFilter};
use serde::Deserialize;

use super::charts::{Bar, bars};
use super::{failure, html, signed_in};
use crate::app::AppState;
use crate::errors::ApiError;
use crate::service::parties as party_service;
use crate::service::people::Person;

pub struct Chart {
    pub title: &'static str,
    pub svg: String,
    pub caption: String,
}

fn chart(title: &'static str, data: &[Bar], scale_to: Option<f64>, caption: &str) -> Chart {
    Chart {
        title,
        svg: bars(title, data, scale_to),
        caption: caption.to_owned(),
    }
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage<'a> {
    signed_in: Option<&'a Person>,
    from: String,
    to: String,
    problem: Option<String>,
    tickets: i64,
    open: i64,
    resolved: i64,
    charts: Vec<Chart>,
}

#[derive(Deserialize, Default)]
struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

fn day(text: &Option<String>) -> Result<Option<jiff::Timestamp>, String> {
    match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => fixpoint_core::query::parse_instant(text)
            .map(Some)
            .ok_or_else(|| format!("'{text}' is not a date such as 2026-11-01")),
    }
}

fn count(n: i64) -> Bar {
    Bar {
        label: String::new(),
        value: n as f64,
        shown: n.to_string(),
    }
}

pub async fn reports(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let me = match signed_in(&state, &headers, &uri).await {
        Ok(me) => me,
        Err(to_sign_in) => return to_sign_in,
    };
    let query: RangeQuery = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let (scope, problem) = match (day(&query.from), day(&query.to)) {
        (Ok(from), Ok(to)) => (
            ReportScope {
                from,
                to,
                ..Default::default()
            },
            None,
        ),
        (Err(e), _) | (_, Err(e)) => (ReportScope::default(), Some(e)),
    };
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let report = match crate::service::reports::tickets(&state.store, &scope, state.now()).await {
        Ok(report) => report,
        Err(e) => {
            let e = ApiError::from(e);
            return failure(e.status(), &e.detail);
        }
    };
    let named = |buckets: &[fixpoint_core::metrics::Bucket]| -> Vec<Bar> {
        buckets
            .iter()
            .map(|b| Bar {
                label: b.name.clone(),
                ..count(b.count)
            })
            .collect()
    };
    let percent = |label: &str, value: Option<f64>, counted: i64| Bar {
        label: label.to_owned(),
        value: value.unwrap_or(0.0),
        shown: value.map_or("no tickets yet".to_owned(), |v| {
            format!("{v}% of {counted}")
        }),
    };
    let hours = |label: &str, value: Option<f64>| Bar {
        label: label.to_owned(),
        value: value.unwrap_or(0.0),
        shown: value.map_or("—".to_owned(), |v| format!("{v:.1} h")),
    };
    let sla = [
        percent(
            "First response",
            report.sla.first_response_percent,
            report.sla.first_response_counted,
        ),
        percent(
            "Resolution",
            report.sla.resolution_percent,
            report.sla.resolution_counted,
        ),
    ];
    let resolution = [
        hours("Median", report.resolution_hours.median),
        hours("Average", report.resolution_hours.average),
        hours("Median, business", report.resolution_business_hours.median),
        hours(
            "Average, business",
            report.resolution_business_hours.average,
        ),
    ];
    let logged = [
        hours("Billable", Some(report.billable_hours)),
        hours("Non-billable", Some(report.non_billable_hours)),
    ];
    let charts = vec![
        chart(
            "Ticket volume by status",
            &named(&report.by_status),
            None,
            "Tickets opened in the range, by their status now",
        ),
        chart(
            "Ticket volume by priority",
            &named(&report.by_priority),
            None,
            "Tickets opened in the range, by priority",
        ),
        chart(
            "SLA compliance",
            &sla,
            Some(100.0),
            "Targets met, of the targets settled",
        ),
        chart(
            "Resolution time",
            &resolution,
            None,
            "Hours from opening to resolution (wall clock and business hours)",
        ),
        chart(
            "Hours logged",
            &logged,
            None,
            "Time entries on the range's tickets",
        ),
    ];
    let page = ReportsPage {
        signed_in: Some(&me),
        from: query.from.unwrap_or_default(),
        to: query.to.unwrap_or_default(),
        problem,
        tickets: report.tickets,
        open: report.open,
        resolved: report.resolved,
        charts,
    };
    (status, html(&page)).into_response()
}

pub struct PartyRow {
    pub link: String,
    pub name: String,
    pub cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "parties.html")]
struct PartiesPage<'a> {
    signed_in: Option<&'a Person>,
    heading: &'a str,
    path: &'a str,
    q: String,
    columns: Vec<&'static str>,
    rows: Vec<PartyRow>,
}

#[derive(Deserialize, Default)]
struct NameQuery {
    q: Option<String>,
}

fn name_filter(uri: &Uri) -> (String, PartyFilter) {
    let query: NameQuery = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let q = query.q.unwrap_or_default();
    let filter = PartyFilter {
        name_contains: Some(q.trim().to_lowercase()).filter(|t| !t.is_empty()),
        ..Default::default()
    };
    (q, filter)
}

const PARTIES_SHOWN: u64 = 500;

/// Which list a parties page shows.
#[derive(Clone, Copy)]
enum Parties {
    Companies,
    Contacts,
}

pub async fn companies(state: State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    parties(state, headers, uri, Parties::Companies).await
}

pub async fn contacts(state: State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    parties(state, headers, uri, Parties::Contacts).await
}

async fn parties(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    which: Parties,
) -> Response {
    let me = match signed_in(&state, &headers, &uri).await {
        Ok(me) => me,
        Err(to_sign_in) => return to_sign_in,
    };
    let (q, filter) = name_filter(&uri);
    let page = Page {
        after: None,
        limit: PARTIES_SHOWN,
    };
    let listed = match which {
        Parties::Companies => party_service::companies(&state.store, &filter, &page)
            .await
            .map(|companies| {
                let rows = companies
                    .into_iter()
                    .map(|c| PartyRow {
                        link: format!("/tickets?company_id={}", c.id),
                        name: c.name,
                        cells: vec![
                            c.phone.unwrap_or_default(),
                            if c.active { "yes" } else { "no" }.to_owned(),
                        ],
                    })
                    .collect();
                (
                    "Companies",
                    "/companies",
                    vec!["Name", "Phone", "Active"],
                    rows,
                )
            }),
        Parties::Contacts => party_service::contacts(&state.store, &filter, &page)
            .await
            .map(|contacts| {
                let rows = contacts
                    .into_iter()
                    .map(|c| PartyRow {
                        link: format!("/tickets?company_id={}", c.company_id),
                        name: format!("{} {}", c.first_name, c.last_name),
                        cells: vec![c.email.unwrap_or_default(), c.phone.unwrap_or_default()],
                    })
                    .collect();
                (
                    "Contacts",
                    "/contacts",
                    vec!["Name", "Email", "Phone"],
                    rows,
                )
            }),
    };
    match listed {
        Ok((heading, path, columns, rows)) => html(&PartiesPage {
            signed_in: Some(&me),
            heading,
            path,
            q,
            columns,
            rows,
        }),
        Err(e) => {
            let e = ApiError::from(e);
            failure(e.status(), &e.detail)
        }
    }
}
