//! The one binding table: it drives dispatch, footer hints, the help overlay and the README's
//! key table, so these can never disagree. The defaults live in [`DEFAULTS`]; a [`Keymap`] is
//! them with the config file's `[keys]` overrides applied (action name → key specs), checked
//! for unknown names, unreadable keys and collisions before the terminal is touched.

use std::borrow::Cow;
use std::collections::BTreeMap;

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
    /// The `:` command prompt.
    Command,
    /// The context switcher's list (`:ctx`).
    Contexts,
    /// The status-table view (`T`: every client's sources).
    Cluster,
    /// The export dialog (`e`).
    ExportDialog,
    /// The copy chooser (`y`).
    CopyChooser,
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
            Context::Command => "command prompt",
            Context::Contexts => "context switcher",
            Context::Cluster => "status-table view",
            Context::ExportDialog => "export dialog",
            Context::CopyChooser => "copy chooser",
        }
    }

    /// Unbound keys type text here, so a plain printable key cannot be bound.
    fn takes_text(self) -> bool {
        matches!(
            self,
            Context::SubmitDialog | Context::FilterInput | Context::Command | Context::ExportDialog
        )
    }
}

/// The context stacks that are active together, most specific first (`update::contexts`
/// picks one): a key may be bound only once within a stack.
pub mod stack {
    use super::Context::{self, *};
    pub const HELP: &[Context] = &[Help];
    pub const CONFIRM: &[Context] = &[Confirm];
    pub const SUBMIT: &[Context] = &[SubmitDialog];
    pub const FILTER: &[Context] = &[FilterInput];
    pub const COMMAND: &[Context] = &[Command];
    pub const CONTEXTS: &[Context] = &[Contexts];
    pub const CLUSTER: &[Context] = &[Cluster];
    pub const EXPORT: &[Context] = &[ExportDialog];
    pub const COPY: &[Context] = &[CopyChooser];
    pub const DETAIL: &[Context] = &[Detail, Global];
    pub const NOTIFICATIONS: &[Context] = &[Notifications, List, Global];
    pub const LIST: &[Context] = &[List, Global];
    pub const ALL: &[&[Context]] = &[
        HELP,
        CONFIRM,
        SUBMIT,
        FILTER,
        COMMAND,
        CONTEXTS,
        CLUSTER,
        EXPORT,
        COPY,
        DETAIL,
        NOTIFICATIONS,
        LIST,
    ];
}

macro_rules! actions {
    ($($variant:ident = $name:literal),+ $(,)?) => {
        /// A user intent. `update()` acts on these, never on raw keys (except text input).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action { $($variant),+ }

        impl Action {
            pub const ALL: &[Action] = &[$(Action::$variant),+];

            /// The name the config file's `[keys]` table uses.
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name),+ }
            }
        }
    };
}

actions! {
    FocusNext = "focus-next",
    FocusPrev = "focus-prev",
    Up = "up",
    Down = "down",
    PageUp = "page-up",
    PageDown = "page-down",
    Top = "top",
    Bottom = "bottom",
    OpenDetail = "open-detail",
    Back = "back",
    OpenSubmit = "submit",
    PeekNow = "peek",
    Discard = "discard",
    DiscardFiltered = "discard-filtered",
    OpenBulk = "bulk",
    CancelBulk = "cancel-bulk",
    Filter = "filter",
    Freeze = "freeze",
    ToggleGroup = "group",
    ToggleMode = "mode",
    Refresh = "refresh",
    Help = "help",
    Quit = "quit",
    Command = "command",
    ToggleRaw = "raw",
    ToggleTimeline = "timeline",
    ConfirmYes = "confirm-yes",
    ConfirmNo = "confirm-no",
    DialogSubmit = "dialog-submit",
    DialogCancel = "dialog-cancel",
    DialogNextField = "dialog-next-field",
    DialogPrevField = "dialog-prev-field",
    DialogComplete = "dialog-complete",
    DialogCycleNext = "dialog-next-choice",
    DialogCyclePrev = "dialog-prev-choice",
    DialogCheck = "dialog-check",
    FilterApply = "filter-apply",
    FilterCancel = "filter-cancel",
    CommandRun = "command-run",
    CommandCancel = "command-cancel",
    SwitchContext = "switch-context",
    Suspend = "suspend",
    Resubmit = "resubmit",
    ClusterStatus = "cluster-status",
    Export = "export",
    Copy = "copy",
    CopyCommand = "copy-command",
    Acknowledge = "acknowledge",
    ShowAcked = "show-acknowledged",
    Scan = "scan",
}

