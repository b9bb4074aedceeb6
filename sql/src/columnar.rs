//! Columnar copies: a Parquet file per quiet region of a typed table, read by scans instead of
//! the region's HFiles.
//!
//! A row store reads every cell of a row (with its key repeated) to aggregate one column; a
//! batch-analytics table is written in bulk and then read many times. So once a region is
//! *quiet* — every edit flushed, none in flight — its rows can be written once as Parquet (all
//! schema columns in the scan's Arrow types, plus the row key in [`ROW_COLUMN`]) and scans read
//! only the columns they need from that file.
//!
//! A copy is tied to what it was built from by its [`Tag`]: the region id, the region's last
//! sequence id and a hash of the table's schema and family options. Every write, delete and
//! bulk load takes a new sequence id, and a split makes new regions, so a copy is current
//! exactly while its region's last sequence id is unchanged; flushes and compactions keep the
//! visible rows and the sequence id. A copy is only built when the region is quiet (last
//! sequence id = read point, empty memstore) before and after its scan, for tables without a
//! TTL (expiry changes rows without a write), and when every row carries the `0:_0` marker
//! (so "row exists" means the same in the copy as in the store). A scan falls back to the
//! store for any region without a current copy, so a stale or missing copy costs speed, never
//! correctness.
//!
//! Pages are LZ4-compressed when any family of the table is compressed, plain otherwise.
//! Copies live in `<root>/columnar/<table>/<region>/<seq>-<layout>.parquet`, written to a
//! temporary name and renamed, so a reader never sees half a file. They are built by
//! [`ColumnarCopies::build_table`] (after `basalt major-compact` of a typed table) and, in a
//! long-lived session, in the background: a range scan that finds no copy for a quiet region
//! at the same tag twice queues one.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Weak};

use datafusion::arrow::array::{Array, ArrayRef, BinaryArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::ScalarValue;
use parking_lot::{Condvar, Mutex};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::file::metadata::{KeyValue, PageIndexPolicy};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use store_server::region::Region;
use store_server::rowkey::{decode_key_column, SortOrder};
use store_server::scan::{prefix_stop_row, Scan};
use store_server::typed::{TypedSchema, DEFAULT_FAMILY, EMPTY_QUALIFIER};
use store_server::{Connection, TableDescriptor, TableName};

use crate::columns::ColumnBuilder;
use crate::error::{Result, SqlError};
use crate::keyrange::ByteRange;
use crate::provider::typed_source;
use crate::runtime_filter::{GroupPruner, RuntimeFilter};
use crate::scan_exec::{scan_pieces, ColumnSource, Flow, Piece, ScanMetrics, ScanSpec, BATCH_ROWS};
use crate::types::arrow_type;

/// The row-key column every copy ends with (binary, ascending).
pub const ROW_COLUMN: &str = "__row";
/// Rows per Parquet row group: the unit a runtime filter skips.
pub const ROW_GROUP_ROWS: usize = 16 * 1024;
/// Rows per entry of a copy's row-key index and per Parquet page (a divisor of
/// [`ROW_GROUP_ROWS`]): a key range reads the row keys of at most two such windows, and
/// the pages of the rows it selects.
pub const INDEX_ROWS: usize = 4 * 1024;
/// Version of the copies' file layout, part of every [`Tag`]: copies written by an older
/// layout are stale (2: strings are Arrow string views, a row-key index entry and a page
/// per [`INDEX_ROWS`] rows; 3: fixed-width columns plainly encoded; 4: so are the row keys).
const COPY_FORMAT: u32 = 4;
/// Parquet metadata key holding the first row key of every [`INDEX_ROWS`] rows (hex,
/// comma-separated).
const FIRST_ROWS_KEY: &str = "basalt.first_rows";

/// What a copy was built from: it is current while all three are unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tag {
    /// The region's id.
    pub region: u64,
    /// The region's last sequence id.
    pub seq: u64,
    /// Hash of the copy format, the table's SQL schema and family options.
    pub layout: u64,
}

impl Tag {
    fn file_name(&self) -> String {
        format!("{:016x}-{:016x}.parquet", self.seq, self.layout)
    }
}

/// A typed table whose regions may have copies.
#[derive(Clone, Debug)]
pub struct CopyTable {
    /// The store table.
    pub name: TableName,
    /// Its SQL schema.
    pub schema: Arc<TypedSchema>,
    /// Hash of the schema and the family options (part of every [`Tag`]).
    pub layout: u64,
}

