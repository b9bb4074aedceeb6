//! `StoreScanExec`: the physical scan of a store table. Each partition is one region (or a
//! group of regions) with the key ranges that fall into it; partitions run in parallel on
//! blocking threads, decode rows into Arrow batches, stop early at a LIMIT, and count what
//! they read in [`ScanMetrics`].

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::Result as DfResult;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr, PhysicalSortExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::filter_pushdown::{
    ChildPushdownResult, FilterPushdownPhase, FilterPushdownPropagation, PushedDown,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use store_server::rowkey::SqlType;
use store_server::scan::{Filter, Scan};
use store_server::typed::TypedSchema;
use store_server::{RowCells, Table};

use crate::columnar::ColumnarRead;
use crate::columns::{ColumnBuilder, KeyDecoder};
use crate::error::to_df;
use crate::keyrange::ByteRange;
use crate::runtime_filter::RuntimeFilter;

/// Rows per Arrow batch produced by a scan partition.
pub const BATCH_ROWS: usize = 8192;
/// Rows in a partition's first batch.
pub const FIRST_BATCH_ROWS: usize = 1024;

/// Counters of what scans read, shared by every scan of a session (reset by tests).
#[derive(Debug, Default)]
pub struct ScanMetrics {
    /// Regions opened (one per region and key range piece group of a partition).
    pub regions: AtomicU64,
    /// Key ranges scanned.
    pub ranges: AtomicU64,
    /// Rows returned by the store.
    pub rows: AtomicU64,
    /// Cells returned by the store.
    pub cells: AtomicU64,
    /// Pieces (key ranges within one region) read from a columnar copy instead.
    pub columnar: AtomicU64,
    /// Row groups of columnar copies skipped because no row could pass a runtime filter.
    pub pruned: AtomicU64,
}

/// A plain copy of [`ScanMetrics`] (plus blocks, measured by the session).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Regions opened.
    pub regions: u64,
    /// Key ranges scanned.
    pub ranges: u64,
    /// Rows read.
    pub rows: u64,
    /// Cells read.
    pub cells: u64,
    /// Pieces served by columnar copies.
    pub columnar: u64,
    /// Row groups of copies skipped by runtime filters.
    pub pruned: u64,
    /// HFile blocks touched (read from disk or served by the block cache).
    pub blocks: u64,
}

impl ScanMetrics {
    /// Resets every counter to zero.
    pub fn reset(&self) {
        for c in [
            &self.regions,
            &self.ranges,
            &self.rows,
            &self.cells,
            &self.columnar,
            &self.pruned,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// The current counts (blocks left at 0).
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            regions: self.regions.load(Ordering::Relaxed),
            ranges: self.ranges.load(Ordering::Relaxed),
            rows: self.rows.load(Ordering::Relaxed),
            cells: self.cells.load(Ordering::Relaxed),
            columnar: self.columnar.load(Ordering::Relaxed),
            pruned: self.pruned.load(Ordering::Relaxed),
            blocks: 0,
        }
    }
}

/// Where an output column's value comes from.
#[derive(Clone, Debug)]
pub enum ColumnSource {
    /// Primary-key column at this key position (decoded from the row key).
    Key(usize),
    /// The whole row key of a raw table (UTF-8 if `ty` is VARCHAR, lossily).
    RowKey,
    /// A cell; `raw` cells are read as bytes/lossy UTF-8 instead of typed values.
    Cell {
        /// Family.
        family: Vec<u8>,
        /// Qualifier.
        qualifier: Vec<u8>,
        /// Raw table column (no typed decoding).
        raw: bool,
    },
}

/// What a scan reads and how it turns rows into columns.
pub struct ScanSpec {
    /// The table handle.
    pub table: Arc<dyn Table>,
    /// The table's display name.
    pub table_name: String,
    /// Typed schema (for key decoding), if the table is typed or a view.
    pub typed: Option<Arc<TypedSchema>>,
    /// Output columns: (source, SQL type).
    pub columns: Vec<(ColumnSource, SqlType)>,
    /// The store scan template (columns, filter); start/stop rows are set per range.
    pub scan: Scan,
    /// Stop after this many rows per partition.
    pub limit: Option<usize>,
    /// Shared counters.
    pub metrics: Arc<ScanMetrics>,
    /// Where the table's columnar copies can stand in for the store (typed tables, scans of
    /// ranges rather than points).
    pub columnar: Option<ColumnarRead>,
}

