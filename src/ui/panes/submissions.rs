//! Submissions: a row per source with a progress bar while uploading, and the selected row's
//! details below.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use crate::app::state::{State, SubState, SubmissionRow};
use crate::client::tracking::TrackState;
use crate::sanitize::sanitize;
use crate::ui::columns::{self, Column};
use crate::ui::fmt::{age, bar, bytes, fit, short_path};
use crate::ui::panes::{block, filter_span};
use crate::ui::theme::Theme;

/// The State column: an upload's bar and rate, or a state with a split source's chunks.
const STATE_WIDTH: u16 = 26;
/// The pane width from which the mode has a column of its own (narrower, the file name keeps
/// the room and the detail lines name the mode).
const MODE_COLUMN_FROM: u16 = 100;

pub fn state_style(s: SubState, theme: &Theme) -> Style {
    match s {
        SubState::Track(TrackState::Succeeded) => theme.ok,
        SubState::Track(TrackState::Failed) => theme.error,
        SubState::Track(
            TrackState::PartiallySucceeded
            | TrackState::Skipped
            | TrackState::Canceled
            | TrackState::Retrying,
        ) => theme.warn,
        SubState::Uploading | SubState::Track(TrackState::Queued | TrackState::Pending) => {
            theme.base
        }
    }
}

/// The State column's text and style: an upload's bar and rate, or the (aggregate) state.
fn progress(state: &State, row: &SubmissionRow, theme: &Theme) -> (String, Style) {
    if row.state() == SubState::Uploading {
        let frac = if row.total > 0 {
            row.read as f64 / row.total as f64
        } else {
            0.0
        };
        let rate = row
            .rate()
            .map(|r| format!(" {}/s", bytes(r as u64)))
            .unwrap_or_default();
        return (
            format!("{} {:>3.0}%{rate}", bar(frac, 8), frac * 100.0),
            theme.base,
        );
    }
    let shown = state.source_state(row);
    let chunks = state.chunks_of(row);
    let label = if chunks.len() > 1 {
        // kingest's aggregate over the chunks, with how many are final ("chunks" when the
        // column has room for it).
        let done = chunks.iter().filter(|c| c.state().is_final()).count();
        let long = format!("{} {done}/{} chunks", shown.label(), chunks.len());
        if long.len() <= STATE_WIDTH as usize {
            long
        } else {
            format!("{} {done}/{}", shown.label(), chunks.len())
        }
    } else {
        shown.label().to_string()
    };
    (label, state_style(shown, theme))
}

/// The mode in the pane's narrow column (the detail view has its full name).
fn mode_label(mode: crate::client::mode::IngestMode) -> &'static str {
    use crate::client::mode::IngestMode;
    match mode {
        IngestMode::Queued => "queued",
        IngestMode::Streaming => "stream",
        IngestMode::Managed => "managed",
        IngestMode::Direct => "direct",
        IngestMode::RestQueued => "rest",
    }
}

