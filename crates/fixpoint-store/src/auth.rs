//! API keys (stored as digests) and idempotency records.

use jiff::Timestamp;
use sea_query::{Expr, ExprTrait, Order, Query};
use sqlx::FromRow;

use crate::Store;
use crate::credentials::{Found, Lookup, Recall};
use crate::db::{
    Conn, Result, execute, fetch_all, fetch_optional, fetch_scalar, insert_id, instant, micros,
    opt_instant,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// Set for Autotask API users: the `UserName` header.
    pub username: Option<String>,
    /// Set for Autotask API users: the `ApiIntegrationcode` header.
    pub integration_code: Option<String>,
    /// Set for HaloPSA API clients: the OAuth2 `client_id`.
    pub client_id: Option<String>,
    /// The technician an API client acts as (HaloPSA's "agent to log in as").
    pub resource_id: Option<i64>,
}

#[derive(FromRow)]
struct KeyRow {
    id: i64,
    name: String,
    role: String,
    created_at: i64,
    revoked_at: Option<i64>,
    username: Option<String>,
    integration_code: Option<String>,
    client_id: Option<String>,
    resource_id: Option<i64>,
}

const KEY_COLUMNS: [&str; 9] = [
    "id",
    "name",
    "role",
    "created_at",
    "revoked_at",
    "username",
    "integration_code",
    "client_id",
    "resource_id",
];

impl KeyRow {
    fn into_record(self) -> Result<ApiKeyRecord> {
        Ok(ApiKeyRecord {
            id: self.id,
            name: self.name,
            role: self.role,
            created_at: instant(self.created_at)?,
            revoked_at: opt_instant(self.revoked_at)?,
            username: self.username,
            integration_code: self.integration_code,
            client_id: self.client_id,
            resource_id: self.resource_id,
        })
    }
}

/// What a key is presented with besides its secret.
#[derive(Debug, Clone, Copy)]
pub enum Presented<'a> {
    /// `Authorization: Bearer <key>` (or Atera's `X-API-KEY`).
    Alone,
    /// An Autotask API user: the secret is sent as `Secret`, with the username and
    /// integration code that must accompany it.
    AsApiUser {
        username: &'a str,
        integration_code: &'a str,
    },
    /// A HaloPSA API client: the secret is the OAuth2 `client_secret`, found by its
    /// `client_id`, acting as a technician when `resource_id` is set.
    AsApiClient {
        client_id: &'a str,
        resource_id: Option<i64>,
    },
}

/// Stores a key by its digest; returns its id.
pub async fn insert_api_key(
    conn: &mut Conn,
    key: (&str, &str),
    digest: &str,
    presented: Presented<'_>,
    at: Timestamp,
) -> Result<i64> {
    let (name, role) = key;
    let mut columns = vec!["name", "role", "digest", "created_at"];
    let mut values: Vec<Expr> = vec![name.into(), role.into(), digest.into(), micros(at).into()];
    match presented {
        Presented::Alone => {}
        Presented::AsApiUser {
            username,
            integration_code,
        } => {
            columns.extend(["username", "integration_code"]);
            values.extend([username.into(), integration_code.into()]);
        }
        Presented::AsApiClient {
            client_id,
            resource_id,
        } => {
            columns.extend(["client_id", "resource_id"]);
            values.extend([client_id.into(), resource_id.into()]);
        }
    }
    let q = Query::insert()
        .into_table("api_keys")
        .columns(columns)
        .values_panic(values)
        .to_owned();
    insert_id(conn, q).await
}

/// The active API client with this `client_id`, and its secret's digest.
pub async fn api_client(
    conn: &mut Conn,
    client_id: &str,
) -> Result<Option<(ApiKeyRecord, String)>> {
    key_with_digest(conn, Expr::col("client_id").eq(client_id)).await
}