impl CopyTable {
    /// The table of `desc` if copies can stand in for it: a typed table with the row marker
    /// and no TTL on any family.
    pub fn eligible(desc: &TableDescriptor, schema: &Arc<TypedSchema>) -> Option<CopyTable> {
        if !schema.marker || desc.families.iter().any(|f| f.ttl_secs.is_some()) {
            return None;
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        format!("{COPY_FORMAT}{schema:?}{:?}", desc.families).hash(&mut h);
        Some(CopyTable {
            name: desc.name.clone(),
            schema: schema.clone(),
            layout: h.finish(),
        })
    }

    /// The Arrow schema of a copy: every schema column, then [`ROW_COLUMN`].
    fn file_schema(&self) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .schema
            .columns
            .iter()
            .map(|c| Field::new(&c.name, arrow_type(c.sql_type), c.nullable))
            .collect();
        fields.push(Field::new(ROW_COLUMN, DataType::Binary, false));
        Arc::new(Schema::new(fields))
    }
}

/// One region's copy, open for reading.
#[derive(Debug)]
pub struct RegionCopy {
    tag: Tag,
    path: PathBuf,
    meta: ArrowReaderMetadata,
    /// The key of every [`INDEX_ROWS`]-th row.
    first_rows: Vec<Vec<u8>>,
    /// The first row of every row group, then the number of rows.
    group_starts: Vec<usize>,
    start: Vec<u8>,
    end: Vec<u8>,
}

