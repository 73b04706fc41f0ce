//! Table endpoints (OData JSON): create table, insert, get, update, merge, delete, query.

use axum::body::Body;
use axum::http::Method;
use serde_json::{Map, Value, json};

use super::StorageState;
use super::common::{ApiError, ApiResult, Ctx, read_body, reply, set};
use crate::emulator::sas::{SasResource, SasService, verify_service_sas};
use crate::emulator::storage::table::format_timestamp;
use crate::emulator::storage::{Entity, TableWrite};

const MAX_BODY: usize = 4 * 1024 * 1024;
/// Azure returns at most 1000 entities per query page.
const MAX_PAGE: usize = 1000;
/// Types a reader cannot infer from JSON, so minimal metadata annotates them.
const ANNOTATED: [&str; 4] = ["Edm.DateTime", "Edm.Guid", "Edm.Int64", "Edm.Binary"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    No,
    Minimal,
    Full,
}

fn level(ctx: &Ctx) -> Level {
    let accept = ctx.header("accept").unwrap_or("").to_ascii_lowercase();
    if accept.contains("odata=nometadata") {
        Level::No
    } else if accept.contains("odata=fullmetadata") {
        Level::Full
    } else {
        Level::Minimal
    }
}

fn authorize(st: &StorageState, ctx: &Ctx, table: &str, letter: char) -> Result<(), ApiError> {
    let object = SasResource::Table {
        table: table.to_string(),
    };
    verify_service_sas(
        &st.key,
        SasService::Table,
        &st.account,
        &object,
        &ctx.pairs,
        letter,
        ctx.now,
    )
    .map_err(Into::into)
}

/// `http://host/{account}`: the base of `odata.metadata` links.
fn base_url(st: &StorageState, ctx: &Ctx) -> String {
    let host = ctx.header("host").unwrap_or("127.0.0.1");
    format!("http://{host}/{}", st.account)
}

fn key_literal(s: &str) -> String {
    s.replace('\'', "''")
}

fn entity_json(st: &StorageState, ctx: &Ctx, table: &str, e: &Entity, single: bool) -> Value {
    let lvl = level(ctx);
    let mut m = Map::new();
    let base = base_url(st, ctx);
    if lvl != Level::No {
        if single {
            m.insert(
                "odata.metadata".into(),
                json!(format!("{base}/$metadata#{table}/@Element")),
            );
        }
        if lvl == Level::Full {
            let link = format!(
                "{table}(PartitionKey='{}',RowKey='{}')",
                key_literal(&e.partition_key),
                key_literal(&e.row_key)
            );
            m.insert(
                "odata.type".into(),
                json!(format!("{}.{table}", st.account)),
            );
            m.insert("odata.id".into(), json!(format!("{base}/{link}")));
            m.insert("odata.etag".into(), json!(e.etag));
            m.insert("odata.editLink".into(), json!(link));
        } else {
            m.insert("odata.etag".into(), json!(e.etag));
        }
    }
    m.insert("PartitionKey".into(), json!(e.partition_key));
    m.insert("RowKey".into(), json!(e.row_key));
    if lvl != Level::No {
        m.insert("Timestamp@odata.type".into(), json!("Edm.DateTime"));
    }
    m.insert("Timestamp".into(), json!(format_timestamp(e.timestamp)));
    for (k, v) in &e.props {
        if lvl != Level::No
            && let Some(t) = e.types.get(k)
            && (lvl == Level::Full || ANNOTATED.contains(&t.as_str()))
        {
            m.insert(format!("{k}@odata.type"), json!(t));
        }
        m.insert(k.clone(), v.clone());
    }
    Value::Object(m)
}

fn json_reply(ctx: &Ctx, status: u16, v: &Value) -> axum::http::Response<Body> {
    let mut r = reply(status, v.to_string());
    let lvl = match level(ctx) {
        Level::No => "nometadata",
        Level::Minimal => "minimalmetadata",
        Level::Full => "fullmetadata",
    };
    set(
        &mut r,
        "content-type",
        &format!("application/json;odata={lvl};streaming=true;charset=utf-8"),
    );
    r
}

