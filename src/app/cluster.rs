//! The status-table view (`T`): every client's table-tracked sources, counts per state.
//! A scan reads the whole table (Timestamp is not indexed: `client::cluster_status`), so it
//! runs only when asked and confirmed, up to a page cap, and never on a timer.

use crate::app::effect::Effect;
use crate::app::state::{Confirm, ConfirmAction, Modal, Severity, State};
use crate::client::cluster_status::{
    DEFAULT_MAX_PAGES, PAGE_SIZE, Progress, ScanOptions, ScanResult,
};
use crate::client::error::Problem;
use crate::sanitize::sanitize;

/// Where the scan stands.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ClusterView {
    #[default]
    Never,
    Running {
        last: Option<Progress>,
    },
    Done(Box<ScanResult>),
    Failed(String),
}

impl ClusterView {
    /// Entity rows the view scrolls through.
    pub fn rows(&self) -> usize {
        match self {
            ClusterView::Done(r) => r.entities.len(),
            _ => 0,
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self, ClusterView::Running { .. })
    }
}

/// The page cap of a TUI scan.
pub const MAX_PAGES: usize = DEFAULT_MAX_PAGES;

/// `T`: ask first, saying what the scan costs (a running scan is just shown again).
pub fn ask(state: &mut State) {
    if state.cluster.is_running() {
        state.modal = Some(Modal::Cluster { scroll: 0 });
        return;
    }
    state.modal = Some(Modal::Confirm(Confirm {
        title: "Scan the status table".into(),
        lines: vec![
            "Lists every client's table-tracked sources, with counts per state.".into(),
            format!(
                "It reads the WHOLE table (Timestamp has no index), up to {MAX_PAGES} pages of {PAGE_SIZE}"
            ),
            "entities, and stops there. It runs once: it is never polled.".into(),
            "Scan now?".into(),
        ],
        action: ConfirmAction::ClusterScan,
    }));
}

/// Confirmed: run the scan and open the view on its progress.
pub fn confirmed(state: &mut State, fx: &mut Vec<Effect>) {
    state.cluster = ClusterView::Running { last: None };
    state.modal = Some(Modal::Cluster { scroll: 0 });
    state.set_status(
        format!("scanning the status table (at most {MAX_PAGES} pages)…"),
        Severity::Info,
    );
    fx.push(Effect::ClusterScan {
        opts: ScanOptions {
            max_pages: MAX_PAGES,
            ..Default::default()
        },
    });
}

pub fn on_progress(state: &mut State, p: Progress) {
    if let ClusterView::Running { last } = &mut state.cluster {
        state.status = Some((sanitize(&p.line(MAX_PAGES)), Severity::Info));
        *last = Some(p);
        state.dirty = true;
    }
}

pub fn on_scanned(state: &mut State, result: Result<ScanResult, Problem>) {
    match result {
        Ok(r) => {
            let text = format!("status table: {}", sanitize(&r.summary_line(MAX_PAGES)));
            state.set_status(text, Severity::Info);
            state.cluster = ClusterView::Done(Box::new(r));
        }
        Err(p) => {
            let text = sanitize(&p.message);
            state.set_status(format!("status table scan: {text}"), Severity::Error);
            state.cluster = ClusterView::Failed(text);
        }
    }
    if let Some(Modal::Cluster { scroll }) = &mut state.modal {
        *scroll = 0;
    }
    state.dirty = true;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixtures::t0;
    use crate::app::msg::Msg;
    use crate::app::state::Settings;
    use crate::app::update;
    use crate::client::cluster_status::ClusterEntity;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn press(s: &mut State, c: KeyCode) -> Vec<Effect> {
        update(s, Msg::Key(KeyEvent::new(c, KeyModifiers::NONE)))
    }

    fn result(n: usize) -> ScanResult {
        let mut r = ScanResult {
            tables: vec!["acct/ingestionsstatus20261202".into()],
            pages: 1,
            ..Default::default()
        };
        for i in 0..n {
            let m = serde_json::json!({"PartitionKey": format!("s{i}"), "RowKey": "r",
                "Status": "Failed", "Database": "Demo", "Table": "Events\u{1b}[31m"});
            let e = ClusterEntity::from_map(m.as_object().unwrap(), "acct/t");
            *r.counts.entry(e.state.clone()).or_default() += 1;
            r.entities.push(e);
        }
        r
    }

    #[test]
    fn t_asks_first_then_scans_once_with_the_cap_and_esc_closes() {
        let mut s = State::new(Settings::default(), t0());
        assert!(
            press(&mut s, KeyCode::Char('T')).is_empty(),
            "nothing before yes"
        );
        match &s.modal {
            Some(Modal::Confirm(c)) => {
                assert_eq!(c.action, ConfirmAction::ClusterScan);
                assert!(c.lines.join(" ").contains("WHOLE table"));
            }
            other => panic!("{other:?}"),
        }
        let fx = press(&mut s, KeyCode::Char('y'));
        assert!(
            matches!(&fx[..], [Effect::ClusterScan { opts }] if opts.max_pages == MAX_PAGES),
            "{fx:?}"
        );
        assert!(matches!(s.modal, Some(Modal::Cluster { scroll: 0 })));
        // Progress lands in the view and on the status line.
        update(
            &mut s,
            Msg::ClusterProgress(Progress {
                table: "acct/t".into(),
                pages: 2,
                entities: 2000,
                more: true,
            }),
        );
        assert!(
            s.status
                .as_ref()
                .unwrap()
                .0
                .contains("page 2 of at most 10")
        );
        // T again while running shows the view, and starts no second scan.
        press(&mut s, KeyCode::Esc);
        assert!(press(&mut s, KeyCode::Char('T')).is_empty());
        assert!(matches!(s.modal, Some(Modal::Cluster { .. })));
        update(
            &mut s,
            Msg::ClusterScanned {
                at: t0(),
                result: Ok(result(30)),
            },
        );
        for _ in 0..3 {
            press(&mut s, KeyCode::Down);
        }
        press(&mut s, KeyCode::PageDown);
        assert!(matches!(s.modal, Some(Modal::Cluster { scroll: 13 })));
        for _ in 0..5 {
            press(&mut s, KeyCode::PageDown);
        }
        assert!(
            matches!(s.modal, Some(Modal::Cluster { scroll: 29 })),
            "clamped"
        );
        press(&mut s, KeyCode::Esc);
        assert!(s.modal.is_none());
        assert_eq!(s.cluster.rows(), 30);
        // No is no.
        press(&mut s, KeyCode::Char('T'));
        assert!(press(&mut s, KeyCode::Char('n')).is_empty());
        assert!(s.modal.is_none());
    }

    #[test]
    fn a_refusal_is_shown_plainly_and_sanitised() {
        let mut s = State::new(Settings::default(), t0());
        press(&mut s, KeyCode::Char('T'));
        press(&mut s, KeyCode::Char('y'));
        let problem = Problem::from(crate::client::Error::MissingResource(
            "the status table's SAS does not allow queries (sp=aud\u{1b}[2J): only entities of \
             this client's own sources can be read by key"
                .into(),
        ));
        update(
            &mut s,
            Msg::ClusterScanned {
                at: t0(),
                result: Err(problem),
            },
        );
        match &s.cluster {
            ClusterView::Failed(t) => {
                assert!(t.contains("does not allow queries (sp=aud"), "{t}");
                assert!(!t.contains('\u{1b}'));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.status.as_ref().unwrap().1, Severity::Error);
    }
}
