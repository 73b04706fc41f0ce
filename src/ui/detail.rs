//! The detail view: the whole decoded notification (or submission), what the error code means,
//! and a raw toggle.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::app::state::{DetailTarget, NotificationRow, State, SubmissionRow};
use crate::client::mode::IngestMode;
use crate::sanitize::{sanitize, sanitize_multiline};
use crate::ui::error_info;
use crate::ui::fmt::bytes;
use crate::ui::theme::Theme;

fn kv<'a>(k: &str, v: String, theme: &Theme) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{k:<28}"), theme.muted),
        Span::raw(sanitize(&v)),
    ])
}

/// The "Forensics" section of a failure: the bad record of its source with its neighbours, the
/// schema and a fix (computed by an effect; file text sanitised here).
fn forensics_lines<'a>(state: &State, message_id: &str, theme: &Theme) -> Vec<Line<'a>> {
    let Some((id, found)) = &state.forensics else {
        return vec![];
    };
    if id != message_id {
        return vec![];
    }
    let mut lines = vec![Line::raw(""), Line::styled("Forensics", theme.title)];
    match found {
        None => lines.push(Line::styled("  reading the source…", theme.muted)),
        Some(Err(e)) => lines.push(Line::styled(format!("  {}", sanitize(e)), theme.muted)),
        Some(Ok(found)) => lines.extend(found.iter().map(|l| {
            let style = if l.starts_with("> ") {
                theme.error
            } else if l.starts_with("fix:") {
                theme.title
            } else {
                ratatui::style::Style::default()
            };
            Line::styled(format!("  {}", sanitize(l)), style)
        })),
    }
    lines
}

fn notification_lines<'a>(row: &NotificationRow, raw: bool, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = vec![
        kv("MessageId", row.message_id.clone(), theme),
        kv("Queue", row.queue.clone(), theme),
        kv("DequeueCount", row.dequeue_count.to_string(), theme),
        kv(
            "InsertionTime",
            row.insertion_time
                .map(crate::client::wire::format_rfc3339)
                .unwrap_or_default(),
            theme,
        ),
        Line::raw(""),
    ];
    let raw_text = row.decoded.raw_text();
    let pretty = serde_json::from_str::<serde_json::Value>(&raw_text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| raw_text.to_string());
    match (&row.decoded.notification, raw) {
        (Some(n), false) => {
            let v = serde_json::to_value(n).unwrap_or_default();
            if let Some(obj) = v.as_object() {
                for (k, val) in obj {
                    let text = match val {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    if k == "Details" {
                        lines.push(Line::styled("Details", theme.muted));
                        for l in sanitize_multiline(&text).lines() {
                            lines.push(Line::raw(format!("  {l}")));
                        }
                    } else {
                        lines.push(kv(k, text, theme));
                    }
                }
            }
            if let Some(code) = &n.error_code {
                lines.push(Line::raw(""));
                match error_info::lookup(code) {
                    Some(info) => {
                        let kind = if info.permanent {
                            Span::styled("permanent", theme.error)
                        } else {
                            Span::styled("transient", theme.warn)
                        };
                        lines.push(Line::from(vec![
                            Span::styled(format!("{}: ", info.name), theme.title),
                            Span::raw(info.meaning),
                            Span::raw(" — "),
                            kind,
                        ]));
                        lines.push(Line::from(vec![
                            Span::styled("What to do: ", theme.title),
                            Span::raw(info.hint),
                        ]));
                    }
                    None => lines.push(Line::styled(
                        format!(
                            "{}: not in the catalogue; FailureStatus says {}",
                            sanitize(code),
                            n.failure_status.as_deref().unwrap_or("nothing")
                        ),
                        theme.muted,
                    )),
                }
            }
        }
        (None, false) => {
            lines.push(Line::styled(
                format!(
                    "undecodable: {}",
                    row.decoded.error.as_deref().unwrap_or("unknown reason")
                ),
                theme.error,
            ));
            lines.push(Line::raw(sanitize(&raw_text)));
        }
        (_, true) => {
            for l in sanitize_multiline(&pretty).lines() {
                lines.push(Line::raw(l.to_string()));
            }
        }
    }
    lines
}

