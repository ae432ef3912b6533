//! People who sign in to the web UI: a technician with a password (argon2, checked
//! once at sign-in) and a role; sessions are long random tokens kept by digest, like
//! API keys, so no request after sign-in pays for a password hash.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use fixpoint_core::DomainError;
use fixpoint_core::ids::ResourceId;
use fixpoint_core::parties::{NewResource, Resource, check_password};
use fixpoint_store::people::{self, Session};
use fixpoint_store::{Store, parties};
use jiff::{SignedDuration, Timestamp};

use super::ServiceResult;
use crate::auth::{Role, digest, generate_key};

/// How long a sign-in lasts.
pub const SESSION_HOURS: i64 = 12;

/// A signed-in person, as each page sees them.
#[derive(Debug, Clone)]
pub struct Person {
    pub resource: Resource,
    pub role: Role,
    /// The form token this session's forms carry.
    pub csrf: String,
}

impl Person {
    /// How the person appears in ticket history and on notes.
    pub fn actor(&self) -> String {
        format!("user:{}", self.resource.email)
    }

    pub fn name(&self) -> String {
        format!("{} {}", self.resource.first_name, self.resource.last_name)
    }

    pub fn can_write(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Technician)
    }
}

fn hash(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        // Hashing fails only for parameters out of range; the defaults are not.
        .expect("argon2 hashes with its default parameters")
}

/// Gives a technician a password and a role.
pub async fn set_login(
    store: &Store,
    resource: ResourceId,
    password: &str,
    role: Role,
) -> ServiceResult<()> {
    check_password(password)?;
    let hashed = hash(password);
    let mut tx = store.write().await?;
    if !people::set_login(&mut tx, resource, &hashed, role.as_str()).await? {
        return Err(DomainError::not_found("resource", resource).into());
    }
    Store::commit(tx).await?;
    Ok(())
}

/// A new technician who can sign in.
pub async fn create_person(
    store: &Store,
    new: NewResource,
    password: &str,
    role: Role,
) -> ServiceResult<Resource> {
    check_password(password)?;
    let resource = super::parties::create_resource(store, new).await?;
    set_login(store, resource.id, password, role).await?;
    Ok(resource)
}

/// Whether anyone can sign in yet (a new installation prints a first admin).
pub async fn anyone_can_sign_in(store: &Store) -> ServiceResult<bool> {
    let mut conn = store.read().await?;
    Ok(people::login_count(&mut conn).await? > 0)
}

/// A new session for the right email and password; `None` otherwise (the same
/// answer for an unknown email, a wrong password and an inactive person).
pub async fn sign_in(
    store: &Store,
    email: &str,
    password: &str,
    now: Timestamp,
) -> ServiceResult<Option<(String, Session)>> {
    let login = {
        let mut conn = store.read().await?;
        people::login_by_email(&mut conn, email).await?
    };
    let Some(login) = login.filter(|l| l.active) else {
        return Ok(None);
    };
    let matches = PasswordHash::new(&login.password_hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    if !matches {
        return Ok(None);
    }
    let token = generate_key();
    let session = Session {
        resource_id: login.resource_id,
        csrf: generate_key(),
        expires_at: now + SignedDuration::from_hours(SESSION_HOURS),
    };
    let mut tx = store.write().await?;
    people::insert_session(&mut tx, &digest(&token), &session, now).await?;
    Store::commit(tx).await?;
    Ok(Some((token, session)))
}

/// The person a session cookie belongs to, while the session lasts and the person
/// may still sign in.
pub async fn person(store: &Store, token: &str, now: Timestamp) -> ServiceResult<Option<Person>> {
    let mut conn = store.read().await?;
    let Some(session) = people::session(&mut conn, &digest(token), now).await? else {
        return Ok(None);
    };
    let Some(login) = people::login_of(&mut conn, session.resource_id).await? else {
        return Ok(None);
    };
    let resource = parties::resource(&mut conn, session.resource_id).await?;
    Ok(resource
        .filter(|r| r.active && login.active)
        .map(|resource| Person {
            resource,
            role: Role::parse(&login.role).unwrap_or(Role::Readonly),
            csrf: session.csrf,
        }))
}

pub async fn sign_out(store: &Store, token: &str) -> ServiceResult<()> {
    let mut tx = store.write().await?;
    people::delete_session(&mut tx, &digest(token)).await?;
    Store::commit(tx).await?;
    Ok(())
}
