//! Everything the UI shows, as plain data. Only `update()` mutates it.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use crate::app::filter::{Field, Fields, Filter, matches_filter};
use crate::app::form::SubmitForm;
use crate::app::ring::Keyed;
pub use crate::app::stream::Stream;
use crate::client::ResourceKind;
use crate::client::error::Problem;
use crate::client::tracking::{StatusRef, TablePoll, TrackState, Tracker};
use crate::client::wire::{DecodedNotification, NotificationKind, ReportLevel, ReportMethod};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    Resources,
    Submissions,
    Failures,
    Successes,
}

impl Pane {
    pub const ALL: [Pane; 4] = [
        Pane::Resources,
        Pane::Submissions,
        Pane::Failures,
        Pane::Successes,
    ];
    pub fn title(self) -> &'static str {
        match self {
            Pane::Resources => "Resources",
            Pane::Submissions => "Submissions",
            Pane::Failures => "Failures",
            Pane::Successes => "Successes",
        }
    }
    pub fn index(self) -> usize {
        match self {
            Pane::Resources => 0,
            Pane::Submissions => 1,
            Pane::Failures => 2,
            Pane::Successes => 3,
        }
    }
    pub fn kind(self) -> Option<NotificationKind> {
        match self {
            Pane::Failures => Some(NotificationKind::Failure),
            Pane::Successes => Some(NotificationKind::Success),
            _ => None,
        }
    }
}

/// PEEK never changes the queues; CONSUME archives and deletes notifications that match this
/// session's own submissions once they are seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Peek,
    Consume,
}

/// Poll intervals; every one is configurable (`[poll]` in the config file, `cli::resolve`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollConfig {
    /// Notification peek interval while nothing of ours is in flight: another client's
    /// notification shows within it.
    pub peek_idle: Duration,
    /// Peek interval while a submission of ours is in flight (uploading, or posted less than
    /// `peek_busy_for` ago with something still to report).
    pub peek_busy: Duration,
    /// How long after its post a submission keeps the peeks at `peek_busy`; a source the
    /// service has not reported on by then is peeked for at the idle pace.
    pub peek_busy_for: Duration,
    /// Upper bound of the idle back-off: idle rounds that bring nothing new double the
    /// interval up to this. The default equals `peek_idle` (no back-off); a higher value saves
    /// calls but lets another client's notification wait that long.
    pub peek_max: Duration,
    /// Queue depths are read at most this often when something may have changed them (a
    /// peek saw a queue's messages change or its window full, a submission or a discard).
    pub depths: Duration,
    /// …and this often when nothing suggests a change.
    pub depths_max: Duration,
    pub resources: Duration,
    /// Status-table reads per tracked submission (backing off with age).
    pub table: TablePoll,
    /// Redraw tick while uploads run (bytes/s).
    pub progress_tick: Duration,
    /// Messages asked per peek (Azure's cap is 32 per queue).
    pub peek_count: usize,
}

impl PollConfig {
    /// The interval to the next peek round after one that took `prev`: `peek_busy` while a
    /// submission of ours is in flight; otherwise `peek_idle`, doubled after each round that
    /// brought nothing new up to `peek_max`, back to `peek_idle` on news.
    pub fn next_peek(&self, prev: Duration, news: bool, busy: bool) -> Duration {
        if busy {
            return self.peek_busy;
        }
        if news {
            self.peek_idle
        } else {
            (prev * 2).clamp(self.peek_idle, self.peek_max.max(self.peek_idle))
        }
    }
}

