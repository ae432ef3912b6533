//! Autotask's filter language, translated onto the core's filter tree (field names
//! and picklist numbers become Fixpoint's) and run as one SQL query; pages in id
//! order with `nextPageUrl`/`prevPageUrl` that rebuild the query from a token.

use axum::response::{IntoResponse, Response};
use fixpoint_core::filter::{Sort, SortKey};
use fixpoint_core::query::{self as core_query, Column, Field, Kind, Node, Scalar, Test};
use fixpoint_server::service::tickets as service;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::entities::{self, Entity};
use super::fields::{self, Pick};
use super::tickets::{Body, Vocabulary, ticket_json};
use super::{Call, Error};

pub const MAX_RECORDS: u64 = 500;

/// A query as a token in `nextPageUrl`: everything needed to continue it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Request {
    #[serde(rename = "f")]
    filter: Value,
    #[serde(rename = "i", default, skip_serializing_if = "Vec::is_empty")]
    include: Vec<String>,
    #[serde(rename = "m")]
    max: u64,
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    after: Option<i64>,
    #[serde(rename = "b", default, skip_serializing_if = "Option::is_none")]
    before: Option<i64>,
}

impl Request {
    /// A first page: no id bound yet.
    fn first(filter: Value, include: Vec<String>, max: u64) -> Self {
        Self {
            filter,
            include,
            max,
            after: None,
            before: None,
        }
    }
}

/// `MaxRecords` as given, 1 to 500 (also what a paging token may carry).
fn max_records(given: Option<i64>) -> Result<u64, Error> {
    match given {
        None => Ok(MAX_RECORDS),
        Some(n) if (1..=MAX_RECORDS as i64).contains(&n) => Ok(n as u64),
        Some(n) => Err(Error::field(
            "MaxRecords",
            format!("{n} is out of range; use 1 to {MAX_RECORDS}"),
        )),
    }
}

/// `POST /{Entity}/query` (or `GET …/query?search=`), optionally under a parent.
pub async fn query(
    call: &Call,
    entity: Entity,
    under: Option<(Entity, i64)>,
) -> Result<Response, Error> {
    let request = read_request(call, entity, under)?;
    page(call, entity, request).await
}

/// `GET /{Parent}/{id}/{Child}`: every child, as a query.
pub async fn children(
    call: &Call,
    entity: Entity,
    under: Option<(Entity, i64)>,
) -> Result<Response, Error> {
    let request = Request::first(json!([]), Vec::new(), MAX_RECORDS);
    page(call, entity, with_parent(request, entity, under)).await
}

/// `POST /{Entity}/query/count` → `{"queryCount": N}`.
pub async fn count(
    call: &Call,
    entity: Entity,
    under: Option<(Entity, i64)>,
) -> Result<Response, Error> {
    let request = read_request(call, entity, under)?;
    let v = Vocabulary::load(call).await?;
    let node = compile(&v, entity, &request.filter)?;
    let count = match entity.table() {
        None => service::list(
            &call.state.store,
            &node,
            by_id(false),
            1,
            None,
            call.state.now(),
            service::Total::Count,
        )
        .await?
        .total
        .unwrap_or_default(),
        Some(table) => {
            let mut conn = call.state.store.read().await?;
            fixpoint_store::records::count(&mut conn, table, &node).await?
        }
    };
    Ok(axum::Json(json!({"queryCount": count})).into_response())
}

/// `…/query/next?paging=<token>` (and `previous`): the page the token describes.
pub async fn follow(call: &Call, entity: Entity) -> Result<Response, Error> {
    let token = call
        .param("paging")
        .ok_or_else(|| Error::field("paging", "is required: follow nextPageUrl as given"))?;
    let request: Request = serde_json::from_str(token)
        .ok()
        .filter(|r: &Request| (1..=MAX_RECORDS).contains(&r.max))
        .ok_or_else(|| Error::field("paging", "is not a paging token from this server"))?;
    page(call, entity, request).await
}