/// "1 Succeeded · 2 Failed (Stream_X) · 3 Pending": each chunk of a split source.
pub fn chunk_summary(chunks: &[&SubmissionRow]) -> String {
    chunks
        .iter()
        .map(|c| {
            let index = c.chunk.map_or(0, |k| k.index);
            let code = c
                .error_code()
                .filter(|_| c.state() == SubState::Track(TrackState::Failed))
                .map(|code| format!(" ({code})"))
                .unwrap_or_default();
            format!("{index} {}{code}", c.state().label())
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, focused: bool) {
    let visible = state.visible_submissions();
    // Sources, not messages: a split source counts once, active while any chunk is.
    let sources: Vec<&SubmissionRow> = state
        .submissions
        .iter()
        .filter(|s| s.chunk.is_none_or(|c| c.index == 1))
        .collect();
    let active = sources
        .iter()
        .filter(|s| !state.source_state(s).is_final())
        .count();
    let mut title = vec![
        Span::styled(" Submissions ", theme.title),
        Span::styled(format!("{} ({active} active) ", sources.len()), theme.muted),
    ];
    if let Some(f) = filter_span(&state.submissions_list.filter, theme) {
        title.push(f);
    }
    let blk = block(title, theme, focused);
    let inner = blk.inner(area);
    frame.render_widget(blk, area);
    // One line each (source id, blob, message id, error): never wrapped, so the error stays.
    let detail_h = if inner.height >= 11 { 5 } else { 0 };
    let [list, detail] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(detail_h)]).areas(inner);

    // Bulk operations are rows of their own kind after the sources (`ui::bulk`).
    let wide = inner.width >= MODE_COLUMN_FROM;
    let bulk = crate::ui::bulk::rows(state, theme, wide);
    let bulk_len = bulk.len();
    if visible.is_empty() && bulk.is_empty() {
        let msg = if state.submissions.is_empty() {
            "No submissions yet. Press s to submit a file."
        } else {
            "No submission matches the filter."
        };
        frame.render_widget(Paragraph::new(Line::styled(msg, theme.muted)), list);
        return;
    }
    // Cell texts first, so the columns are measured over the rows in view only.
    let texts: Vec<Vec<String>> = visible
        .iter()
        .map(|r| {
            let mut t = vec![
                sanitize(&short_path(&r.file)),
                sanitize(&format!("{}.{}", r.database, r.table)),
                if r.total > 0 {
                    bytes(r.total)
                } else {
                    String::new()
                },
                sanitize(&r.format),
            ];
            if wide {
                t.push(mode_label(r.mode).to_string());
            }
            t.push(progress(state, r, theme).0);
            t.push(age(state.now, r.started_at));
            t
        })
        .collect();
    let mut header = vec!["File", "Database.Table", "Size", "Format"];
    if wide {
        header.push("Mode");
    }
    header.extend(["State", "Age"]);
    let mut cols: Vec<Column> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            if i < 2 {
                Column::flex(h, 8)
            } else {
                Column::fixed(h)
            }
        })
        .collect();
    let rows_h = list.height.saturating_sub(1).max(1) as usize;
    let selected = state
        .submissions_list
        .selected
        .min((visible.len() + bulk_len).saturating_sub(1));
    let first = (selected + 1).saturating_sub(rows_h);
    columns::measure(
        &mut cols,
        texts.iter().skip(first).take(rows_h).map(Vec::as_slice),
    );
    if bulk_len > 0 {
        // Bulk rows are drawn by `ui::bulk` (not measured here): room for their prefix, blob
        // count and counters.
        let state_col = cols.len() - 2;
        cols[state_col].min = STATE_WIDTH;
        cols[0].min = 9;
        cols[2].min = 11;
    }
    let widths = columns::constraints(&cols, list.width.saturating_sub(2), 1);
    let mut rows: Vec<Row> = texts
        .into_iter()
        .zip(&visible)
        .map(|(mut t, r)| {
            let age = t.pop().unwrap_or_default();
            let prog = t.pop().unwrap_or_default();
            let mut cells: Vec<Cell> = t.into_iter().map(Cell::from).collect();
            cells.push(Cell::from(Span::styled(prog, progress(state, r, theme).1)));
            cells.push(Cell::from(age));
            Row::new(cells)
        })
        .collect();
    rows.extend(bulk);
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.title))
        .row_highlight_style(theme.selection)
        .highlight_symbol("▶ ");
    let mut ts = TableState::default().with_selected(Some(selected));
    frame.render_stateful_widget(table, list, &mut ts);

    if detail_h > 0
        && let Some(b) = selected
            .checked_sub(visible.len())
            .and_then(|i| crate::app::bulk::visible(state).get(i).copied())
    {
        frame.render_widget(Paragraph::new(crate::ui::bulk::detail(b, theme)), detail);
    } else if detail_h > 0
        && let Some(r) = visible.get(selected)
    {
        let kv = |k: &'static str, v: String| {
            Line::from(vec![
                Span::styled(format!("{k:<10}"), theme.muted),
                // Message ids and blob names come from the service.
                Span::raw(sanitize(&v)),
            ])
        };
        let chunks = state.chunks_of(r);
        let first = if let (true, Some(c)) = (chunks.len() > 1, r.chunk) {
            // A split source: its id, and every chunk (the detail view has their ids).
            kv(
                "Source",
                format!("{}  chunks: {}", c.source_id, chunk_summary(&chunks)),
            )
        } else {
            kv(
                "SourceId",
                r.source_id.clone().unwrap_or_else(|| "—".into()),
            )
        };
        let mut lines = vec![
            // The whole name, cut only where the line is too short.
            kv(
                "File",
                fit(&r.file, detail.width.saturating_sub(10) as usize),
            ),
            first,
            kv(
                "Blob",
                r.blob
                    .as_deref()
                    .map(|b| sanitize(&blob_in_container(b)))
                    .unwrap_or_else(|| "—".into()),
            ),
            kv(
                "MessageId",
                format!(
                    "{}   {} · {} / {}",
                    r.message_id.as_deref().unwrap_or("—"),
                    r.mode,
                    r.report_level,
                    r.report_method
                ),
            ),
        ];
        if let Some(e) = r.error_text() {
            let code = r
                .error_code()
                .map(|c| format!("{}: ", sanitize(c)))
                .unwrap_or_default();
            // Table entities carry Details for successes too: only failures read as errors.
            let (label, style) = match r.state() {
                SubState::Track(
                    TrackState::Failed | TrackState::PartiallySucceeded | TrackState::Skipped,
                ) => ("Error     ", theme.error),
                SubState::Track(TrackState::Retrying) => ("Retrying  ", theme.warn),
                _ if r.error_code().is_some() => ("Error     ", theme.error),
                _ => ("Details   ", theme.muted),
            };
            lines.push(Line::styled(format!("{label}{code}{}", sanitize(e)), style));
        }
        frame.render_widget(Paragraph::new(lines), detail);
    }
}

/// `container/blob` of a blob URL: the host and account are in the resources pane.
fn blob_in_container(url: &str) -> String {
    match crate::client::storage::SasUrl::parse(url) {
        Ok(u) => format!("{}/{}", u.object_name(), u.sub_path()),
        Err(_) => crate::client::redact::strip_query(url).to_string(),
    }
}