impl Default for PollConfig {
    fn default() -> Self {
        PollConfig {
            peek_idle: Duration::from_secs(20),
            // P5 of issue 8: a notification shows within 2 s while a submission is in flight.
            peek_busy: Duration::from_secs(1),
            // The service batches for up to 5 minutes by default (IngestionBatching policy).
            peek_busy_for: Duration::from_secs(10 * 60),
            peek_max: Duration::from_secs(20),
            depths: Duration::from_secs(60),
            depths_max: Duration::from_secs(5 * 60),
            resources: Duration::from_secs(15 * 60),
            table: TablePoll::default(),
            progress_tick: Duration::from_millis(500),
            peek_count: 32,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Ok,
    Warn,
    Error,
}

/// A queue depth as shown.
#[derive(Debug, Clone, PartialEq)]
pub enum DepthView {
    Count(u64),
    /// Not readable by design (add-only SAS).
    NotReadable,
    Error(String),
}

/// Ingestion resources as shown: names only, never SAS.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceEntry {
    pub kind: ResourceKind,
    pub account: String,
    pub object: String,
    pub depth: Option<DepthView>,
    /// What its SAS grants (permissions and times; the signature is not kept).
    pub sas: Option<crate::client::storage::sas::SasGrant>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourcesView {
    pub entries: Vec<ResourceEntry>,
    pub fetched_at: Option<DateTime<Utc>>,
    pub token_fetched_at: Option<DateTime<Utc>>,
    pub depths_at: Option<DateTime<Utc>>,
    pub error: Option<Problem>,
    pub loading: bool,
}

/// One notification as listed (already decoded; text is sanitised when drawn).
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationRow {
    pub kind: NotificationKind,
    pub message_id: String,
    /// `account/queue` it came from.
    pub queue: String,
    pub dequeue_count: u32,
    pub insertion_time: Option<DateTime<Utc>>,
    pub decoded: DecodedNotification,
    /// When we first saw it (from the result's timestamp).
    pub seen_at: DateTime<Utc>,
}

impl Keyed for NotificationRow {
    fn key(&self) -> &str {
        &self.message_id
    }
}

impl NotificationRow {
    pub fn when(&self) -> Option<DateTime<Utc>> {
        self.decoded
            .notification
            .as_ref()
            .and_then(|n| n.timestamp())
            .or(self.insertion_time)
    }

    pub fn source_id(&self) -> Option<&str> {
        self.decoded
            .notification
            .as_ref()
            .and_then(|n| n.ingestion_source_id.as_deref())
    }

    /// What `/` matches against: these fields joined by spaces (an undecodable message: its
    /// MessageId and raw text).
    pub(crate) fn filter_fields(&self) -> [Option<&str>; 8] {
        match &self.decoded.notification {
            Some(n) => [
                n.database.as_deref(),
                n.table.as_deref(),
                n.error_code.as_deref(),
                n.failure_status.as_deref(),
                n.details.as_deref(),
                n.ingestion_source_path.as_deref(),
                n.ingestion_source_id.as_deref(),
                Some(self.message_id.as_str()),
            ],
            None => [
                Some(self.message_id.as_str()),
                Some(self.decoded.raw.as_str()),
                None,
                None,
                None,
                None,
                None,
                None,
            ],
        }
    }

    /// Writes the text `/` matches against, lower-cased, into `out` (cleared first).
    pub fn write_filter_text(&self, out: &mut String) {
        out.clear();
        for (i, f) in self.filter_fields().into_iter().flatten().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            push_lowercase(out, f);
        }
    }

    /// What the grouped view groups by: ErrorCode × Table × FailureStatus for failures
    /// (`code · table · status`), Table for successes.
    pub fn group_key(&self) -> std::borrow::Cow<'_, str> {
        let Some(n) = &self.decoded.notification else {
            return "(undecodable)".into();
        };
        let or_none = |v: &Option<String>| v.as_deref().unwrap_or("(none)").to_string();
        match self.kind {
            NotificationKind::Failure => format!(
                "{} · {} · {}",
                or_none(&n.error_code),
                or_none(&n.table),
                or_none(&n.failure_status)
            )
            .into(),
            NotificationKind::Success => n.table.as_deref().unwrap_or("(none)").into(),
        }
    }
}

impl Fields for NotificationRow {
    fn field(&self, f: Field) -> Option<std::borrow::Cow<'_, str>> {
        let n = self.decoded.notification.as_ref()?;
        let v = match f {
            Field::Code => n.error_code.as_deref(),
            Field::Table => n.table.as_deref(),
            Field::Db => n.database.as_deref(),
            Field::Status => match self.kind {
                NotificationKind::Failure => n.failure_status.as_deref(),
                NotificationKind::Success => Some("Succeeded"),
            },
        };
        v.map(Into::into)
    }
}

/// Selection and filter of one list pane.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListState {
    pub selected: usize,
    pub filter: String,
}

