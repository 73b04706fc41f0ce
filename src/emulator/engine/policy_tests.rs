//! The IngestionBatching policy commands and the effective policy.

use std::time::Duration;

use serde_json::{Value, json};

use super::policies::{BatchingPolicy, PolicySource, format_timespan, parse_timespan};
use super::*;

fn demo() -> Engine {
    let mut e = Engine::new();
    e.load_script(include_str!("../../../assets/demo/schema.kql"))
        .unwrap();
    e
}

fn run(e: &mut Engine, csl: &str) -> Result<V1Table, EngineError> {
    e.execute(Some("demo"), csl, Utc::now())
}

/// The single row of a policy result as (column → value).
fn row(t: &V1Table) -> serde_json::Map<String, Value> {
    assert_eq!(t.rows.len(), 1, "{t:?}");
    t.columns
        .iter()
        .zip(&t.rows[0])
        .map(|(c, v)| (c.name.clone(), v.clone()))
        .collect()
}

fn policy_of(t: &V1Table) -> Value {
    let text = row(t)["Policy"].as_str().unwrap().to_string();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn timespans() {
    assert_eq!(parse_timespan("00:05:00"), Some(Duration::from_secs(300)));
    assert_eq!(
        parse_timespan("1.00:00:10"),
        Some(Duration::from_secs(86_410))
    );
    assert_eq!(
        parse_timespan("00:00:10.5"),
        Some(Duration::from_millis(10_500))
    );
    assert_eq!(parse_timespan("5 minutes"), None);
    assert_eq!(parse_timespan("00:61:00"), None);
    assert_eq!(format_timespan(Duration::from_secs(30)), "00:00:30");
    assert_eq!(
        format_timespan(Duration::from_millis(300)),
        "00:00:00.3000000"
    );
}

#[test]
fn unset_policy_shows_null_and_the_effective_default() {
    let mut e = demo();
    let r = row(&run(&mut e, ".show table Events policy ingestionbatching").unwrap());
    assert_eq!(r["PolicyName"], "IngestionBatchingPolicy");
    assert_eq!(r["EntityName"], "[demo].[Events]");
    assert_eq!(r["Policy"], Value::Null);
    assert_eq!(r["EntityType"], "Table");
    let r = row(&run(&mut e, ".show database demo policy ingestionbatching").unwrap());
    assert_eq!(r["EntityName"], "[demo]");
    assert_eq!(r["EntityType"], "Database");
    assert_eq!(r["Policy"], Value::Null);
    let eff = run(&mut e, ".show emulator batching Events").unwrap();
    assert_eq!(row(&eff)["PolicySource"], "Default");
    assert_eq!(
        policy_of(&eff),
        json!({"MaximumBatchingTimeSpan":"00:05:00","MaximumNumberOfItems":500,"MaximumRawDataSizeMB":1024})
    );
}

#[test]
fn alter_fills_defaults_and_alter_merge_keeps_values() {
    let mut e = demo();
    let t = run(
        &mut e,
        ".alter table Events policy ingestionbatching '{\"MaximumBatchingTimeSpan\":\"00:00:30\"}'",
    )
    .unwrap();
    assert_eq!(
        policy_of(&t),
        json!({"MaximumBatchingTimeSpan":"00:00:30","MaximumNumberOfItems":500,"MaximumRawDataSizeMB":1024})
    );
    let t = run(
        &mut e,
        ".alter-merge table demo.Events policy ingestionbatching @'{\"MaximumNumberOfItems\":20}'",
    )
    .unwrap();
    assert_eq!(policy_of(&t)["MaximumBatchingTimeSpan"], "00:00:30");
    assert_eq!(policy_of(&t)["MaximumNumberOfItems"], 20);
    // `.alter` (not merge) resets what it does not name.
    let t = run(
        &mut e,
        ".alter table Events policy ingestionbatching\n```\n{\"MaximumRawDataSizeMB\": 300}\n```",
    )
    .unwrap();
    assert_eq!(
        policy_of(&t),
        json!({"MaximumBatchingTimeSpan":"00:05:00","MaximumNumberOfItems":500,"MaximumRawDataSizeMB":300})
    );
    let (p, src) = e.effective_batching("demo", "Events");
    assert_eq!((p.max_raw_mb, src), (300, PolicySource::Table));
}

#[test]
fn table_over_database_over_default_and_delete() {
    let mut e = demo();
    run(
        &mut e,
        ".alter database demo policy ingestionbatching '{\"MaximumBatchingTimeSpan\":\"00:01:00\"}'",
    )
    .unwrap();
    run(
        &mut e,
        ".alter tables (Events) policy ingestionbatching '{\"MaximumBatchingTimeSpan\":\"00:00:20\"}'",
    )
    .unwrap();
    let secs = |e: &Engine, t: &str| e.effective_batching("demo", t).0.max_time.as_secs();
    assert_eq!(secs(&e, "Events"), 20);
    assert_eq!(secs(&e, "Metrics"), 60);
    assert_eq!(
        e.effective_batching("demo", "Metrics").1,
        PolicySource::Database
    );
    assert_eq!(e.longest_batching_time(), Duration::from_secs(300));
    let t = run(&mut e, ".delete table Events policy ingestionbatching").unwrap();
    assert_eq!(row(&t)["Policy"], Value::Null);
    assert_eq!(secs(&e, "Events"), 60);
    run(&mut e, ".delete database demo policy ingestionbatching").unwrap();
    assert_eq!(
        e.effective_batching("demo", "Events"),
        (BatchingPolicy::default(), PolicySource::Default)
    );
    // The emulator's override replaces only the time.
    e.set_batching_time_override(Some(Duration::from_millis(300)));
    let (p, _) = e.effective_batching("demo", "Events");
    assert_eq!((p.max_time, p.max_items), (Duration::from_millis(300), 500));
    assert_eq!(e.longest_batching_time(), Duration::from_millis(300));
    let eff = row(&run(&mut e, ".show emulator batching Events").unwrap());
    assert_eq!(eff["BatchingTimeOverride"], "00:00:00.3000000");
}

#[test]
fn out_of_limit_and_malformed_policies_are_refused() {
    let mut e = demo();
    for (policy, what) in [
        (
            "{\"MaximumBatchingTimeSpan\":\"00:00:05\"}",
            "MaximumBatchingTimeSpan",
        ),
        (
            "{\"MaximumBatchingTimeSpan\":\"soon\"}",
            "MaximumBatchingTimeSpan",
        ),
        ("{\"MaximumNumberOfItems\":0}", "MaximumNumberOfItems"),
        ("{\"MaximumRawDataSizeMB\":5000}", "MaximumRawDataSizeMB"),
        ("[1]", "JSON object"),
        ("{", "not JSON"),
    ] {
        let csl = format!(".alter table Events policy ingestionbatching '{policy}'");
        let err = run(&mut e, &csl).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.message.contains(what), "{policy}: {err}");
    }
    assert_eq!(
        e.effective_batching("demo", "Events").1,
        PolicySource::Default
    );
    let err = run(&mut e, ".alter table Nope policy ingestionbatching '{}'").unwrap_err();
    assert_eq!(err.status, 404);
    let err = run(&mut e, ".alter table Events policy ingestionbatching").unwrap_err();
    assert_eq!(err.code, "BadRequest_SyntaxError");
    // Other `.alter table` forms still parse as before.
    run(&mut e, ".alter table Events (Timestamp:datetime, Level:string, Service:string, Message:string, DurationMs:long)").unwrap();
}
