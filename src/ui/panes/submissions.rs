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
use crate::ui::fmt::{age, bar, bytes, short_path};
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

fn progress_cell(state: &State, row: &SubmissionRow, theme: &Theme) -> Cell<'static> {
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
        return Cell::from(format!("{} {:>3.0}%{rate}", bar(frac, 8), frac * 100.0));
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
    Cell::from(Span::styled(label, state_style(shown, theme)))
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
    let detail_h = if inner.height >= 11 { 4 } else { 0 };
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
    let mut rows: Vec<Row> = visible
        .iter()
        .map(|r| {
            let mut cells = vec![
                Cell::from(sanitize(&short_path(&r.file))),
                Cell::from(sanitize(&format!("{}.{}", r.database, r.table))),
                Cell::from(if r.total > 0 {
                    bytes(r.total)
                } else {
                    String::new()
                }),
                Cell::from(sanitize(&r.format)),
            ];
            if wide {
                cells.push(Cell::from(mode_label(r.mode)));
            }
            cells.push(progress_cell(state, r, theme));
            cells.push(Cell::from(age(state.now, r.started_at)));
            Row::new(cells)
        })
        .collect();
    rows.extend(bulk);
    let mut widths = vec![
        Constraint::Fill(2),
        Constraint::Fill(2),
        Constraint::Length(9),
        Constraint::Length(6),
    ];
    let mut header = vec!["File", "Database.Table", "Size", "Format"];
    if wide {
        widths.push(Constraint::Length(7));
        header.push("Mode");
    }
    widths.extend([Constraint::Length(STATE_WIDTH), Constraint::Length(4)]);
    header.extend(["State", "Age"]);
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.title))
        .row_highlight_style(theme.selection)
        .highlight_symbol("▶ ");
    let selected = state
        .submissions_list
        .selected
        .min((visible.len() + bulk_len).saturating_sub(1));
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