impl std::str::FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .iter()
            .copied()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown action `{s}` in [keys]; the actions are: {}",
                    Action::ALL
                        .iter()
                        .map(|a| a.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }
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

/// Named keys a spec may use (lower-case), besides single characters and `f1`…`f12`.
const NAMED: &[(&str, KeyCode)] = &[
    ("enter", KeyCode::Enter),
    ("return", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("escape", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("space", KeyCode::Char(' ')),
    ("backspace", KeyCode::Backspace),
    ("delete", KeyCode::Delete),
    ("del", KeyCode::Delete),
    ("insert", KeyCode::Insert),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("pgup", KeyCode::PageUp),
    ("pageup", KeyCode::PageUp),
    ("pgdn", KeyCode::PageDown),
    ("pagedown", KeyCode::PageDown),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
];

impl Key {
    /// Reads a key spec: `x`, `X`, `ctrl-x`, `alt-x`, `shift-x` (= `X`), `F5`, `shift-tab`,
    /// `enter`, `esc`, `pgdn`, … (names and modifiers in any case; a single character keeps
    /// its case).
    pub fn parse(spec: &str) -> Result<Key, String> {
        let bad = |why: &str| format!("cannot read key `{spec}`: {why}");
        let mut mods = KeyModifiers::NONE;
        let mut rest = spec.trim();
        while let Some((head, tail)) = rest.split_once('-') {
            if tail.is_empty() {
                break; // `-` itself, or `ctrl--`
            }
            match head.to_ascii_lowercase().as_str() {
                "ctrl" | "c" => mods |= KeyModifiers::CONTROL,
                "alt" | "a" | "m" | "meta" => mods |= KeyModifiers::ALT,
                "shift" | "s" => mods |= KeyModifiers::SHIFT,
                _ => return Err(bad("the modifiers are ctrl-, alt- and shift-")),
            }
            rest = tail;
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (None, _) => return Err(bad("no key")),
            (Some(c), None) if !c.is_control() => KeyCode::Char(c),
            (Some(_), None) => return Err(bad("a control character")),
            _ => {
                let lower = rest.to_ascii_lowercase();
                match NAMED.iter().find(|(n, _)| *n == lower) {
                    Some((_, code)) => *code,
                    None => match lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                        Some(n @ 1..=12) => KeyCode::F(n),
                        _ => {
                            return Err(bad(
                                "not a character, F1-F12 or one of enter, esc, tab, space, \
                                 backspace, delete, insert, home, end, pgup, pgdn, up, down, \
                                 left, right",
                            ));
                        }
                    },
                }
            }
        };
        // Shift is folded into the key itself, as terminals report it (`X`, BackTab).
        let code = match code {
            KeyCode::Char(c) if mods.contains(KeyModifiers::SHIFT) => {
                KeyCode::Char(c.to_ascii_uppercase())
            }
            KeyCode::Tab if mods.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            other => other,
        };
        let mods = mods - KeyModifiers::SHIFT;
        // Terminals send Ctrl with a letter as the lower-case letter.
        let code = match code {
            KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        Ok(Key { code, mods })
    }

    pub fn matches(&self, ev: &KeyEvent) -> bool {
        if self.code != ev.code {
            return false;
        }
        // Terminals differ on whether an upper-case letter or BackTab carries SHIFT.
        let mods = ev.modifiers - KeyModifiers::SHIFT;
        let want = self.mods - KeyModifiers::SHIFT;
        mods == want
    }

    /// The same chord as `other` (what `matches` would confuse).
    fn same(&self, other: &Key) -> bool {
        self.code == other.code
            && self.mods - KeyModifiers::SHIFT == other.mods - KeyModifiers::SHIFT
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
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        let base = if self.mods.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{}", base.to_uppercase())
        } else {
            base
        };
        if self.mods.contains(KeyModifiers::ALT) {
            format!("Alt-{base}")
        } else {
            base
        }
    }

    /// A plain printable key (what a text field would type).
    fn is_text(&self) -> bool {
        matches!(self.code, KeyCode::Char(_)) && (self.mods - KeyModifiers::SHIFT).is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub context: Context,
    pub keys: Cow<'static, [Key]>,
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
            keys: Cow::Borrowed(&[$($key),+]),
            action: Action::$action,
            description: $desc,
            short: $short,
            footer: $footer,
            dangerous: $danger,
        }
    };
}

