//! The inbox's SQLite store: schema (versioned by `PRAGMA user_version`), record with
//! MessageId dedupe, retention, and the queries the CLI and the TUI build on.
//!
//! Times are Unix milliseconds (UTC) in `*_ms` columns; the `notifications_readable` view shows
//! them as text for an operator with `sqlite3`. Everything stored comes from
//! [`ReceivedNotification::to_json`], which is already redacted (SAS `sig`, tokens).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params, params_from_iter};
use serde::Serialize;
use serde_json::Value;

use crate::client::error::{Error, Result};
use crate::client::notifications::ReceivedNotification;
use crate::client::wire::NotificationKind;

/// The schema this build writes. A file with a higher version was made by a newer kingest and
/// is refused (not altered); a lower one is migrated in [`migrate`].
pub const SCHEMA_VERSION: i64 = 1;

/// Minutes of [`InboxGroup::per_minute`].
pub const SPARK_MINUTES: usize = 60;

/// How long a TUI and a CLI writing at once wait for each other's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA_V1: &str = "
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    cluster TEXT NOT NULL,
    kind TEXT NOT NULL,
    message_id TEXT NOT NULL,
    queue TEXT NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    -- InsertionTime when known, else first_seen_ms: orders lists and fills the sparkline.
    at_ms INTEGER NOT NULL,
    insertion_ms INTEGER,
    dequeue_count INTEGER NOT NULL,
    error_code TEXT,
    failure_status TEXT,
    table_name TEXT,
    database_name TEXT,
    source_id TEXT,
    source_path TEXT,
    operation_id TEXT,
    root_activity_id TEXT,
    details TEXT,
    failed_on TEXT,
    succeeded_on TEXT,
    -- The redacted notification as `failures peek --json` prints it.
    json TEXT NOT NULL,
    -- Lower-cased (Unicode) text that search matches: code, table, database, source id,
    -- details, path, message id.
    search_text TEXT NOT NULL,
    acknowledged_ms INTEGER,
    UNIQUE (cluster, kind, message_id)
);
CREATE INDEX notifications_at ON notifications (cluster, kind, at_ms);
CREATE INDEX notifications_code ON notifications (cluster, kind, error_code, table_name);
CREATE INDEX notifications_last_seen ON notifications (last_seen_ms);
CREATE VIEW notifications_readable AS SELECT
    id, cluster, kind, message_id, error_code, failure_status, table_name, database_name,
    source_id, source_path, details, dequeue_count,
    strftime('%Y-%m-%dT%H:%M:%fZ', first_seen_ms / 1000.0, 'unixepoch') AS first_seen,
    strftime('%Y-%m-%dT%H:%M:%fZ', last_seen_ms / 1000.0, 'unixepoch') AS last_seen,
    strftime('%Y-%m-%dT%H:%M:%fZ', insertion_ms / 1000.0, 'unixepoch') AS insertion_time,
    strftime('%Y-%m-%dT%H:%M:%fZ', acknowledged_ms / 1000.0, 'unixepoch') AS acknowledged_at
FROM notifications;
";

/// Retention: config `inbox_retention_days` and `inbox_max_rows`; applied on open and on
/// every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InboxSettings {
    /// Rows not seen for this many days are dropped; 0 keeps them forever.
    pub retention_days: u32,
    /// The file keeps at most this many rows (all clusters), dropping the least recently
    /// seen; 0: no cap.
    pub max_rows: u64,
}

impl Default for InboxSettings {
    fn default() -> Self {
        InboxSettings {
            retention_days: 30,
            max_rows: 100_000,
        }
    }
}

/// What one [`Inbox::record`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RecordOutcome {
    /// Messages the inbox had not seen.
    pub new: usize,
    /// Messages seen before: `last_seen` and `dequeue_count` (the highest) updated.
    pub updated: usize,
}

/// What [`Inbox::acknowledge`] / [`Inbox::unacknowledge`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AckOutcome {
    /// Rows whose state changed.
    pub changed: usize,
    /// Already in the asked state.
    pub unchanged: usize,
    /// Message ids the inbox does not hold (for this cluster and kind).
    pub unknown: Vec<String>,
}