/// A submission's state as shown: uploading, or the tracking engine's state (a submit that
/// never reached the service shows as Failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubState {
    Uploading,
    Track(TrackState),
}

impl SubState {
    pub fn is_final(self) -> bool {
        match self {
            SubState::Uploading => false,
            SubState::Track(t) => t.is_final(),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SubState::Uploading => "Uploading",
            SubState::Track(t) => t.label(),
        }
    }
}

/// When the status entity of a posted source is read next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableRead {
    Due(DateTime<Utc>),
    InFlight,
    /// Final, not table-tracked, or the table can no longer be read.
    Off,
}

impl TableRead {
    /// The next read of `tracker`'s entity after one (or the post) at `at`. After a failed
    /// read the wait doubles, and a throttled one waits at least as long as the service asked.
    pub fn after(
        tracker: &Tracker,
        at: DateTime<Utc>,
        poll: &TablePoll,
        failed: Option<&Problem>,
    ) -> Self {
        let Some(next) = tracker.next_table_read(at, poll) else {
            return TableRead::Off;
        };
        match failed {
            None => TableRead::Due(next),
            Some(p) => {
                let asked = match p.kind {
                    crate::client::error::ProblemKind::Throttled {
                        retry_after: Some(d),
                    } => chrono::TimeDelta::from_std(d).unwrap_or_default(),
                    _ => chrono::TimeDelta::zero(),
                };
                TableRead::Due(at + ((next - at) * 2).max(asked))
            }
        }
    }
}

/// How far a submission got.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Uploading,
    /// Never reached the service (bad file, upload or post failed, interrupted).
    NotSubmitted {
        error: String,
    },
    Posted {
        tracker: Box<Tracker>,
        table_read: TableRead,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubmissionRow {
    pub id: u64,
    pub file: String,
    pub database: String,
    pub table: String,
    pub format: String,
    /// The ingestion path this source was sent by.
    pub mode: crate::client::mode::IngestMode,
    pub report_level: ReportLevel,
    pub report_method: ReportMethod,
    pub phase: Phase,
    /// Local file size once known.
    pub total: u64,
    pub read: u64,
    pub sent: u64,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub source_id: Option<String>,
    /// Blob URL without its query.
    pub blob: Option<String>,
    pub message_id: Option<String>,
    /// The chunk of a split source this row tracks (`source_id` is the chunk's message Id):
    /// the pane lists chunk 1 only, as the source, with the aggregate over its chunks.
    pub chunk: Option<crate::client::ChunkOf>,
    /// What the path that carried it answered, once submitted.
    pub delivered: Option<Delivered>,
    /// Sent by the demo's traffic, not the user: tracked alike, but its outcome does not take
    /// the status line (which keeps the user's own messages).
    pub background: bool,
    /// The source this row resubmits (`R`), journaled with it.
    pub resubmit_of: Option<String>,
    /// The request as asked (`SubmitRequest::to_json`), journaled so a resubmit (TUI or CLI)
    /// sends it with the same options; `None` for rows restored from older records.
    pub request: Option<serde_json::Value>,
}

/// What the path that carried a source answered, for display (no secret).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Delivered {
    /// The path finally used (managed: streaming or queued).
    pub path: crate::client::mode::IngestMode,
    /// Managed: why it went queued.
    pub fallback: Option<String>,
    /// Streaming: the records the engine consumed.
    pub consumed_records: Option<u64>,
    /// Direct: the rows `.ingest into` returned.
    pub direct_rows: Vec<crate::client::direct::DirectRow>,
    /// REST queued: the operation id.
    pub operation_id: Option<String>,
}

impl Delivered {
    pub fn of(s: &crate::client::Submitted) -> Self {
        use crate::client::Delivery;
        let mut d = Delivered {
            path: s.delivery.path(),
            fallback: s.fallback.clone(),
            ..Delivered::default()
        };
        match &s.delivery {
            Delivery::Queue(_) => {}
            Delivery::Streamed { consumed_records } => d.consumed_records = Some(*consumed_records),
            Delivery::Direct { rows, .. } => d.direct_rows = rows.clone(),
            Delivery::RestQueued { operation_id, .. } => {
                d.operation_id = Some(operation_id.clone())
            }
        }
        d
    }
}

