//! The failures and successes streams: newest first, with count, rate, mode and freeze badges.

use ratatui::Frame;

use crate::client::ResourceKind;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use crate::app::state::{Mode, NotificationRow, Pane, State};
use std::collections::HashSet;

use crate::app::stream::{GroupRow, GroupStats, SPARK_MINUTES};
use crate::client::wire::NotificationKind;
use crate::sanitize::sanitize;
use crate::ui::columns::{Column, allocate};
use crate::ui::fmt::{fit, hms, short_path};
use crate::ui::panes::{block, filter_span};
use crate::ui::theme::Theme;

/// Azure peeks at most 32 of the *oldest* messages per queue: when the queues hold more, say
/// so, since newer notifications are then invisible to a peek.
fn beyond_peek(state: &State, kind: NotificationKind) -> Option<String> {
    let queue_kind = match kind {
        NotificationKind::Failure => ResourceKind::FailedIngestionsQueue,
        NotificationKind::Success => ResourceKind::SuccessfulIngestionsQueue,
    };
    let queues: Vec<u64> = state
        .resources
        .entries
        .iter()
        .filter(|e| e.kind == queue_kind)
        .filter_map(|e| match e.depth {
            Some(crate::app::state::DepthView::Count(n)) => Some(n),
            _ => None,
        })
        .collect();
    let depth: u64 = queues.iter().sum();
    let visible = (state.settings.poll.peek_count.min(32) * queues.len().max(1)) as u64;
    (depth > visible).then(|| format!(" peek sees the oldest {visible} of ~{depth} "))
}

fn cells(row: &NotificationRow, kind: NotificationKind, theme: &Theme) -> Vec<Span<'static>> {
    let when = row.when().map(hms).unwrap_or_else(|| "--:--:--".into());
    let Some(n) = &row.decoded.notification else {
        return vec![
            Span::raw(when),
            Span::styled("undecodable", theme.error),
            Span::raw(sanitize(row.decoded.error.as_deref().unwrap_or_default())),
        ];
    };
    // The database is in the detail view; the narrow column shows the table.
    let table = sanitize(n.table.as_deref().unwrap_or("?"));
    let source = sanitize(&short_path(
        n.ingestion_source_path.as_deref().unwrap_or_default(),
    ));
    match kind {
        NotificationKind::Failure => {
            let status = n.failure_status.as_deref().unwrap_or_default();
            let style = if status.eq_ignore_ascii_case("transient") {
                theme.warn
            } else {
                theme.error
            };
            vec![
                Span::raw(when),
                Span::raw(table),
                Span::styled(sanitize(n.error_code.as_deref().unwrap_or_default()), style),
                Span::raw(sanitize(status)),
                Span::raw(source),
            ]
        }
        NotificationKind::Success => vec![
            Span::raw(when),
            Span::raw(table),
            Span::raw(source),
            Span::raw(sanitize(
                n.ingestion_source_id.as_deref().unwrap_or_default(),
            )),
        ],
    }
}

/// Unicode bars for per-minute counts, scaled to the busiest minute (an empty minute blank).
pub fn sparkline(per_minute: &[u32]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = per_minute.iter().copied().max().unwrap_or(0).max(1) as usize;
    per_minute
        .iter()
        .map(|&n| match n as usize {
            0 => ' ',
            n => BARS[((n * BARS.len()).div_ceil(max)).clamp(1, BARS.len()) - 1],
        })
        .collect()
}

/// The cells of one group in the grouped view: first and last time, the count, the key
/// columns (ErrorCode, Table, FailureStatus for failures; Table for successes) and the
/// per-minute sparkline of the last hour.
fn group_cells(
    g: &GroupRow,
    stats: Option<&GroupStats>,
    kind: NotificationKind,
    theme: &Theme,
) -> Vec<Span<'static>> {
    let t =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map(hms).unwrap_or_else(|| "--:--:--".into());
    let first = t(stats.map(|s| s.first));
    let last = t(stats.map(|s| s.last).or_else(|| g.newest.when()));
    // Filled in once the column's width is known (`spark_cells`).
    let spark = String::new();
    let n = g.newest.decoded.notification.as_ref();
    let field = |f: fn(&crate::client::wire::Notification) -> Option<&String>| {
        sanitize(n.and_then(f).map(String::as_str).unwrap_or("(none)"))
    };
    let mut cells = vec![
        Span::raw(first),
        Span::raw(last),
        Span::raw(g.count.to_string()),
    ];
    match kind {
        NotificationKind::Failure if n.is_some() => {
            cells.push(Span::styled(field(|n| n.error_code.as_ref()), theme.error));
            cells.push(Span::raw(field(|n| n.table.as_ref())));
            cells.push(Span::raw(field(|n| n.failure_status.as_ref())));
        }
        NotificationKind::Failure => {
            cells.push(Span::styled(sanitize(g.key), theme.error));
            cells.push(Span::raw(""));
            cells.push(Span::raw(""));
        }
        NotificationKind::Success => cells.push(Span::raw(sanitize(g.key))),
    }
    cells.push(Span::styled(spark, theme.focus));
    cells
}

