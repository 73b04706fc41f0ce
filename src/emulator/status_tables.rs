//! Date-suffixed status tables that rotate, as a real DM hands them out
//! (`ingestionsstatus20190505` with a SAS valid about four days, `sp=raud`: azure-kusto-java
//! `ingest/src/test/java/com/microsoft/azure/kusto/ingest/QueuedIngestClientTest.java`,
//! `IngestFromBlob_IngestionReportMethodIsTable_RemovesSecrets`).
//!
//! `.get ingestion resources` hands out the current table; old tables are never dropped, so a
//! source keeps updating the table its message names while its SAS lasts.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use crate::client::storage::Storage;
use crate::emulator::Issuer;
use crate::emulator::storage::Store;

const PREFIX: &str = "ingestionsstatus";

/// Where new tables are created.
#[derive(Clone)]
pub enum TableHome {
    Builtin(Arc<Store>),
    External {
        storage: Storage,
        issuer: Arc<Issuer>,
    },
}

struct State {
    /// The date in the current table's name (a logical date when rotation is sped up).
    date: NaiveDate,
    since: DateTime<Utc>,
    names: Vec<String>,
}

pub struct StatusTables {
    home: TableHome,
    /// `None`: a new table when the UTC date changes; `Some(d)`: every `d` (tests, demos).
    rotation: Option<Duration>,
    state: tokio::sync::Mutex<State>,
}

pub fn table_name(date: NaiveDate) -> String {
    format!("{PREFIX}{}", date.format("%Y%m%d"))
}

impl StatusTables {
    /// Creates today's table.
    pub async fn start(
        home: TableHome,
        rotation: Option<Duration>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<StatusTables> {
        let date = now.date_naive();
        let name = table_name(date);
        create(&home, &name).await?;
        Ok(StatusTables {
            home,
            rotation,
            state: tokio::sync::Mutex::new(State {
                date,
                since: now,
                names: vec![name],
            }),
        })
    }

    /// The table to hand out now, rotating first when its day is over.
    pub async fn current(&self, now: DateTime<Utc>) -> anyhow::Result<String> {
        let mut st = self.state.lock().await;
        let next = match self.rotation {
            None if now.date_naive() > st.date => Some(now.date_naive()),
            Some(every) if elapsed(st.since, now) >= every => st.date.succ_opt(),
            _ => None,
        };
        if let Some(date) = next {
            self.switch(&mut st, date, now).await?;
        }
        st.names
            .last()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no status table"))
    }

    /// Moves to the next day's table now (`.rotate emulator status table`).
    pub async fn rotate(&self, now: DateTime<Utc>) -> anyhow::Result<String> {
        let mut st = self.state.lock().await;
        let date = st
            .date
            .succ_opt()
            .ok_or_else(|| anyhow::anyhow!("no date after {}", st.date))?;
        self.switch(&mut st, date, now).await?;
        Ok(table_name(date))
    }

    /// Every table handed out so far, oldest first.
    pub async fn names(&self) -> Vec<String> {
        self.state.lock().await.names.clone()
    }

    async fn switch(
        &self,
        st: &mut State,
        date: NaiveDate,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let name = table_name(date);
        create(&self.home, &name).await?;
        tracing::info!(table = %name, "status table rotated");
        st.date = date;
        st.since = now;
        if !st.names.contains(&name) {
            st.names.push(name);
        }
        Ok(())
    }
}

fn elapsed(since: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (now - since).to_std().unwrap_or(Duration::ZERO)
}

async fn create(home: &TableHome, name: &str) -> anyhow::Result<()> {
    match home {
        TableHome::Builtin(store) => {
            store.create_table(name);
            Ok(())
        }
        TableHome::External { storage, issuer } => {
            crate::emulator::connection::create_table(storage, issuer, name).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).single().unwrap()
    }

    #[tokio::test]
    async fn daily_by_default_and_on_demand() {
        let store = Arc::new(Store::new());
        let t = StatusTables::start(TableHome::Builtin(store.clone()), None, at(1, 10))
            .await
            .unwrap();
        assert_eq!(
            t.current(at(1, 23)).await.unwrap(),
            "ingestionsstatus20261201"
        );
        assert_eq!(
            t.current(at(2, 0)).await.unwrap(),
            "ingestionsstatus20261202"
        );
        assert_eq!(
            t.rotate(at(2, 1)).await.unwrap(),
            "ingestionsstatus20261203"
        );
        assert_eq!(
            t.current(at(2, 2)).await.unwrap(),
            "ingestionsstatus20261203"
        );
        assert_eq!(t.names().await.len(), 3);
        for n in t.names().await {
            assert!(store.table_exists(&n), "{n} kept");
        }
    }

    #[tokio::test]
    async fn sped_up_rotation_advances_a_logical_day() {
        let store = Arc::new(Store::new());
        let every = Some(Duration::from_secs(3600));
        let t = StatusTables::start(TableHome::Builtin(store), every, at(1, 10))
            .await
            .unwrap();
        assert_eq!(
            t.current(at(1, 10)).await.unwrap(),
            "ingestionsstatus20261201"
        );
        assert_eq!(
            t.current(at(1, 11)).await.unwrap(),
            "ingestionsstatus20261202"
        );
        assert_eq!(
            t.current(at(1, 11)).await.unwrap(),
            "ingestionsstatus20261202"
        );
    }
}
