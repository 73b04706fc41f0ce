"""Stream a CSV and a JSON file into `kingest emulator` with the official azure-kusto-ingest
SDK's KustoStreamingIngestClient (and, when asked, its ManagedStreamingIngestClient), then
count the rows with a query through azure-kusto-data. Prints one JSON line; exit 0 when every
ingest call returned and the counts grew by the files' record counts."""
import json
import sys

from azure.kusto.data import KustoClient, KustoConnectionStringBuilder
from azure.kusto.data.data_format import DataFormat
from azure.kusto.ingest import (
    IngestionMappingKind,
    IngestionProperties,
    KustoStreamingIngestClient,
    ManagedStreamingIngestClient,
)

url, database, csv_path, json_path, mode = sys.argv[1:6]
kcsb = KustoConnectionStringBuilder.with_no_authentication(url)
query = KustoClient(kcsb)


def count(table):
    rows = query.execute_mgmt(database, ".show tables details").primary_results[0]
    return next(r["TotalRowCount"] for r in rows if r["TableName"] == table)


if mode == "managed":
    client = ManagedStreamingIngestClient(kcsb)
else:
    client = KustoStreamingIngestClient(kcsb, auto_correct_endpoint=True)
before = {"Events": count("Events"), "Metrics": count("Metrics")}
results = []
results.append(client.ingest_from_file(
    csv_path, ingestion_properties=IngestionProperties(database=database, table="Events",
                                                        data_format=DataFormat.CSV)))
results.append(client.ingest_from_file(
    json_path, ingestion_properties=IngestionProperties(
        database=database, table="Metrics", data_format=DataFormat.JSON,
        ingestion_mapping_reference="MetricsJson", ingestion_mapping_kind=IngestionMappingKind.JSON)))
after = {"Events": count("Events"), "Metrics": count("Metrics")}
print(json.dumps({
    "statuses": [str(r.status) for r in results],
    "added": {t: after[t] - before[t] for t in after},
}))
