//! People who sign in to the web UI (technicians with a password and a role) and
//! their sessions, kept by the digest of the session cookie.

use fixpoint_core::ids::ResourceId;
use jiff::Timestamp;
use sea_query::{Expr, ExprTrait, Func, Query};
use sqlx::FromRow;

use crate::db::{Conn, Result, execute, fetch_optional, fetch_scalar, instant, micros};

/// What signing in checks: the person's password hash and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub resource_id: ResourceId,
    pub password_hash: String,
    pub role: String,
    pub active: bool,
}

#[derive(FromRow)]
struct LoginRow {
    id: i64,
    password_hash: String,
    role: String,
    active: bool,
}

/// Gives a technician a password (an argon2 PHC string) and a role.
pub async fn set_login(
    conn: &mut Conn,
    resource: ResourceId,
    password_hash: &str,
    role: &str,
) -> Result<bool> {
    let n = execute(
        conn,
        Query::update()
            .table("resources")
            .values([
                ("password_hash", password_hash.into()),
                ("role", role.into()),
            ])
            .and_where(Expr::col("id").eq(resource.0)),
    )
    .await?;
    Ok(n > 0)
}

/// The login of the person with this email (compared case-insensitively).
pub async fn login_by_email(conn: &mut Conn, email: &str) -> Result<Option<Login>> {
    login_where(
        conn,
        Expr::expr(Func::lower(Expr::col("email"))).eq(email.trim().to_lowercase()),
    )
    .await
}

pub async fn login_of(conn: &mut Conn, resource: ResourceId) -> Result<Option<Login>> {
    login_where(conn, Expr::col("id").eq(resource.0)).await
}

async fn login_where(conn: &mut Conn, condition: Expr) -> Result<Option<Login>> {
    let row: Option<LoginRow> = fetch_optional(
        conn,
        Query::select()
            .columns(["id", "password_hash", "role", "active"])
            .from("resources")
            .and_where(condition)
            .and_where(Expr::col("password_hash").is_not_null())
            .and_where(Expr::col("role").is_not_null()),
    )
    .await?;
    Ok(row.map(|r| Login {
        resource_id: ResourceId(r.id),
        password_hash: r.password_hash,
        role: r.role,
        active: r.active,
    }))
}

/// How many people can sign in (none on a new installation).
pub async fn login_count(conn: &mut Conn) -> Result<i64> {
    fetch_scalar(
        conn,
        Query::select()
            .expr(Expr::col("id").count())
            .from("resources")
            .and_where(Expr::col("password_hash").is_not_null()),
    )
    .await
}

/// A signed-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub resource_id: ResourceId,
    /// The form token every form of this session posts back.
    pub csrf: String,
    pub expires_at: Timestamp,
}

/// Records a session (by its cookie's digest); sessions that ended are swept out.
pub async fn insert_session(
    conn: &mut Conn,
    digest: &str,
    session: &Session,
    now: Timestamp,
) -> Result<()> {
    execute(
        conn,
        Query::delete()
            .from_table("web_sessions")
            .and_where(Expr::col("expires_at").lte(micros(now))),
    )
    .await?;
    execute(
        conn,
        Query::insert()
            .into_table("web_sessions")
            .columns(["digest", "resource_id", "csrf", "created_at", "expires_at"])
            .values_panic([
                digest.into(),
                session.resource_id.0.into(),
                session.csrf.clone().into(),
                micros(now).into(),
                micros(session.expires_at).into(),
            ]),
    )
    .await
    .map(drop)
}

/// The session with this cookie digest, while it lasts.
pub async fn session(conn: &mut Conn, digest: &str, now: Timestamp) -> Result<Option<Session>> {
    #[derive(FromRow)]
    struct Row {
        resource_id: i64,
        csrf: String,
        expires_at: i64,
    }
    let row: Option<Row> = fetch_optional(
        conn,
        Query::select()
            .columns(["resource_id", "csrf", "expires_at"])
            .from("web_sessions")
            .and_where(Expr::col("digest").eq(digest))
            .and_where(Expr::col("expires_at").gt(micros(now))),
    )
    .await?;
    row.map(|r| {
        Ok(Session {
            resource_id: ResourceId(r.resource_id),
            csrf: r.csrf,
            expires_at: instant(r.expires_at)?,
        })
    })
    .transpose()
}

pub async fn delete_session(conn: &mut Conn, digest: &str) -> Result<()> {
    execute(
        conn,
        Query::delete()
            .from_table("web_sessions")
            .and_where(Expr::col("digest").eq(digest)),
    )
    .await
    .map(drop)
}
