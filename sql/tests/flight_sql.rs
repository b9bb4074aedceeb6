//! The Flight SQL endpoint answered by arrow-flight's own Flight SQL client over TCP on
//! the loopback interface: DDL and UPSERT through `execute_update`, a query through
//! `execute` + `do_get`, and a bad statement's error.

use std::sync::Arc;

use arrow_flight::sql::client::FlightSqlServiceClient;
use datafusion::arrow::array::{Array, Int64Array, StringArray};
use datafusion::arrow::record_batch::RecordBatch;
use futures::TryStreamExt;
use sql::Session;
use store_server::Connection;

fn fail<T>(e: impl std::fmt::Display) -> T {
    panic!("{e}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flight_sql_client_round_trip() {
    let dir = tempfile::tempdir().unwrap_or_else(fail);
    let conn = Arc::new(Connection::embedded(dir.path()).unwrap_or_else(fail));
    let session = Arc::new(Session::new(conn).unwrap_or_else(fail));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(fail);
    let addr = listener.local_addr().unwrap_or_else(fail);
    let server = tokio::spawn(sql::flight::serve(session, listener));

    let channel = tonic::transport::Endpoint::new(format!("http://{addr}"))
        .unwrap_or_else(fail)
        .connect()
        .await
        .unwrap_or_else(fail);
    let mut client = FlightSqlServiceClient::new(channel);
    client
        .execute_update(
            "CREATE TABLE t (k VARCHAR PRIMARY KEY, v BIGINT)".into(),
            None,
        )
        .await
        .unwrap_or_else(fail);
    let values: Vec<String> = (0..100).map(|i| format!("('k{i:03}', {i})")).collect();
    let n = client
        .execute_update(format!("UPSERT INTO t VALUES {}", values.join(",")), None)
        .await
        .unwrap_or_else(fail);
    assert_eq!(n, 100);

    let info = client
        .execute(
            "SELECT k, v * 2 AS d FROM t WHERE k >= 'k090' ORDER BY k".into(),
            None,
        )
        .await
        .unwrap_or_else(fail);
    let mut batches: Vec<RecordBatch> = Vec::new();
    for ep in info.endpoint {
        let ticket = ep
            .ticket
            .unwrap_or_else(|| panic!("endpoint without ticket"));
        let stream = client.do_get(ticket).await.unwrap_or_else(fail);
        batches.extend(stream.try_collect::<Vec<_>>().await.unwrap_or_else(fail));
    }
    let mut keys = Vec::new();
    let mut doubled = Vec::new();
    for b in &batches {
        let k = b.column(0).as_any().downcast_ref::<StringArray>();
        let d = b.column(1).as_any().downcast_ref::<Int64Array>();
        let (Some(k), Some(d)) = (k, d) else {
            panic!("unexpected types {:?}", b.schema())
        };
        for i in 0..k.len() {
            keys.push(k.value(i).to_string());
            doubled.push(d.value(i));
        }
    }
    assert_eq!(
        keys,
        (90..100).map(|i| format!("k{i:03}")).collect::<Vec<_>>()
    );
    assert_eq!(doubled, (90..100).map(|i| i * 2).collect::<Vec<i64>>());

    let err = client
        .execute("SELECT nope FROM t".into(), None)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("nope"), "{err}");
    server.abort();
}