fn read_request(
    call: &Call,
    entity: Entity,
    under: Option<(Entity, i64)>,
) -> Result<Request, Error> {
    let body = match (call.method.clone(), call.param("search")) {
        (axum::http::Method::GET, Some(search)) => serde_json::from_str(search)
            .map_err(|e| Error::field("search", format!("is not a JSON query: {e}")))?,
        (axum::http::Method::GET, None) => json!({}),
        _ => call.json()?,
    };
    let Value::Object(object) = body else {
        return Err(Error::bad_request(
            "a query is an object such as {\"filter\": [{\"op\": \"gte\", \"field\": \"id\", \"value\": 0}]}",
        ));
    };
    let b = Body(&object);
    let filter = match b.get("filter") {
        None | Some(Value::Null) => json!([]),
        Some(f @ Value::Array(_)) => f.clone(),
        Some(f @ Value::Object(_)) => json!([f]),
        Some(_) => return Err(Error::field("filter", "is an array of filter items")),
    };
    let include = match b.get("IncludeFields") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(names)) => names
            .iter()
            .map(|n| {
                n.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Error::field("IncludeFields", "is an array of field names"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(Error::field("IncludeFields", "is an array of field names")),
    };
    for name in &include {
        if fields::spec(entity, name).is_none() && !name.eq_ignore_ascii_case("userDefinedFields") {
            return Err(Error::field(
                "IncludeFields",
                format!("{} has no field '{name}'", entity.name()),
            ));
        }
    }
    let max = max_records(b.int("MaxRecords")?.flatten())?;
    Ok(with_parent(
        Request::first(filter, include, max),
        entity,
        under,
    ))
}

fn with_parent(mut request: Request, entity: Entity, under: Option<(Entity, i64)>) -> Request {
    if let Some((_, parent)) = under {
        request.filter = json!([
            {"op": "eq", "field": entity.parent_field(), "value": parent},
            {"op": "and", "items": request.filter},
        ]);
        if request.filter[1]["items"] == json!([]) {
            request.filter = json!([request.filter[0]]);
        }
    }
    request
}

fn by_id(descending: bool) -> Sort {
    Sort {
        key: SortKey::Id,
        descending,
    }
}

/// Runs one page of a query and answers Autotask's envelope.
async fn page(call: &Call, entity: Entity, request: Request) -> Result<Response, Error> {
    let v = Vocabulary::load(call).await?;
    let filter = compile(&v, entity, &request.filter)?;
    let bound = |test: Test| Node::Leaf(Field::Column(Column::Id), test);
    let id_bound = match (request.after, request.before) {
        (Some(after), _) => Some(Test::Gt(Scalar::Integer(after))),
        (None, Some(before)) => Some(Test::Lt(Scalar::Integer(before))),
        (None, None) => None,
    };
    let backwards = request.before.is_some() && request.after.is_none();
    let (mut items, more) = match entity.table() {
        None => {
            let node = match &id_bound {
                Some(test) => Node::And(vec![filter.clone(), bound(test.clone())]),
                None => filter.clone(),
            };
            let found = service::list(
                &call.state.store,
                &node,
                by_id(backwards),
                request.max,
                None,
                call.state.now(),
                service::Total::Skip,
            )
            .await?;
            let more = found.next_cursor.is_some();
            let items: Vec<Value> = found.items.iter().map(|t| ticket_json(&v, t)).collect();
            (items, more)
        }
        Some(table) => {
            let node = match &id_bound {
                Some(Test::Lt(s)) => Node::And(vec![
                    filter.clone(),
                    Node::Leaf(Field::Attribute("id", Kind::Integer), Test::Lt(s.clone())),
                ]),
                _ => filter.clone(),
            };
            let mut conn = call.state.store.read().await?;
            let mut ids = if backwards {
                fixpoint_store::records::matching_ids_descending(
                    &mut conn,
                    table,
                    &node,
                    request.max + 1,
                )
                .await?
            } else {
                fixpoint_store::records::matching_ids(
                    &mut conn,
                    table,
                    &node,
                    request.after,
                    request.max + 1,
                )
                .await?
            };
            drop(conn);
            let more = ids.len() as u64 > request.max;
            ids.truncate(request.max as usize);
            (entities::records(call, entity, &ids).await?, more)
        }
    };
    if backwards {
        items.sort_by_key(|i| i["id"].as_i64());
    }
    let first = items.first().and_then(|i| i["id"].as_i64());
    let last = items.last().and_then(|i| i["id"].as_i64());
    let link = |after: Option<i64>, before: Option<i64>, way: &str| {
        let token = Request {
            after,
            before,
            ..request.clone()
        };
        let token = serde_json::to_string(&token).unwrap_or_default();
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("paging", &token)
            .finish();
        format!("{}V1.0/{}/query/{way}?{query}", call.base, entity.name())
    };
    let (has_next, has_prev) = if backwards {
        (true, more)
    } else {
        (more, request.after.is_some())
    };
    let next = match (has_next, last) {
        (true, Some(last)) => json!(link(Some(last), None, "next")),
        _ => Value::Null,
    };
    let prev = match (has_prev, first) {
        (true, Some(first)) => json!(link(None, Some(first), "previous")),
        _ => Value::Null,
    };
    if !request.include.is_empty() {
        for item in &mut items {
            if let Value::Object(fields) = item {
                fields.retain(|k, _| {
                    k == "id" || request.include.iter().any(|n| n.eq_ignore_ascii_case(k))
                });
            }
        }
    }
    Ok(axum::Json(json!({
        "items": items,
        "pageDetails": {
            "count": items.len(),
            "requestCount": request.max,
            "prevPageUrl": prev,
            "nextPageUrl": next,
        },
    }))
    .into_response())
}

/// The Autotask filter as the core's tree over the entity's columns.
fn compile(v: &Vocabulary, entity: Entity, filter: &Value) -> Result<Node, Error> {
    let native = translate_items(v, entity, filter, "filter")?;
    let parsed = match entity.table() {
        None => core_query::parse(&native, "filter"),
        Some(_) => {
            let attributes: Vec<core_query::Attribute> = entity
                .fields()
                .iter()
                .filter_map(|s| Some((s.column?, s.kind)))
                .collect();
            core_query::parse_attributes(&native, "filter", &attributes)
        }
    };
    parsed.map_err(|e| {
        let mut error = Error::from(e);
        // The core names Fixpoint's columns; say the Autotask names back.
        for message in &mut error.errors {
            for spec in entity.fields() {
                if let Some(column) = spec.column {
                    let quoted = format!("'{column}'");
                    if message.contains(&quoted) {
                        *message = message.replace(&quoted, &format!("'{}'", spec.name));
                    }
                }
            }
        }
        error
    })
}

fn translate_items(
    v: &Vocabulary,
    entity: Entity,
    items: &Value,
    path: &str,
) -> Result<Value, Error> {
    match items {
        Value::Array(list) => list
            .iter()
            .enumerate()
            .map(|(i, item)| translate(v, entity, item, &format!("{path}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => translate(v, entity, other, path),
    }
}

/// One filter item: Autotask's aliases, field names and picklist values made
/// Fixpoint's; anything the core will judge (ops, value kinds) passes through.
fn translate(v: &Vocabulary, entity: Entity, item: &Value, path: &str) -> Result<Value, Error> {
    let Value::Object(object) = item else {
        return Err(Error::field(
            path,
            "a filter item is an object such as {\"op\": \"eq\", \"field\": \"status\", \"value\": 1}",
        ));
    };
    let b = Body(object);
    let op = b
        .get("op")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::field(&format!("{path}.op"), "is required"))?;
    let lower = op.to_ascii_lowercase();
    if matches!(lower.as_str(), "and" | "or" | "not") {
        let items = b
            .get("items")
            .ok_or_else(|| Error::field(&format!("{path}.items"), "is required for and/or"))?;
        return Ok(json!({
            "op": lower,
            "items": translate_items(v, entity, items, &format!("{path}.items"))?,
        }));
    }
    let value = b.get("value").cloned();
    let op = match (lower.as_str(), &value) {
        ("ne" | "neq" | "noteq", Some(Value::Null)) | ("isnotnull", _) => "exist".to_owned(),
        ("eq", Some(Value::Null)) | ("isnull", _) => "notExist".to_owned(),
        ("ne" | "neq", _) => "noteq".to_owned(),
        _ => op.to_owned(),
    };
    let field_path = format!("{path}.field");
    let name = b
        .get("field")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::field(&field_path, "is required"))?;
    let mut out = Map::new();
    out.insert("op".into(), json!(op));
    let udf = b
        .boolean("udf")
        .map_err(|_| Error::field(&format!("{path}.udf"), "is true or false"))?
        .unwrap_or(false);
    if udf {
        if entity != Entity::Tickets {
            return Err(Error::field(
                &format!("{path}.udf"),
                format!("{} has no user-defined fields", entity.name()),
            ));
        }
        out.insert("field".into(), json!(name));
        out.insert("udf".into(), json!(true));
        if let Some(value) = value.filter(|_| !matches!(op.as_str(), "exist" | "notExist")) {
            let text = |v: &Value| match v {
                Value::String(_) => v.clone(),
                other => json!(other.to_string()),
            };
            let value = match value {
                Value::Array(vs) => Value::Array(vs.iter().map(text).collect()),
                other => text(&other),
            };
            out.insert("value".into(), value);
        }
        return Ok(Value::Object(out));
    }
    let spec = fields::spec(entity, name).ok_or_else(|| {
        let names: Vec<&str> = entity
            .fields()
            .iter()
            .filter(|s| s.column.is_some())
            .map(|s| s.name)
            .collect();
        Error::field(
            &field_path,
            format!(
                "{} has no field '{name}'; query by {}",
                entity.name(),
                names.join(", ")
            ),
        )
    })?;
    let column = spec.column.ok_or_else(|| {
        Error::field(
            &field_path,
            format!("{} is computed and cannot be queried", spec.name),
        )
    })?;
    out.insert("field".into(), json!(column));
    if let Some(value) = value.filter(|_| !matches!(op.as_str(), "exist" | "notExist")) {
        let one = |value: &Value| {
            let value = v.translate(spec.pick, value);
            match (spec.kind, spec.pick, &value) {
                (Kind::Integer, Pick::Plain, Value::String(s)) => {
                    s.trim().parse::<i64>().map_or(value.clone(), |n| json!(n))
                }
                (Kind::Boolean, Pick::Plain, Value::Number(n)) => json!(n.as_i64() != Some(0)),
                _ => value,
            }
        };
        let value = match &value {
            Value::Array(vs) => Value::Array(vs.iter().map(one).collect()),
            other => one(other),
        };
        out.insert("value".into(), value);
    }
    Ok(Value::Object(out))
}