impl fmt::Debug for ScanSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScanSpec")
            .field("table", &self.table_name)
            .field("limit", &self.limit)
            .finish()
    }
}

/// EXPLAIN details of a scan.
#[derive(Clone, Debug, Default)]
pub struct ScanExplain {
    /// Key ranges decoded to values.
    pub ranges: Vec<String>,
    /// Number of byte ranges after salting and merging.
    pub byte_ranges: usize,
    /// Salt buckets scanned.
    pub buckets: Option<usize>,
    /// Families (and qualifiers) read.
    pub columns: Vec<String>,
    /// Filters evaluated in the store.
    pub store_filters: Vec<String>,
    /// Regions touched.
    pub regions: usize,
    /// Whether the regions' columnar copies may be read instead of the store.
    pub columnar: bool,
}

/// One piece of work: a key range inside one region.
#[derive(Clone, Debug)]
pub struct Piece {
    /// Index of the region (for counting distinct regions).
    pub region: usize,
    /// The range, clipped to the region.
    pub range: ByteRange,
    /// True for the second and later parts of a range split between partitions: it is not
    /// counted again as a region opened or a range scanned.
    pub continues: bool,
}

/// The physical scan node.
#[derive(Clone, Debug)]
pub struct StoreScanExec {
    spec: Arc<ScanSpec>,
    partitions: Vec<Vec<Piece>>,
    schema: SchemaRef,
    explain: ScanExplain,
    props: Arc<PlanProperties>,
    /// Filters pushed down by consumers while the query runs (a top-N's cut-off).
    runtime: RuntimeFilter,
    /// Conjuncts of the pushed-down filters that the key ranges enforce exactly, over the
    /// output columns: a filter above the scan need not evaluate them.
    exact: Vec<Arc<dyn PhysicalExpr>>,
}

impl StoreScanExec {
    /// A scan over `partitions` (each a list of pieces) producing `schema`, every partition's
    /// rows in `ordering` (the row-key order as far as output columns show it; empty when
    /// they do not).
    pub fn new(
        spec: ScanSpec,
        partitions: Vec<Vec<Piece>>,
        schema: SchemaRef,
        ordering: Vec<PhysicalSortExpr>,
        explain: ScanExplain,
    ) -> StoreScanExec {
        let n = partitions.len().max(1);
        let props = PlanProperties::new(
            EquivalenceProperties::new_with_orderings(schema.clone(), [ordering]),
            Partitioning::UnknownPartitioning(n),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        StoreScanExec {
            spec: Arc::new(spec),
            partitions,
            schema,
            explain,
            props: Arc::new(props),
            runtime: RuntimeFilter::default(),
            exact: Vec::new(),
        }
    }

    /// The scan, declaring `exact` as enforced by its key ranges.
    pub fn with_exact(mut self, exact: Vec<Arc<dyn PhysicalExpr>>) -> StoreScanExec {
        self.exact = exact;
        self
    }

    /// The predicates every row of this scan satisfies by construction.
    pub fn exact(&self) -> &[Arc<dyn PhysicalExpr>] {
        &self.exact
    }

    /// The EXPLAIN details.
    pub fn explain(&self) -> &ScanExplain {
        &self.explain
    }
}

impl DisplayAs for StoreScanExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let e = &self.explain;
        let shown = 8;
        let mut ranges = e
            .ranges
            .iter()
            .take(shown)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        if e.ranges.len() > shown {
            ranges.push_str(&format!(" ... {} more", e.ranges.len() - shown));
        }
        if matches!(t, DisplayFormatType::TreeRender) {
            return write!(f, "table={}", self.spec.table_name);
        }
        write!(
            f,
            "StoreScanExec: table={}, ranges={} {}, byte_ranges={}, buckets={}, regions={}, partitions={}, columns=[{}], store_filters=[{}], limit={}, columnar={}",
            self.spec.table_name,
            e.ranges.len(),
            ranges,
            e.byte_ranges,
            e.buckets.map(|b| b.to_string()).unwrap_or_else(|| "none".into()),
            e.regions,
            self.partitions.len(),
            e.columns.join(", "),
            e.store_filters.join(" AND "),
            self.spec.limit.map(|l| l.to_string()).unwrap_or_else(|| "none".into()),
            if e.columnar { "when current" } else { "no" },
        )?;
        if !self.runtime.is_empty() {
            let shown: Vec<String> = self.runtime.exprs().iter().map(|e| e.to_string()).collect();
            write!(f, ", runtime_filter=[{}]", shown.join(" AND "))?;
        }
        Ok(())
    }
}