/// Records a bearer token (its digest) for an API client until `expires_at`; tokens
/// that expired are swept out on the way.
pub async fn insert_access_token(
    conn: &mut Conn,
    api_key_id: i64,
    digest: &str,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<()> {
    execute(
        conn,
        Query::delete()
            .from_table("access_tokens")
            .and_where(Expr::col("expires_at").lte(micros(now))),
    )
    .await?;
    execute(
        conn,
        Query::insert()
            .into_table("access_tokens")
            .columns(["digest", "api_key_id", "expires_at"])
            .values_panic([digest.into(), api_key_id.into(), micros(expires_at).into()]),
    )
    .await
    .map(drop)
}

/// The active key a bearer token (by digest) was issued to, and when the token expires
/// (judged by [`Store::key_by_access_token`], so that a remembered token ends on time
/// too).
async fn key_by_access_token(
    conn: &mut Conn,
    digest: &str,
) -> Result<Option<(ApiKeyRecord, Timestamp)>> {
    #[derive(FromRow)]
    struct TokenRow {
        #[sqlx(flatten)]
        key: KeyRow,
        expires_at: i64,
    }
    let row: Option<TokenRow> = fetch_optional(
        conn,
        Query::select()
            .columns(KEY_COLUMNS.map(|c| ("api_keys", c)))
            .column(("access_tokens", "expires_at"))
            .from("access_tokens")
            .inner_join(
                "api_keys",
                Expr::col(("api_keys", "id")).equals(("access_tokens", "api_key_id")),
            )
            .and_where(Expr::col(("access_tokens", "digest")).eq(digest))
            .and_where(Expr::col(("api_keys", "revoked_at")).is_null()),
    )
    .await?;
    row.map(|r| Ok((r.key.into_record()?, instant(r.expires_at)?)))
        .transpose()
}

/// The active API user with this username.
async fn api_user(conn: &mut Conn, username: &str) -> Result<Option<(ApiKeyRecord, String)>> {
    key_with_digest(conn, Expr::col("username").eq(username)).await
}

async fn key_with_digest(
    conn: &mut Conn,
    condition: Expr,
) -> Result<Option<(ApiKeyRecord, String)>> {
    #[derive(FromRow)]
    struct UserRow {
        #[sqlx(flatten)]
        key: KeyRow,
        digest: String,
    }
    let row: Option<UserRow> = fetch_optional(
        conn,
        Query::select()
            .columns(KEY_COLUMNS)
            .column("digest")
            .from("api_keys")
            .and_where(condition)
            .and_where(Expr::col("revoked_at").is_null()),
    )
    .await?;
    row.map(|r| Ok((r.key.into_record()?, r.digest)))
        .transpose()
}

/// The active key with this digest. One indexed lookup: the digest column is unique.
async fn api_key_by_digest(conn: &mut Conn, digest: &str) -> Result<Option<ApiKeyRecord>> {
    let row: Option<KeyRow> = fetch_optional(
        conn,
        Query::select()
            .columns(KEY_COLUMNS)
            .from("api_keys")
            .and_where(Expr::col("digest").eq(digest))
            .and_where(Expr::col("revoked_at").is_null()),
    )
    .await?;
    row.map(KeyRow::into_record).transpose()
}

pub async fn api_keys(conn: &mut Conn) -> Result<Vec<ApiKeyRecord>> {
    let rows: Vec<KeyRow> = fetch_all(
        conn,
        Query::select()
            .columns(KEY_COLUMNS)
            .from("api_keys")
            .order_by("id", Order::Asc),
    )
    .await?;
    rows.into_iter().map(KeyRow::into_record).collect()
}

async fn revoke_api_key(conn: &mut Conn, id: i64, at: Timestamp) -> Result<bool> {
    let n = execute(
        conn,
        Query::update()
            .table("api_keys")
            .value("revoked_at", micros(at))
            .and_where(Expr::col("id").eq(id))
            .and_where(Expr::col("revoked_at").is_null()),
    )
    .await?;
    Ok(n > 0)
}

/// The lookups each request makes, remembered between requests on PostgreSQL (see
/// [`crate::credentials`]).
impl Store {
    /// The active key with this digest. One indexed lookup: the digest column is
    /// unique.
    pub async fn api_key_by_digest(&self, digest: &str) -> Result<Option<ApiKeyRecord>> {
        let found = self
            .credential(Lookup::KeyDigest(digest.to_owned()))
            .await?;
        Ok(found.map(|f| f.record))
    }

    /// The active API user with this username, and its secret's digest.
    pub async fn api_user(&self, username: &str) -> Result<Option<(ApiKeyRecord, String)>> {
        let found = self
            .credential(Lookup::ApiUser(username.to_owned()))
            .await?;
        Ok(found.and_then(|f| Some((f.record, f.digest?))))
    }

    /// The active key a bearer token (by digest) was issued to, while it has not
    /// expired at `now`.
    pub async fn key_by_access_token(
        &self,
        digest: &str,
        now: Timestamp,
    ) -> Result<Option<ApiKeyRecord>> {
        let found = self
            .credential(Lookup::TokenDigest(digest.to_owned()))
            .await?;
        Ok(found
            .filter(|f| f.expires_at.is_some_and(|expires| now < expires))
            .map(|f| f.record))
    }

    /// Revokes an active key; false when there is none with this id. The key stops
    /// working at once here and, when they hear of it, on the other servers.
    pub async fn revoke_api_key(&self, id: i64, at: Timestamp) -> Result<bool> {
        let mut tx = self.write().await?;
        let revoked = revoke_api_key(&mut tx, id, at).await?;
        Self::commit(tx).await?;
        self.credentials.forget();
        Ok(revoked)
    }

    async fn credential(&self, lookup: Lookup) -> Result<Option<Found>> {
        let generation = match self.credentials.recall(&lookup, || self.postgres_options()) {
            Recall::Remembered(found) => return Ok(Some(*found)),
            Recall::Read { generation } => generation,
        };
        let mut conn = self.read().await?;
        let found = match &lookup {
            Lookup::KeyDigest(digest) => {
                api_key_by_digest(&mut conn, digest).await?.map(Found::key)
            }
            Lookup::ApiUser(username) => {
                api_user(&mut conn, username)
                    .await?
                    .map(|(record, digest)| Found {
                        digest: Some(digest),
                        ..Found::key(record)
                    })
            }
            Lookup::TokenDigest(digest) => {
                key_by_access_token(&mut conn, digest)
                    .await?
                    .map(|(record, expires_at)| Found {
                        expires_at: Some(expires_at),
                        ..Found::key(record)
                    })
            }
        };
        if let Some(found) = &found {
            self.credentials.remember(lookup, found, generation);
        }
        Ok(found)
    }
}

pub async fn active_api_key_count(conn: &mut Conn) -> Result<i64> {
    fetch_scalar(
        conn,
        Query::select()
            .expr(Expr::col("id").count())
            .from("api_keys")
            .and_where(Expr::col("revoked_at").is_null()),
    )
    .await
}

/// The response first given to a request with this idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct StoredResponse {
    pub request_digest: String,
    pub response_status: i64,
    pub response_body: String,
}

pub async fn idempotent_response(
    conn: &mut Conn,
    api_key_id: i64,
    key: &str,
) -> Result<Option<StoredResponse>> {
    fetch_optional(
        conn,
        Query::select()
            .columns(["request_digest", "response_status", "response_body"])
            .from("idempotency_keys")
            .and_where(Expr::col("api_key_id").eq(api_key_id))
            .and_where(Expr::col("key").eq(key)),
    )
    .await
}

/// Remembers a response in the same transaction as the write it answers, so a retry
/// finds either both or neither.
pub async fn remember_response(
    conn: &mut Conn,
    api_key_id: i64,
    key: &str,
    stored: &StoredResponse,
    at: Timestamp,
) -> Result<()> {
    execute(
        conn,
        Query::insert()
            .into_table("idempotency_keys")
            .columns([
                "api_key_id",
                "key",
                "request_digest",
                "response_status",
                "response_body",
                "created_at",
            ])
            .values_panic([
                api_key_id.into(),
                key.into(),
                stored.request_digest.clone().into(),
                stored.response_status.into(),
                stored.response_body.clone().into(),
                micros(at).into(),
            ]),
    )
    .await
    .map(drop)
}