fn no_content(ctx: &Ctx) -> bool {
    ctx.header("prefer")
        .is_some_and(|p| p.contains("return-no-content"))
}

/// A write answer: 201 with the entity, or 204 when `Prefer: return-no-content`.
fn write_reply(
    st: &StorageState,
    ctx: &Ctx,
    table: &str,
    e: &Entity,
    created: bool,
) -> axum::http::Response<Body> {
    let mut r = if created && !no_content(ctx) {
        let mut r = json_reply(ctx, 201, &entity_json(st, ctx, table, e, true));
        if ctx.header("prefer").is_some() {
            set(&mut r, "preference-applied", "return-content");
        }
        r
    } else {
        let mut r = reply(204, Body::empty());
        if created {
            set(&mut r, "preference-applied", "return-no-content");
        }
        r
    };
    set(&mut r, "etag", &e.etag);
    set(&mut r, "dataserviceversion", "3.0;");
    r
}

async fn json_body(body: Body, ctx: &Ctx) -> Result<Map<String, Value>, ApiError> {
    let raw = read_body(body, &ctx.headers, MAX_BODY, 413).await?;
    match serde_json::from_slice::<Value>(&raw) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(ApiError::new(
            400,
            "InvalidInput",
            "The request body is not a JSON object.",
        )),
    }
}

/// Parses `Name(PartitionKey='a',RowKey='b')`, `Name()` or `Name` (already percent-decoded).
pub fn parse_entity_path(seg: &str) -> Result<(String, Option<(String, String)>), ApiError> {
    let bad = || ApiError::new(400, "InvalidInput", "The entity address is malformed.");
    let Some(open) = seg.find('(') else {
        return Ok((seg.to_string(), None));
    };
    let name = seg[..open].to_string();
    let inner = seg[open + 1..].strip_suffix(')').ok_or_else(bad)?;
    if inner.trim().is_empty() {
        return Ok((name, None));
    }
    let (mut pk, mut rk) = (None, None);
    let mut rest = inner;
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=').ok_or_else(bad)?;
        let after = after.strip_prefix('\'').ok_or_else(bad)?;
        let mut value = String::new();
        let mut chars = after.char_indices().peekable();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if chars.peek().map(|(_, n)| *n) == Some('\'') {
                    chars.next();
                    value.push('\'');
                } else {
                    end = Some(i + 1);
                    break;
                }
            } else {
                value.push(c);
            }
        }
        let end = end.ok_or_else(bad)?;
        match key.trim() {
            "PartitionKey" => pk = Some(value),
            "RowKey" => rk = Some(value),
            _ => return Err(bad()),
        }
        rest = after[end..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    match (pk, rk) {
        (Some(p), Some(r)) => Ok((name, Some((p, r)))),
        _ => Err(bad()),
    }
}

pub async fn handle_tables(st: &StorageState, ctx: &Ctx, method: &Method, body: Body) -> ApiResult {
    if method != Method::POST {
        return Err(ApiError::unsupported(method.as_str()));
    }
    let b = json_body(body, ctx).await?;
    let name = b
        .get("TableName")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::new(400, "PropertiesNeedValue", "TableName is required."))?
        .to_string();
    authorize(st, ctx, &name, 'a')?;
    let valid = (3..=63).contains(&name.len())
        && name.bytes().all(|c| c.is_ascii_alphanumeric())
        && name.starts_with(|c: char| c.is_ascii_alphabetic());
    if !valid {
        return Err(ApiError::new(
            400,
            "InvalidResourceName",
            "The specifed resource name contains invalid characters.",
        ));
    }
    st.store.create_table_checked(&name)?;
    if no_content(ctx) {
        let mut r = reply(204, Body::empty());
        set(&mut r, "preference-applied", "return-no-content");
        return Ok(r);
    }
    let mut v = Map::new();
    if level(ctx) != Level::No {
        v.insert(
            "odata.metadata".into(),
            json!(format!("{}/$metadata#Tables/@Element", base_url(st, ctx))),
        );
    }
    v.insert("TableName".into(), json!(name));
    Ok(json_reply(ctx, 201, &Value::Object(v)))
}

