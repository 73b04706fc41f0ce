//! The StreamingIngestion policy of tables and databases: `.alter[-merge]`, `.delete` and
//! `.show` `table T|database D policy streamingingestion`, and whether streaming ingestion into
//! a table is allowed (table ⊳ database ⊳ off).
//!
//! Source: dataexplorer-docs `kusto/management/streaming-ingestion-policy.md` (`IsEnabled` is
//! mandatory with no default; `HintAllocatedRate` optional; the table's setting takes
//! precedence over the database's), `alter-table-streaming-ingestion-policy-command.md` (the
//! policy object), `ingest-data-streaming.md` (the `enable` shorthand). No policy means
//! streaming is off: the howto's first step after enabling the cluster feature is to set it.

use serde_json::{Value, json};

use super::commands::{Parser, PolicyTarget};
use super::lexer::Tok;
use super::policies::{policy_row, result_table, split_qualified};
use super::{Engine, EngineError};
use crate::client::mgmt::V1Table;

pub const POLICY_NAME: &str = "StreamingIngestionPolicy";

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamingPolicy {
    pub is_enabled: bool,
    /// Expected GB per hour, a resource hint the emulator only keeps and shows.
    pub hint_allocated_rate: Option<f64>,
}

impl StreamingPolicy {
    pub fn to_json(&self) -> Value {
        json!({"IsEnabled": self.is_enabled, "HintAllocatedRate": self.hint_allocated_rate})
    }

    /// `json` applied on `base` (`None` for `.alter`: then IsEnabled must be given).
    fn from_json(json: &str, base: Option<StreamingPolicy>) -> Result<Self, EngineError> {
        let bad = |m: String| EngineError::bad_request("General_BadRequest", m);
        let v: Value = serde_json::from_str(json)
            .map_err(|e| bad(format!("the streaming ingestion policy is not JSON: {e}")))?;
        let Value::Object(obj) = v else {
            return Err(bad(
                "the streaming ingestion policy must be a JSON object".into()
            ));
        };
        let get = |name: &str| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
                .filter(|v| !v.is_null())
        };
        let is_enabled = match get("IsEnabled") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
            Some(v) => return Err(bad(format!("IsEnabled: '{v}' is not true or false"))),
            None => match base {
                Some(b) => b.is_enabled,
                None => {
                    return Err(bad(
                        "IsEnabled is mandatory in a streaming ingestion policy: set it to \
                         true or false"
                            .into(),
                    ));
                }
            },
        };
        let hint_allocated_rate = match get("HintAllocatedRate") {
            Some(v) => Some(v.as_f64().filter(|r| *r > 0.0).ok_or_else(|| {
                bad(format!("HintAllocatedRate: '{v}' is not a positive number"))
            })?),
            None => base.and_then(|b| b.hint_allocated_rate),
        };
        Ok(StreamingPolicy {
            is_enabled,
            hint_allocated_rate,
        })
    }
}

/// What a streaming policy command does.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamingOp {
    /// A policy object (`merge`: `.alter-merge`, fields not given keep their value).
    Alter {
        json: String,
        merge: bool,
    },
    /// `enable` / `disable`: IsEnabled only, the hint kept.
    Switch(bool),
    Delete,
    Show,
}

/// What follows `policy streamingingestion` (the word itself already eaten).
pub(super) fn parse_tail(p: &mut Parser, head: &str) -> Result<StreamingOp, String> {
    let op = match head {
        ".alter" | ".alter-merge" => {
            if p.eat_word("enable") {
                StreamingOp::Switch(true)
            } else if p.eat_word("disable") {
                StreamingOp::Switch(false)
            } else if matches!(p.peek(), Some(Tok::Str(_))) {
                StreamingOp::Alter {
                    json: p.string("the policy")?,
                    merge: head == ".alter-merge",
                }
            } else {
                return Err(format!(
                    "expected enable, disable or the policy JSON as a string literal{}",
                    p.found()
                ));
            }
        }
        ".delete" => StreamingOp::Delete,
        _ => StreamingOp::Show,
    };
    p.end()?;
    Ok(op)
}

fn apply(
    current: Option<StreamingPolicy>,
    op: &StreamingOp,
) -> Result<Option<StreamingPolicy>, EngineError> {
    Ok(match op {
        StreamingOp::Alter { json, merge } => Some(StreamingPolicy::from_json(
            json,
            if *merge { current } else { None },
        )?),
        StreamingOp::Switch(on) => Some(StreamingPolicy {
            is_enabled: *on,
            hint_allocated_rate: current.and_then(|c| c.hint_allocated_rate),
        }),
        StreamingOp::Delete => None,
        StreamingOp::Show => current,
    })
}

/// The policy as a `.show … policy` cell: the JSON text, `null` when unset.
pub fn policy_cell(p: Option<&StreamingPolicy>) -> Value {
    p.map_or(Value::Null, |p| p.to_json().to_string().into())
}

