//! `basalt sql-server`: an Arrow Flight SQL endpoint over a [`Session`]. Queries
//! (`CommandStatementQuery`) run when the client asks for their `FlightInfo`; the result is
//! kept under a one-time ticket until the client fetches it with `DoGet`. Updates and DDL
//! (`CommandStatementUpdate`) return the affected row count. Prepared statements, catalog
//! metadata commands and transactions are not implemented (the server answers
//! `unimplemented`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    CommandStatementQuery, CommandStatementUpdate, ProstMessageExt, SqlInfo, TicketStatementQuery,
};
use arrow_flight::{FlightDescriptor, FlightEndpoint, FlightInfo, Ticket};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use futures::{Stream, StreamExt, TryStreamExt};
use parking_lot::Mutex;
use prost::Message;
use store_server::Connection;
use tonic::{Request, Response, Status};

use crate::error::{Result, SqlError};
use crate::session::{Output, Session};

/// Arguments of `basalt sql-server`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Example:\n  basalt sql-server --port 50051   # then connect any Flight SQL client to grpc://127.0.0.1:50051"
)]
pub struct SqlServerArgs {
    /// TCP port to listen on.
    #[arg(long, default_value_t = 50051)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
}

/// The Flight SQL service.
pub struct FlightSqlEndpoint {
    session: Arc<Session>,
    results: Mutex<HashMap<u64, (SchemaRef, Vec<RecordBatch>)>>,
    next: AtomicU64,
}

impl FlightSqlEndpoint {
    /// A service answering with `session`.
    pub fn new(session: Arc<Session>) -> FlightSqlEndpoint {
        FlightSqlEndpoint {
            session,
            results: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
        }
    }
}

fn status(e: SqlError) -> Status {
    Status::invalid_argument(e.to_string())
}

#[tonic::async_trait]
impl FlightSqlService for FlightSqlEndpoint {
    type FlightService = FlightSqlEndpoint;

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        let out = self.session.run(&query.query).await.map_err(status)?;
        let (schema, batches) = match out {
            Output::Rows { schema, batches } => {
                without_views(&schema, &batches).map_err(|e| Status::internal(e.to_string()))?
            }
            other => {
                let text =
                    crate::format::render(&other, crate::format::Format::Table).map_err(status)?;
                let schema = Arc::new(Schema::new(vec![Field::new(
                    "result",
                    DataType::Utf8,
                    false,
                )]));
                let arr = Arc::new(datafusion::arrow::array::StringArray::from(vec![text]));
                let b = RecordBatch::try_new(schema.clone(), vec![arr])
                    .map_err(|e| Status::internal(e.to_string()))?;
                (schema, vec![b])
            }
        };
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.results.lock().insert(id, (schema.clone(), batches));
        let ticket = TicketStatementQuery {
            statement_handle: id.to_be_bytes().to_vec().into(),
        };
        let endpoint =
            FlightEndpoint::new().with_ticket(Ticket::new(ticket.as_any().encode_to_vec()));
        let info = FlightInfo::new()
            .try_with_schema(&schema)
            .map_err(|e| Status::internal(e.to_string()))?
            .with_descriptor(request.into_inner())
            .with_endpoint(endpoint)
            .with_total_records(rows as i64)
            .with_ordered(true);
        Ok(Response::new(info))
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        _request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let id = <[u8; 8]>::try_from(ticket.statement_handle.as_ref())
            .map(u64::from_be_bytes)
            .map_err(|_| Status::invalid_argument("malformed statement handle"))?;
        let (schema, batches) = self
            .results
            .lock()
            .remove(&id)
            .ok_or_else(|| Status::not_found("unknown or already fetched statement handle"))?;
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(futures::stream::iter(batches.into_iter().map(Ok)))
            .map_err(Status::from);
        let boxed: Pin<
            Box<dyn Stream<Item = std::result::Result<arrow_flight::FlightData, Status>> + Send>,
        > = Box::pin(stream.boxed());
        Ok(Response::new(boxed))
    }

    async fn do_put_statement_update(
        &self,
        ticket: CommandStatementUpdate,
        _request: Request<PeekableFlightDataStream>,
    ) -> std::result::Result<i64, Status> {
        match self.session.run(&ticket.query).await.map_err(status)? {
            Output::Affected { rows, .. } => Ok(rows as i64),
            Output::Rows { batches, .. } => Ok(batches.iter().map(|b| b.num_rows() as i64).sum()),
            Output::Done(_) => Ok(0),
        }
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}

/// Serves Flight SQL on `listener` until the process ends.
pub async fn serve(session: Arc<Session>, listener: tokio::net::TcpListener) -> Result<()> {
    let svc = FlightServiceServer::new(FlightSqlEndpoint::new(session));
    tonic::transport::Server::builder()
        .add_service(svc)
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
        .await
        .map_err(|e| SqlError::invalid(format!("flight sql server: {e}")))
}

/// Runs `basalt sql-server` against the store at `root`.
pub fn run_server(root: Option<PathBuf>, args: SqlServerArgs) -> ExitCode {
    let root = crate::cli::resolve_root(root);
    let result = (|| -> Result<()> {
        let conn = Arc::new(Connection::embedded(&root)?);
        let rt = crate::cli::runtime()?;
        let session = Arc::new(Session::new(conn.clone())?);
        let addr = SocketAddr::new(args.host, args.port);
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            eprintln!(
                "basalt sql-server: Flight SQL on grpc://{} (store {})",
                listener.local_addr()?,
                root.display()
            );
            serve(session, listener).await
        })?;
        conn.close()?;
        Ok(())
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ERROR: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The results with string and binary views as plain `Utf8`/`Binary` columns, which every
/// Flight SQL client reads (view types are recent in Arrow's IPC format).
fn without_views(
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> std::result::Result<(SchemaRef, Vec<RecordBatch>), ArrowError> {
    let plain = |t: &DataType| match t {
        DataType::Utf8View => DataType::Utf8,
        DataType::BinaryView => DataType::Binary,
        other => other.clone(),
    };
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_data_type(plain(f.data_type())))
        .collect();
    let out = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let batches = batches
        .iter()
        .map(|b| {
            let columns = b
                .columns()
                .iter()
                .map(|c| cast(c, &plain(c.data_type())))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let rows = RecordBatchOptions::new().with_row_count(Some(b.num_rows()));
            RecordBatch::try_new_with_options(out.clone(), columns, &rows)
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((out, batches))
}
