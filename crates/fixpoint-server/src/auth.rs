//! API keys: long random secrets shown once, stored as SHA-256 digests, looked up by
//! digest in one indexed query. No password hashing per request.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use fixpoint_store::{Store, auth as keys};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::app::AppState;
use crate::errors::{ApiError, ApiResult};
use fixpoint_core::ids::ResourceId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including catalogues and API keys.
    Admin,
    /// Reads and works tickets, companies and contacts.
    Technician,
    /// Reads only.
    Readonly,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Technician => "technician",
            Self::Readonly => "readonly",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Admin, Self::Technician, Self::Readonly]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

/// Who is calling: the API key that authenticated the request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: i64,
    pub name: String,
    pub role: Role,
    /// The integration code an Autotask API user sent; recorded with each change.
    pub integration_code: Option<String>,
    /// The OAuth2 client id of a HaloPSA API client.
    pub client_id: Option<String>,
    /// The technician an API client acts as, when it has one.
    pub resource_id: Option<ResourceId>,
}

impl Caller {
    /// Technicians and admins may change tickets and parties.
    pub fn require_write(&self) -> ApiResult<()> {
        match self.role {
            Role::Admin | Role::Technician => Ok(()),
            Role::Readonly => Err(ApiError::forbidden(format!(
                "API key '{}' is read-only; this request changes data",
                self.name
            ))),
        }
    }

    /// Catalogues, workflow and API keys are an admin's.
    pub fn require_admin(&self) -> ApiResult<()> {
        match self.role {
            Role::Admin => Ok(()),
            _ => Err(ApiError::forbidden(format!(
                "this request needs an admin key; '{}' is {}",
                self.name,
                self.role.as_str()
            ))),
        }
    }

    /// How the caller appears in ticket history and on notes.
    pub fn actor(&self) -> String {
        match (&self.integration_code, &self.client_id) {
            (Some(code), _) => format!("apiuser:{} ({code})", self.name),
            (None, Some(_)) => format!("apiclient:{}", self.name),
            (None, None) => format!("apikey:{}", self.name),
        }
    }
}

pub const KEY_PREFIX: &str = "fpk_";

pub fn digest(key: &str) -> String {
    let hash = Sha256::digest(key.as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new key: `fpk_` and 64 hex characters (256 random bits).
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{KEY_PREFIX}{hex}")
}

/// A password to hand a person once: 20 characters from an alphabet without look-alikes
/// (about 115 random bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// Creates a key and returns it; only its digest is stored.
pub async fn create_key(
    store: &Store,
    name: &str,
    role: Role,
) -> Result<(i64, String), fixpoint_store::StoreError> {
    let key = generate_key();
    let mut tx = store.write().await?;
    let id = keys::insert_api_key(
        &mut tx,
        (name, role.as_str()),
        &digest(&key),
        keys::Presented::Alone,
        fixpoint_store::parties::now(),
    )
    .await?;
    Store::commit(tx).await?;
    Ok((id, key))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Caller::authenticate(&parts.headers, state).await
    }
}

impl Caller {
    /// The key from `Authorization: Bearer <key>` or `X-API-KEY: <key>` (Atera's
    /// header), looked up by its digest.
    pub async fn authenticate(
        headers: &axum::http::HeaderMap,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let key = match (headers.get(header::AUTHORIZATION), headers.get("x-api-key")) {
            (Some(header), _) => header
                .to_str()
                .ok()
                .and_then(|h| {
                    h.strip_prefix("Bearer ")
                        .or_else(|| h.strip_prefix("bearer "))
                })
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .ok_or_else(|| {
                    ApiError::unauthorized("the Authorization header must be 'Bearer <key>'")
                })?,
            (None, Some(header)) => header
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .ok_or_else(|| ApiError::unauthorized("the X-API-KEY header is empty"))?,
            (None, None) => {
                return Err(ApiError::unauthorized(
                    "send an API key as 'Authorization: Bearer <key>'",
                ));
            }
        };
        // The digest is a fixed-length hash looked up by equality in a unique index:
        // nothing about the stored key leaks through timing of a string compare.
        let record = state
            .store
            .api_key_by_digest(&digest(key))
            .await?
            .ok_or_else(|| ApiError::unauthorized("the API key is unknown or revoked"))?;
        Ok(Caller::of(record))
    }

    /// Autotask's three headers: `UserName`, `Secret` and `ApiIntegrationcode` must
    /// name one active API user.
    pub async fn authenticate_api_user(
        headers: &axum::http::HeaderMap,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let (Some(username), Some(secret), Some(code)) = (
            header("username"),
            header("secret"),
            header("apiintegrationcode"),
        ) else {
            return Err(ApiError::unauthorized(
                "send the UserName, Secret and ApiIntegrationcode headers of a Fixpoint API user",
            ));
        };
        let refused =
            || ApiError::unauthorized("the UserName, Secret or ApiIntegrationcode is wrong");
        let (record, stored_digest) = state.store.api_user(username).await?.ok_or_else(refused)?;
        if !same_secret(&digest(secret), &stored_digest)
            || record.integration_code.as_deref() != Some(code)
        {
            return Err(refused());
        }
        Ok(Caller::of(record))
    }

