//! Bulk operations on screen: the dialog that starts one and the rows (and detail lines) the
//! submissions pane shows for them. A container URL's SAS is never drawn: the field shows
//! its value redacted.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row};

use crate::app::bulk::{BulkField, BulkForm, BulkRow};
use crate::app::state::State;
use crate::client::bulk::BulkState;
use crate::client::redact::redact;
use crate::sanitize::sanitize;
use crate::ui::centered;
use crate::ui::fmt::{age, bar};
use crate::ui::text_field;
use crate::ui::theme::Theme;

const LABEL: u16 = 16;

pub fn dialog(frame: &mut Frame, area: Rect, form: &BulkForm, theme: &Theme) {
    let rect = centered(area, 80, 12);
    frame.render_widget(Clear, rect);
    let blk = Block::bordered()
        .border_style(theme.focus)
        .title(Span::styled(
            " Bulk ingestion run by the cluster ",
            theme.title,
        ));
    let inner = blk.inner(rect);
    frame.render_widget(blk, rect);
    let mut lines = Vec::new();
    let mut cursor = None;
    for (i, field) in BulkField::ALL.into_iter().enumerate() {
        let focused = form.field == field;
        let marker = if focused { "▶ " } else { "  " };
        let label = Span::styled(
            format!("{marker}{:<14}", field.label()),
            if focused { theme.focus } else { theme.muted },
        );
        let input = match field {
            BulkField::Container => Some(&form.container),
            BulkField::Prefix => Some(&form.prefix),
            BulkField::Pattern => Some(&form.pattern),
            BulkField::Database => Some(&form.database),
            BulkField::Table => Some(&form.table),
            BulkField::Format => None,
        };
        let value = match input {
            Some(input) => {
                // Redacted as a whole: a signature split over graphemes is still one secret.
                let shown = redact(input.value());
                let at_end = input.cursor() >= input.value().chars().count();
                let n = shown.chars().count();
                let cur = if at_end { n } else { input.cursor().min(n) };
                let width = inner.width.saturating_sub(LABEL) as usize;
                let w = text_field::window(&shown, cur, width);
                if focused {
                    let x = inner.x + LABEL + w.cursor;
                    cursor = Some((x.min(inner.right().saturating_sub(1)), inner.y + i as u16));
                }
                w.text
            }
            None => match form.format {
                Some(f) => format!("◀ {} ▶", f.wire_name()),
                None => "◀ from the pattern, else csv ▶".into(),
            },
        };
        lines.push(Line::from(vec![label, Span::raw(value)]));
    }
    lines.push(Line::raw(""));
    if let Some(e) = &form.error {
        lines.push(Line::styled(sanitize(e), theme.error));
    }
    lines.push(Line::styled(
        "Pattern: *.ext is listed by the cluster (Suffix), other globs by kingest",
        theme.muted,
    ));
    lines.push(Line::styled(
        "Enter start · Esc cancel · Tab/↑↓ fields · Ctrl-N/P format",
        theme.muted,
    ));
    frame.render_widget(Paragraph::new(lines), inner);
    if let Some(pos) = cursor {
        frame.set_cursor_position(pos);
    }
}

fn state_style(row: &BulkRow, theme: &Theme) -> ratatui::style::Style {
    match row.op.as_ref().map(|o| &o.state) {
        _ if row.error.is_some() => theme.error,
        Some(BulkState::Completed) if row.op.as_ref().is_some_and(|o| o.failed == 0) => theme.ok,
        Some(BulkState::Failed) => theme.error,
        Some(BulkState::Completed | BulkState::Canceled | BulkState::Other(_)) => theme.warn,
        _ => theme.base,
    }
}

/// The State cell: bar, percentage and ingested/discovered while running, the state after.
fn progress(row: &BulkRow, theme: &Theme) -> Cell<'static> {
    let Some(op) = &row.op else {
        return Cell::from(Span::styled(row.label(), state_style(row, theme)));
    };
    let text = format!(
        "{} {:>3.0}% {}/{}{}",
        bar(op.progress(), 6),
        op.progress() * 100.0,
        op.ingested,
        op.discovered,
        if op.failed > 0 {
            format!(" ✗{}", op.failed)
        } else {
            String::new()
        }
    );
    let text = if op.state.is_final() {
        format!("{} {}", op.state.label(), text)
    } else {
        text
    };
    Cell::from(Span::styled(sanitize(&text), state_style(row, theme)))
}

/// Rows for the submissions table, in its column order (source, target, size, format,
/// state, age).
/// `wide`: the pane has a Mode column (`ui::panes::submissions`), where these rows say "bulk".
pub fn rows(state: &State, theme: &Theme, wide: bool) -> Vec<Row<'static>> {
    crate::app::bulk::visible(state)
        .into_iter()
        .map(|r| {
            let mut cells = vec![
                Cell::from(sanitize(&format!("bulk {}", r.source))),
                Cell::from(sanitize(&format!("{}.{}", r.database, r.table))),
                Cell::from(
                    r.op.as_ref()
                        .map(|o| format!("{} blobs", o.discovered))
                        .unwrap_or_default(),
                ),
                Cell::from(sanitize(&r.format)),
            ];
            if wide {
                cells.push(Cell::from("bulk"));
            }
            cells.push(progress(r, theme));
            cells.push(Cell::from(age(state.now, r.started_at)));
            Row::new(cells)
        })
        .collect()
}

/// The detail lines of the selected bulk row (operation id, every counter, failures).
pub fn detail(row: &BulkRow, theme: &Theme) -> Vec<Line<'static>> {
    let kv = |k: &'static str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<10}"), theme.muted),
            Span::raw(sanitize(&v)),
        ])
    };
    let mut lines = vec![kv(
        "Operation",
        format!(
            "{}  {}",
            row.operation_id.as_deref().unwrap_or("—"),
            row.label()
        ),
    )];
    if let Some(op) = &row.op {
        lines.push(kv(
            "Blobs",
            format!(
                "discovered {}  pending {}  ingested {}  failed {}  canceled {}",
                op.discovered, op.pending, op.ingested, op.failed, op.canceled
            ),
        ));
        if !op.sample_failed_reasons.is_empty() {
            lines.push(Line::styled(
                format!("Failures  {}", sanitize(&op.sample_failed_reasons)),
                theme.error,
            ));
        }
    }
    if let Some(e) = &row.error {
        lines.push(Line::styled(
            format!("Error     {}", sanitize(&e.to_string())),
            theme.error,
        ));
    }
    lines
}
