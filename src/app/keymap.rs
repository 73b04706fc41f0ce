//! The one binding table: it drives dispatch, footer hints, the help overlay and the README's
//! key table, so these can never disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a binding applies. Modal contexts shadow everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    /// Any pane, no dialog open.
    Global,
    /// A list pane (submissions, failures, successes, resources).
    List,
    /// The failures or successes stream.
    Notifications,
    /// The detail view.
    Detail,
    /// The confirm dialog.
    Confirm,
    /// The submit dialog.
    SubmitDialog,
    /// The filter line.
    FilterInput,
    /// The help overlay.
    Help,
}

impl Context {
    pub fn label(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::List => "lists",
            Context::Notifications => "failures/successes",
            Context::Detail => "detail",
            Context::Confirm => "confirm",
            Context::SubmitDialog => "submit dialog",
            Context::FilterInput => "filter",
            Context::Help => "help",
        }
    }
}

/// A user intent. `update()` acts on these, never on raw keys (except text input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    FocusNext,
    FocusPrev,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    OpenDetail,
    Back,
    OpenSubmit,
    PeekNow,
    Discard,
    DiscardFiltered,
    OpenBulk,
    CancelBulk,
    Filter,
    Freeze,
    ToggleGroup,
    ToggleMode,
    Refresh,
    Help,
    Quit,
    ToggleRaw,
    ConfirmYes,
    ConfirmNo,
    DialogSubmit,
    DialogCancel,
    DialogNextField,
    DialogPrevField,
    DialogComplete,
    DialogCycleNext,
    DialogCyclePrev,
    FilterApply,
    FilterCancel,
}

/// One key chord.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
    }
}
const fn code(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}
const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}

impl Key {
    pub fn matches(&self, ev: &KeyEvent) -> bool {
        if self.code != ev.code {
            return false;
        }
        // Terminals differ on whether an upper-case letter or BackTab carries SHIFT.
        let mods = ev.modifiers - KeyModifiers::SHIFT;
        let want = self.mods - KeyModifiers::SHIFT;
        mods == want
    }

    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "Shift-Tab".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            other => format!("{other:?}"),
        };
        if self.mods.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{}", base.to_uppercase())
        } else {
            base
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub context: Context,
    pub keys: &'static [Key],
    pub action: Action,
    pub description: &'static str,
    /// One word for the footer.
    pub short: &'static str,
    /// Shown in the footer hints.
    pub footer: bool,
    /// Changes queues: removed from dispatch and hints in `--read-only`.
    pub dangerous: bool,
}