impl RegionCopy {
    /// Opens the copy at `path` and checks its row-key index.
    fn open(tag: Tag, path: PathBuf, region: &Region) -> Result<RegionCopy> {
        let file = File::open(&path)?;
        // The offset index lets a row selection skip whole pages.
        let options = ArrowReaderOptions::new().with_offset_index_policy(PageIndexPolicy::Optional);
        let meta = ArrowReaderMetadata::load(&file, options).map_err(|e| corrupt(&path, e))?;
        let md = meta.metadata();
        let first_rows = md
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == FIRST_ROWS_KEY))
            .and_then(|k| k.value.as_deref())
            .map(decode_first_rows)
            .transpose()
            .map_err(|e| corrupt(&path, e))?
            .ok_or_else(|| corrupt(&path, "no row-key index"))?;
        let mut group_starts = vec![0usize];
        for g in md.row_groups() {
            let n = usize::try_from(g.num_rows()).map_err(|e| corrupt(&path, e))?;
            group_starts.push(group_starts[group_starts.len() - 1] + n);
        }
        let rows = group_starts[group_starts.len() - 1];
        if first_rows.len() != rows.div_ceil(INDEX_ROWS) {
            return Err(corrupt(&path, "row-key index does not match the rows"));
        }
        Ok(RegionCopy {
            tag,
            path,
            meta,
            first_rows,
            group_starts,
            start: region.info().start_key.clone(),
            end: region.info().end_key.clone(),
        })
    }

    /// Rows in the copy.
    pub fn rows(&self) -> u64 {
        u64::try_from(self.row_count()).unwrap_or(u64::MAX)
    }

    fn row_count(&self) -> usize {
        self.group_starts[self.group_starts.len() - 1]
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True if `range` covers the whole region.
    fn covers(&self, range: &ByteRange) -> bool {
        range.start <= self.start
            && (range.stop.is_empty() || (!self.end.is_empty() && range.stop >= self.end))
    }

    /// Rows `lo..hi` as the row groups holding them, each with the rows of it to read
    /// (`None`: all of them).
    fn select_rows(&self, lo: usize, hi: usize) -> Vec<(usize, Option<Vec<RowSelector>>)> {
        let mut out = Vec::new();
        for (g, w) in self.group_starts.windows(2).enumerate() {
            let (first, end) = (w[0], w[1]);
            if end <= lo || first >= hi || first == end {
                continue;
            }
            if lo <= first && end <= hi {
                out.push((g, None));
                continue;
            }
            let (a, b) = (lo.max(first) - first, hi.min(end) - first);
            let selectors = [
                RowSelector::skip(a),
                RowSelector::select(b - a),
                RowSelector::skip(end - first - b),
            ]
            .into_iter()
            .filter(|s| s.row_count > 0)
            .collect();
            out.push((g, Some(selectors)));
        }
        out
    }

    /// The number of rows whose key is below `key`: the index narrows it to one window of
    /// [`INDEX_ROWS`] rows, whose keys are read and searched.
    fn rows_below(&self, key: &[u8]) -> Result<usize> {
        let window = self.first_rows.partition_point(|f| f.as_slice() < key);
        // A key of the index (a cut of `cuts`) needs no read.
        if window == 0 || self.first_rows.get(window).is_some_and(|f| f == key) {
            return Ok(window * INDEX_ROWS);
        }
        let lo = (window - 1) * INDEX_ROWS;
        let hi = (lo + INDEX_ROWS).min(self.row_count());
        let row_col = self.meta.schema().fields().len() - 1;
        let mut keys: Vec<ArrayRef> = Vec::new();
        for (groups, selection) in self.chunks(self.select_rows(lo, hi), false) {
            for batch in self.reader(&[row_col], groups, selection)? {
                keys.push(batch.map_err(|e| corrupt(&self.path, e))?.column(0).clone());
            }
        }
        let refs: Vec<&dyn Array> = keys.iter().map(|a| a.as_ref()).collect();
        let all = datafusion::arrow::compute::concat(&refs)?;
        let rows = all
            .as_any()
            .downcast_ref::<BinaryArray>()
            .ok_or_else(|| corrupt(&self.path, "row-key column is not binary"))?;
        Ok(lo + partition(rows, |r| r < key))
    }

    /// Row keys that cut the rows of `range` into up to `parts` parts of at least
    /// `min_rows` rows each (as far as the row-key index tells: to within [`INDEX_ROWS`]),
    /// in order and strictly inside the range; none if the range is too small to cut. The
    /// cuts are keys of the index, so reading from one needs no key search.
    pub fn cuts(&self, range: &ByteRange, parts: usize, min_rows: usize) -> Vec<Vec<u8>> {
        let a = self.first_rows.partition_point(|f| *f <= range.start);
        let b = if range.stop.is_empty() {
            self.first_rows.len()
        } else {
            self.first_rows.partition_point(|f| *f < range.stop)
        };
        let inside = b.saturating_sub(a);
        let k = parts
            .min(inside * INDEX_ROWS / min_rows.max(1))
            .min(inside + 1);
        (1..k)
            .map(|j| self.first_rows[a + j * inside / k].clone())
            .collect()
    }

    /// The row groups holding rows of `range`, each with the rows of it to read.
    fn plan(&self, range: &ByteRange) -> Result<Vec<(usize, Option<Vec<RowSelector>>)>> {
        if self.covers(range) {
            return Ok(self.select_rows(0, self.row_count()));
        }
        let lo = self.rows_below(&range.start)?;
        let hi = if range.stop.is_empty() {
            self.row_count()
        } else {
            self.rows_below(&range.stop)?
        };
        Ok(self.select_rows(lo, hi.max(lo)))
    }

    /// The reads of a plan: one for the whole plan, or one per row group (`per_group`),
    /// each as (row groups, selection).
    fn chunks(
        &self,
        plan: Vec<(usize, Option<Vec<RowSelector>>)>,
        per_group: bool,
    ) -> Vec<(Vec<usize>, Option<RowSelection>)> {
        let read = |part: Vec<(usize, Option<Vec<RowSelector>>)>| {
            let groups: Vec<usize> = part.iter().map(|p| p.0).collect();
            let selection = part.iter().any(|p| p.1.is_some()).then(|| {
                let selectors: Vec<RowSelector> = part
                    .into_iter()
                    .flat_map(|(g, sel)| {
                        sel.unwrap_or_else(|| {
                            let rows = self.group_starts[g + 1] - self.group_starts[g];
                            vec![RowSelector::select(rows)]
                        })
                    })
                    .collect();
                RowSelection::from(selectors)
            });
            (groups, selection)
        };
        if per_group {
            plan.into_iter().map(|p| read(vec![p])).collect()
        } else {
            vec![read(plan)]
        }
    }

    /// Opens a reader of columns `columns` (file indices) of row groups `groups`.
    fn reader(
        &self,
        columns: &[usize],
        groups: Vec<usize>,
        selection: Option<RowSelection>,
    ) -> Result<ParquetRecordBatchReader> {
        let mask = ProjectionMask::roots(self.meta.parquet_schema(), columns.iter().copied());
        let mut b = ParquetRecordBatchReaderBuilder::new_with_metadata(
            File::open(&self.path)?,
            self.meta.clone(),
        )
        .with_projection(mask)
        .with_row_groups(groups)
        .with_batch_size(BATCH_ROWS);
        if let Some(sel) = selection {
            b = b.with_row_selection(sel);
        }
        b.build().map_err(|e| corrupt(&self.path, e))
    }

    /// Reads the rows of `range`, columns `projection` (file column indices) as batches of
    /// `schema`, at most `limit` rows, skipping row groups `pruner` rules out; `constants`
    /// has one entry per projected column, and a column with a value there is that value in
    /// every row, not read. Returns the rows emitted and whether to go on.
    #[allow(clippy::too_many_arguments)]
    fn read(
        &self,
        range: &ByteRange,
        projection: &[usize],
        constants: &[Option<ScalarValue>],
        limit: usize,
        schema: &SchemaRef,
        pruner: &mut GroupPruner<'_>,
        emit: &mut dyn FnMut(RecordBatch) -> datafusion::error::Result<Flow>,
    ) -> Result<(usize, Flow)> {
        let plan = self.plan(range)?;
        // One reader for the whole plan, or one per row group when a runtime filter may
        // skip groups as it tightens.
        let chunks = self.chunks(plan, pruner.is_active());
        // File columns to read, in file order (the reader returns them so); a query that
        // needs no column (count(*)) reads the row keys for their number.
        let mut read: Vec<usize> = projection
            .iter()
            .zip(constants)
            .filter(|(_, k)| k.is_none())
            .map(|(&c, _)| c)
            .collect();
        if read.is_empty() {
            read.push(self.meta.schema().fields().len() - 1);
        }
        read.sort_unstable();
        read.dedup();
        let at = |c: usize| read.binary_search(&c).unwrap_or(0);
        let mut emitted = 0usize;
        'chunks: for (groups, selection) in chunks {
            if let [g] = groups.as_slice() {
                if pruner.skips(&self.meta, projection, *g) {
                    continue;
                }
            }
            for batch in self.reader(&read, groups, selection)? {
                let batch = batch.map_err(|e| corrupt(&self.path, e))?;
                let n = batch.num_rows().min(limit - emitted);
                let arrays = projection
                    .iter()
                    .zip(constants)
                    .map(|(&c, k)| match k {
                        Some(v) => v.to_array_of_size(n),
                        None => Ok(batch.column(at(c)).slice(0, n)),
                    })
                    .collect::<datafusion::error::Result<Vec<ArrayRef>>>()?;
                let opts = RecordBatchOptions::new().with_row_count(Some(n));
                let out = RecordBatch::try_new_with_options(schema.clone(), arrays, &opts)?;
                emitted += n;
                if emit(out)? == Flow::Stop {
                    return Ok((emitted, Flow::Stop));
                }
                if emitted >= limit {
                    break 'chunks;
                }
            }
        }
        Ok((emitted, Flow::Continue))
    }
}