/// A split source's chunks, one line each: index, state, size, message Id, blob.
fn chunk_lines<'a>(state: &State, s: &SubmissionRow, theme: &Theme) -> Vec<Line<'a>> {
    let chunks = state.chunks_of(s);
    let Some(c) = s.chunk.filter(|_| chunks.len() > 1) else {
        return Vec::new();
    };
    let mut lines = vec![
        Line::raw(""),
        kv(
            "Split source",
            format!(
                "{} in {} chunks; state {} is kingest's aggregate over them",
                c.source_id,
                chunks.len(),
                state.source_state(s).label()
            ),
            theme,
        ),
    ];
    for k in chunks {
        let index = k.chunk.map_or(0, |c| c.index);
        lines.push(kv(
            &format!("Chunk {index}"),
            format!(
                "{}  {}  id {}  {}",
                k.tracker()
                    .map(|t| t.describe())
                    .unwrap_or_else(|| k.state().label().into()),
                bytes(k.total),
                k.source_id.as_deref().unwrap_or("—"),
                k.blob.as_deref().unwrap_or("—")
            ),
            theme,
        ));
    }
    lines
}

fn submission_lines<'a>(s: &SubmissionRow, theme: &Theme) -> Vec<Line<'a>> {
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "—".into());
    let mut lines = vec![
        kv("File", s.file.clone(), theme),
        kv(
            "Database.Table",
            format!("{}.{}", s.database, s.table),
            theme,
        ),
        kv("Format", s.format.clone(), theme),
        kv("Size", bytes(s.total), theme),
        kv(
            "State",
            s.tracker()
                .map(|t| t.describe())
                .unwrap_or_else(|| s.state().label().into()),
            theme,
        ),
        kv("IngestionSourceId", opt(&s.source_id), theme),
        kv("Blob", opt(&s.blob), theme),
        kv("MessageId", opt(&s.message_id), theme),
        kv(
            "ReportLevel / Method",
            format!("{} / {}", s.report_level, s.report_method),
            theme,
        ),
        kv(
            "Started",
            crate::client::wire::format_rfc3339(s.started_at),
            theme,
        ),
    ];
    lines.extend(delivered_lines(s, theme));
    if let Some(r) = s.status_ref() {
        let until = r
            .expires_at()
            .map(|t| format!(", SAS until {}", t.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default();
        lines.push(kv(
            "Status entity",
            format!(
                "{} ({}, {}){until}",
                r.display_name(),
                r.partition_key,
                r.row_key
            ),
            theme,
        ));
    }
    if let Some(t) = s.tracker()
        && let Some(fs) = &t.error.failure_status
    {
        lines.push(kv("FailureStatus", fs.clone(), theme));
    }
    if let Some(t) = s.tracker().filter(|t| t.hidden_peeks > 0 && !t.is_final()) {
        lines.push(Line::styled(
            format!(
                "not seen in {} full peek window(s): older messages in the shared queue may hide it",
                t.hidden_peeks
            ),
            theme.warn,
        ));
    }
    let answered = s
        .delivered
        .as_ref()
        .is_some_and(|d| d.path != IngestMode::Queued);
    if !answered && !s.tracked_by_queue() && s.status_ref().is_none() {
        lines.push(Line::styled(
            "not tracked: no queue or table reporting requested",
            theme.warn,
        ));
    }
    if let Some(code) = s.error_code() {
        lines.push(kv("ErrorCode", code.to_string(), theme));
        if let Some(info) = error_info::lookup(code) {
            lines.push(kv("Meaning", info.meaning.into(), theme));
            lines.push(kv("What to do", info.hint.into(), theme));
        }
    }
    if let Some(e) = s.error_text() {
        lines.push(Line::styled("Error", theme.error));
        for l in sanitize_multiline(e).lines() {
            lines.push(Line::raw(format!("  {l}")));
        }
    }
    lines
}

/// The mode and what its path answered: the path finally used (managed: and why it went
/// queued), a streaming request's records, the rows of `.ingest into`.
fn delivered_lines<'a>(s: &SubmissionRow, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = vec![kv("Mode", s.mode.to_string(), theme)];
    let Some(d) = &s.delivered else {
        return lines;
    };
    if d.path != s.mode {
        lines.push(kv("Path", d.path.to_string(), theme));
    }
    if let Some(why) = &d.fallback {
        lines.push(kv("Queued because", why.clone(), theme));
    }
    if let Some(n) = d.consumed_records {
        lines.push(kv("ConsumedRecordsCount", n.to_string(), theme));
    }
    if let Some(op) = &d.operation_id {
        lines.push(kv("OperationId", op.clone(), theme));
    }
    if !d.direct_rows.is_empty() {
        lines.push(Line::styled(".ingest into rows", theme.title));
        for r in &d.direct_rows {
            lines.push(kv("  ExtentId", r.extent_id.clone(), theme));
            lines.push(kv("  ItemLoaded", r.item_loaded.clone(), theme));
            lines.push(kv(
                "  Duration / HasErrors",
                format!("{} / {}", r.duration, r.has_errors),
                theme,
            ));
            lines.push(kv("  OperationId", r.operation_id.clone(), theme));
        }
    }
    lines
}