pub async fn handle(
    st: &StorageState,
    ctx: &Ctx,
    method: &Method,
    segment: &str,
    body: Body,
) -> ApiResult {
    let (table, keys) = parse_entity_path(segment)?;
    let store = &st.store;
    let shown = store.table_name(&table).unwrap_or_else(|| table.clone());
    match (method.as_str(), keys) {
        ("POST", None) => {
            authorize(st, ctx, &table, 'a')?;
            let b = json_body(body, ctx).await?;
            let e = store.insert_entity(&table, &b, ctx.now)?;
            Ok(write_reply(st, ctx, &shown, &e, true))
        }
        ("GET", Some((pk, rk))) => {
            authorize(st, ctx, &table, 'r')?;
            let e = store.get_entity(&table, &pk, &rk)?;
            let mut r = json_reply(ctx, 200, &entity_json(st, ctx, &shown, &e, true));
            set(&mut r, "etag", &e.etag);
            Ok(r)
        }
        ("GET", None) => {
            authorize(st, ctx, &table, 'r')?;
            query(st, ctx, &table, &shown)
        }
        (m @ ("PUT" | "MERGE" | "PATCH"), Some((pk, rk))) => {
            let if_match = ctx.header("if-match").map(str::to_string);
            authorize(st, ctx, &table, 'u')?;
            if if_match.is_none() {
                // Insert-or-replace/merge also needs the add permission.
                authorize(st, ctx, &table, 'a')?;
            }
            let mode = if m == "PUT" {
                TableWrite::Replace
            } else {
                TableWrite::Merge
            };
            let b = json_body(body, ctx).await?;
            let e = store.write_entity(&table, &pk, &rk, &b, mode, if_match.as_deref(), ctx.now)?;
            Ok(write_reply(st, ctx, &shown, &e, false))
        }
        ("DELETE", Some((pk, rk))) => {
            authorize(st, ctx, &table, 'd')?;
            let if_match = ctx
                .header("if-match")
                .ok_or_else(|| ApiError::missing_header("If-Match"))?;
            store.delete_entity(&table, &pk, &rk, if_match)?;
            Ok(reply(204, Body::empty()))
        }
        (m, _) => Err(ApiError::unsupported(m)),
    }
}

fn query(st: &StorageState, ctx: &Ctx, table: &str, shown: &str) -> ApiResult {
    let filter = match ctx.query("$filter") {
        Some(f) if !f.trim().is_empty() => Some(filter::parse(f)?),
        _ => None,
    };
    let top = match ctx.int_query("$top")? {
        None => MAX_PAGE,
        Some(n) if (1..=MAX_PAGE as i64).contains(&n) => n as usize,
        Some(_) => return Err(ApiError::new(400, "InvalidInput", "$top must be 1..1000.")),
    };
    // A page resumes where the last one's continuation headers pointed (both or neither).
    let bad_token = || {
        ApiError::new(
            400,
            "InvalidInput",
            "The continuation token (NextPartitionKey, NextRowKey) is not valid.",
        )
    };
    let from = match (ctx.query("NextPartitionKey"), ctx.query("NextRowKey")) {
        (Some(pk), Some(rk)) => Some((
            continuation::decode(pk).ok_or_else(bad_token)?,
            continuation::decode(rk).ok_or_else(bad_token)?,
        )),
        (None, None) => None,
        _ => return Err(bad_token()),
    };
    let (list, next) = st.store.query_page(table, top, from, |e| {
        filter.as_ref().is_none_or(|f| f.matches(e))
    })?;
    let values: Vec<Value> = list
        .iter()
        .map(|e| entity_json(st, ctx, shown, e, false))
        .collect();
    let mut v = Map::new();
    if level(ctx) != Level::No {
        v.insert(
            "odata.metadata".into(),
            json!(format!("{}/$metadata#{shown}", base_url(st, ctx))),
        );
    }
    v.insert("value".into(), Value::Array(values));
    let mut r = json_reply(ctx, 200, &Value::Object(v));
    // At most 1000 entities a page, then continuation headers: Query Entities,
    // <https://learn.microsoft.com/rest/api/storageservices/query-entities#response-headers>.
    if let Some((pk, rk)) = next {
        set(
            &mut r,
            "x-ms-continuation-nextpartitionkey",
            &continuation::encode(&pk),
        );
        set(
            &mut r,
            "x-ms-continuation-nextrowkey",
            &continuation::encode(&rk),
        );
    }
    Ok(r)
}