    /// `Authorization: Bearer <token>` with a token from [`issue_access_token`] that
    /// has not expired.
    pub async fn authenticate_access_token(
        headers: &axum::http::HeaderMap,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "send 'Authorization: Bearer <access_token>' with a token from /auth/token",
                )
            })?;
        let record = state
            .store
            .key_by_access_token(&digest(token), state.now())
            .await?
            .ok_or_else(|| {
                ApiError::unauthorized("the access token is unknown or expired; get a new one")
            })?;
        Ok(Caller::of(record))
    }

    fn of(record: keys::ApiKeyRecord) -> Self {
        Caller {
            key_id: record.id,
            name: record.name,
            role: Role::parse(&record.role).unwrap_or(Role::Readonly),
            integration_code: record.integration_code,
            client_id: record.client_id,
            resource_id: record.resource_id.map(ResourceId),
        }
    }
}

/// How long a bearer token from `/auth/token` stays good (HaloPSA's is an hour).
pub const ACCESS_TOKEN_SECONDS: i64 = 3600;

/// The credentials of a new HaloPSA API client, shown once.
#[derive(Debug, Clone)]
pub struct ApiClient {
    pub id: i64,
    pub client_id: String,
    pub secret: String,
}

/// Creates an API client for HaloPSA clients (OAuth2 client credentials), acting as
/// `resource` when given. The client id looks like HaloPSA's (a GUID).
pub async fn create_api_client(
    store: &Store,
    name: &str,
    role: Role,
    resource: Option<ResourceId>,
) -> ApiResult<ApiClient> {
    let secret = generate_key();
    let mut random = [0u8; 16];
    rand::rng().fill_bytes(&mut random);
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let client_id = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    );
    let mut tx = store.write().await?;
    if let Some(resource) = resource
        && fixpoint_store::parties::resource(&mut tx, resource)
            .await?
            .is_none()
    {
        return Err(ApiError::field(
            "resource_id",
            fixpoint_core::ErrorCode::UnknownReference,
            format!("there is no technician (resource) {resource}"),
        ));
    }
    let id = keys::insert_api_key(
        &mut tx,
        (name, role.as_str()),
        &digest(&secret),
        keys::Presented::AsApiClient {
            client_id: &client_id,
            resource_id: resource.map(|r| r.0),
        },
        fixpoint_store::parties::now(),
    )
    .await?;
    Store::commit(tx).await?;
    Ok(ApiClient {
        id,
        client_id,
        secret,
    })
}

/// Exchanges an API client's id and secret for a bearer token good for
/// [`ACCESS_TOKEN_SECONDS`]; `None` when the pair is wrong or revoked.
pub async fn issue_access_token(
    store: &Store,
    client_id: &str,
    secret: &str,
    now: jiff::Timestamp,
) -> Result<Option<String>, fixpoint_store::StoreError> {
    let mut tx = store.write().await?;
    let Some((record, stored_digest)) = keys::api_client(&mut tx, client_id).await? else {
        return Ok(None);
    };
    if !same_secret(&digest(secret), &stored_digest) {
        return Ok(None);
    }
    let token = generate_key();
    let expires_at = now + jiff::SignedDuration::from_secs(ACCESS_TOKEN_SECONDS);
    keys::insert_access_token(&mut tx, record.id, &digest(&token), expires_at, now).await?;
    Store::commit(tx).await?;
    Ok(Some(token))
}

/// Secrets (or their digests) compared whole: the time taken says nothing useful.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The credentials of a new Autotask API user, shown once.
#[derive(Debug, Clone)]
pub struct ApiUser {
    pub id: i64,
    pub username: String,
    pub secret: String,
    pub integration_code: String,
}

/// Creates an API user for Autotask clients: a key (the secret) with a username and
/// an integration code. Usernames look like Autotask's (an address) and are unique.
pub async fn create_api_user(
    store: &Store,
    name: &str,
    role: Role,
) -> Result<ApiUser, fixpoint_store::StoreError> {
    let secret = generate_key();
    let mut random = [0u8; 19];
    rand::rng().fill_bytes(&mut random);
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let integration_code: String = random
        .iter()
        .take(16)
        .map(|b| ALPHABET[usize::from(b % 32)] as char)
        .collect();
    let slug: String = name
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            ' ' | '-' | '_' | '.' => Some('.'),
            _ => None,
        })
        .take(40)
        .collect();
    let slug = if slug.trim_matches('.').is_empty() {
        "api".to_owned()
    } else {
        slug.trim_matches('.').to_owned()
    };
    let username = format!(
        "{slug}.{:02x}{:02x}{:02x}@api.fixpoint",
        random[16], random[17], random[18]
    );
    let mut tx = store.write().await?;
    let id = keys::insert_api_key(
        &mut tx,
        (name, role.as_str()),
        &digest(&secret),
        keys::Presented::AsApiUser {
            username: &username,
            integration_code: &integration_code,
        },
        fixpoint_store::parties::now(),
    )
    .await?;
    Store::commit(tx).await?;
    Ok(ApiUser {
        id,
        username,
        secret,
        integration_code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_random_and_digested() {
        let a = generate_key();
        let b = generate_key();
        assert_ne!(a, b);
        assert_eq!(a.len(), KEY_PREFIX.len() + 64);
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