/// How the detail view is shown: raw message, timeline tab, scroll offset.
#[derive(Debug, Clone, Copy, Default)]
pub struct View {
    pub raw: bool,
    pub timeline: bool,
    pub scroll: u16,
}

/// A submission's timeline tab (`client::timeline`), each line sanitised.
pub fn timeline_lines(row: &SubmissionRow, theme: &Theme) -> Vec<Line<'static>> {
    let Some(tracker) = row.tracker() else {
        return vec![Line::styled(
            "not posted yet: the timeline starts with the post",
            theme.muted,
        )];
    };
    let mut lines = vec![Line::styled(
        format!("source {}", sanitize(&tracker.source_id)),
        theme.title,
    )];
    let text = crate::client::timeline::lines(tracker, None);
    if text.is_empty() {
        lines.push(Line::styled("nothing recorded yet", theme.muted));
    }
    lines.extend(text.iter().map(|l| Line::raw(sanitize(l))));
    lines.push(Line::styled(
        "engine rows (.show ingestion failures, rows by tag): kingest status SOURCE_ID --timeline",
        theme.muted,
    ));
    lines
}

pub fn render(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    target: &DetailTarget,
    view: View,
    theme: &Theme,
) {
    let View {
        raw,
        timeline,
        scroll,
    } = view;
    let (title, lines) = match target {
        DetailTarget::Notification { kind, message_id } => {
            let row = state.stream(*kind).row(message_id);
            let title = format!(
                "{} notification{} (R raw, Esc back)",
                kind.as_str(),
                if raw { " — raw" } else { "" }
            );
            match row {
                Some(r) => {
                    let mut lines = notification_lines(r, raw, theme);
                    if !raw {
                        lines.extend(forensics_lines(state, message_id, theme));
                    }
                    (title, lines)
                }
                None => (title, vec![Line::styled("no longer listed", theme.muted)]),
            }
        }
        DetailTarget::Submission(id) => {
            let title = if timeline {
                "submission — timeline (t details, Esc back)"
            } else {
                "submission (t timeline, Esc back)"
            }
            .to_string();
            match state.submissions.iter().find(|s| s.id == *id) {
                Some(s) if timeline => (title, timeline_lines(s, theme)),
                Some(s) => {
                    let mut lines = submission_lines(s, theme);
                    lines.extend(chunk_lines(state, s, theme));
                    (title, lines)
                }
                None => (title, vec![Line::styled("no longer listed", theme.muted)]),
            }
        }
    };
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(
                Block::bordered()
                    .border_style(theme.focus)
                    .title(Span::styled(format!(" {title} "), theme.title)),
            ),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixtures::submission;
    use crate::app::state::{Delivered, SubState};
    use crate::client::tracking::TrackState;

    fn text(lines: &[Line]) -> String {
        lines
            .iter()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| s.content.as_ref())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_detail_shows_the_mode_path_and_direct_rows_sanitised() {
        let theme = Theme::new(false, crate::app::state::ThemeName::Dark);
        let mut s = submission(1, "a.csv", SubState::Track(TrackState::Succeeded));
        s.mode = IngestMode::Managed;
        s.delivered = Some(Delivered {
            path: IngestMode::Queued,
            fallback: Some("the data is over the service's streaming limit".into()),
            ..Delivered::default()
        });
        let t = text(&submission_lines(&s, &theme));
        assert!(
            t.contains("managed") && t.contains("Path") && t.contains("queued"),
            "{t}"
        );
        assert!(t.contains("streaming limit"), "{t}");

        s.mode = IngestMode::Direct;
        s.delivered = Some(Delivered {
            path: IngestMode::Direct,
            direct_rows: vec![crate::client::direct::DirectRow {
                extent_id: "ext-1".into(),
                item_loaded: "https://a/b\u{1b}[31m.csv".into(),
                duration: "00:00:01".into(),
                has_errors: false,
                operation_id: "op-1".into(),
            }],
            ..Delivered::default()
        });
        let t = text(&submission_lines(&s, &theme));
        assert!(
            t.contains("ext-1") && t.contains("op-1") && t.contains("00:00:01 / false"),
            "{t}"
        );
        assert!(!t.contains('\u{1b}'), "sanitised: {t:?}");
        assert!(!t.contains("not tracked"), "{t}");
    }
}