/// The number of leading rows of the sorted `rows` for which `before` holds.
fn partition(rows: &BinaryArray, before: impl Fn(&[u8]) -> bool) -> usize {
    let (mut lo, mut hi) = (0, rows.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if before(rows.value(mid)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

fn corrupt(path: &Path, e: impl std::fmt::Display) -> SqlError {
    SqlError::invalid(format!("columnar copy {}: {e}", path.display()))
}

fn encode_first_rows(rows: &[Vec<u8>]) -> String {
    rows.iter()
        .map(|r| r.iter().map(|b| format!("{b:02x}")).collect::<String>())
        .collect::<Vec<_>>()
        .join(",")
}

fn decode_first_rows(s: &str) -> std::result::Result<Vec<Vec<u8>>, String> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|hex| {
            if hex.len() % 2 != 0 {
                return Err(format!("bad row key {hex:?}"));
            }
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|e| e.to_string()))
                .collect()
        })
        .collect()
}

/// What [`ColumnarCopies::build_table`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildReport {
    /// Regions with a current copy afterwards.
    pub regions: usize,
    /// Regions whose copy was written now (the others were current already).
    pub built: usize,
    /// Regions left without a copy (busy, rows without the marker), with the reason.
    pub skipped: Vec<String>,
    /// Rows in the current copies.
    pub rows: u64,
    /// Bytes of the current copies.
    pub bytes: u64,
}

/// A queued background build.
struct Job {
    conn: Arc<Connection>,
    table: CopyTable,
    region: Arc<Region>,
}

