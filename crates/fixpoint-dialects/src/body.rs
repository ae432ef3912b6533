//! A vendor's JSON request body, read member by member: names matched
//! case-insensitively (`companyId`, `CompanyID`), numbers accepted as numbers or
//! numeric strings, and every refusal naming its field.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Map, Value};

/// One field of a request that cannot be used; each dialect words it its own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl std::fmt::Display) -> Self {
        Self {
            field: field.to_owned(),
            message: message.to_string(),
        }
    }
}

/// Absent: `None`; null: `Some(None)`; a value: `Some(Some(v))`.
pub type Given<T> = Option<Option<T>>;

pub struct Body<'a>(pub &'a Map<String, Value>);

impl<'a> Body<'a> {
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    pub fn int(&self, name: &str) -> Result<Given<i64>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .map(|n| Some(Some(n)))
                .ok_or_else(|| FieldError::new(name, format!("{v} is not a whole number"))),
        }
    }

    pub fn number(&self, name: &str) -> Result<Given<f64>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(v) => v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .filter(|n: &f64| n.is_finite())
                .map(|n| Some(Some(n)))
                .ok_or_else(|| FieldError::new(name, format!("{v} is not a number"))),
        }
    }

    pub fn text(&self, name: &str) -> Result<Given<String>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
            Some(v) => Err(FieldError::new(name, format!("{v} is not text"))),
        }
    }

    pub fn instant(&self, name: &str) -> Result<Given<Timestamp>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) => fixpoint_core::query::parse_instant(s)
                .map(|t| Some(Some(t)))
                .ok_or_else(|| {
                    FieldError::new(
                        name,
                        format!("'{s}' is not a date-time such as 2026-11-24T09:00:00Z"),
                    )
                }),
            Some(v) => Err(FieldError::new(name, format!("{v} is not a date-time"))),
        }
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, FieldError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(Some(true)),
            Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(Some(false)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(FieldError::new(name, format!("{v} is not true or false"))),
        }
    }

    /// Custom fields as vendors send them: `[{"name": …, "value": …}]`. An empty or
    /// null value clears the field (`None`). Absent or null list: `None`.
    pub fn named_values(
        &self,
        name: &str,
    ) -> Result<Option<BTreeMap<String, Option<String>>>, FieldError> {
        let items = match self.get(name) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(_) => {
                return Err(FieldError::new(
                    name,
                    "is an array of {\"name\", \"value\"}",
                ));
            }
        };
        let mut out = BTreeMap::new();
        for (i, item) in items.iter().enumerate() {
            let field = item.as_object().map(Body);
            let key = field
                .as_ref()
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| FieldError::new(&format!("{name}[{i}].name"), "is required"))?;
            let value = match field.as_ref().and_then(|f| f.get("value")) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.is_empty() => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => Some(other.to_string()),
            };
            out.insert(key.to_owned(), value);
        }
        Ok(Some(out))
    }
}
