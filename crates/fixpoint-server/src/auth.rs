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
        match &self.integration_code {
            Some(code) => format!("apiuser:{} ({code})", self.name),
            None => format!("apikey:{}", self.name),
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
        name,
        role.as_str(),
        &digest(&key),
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
        let mut conn = state.store.read().await?;
        let record = keys::api_key_by_digest(&mut conn, &digest(key))
            .await?
            .ok_or_else(|| ApiError::unauthorized("the API key is unknown or revoked"))?;
        let role = Role::parse(&record.role).unwrap_or(Role::Readonly);
        Ok(Caller {
            key_id: record.id,
            name: record.name,
            role,
            integration_code: None,
        })
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
        let mut conn = state.store.read().await?;
        let refused =
            || ApiError::unauthorized("the UserName, Secret or ApiIntegrationcode is wrong");
        let (record, stored_digest) = keys::api_user(&mut conn, username)
            .await?
            .ok_or_else(refused)?;
        // Digests of equal length compared whole: the time taken says nothing useful.
        let digest_matches = digest(secret)
            .bytes()
            .zip(stored_digest.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if !digest_matches || record.integration_code.as_deref() != Some(code) {
            return Err(refused());
        }
        Ok(Caller {
            key_id: record.id,
            name: record.name,
            role: Role::parse(&record.role).unwrap_or(Role::Readonly),
            integration_code: record.integration_code,
        })
    }
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
    let id = keys::insert_api_user(
        &mut tx,
        (name, role.as_str()),
        &username,
        &integration_code,
        &digest(&secret),
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