#[derive(Default)]
struct State {
    /// Open copies by region id (the newest known).
    copies: HashMap<u64, Arc<RegionCopy>>,
    /// The tag a scan last found without a copy, per region.
    seen: HashMap<u64, Tag>,
    /// Tags a build was refused for (not quiet, rows without the marker): not retried.
    refused: HashSet<Tag>,
    /// Regions queued or being built.
    pending: HashSet<u64>,
}

/// The columnar copies of one store (shared by a session's scans).
pub struct ColumnarCopies {
    dir: PathBuf,
    auto: AtomicBool,
    state: Mutex<State>,
    idle: Condvar,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    failures: AtomicU64,
    last_failure: Mutex<Option<String>>,
}

impl std::fmt::Debug for ColumnarCopies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ColumnarCopies")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl ColumnarCopies {
    /// Copies of the store at `conn` (kept under `<root>/columnar`), built in the
    /// background when `auto`.
    pub fn new(conn: &Connection, auto: bool) -> Arc<ColumnarCopies> {
        Arc::new(ColumnarCopies {
            dir: conn.server().root().join("columnar"),
            auto: AtomicBool::new(auto),
            state: Mutex::new(State::default()),
            idle: Condvar::new(),
            jobs: Mutex::new(None),
            failures: AtomicU64::new(0),
            last_failure: Mutex::new(None),
        })
    }

    /// Turns background builds on or off (copies already built are still read).
    pub fn set_auto(&self, auto: bool) {
        self.auto.store(auto, Ordering::Relaxed);
    }

    /// Waits until no background build is queued or running.
    pub fn wait_idle(&self) {
        let mut st = self.state.lock();
        while !st.pending.is_empty() {
            self.idle.wait(&mut st);
        }
    }

    /// Background builds that failed, and the last failure's message.
    pub fn failures(&self) -> (u64, Option<String>) {
        (
            self.failures.load(Ordering::Relaxed),
            self.last_failure.lock().clone(),
        )
    }

    fn table_dir(&self, name: &TableName) -> PathBuf {
        self.dir.join(name.to_string())
    }

    fn region_dir(&self, name: &TableName, region: &Region) -> PathBuf {
        self.table_dir(name).join(region.encoded_name())
    }

    /// Removes every copy of table `name` (it was dropped).
    pub fn remove_table(&self, name: &TableName) -> Result<()> {
        self.state.lock().copies.clear();
        match std::fs::remove_dir_all(self.table_dir(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// The current tag of `region` for `table`.
    fn tag(table: &CopyTable, region: &Region) -> Tag {
        Tag {
            region: region.info().region_id,
            seq: region.last_seq_id(),
            layout: table.layout,
        }
    }

    /// The current copy of `region`, if there is one (opened from disk on first use).
    pub fn current(&self, table: &CopyTable, region: &Region) -> Option<Arc<RegionCopy>> {
        let tag = Self::tag(table, region);
        if let Some(c) = self.state.lock().copies.get(&tag.region) {
            if c.tag == tag {
                return Some(c.clone());
            }
        }
        let path = self.region_dir(&table.name, region).join(tag.file_name());
        if !path.exists() {
            return None;
        }
        // A file that does not open is left to the next build to replace.
        let copy = Arc::new(RegionCopy::open(tag, path, region).ok()?);
        self.state.lock().copies.insert(tag.region, copy.clone());
        Some(copy)
    }

    /// Notes that a scan of `region` found no current copy; queues a background build when
    /// the same tag was seen before and the region is quiet.
    fn missed(self: &Arc<Self>, conn: &Arc<Connection>, table: &CopyTable, region: &Arc<Region>) {
        if !self.auto.load(Ordering::Relaxed) {
            return;
        }
        let tag = Self::tag(table, region);
        {
            let mut st = self.state.lock();
            let again = st.seen.insert(tag.region, tag) == Some(tag);
            if !again
                || !quiet(region)
                || st.refused.contains(&tag)
                || !st.pending.insert(tag.region)
            {
                return;
            }
        }
        let job = Job {
            conn: conn.clone(),
            table: table.clone(),
            region: region.clone(),
        };
        if let Err(mpsc::SendError(job)) = self.sender().send(job) {
            self.finish(job.region.info().region_id);
        }
    }

    /// The background builder's queue, starting its thread on first use. The thread holds
    /// only a weak reference, and ends when the copies are dropped (with the sender).
    fn sender(self: &Arc<Self>) -> mpsc::Sender<Job> {
        let mut jobs = self.jobs.lock();
        if let Some(tx) = jobs.as_ref() {
            return tx.clone();
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let me: Weak<ColumnarCopies> = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("basalt-columnar".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    let Some(copies) = me.upgrade() else { break };
                    let id = job.region.info().region_id;
                    if let Err(e) = copies.build_region(&job.conn, &job.table, &job.region) {
                        copies.failures.fetch_add(1, Ordering::Relaxed);
                        *copies.last_failure.lock() = Some(e.to_string());
                    }
                    copies.finish(id);
                }
            })
            .ok();
        *jobs = Some(tx.clone());
        tx
    }

    fn finish(&self, region: u64) {
        let mut st = self.state.lock();
        st.pending.remove(&region);
        self.idle.notify_all();
    }

    /// Builds (or finds current) copies of every region of table `name`. Returns `None` if
    /// the table cannot have copies (not a typed table with the row marker, or a TTL).
    pub fn build_table(&self, conn: &Connection, name: &str) -> Result<Option<BuildReport>> {
        let Some(crate::catalog::Resolved::Typed(desc, schema)) =
            crate::catalog::resolve(conn, name)?
        else {
            return Ok(None);
        };
        let Some(table) = CopyTable::eligible(&desc, &schema) else {
            return Ok(None);
        };
        let regions = conn.server().table_regions(&table.name)?;
        let mut report = BuildReport::default();
        for region in &regions {
            let had = self.current(&table, region).is_some();
            match self.build_region(conn, &table, region)? {
                Ok(copy) => {
                    report.regions += 1;
                    report.built += usize::from(!had);
                    report.rows += copy.rows();
                    report.bytes += std::fs::metadata(copy.path()).map_or(0, |m| m.len());
                }
                Err(why) => report
                    .skipped
                    .push(format!("region {}: {why}", region.info().region_name())),
            }
        }
        self.prune(&table.name, &regions);
        Ok(Some(report))
    }

    /// Removes the copies of regions of `name` that are no longer among `regions`.
    fn prune(&self, name: &TableName, regions: &[Arc<Region>]) {
        let live: HashSet<String> = regions.iter().map(|r| r.encoded_name()).collect();
        if let Ok(rd) = std::fs::read_dir(self.table_dir(name)) {
            for ent in rd.flatten() {
                if !live.contains(ent.file_name().to_string_lossy().as_ref()) {
                    let _ = std::fs::remove_dir_all(ent.path());
                }
            }
        }
    }

    /// Makes sure `region` has a current copy: returns it, or why there can be none now.
    pub fn build_region(
        &self,
        conn: &Connection,
        table: &CopyTable,
        region: &Arc<Region>,
    ) -> Result<std::result::Result<Arc<RegionCopy>, String>> {
        if let Some(c) = self.current(table, region) {
            return Ok(Ok(c));
        }
        let tag = Self::tag(table, region);
        let refuse = |why: String| -> Result<std::result::Result<Arc<RegionCopy>, String>> {
            self.state.lock().refused.insert(tag);
            Ok(Err(why))
        };
        if !quiet(region) {
            // Not refused for good: a flush makes it quiet at the same tag.
            return Ok(Err("edits not yet flushed".into()));
        }
        let dir = self.region_dir(&table.name, region);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(tag.file_name());
        let tmp = dir.join(format!(
            "{}.tmp-{}-{}",
            tag.file_name(),
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let written = write_copy(conn, table, region, &tmp);
        let outcome = match written {
            Ok(None) if region.last_seq_id() == tag.seq => {
                File::open(&tmp)?.sync_all()?;
                std::fs::rename(&tmp, &path)?;
                None
            }
            Ok(None) => Some("written to while copying".to_string()),
            Ok(Some(why)) => Some(why),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        if let Some(why) = outcome {
            let _ = std::fs::remove_file(&tmp);
            return refuse(why);
        }
        let copy = Arc::new(RegionCopy::open(tag, path.clone(), region)?);
        self.state.lock().copies.insert(tag.region, copy.clone());
        // Older copies of this region go, and temporaries of builds interrupted in other
        // processes (this process's may still be writing).
        let ours = format!(".tmp-{}-", std::process::id());
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for ent in rd.flatten() {
                if ent.path() != path && !ent.file_name().to_string_lossy().contains(&ours) {
                    let _ = std::fs::remove_file(ent.path());
                }
            }
        }
        Ok(Ok(copy))
    }
}

/// Scans `region` through the store and writes its rows to `tmp`. Returns why the copy cannot
/// stand in for the region, if it cannot.
fn write_copy(
    conn: &Connection,
    table: &CopyTable,
    region: &Region,
    tmp: &Path,
) -> Result<Option<String>> {
    let ts = &table.schema;
    let mut columns: Vec<(ColumnSource, store_server::rowkey::SqlType)> = (0..ts.columns.len())
        .map(|i| (typed_source(ts, i), ts.columns[i].sql_type))
        .collect();
    let mut scan = Scan::new();
    for c in &columns {
        if let ColumnSource::Cell {
            family, qualifier, ..
        } = &c.0
        {
            scan = scan.add_column(family.clone(), qualifier.clone());
        }
    }
    scan = scan.add_column(DEFAULT_FAMILY.to_vec(), EMPTY_QUALIFIER.to_vec());
    columns.push((
        ColumnSource::RowKey,
        store_server::rowkey::SqlType::Varbinary,
    ));
    columns.push((
        ColumnSource::Cell {
            family: DEFAULT_FAMILY.to_vec(),
            qualifier: EMPTY_QUALIFIER.to_vec(),
            raw: true,
        },
        store_server::rowkey::SqlType::Varbinary,
    ));
    let file_schema = table.file_schema();
    let mut scan_fields: Vec<Field> = file_schema.fields().iter().map(|f| (**f).clone()).collect();
    scan_fields.push(Field::new("__marker", DataType::Binary, true));
    let scan_schema = Arc::new(Schema::new(scan_fields));
    let spec = ScanSpec {
        table: conn.table(&table.name.to_string())?,
        table_name: table.name.to_string(),
        typed: Some(ts.clone()),
        columns,
        scan,
        limit: None,
        metrics: Arc::new(ScanMetrics::default()),
        columnar: None,
    };
    let piece = Piece {
        region: 0,
        range: ByteRange {
            start: region.info().start_key.clone(),
            stop: region.info().end_key.clone(),
        },
        continues: false,
    };
    // A table that asked for compressed blocks gets compressed pages (LZ4, the fastest to
    // decode); an uncompressed one keeps them plain.
    let compressed = region
        .table_descriptor()
        .families
        .iter()
        .any(|f| f.compression != store_server::schema::Compression::None);
    // Fixed-width columns are stored plain: a dictionary saves little on a copy that is
    // uncompressed anyway, and decoding one (indices, then a look-up per value) costs a
    // query more than reading the values as they are. The row keys are unique, so a
    // dictionary of them would only be a second copy, read whole by every key search.
    let mut props = WriterProperties::builder();
    for f in file_schema.fields() {
        if f.data_type().primitive_width().is_some() || f.name() == ROW_COLUMN {
            props = props.set_column_dictionary_enabled(ColumnPath::from(f.name().as_str()), false);
        }
    }
    let props = props
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_data_page_row_count_limit(INDEX_ROWS)
        .set_compression(if compressed {
            parquet::basic::Compression::LZ4_RAW
        } else {
            parquet::basic::Compression::UNCOMPRESSED
        })
        .build();
    let file = File::create(tmp)?;
    let mut writer = ArrowWriter::try_new(file, file_schema.clone(), Some(props))
        .map_err(|e| corrupt(tmp, e))?;
    let mut first_rows: Vec<Vec<u8>> = Vec::new();
    let mut rows = 0usize;
    let mut unmarked = false;
    let row_col = file_schema.fields().len() - 1;
    scan_pieces(
        &spec,
        &[piece],
        &scan_schema,
        &RuntimeFilter::default(),
        &mut |batch| {
            let marker = batch.column(row_col + 1);
            if marker.null_count() > 0 {
                unmarked = true;
                return Ok(Flow::Stop);
            }
            if batch.num_rows() == 0 {
                return Ok(Flow::Continue);
            }
            if let Some(keys) = batch.column(row_col).as_any().downcast_ref::<BinaryArray>() {
                let mut next = rows.div_ceil(INDEX_ROWS) * INDEX_ROWS;
                while next < rows + batch.num_rows() {
                    first_rows.push(keys.value(next - rows).to_vec());
                    next += INDEX_ROWS;
                }
            }
            rows += batch.num_rows();
            // The file holds everything but the marker (the scan's last column).
            let data =
                RecordBatch::try_new(file_schema.clone(), batch.columns()[..=row_col].to_vec())?;
            writer
                .write(&data)
                .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
            Ok(Flow::Continue)
        },
    )?;
    if unmarked {
        return Ok(Some("rows without the 0:_0 marker".into()));
    }
    writer.append_key_value_metadata(KeyValue::new(
        FIRST_ROWS_KEY.to_string(),
        encode_first_rows(&first_rows),
    ));
    writer.close().map_err(|e| corrupt(tmp, e))?;
    if first_rows.len() != rows.div_ceil(INDEX_ROWS) {
        return Err(corrupt(
            tmp,
            "row-key index does not match the rows written",
        ));
    }
    Ok(None)
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// True if every edit of `region` is in its store files and none is in flight.
fn quiet(region: &Region) -> bool {
    let last = region.last_seq_id();
    region.memstore_size() == 0 && region.read_point() == last && region.flushed_seq_id() >= last
}

/// What a scan of one table needs to read its copies.
#[derive(Clone)]
pub struct ColumnarRead {
    /// The copies.
    pub copies: Arc<ColumnarCopies>,
    /// The store (to find a piece's region).
    pub conn: Arc<Connection>,
    /// The table.
    pub table: CopyTable,
    /// Output columns as indices of the table's schema columns.
    pub projection: Vec<usize>,
}

impl std::fmt::Debug for ColumnarRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ColumnarRead")
            .field("table", &self.table.name)
            .field("projection", &self.projection)
            .finish()
    }
}

impl ColumnarRead {
    /// The output columns whose value the key range fixes, by output position: when every
    /// key in `range` starts with the same encoded leading key columns (an equality prefix
    /// of the plan, or part of one), those columns hold one value in all its rows and need
    /// not be read. `None` for the columns to read.
    fn constants(&self, range: &ByteRange) -> Result<Vec<Option<ScalarValue>>> {
        let ts = &self.table.schema;
        let mut out = vec![None; self.projection.len()];
        if ts.salt_buckets.is_some() || range.stop.is_empty() {
            return Ok(out);
        }
        let mut pos = 0;
        for (j, k) in ts.primary_key.iter().enumerate() {
            let col = &ts.columns[k.column];
            let last = j + 1 == ts.primary_key.len();
            // A last ASC variable-length column has no terminator: a prefix of its bytes
            // does not fix its value.
            if last && k.order == SortOrder::Asc && col.sql_type.fixed_width().is_none() {
                break;
            }
            let Ok(value) = decode_key_column(col.sql_type, k.order, &range.start, &mut pos, last)
            else {
                break;
            };
            let prefix = &range.start[..pos.min(range.start.len())];
            let end = prefix_stop_row(prefix);
            if end.is_empty() || range.stop > end {
                break;
            }
            if let Some(i) = self.projection.iter().position(|&c| c == k.column) {
                let mut b = ColumnBuilder::new(col.sql_type);
                b.append_value(&value);
                out[i] = Some(ScalarValue::try_from_array(&b.finish()?, 0)?);
            }
        }
        Ok(out)
    }

    /// Reads `range` (inside one region) from the region's current copy: `None` if it has
    /// none (the caller scans the store), else the rows emitted and whether to go on. Row
    /// groups `pruner` rules out are skipped.
    pub fn read(
        &self,
        range: &ByteRange,
        limit: usize,
        schema: &SchemaRef,
        pruner: &mut GroupPruner<'_>,
        emit: &mut dyn FnMut(RecordBatch) -> datafusion::error::Result<Flow>,
    ) -> Result<Option<(usize, Flow)>> {
        let Ok(region) = self.conn.server().locate(&self.table.name, &range.start) else {
            return Ok(None);
        };
        let inside = region.info().contains_row(&range.start)
            && (region.info().end_key.is_empty()
                || (!range.stop.is_empty() && range.stop <= region.info().end_key));
        if !inside {
            return Ok(None);
        }
        match self.copies.current(&self.table, &region) {
            Some(copy) => {
                let constants = self.constants(range)?;
                copy.read(
                    range,
                    &self.projection,
                    &constants,
                    limit,
                    schema,
                    pruner,
                    emit,
                )
                .map(Some)
            }
            None => {
                self.copies.missed(&self.conn, &self.table, &region);
                Ok(None)
            }
        }
    }
}
