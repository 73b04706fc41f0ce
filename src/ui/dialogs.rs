//! Modal dialogs: help, confirm, submit and filter.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use tui_input::Input;

use crate::app::export::{CopyMenu, ExportForm};
use crate::app::form::{Field, SubmitForm};
use crate::app::keymap::Context;
use crate::app::state::{Confirm, Pane, State};
use crate::sanitize::sanitize;
use crate::ui::centered;
use crate::ui::text_field;
use crate::ui::theme::Theme;

fn frame_block<'a>(title: &'a str, theme: &Theme) -> Block<'a> {
    Block::bordered()
        .border_style(theme.focus)
        // Titles quote config names (contexts) and file names: untrusted text.
        .title(Span::styled(format!(" {} ", sanitize(title)), theme.title))
}

pub fn help(frame: &mut Frame, area: Rect, state: &State, scroll: usize, theme: &Theme) {
    let mut lines = Vec::new();
    let order = [
        Context::Global,
        Context::List,
        Context::Notifications,
        Context::Detail,
        Context::SubmitDialog,
        Context::Confirm,
        Context::FilterInput,
        Context::Command,
        Context::Contexts,
        Context::ExportDialog,
        Context::CopyChooser,
        Context::Cluster,
        Context::Help,
    ];
    for ctx in order {
        lines.push(Line::styled(ctx.label().to_string(), theme.title));
        for b in state
            .settings
            .keymap
            .active(&[ctx], state.settings.read_only)
        {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<16}", b.keys_label()), theme.focus),
                Span::raw(b.description),
            ]));
        }
    }
    if state.settings.read_only {
        lines.push(Line::styled(
            "read-only: discard and CONSUME keys are disabled",
            theme.warn,
        ));
    }
    let rect = centered(area, 90, area.height);
    let inner = rect.height.saturating_sub(2) as usize;
    let scroll = scroll.min(lines.len().saturating_sub(inner));
    let title = if lines.len() > inner {
        format!(
            "Keys (Esc closes; j/k scroll: {}-{} of {})",
            scroll + 1,
            (scroll + inner).min(lines.len()),
            lines.len()
        )
    } else {
        "Keys (Esc closes)".to_string()
    };
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0))
            .block(frame_block(&title, theme)),
        rect,
    );
}

pub fn confirm(frame: &mut Frame, area: Rect, c: &Confirm, theme: &Theme) {
    let mut lines: Vec<Line> = c.lines.iter().map(|l| Line::raw(sanitize(l))).collect();
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled(" y ", theme.badge),
        Span::raw(" confirm   "),
        Span::styled(" n ", theme.badge),
        Span::raw(" cancel"),
    ]));
    let rect = centered(area, 76, lines.len() as u16 + 4);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(frame_block(&c.title, theme).border_style(theme.warn)),
        rect,
    );
}

/// `text` cut into rows of at most `width` columns (by display width; already sanitised).
fn wrapped(text: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthChar as _;
    let mut rows = vec![String::new()];
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width && used > 0 {
            rows.push(String::new());
            used = 0;
        }
        if let Some(row) = rows.last_mut() {
            row.push(c);
        }
        used += w;
    }
    rows
}

fn input_line<'a>(label: &str, value: String, focused: bool, theme: &Theme) -> Line<'a> {
    let marker = if focused { "▶ " } else { "  " };
    Line::from(vec![
        Span::styled(
            format!("{marker}{label:<14}"),
            if focused { theme.focus } else { theme.muted },
        ),
        Span::raw(value),
    ])
}