impl Engine {
    /// Whether `database.table` accepts streaming ingestion: the table's policy, else the
    /// database's, else off.
    pub fn streaming_enabled(&self, database: &str, table: &str) -> bool {
        let d = self.db(database);
        d.and_then(|d| d.table(table))
            .and_then(|t| t.streaming)
            .or_else(|| d.and_then(|d| d.streaming))
            .is_some_and(|p| p.is_enabled)
    }

    pub(super) fn run_streaming_policy(
        &mut self,
        database: Option<&str>,
        target: PolicyTarget,
        op: StreamingOp,
    ) -> Result<V1Table, EngineError> {
        let mut out = result_table();
        match target {
            PolicyTarget::Database(name) => {
                let d = self
                    .db_mut(&name)
                    .ok_or_else(|| EngineError::not_found("Database", &name))?;
                d.streaming = apply(d.streaming, &op)?;
                out.rows.push(policy_row(
                    POLICY_NAME,
                    format!("[{}]", d.name),
                    policy_cell(d.streaming.as_ref()),
                    false,
                ));
            }
            PolicyTarget::Tables {
                database: qualified,
                tables,
            } => {
                let db = self.context_db(qualified.as_deref().or(database))?;
                // Refuse a bad policy before altering any of the tables.
                apply(None, &op).or_else(|e| match &op {
                    StreamingOp::Alter { merge: true, .. } => Ok(None),
                    _ => Err(e),
                })?;
                for name in tables {
                    let (_, name) = split_qualified(&name);
                    let (dname, t) = self.policy_table(&db, &name)?;
                    t.streaming = apply(t.streaming, &op)?;
                    out.rows.push(policy_row(
                        POLICY_NAME,
                        format!("[{dname}].[{}]", t.name),
                        policy_cell(t.streaming.as_ref()),
                        true,
                    ));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Engine;

    fn engine() -> Engine {
        let mut e = Engine::new();
        e.load_script(
            ".create database demo\n.create table T (A:string)\n.create table U (A:string)",
        )
        .unwrap();
        e
    }

    fn run(e: &mut Engine, csl: &str) -> Result<crate::client::mgmt::V1Table, super::EngineError> {
        e.execute(Some("demo"), csl, chrono::Utc::now())
    }

    #[test]
    fn off_by_default_and_the_table_setting_overrides_the_database() {
        let mut e = engine();
        assert!(!e.streaming_enabled("demo", "T"));
        run(
            &mut e,
            ".alter database demo policy streamingingestion enable",
        )
        .unwrap();
        assert!(e.streaming_enabled("demo", "T") && e.streaming_enabled("demo", "U"));
        let t = run(&mut e, ".alter table T policy streamingingestion disable").unwrap();
        assert_eq!(t.rows[0][1], "[demo].[T]");
        assert!(
            t.rows[0][2]
                .as_str()
                .unwrap()
                .contains("\"IsEnabled\":false")
        );
        assert!(!e.streaming_enabled("demo", "T") && e.streaming_enabled("demo", "U"));
        run(&mut e, ".delete table T policy streamingingestion").unwrap();
        assert!(e.streaming_enabled("demo", "T"));
        run(&mut e, ".delete database demo policy streamingingestion").unwrap();
        assert!(!e.streaming_enabled("demo", "T"));
        assert!(!e.streaming_enabled("nope", "T"));
    }

    #[test]
    fn policy_objects_need_is_enabled_and_merge_keeps_the_rest() {
        let mut e = engine();
        run(
            &mut e,
            r#".alter table T policy streamingingestion '{"IsEnabled": true, "HintAllocatedRate": 2.1}'"#,
        )
        .unwrap();
        assert!(e.streaming_enabled("demo", "T"));
        let err = run(
            &mut e,
            r#".alter table T policy streamingingestion '{"HintAllocatedRate": 1}'"#,
        )
        .unwrap_err();
        assert!(err.message.contains("IsEnabled is mandatory"), "{err}");
        let t = run(
            &mut e,
            r#".alter-merge table T policy streamingingestion '{"IsEnabled": false}'"#,
        )
        .unwrap();
        let cell = t.rows[0][2].as_str().unwrap();
        assert!(cell.contains("false") && cell.contains("2.1"), "{cell}");
        let shown = run(&mut e, ".show table T policy streamingingestion").unwrap();
        assert_eq!(shown.rows[0][2], t.rows[0][2]);
        let unset = run(&mut e, ".show table U policy streamingingestion").unwrap();
        assert!(unset.rows[0][2].is_null());
        assert!(run(&mut e, ".alter table T policy streamingingestion maybe").is_err());
        assert_eq!(
            run(&mut e, ".alter table Nope policy streamingingestion enable")
                .unwrap_err()
                .status,
            404
        );
        // The batching policy commands are unchanged.
        run(&mut e, ".show table T policy ingestionbatching").unwrap();
    }
}
