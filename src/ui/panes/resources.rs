//! Ingestion resources: each entry (account/object, never SAS), queue depths, token age.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use crate::app::state::DepthView;
use crate::app::state::State;
use crate::client::ResourceKind;
use crate::sanitize::sanitize;
use crate::ui::fmt::{age, hms};
use crate::ui::panes::{block, filter_span};
use crate::ui::theme::Theme;

fn short_kind(k: ResourceKind) -> &'static str {
    match k {
        ResourceKind::SecuredReadyForAggregationQueue => "ingest queue",
        ResourceKind::TempStorage => "temp storage",
        ResourceKind::SuccessfulIngestionsQueue => "success queue",
        ResourceKind::FailedIngestionsQueue => "failure queue",
        ResourceKind::IngestionsStatusTable => "status table",
    }
}

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, focused: bool) {
    let r = &state.resources;
    let mut title = vec![Span::styled(" Resources ", theme.title)];
    if r.loading {
        title.push(Span::styled("loading… ", theme.muted));
    }
    if let Some(f) = filter_span(&state.resources_list.filter, theme) {
        title.push(f);
    }
    let blk = block(title, theme, focused);
    let inner = blk.inner(area);
    frame.render_widget(blk, area);
    let [info, list] = Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(inner);

    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| format!("{} ({} ago)", hms(t), age(state.now, t)))
            .unwrap_or_else(|| "never".into())
    };
    let mut lines = vec![Line::from(vec![
        Span::styled("refreshed ", theme.muted),
        Span::raw(when(r.fetched_at)),
        Span::styled("  token ", theme.muted),
        Span::raw(
            r.token_fetched_at
                .map(|t| format!("{} old", age(state.now, t)))
                .unwrap_or_else(|| "none".into()),
        ),
    ])];
    lines.push(match &r.error {
        Some(e) => Line::styled(
            format!("{} ({})", sanitize(&e.to_string()), e.hint()),
            if e.is_transient() {
                theme.warn
            } else {
                theme.error
            },
        ),
        None => Line::from(vec![
            Span::styled("depths ", theme.muted),
            Span::raw(when(r.depths_at)),
        ]),
    });
    frame.render_widget(Paragraph::new(lines), info);

    let rows: Vec<Row> = state
        .visible_resources()
        .into_iter()
        .map(|e| {
            let depth = match &e.depth {
                Some(DepthView::Count(n)) => Cell::from(format!("~{n}")),
                // Not readable by design (add-only SAS): muted, not an error.
                Some(DepthView::NotReadable) => Cell::from(Span::styled("n/a", theme.muted)),
                Some(DepthView::Error(err)) => {
                    Cell::from(Span::styled(format!("err: {}", sanitize(err)), theme.error))
                }
                None if e.kind.is_queue() => Cell::from(Span::styled("?", theme.muted)),
                None => Cell::from(""),
            };
            Row::new(vec![
                Cell::from(short_kind(e.kind)),
                Cell::from(sanitize(&e.object)),
                Cell::from(sanitize(&e.account)),
                depth,
            ])
        })
        .collect();
    let empty = rows.is_empty();
    let table = Table::new(
        rows,
        [
            Constraint::Length(13),
            Constraint::Fill(3),
            Constraint::Fill(2),
            Constraint::Length(6),
        ],
    )
    .header(Row::new(["Type", "Object", "Account", "Depth"]).style(theme.title))
    .row_highlight_style(theme.selection)
    .highlight_symbol("▶ ");
    let mut ts = TableState::default()
        .with_selected((focused && !empty).then_some(state.resources_list.selected));
    frame.render_stateful_widget(table, list, &mut ts);
}