/// Which rows a query takes by acknowledgement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum AckFilter {
    /// Not acknowledged (the default view).
    #[default]
    Unacked,
    Acked,
    All,
}

/// A filter over one cluster's notifications of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxQuery {
    pub kind: NotificationKind,
    /// Case-insensitive substring of code, table, database, source id, details, source path
    /// or message id.
    pub search: Option<String>,
    pub acked: AckFilter,
    /// `None`: every match.
    pub limit: Option<usize>,
    pub offset: usize,
}

impl InboxQuery {
    /// Every unacknowledged notification of `kind`.
    pub fn new(kind: NotificationKind) -> Self {
        InboxQuery {
            kind,
            search: None,
            acked: AckFilter::Unacked,
            limit: None,
            offset: 0,
        }
    }
}

/// The columns [`Inbox::groups`] groups by; none set: one group of everything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GroupBy {
    pub code: bool,
    pub table: bool,
    pub status: bool,
}

impl GroupBy {
    /// `code`, `table`, `status` (also `error_code`, `failure_status`), comma-separated.
    pub fn parse(spec: &str) -> std::result::Result<GroupBy, String> {
        let mut by = GroupBy::default();
        by.add(spec)?;
        Ok(by)
    }

    /// Adds the columns of `spec` (a repeated `--group-by`).
    pub fn add(&mut self, spec: &str) -> std::result::Result<(), String> {
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.to_ascii_lowercase().as_str() {
                "code" | "error_code" | "errorcode" => self.code = true,
                "table" => self.table = true,
                "status" | "failure_status" | "failurestatus" => self.status = true,
                other => {
                    return Err(format!(
                        "cannot group by '{other}': use code, table or status"
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        !(self.code || self.table || self.status)
    }
}

/// One notification as the inbox keeps it. Text is as received (redacted, not sanitised):
/// pass it through `crate::sanitize` before a terminal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InboxEntry {
    /// The row id (stable for the file's life).
    pub id: i64,
    pub kind: &'static str,
    pub message_id: String,
    /// The queue's name (no SAS).
    pub queue: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// The highest DequeueCount seen.
    pub dequeue_count: u32,
    pub insertion_time: Option<DateTime<Utc>>,
    pub error_code: Option<String>,
    pub failure_status: Option<String>,
    pub table: Option<String>,
    pub database: Option<String>,
    pub source_id: Option<String>,
    /// Redacted.
    pub source_path: Option<String>,
    pub operation_id: Option<String>,
    pub root_activity_id: Option<String>,
    pub details: Option<String>,
    pub failed_on: Option<String>,
    pub succeeded_on: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// The redacted notification (`ReceivedNotification::to_json`) as first seen.
    pub json: Value,
}

/// Notifications sharing the grouped columns (`None` in a column not grouped by, or absent).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InboxGroup {
    pub error_code: Option<String>,
    pub table: Option<String>,
    pub failure_status: Option<String>,
    pub count: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Notifications a minute by InsertionTime (else first seen) over the last
    /// [`SPARK_MINUTES`] minutes, oldest first; the last is the current minute.
    pub per_minute: Vec<u32>,
}

/// One cluster's view of the inbox file. `Send + Sync`: share it behind an `Arc`; calls block
/// (keep them off an async executor's hot path with `spawn_blocking` for big lists).
pub struct Inbox {
    conn: Mutex<Connection>,
    path: PathBuf,
    cluster: String,
    settings: InboxSettings,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("path", &self.path)
            .field("cluster", &self.cluster)
            .finish_non_exhaustive()
    }
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(v).unwrap_or(DateTime::UNIX_EPOCH)
}

/// Creates `path` private (0600) if absent, so SQLite's WAL and shm files, which take the
/// database file's mode, are private too.
fn create_private(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let file = o.open(path)?;
    // An inbox made by hand or by an older build may be looser: tighten it too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    drop(file);
    Ok(())
}

fn unreadable(path: &Path, detail: impl std::fmt::Display) -> Error {
    Error::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "the inbox {} cannot be used ({detail}); kingest carries on without it — move the \
             file away to start a new inbox",
            path.display()
        ),
    ))
}