pub fn submit(frame: &mut Frame, area: Rect, form: &SubmitForm, theme: &Theme) {
    // The pre-flight check's lines wrap (they quote Details and the schema): room for them.
    let check_rows = match &form.check {
        Some(Ok(found)) => found.len() as u16 * 2,
        Some(Err(_)) => 2,
        None => 0,
    };
    let rect = centered(area, 80, 18 + check_rows);
    frame.render_widget(Clear, rect);
    let blk = frame_block("Submit a file, folder or glob", theme);
    let inner = blk.inner(rect);
    frame.render_widget(blk, rect);
    let mut lines = Vec::new();
    let mut cursor = None;
    for (i, field) in Field::ALL.into_iter().enumerate() {
        let focused = form.field == field;
        let value = match field {
            Field::Path => form.path.value().to_string(),
            Field::Database => form.database.value().to_string(),
            Field::Table => form.table.value().to_string(),
            Field::Mapping => form.mapping.value().to_string(),
            Field::Format => match (form.format, form.detected_format()) {
                (Some(f), _) => format!("◀ {} ▶", f.wire_name()),
                (None, Some(f)) => format!("◀ {} ▶ (from extension)", f.wire_name()),
                (None, None) => "◀ ? ▶ (choose with Ctrl-N)".into(),
            },
            Field::Mode => format!("◀ {} ▶", form.mode),
            Field::ReportLevel => format!("◀ {} ▶", form.report_level),
            Field::ReportMethod => format!("◀ {} ▶", form.report_method),
            Field::Flush => format!("◀ {} ▶", if form.flush { "yes" } else { "no" }),
            // What it costs, where it is chosen (client::submit::DEDUPE_COST says more).
            Field::Dedupe if form.dedupe => {
                "◀ yes ▶ each file seals alone: SingleBlob_IngestByTag".into()
            }
            Field::Dedupe => "◀ no ▶".into(),
            // client::submit::TAG_SOURCE_COST says more.
            Field::TagSource if form.tag_source => {
                "◀ yes ▶ kingest:<source id> tag: batched alone, rows counted in t".into()
            }
            Field::TagSource => "◀ no ▶".into(),
        };
        if focused && field.is_text() {
            let input = match field {
                Field::Path => &form.path,
                Field::Database => &form.database,
                Field::Table => &form.table,
                _ => &form.mapping,
            };
            let width = inner.width.saturating_sub(16) as usize;
            let shown = text_field::window(input.value(), input.cursor(), width);
            let x = inner.x + 16 + shown.cursor;
            cursor = Some((x.min(inner.right().saturating_sub(1)), inner.y + i as u16));
            lines.push(input_line(field.label(), shown.text, true, theme));
        } else {
            lines.push(input_line(field.label(), sanitize(&value), focused, theme));
        }
    }
    lines.push(Line::raw(""));
    if let Some(e) = &form.error {
        lines.push(Line::styled(sanitize(e), theme.error));
    }
    let width = usize::from(inner.width.max(1));
    match &form.check {
        Some(Ok(found)) => {
            for l in found {
                let style = if l.starts_with("predicted: Succeeded") {
                    theme.title
                } else if l.starts_with("predicted:") {
                    theme.error
                } else {
                    ratatui::style::Style::default()
                };
                lines.extend(
                    wrapped(&sanitize(l), width)
                        .into_iter()
                        .map(|w| Line::styled(w, style)),
                );
            }
        }
        Some(Err(e)) => lines.extend(
            wrapped(&format!("check: {}", sanitize(e)), width)
                .into_iter()
                .map(|w| Line::styled(w, theme.error)),
        ),
        None => {}
    }
    if let Some(m) = form.current_matches() {
        let names: Vec<String> = m
            .files
            .iter()
            .take(4)
            .map(|f| sanitize(&crate::ui::fmt::short_path(&f.path.to_string_lossy())))
            .collect();
        let more = if m.files.len() > names.len() {
            " …"
        } else {
            ""
        };
        lines.push(Line::styled(
            format!(
                "{} file(s), {}: {}{more}",
                m.files.len(),
                crate::ui::fmt::bytes(m.total_bytes()),
                names.join("  ")
            ),
            theme.focus,
        ));
        lines.push(Line::styled(
            "Enter again submits each one (a row per file)",
            theme.muted,
        ));
    }
    if !form.completions.is_empty() {
        let names: Vec<String> = form
            .completions
            .iter()
            .take(6)
            .map(|c| sanitize(&crate::ui::fmt::short_path(c)))
            .collect();
        lines.push(Line::styled(names.join("  "), theme.muted));
    }
    lines.push(Line::styled(
        "Enter submit · Esc cancel · Tab complete/next · ↑↓ fields · Ctrl-N/P change choice",
        theme.muted,
    ));
    frame.render_widget(Paragraph::new(lines), inner);
    if let Some(pos) = cursor {
        frame.set_cursor_position(pos);
    }
}