impl Binding {
    pub fn keys_label(&self) -> String {
        self.keys
            .iter()
            .map(Key::label)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

macro_rules! b {
    ($ctx:ident, [$($key:expr),+], $action:ident, $short:literal, $desc:literal, $footer:literal, $danger:literal) => {
        Binding {
            context: Context::$ctx,
            keys: &[$($key),+],
            action: Action::$action,
            description: $desc,
            short: $short,
            footer: $footer,
            dangerous: $danger,
        }
    };
}

#[rustfmt::skip]
pub static BINDINGS: &[Binding] = &[
    b!(Global, [code(KeyCode::Tab)], FocusNext, "next", "focus the next pane", false, false),
    b!(Global, [code(KeyCode::BackTab)], FocusPrev, "prev", "focus the previous pane", false, false),
    b!(Global, [k('s')], OpenSubmit, "submit", "submit a file for ingestion", true, false),
    b!(Global, [k('b')], OpenBulk, "bulk", "start a bulk ingestion the cluster runs (.ingest-from-storage-queued)", false, false),
    b!(Global, [k('p')], PeekNow, "peek", "peek the notification queues now", true, false),
    b!(Global, [k('r')], Refresh, "refresh", "refresh ingestion resources and queue depths", false, false),
    b!(Global, [k('?')], Help, "help", "show all keys", true, false),
    b!(Global, [k('q'), ctrl('c')], Quit, "quit", "quit", true, false),
    b!(List, [k('k'), code(KeyCode::Up)], Up, "up", "move up", false, false),
    b!(List, [k('j'), code(KeyCode::Down)], Down, "down", "move down", false, false),
    b!(List, [code(KeyCode::PageUp)], PageUp, "pgup", "page up", false, false),
    b!(List, [code(KeyCode::PageDown)], PageDown, "pgdn", "page down", false, false),
    b!(List, [k('g')], Top, "top", "go to the first row", false, false),
    b!(List, [k('G')], Bottom, "bottom", "go to the last row", false, false),
    b!(List, [code(KeyCode::Enter)], OpenDetail, "detail", "open the detail view", true, false),
    b!(List, [k('/')], Filter, "filter", "filter rows (substring; a leading ! inverts)", true, false),
    b!(List, [code(KeyCode::Esc)], Back, "clear", "clear the filter", false, false),
    b!(List, [k('X')], CancelBulk, "cancel-bulk", "cancel the selected bulk operation (confirmed)", false, true),
    b!(Notifications, [k('f')], Freeze, "freeze", "freeze/unfreeze the stream", true, false),
    b!(Notifications, [k('z')], ToggleGroup, "group", "group rows by ErrorCode (failures) or Table (d then discards a group)", false, false),
    b!(Notifications, [k('d')], Discard, "discard", "discard the selected message (archive, then delete)", true, true),
    b!(Notifications, [k('D')], DiscardFiltered, "discard-all", "discard every message matching the filter", true, true),
    b!(Notifications, [k('m')], ToggleMode, "mode", "switch PEEK/CONSUME (CONSUME discards this session's matched notifications)", false, true),
    b!(Detail, [k('k'), code(KeyCode::Up)], Up, "up", "scroll up", false, false),
    b!(Detail, [k('j'), code(KeyCode::Down)], Down, "down", "scroll down", false, false),
    b!(Detail, [k('R')], ToggleRaw, "raw", "toggle the raw message", true, false),
    b!(Detail, [code(KeyCode::Esc)], Back, "back", "close the detail view", true, false),
    b!(Confirm, [k('y'), code(KeyCode::Enter)], ConfirmYes, "confirm", "confirm", true, false),
    b!(Confirm, [k('n'), code(KeyCode::Esc)], ConfirmNo, "cancel", "cancel", true, false),
    b!(SubmitDialog, [code(KeyCode::Enter)], DialogSubmit, "submit", "submit", true, false),
    b!(SubmitDialog, [code(KeyCode::Esc)], DialogCancel, "cancel", "cancel", true, false),
    b!(SubmitDialog, [code(KeyCode::Tab)], DialogComplete, "complete", "complete the path / next field", true, false),
    b!(SubmitDialog, [code(KeyCode::Down)], DialogNextField, "next", "next field", false, false),
    b!(SubmitDialog, [code(KeyCode::BackTab), code(KeyCode::Up)], DialogPrevField, "prev", "previous field", false, false),
    b!(SubmitDialog, [ctrl('n')], DialogCycleNext, "choice", "next choice (format, report level/method, flush, dedupe)", true, false),
    b!(SubmitDialog, [ctrl('p')], DialogCyclePrev, "choice", "previous choice", false, false),
    b!(FilterInput, [code(KeyCode::Enter)], FilterApply, "apply", "apply the filter", true, false),
    b!(FilterInput, [code(KeyCode::Esc)], FilterCancel, "cancel", "cancel", true, false),
    b!(Help, [code(KeyCode::Esc), k('?'), k('q')], Back, "close", "close help", true, false),
];

/// The binding for `ev` in the first matching context of `contexts`, honouring read-only.
pub fn lookup(contexts: &[Context], ev: &KeyEvent, read_only: bool) -> Option<&'static Binding> {
    contexts.iter().find_map(|ctx| {
        BINDINGS.iter().find(|b| {
            b.context == *ctx
                && !(read_only && b.dangerous)
                && b.keys.iter().any(|key| key.matches(ev))
        })
    })
}

/// Bindings available in `contexts` (for hints and help), read-only ones removed.
pub fn active(contexts: &[Context], read_only: bool) -> Vec<&'static Binding> {
    BINDINGS
        .iter()
        .filter(|b| contexts.contains(&b.context) && !(read_only && b.dangerous))
        .collect()
}

/// The README key table (Markdown), generated from the bindings.
pub fn markdown_table() -> String {
    let mut out = String::from("| context | keys | action | read-only |\n|---|---|---|---|\n");
    for b in BINDINGS {
        let keys = b
            .keys
            .iter()
            .map(|key| format!("`{}`", key.label().replace('|', "\\|")))
            .collect::<Vec<_>>()
            .join(" ");
        let ro = if b.dangerous { "removed" } else { "yes" };
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            b.context.label(),
            keys,
            b.description,
            ro
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn shift_letters_match_with_or_without_shift_flag() {
        let b = lookup(
            &[Context::Notifications],
            &ev(KeyCode::Char('D'), KeyModifiers::SHIFT),
            false,
        );
        assert_eq!(b.map(|b| b.action), Some(Action::DiscardFiltered));
        let b = lookup(
            &[Context::Global],
            &ev(KeyCode::BackTab, KeyModifiers::SHIFT),
            false,
        );
        assert_eq!(b.map(|b| b.action), Some(Action::FocusPrev));
    }

    #[test]
    fn read_only_removes_dangerous_bindings() {
        let d = ev(KeyCode::Char('d'), KeyModifiers::NONE);
        assert!(lookup(&[Context::Notifications], &d, false).is_some());
        assert!(lookup(&[Context::Notifications], &d, true).is_none());
        assert!(
            active(&[Context::Notifications], true)
                .iter()
                .all(|b| !b.dangerous)
        );
    }

    #[test]
    fn ctrl_c_quits_but_plain_c_does_not() {
        let c = ev(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(
            lookup(&[Context::Global], &c, true).map(|b| b.action),
            Some(Action::Quit)
        );
        let plain = ev(KeyCode::Char('c'), KeyModifiers::NONE);
        assert!(lookup(&[Context::Global], &plain, true).is_none());
    }

    #[test]
    fn no_key_is_bound_twice_in_one_context() {
        for (i, a) in BINDINGS.iter().enumerate() {
            for b in &BINDINGS[i + 1..] {
                if a.context != b.context {
                    continue;
                }
                for ka in a.keys {
                    assert!(
                        !b.keys.contains(ka),
                        "{:?} bound twice in {:?}",
                        ka,
                        a.context
                    );
                }
            }
        }
    }
}