/// Continuation keys are opaque to clients; Azure's look like `1!8!cDAwMDE-` (a version,
/// the length, then the key in URL-safe base64), so any key survives a header and a query.
mod continuation {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    pub fn encode(key: &str) -> String {
        let b = URL_SAFE_NO_PAD.encode(key.as_bytes());
        format!("1!{}!{b}", b.len())
    }

    pub fn decode(token: &str) -> Option<String> {
        let mut parts = token.splitn(3, '!');
        let (Some("1"), Some(len), Some(b)) = (parts.next(), parts.next(), parts.next()) else {
            return None;
        };
        if len.parse::<usize>().ok()? != b.len() {
            return None;
        }
        String::from_utf8(URL_SAFE_NO_PAD.decode(b).ok()?).ok()
    }

    #[test]
    fn round_trips_any_key() {
        for k in ["p1", "", "o'neil / ü ? #", "a\nb"] {
            assert_eq!(decode(&encode(k)).as_deref(), Some(k));
        }
        assert_eq!(decode("p1"), None);
        assert_eq!(decode("1!4!cDE"), None);
        assert_eq!(decode("1!3!cDE").as_deref(), Some("p1"));
    }
}

/// A small `$filter` subset: `Prop op literal` terms joined by `and`, where op is
/// eq/ne/gt/ge/lt/le and literal a quoted string, number, boolean, `datetime'…'` or `guid'…'`.
mod filter {
    use std::cmp::Ordering;

    use serde_json::Value;

    use super::ApiError;
    use crate::emulator::storage::Entity;
    use crate::emulator::storage::table::format_timestamp;

    pub struct Filter(Vec<(String, String, Value)>);

    fn unsupported(f: &str) -> ApiError {
        ApiError::new(
            501,
            "NotImplemented",
            format!("The emulator does not support this $filter: {f}"),
        )
    }

    /// Splits on whitespace outside quotes.
    fn tokens(f: &str) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        for c in f.chars() {
            match c {
                '\'' => {
                    quoted = !quoted;
                    cur.push(c);
                }
                c if c.is_whitespace() && !quoted => {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                }
                c => cur.push(c),
            }
        }
        if quoted {
            return None;
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        Some(out)
    }

    fn literal(t: &str) -> Option<Value> {
        let quoted = |s: &str| {
            s.strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .map(|s| Value::String(s.replace("''", "'")))
        };
        if let Some(v) = quoted(t) {
            return Some(v);
        }
        for p in ["datetime", "guid"] {
            if let Some(rest) = t.strip_prefix(p) {
                return quoted(rest);
            }
        }
        match t {
            "true" => return Some(Value::Bool(true)),
            "false" => return Some(Value::Bool(false)),
            _ => {}
        }
        let num = t.strip_suffix('L').unwrap_or(t);
        num.parse::<f64>().ok().map(|n| serde_json::json!(n))
    }