impl SubmissionRow {
    /// A row just created for a source: Uploading, nothing known yet beyond the request.
    pub fn new(
        id: u64,
        file: String,
        database: String,
        table: String,
        report_level: ReportLevel,
        report_method: ReportMethod,
        now: DateTime<Utc>,
    ) -> Self {
        SubmissionRow {
            id,
            file,
            database,
            table,
            format: String::new(),
            mode: crate::client::mode::IngestMode::Queued,
            report_level,
            report_method,
            phase: Phase::Uploading,
            total: 0,
            read: 0,
            sent: 0,
            started_at: now,
            updated_at: now,
            source_id: None,
            blob: None,
            message_id: None,
            chunk: None,
            delivered: None,
            background: false,
            resubmit_of: None,
            request: None,
        }
    }

    pub fn state(&self) -> SubState {
        match &self.phase {
            Phase::Uploading => SubState::Uploading,
            Phase::NotSubmitted { .. } => SubState::Track(TrackState::Failed),
            Phase::Posted { tracker, .. } => SubState::Track(tracker.state),
        }
    }

    pub fn tracker(&self) -> Option<&Tracker> {
        match &self.phase {
            Phase::Posted { tracker, .. } => Some(tracker),
            _ => None,
        }
    }

    pub fn error_code(&self) -> Option<&str> {
        self.tracker().and_then(|t| t.error.code.as_deref())
    }

    /// The error or retry details to show, if any.
    pub fn error_text(&self) -> Option<&str> {
        match &self.phase {
            Phase::NotSubmitted { error } => Some(error),
            Phase::Posted { tracker, .. } => tracker
                .error
                .details
                .as_deref()
                .filter(|d| !d.is_empty())
                .or(tracker.table_problem.as_deref()),
            Phase::Uploading => None,
        }
    }

    pub fn status_ref(&self) -> Option<&StatusRef> {
        self.tracker().and_then(|t| t.status_ref.as_ref())
    }

    pub fn filter_text(&self) -> String {
        format!(
            "{} {}.{} {} {} {} {}",
            self.file,
            self.database,
            self.table,
            self.state().label(),
            self.source_id.as_deref().unwrap_or_default(),
            self.error_code().unwrap_or_default(),
            self.error_text().unwrap_or_default()
        )
    }

    /// Bytes per second while uploading.
    pub fn rate(&self) -> Option<f64> {
        let secs = (self.updated_at - self.started_at).num_milliseconds() as f64 / 1000.0;
        (self.phase == Phase::Uploading && secs > 0.0).then(|| self.read as f64 / secs)
    }

    pub fn tracked_by_queue(&self) -> bool {
        self.report_method.uses_queue() && self.report_level != ReportLevel::None
    }
}

impl Fields for SubmissionRow {
    fn field(&self, f: Field) -> Option<std::borrow::Cow<'_, str>> {
        let v = match f {
            Field::Code => self.error_code(),
            Field::Table => Some(self.table.as_str()),
            Field::Db => Some(self.database.as_str()),
            Field::Status => Some(self.state().label()),
        };
        v.map(Into::into)
    }
}
/// Forensics lines of a failure, or why there are none.
pub type ForensicsLines = Result<Vec<String>, String>;

