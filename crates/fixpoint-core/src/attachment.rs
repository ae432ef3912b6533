//! Files on a ticket: what a name, a content type and a size may be.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorCode, Violations};
use crate::ids::{AttachmentId, NoteId, TicketId};

/// Ten megabytes: screenshots, logs and PDFs fit; disk images belong elsewhere.
pub const ATTACHMENT_BYTES_MAX: usize = 10 * 1024 * 1024;
pub const FILENAME_MAX: usize = 255;
pub const CONTENT_TYPE_MAX: usize = 127;
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// A stored file's description; its bytes are read separately.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    pub id: AttachmentId,
    pub ticket_id: TicketId,
    /// The note the file came with, if any.
    pub note_id: Option<NoteId>,
    pub filename: String,
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    pub author: String,
    pub created_at: Timestamp,
}

/// A file to attach, before it is checked.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub filename: String,
    /// Absent: guessed from the file name's extension.
    pub content_type: Option<String>,
    pub note_id: Option<NoteId>,
    pub content: Vec<u8>,
}

impl NewAttachment {
    /// Checks the file and settles its content type.
    pub fn check(&self) -> Result<String, DomainError> {
        let mut v = Violations::default();
        let name = self.filename.trim();
        if name.is_empty() {
            v.push("filename", ErrorCode::Required, "a file name is required");
        } else if name.chars().count() > FILENAME_MAX {
            v.push(
                "filename",
                ErrorCode::InvalidField,
                format!("is longer than {FILENAME_MAX} characters"),
            );
        } else if name == "."
            || name == ".."
            || name
                .chars()
                .any(|c| c == '/' || c == '\\' || c.is_control())
        {
            v.push(
                "filename",
                ErrorCode::InvalidField,
                format!("'{name}' is not a file name: no path separators or control characters"),
            );
        }
        let content_type = match self.content_type.as_deref().map(str::trim) {
            None | Some("") => guess_content_type(name).to_owned(),
            Some(given) => {
                if !is_media_type(given) {
                    v.push(
                        "content_type",
                        ErrorCode::InvalidField,
                        format!("'{given}' is not a media type such as image/png"),
                    );
                }
                given.to_ascii_lowercase()
            }
        };
        if self.content.len() > ATTACHMENT_BYTES_MAX {
            return Err(DomainError::invalid(
                "content",
                ErrorCode::PayloadTooLarge,
                format!(
                    "the file is {} bytes; at most {ATTACHMENT_BYTES_MAX} bytes are allowed",
                    self.content.len()
                ),
            ));
        }
        v.into_result().map(|()| content_type)
    }
}

/// `type/subtype`, each an RFC 9110 token, parameters allowed after `;`.
fn is_media_type(text: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
    };
    let essence = text.split(';').next().unwrap_or("").trim();
    text.len() <= CONTENT_TYPE_MAX
        && essence
            .split_once('/')
            .is_some_and(|(t, s)| token(t) && token(s))
}

/// The media type of a file name's extension, for the files a service desk sees.
pub fn guess_content_type(filename: &str) -> &'static str {
    let extension = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "xml" => "application/xml",
        "zip" => "application/zip",
        "eml" => "message/rfc822",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => DEFAULT_CONTENT_TYPE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, content_type: Option<&str>, size: usize) -> NewAttachment {
        NewAttachment {
            filename: name.into(),
            content_type: content_type.map(Into::into),
            note_id: None,
            content: vec![0; size],
        }
    }

    fn field_of(e: DomainError) -> String {
        match e {
            DomainError::Invalid(v) => v[0].field.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_content_type_is_given_or_guessed() {
        assert_eq!(file("shot.PNG", None, 3).check().unwrap(), "image/png");
        assert_eq!(
            file("notes", None, 3).check().unwrap(),
            DEFAULT_CONTENT_TYPE
        );
        assert_eq!(
            file("a.bin", Some("Text/Plain; charset=utf-8"), 3)
                .check()
                .unwrap(),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            field_of(file("a.txt", Some("plain"), 3).check().unwrap_err()),
            "content_type"
        );
    }

    #[test]
    fn names_are_plain_file_names() {
        for bad in ["", "  ", "..", "../etc/passwd", "a\\b", "a\nb"] {
            assert_eq!(
                field_of(file(bad, None, 1).check().unwrap_err()),
                "filename",
                "{bad:?}"
            );
        }
        assert!(file("report (final).pdf", None, 1).check().is_ok());
        assert!(
            file(&"x".repeat(FILENAME_MAX + 1), None, 1)
                .check()
                .is_err()
        );
    }

    #[test]
    fn files_past_the_limit_are_refused() {
        assert!(file("a.log", None, ATTACHMENT_BYTES_MAX).check().is_ok());
        let e = file("a.log", None, ATTACHMENT_BYTES_MAX + 1)
            .check()
            .unwrap_err();
        assert!(matches!(&e, DomainError::Invalid(v) if v[0].code == ErrorCode::PayloadTooLarge));
    }
}
