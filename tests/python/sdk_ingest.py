"""Ingest a file (CSV, or the format named by an optional fifth argument, e.g. parquet) through
`kingest emulator` with the official azure-kusto-ingest SDK, then find the success notification
with its KustoIngestStatusQueues. Prints one JSON line; exit 0 on success, 1 when a failure
notification came back, 2 on timeout."""
import json
import sys
import time

from azure.kusto.data import KustoConnectionStringBuilder
from azure.kusto.data.data_format import DataFormat
from azure.kusto.ingest import IngestionProperties, QueuedIngestClient, ReportLevel
from azure.kusto.ingest.status import KustoIngestStatusQueues

url, database, table, path = sys.argv[1:5]
data_format = DataFormat[sys.argv[5].upper()] if len(sys.argv) > 5 else DataFormat.CSV
kcsb = KustoConnectionStringBuilder.with_no_authentication(url)
client = QueuedIngestClient(kcsb, auto_correct_endpoint=False)
props = IngestionProperties(
    database=database,
    table=table,
    data_format=data_format,
    report_level=ReportLevel.FailuresAndSuccesses,
    flush_immediately=True,
)
result = client.ingest_from_file(path, ingestion_properties=props)
source_id = str(result.source_id)
queues = KustoIngestStatusQueues(client)
deadline = time.time() + 60
while time.time() < deadline:
    for kind, queue in (("success", queues.success), ("failure", queues.failure)):
        for message in queue.peek(31):
            if str(message.IngestionSourceId) == source_id:
                print(json.dumps({"found": kind, "source_id": source_id, "database": message.Database,
                                  "table": message.Table, "raw": str(message)}))
                sys.exit(0 if kind == "success" else 1)
    time.sleep(0.3)
print(json.dumps({"found": None, "source_id": source_id}))
sys.exit(2)