impl ExecutionPlan for StoreScanExec {
    fn name(&self) -> &str {
        "StoreScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    /// Takes the dynamic filters consumers push down once the plan is built (a top-N's
    /// cut-off, a hash join's key bounds) as a [`RuntimeFilter`]. Each is reported as not
    /// applied, so the consumer keeps evaluating it: the scan only uses it to skip work.
    fn handle_child_pushdown_result(
        &self,
        phase: FilterPushdownPhase,
        child_pushdown_result: ChildPushdownResult,
        _config: &ConfigOptions,
    ) -> DfResult<FilterPushdownPropagation<Arc<dyn ExecutionPlan>>> {
        let filters: Vec<Arc<dyn PhysicalExpr>> = child_pushdown_result
            .parent_filters
            .into_iter()
            .map(|f| f.filter)
            .collect();
        let result = FilterPushdownPropagation::with_parent_pushdown_result(vec![
            PushedDown::No;
            filters.len()
        ]);
        if phase != FilterPushdownPhase::Post || filters.is_empty() {
            return Ok(result);
        }
        let mut node = self.clone();
        let mut exprs = self.runtime.exprs().to_vec();
        exprs.extend(filters);
        node.runtime = RuntimeFilter::new(exprs);
        Ok(result.with_updated_node(Arc::new(node)))
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let pieces = self.partitions.get(partition).cloned().unwrap_or_default();
        let spec = self.spec.clone();
        let schema = self.schema.clone();
        let runtime = self.runtime.clone();
        let (tx, rx) = tokio::sync::mpsc::channel::<DfResult<RecordBatch>>(2);
        let task_schema = schema.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = run_partition(&spec, &pieces, &task_schema, &runtime, &tx) {
                let _ = tx.blocking_send(Err(e));
            }
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

/// Whether a scan goes on after handing over a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Keep scanning.
    Continue,
    /// The consumer is done (a LIMIT above the scan is satisfied, or it hung up).
    Stop,
}

/// Scans the pieces of one partition, sending batches; returns early if the receiver hung
/// up (a LIMIT above us is satisfied) or the partition's limit is reached.
fn run_partition(
    spec: &ScanSpec,
    pieces: &[Piece],
    schema: &SchemaRef,
    runtime: &RuntimeFilter,
    tx: &tokio::sync::mpsc::Sender<DfResult<RecordBatch>>,
) -> DfResult<()> {
    scan_pieces(spec, pieces, schema, runtime, &mut |batch| {
        Ok(match tx.blocking_send(Ok(batch)) {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Stop,
        })
    })
}

/// Scans `pieces` into batches of `schema`, handing each to `emit`; a piece whose region has
/// a current columnar copy (see [`crate::columnar`]) is read from the copy instead of the
/// store, skipping row groups that cannot pass `runtime`. Stops when `emit` says so or the
/// spec's limit is reached.
pub fn scan_pieces(
    spec: &ScanSpec,
    pieces: &[Piece],
    schema: &SchemaRef,
    runtime: &RuntimeFilter,
    emit: &mut dyn FnMut(RecordBatch) -> DfResult<Flow>,
) -> DfResult<()> {
    let mut regions: Vec<usize> = pieces
        .iter()
        .filter(|p| !p.continues)
        .map(|p| p.region)
        .collect();
    regions.dedup();
    spec.metrics
        .regions
        .fetch_add(regions.len() as u64, Ordering::Relaxed);
    let mut builders: Vec<ColumnBuilder> = spec
        .columns
        .iter()
        .map(|(_, ty)| ColumnBuilder::new(*ty))
        .collect();
    // Key columns come from the row key (typed tables); without a schema they are NULL.
    let keys = spec.typed.as_ref().map(|t| {
        let n = t.primary_key.len();
        let wanted: Vec<(usize, usize)> = spec
            .columns
            .iter()
            .enumerate()
            .filter_map(|(i, (src, _))| match src {
                ColumnSource::Key(p) if *p < n => Some((*p, i)),
                _ => None,
            })
            .collect();
        KeyDecoder::new(t.clone(), &wanted)
    });
    let decoded_key = |p: usize| spec.typed.as_ref().is_some_and(|t| p < t.primary_key.len());
    let cells = CellColumns::new(&spec.columns);
    let mut found: Vec<Option<usize>> = Vec::new();
    let mut nrows = 0usize;
    let mut total = 0usize;
    let mut sent = 0usize;
    // Counted here and added to the shared metrics per batch: per-row atomic adds from
    // parallel partitions would contend on one cache line.
    let (mut rows_read, mut cells_read) = (0u64, 0u64);
    let count = |rows: &mut u64, cells: &mut u64| {
        spec.metrics
            .rows
            .fetch_add(std::mem::take(rows), Ordering::Relaxed);
        spec.metrics
            .cells
            .fetch_add(std::mem::take(cells), Ordering::Relaxed);
    };
    let limit = spec.limit.unwrap_or(usize::MAX);
    let mut pruner = runtime.pruner(schema, &spec.metrics.pruned);
    for piece in pieces {
        if total >= limit {
            break;
        }
        if !piece.continues {
            spec.metrics.ranges.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(columnar) = &spec.columnar {
            let read = columnar
                .read(&piece.range, limit - total, schema, &mut pruner, emit)
                .map_err(to_df)?;
            if let Some((n, flow)) = read {
                spec.metrics.columnar.fetch_add(1, Ordering::Relaxed);
                spec.metrics.rows.fetch_add(n as u64, Ordering::Relaxed);
                total += n;
                if flow == Flow::Stop {
                    return Ok(());
                }
                continue;
            }
        }
        let mut scan = spec.scan.clone();
        scan.start_row = piece.range.start.clone();
        scan.stop_row = piece.range.stop.clone();
        if spec.limit.is_some() {
            scan.limit = Some(limit - total);
        }
        let mut rows = spec.table.scan_cells(&scan).map_err(to_df)?;
        while let Some(row) = rows.next_row().map_err(to_df)? {
            rows_read += 1;
            cells_read += row.len() as u64;
            if let Some(k) = keys.as_ref().filter(|k| !k.is_empty()) {
                k.append(row.row(), &mut builders).map_err(to_df)?;
            }
            cells.find(row, &mut found);
            let mut next_cell = found.iter();
            for ((src, ty), b) in spec.columns.iter().zip(builders.iter_mut()) {
                match src {
                    ColumnSource::Key(p) => {
                        if !decoded_key(*p) {
                            b.append_null();
                        }
                    }
                    ColumnSource::RowKey => b.append_raw(row.row()),
                    ColumnSource::Cell { qualifier, raw, .. } => {
                        let value = next_cell
                            .next()
                            .and_then(|&i| row.cell(i?))
                            .map(|c| c.value);
                        match value {
                            None => b.append_null(),
                            Some(v) if *raw => b.append_raw(v),
                            Some(v) => b.append_cell(*ty, v).map_err(|e| {
                                to_df(format!(
                                    "table {}, row {}: column {}: {e}",
                                    spec.table_name,
                                    hfile::cell::to_string_binary(row.row()),
                                    String::from_utf8_lossy(qualifier)
                                ))
                            })?,
                        }
                    }
                }
            }
            nrows += 1;
            total += 1;
            // A small first batch lets a LIMIT above us finish (and hang up) early.
            let target = if sent == 0 {
                FIRST_BATCH_ROWS
            } else {
                BATCH_ROWS
            };
            if nrows >= target {
                sent += 1;
                let batch = make_batch(schema, &mut builders, nrows)?;
                nrows = 0;
                count(&mut rows_read, &mut cells_read);
                if emit(batch)? == Flow::Stop {
                    return Ok(());
                }
            }
            if total >= limit {
                break;
            }
        }
    }
    count(&mut rows_read, &mut cells_read);
    if nrows > 0 || total == 0 {
        let batch = make_batch(schema, &mut builders, nrows)?;
        emit(batch)?;
    }
    Ok(())
}

/// The cell columns of a scan, in (family, qualifier) order, so that one merge pass over a
/// row's sorted cells finds every wanted value.
struct CellColumns<'a> {
    /// (family, qualifier, index among the cell columns in output order), sorted.
    sorted: Vec<(&'a [u8], &'a [u8], usize)>,
}

impl<'a> CellColumns<'a> {
    fn new(columns: &'a [(ColumnSource, SqlType)]) -> CellColumns<'a> {
        let mut sorted: Vec<_> = columns
            .iter()
            .filter_map(|(src, _)| match src {
                ColumnSource::Cell {
                    family, qualifier, ..
                } => Some((family.as_slice(), qualifier.as_slice())),
                _ => None,
            })
            .enumerate()
            .map(|(i, (f, q))| (f, q, i))
            .collect();
        sorted.sort_unstable();
        CellColumns { sorted }
    }

    /// Sets `found[i]` to the position in `row` of the newest cell of the `i`-th cell
    /// column (`None` if the row has none).
    fn find(&self, row: &RowCells, found: &mut Vec<Option<usize>>) {
        found.clear();
        found.resize(self.sorted.len(), None);
        let mut wanted = self.sorted.iter().peekable();
        for (at, c) in row.cells().enumerate() {
            while let Some(&&(f, q, _)) = wanted.peek() {
                // Equality first: the scan returns mostly wanted columns.
                let order = if f == c.family && q == c.qualifier {
                    std::cmp::Ordering::Equal
                } else {
                    (f, q).cmp(&(c.family, c.qualifier))
                };
                match order {
                    std::cmp::Ordering::Less => {
                        wanted.next();
                    }
                    std::cmp::Ordering::Equal => {
                        // The newest version comes first; older ones leave it in place.
                        // (A column selected twice has one entry per selection.)
                        for &(_, _, i) in wanted.clone().take_while(|w| (w.0, w.1) == (f, q)) {
                            found[i].get_or_insert(at);
                        }
                        break;
                    }
                    std::cmp::Ordering::Greater => break,
                }
            }
        }
    }
}

fn make_batch(
    schema: &SchemaRef,
    builders: &mut [ColumnBuilder],
    nrows: usize,
) -> DfResult<RecordBatch> {
    let mut arrays = Vec::with_capacity(builders.len());
    for b in builders.iter_mut() {
        arrays.push(b.finish().map_err(to_df)?);
    }
    let opts =
        datafusion::arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(nrows));
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        arrays,
        &opts,
    )?)
}

/// Renders a store filter for EXPLAIN.
pub fn describe_filter(f: &Filter) -> String {
    match f {
        Filter::SingleColumnValue {
            family,
            qualifier,
            op,
            ..
        } => format!(
            "{}.{} {:?} <literal>",
            String::from_utf8_lossy(family),
            String::from_utf8_lossy(qualifier),
            op
        ),
        Filter::All(fs) => fs
            .iter()
            .map(describe_filter)
            .collect::<Vec<_>>()
            .join(" AND "),
        other => format!("{other:?}"),
    }
}