/// The default bindings; `[keys]` in the config file replaces an action's keys.
#[rustfmt::skip]
pub static DEFAULTS: &[Binding] = &[
    b!(Global, [code(KeyCode::Tab)], FocusNext, "next", "focus the next pane", false, false),
    b!(Global, [code(KeyCode::BackTab)], FocusPrev, "prev", "focus the previous pane", false, false),
    b!(Global, [k('s')], OpenSubmit, "submit", "submit a file for ingestion", true, false),
    b!(Global, [k('b')], OpenBulk, "bulk", "start a bulk ingestion the cluster runs (.ingest-from-storage-queued)", false, false),
    b!(Global, [k('p')], PeekNow, "peek", "peek the notification queues now", true, false),
    b!(Global, [k('T')], ClusterStatus, "table", "scan the status table: every client's sources, counts per state (asked first)", false, false),
    b!(Global, [k('r')], Refresh, "refresh", "refresh ingestion resources and queue depths", false, false),
    b!(Global, [k(':')], Command, "ctx", "command prompt (`ctx` lists the contexts, `ctx NAME` switches)", true, false),
    b!(Global, [k('?')], Help, "help", "show all keys", true, false),
    b!(Global, [k('q'), ctrl('c')], Quit, "quit", "quit", true, false),
    b!(Global, [ctrl('z')], Suspend, "suspend", "suspend to the shell (`fg` resumes)", false, false),
    b!(List, [k('k'), code(KeyCode::Up)], Up, "up", "move up", false, false),
    b!(List, [k('j'), code(KeyCode::Down)], Down, "down", "move down", false, false),
    b!(List, [code(KeyCode::PageUp)], PageUp, "pgup", "page up", false, false),
    b!(List, [code(KeyCode::PageDown)], PageDown, "pgdn", "page down", false, false),
    b!(List, [k('g')], Top, "top", "go to the first row", false, false),
    b!(List, [k('G')], Bottom, "bottom", "go to the last row", false, false),
    b!(List, [code(KeyCode::Enter)], OpenDetail, "detail", "open the detail view", true, false),
    b!(List, [k('/')], Filter, "filter", "filter rows (every space-separated term must match; !term excludes; \"quote spaces\"; code:X table:X db:X status:X search one field)", true, false),
    b!(List, [code(KeyCode::Esc)], Back, "clear", "clear the filter", false, false),
    b!(List, [k('R')], Resubmit, "resubmit", "resubmit the selected (or failure's) source; asks unless it Failed", false, false),
    b!(List, [k('e')], Export, "export", "export the rows this pane lists (after the filter; the groups when grouped) to CSV or JSON lines, redacted", false, false),
    b!(List, [k('y')], Copy, "copy", "copy the selected row's source id, operation id, JSON or .show ingestion failures command (OSC 52, works over SSH)", false, false),
    b!(List, [k('Y')], CopyCommand, "copy-cmd", "copy the selected row's .show ingestion failures with (OperationId='…') command (OSC 52)", false, false),
    b!(List, [k('X')], CancelBulk, "cancel-bulk", "cancel the selected bulk operation (confirmed)", false, true),
    b!(Notifications, [k('f')], Freeze, "freeze", "freeze/unfreeze the stream", true, false),
    b!(Notifications, [k('z')], ToggleGroup, "group", "group rows by ErrorCode × Table × FailureStatus (failures) or Table, with counts, first/last seen and a 60-minute sparkline (d then discards a group)", false, false),
    b!(Notifications, [k('d')], Discard, "discard", "discard the selected message (archive, then delete)", true, true),
    b!(Notifications, [k('D')], DiscardFiltered, "discard-all", "discard every message matching the filter", true, true),
    b!(Notifications, [k('a')], Acknowledge, "ack", "acknowledge / un-acknowledge the selected notification (or group) in the local inbox; the shared queue keeps it", false, false),
    b!(Notifications, [k('A')], ShowAcked, "show-ack", "show/hide acknowledged notifications (shown dimmed)", false, false),
    b!(Notifications, [k('S')], Scan, "scan", "scan past the 32-message peek window into the inbox (confirmed: other clients briefly lose sight of the messages, their DequeueCount rises)", false, true),
    b!(Notifications, [k('m')], ToggleMode, "mode", "switch PEEK/CONSUME (CONSUME discards this session's matched notifications)", false, true),
    b!(Detail, [k('k'), code(KeyCode::Up)], Up, "up", "scroll up", false, false),
    b!(Detail, [k('j'), code(KeyCode::Down)], Down, "down", "scroll down", false, false),
    b!(Detail, [k('R')], ToggleRaw, "raw", "toggle the raw message", true, false),
    b!(Detail, [k('t')], ToggleTimeline, "timeline", "toggle a submission's details and its timeline (requests, post, states, notifications)", true, false),
    b!(Detail, [code(KeyCode::Esc)], Back, "back", "close the detail view", true, false),
    b!(Confirm, [k('y'), code(KeyCode::Enter)], ConfirmYes, "confirm", "confirm", true, false),
    b!(Confirm, [k('n'), code(KeyCode::Esc)], ConfirmNo, "cancel", "cancel", true, false),
    b!(SubmitDialog, [code(KeyCode::Enter)], DialogSubmit, "submit", "submit", true, false),
    b!(SubmitDialog, [code(KeyCode::Esc)], DialogCancel, "cancel", "cancel", true, false),
    b!(SubmitDialog, [code(KeyCode::Tab)], DialogComplete, "complete", "complete the path / next field", true, false),
    b!(SubmitDialog, [code(KeyCode::Down)], DialogNextField, "next", "next field", false, false),
    b!(SubmitDialog, [code(KeyCode::BackTab), code(KeyCode::Up)], DialogPrevField, "prev", "previous field", false, false),
    b!(SubmitDialog, [ctrl('n')], DialogCycleNext, "choice", "next choice (format, report level/method, flush, dedupe, tag source)", true, false),
    b!(SubmitDialog, [ctrl('p')], DialogCyclePrev, "choice", "previous choice", false, false),
    b!(SubmitDialog, [ctrl('k')], DialogCheck, "check", "pre-flight check: predict the service's answer, send nothing", true, false),
    b!(FilterInput, [code(KeyCode::Enter)], FilterApply, "apply", "apply the filter", true, false),
    b!(FilterInput, [code(KeyCode::Esc)], FilterCancel, "cancel", "cancel", true, false),
    b!(Command, [code(KeyCode::Enter)], CommandRun, "run", "run the command (`ctx`, `ctx NAME`)", true, false),
    b!(Command, [code(KeyCode::Esc)], CommandCancel, "cancel", "cancel", true, false),
    b!(Contexts, [k('k'), code(KeyCode::Up)], Up, "up", "move up", false, false),
    b!(Contexts, [k('j'), code(KeyCode::Down)], Down, "down", "move down", false, false),
    b!(Contexts, [code(KeyCode::Enter)], SwitchContext, "switch", "switch to the selected context (production ones ask first)", true, false),
    b!(Contexts, [code(KeyCode::Esc), k('q')], Back, "close", "close the context list", true, false),
    b!(Cluster, [k('k'), code(KeyCode::Up)], Up, "up", "scroll up", false, false),
    b!(Cluster, [k('j'), code(KeyCode::Down)], Down, "down", "scroll down", false, false),
    b!(Cluster, [code(KeyCode::PageUp)], PageUp, "pgup", "page up", false, false),
    b!(Cluster, [code(KeyCode::PageDown)], PageDown, "pgdn", "page down", false, false),
    b!(Cluster, [code(KeyCode::Esc), k('q')], Back, "close", "close the status-table view", true, false),
    b!(ExportDialog, [code(KeyCode::Enter)], DialogSubmit, "export", "write the file (atomically; an existing file is replaced)", true, false),
    b!(ExportDialog, [ctrl('n'), ctrl('p')], DialogCycleNext, "format", "switch CSV / JSON lines", true, false),
    b!(ExportDialog, [code(KeyCode::Esc)], DialogCancel, "cancel", "cancel", true, false),
    b!(CopyChooser, [k('k'), code(KeyCode::Up)], Up, "up", "move up", false, false),
    b!(CopyChooser, [k('j'), code(KeyCode::Down)], Down, "down", "move down", false, false),
    b!(CopyChooser, [code(KeyCode::Enter)], DialogSubmit, "copy", "copy the selected item", true, false),
    b!(CopyChooser, [code(KeyCode::Esc), k('q')], Back, "close", "close without copying", true, false),
    b!(Help, [k('k'), code(KeyCode::Up)], Up, "up", "scroll up", false, false),
    b!(Help, [k('j'), code(KeyCode::Down)], Down, "down", "scroll down", true, false),
    b!(Help, [code(KeyCode::PageUp)], PageUp, "pgup", "page up", false, false),
    b!(Help, [code(KeyCode::PageDown)], PageDown, "pgdn", "page down", false, false),
    b!(Help, [code(KeyCode::Esc), k('?'), k('q')], Back, "close", "close help", true, false),
];