#[derive(Debug, Clone, PartialEq)]
pub enum DetailTarget {
    Notification {
        kind: NotificationKind,
        message_id: String,
    },
    Submission(u64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConfirmAction {
    Discard {
        kind: NotificationKind,
        ids: Vec<String>,
        archive: PathBuf,
    },
    SetMode(Mode),
    /// `.cancel queued ingestion operation` of a bulk operation.
    CancelBulk {
        operation_id: String,
    },
    /// Switch to this config context (asked first when it is marked production).
    SwitchContext(String),
    /// Resubmit the source of this submission row anyway (`R` on a source not known to
    /// have Failed).
    Resubmit {
        row: u64,
    },
    /// Scan the status tables (`crate::app::cluster`).
    ClusterScan,
    /// Scan this kind's queues into the inbox (`S`).
    Scan(NotificationKind),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub title: String,
    pub lines: Vec<String>,
    pub action: ConfirmAction,
}

#[derive(Debug, Clone)]
pub enum Modal {
    /// The key help, scrolled by `scroll` lines (it is longer than a small terminal).
    Help {
        scroll: usize,
    },
    Confirm(Confirm),
    Submit(Box<SubmitForm>),
    /// The bulk-ingestion dialog (`crate::app::bulk`).
    Bulk(Box<crate::app::bulk::BulkForm>),
    Filter {
        pane: Pane,
        input: tui_input::Input,
    },
    Detail {
        target: DetailTarget,
        raw: bool,
        /// A submission's timeline instead of its details (`t`).
        timeline: bool,
        scroll: u16,
    },
    /// The `:` command prompt.
    Command {
        input: tui_input::Input,
    },
    /// The context switcher: `Settings.contexts`, the row at `selected` highlighted.
    Contexts {
        selected: usize,
    },
    /// The status-table view (`crate::app::cluster`), scrolled by `scroll` entity rows.
    Cluster {
        scroll: usize,
    },
    /// The export dialog (`e`).
    Export(Box<crate::app::export::ExportForm>),
    /// What `y` can copy from the selected row.
    Copy(crate::app::export::CopyMenu),
}

/// Why the event loop hands control back to its runner before quitting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leave {
    /// Re-resolve the configuration for this context and restart on it; `confirmed` once the
    /// operator said yes to a production context (the runner learns that from the resolve).
    SwitchContext { name: String, confirmed: bool },
}

/// Where the round of notification peeks (one per queue kind) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeekRound {
    /// The next round starts at this time.
    Due(DateTime<Utc>),
    /// `pending` peeks still out; `new` when one brought anything new (drives the back-off).
    Running { pending: u8, new: bool },
}

/// Scheduling of the background reads; `update()` decides, the loop only sleeps until the
/// earliest deadline.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub peek: PeekRound,
    pub peek_interval: Duration,
    /// `None` while a depth read is out (or before the resources are known).
    pub next_depths: Option<DateTime<Utc>>,
    /// Something may have changed the queue depths since they were last asked for: the next
    /// read comes after `depths`, not `depths_max`.
    pub depths_changed: bool,
    pub next_resources: Option<DateTime<Utc>>,
}

/// Settings that come from the command line / config.
#[derive(Debug, Clone)]
pub struct Settings {
    pub read_only: bool,
    pub color: bool,
    pub theme: ThemeName,
    /// The config context in use (shown in the header), if any.
    pub context: Option<String>,
    /// The context is marked `production = true`: its name is drawn as a warning.
    pub production: bool,
    /// The contexts the config file defines, for the context switcher.
    pub contexts: Vec<String>,
    /// What authenticates the client (`AuthMethod::label`), for the status line.
    pub auth: String,
    pub archive_dir: PathBuf,
    pub cluster: String,
    pub poll: PollConfig,
    pub ring_capacity: usize,
    /// The bindings in use: the defaults with the config's `[keys]` overrides.
    pub keymap: std::sync::Arc<crate::app::keymap::Keymap>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            read_only: false,
            color: true,
            theme: ThemeName::default(),
            context: None,
            production: false,
            contexts: Vec::new(),
            auth: String::new(),
            archive_dir: PathBuf::from("."),
            cluster: String::new(),
            poll: PollConfig::default(),
            ring_capacity: crate::app::stream::DEFAULT_CAPACITY,
            keymap: Default::default(),
        }
    }
}

/// The colour theme (`theme = "dark"|"light"` in the config file); `NO_COLOR` wins over both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ThemeName {
    #[default]
    Dark,
    Light,
}

