//! Atera v3's wire shapes: the ticket as its clients deserialize it, the paged
//! envelope, the create and update bodies, and its error body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fixpoint_core::ErrorCode;
use fixpoint_server::errors::ApiError;
use serde::{Deserialize, Serialize};

/// A ticket as Atera sends it. Enum-like fields carry exactly Atera's strings.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ticket {
    #[serde(rename = "TicketID")]
    pub ticket_id: i64,
    pub ticket_title: String,
    pub ticket_number: String,
    pub ticket_source: &'static str,
    pub ticket_priority: &'static str,
    pub ticket_impact: &'static str,
    pub ticket_type: &'static str,
    pub ticket_status: String,
    #[serde(rename = "EndUserID")]
    pub end_user_id: Option<i64>,
    pub end_user_email: Option<String>,
    pub end_user_first_name: Option<String>,
    pub end_user_last_name: Option<String>,
    pub end_user_phone: Option<String>,
    #[serde(rename = "CustomerID")]
    pub customer_id: i64,
    pub customer_name: Option<String>,
    #[serde(rename = "TechnicianContactID")]
    pub technician_contact_id: Option<i64>,
    pub technician_full_name: Option<String>,
    pub technician_email: Option<String>,
    pub ticket_created_date: String,
    pub ticket_resolved_date: Option<String>,
    pub first_response_due_date: Option<String>,
    pub closed_ticket_due_date: Option<String>,
    pub technician_first_comment_date: Option<String>,
    #[serde(rename = "ContractID")]
    pub contract_id: Option<i64>,
}

/// Atera's paged envelope; the links are absolute and empty at the ends.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total_item_count: i64,
    pub page: u64,
    pub items_in_page: u64,
    pub total_pages: u64,
    pub prev_link: String,
    pub next_link: String,
}

/// `POST /tickets`. Unknown members are ignored, as Atera does.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NewTicket {
    pub ticket_title: Option<String>,
    pub description: Option<String>,
    pub ticket_priority: Option<String>,
    pub ticket_impact: Option<String>,
    pub ticket_status: Option<String>,
    pub ticket_type: Option<String>,
    #[serde(rename = "EndUserID", alias = "ContactID")]
    pub end_user_id: Option<i64>,
    pub end_user_email: Option<String>,
    #[serde(rename = "TechnicianContactID")]
    pub technician_contact_id: Option<i64>,
    pub technician_email: Option<String>,
    #[serde(rename = "CustomerID")]
    pub customer_id: Option<i64>,
}

/// `PUT` / `POST /tickets/{id}`: only what Atera lets a client change.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TicketUpdate {
    pub ticket_title: Option<String>,
    pub ticket_status: Option<String>,
    pub ticket_type: Option<String>,
    pub ticket_priority: Option<String>,
    pub ticket_impact: Option<String>,
    #[serde(rename = "TechnicianContactID")]
    pub technician_contact_id: Option<i64>,
    pub technician_email: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ActionId {
    #[serde(rename = "ActionID")]
    pub action_id: i64,
}

/// Atera's error body: `{"message", "errors": [{"field", "message"}]}`, always JSON.
#[derive(Debug)]
pub struct Error {
    pub status: StatusCode,
    pub message: String,
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    message: &'a str,
    errors: &'a [FieldError],
}

impl Error {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status: StatusCode::BAD_REQUEST,
            errors: vec![FieldError {
                field: field.to_owned(),
                message: message.clone(),
            }],
            message,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            message: &self.message,
            errors: &self.errors,
        };
        (self.status, Json(body)).into_response()
    }
}

/// Native field names in violations, as Atera names them.
fn atera_field(native: &str) -> String {
    let name = match native {
        "title" => "TicketTitle",
        "description" => "Description",
        "status_id" => "TicketStatus",
        "priority_id" => "TicketPriority",
        "type_id" => "TicketType",
        "company_id" => "CustomerID",
        "contact_id" => "EndUserID",
        "assigned_resource_id" | "assigned_role_id" => "TechnicianContactID",
        "resolution" => "TicketStatus",
        other => other,
    };
    name.to_owned()
}

/// A native refusal in Atera's words: validation is 400 (not 422), the rest keeps
/// its status.
impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        let status = match e.status() {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            other => other,
        };
        let errors: Vec<FieldError> = e
            .errors
            .iter()
            .map(|v| FieldError {
                field: atera_field(&v.field),
                message: v.message.clone(),
            })
            .collect();
        let message = if e.code == ErrorCode::NotFound || errors.is_empty() {
            e.detail
        } else {
            errors
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; ")
        };
        Self {
            status,
            message,
            errors,
        }
    }
}

impl From<fixpoint_server::service::ServiceError> for Error {
    fn from(e: fixpoint_server::service::ServiceError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<fixpoint_store::StoreError> for Error {
    fn from(e: fixpoint_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}