/// The bindings in use: [`DEFAULTS`] with the config's overrides applied.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap {
            bindings: DEFAULTS.to_vec(),
        }
    }
}

impl Keymap {
    /// [`DEFAULTS`] with `overrides` (action name → key specs) applied: an action's keys are
    /// replaced in every context it is bound in. Refused, naming the action and key: an
    /// unknown action, an unreadable key, no key at all, a plain character where text is
    /// typed, or a key that another binding active at the same time already has.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> Result<Keymap, String> {
        let mut map = Keymap::default();
        for (name, specs) in overrides {
            let action: Action = name.parse()?;
            let mut keys: Vec<Key> = Vec::new();
            for spec in specs {
                let key = Key::parse(spec).map_err(|e| format!("[keys] {name}: {e}"))?;
                if !keys.iter().any(|k| k.same(&key)) {
                    keys.push(key);
                }
            }
            if keys.is_empty() {
                return Err(format!("[keys] {name}: give at least one key"));
            }
            for b in map.bindings.iter_mut().filter(|b| b.action == action) {
                if let Some(key) = keys.iter().find(|k| b.context.takes_text() && k.is_text()) {
                    return Err(format!(
                        "[keys] {name}: `{}` would be typed as text in the {}; use a \
                         ctrl- or named key there",
                        key.label(),
                        b.context.label()
                    ));
                }
                b.keys = Cow::Owned(keys.clone());
            }
        }
        map.check_collisions(overrides)?;
        Ok(map)
    }

    /// A key bound twice within one stack of active contexts; the message names an overridden
    /// action where one is involved.
    fn check_collisions(&self, overrides: &BTreeMap<String, Vec<String>>) -> Result<(), String> {
        for contexts in stack::ALL {
            let active: Vec<&Binding> = self
                .bindings
                .iter()
                .filter(|b| contexts.contains(&b.context))
                .collect();
            for (i, a) in active.iter().enumerate() {
                for b in &active[i + 1..] {
                    if let Some(key) = a.keys.iter().find(|ka| b.keys.iter().any(|kb| kb.same(ka)))
                    {
                        let (mine, other) = if overrides.contains_key(b.action.name()) {
                            (b, a)
                        } else {
                            (a, b)
                        };
                        return Err(format!(
                            "[keys] {}: `{}` is already bound to `{}` ({}) in the {}; bind \
                             that action to another key too, or pick another key",
                            mine.action.name(),
                            key.label(),
                            other.action.name(),
                            other.description,
                            mine.context.label()
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// The binding for `ev` in the first matching context of `contexts`, honouring read-only.
    pub fn lookup(&self, contexts: &[Context], ev: &KeyEvent, read_only: bool) -> Option<&Binding> {
        contexts.iter().find_map(|ctx| {
            self.bindings.iter().find(|b| {
                b.context == *ctx
                    && !(read_only && b.dangerous)
                    && b.keys.iter().any(|key| key.matches(ev))
            })
        })
    }

    /// Bindings available in `contexts` (for hints and help), read-only ones removed.
    pub fn active(&self, contexts: &[Context], read_only: bool) -> Vec<&Binding> {
        self.bindings
            .iter()
            .filter(|b| contexts.contains(&b.context) && !(read_only && b.dangerous))
            .collect()
    }

    /// The key table (Markdown) of these bindings.
    pub fn markdown_table(&self) -> String {
        let mut out = String::from("| context | keys | action | read-only |\n|---|---|---|---|\n");
        for b in &self.bindings {
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
                b.description.replace('|', "\\|"),
                ro
            ));
        }
        out
    }
}

/// The README key table (Markdown), generated from the default bindings.
pub fn markdown_table() -> String {
    Keymap::default().markdown_table()
}

/// The README list of action names for `[keys]`: each name, where it applies, its default keys.
pub fn action_names_markdown() -> String {
    let mut out = String::from("| `[keys]` name | contexts | default keys |\n|---|---|---|\n");
    for action in Action::ALL {
        let bound: Vec<&Binding> = DEFAULTS.iter().filter(|b| b.action == *action).collect();
        let contexts = bound
            .iter()
            .map(|b| b.context.label())
            .collect::<Vec<_>>()
            .join(", ");
        let mut labels: Vec<String> = Vec::new();
        for key in bound.iter().flat_map(|b| b.keys.iter()) {
            let label = format!("`{}`", key.label().replace('|', "\\|"));
            if !labels.contains(&label) {
                labels.push(label);
            }
        }
        let keys = labels.join(" ");
        out.push_str(&format!("| `{}` | {contexts} | {keys} |\n", action.name()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    fn over(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(a, ks)| (a.to_string(), ks.iter().map(|k| k.to_string()).collect()))
            .collect()
    }

    fn action(map: &Keymap, ctx: &[Context], e: KeyEvent) -> Option<Action> {
        map.lookup(ctx, &e, false).map(|b| b.action)
    }

    #[test]
    fn shift_letters_match_with_or_without_shift_flag() {
        let map = Keymap::default();
        let b = map.lookup(
            stack::NOTIFICATIONS,
            &ev(KeyCode::Char('D'), KeyModifiers::SHIFT),
            false,
        );
        assert_eq!(b.map(|b| b.action), Some(Action::DiscardFiltered));
        let b = map.lookup(
            &[Context::Global],
            &ev(KeyCode::BackTab, KeyModifiers::SHIFT),
            false,
        );
        assert_eq!(b.map(|b| b.action), Some(Action::FocusPrev));
    }

    #[test]
    fn read_only_removes_dangerous_bindings() {
        let map = Keymap::default();
        let d = ev(KeyCode::Char('d'), KeyModifiers::NONE);
        assert!(map.lookup(&[Context::Notifications], &d, false).is_some());
        assert!(map.lookup(&[Context::Notifications], &d, true).is_none());
        assert!(
            map.active(&[Context::Notifications], true)
                .iter()
                .all(|b| !b.dangerous)
        );
    }

    #[test]
    fn ctrl_c_quits_but_plain_c_does_not() {
        let map = Keymap::default();
        let c = ev(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(&map, &[Context::Global], c), Some(Action::Quit));
        let plain = ev(KeyCode::Char('c'), KeyModifiers::NONE);
        assert!(map.lookup(&[Context::Global], &plain, true).is_none());
    }

    #[test]
    fn no_key_is_bound_twice_in_contexts_active_together() {
        assert_eq!(Keymap::default().check_collisions(&BTreeMap::new()), Ok(()));
        // Every context appears in some stack, so every binding can be dispatched.
        for b in DEFAULTS {
            assert!(stack::ALL.iter().any(|s| s.contains(&b.context)), "{b:?}");
        }
    }

    #[test]
    fn key_specs_read_like_the_docs_say() {
        let p = |s: &str| Key::parse(s).unwrap();
        assert_eq!(p("x"), k('x'));
        assert_eq!(p("X"), k('X'));
        assert_eq!(p("shift-x"), k('X'));
        assert_eq!(p("ctrl-x"), ctrl('x'));
        assert_eq!(p("Ctrl-X"), ctrl('x'));
        assert_eq!(p("F5"), code(KeyCode::F(5)));
        assert_eq!(p("shift-tab"), code(KeyCode::BackTab));
        assert_eq!(p("enter"), code(KeyCode::Enter));
        assert_eq!(p("ESC"), code(KeyCode::Esc));
        assert_eq!(p("pgdn"), code(KeyCode::PageDown));
        assert_eq!(p("-"), k('-'));
        assert_eq!(p("space"), k(' '));
        assert_eq!(
            p("alt-x"),
            Key {
                code: KeyCode::Char('x'),
                mods: KeyModifiers::ALT
            }
        );
        assert_eq!(p("ctrl-x").label(), "Ctrl-X");
        assert_eq!(p("F5").label(), "F5");
        for bad in ["", "hyper-x", "F13", "pagedownn", "ctrl-"] {
            let e = Key::parse(bad).unwrap_err();
            assert!(e.contains(&format!("`{bad}`")), "{e}");
        }
        for a in Action::ALL {
            assert_eq!(a.name().parse::<Action>(), Ok(*a));
        }
    }

    #[test]
    fn an_override_replaces_the_keys_for_dispatch_hints_and_docs() {
        let map =
            Keymap::with_overrides(&over(&[("discard", &["x"]), ("quit", &["ctrl-q", "F10"])]))
                .unwrap();
        let x = ev(KeyCode::Char('x'), KeyModifiers::NONE);
        let d = ev(KeyCode::Char('d'), KeyModifiers::NONE);
        assert_eq!(action(&map, stack::NOTIFICATIONS, x), Some(Action::Discard));
        assert_eq!(action(&map, stack::NOTIFICATIONS, d), None);
        let q = ev(KeyCode::Char('q'), KeyModifiers::NONE);
        let ctrl_q = ev(KeyCode::Char('q'), KeyModifiers::CONTROL);
        assert_eq!(action(&map, stack::LIST, q), None);
        assert_eq!(action(&map, stack::LIST, ctrl_q), Some(Action::Quit));
        let hints: Vec<String> = map
            .active(stack::NOTIFICATIONS, false)
            .iter()
            .map(|b| b.keys_label())
            .collect();
        assert!(hints.contains(&"x".to_string()) && hints.contains(&"Ctrl-Q F10".to_string()));
        assert!(
            map.markdown_table()
                .contains("| failures/successes | `x` | discard the selected")
        );
        // An action bound in several contexts moves in all of them.
        let map = Keymap::with_overrides(&over(&[("up", &["ctrl-k"])])).unwrap();
        let ck = ev(KeyCode::Char('k'), KeyModifiers::CONTROL);
        for ctx in [stack::LIST, stack::DETAIL, stack::CONTEXTS] {
            assert_eq!(action(&map, ctx, ck), Some(Action::Up), "{ctx:?}");
        }
    }

    #[test]
    fn bad_overrides_are_refused_naming_the_action_and_key() {
        let err = |pairs: &[(&str, &[&str])]| Keymap::with_overrides(&over(pairs)).unwrap_err();
        let e = err(&[("discrad", &["x"])]);
        assert!(
            e.contains("unknown action `discrad`") && e.contains("discard-filtered"),
            "{e}"
        );
        let e = err(&[("discard", &["hyper-x"])]);
        assert!(
            e.contains("[keys] discard") && e.contains("`hyper-x`"),
            "{e}"
        );
        let e = err(&[("discard", &[])]);
        assert!(e.contains("[keys] discard: give at least one key"), "{e}");
        // `f` freezes in the same pane.
        let e = err(&[("discard", &["f"])]);
        assert!(
            e.contains("[keys] discard: `f` is already bound to `freeze`"),
            "{e}"
        );
        // `q` quits everywhere, so a stream key on it would shadow quitting.
        let e = err(&[("freeze", &["q"])]);
        assert!(
            e.contains("[keys] freeze: `q` is already bound to `quit`"),
            "{e}"
        );
        // A plain letter would be typed into the filter line.
        let e = err(&[("filter-apply", &["a"])]);
        assert!(e.contains("typed as text in the filter"), "{e}");
        // Moving both keys of a swap is fine; the same key in contexts never active together is too.
        Keymap::with_overrides(&over(&[("discard", &["f"]), ("freeze", &["d"])])).unwrap();
        Keymap::with_overrides(&over(&[("raw", &["X"])])).unwrap();
    }
}
