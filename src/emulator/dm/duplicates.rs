//! The same blob posted twice into one batch: "only one copy of the blob will be used for
//! ingestion" (dataexplorer-docs `error-codes.md`, `BlobAlreadyReceived_BlobAlreadyFoundInBatch`,
//! Permanent). The docs say nothing of copies in different batches; those are ingested again
//! (dedup across batches is what `ingestIfNotExists` / `ingest-by:` tags are for).

/// The service's error code for a later copy of a blob in the same batch.
pub const FOUND_IN_BATCH: &str = "BlobAlreadyReceived_BlobAlreadyFoundInBatch";

use super::{Pending, ReportIds, Worker, permanent, source_path};
use crate::client::storage::SasUrl;
use crate::client::wire::{IngestionMessage, IngestionStatusInTable};

impl Worker {
    /// Answers a later copy of a blob in this batch; a status row shared with the kept copy is
    /// left to that copy.
    pub(super) async fn answer_duplicate(&self, dup: &Pending, kept: &Pending, operation_id: &str) {
        let f = permanent(
            FOUND_IN_BATCH,
            format!(
                "the blob {} is already in this batch (source {}); only one copy is ingested",
                source_path(&dup.msg.blob_path),
                kept.msg.id
            ),
        );
        let ids = ReportIds {
            operation_id: operation_id.to_string(),
            activity_id: uuid::Uuid::new_v4().to_string(),
        };
        let mut msg = dup.msg.clone();
        if same_status_row(&dup.msg, &kept.msg) {
            msg.ingestion_status_in_table = None;
        }
        tracing::info!(source_id = %msg.id, "duplicate blob in batch");
        self.finish(&msg, Err(f), &ids, None).await;
        self.delete_message(&dup.queue, &dup.message_id, &dup.pop_receipt)
            .await;
    }
}

/// Whether two messages name the same status entity.
fn same_status_row(a: &IngestionMessage, b: &IngestionMessage) -> bool {
    match (&a.ingestion_status_in_table, &b.ingestion_status_in_table) {
        (Some(x), Some(y)) => {
            let table = |t: &IngestionStatusInTable| {
                SasUrl::parse(&t.table_connection_string)
                    .map(|u| (u.without_query(), u.query_param("tn")))
                    .ok()
            };
            x.partition_key == y.partition_key && x.row_key == y.row_key && table(x) == table(y)
        }
        _ => false,
    }
}