/// The sparkline's minutes per cell (dividing the hour) and its header: one cell per minute
/// where the column has room for the hour, else the fewest minutes per cell that fit.
fn spark_scale(width: u16) -> (usize, &'static str) {
    const SCALES: [(usize, &str); 12] = [
        (1, "per minute → now"),
        (2, "per 2 min → now"),
        (3, "per 3 min → now"),
        (4, "per 4 min → now"),
        (5, "per 5 min → now"),
        (6, "per 6 min → now"),
        (10, "per 10 min →"),
        (12, "per 12 min →"),
        (15, "per 15 min →"),
        (20, "20 min →"),
        (30, "30 min →"),
        (60, "hour"),
    ];
    SCALES
        .into_iter()
        .find(|(per, _)| SPARK_MINUTES / per <= usize::from(width))
        .unwrap_or(SCALES[SCALES.len() - 1])
}

/// `per_minute` summed into cells of `per` minutes (the newest cell ends now).
fn spark_cells(per_minute: &[u32], per: usize) -> Vec<u32> {
    per_minute
        .chunks(per.max(1))
        .map(|c| c.iter().sum())
        .collect()
}

/// The columns of a stream, listed plain or grouped: times, counts and statuses fixed, names
/// (error code, table, source) sharing the rest by their visible lengths.
fn columns(kind: NotificationKind, grouped: bool) -> Vec<Column> {
    let (fixed, flex) = (Column::fixed, |h| Column::flex(h, 6));
    match (kind, grouped) {
        (NotificationKind::Failure, false) => vec![
            fixed("FailedOn"),
            flex("Table"),
            flex("ErrorCode"),
            fixed("FailureStatus"),
            flex("Source"),
        ],
        (NotificationKind::Failure, true) => vec![
            fixed("First"),
            fixed("Last"),
            fixed("Count"),
            Column::flex("ErrorCode", 20),
            flex("Table"),
            fixed("FailureStatus"),
            Column::flex("per minute → now", 12),
        ],
        (NotificationKind::Success, false) => vec![
            fixed("SucceededOn"),
            flex("Table"),
            flex("Source"),
            flex("SourceId"),
        ],
        (NotificationKind::Success, true) => vec![
            fixed("First"),
            fixed("Last"),
            fixed("Count"),
            flex("Table"),
            Column::flex("per minute → now", 12),
        ],
    }
}

/// The selected row's whole names: database.table, error code (failures), source and source
/// id (successes).
fn detail_line(row: &NotificationRow, kind: NotificationKind) -> String {
    let Some(n) = &row.decoded.notification else {
        return sanitize(row.decoded.error.as_deref().unwrap_or("undecodable"));
    };
    let mut parts = vec![format!(
        "{}.{}",
        n.database.as_deref().unwrap_or("?"),
        n.table.as_deref().unwrap_or("?")
    )];
    if kind == NotificationKind::Failure {
        parts.push(n.error_code.clone().unwrap_or_default());
    }
    parts.push(short_path(
        n.ingestion_source_path.as_deref().unwrap_or_default(),
    ));
    if kind == NotificationKind::Success {
        parts.push(n.ingestion_source_id.clone().unwrap_or_default());
    }
    sanitize(&parts.join("  "))
}

fn title<'a>(state: &State, pane: Pane, theme: &Theme) -> Vec<Span<'a>> {
    let kind = pane.kind().unwrap_or(NotificationKind::Failure);
    let stream = state.stream(kind);
    let mut title = vec![
        Span::styled(format!(" {} ", pane.title()), theme.title),
        Span::styled(
            format!("{} · {}/min ", stream.len(), stream.per_minute()),
            theme.muted,
        ),
        Span::styled(
            match state.mode {
                Mode::Peek => " PEEK ",
                Mode::Consume => " CONSUME ",
            },
            theme.badge,
        ),
        Span::raw(" "),
    ];
    if stream.is_frozen() {
        title.push(Span::styled(
            format!(" FROZEN +{} ", stream.held_len()),
            theme.badge,
        ));
        title.push(Span::raw(" "));
    }
    if stream.is_grouped() {
        let by = match kind {
            NotificationKind::Failure => " BY ErrorCode × Table × FailureStatus ",
            NotificationKind::Success => " BY Table ",
        };
        title.push(Span::styled(by, theme.badge));
        title.push(Span::raw(" "));
    }
    if stream.dropped() > 0 {
        // The ring is full: say how many older rows left the list (nothing silently lost).
        title.push(Span::styled(
            format!(
                " {} older dropped (keeps {}) ",
                stream.dropped(),
                stream.capacity()
            ),
            theme.warn,
        ));
    }
    if let Some(f) = filter_span(&stream.list.filter, theme) {
        title.push(f);
    }
    if let Some(hint) = beyond_peek(state, kind) {
        title.push(Span::styled(hint, theme.warn));
    }
    title
}

