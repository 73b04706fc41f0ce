#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Bad management answers from a fake DM on 127.0.0.1:0 (written here): resources without some
//! types, an empty identity token, extra tables and columns, OneApi errors, an HTML page. The
//! storage URLs it hands out are a real emulator's, so what should still work is ingested.
//! Each answer gets a clear word from `kingest` (no panic, no raw HTML flood, exit code as the
//! README says) and nothing is half-done.

mod common;

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::{Env, kingest_at, stdout};
use kingest::client::mgmt::V1Table;
use serde_json::{Value, json};

/// What the fake answers to one command: status, content type, body.
type Answer = (u16, &'static str, String);

struct FakeDm {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for FakeDm {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn fake_dm(answer: impl Fn(&str) -> Answer + Send + Sync + 'static) -> FakeDm {
    let answer = Arc::new(answer);
    let app = axum::Router::new().fallback(move |body: String| {
        let answer = answer.clone();
        async move {
            let csl = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v["csl"].as_str().map(str::to_string))
                .unwrap_or_default();
            let (status, ctype, body) = answer(&csl);
            let mut r: Response = (StatusCode::from_u16(status).unwrap(), body).into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
            r
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    FakeDm {
        url,
        stop: Some(stop),
    }
}

fn v1(tables: &[V1Table]) -> Answer {
    (
        200,
        "application/json",
        json!({ "Tables": tables }).to_string(),
    )
}

/// The real emulator's resources and identity token tables.
async fn real_tables(env: &Env) -> (V1Table, V1Table) {
    let res = env
        .client
        .mgmt("", ".get ingestion resources")
        .await
        .unwrap();
    let token = env
        .client
        .mgmt("", ".get kusto identity token")
        .await
        .unwrap();
    (res[0].clone(), token[0].clone())
}

fn without(t: &V1Table, kind: &str) -> V1Table {
    let mut t = t.clone();
    t.rows.retain(|r| r[0] != kind);
    t
}

/// A fake that answers resources and token with these tables, anything else with an error.
async fn serving(resources: Answer, token: Answer) -> FakeDm {
    fake_dm(move |csl| {
        if csl.contains("ingestion resources") {
            resources.clone()
        } else if csl.contains("identity token") {
            token.clone()
        } else {
            (
                400,
                "application/json",
                r#"{"error":{"code":"NotHere","message":"no"}}"#.into(),
            )
        }
    })
    .await
}

async fn submit_to(env: &Env, dm: &FakeDm, extra: &[&str]) -> std::process::Output {
    let file = env.file("events.csv");
    let mut args = vec![
        "submit",
        file.to_str().unwrap(),
        "-d",
        "demo",
        "-t",
        "Events",
    ];
    args.extend_from_slice(extra);
    kingest_at(&dm.url, &env.dir.path().join("home"), &args).await
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_resource_types_are_named() {
    let env = Env::start().await;
    let (res, token) = real_tables(&env).await;
    for (kind, words) in [
        (
            "SecuredReadyForAggregationQueue",
            "SecuredReadyForAggregationQueue",
        ),
        ("TempStorage", "TempStorage"),
    ] {
        let dm = serving(v1(&[without(&res, kind)]), v1(std::slice::from_ref(&token))).await;
        let out = submit_to(&env, &dm, &["--flush"]).await;
        let err = stderr(&out);
        assert!(
            out.status.code().is_some_and(|c| c != 0 && c != 101) && err.contains(words),
            "without {kind}: {:?} {err}",
            out.status
        );
        // `resources` refuses the set as a whole, naming what is missing (exit 3: service).
        let out = kingest_at(&dm.url, &env.dir.path().join("home"), &["resources"]).await;
        assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
        assert!(stderr(&out).contains(words), "{}", stderr(&out));
    }
    assert_eq!(
        env.row_count("Events").await,
        0,
        "nothing was ingested half-way"
    );
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_status_table_reports_through_the_queues() {
    let env = Env::start().await;
    let (res, token) = real_tables(&env).await;
    let dm = serving(
        v1(&[without(&res, "IngestionsStatusTable")]),
        v1(std::slice::from_ref(&token)),
    )
    .await;
    let out = submit_to(&env, &dm, &["--flush", "--wait=60", "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line: Value = serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
    assert_eq!(line["status"], "Succeeded", "{line}");
    assert!(env.row_count("Events").await > 0);
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_identity_token_is_refused_before_upload() {
    let env = Env::start().await;
    let (res, token) = real_tables(&env).await;
    for value in ["", "   "] {
        let mut empty = token.clone();
        empty.rows = vec![vec![Value::from(value)]];
        let dm = serving(v1(std::slice::from_ref(&res)), v1(&[empty])).await;
        let out = submit_to(&env, &dm, &[]).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(err.contains("identity token is empty"), "{err}");
    }
    // No row at all, and no AuthorizationContext column.
    let mut none = token.clone();
    none.rows.clear();
    let mut other = V1Table::new("Table_0", &[("Something", "string")]);
    other.rows.push(vec!["x".into()]);
    for t in [none, other] {
        let dm = serving(v1(std::slice::from_ref(&res)), v1(&[t])).await;
        let out = submit_to(&env, &dm, &[]).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(err.contains("identity token"), "{err}");
    }
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_tables_columns_and_types_are_ignored() {
    let env = Env::start().await;
    let (res, token) = real_tables(&env).await;
    // Columns reordered with unknown ones between, an unknown resource type, and a second
    // table plus a TableOfContents after the result (as multi-table v1 answers have).
    let mut wide = V1Table::new(
        "Table_0",
        &[
            ("Extra", "long"),
            ("StorageRoot", "string"),
            ("Comment", "dynamic"),
            ("ResourceTypeName", "string"),
        ],
    );
    for r in &res.rows {
        wide.rows.push(vec![
            7.into(),
            r[1].clone(),
            json!({"x": [1]}),
            r[0].clone(),
        ]);
    }
    wide.rows.push(vec![
        0.into(),
        "https://future.example/x".into(),
        Value::Null,
        "SomeFutureResourceType".into(),
    ]);
    let mut second = V1Table::new("Table_1", &[("Noise", "string")]);
    second.rows.push(vec!["n".into()]);
    let mut toc = V1Table::new(
        "Table_2",
        &[("Ordinal", "long"), ("Kind", "string"), ("Name", "string")],
    );
    toc.rows
        .push(vec![0.into(), "QueryResult".into(), "PrimaryResult".into()]);
    let mut token_wide = V1Table::new(
        "Table_0",
        &[("Other", "string"), ("AuthorizationContext", "string")],
    );
    token_wide
        .rows
        .push(vec!["o".into(), token.rows[0][0].clone()]);
    let dm = serving(
        v1(&[wide, second.clone(), toc.clone()]),
        v1(&[token_wide, second, toc]),
    )
    .await;
    let out = kingest_at(
        &dm.url,
        &env.dir.path().join("home"),
        &["resources", "--json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !stdout(&out).contains("SomeFutureResourceType"),
        "{}",
        stdout(&out)
    );
    let out = submit_to(&env, &dm, &["--flush", "--wait=60", "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(env.row_count("Events").await > 0);
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_api_errors_and_html_pages_get_a_clear_word() {
    let home = tempfile::tempdir().unwrap();
    let html = format!(
        "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>{}</body></html>",
        "<p>proxy says no</p>".repeat(500)
    );
    let cases: Vec<(Answer, &str)> = vec![
        (
            (
                400,
                "application/json",
                json!({"error": {"code": "General_BadRequest", "message": "Request is invalid",
                    "@message": "Syntax error: the detail that matters", "@permanent": true,
                    "innererror": {"code": "Inner", "message": "deeper",
                        "innererror": {"code": "Deepest", "message": "deepest"}}}})
                .to_string(),
            ),
            "Syntax error: the detail that matters",
        ),
        (
            (
                400,
                "application/json",
                json!({"error": {"code": "General_BadRequest", "message": "only the short one"}})
                    .to_string(),
            ),
            "only the short one",
        ),
        (
            (
                500,
                "application/json",
                json!({"error": {"code": "Internal", "innererror": {"message": "nested only"}}})
                    .to_string(),
            ),
            "Internal",
        ),
        ((502, "text/html", html.clone()), "502"),
        ((200, "text/html", html.clone()), "not a Kusto v1 response"),
        (
            (
                200,
                "application/json",
                "{\"Tables\":[{\"Columns\":[{\"ColumnName\":\"a\"}],\"Rows\":[[1,2]]}]}".into(),
            ),
            "width",
        ),
    ];
    for ((status, ctype, body), words) in cases {
        let dm = fake_dm(move |_| (status, ctype, body.clone())).await;
        let out = kingest_at(&dm.url, home.path(), &["resources"]).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{status} {words}: {err}");
        assert!(err.contains(words), "{status}: wanted {words:?} in {err}");
        // A bounded excerpt, never the whole page.
        assert!(err.len() < 2000, "{status}: {} bytes on stderr", err.len());
    }
}
