//! The status-table view (`T`) drawn from fixed states: counts per state, entities of several
//! clients newest first, a sanitised hostile field, the progress line and the refusal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kingest::app::cluster::ClusterView;
use kingest::app::fixtures::sample_state;
use kingest::app::state::{Modal, State};
use kingest::client::cluster_status::{ClusterEntity, Progress, ScanResult};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

fn render(state: &State, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| kingest::ui::draw(f, state)).unwrap();
    term.backend().to_string()
}

fn result() -> ScanResult {
    let states = [
        "Succeeded",
        "Failed",
        "Pending",
        "PartiallySucceeded",
        "Skipped",
    ];
    let mut r = ScanResult {
        tables: vec!["devstoreaccount1/ingestionsstatus20261202".into()],
        pages: 3,
        truncated: true,
        ..Default::default()
    };
    for i in 0..40usize {
        let state = states[i % states.len()];
        let table = if i == 1 {
            "Evil\u{1b}[2J\u{7}"
        } else {
            "Events"
        };
        let mut m = json!({
            "PartitionKey": format!("{i:08x}-c{}-4000-8000-00000000{i:04}", i % 3),
            "RowKey": "r",
            "IngestionSourceId": format!("{i:08x}-c{}-4000-8000-00000000{i:04}", i % 3),
            "Status": state,
            "Database": "Demo",
            "Table": table,
            "UpdatedOn": format!("2026-12-02T01:{:02}:00Z", 59 - i),
        });
        if state == "Failed" {
            m["ErrorCode"] = json!("BadRequest_InvalidCsvFormat");
        }
        let e = ClusterEntity::from_map(m.as_object().unwrap(), "devstoreaccount1/t");
        *r.counts.entry(e.state.clone()).or_default() += 1;
        r.entities.push(e);
    }
    r
}

#[test]
fn status_table_view_120x40() {
    let mut s = sample_state();
    s.cluster = ClusterView::Done(Box::new(result()));
    s.modal = Some(Modal::Cluster { scroll: 0 });
    let screen = render(&s, 120, 40);
    assert!(!screen.contains('\u{1b}'));
    insta::assert_snapshot!(screen);
}

#[test]
fn status_table_view_scrolled_80x24() {
    let mut s = sample_state();
    s.cluster = ClusterView::Done(Box::new(result()));
    s.modal = Some(Modal::Cluster { scroll: 30 });
    insta::assert_snapshot!(render(&s, 80, 24));
}

#[test]
fn status_table_view_progress_and_refusal() {
    let mut s = sample_state();
    s.cluster = ClusterView::Running {
        last: Some(Progress {
            table: "devstoreaccount1/ingestionsstatus20261202".into(),
            pages: 2,
            entities: 2000,
            more: true,
        }),
    };
    s.modal = Some(Modal::Cluster { scroll: 0 });
    let running = render(&s, 120, 16);
    assert!(
        running.contains("page 2 of at most 10, 2000 entities, more remain"),
        "{running}"
    );
    s.cluster = ClusterView::Failed(
        "the status table's SAS does not allow queries (sp=aud): only entities of this \
         client's own sources can be read by key"
            .into(),
    );
    insta::assert_snapshot!(render(&s, 120, 16));
}
