//! JSON bodies in, with the failing field's path in every error.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use fixpoint_core::ErrorCode;
use serde::de::DeserializeOwned;

use crate::errors::ApiError;

/// Parses a JSON body; syntax errors are 400, shape errors 422 with the field path.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.inner();
        match inner.classify() {
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => ApiError::new(
                ErrorCode::MalformedJson,
                format!("the body is not valid JSON: {inner}"),
            ),
            serde_json::error::Category::Data => {
                let message = strip_position(&inner.to_string());
                let (field, code) = if path == "." || path.is_empty() {
                    let code = if message.starts_with("missing field") {
                        ErrorCode::Required
                    } else {
                        ErrorCode::InvalidField
                    };
                    missing_field(&message)
                        .map_or(("body".to_owned(), ErrorCode::InvalidField), |f| (f, code))
                } else {
                    let code = if message.starts_with("missing field") {
                        ErrorCode::Required
                    } else {
                        ErrorCode::InvalidField
                    };
                    let path = if message.starts_with("unknown field") {
                        path.rsplit_once('.')
                            .map(|(p, _)| p.to_owned())
                            .unwrap_or_default()
                    } else {
                        path
                    };
                    match missing_field(&message) {
                        Some(f) if path.is_empty() || path == "." => (f, code),
                        Some(f) => (format!("{path}.{f}"), code),
                        None => (path, code),
                    }
                };
                ApiError::field(field, code, message)
            }
        }
    })?;
    de.end().map_err(|e| {
        ApiError::new(
            ErrorCode::MalformedJson,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    Ok(value)
}

/// serde names a missing or unknown field only in its message: "missing field `title`".
fn missing_field(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    Some(rest.split('`').next()?.to_owned())
}

/// "… at line 1 column 20": positions mean little to an API client; the path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// A JSON body extractor built on [`parse`]; requires `Content-Type: application/json`.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (body, _) = raw_body(req, state).await?;
        parse(&body).map(Json)
    }
}

/// The body's bytes, after checking its content type.
pub async fn raw_body<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<(Bytes, axum::http::request::Parts), ApiError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let mime = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            mime == "application/json" || mime.ends_with("+json")
        });
    if !is_json {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "the body must be JSON, sent with Content-Type: application/json",
        ));
    }
    let (parts, body) = req.into_parts();
    let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
        .await
        .map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    "the request body is larger than the server accepts",
                )
            } else {
                ApiError::new(
                    ErrorCode::MalformedJson,
                    format!("the body could not be read: {e}"),
                )
            }
        })?;
    Ok((bytes, parts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fixpoint_core::ticket::NewTicket;

    fn err(body: &str) -> (ErrorCode, Option<String>) {
        let e = parse::<NewTicket>(body.as_bytes()).err().unwrap();
        (e.code, e.errors.first().map(|v| v.field.clone()))
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(err("{"), (ErrorCode::MalformedJson, None));
        assert_eq!(
            err(r#"{"company_id": 1}"#),
            (ErrorCode::Required, Some("title".into()))
        );
        assert_eq!(
            err(r#"{"title": "x", "company_id": "one"}"#),
            (ErrorCode::InvalidField, Some("company_id".into()))
        );
        assert_eq!(
            err(r#"{"title": "x", "company_id": 1, "colour": "red"}"#),
            (ErrorCode::InvalidField, Some("colour".into()))
        );
        assert_eq!(
            err(r#"{"title": "x", "company_id": 1, "secondary_resource_ids": [1, "b"]}"#),
            (
                ErrorCode::InvalidField,
                Some("secondary_resource_ids[1]".into())
            )
        );
        assert_eq!(
            err(r#"{"title": "x", "company_id": 1} trailing"#),
            (ErrorCode::MalformedJson, None)
        );
    }
}
