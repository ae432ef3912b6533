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
    /// The first note on the ticket.
    pub first_comment: Option<String>,
    /// The latest note an end user wrote, and the latest anyone else did.
    pub last_end_user_comment: Option<String>,
    pub last_end_user_comment_timestamp: Option<String>,
    pub last_technician_comment: Option<String>,
    pub last_technician_comment_timestamp: Option<String>,
    pub on_site_duration_minutes: i64,
    pub on_site_duration_seconds: i64,
    pub off_site_duration_minutes: i64,
    pub off_site_duration_seconds: i64,
    #[serde(rename = "OnSLADurationMinutes")]
    pub on_sla_duration_minutes: i64,
    #[serde(rename = "OnSLADurationSeconds")]
    pub on_sla_duration_seconds: i64,
    #[serde(rename = "OffSLADurationMinutes")]
    pub off_sla_duration_minutes: i64,
    #[serde(rename = "OffSLADurationSeconds")]
    pub off_sla_duration_seconds: i64,
    pub total_duration_minutes: i64,
    pub total_duration_seconds: i64,
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
    pub end_user_first_name: Option<String>,
    pub end_user_last_name: Option<String>,
    pub end_user_phone: Option<String>,
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

/// A comment (a note) as Atera lists it. An end user's comment names them; a
/// technician's carries the author's name only (`TechnicianContactID` stays empty).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Comment {
    pub date: String,
    pub comment: String,
    #[serde(rename = "EndUserID")]
    pub end_user_id: Option<i64>,
    #[serde(rename = "TechnicianContactID")]
    pub technician_contact_id: Option<i64>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub is_internal: bool,
    pub creator_name: String,
}

impl Comment {
    pub fn new(
        n: fixpoint_core::time_entry::Note,
        end_user: Option<&fixpoint_core::parties::Contact>,
    ) -> Self {
        Self {
            date: instant_text(n.created_at),
            comment: n.body,
            end_user_id: n.contact_id.map(|c| c.0),
            technician_contact_id: None,
            email: end_user.and_then(|c| c.email.clone()),
            first_name: end_user.map(|c| c.first_name.clone()),
            last_name: end_user.map(|c| c.last_name.clone()),
            is_internal: n.visibility == fixpoint_core::time_entry::Visibility::Internal,
            creator_name: n.author,
        }
    }
}

/// `POST /tickets/{id}/comments` in either shape clients send: Atera's documented
/// `{CommentText, CommentTimestampUTC?, TechnicianCommentDetails | EnduserCommentDetails}`
/// or the short `{Comment, IsInternal}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NewComment {
    pub comment_text: Option<String>,
    pub comment: Option<String>,
    #[serde(rename = "CommentTimestampUTC")]
    pub timestamp: Option<jiff::Timestamp>,
    #[serde(rename = "TechnicianCommentDetails")]
    pub technician: Option<TechnicianComment>,
    #[serde(rename = "EnduserCommentDetails")]
    pub end_user: Option<EndUserComment>,
    pub is_internal: Option<bool>,
}

impl NewComment {
    pub fn text(&self) -> Option<&str> {
        self.comment_text.as_deref().or(self.comment.as_deref())
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TechnicianComment {
    pub technician_id: Option<i64>,
    pub is_internal: Option<bool>,
    pub technician_email: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct EndUserComment {
    #[serde(rename = "EnduserId")]
    pub enduser_id: i64,
}

/// Hours of work, Atera's duration object (`TicketId` only on the single-duration
/// endpoints).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Duration {
    #[serde(rename = "TicketId", skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<i64>,
    pub on_site_duration_hours: f64,
    pub off_site_duration_hours: f64,
    #[serde(rename = "OnSLADurationHours")]
    pub on_sla_duration_hours: f64,
    #[serde(rename = "OffSLADurationHours")]
    pub off_sla_duration_hours: f64,
    pub total_duration_hours: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WorkHours {
    #[serde(rename = "TicketID")]
    pub ticket_id: i64,
    pub billable: Duration,
    pub non_billable: Duration,
}

/// One time entry as `workhoursrecords` lists it (`Billiable` is Atera's spelling).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WorkRecord {
    #[serde(rename = "TicketID")]
    pub ticket_id: i64,
    #[serde(rename = "WorkHoursID")]
    pub work_hours_id: i64,
    pub start_work_hour: Option<String>,
    pub end_work_hour: Option<String>,
    #[serde(rename = "TechnicianContactID")]
    pub technician_contact_id: i64,
    pub billiable: bool,
    pub on_customer_site: bool,
    pub description: Option<String>,
    pub technician_full_name: Option<String>,
    pub technician_email: Option<String>,
    #[serde(rename = "RateID")]
    pub rate_id: Option<i64>,
    pub rate_amount: Option<f64>,
}

/// `POST /tickets/{id}/workhours`, as Node clients send it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NewWork {
    #[serde(rename = "TechnicianContactID")]
    pub technician_contact_id: Option<i64>,
    pub date: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub description: Option<String>,
    pub is_billable: Option<bool>,
}

/// A customer (Fixpoint's company).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Customer {
    #[serde(rename = "CustomerID")]
    pub customer_id: i64,
    pub customer_name: String,
    pub created_on: Option<String>,
    pub last_modified: Option<String>,
    pub business_number: Option<String>,
    pub domain: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NewCustomer {
    pub customer_name: Option<String>,
    pub domain: Option<String>,
    pub phone: Option<String>,
}

/// A contact (an end user at a customer).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Contact {
    #[serde(rename = "EndUserID")]
    pub end_user_id: i64,
    #[serde(rename = "CustomerID")]
    pub customer_id: i64,
    pub customer_name: Option<String>,
    pub firstname: String,
    pub lastname: String,
    pub job_title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile_phone: Option<String>,
    pub is_contact_person: bool,
    pub in_ignore_mode: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NewContact {
    #[serde(rename = "CustomerID")]
    pub customer_id: Option<i64>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ActionId {
    #[serde(rename = "ActionID")]
    pub action_id: i64,
}

/// An instant as Atera writes them: UTC to the second.
pub fn instant_text(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
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
        "first_name" => "EndUserFirstName",
        "last_name" => "EndUserLastName",
        "email" => "EndUserEmail",
        "phone" => "EndUserPhone",
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

crate::errors_via_api_error!(Error);