pub fn filter(frame: &mut Frame, area: Rect, pane: Pane, input: &Input, theme: &Theme) {
    let title = format!("Filter {} (all terms match, !term excludes)", pane.title());
    prompt(
        frame,
        area,
        (&title, "/ "),
        input,
        "Enter apply · Esc cancel · empty clears",
        theme,
    );
}

/// A one-line text prompt: `title` and the `prefix` before the text, a hint line below.
pub fn prompt(
    frame: &mut Frame,
    area: Rect,
    (title, prefix): (&str, &'static str),
    input: &Input,
    hint: &str,
    theme: &Theme,
) {
    let rect = centered(area, 60, 4);
    frame.render_widget(Clear, rect);
    let blk = frame_block(title, theme);
    let inner = blk.inner(rect);
    frame.render_widget(blk, rect);
    let width = inner.width.saturating_sub(2) as usize;
    let shown = text_field::window(input.value(), input.cursor(), width);
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(vec![
                Span::styled(prefix, theme.focus),
                Span::raw(sanitize(&shown.text)),
            ]),
            Line::styled(hint.to_string(), theme.muted),
        ]),
        inner,
    );
    let x = inner.x + 2 + shown.cursor;
    frame.set_cursor_position((x.min(inner.right().saturating_sub(1)), inner.y));
}

pub fn export(frame: &mut Frame, area: Rect, form: &ExportForm, theme: &Theme) {
    let rect = centered(area, 72, 8);
    frame.render_widget(Clear, rect);
    let title = format!("Export {} ({} rows listed)", form.pane.title(), form.rows);
    let blk = frame_block(&title, theme);
    let inner = blk.inner(rect);
    frame.render_widget(blk, rect);
    let width = inner.width.saturating_sub(16) as usize;
    let shown = text_field::window(form.path.value(), form.path.cursor(), width);
    let lines = vec![
        input_line(
            "Format",
            format!("◀ {} ▶", form.format.label()),
            false,
            theme,
        ),
        input_line("File", sanitize(&shown.text), true, theme),
        Line::raw(""),
        Line::styled(
            "Secrets (SAS signatures, tokens) are redacted in the file.",
            theme.muted,
        ),
        Line::styled(
            "Enter export · Ctrl-N CSV/JSON lines · Esc cancel",
            theme.muted,
        ),
    ];
    frame.render_widget(Paragraph::new(lines), inner);
    let x = inner.x + 16 + shown.cursor;
    frame.set_cursor_position((x.min(inner.right().saturating_sub(1)), inner.y + 1));
}

/// Width of the copy chooser's label column.
const LABEL: usize = 26;

pub fn copy(frame: &mut Frame, area: Rect, menu: &CopyMenu, theme: &Theme) {
    let rect = centered(area, 100, menu.items.len() as u16 + 5);
    frame.render_widget(Clear, rect);
    let blk = frame_block("Copy to the clipboard (OSC 52)", theme);
    let inner = blk.inner(rect);
    frame.render_widget(blk, rect);
    let width = inner.width.saturating_sub(LABEL as u16 + 3) as usize;
    let mut lines: Vec<Line> = menu
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let focused = i == menu.selected;
            let text = sanitize(&item.text.replace(['\n', '\r'], " "));
            let mut preview: String = text.chars().take(width.saturating_sub(1)).collect();
            if text.chars().count() >= width {
                preview.push('…');
            }
            Line::from(vec![
                Span::styled(
                    format!(
                        "{}{:<LABEL$}",
                        if focused { "▶ " } else { "  " },
                        item.label
                    ),
                    if focused { theme.focus } else { theme.muted },
                ),
                Span::raw(preview),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Enter copy · ↑↓ choose · Esc close (the terminal must allow OSC 52)",
        theme.muted,
    ));
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    #[test]
    fn check_lines_wrap_by_display_width() {
        assert_eq!(super::wrapped("abcdef", 4), ["abcd", "ef"]);
        assert_eq!(super::wrapped("表表表", 4), ["表表", "表"]);
        assert_eq!(super::wrapped("", 4), [""]);
    }
}