pub fn render(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    theme: &Theme,
    focused: bool,
    pane: Pane,
) {
    let kind = pane.kind().unwrap_or(NotificationKind::Failure);
    let stream = state.stream(kind);
    let len = stream.visible_len();
    let blk = block(title(state, pane, theme), theme, focused);
    let inner = blk.inner(area);
    frame.render_widget(blk, area);

    if let Some(e) = &stream.error
        && len == 0
    {
        frame.render_widget(
            Paragraph::new(Line::styled(
                format!("peek failed: {} ({})", sanitize(&e.to_string()), e.hint()),
                theme.error,
            )),
            inner,
        );
        return;
    }
    if len == 0 {
        let msg = if stream.is_empty() {
            format!("No {} notifications seen yet.", kind.as_str())
        } else {
            "Nothing matches the filter.".to_string()
        };
        frame.render_widget(Paragraph::new(Line::styled(msg, theme.muted)), inner);
        return;
    }
    let [list, detail] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
    // Only the rows that can be visible are looked up, formatted and measured.
    let height = list.height.saturating_sub(1).max(1) as usize;
    let selected = stream.list.selected.min(len - 1);
    let start = (selected + 1).saturating_sub(height);
    let mut sparks: Vec<Vec<u32>> = Vec::new();
    let mut spans: Vec<Vec<Span>> = if stream.is_grouped() {
        let groups: Vec<GroupRow> = stream.group_window(start, height).collect();
        let keys: HashSet<&str> = groups.iter().map(|g| g.key).collect();
        let stats = stream.group_stats(&keys, state.now);
        sparks = groups
            .iter()
            .map(|g| {
                stats
                    .get(g.key)
                    .map(|s| s.per_minute.clone())
                    .unwrap_or_default()
            })
            .collect();
        groups
            .iter()
            .map(|g| group_cells(g, stats.get(g.key), kind, theme))
            .collect()
    } else {
        stream
            .window(start, height)
            .map(|r| {
                let mut c = cells(r, kind, theme);
                // History (no longer in the peek) and acknowledged rows are dimmed.
                if stream.is_history(r) || stream.is_acked(&r.message_id) {
                    for span in &mut c {
                        span.style = span.style.patch(theme.muted);
                    }
                }
                c
            })
            .collect()
    };
    let mut cols = columns(kind, stream.is_grouped());
    for row in &spans {
        for (c, span) in cols.iter_mut().zip(row) {
            c.measure(&span.content);
        }
    }
    if stream.is_grouped()
        && let Some(c) = cols.last_mut()
    {
        c.measure(&" ".repeat(SPARK_MINUTES));
    }
    let alloc = allocate(&cols, list.width.saturating_sub(2), 1);
    if stream.is_grouped()
        && let (Some(&w), Some(col)) = (alloc.last(), cols.last_mut())
    {
        // The whole hour in the room there is: minutes per cell as few as fit.
        let (per, header) = spark_scale(w);
        col.header = header;
        for (row, per_minute) in spans.iter_mut().zip(&sparks) {
            if let Some(last) = row.last_mut() {
                last.content = sparkline(&spark_cells(per_minute, per)).into();
            }
        }
    }
    let widths: Vec<Constraint> = alloc.into_iter().map(Constraint::Length).collect();
    let rows: Vec<Row> = spans
        .into_iter()
        .map(|r| Row::new(r.into_iter().map(Cell::from)))
        .collect();
    let table = Table::new(rows, widths)
        .header(Row::new(cols.iter().map(|c| c.header)).style(theme.title))
        .row_highlight_style(theme.selection)
        .highlight_symbol("▶ ");
    let mut ts = TableState::default().with_selected(Some(selected - start));
    frame.render_stateful_widget(table, list, &mut ts);
    if let Some(row) = stream.selected_row() {
        let mut text = detail_line(row, kind);
        if !stream.is_grouped() {
            if stream.is_acked(&row.message_id) {
                text = format!("[acknowledged] {text}");
            }
            if stream.is_history(row) {
                text = format!("[history: not in the last peek] {text}");
            }
        }
        frame.render_widget(
            Paragraph::new(Line::styled(fit(&text, detail.width as usize), theme.muted)),
            detail,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::ResourceEntry;

    #[test]
    fn title_warns_when_a_queue_holds_more_than_a_peek_sees() {
        let mut state = crate::app::fixtures::sample_state();
        state.resources.entries = vec![ResourceEntry {
            kind: ResourceKind::FailedIngestionsQueue,
            account: "a".into(),
            object: "failedingestions".into(),
            depth: Some(crate::app::state::DepthView::Count(10)),
            sas: None,
        }];
        assert_eq!(beyond_peek(&state, NotificationKind::Failure), None);
        state.resources.entries[0].depth = Some(crate::app::state::DepthView::Count(250));
        assert_eq!(
            beyond_peek(&state, NotificationKind::Failure).as_deref(),
            Some(" peek sees the oldest 32 of ~250 ")
        );
        assert_eq!(beyond_peek(&state, NotificationKind::Success), None);
    }
}
