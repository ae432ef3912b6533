//! The native API, `/api/v1`: handlers decode the request into a domain command,
//! call the service, and encode the result. Routes and OpenAPI are registered
//! together, so nothing ships undocumented.

pub mod attachments;
pub mod catalog;
pub mod escalations;
pub mod keys;
pub mod messages;
pub mod parties;
pub mod reports;
pub mod sla;
pub mod tickets;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use fixpoint_core::ErrorCode;
use fixpoint_core::filter::{LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX};
use fixpoint_store::parties::Page;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::errors::ApiError;

/// Query parameters, parsed strictly: an unknown or malformed parameter is a 422
/// naming it, not a silently ignored typo.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|err| {
                let path = err.path().to_string();
                let message = err.inner().to_string();
                // A bad value has its parameter's path; an unknown parameter is named
                // only in the message ("unknown field `x`").
                let field = match path.as_str() {
                    "" | "." => backticked(&message).unwrap_or(path),
                    _ => path,
                };
                ApiError::field(
                    field,
                    ErrorCode::InvalidField,
                    format!("query parameter: {message}"),
                )
            })
    }
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

/// `limit` and `cursor` of the id-ordered lists.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// At most 500; 50 when omitted.
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub fn limit(limit: Option<u64>) -> Result<u64, ApiError> {
    match limit {
        None => Ok(LIST_LIMIT_DEFAULT),
        Some(n) if (1..=LIST_LIMIT_MAX).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::field(
            "limit",
            ErrorCode::OutOfRange,
            format!("limit is {n}; it must be 1 to {LIST_LIMIT_MAX}"),
        )),
    }
}

impl PageParams {
    pub fn page(&self) -> Result<Page, ApiError> {
        let after = match &self.cursor {
            None => None,
            Some(c) => Some(c.parse::<i64>().map_err(|_| {
                ApiError::field(
                    "cursor",
                    ErrorCode::InvalidField,
                    "cursor is not one this server handed out; pass next_cursor back unchanged",
                )
            })?),
        };
        Ok(Page {
            after,
            limit: limit(self.limit)?,
        })
    }
}

/// One page of an id-ordered list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListPage<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Items of type `T` that carry an integer id, for paging.
pub trait HasId {
    fn id(&self) -> i64;
}

macro_rules! has_id {
    ($($t:ty),*) => {$( impl HasId for $t { fn id(&self) -> i64 { self.id.0 } } )*};
}
has_id!(
    fixpoint_core::parties::Company,
    fixpoint_core::parties::Location,
    fixpoint_core::parties::Contact,
    fixpoint_core::parties::Resource,
    fixpoint_core::parties::Role,
    fixpoint_core::parties::Queue,
    fixpoint_core::parties::Contract
);

impl<T: HasId> ListPage<T> {
    pub fn new(items: Vec<T>, page: &Page) -> Self {
        let next_cursor = (items.len() as u64 == page.limit)
            .then(|| items.last().map(|i| i.id().to_string()))
            .flatten();
        Self { items, next_cursor }
    }
}

/// A comma-separated list of ids in a query parameter, e.g. `status_id=1,2`.
pub fn id_list<T>(
    field: &str,
    text: Option<&str>,
    wrap: impl Fn(i64) -> T,
) -> Result<Vec<T>, ApiError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(|part| {
            part.trim().parse::<i64>().map(&wrap).map_err(|_| {
                ApiError::field(
                    field,
                    ErrorCode::InvalidField,
                    format!(
                        "'{part}' is not an id; give ids separated by commas, e.g. {field}=1,2"
                    ),
                )
            })
        })
        .collect()
}

/// An RFC 3339 instant in a query parameter.
pub fn instant(field: &str, text: Option<&str>) -> Result<Option<jiff::Timestamp>, ApiError> {
    text.map(|t| {
        t.parse::<jiff::Timestamp>().map_err(|_| {
            ApiError::field(
                field,
                ErrorCode::InvalidField,
                format!("'{t}' is not an RFC 3339 instant such as 2024-02-15T09:00:00Z"),
            )
        })
    })
    .transpose()
}

/// The version in `If-Match`: `3`, `"3"` or `W/"3"`.
pub fn if_match(parts: &axum::http::HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = parts.get(axum::http::header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    let bare = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    bare.parse::<i64>().map(Some).map_err(|_| {
        ApiError::field(
            "If-Match",
            ErrorCode::InvalidField,
            format!("If-Match is '{text}'; send the ticket's version, e.g. If-Match: \"3\""),
        )
    })
}

/// The integer `{id}` of a path; anything else is a 422 naming it.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<i64>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) => Ok(Id(id)),
            Err(_) => Err(ApiError::field(
                "id",
                ErrorCode::InvalidField,
                "the id in the path must be an integer",
            )),
        }
    }
}
