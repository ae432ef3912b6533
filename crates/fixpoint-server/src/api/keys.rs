//! API keys: admins create (the key is shown once), list and revoke them.

use axum::extract::State;
use axum::http::StatusCode;
use fixpoint_core::{DomainError, ErrorCode};
use fixpoint_store::auth as rows;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Id;
use crate::app::AppState;
use crate::auth::{Caller, Role, create_key};
use crate::errors::{ApiError, ApiResult, Problem};
use crate::json::Json;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(revoke))
        .routes(routes!(me))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The name of the API key the request was made with.
    pub name: String,
    pub role: Role,
}

/// Who the caller is: the key's name and role. Checks a key without touching data.
#[utoipa::path(get, path = "/me", tag = "access",
    responses((status = 200, body = Me), (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn me(caller: Caller) -> axum::Json<Me> {
    axum::Json(Me {
        name: caller.name,
        role: caller.role,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyInfo {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub created_at: jiff::Timestamp,
    pub revoked_at: Option<jiff::Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// Shown this once; only its digest is stored.
    pub key: String,
}

#[utoipa::path(post, path = "/api-keys", tag = "access", request_body = NewApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Json(new): Json<NewApiKey>,
) -> ApiResult<(StatusCode, axum::Json<CreatedApiKey>)> {
    caller.require_admin()?;
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::field(
            "name",
            ErrorCode::Required,
            "name is 1 to 100 characters",
        ));
    }
    let (id, key) = create_key(&s.store, name, new.role).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedApiKey {
            id,
            name: name.to_owned(),
            role: new.role,
            key,
        }),
    ))
}

#[utoipa::path(get, path = "/api-keys", tag = "access", responses((status = 200, body = Vec<ApiKeyInfo>)), security(("api_key" = [])))]
async fn list(State(s): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Vec<ApiKeyInfo>>> {
    caller.require_admin()?;
    let mut conn = s.store.read().await?;
    let keys = rows::api_keys(&mut conn).await?;
    Ok(axum::Json(
        keys.into_iter()
            .map(|k| ApiKeyInfo {
                id: k.id,
                name: k.name,
                role: k.role,
                created_at: k.created_at,
                revoked_at: k.revoked_at,
            })
            .collect(),
    ))
}

#[utoipa::path(delete, path = "/api-keys/{id}", tag = "access", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
async fn revoke(State(s): State<AppState>, caller: Caller, Id(id): Id) -> ApiResult<StatusCode> {
    caller.require_admin()?;
    if !s
        .store
        .revoke_api_key(id, fixpoint_store::parties::now())
        .await?
    {
        return Err(DomainError::not_found("active API key", id).into());
    }
    Ok(StatusCode::NO_CONTENT)
}