fn db_error(e: rusqlite::Error) -> Error {
    Error::Io(std::io::Error::other(format!("inbox: {e}")))
}

/// Brings a file at `version` to [`SCHEMA_VERSION`]. A new file is at 0.
fn migrate(conn: &Connection, version: i64) -> rusqlite::Result<()> {
    if version < 1 {
        conn.execute_batch(&format!(
            "BEGIN; {SCHEMA_V1} PRAGMA user_version = 1; COMMIT;"
        ))?;
    }
    Ok(())
}

const COLUMNS: &str = "id, kind, message_id, queue, first_seen_ms, last_seen_ms, insertion_ms, \
    dequeue_count, error_code, failure_status, table_name, database_name, source_id, \
    source_path, operation_id, root_activity_id, details, failed_on, succeeded_on, \
    acknowledged_ms, json";

fn entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<InboxEntry> {
    let kind: String = row.get(1)?;
    let json: String = row.get(20)?;
    Ok(InboxEntry {
        id: row.get(0)?,
        kind: if kind == "success" {
            "success"
        } else {
            "failure"
        },
        message_id: row.get(2)?,
        queue: row.get(3)?,
        first_seen: from_ms(row.get(4)?),
        last_seen: from_ms(row.get(5)?),
        insertion_time: row.get::<_, Option<i64>>(6)?.map(from_ms),
        dequeue_count: row.get(7)?,
        error_code: row.get(8)?,
        failure_status: row.get(9)?,
        table: row.get(10)?,
        database: row.get(11)?,
        source_id: row.get(12)?,
        source_path: row.get(13)?,
        operation_id: row.get(14)?,
        root_activity_id: row.get(15)?,
        details: row.get(16)?,
        failed_on: row.get(17)?,
        succeeded_on: row.get(18)?,
        acknowledged_at: row.get::<_, Option<i64>>(19)?.map(from_ms),
        json: serde_json::from_str(&json).unwrap_or(Value::String(json)),
    })
}