impl std::str::FromStr for ThemeName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dark" => Ok(ThemeName::Dark),
            "light" => Ok(ThemeName::Light),
            other => Err(format!("unknown theme '{other}': expected dark or light")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct State {
    pub settings: Settings,
    pub now: DateTime<Utc>,
    pub size: (u16, u16),
    pub focus: Pane,
    pub mode: Mode,
    pub resources: ResourcesView,
    pub resources_list: ListState,
    /// Newest first.
    pub submissions: Vec<SubmissionRow>,
    pub submissions_list: ListState,
    pub next_submission_id: u64,
    /// Bulk operations, listed in the submissions pane after the sources.
    pub bulk: crate::app::bulk::BulkView,
    /// The last status-table scan (`T`).
    pub cluster: crate::app::cluster::ClusterView,
    pub failures: Stream,
    pub successes: Stream,
    pub modal: Option<Modal>,
    pub status: Option<(String, Severity)>,
    /// The newest error message and when it came; kept (unlike `status`) until a newer error.
    pub last_error: Option<(String, DateTime<Utc>)>,
    pub schedule: Schedule,
    pub last_database: String,
    /// The submit dialog's starting path: the folder of the last file submitted.
    pub last_path: String,
    pub last_table: String,
    pub dirty: bool,
    pub quit: bool,
    /// Set by `update()`, taken by the event loop (`Leave`).
    pub leave: Option<Leave>,
    /// Set by `update()` (Ctrl-Z), taken by the event loop: stop the process, then redraw.
    pub suspend: bool,
    /// Forensics of the failure whose detail is open: its message id and the lines found
    /// (`None` while the effect runs; `Err` says why there are none).
    pub forensics: Option<(String, Option<ForensicsLines>)>,
}

impl State {
    /// Show `text` on the status line; an error is also kept as the last error with its time.
    pub fn set_status(&mut self, text: String, sev: Severity) {
        if sev == Severity::Error {
            self.last_error = Some((text.clone(), self.now));
        }
        self.status = Some((text, sev));
        self.dirty = true;
    }

    pub fn new(settings: Settings, now: DateTime<Utc>) -> Self {
        let cap = settings.ring_capacity;
        let peek_interval = settings.poll.peek_idle;
        State {
            settings,
            now,
            size: (80, 24),
            focus: Pane::Submissions,
            mode: Mode::Peek,
            resources: ResourcesView::default(),
            resources_list: ListState::default(),
            submissions: Vec::new(),
            submissions_list: ListState::default(),
            next_submission_id: 1,
            bulk: Default::default(),
            cluster: Default::default(),
            failures: Stream::new(NotificationKind::Failure, cap),
            successes: Stream::new(NotificationKind::Success, cap),
            modal: None,
            status: None,
            last_error: None,
            schedule: Schedule {
                peek: PeekRound::Due(now),
                peek_interval,
                next_depths: None,
                depths_changed: false,
                next_resources: None,
            },
            last_database: String::new(),
            last_path: String::new(),
            last_table: String::new(),
            dirty: true,
            quit: false,
            leave: None,
            suspend: false,
            forensics: None,
        }
    }

    pub fn stream(&self, kind: NotificationKind) -> &Stream {
        match kind {
            NotificationKind::Failure => &self.failures,
            NotificationKind::Success => &self.successes,
        }
    }

    pub fn stream_mut(&mut self, kind: NotificationKind) -> &mut Stream {
        match kind {
            NotificationKind::Failure => &mut self.failures,
            NotificationKind::Success => &mut self.successes,
        }
    }

    /// The rows listed: one per source (a split source by its first chunk's row).
    pub fn visible_submissions(&self) -> Vec<&SubmissionRow> {
        let filter = Filter::new(&self.submissions_list.filter);
        self.submissions
            .iter()
            .filter(|s| s.chunk.is_none_or(|c| c.index == 1))
            .filter(|s| filter.matches_fields(&s.filter_text(), *s))
            .collect()
    }

    /// The rows of every chunk of `row`'s source, in chunk order (just `row` when it was sent
    /// whole).
    pub fn chunks_of<'a>(&'a self, row: &'a SubmissionRow) -> Vec<&'a SubmissionRow> {
        let Some(c) = row.chunk else {
            return vec![row];
        };
        let mut rows: Vec<&SubmissionRow> = self
            .submissions
            .iter()
            .filter(|s| s.chunk.is_some_and(|o| o.source_id == c.source_id))
            .collect();
        rows.sort_by_key(|s| s.chunk.map(|c| c.index));
        rows
    }

    /// The state the pane shows for `row`'s source: its own, or kingest's aggregate over its
    /// chunks (`client::tracking::aggregate`).
    pub fn source_state(&self, row: &SubmissionRow) -> SubState {
        let rows = self.chunks_of(row);
        if rows.len() < 2 {
            return row.state();
        }
        let trackers: Vec<&Tracker> = rows.iter().filter_map(|r| r.tracker()).collect();
        if trackers.len() < rows.len() {
            return row.state();
        }
        SubState::Track(crate::client::tracking::aggregate(&trackers))
    }

    pub fn visible_resources(&self) -> Vec<&ResourceEntry> {
        self.resources
            .entries
            .iter()
            .filter(|r| {
                let text = format!("{} {} {}", r.kind.name(), r.account, r.object);
                matches_filter(&text, &self.resources_list.filter)
            })
            .collect()
    }

    pub fn list(&self, pane: Pane) -> &ListState {
        match pane {
            Pane::Resources => &self.resources_list,
            Pane::Submissions => &self.submissions_list,
            Pane::Failures => &self.failures.list,
            Pane::Successes => &self.successes.list,
        }
    }

    pub fn list_mut(&mut self, pane: Pane) -> &mut ListState {
        match pane {
            Pane::Resources => &mut self.resources_list,
            Pane::Submissions => &mut self.submissions_list,
            Pane::Failures => &mut self.failures.list,
            Pane::Successes => &mut self.successes.list,
        }
    }

    /// Sets a pane's filter and returns to its first row (streams re-index their rows).
    pub fn set_filter(&mut self, pane: Pane, text: &str) {
        match pane.kind() {
            Some(kind) => self.stream_mut(kind).set_filter(text),
            None => {
                let list = self.list_mut(pane);
                list.filter = text.to_string();
                list.selected = 0;
            }
        }
    }

    pub fn visible_len(&self, pane: Pane) -> usize {
        match pane {
            Pane::Resources => self.visible_resources().len(),
            Pane::Submissions => {
                self.visible_submissions().len() + crate::app::bulk::visible(self).len()
            }
            Pane::Failures => self.failures.visible_len(),
            Pane::Successes => self.successes.visible_len(),
        }
    }

    pub fn uploads_running(&self) -> bool {
        self.submissions.iter().any(|s| s.phase == Phase::Uploading)
    }

    /// Whether anything of ours is in flight that the service will still report on (an
    /// upload, or a posted source with a queue or table to hear from).
    pub fn tracking(&self) -> bool {
        self.in_flight().next().is_some()
    }

    /// Whether the peeks go at the busy pace: an upload runs, or a source posted less than
    /// `peek_busy_for` ago may still be reported on.
    pub fn peeks_busy(&self) -> bool {
        let busy_for = chrono::Duration::from_std(self.settings.poll.peek_busy_for)
            .unwrap_or(chrono::Duration::MAX);
        self.in_flight().any(|s| match &s.phase {
            Phase::Posted { tracker, .. } => self.now - tracker.posted_at < busy_for,
            _ => true,
        })
    }

    fn in_flight(&self) -> impl Iterator<Item = &SubmissionRow> {
        self.submissions.iter().filter(|s| match &s.phase {
            Phase::Uploading => true,
            Phase::NotSubmitted { .. } => false,
            Phase::Posted { tracker, .. } => tracker.can_still_learn(self.now),
        })
    }

    /// The earliest moment the loop must wake up (besides input and results).
    pub fn next_wakeup(&self) -> Option<DateTime<Utc>> {
        let progress = self.uploads_running().then(|| {
            self.now
                + chrono::Duration::from_std(self.settings.poll.progress_tick).unwrap_or_default()
        });
        let status = self.submissions.iter().filter_map(|s| match s.phase {
            Phase::Posted {
                table_read: TableRead::Due(t),
                ..
            } => Some(t),
            _ => None,
        });
        let peek = match self.schedule.peek {
            PeekRound::Due(t) => Some(t),
            PeekRound::Running { .. } => None,
        };
        [
            peek,
            self.schedule.next_depths,
            self.schedule.next_resources,
            progress,
            self.bulk.next_poll,
        ]
        .into_iter()
        .flatten()
        .chain(status)
        .min()
    }
}

/// Appends `s` lower-cased: ASCII in place (the common case, and fast), else per `to_lowercase`.
fn push_lowercase(out: &mut String, s: &str) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_lowercase();
    } else {
        out.push_str(&s.to_lowercase());
    }
}