    pub fn parse(f: &str) -> Result<Filter, ApiError> {
        let toks = tokens(f).ok_or_else(|| unsupported(f))?;
        let mut terms = Vec::new();
        let mut i = 0;
        loop {
            let [prop, op, lit] = toks.get(i..i + 3).ok_or_else(|| unsupported(f))? else {
                return Err(unsupported(f));
            };
            if !matches!(op.as_str(), "eq" | "ne" | "gt" | "ge" | "lt" | "le") {
                return Err(unsupported(f));
            }
            let v = literal(lit).ok_or_else(|| unsupported(f))?;
            terms.push((prop.clone(), op.clone(), v));
            i += 3;
            match toks.get(i).map(String::as_str) {
                None => break,
                Some("and") => i += 1,
                Some(_) => return Err(unsupported(f)),
            }
        }
        Ok(Filter(terms))
    }

    fn compare(a: &Value, b: &Value) -> Option<Ordering> {
        match (a, b) {
            (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
            (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
            // Int64 values travel as strings.
            (Value::String(x), Value::Number(y)) => {
                x.parse::<f64>().ok()?.partial_cmp(&y.as_f64()?)
            }
            (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
            _ => None,
        }
    }

    impl Filter {
        pub fn matches(&self, e: &Entity) -> bool {
            self.0.iter().all(|(prop, op, lit)| {
                let value = match prop.as_str() {
                    "PartitionKey" => Value::String(e.partition_key.clone()),
                    "RowKey" => Value::String(e.row_key.clone()),
                    "Timestamp" => Value::String(format_timestamp(e.timestamp)),
                    p => match e.props.get(p) {
                        Some(v) => v.clone(),
                        None => return false,
                    },
                };
                let Some(ord) = compare(&value, lit) else {
                    return false;
                };
                match op.as_str() {
                    "eq" => ord == Ordering::Equal,
                    "ne" => ord != Ordering::Equal,
                    "gt" => ord == Ordering::Greater,
                    "ge" => ord != Ordering::Less,
                    "lt" => ord == Ordering::Less,
                    _ => ord != Ordering::Greater,
                }
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_paths() {
        assert_eq!(
            parse_entity_path("T(PartitionKey='a',RowKey='b')").unwrap(),
            ("T".into(), Some(("a".into(), "b".into())))
        );
        assert_eq!(
            parse_entity_path("T(RowKey='it''s',PartitionKey='x,RowKey=''y')").unwrap(),
            ("T".into(), Some(("x,RowKey='y".into(), "it's".into())))
        );
        assert_eq!(parse_entity_path("T()").unwrap(), ("T".into(), None));
        assert_eq!(parse_entity_path("T").unwrap(), ("T".into(), None));
        for bad in [
            "T(PartitionKey='a'",
            "T(PartitionKey='a')",
            "T(Foo='a',RowKey='b')",
            "T(PartitionKey=a,RowKey='b')",
            "T(PartitionKey='a,RowKey='b')",
        ] {
            assert!(parse_entity_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters() {
        let e = Entity {
            partition_key: "p1".into(),
            row_key: "r'1".into(),
            props: json!({"n": 5, "s": "x"}).as_object().cloned().unwrap(),
            types: Default::default(),
            timestamp: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            etag: String::new(),
        };
        let yes = [
            "PartitionKey eq 'p1'",
            "PartitionKey eq 'p1' and RowKey eq 'r''1'",
            "n gt 4",
            "n le 5L",
            "s ne 'y'",
        ];
        for f in yes {
            assert!(filter::parse(f).unwrap().matches(&e), "{f}");
        }
        for f in ["PartitionKey eq 'p2'", "n lt 5", "missing eq 1"] {
            assert!(!filter::parse(f).unwrap().matches(&e), "{f}");
        }
        for f in [
            "PartitionKey eq",
            "a or b",
            "(n eq 1)",
            "n xx 1",
            "s eq 'open",
        ] {
            assert!(filter::parse(f).is_err(), "{f}");
        }
    }
}