/// A string field of the redacted JSON (numbers, e.g. an `ErrorCode` of 1, as text).
fn field(json: &Value, key: &str) -> Option<String> {
    match json.get(key)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

impl Inbox {
    /// The inbox file at `path` (created private if absent), scoped to the cluster at
    /// `ingest_url`, with the default retention.
    pub fn open(path: &Path, ingest_url: &str) -> Result<Inbox> {
        Self::open_with(path, ingest_url, InboxSettings::default())
    }

    /// [`Inbox::open`] with `settings`; prunes by them at once. A file that is not an SQLite
    /// database, unreadable, or of a newer schema is an error (the file is left as it is).
    pub fn open_with(path: &Path, ingest_url: &str, settings: InboxSettings) -> Result<Inbox> {
        create_private(path).map_err(|e| unreadable(path, e))?;
        let conn = Connection::open(path).map_err(|e| unreadable(path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| unreadable(path, e))?;
        // The first read is where a file that is not a database says so.
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| unreadable(path, e))?;
        if version > SCHEMA_VERSION {
            return Err(unreadable(
                path,
                format!(
                    "its schema version {version} is newer than this kingest's \
                     {SCHEMA_VERSION}"
                ),
            ));
        }
        // WAL: a TUI and a CLI read and write at once without blocking readers.
        let _mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(|e| unreadable(path, e))?;
        migrate(&conn, version).map_err(|e| unreadable(path, e))?;
        let inbox = Inbox {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            cluster: crate::client::journal::normalise(ingest_url),
            settings,
        };
        inbox.prune_at(Utc::now())?;
        Ok(inbox)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cluster (normalised ingest URL) this view reads and writes.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    pub fn settings(&self) -> InboxSettings {
        self.settings
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| Error::Internal("the inbox lock was poisoned".into()))
    }

    /// Records what a peek, receive or scan read; a message seen before (same cluster, kind
    /// and MessageId) only updates `last_seen` and the highest DequeueCount.
    pub fn record(&self, msgs: &[ReceivedNotification]) -> Result<RecordOutcome> {
        self.record_at(msgs, Utc::now())
    }

    /// [`Inbox::record`] as if it were `now`.
    pub fn record_at(
        &self,
        msgs: &[ReceivedNotification],
        now: DateTime<Utc>,
    ) -> Result<RecordOutcome> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db_error)?;
        let mut out = RecordOutcome::default();
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO notifications (cluster, kind, message_id, queue,
                     first_seen_ms, last_seen_ms, at_ms, insertion_ms, dequeue_count,
                     error_code, failure_status, table_name, database_name, source_id,
                     source_path, operation_id, root_activity_id, details, failed_on,
                     succeeded_on, json, search_text)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
                     ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
                )
                .map_err(db_error)?;
            let mut update = tx
                .prepare_cached(
                    "UPDATE notifications SET last_seen_ms = max(last_seen_ms, ?4),
                     dequeue_count = max(dequeue_count, ?5)
                     WHERE cluster = ?1 AND kind = ?2 AND message_id = ?3",
                )
                .map_err(db_error)?;
            let now_ms = ms(now);
            for m in msgs {
                let json = m.to_json();
                let f = |k: &str| field(&json, k);
                let insertion = m.insertion_time.map(ms);
                let search_text = [
                    f("ErrorCode"),
                    f("Table"),
                    f("Database"),
                    f("IngestionSourceId"),
                    f("Details"),
                    f("IngestionSourcePath"),
                    Some(m.message_id.clone()),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("\u{1f}")
                .to_lowercase();
                let added = insert
                    .execute(params![
                        self.cluster,
                        m.kind.as_str(),
                        m.message_id,
                        m.queue.object_name(),
                        now_ms,
                        insertion.unwrap_or(now_ms),
                        insertion,
                        m.dequeue_count,
                        f("ErrorCode"),
                        f("FailureStatus"),
                        f("Table"),
                        f("Database"),
                        f("IngestionSourceId"),
                        f("IngestionSourcePath"),
                        f("OperationId"),
                        f("RootActivityId"),
                        f("Details"),
                        f("FailedOn"),
                        f("SucceededOn"),
                        json.to_string(),
                        search_text,
                    ])
                    .map_err(db_error)?;
                if added > 0 {
                    out.new += 1;
                } else {
                    update
                        .execute(params![
                            self.cluster,
                            m.kind.as_str(),
                            m.message_id,
                            now_ms,
                            m.dequeue_count
                        ])
                        .map_err(db_error)?;
                    out.updated += 1;
                }
            }
        }
        prune(&tx, self.settings, now).map_err(db_error)?;
        tx.commit().map_err(db_error)?;
        Ok(out)
    }

    /// Drops rows past retention as of `now`; returns how many.
    pub fn prune_at(&self, now: DateTime<Utc>) -> Result<usize> {
        let conn = self.conn()?;
        prune(&conn, self.settings, now).map_err(db_error)
    }

    /// Matching notifications, newest first (by InsertionTime, else first seen).
    pub fn list(&self, q: &InboxQuery) -> Result<Vec<InboxEntry>> {
        let (filter, mut args) = self.filter(q);
        let limit = q.limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        args.push(SqlValue::Integer(limit));
        args.push(SqlValue::Integer(
            i64::try_from(q.offset).unwrap_or(i64::MAX),
        ));
        let sql = format!(
            "SELECT {COLUMNS} FROM notifications WHERE {filter}
             ORDER BY at_ms DESC, id DESC LIMIT ? OFFSET ?"
        );
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(&sql).map_err(db_error)?;
        let rows = stmt
            .query_map(params_from_iter(args), entry)
            .map_err(db_error)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_error)
    }

    /// How many notifications match `q` (its limit and offset aside).
    pub fn count_matching(&self, q: &InboxQuery) -> Result<u64> {
        let (filter, args) = self.filter(q);
        let sql = format!("SELECT count(*) FROM notifications WHERE {filter}");
        let conn = self.conn()?;
        conn.query_row(&sql, params_from_iter(args), |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
            .map_err(db_error)
    }

    /// Every notification of `kind` this cluster's inbox holds, acknowledged or not.
    pub fn count(&self, kind: NotificationKind) -> Result<u64> {
        self.count_matching(&InboxQuery {
            acked: AckFilter::All,
            ..InboxQuery::new(kind)
        })
    }

    /// Groups of the notifications matching `q` (limit and offset aside), the largest first.
    pub fn groups(&self, q: &InboxQuery, by: GroupBy) -> Result<Vec<InboxGroup>> {
        self.groups_at(q, by, Utc::now())
    }

    /// [`Inbox::groups`] with the sparkline ending in the minute of `now`.
    pub fn groups_at(
        &self,
        q: &InboxQuery,
        by: GroupBy,
        now: DateTime<Utc>,
    ) -> Result<Vec<InboxGroup>> {
        let col = |on: bool, name: &str| if on { name.to_string() } else { "NULL".into() };
        let keys = format!(
            "{}, {}, {}",
            col(by.code, "error_code"),
            col(by.table, "table_name"),
            col(by.status, "failure_status")
        );
        let (filter, args) = self.filter(q);
        let conn = self.conn()?;
        type Key = (Option<String>, Option<String>, Option<String>);
        let sql = format!(
            "SELECT {keys}, count(*), min(first_seen_ms), max(last_seen_ms)
             FROM notifications WHERE {filter} GROUP BY 1, 2, 3"
        );
        let mut stmt = conn.prepare(&sql).map_err(db_error)?;
        let mut groups: Vec<InboxGroup> = stmt
            .query_map(params_from_iter(args.iter()), |r| {
                Ok(InboxGroup {
                    error_code: r.get(0)?,
                    table: r.get(1)?,
                    failure_status: r.get(2)?,
                    count: r.get::<_, i64>(3)?.max(0) as u64,
                    first_seen: from_ms(r.get(4)?),
                    last_seen: from_ms(r.get(5)?),
                    per_minute: vec![0; SPARK_MINUTES],
                })
            })
            .map_err(db_error)?
            .collect::<rusqlite::Result<_>>()
            .map_err(db_error)?;
        let now_minute = ms(now).div_euclid(60_000);
        let from_minute = now_minute - (SPARK_MINUTES as i64 - 1);
        let mut spark_args = args;
        spark_args.push(SqlValue::Integer(from_minute * 60_000));
        spark_args.push(SqlValue::Integer((now_minute + 1) * 60_000));
        let sql = format!(
            "SELECT {keys}, at_ms / 60000, count(*) FROM notifications
             WHERE {filter} AND at_ms >= ? AND at_ms < ? GROUP BY 1, 2, 3, 4"
        );
        let mut stmt = conn.prepare(&sql).map_err(db_error)?;
        let buckets = stmt
            .query_map(params_from_iter(spark_args), |r| {
                Ok((
                    (r.get(0)?, r.get(1)?, r.get(2)?),
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(db_error)?
            .collect::<rusqlite::Result<Vec<(Key, i64, i64)>>>()
            .map_err(db_error)?;
        let mut index: HashMap<Key, usize> = HashMap::new();
        for (i, g) in groups.iter().enumerate() {
            index.insert(
                (
                    g.error_code.clone(),
                    g.table.clone(),
                    g.failure_status.clone(),
                ),
                i,
            );
        }
        for (key, minute, n) in buckets {
            let slot = usize::try_from(minute - from_minute).ok();
            if let (Some(&g), Some(slot)) = (index.get(&key), slot)
                && let Some(b) = groups[g].per_minute.get_mut(slot)
            {
                *b = u32::try_from(n).unwrap_or(u32::MAX);
            }
        }
        groups.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(b.last_seen.cmp(&a.last_seen))
                .then_with(|| a.error_code.cmp(&b.error_code))
                .then_with(|| a.table.cmp(&b.table))
        });
        Ok(groups)
    }

    /// Marks these message ids acknowledged (hidden from the default view; kept).
    pub fn acknowledge(
        &self,
        kind: NotificationKind,
        message_ids: &[String],
    ) -> Result<AckOutcome> {
        self.set_ack(kind, message_ids, Some(ms(Utc::now())))
    }

    /// Clears the acknowledgement of these message ids.
    pub fn unacknowledge(
        &self,
        kind: NotificationKind,
        message_ids: &[String],
    ) -> Result<AckOutcome> {
        self.set_ack(kind, message_ids, None)
    }

    fn set_ack(
        &self,
        kind: NotificationKind,
        message_ids: &[String],
        at: Option<i64>,
    ) -> Result<AckOutcome> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db_error)?;
        let mut out = AckOutcome::default();
        {
            let mut find = tx
                .prepare_cached(
                    "SELECT acknowledged_ms IS NOT NULL FROM notifications
                     WHERE cluster = ?1 AND kind = ?2 AND message_id = ?3",
                )
                .map_err(db_error)?;
            let mut set = tx
                .prepare_cached(
                    "UPDATE notifications SET acknowledged_ms = ?4
                     WHERE cluster = ?1 AND kind = ?2 AND message_id = ?3",
                )
                .map_err(db_error)?;
            for id in message_ids {
                let acked: Option<bool> = find
                    .query_row(params![self.cluster, kind.as_str(), id], |r| r.get(0))
                    .map(Some)
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        e => Err(e),
                    })
                    .map_err(db_error)?;
                match acked {
                    None => out.unknown.push(id.clone()),
                    Some(a) if a == at.is_some() => out.unchanged += 1,
                    Some(_) => {
                        set.execute(params![self.cluster, kind.as_str(), id, at])
                            .map_err(db_error)?;
                        out.changed += 1;
                    }
                }
            }
        }
        tx.commit().map_err(db_error)?;
        Ok(out)
    }

    /// The WHERE clause of `q` for this cluster, with its arguments.
    fn filter(&self, q: &InboxQuery) -> (String, Vec<SqlValue>) {
        let mut sql = String::from("cluster = ? AND kind = ?");
        let mut args = vec![
            SqlValue::Text(self.cluster.clone()),
            SqlValue::Text(q.kind.as_str().into()),
        ];
        match q.acked {
            AckFilter::Unacked => sql.push_str(" AND acknowledged_ms IS NULL"),
            AckFilter::Acked => sql.push_str(" AND acknowledged_ms IS NOT NULL"),
            AckFilter::All => {}
        }
        if let Some(s) = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            // instr, not LIKE: no wildcards to escape, and the text is lower-cased in Rust
            // (SQLite's lower() knows ASCII only).
            sql.push_str(" AND instr(search_text, ?) > 0");
            args.push(SqlValue::Text(s.to_lowercase()));
        }
        (sql, args)
    }
}

/// Age first, then the row cap (least recently seen go first).
fn prune(
    conn: &Connection,
    settings: InboxSettings,
    now: DateTime<Utc>,
) -> rusqlite::Result<usize> {
    let mut dropped = 0;
    if settings.retention_days > 0 {
        let cutoff = ms(now) - i64::from(settings.retention_days) * 86_400_000;
        dropped += conn.execute(
            "DELETE FROM notifications WHERE last_seen_ms < ?1",
            params![cutoff],
        )?;
    }
    if settings.max_rows > 0 {
        let cap = i64::try_from(settings.max_rows).unwrap_or(i64::MAX);
        dropped += conn.execute(
            "DELETE FROM notifications WHERE id IN (SELECT id FROM notifications
             ORDER BY last_seen_ms ASC, id ASC
             LIMIT max(0, (SELECT count(*) FROM notifications) - ?1))",
            params![cap],
        )?;
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests;
