//! DataFusion `TableProvider`s over store tables: typed (Phoenix-like) tables and views use
//! their [`TypedSchema`]; raw tables expose `rowkey` plus one `family:qualifier` column per
//! column found in a sample of rows. `scan` pushes down the projection (only the needed
//! families/qualifiers are read), key ranges from predicates on leading key columns,
//! comparisons on non-key columns as store filters, and LIMIT when DataFusion passes one
//! (without filters); otherwise a satisfied LIMIT stops the scan through back-pressure.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::Session as DfSession;
use datafusion::common::DFSchema;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::expr_rewriter::unnormalize_col;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::PhysicalSortExpr;
use datafusion::physical_plan::ExecutionPlan;
use store_server::region::Region;
use store_server::rowkey::{encode_value, SortOrder, SqlType};
use store_server::scan::{CompareOp, Filter, Scan};
use store_server::typed::{TypedSchema, DEFAULT_FAMILY, EMPTY_QUALIFIER};
use store_server::{Connection, Table, TableDescriptor, TableName};

use crate::columnar::{ColumnarCopies, ColumnarRead, CopyTable, ROW_GROUP_ROWS};
use crate::error::{to_df, Result};
use crate::keyrange::{self, ByteRange, KeyPlan};
use crate::scan_exec::{
    describe_filter, ColumnSource, Piece, ScanExplain, ScanMetrics, ScanSpec, StoreScanExec,
};
use crate::types::{arrow_type, scalar_to_value};

/// Rows sampled to discover a raw table's columns.
pub const RAW_SAMPLE_ROWS: usize = 1000;

/// A key range is split between partitions only into parts of at least this many bytes of
/// HFile blocks (8 blocks of the default 64 KiB): smaller parts cost more in scanner set-up
/// and thread hand-off than they gain.
pub const MIN_SPLIT_BYTES: u64 = 512 * 1024;

/// What kind of store table a provider reads.
#[derive(Clone, Debug)]
pub enum TableKind {
    /// A typed table or a view: columns from the schema.
    Typed(Arc<TypedSchema>),
    /// A raw table: `rowkey` and `family:qualifier` columns (VARCHAR or VARBINARY).
    Raw(Vec<RawColumn>),
}

/// One column of a raw table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawColumn {
    /// Family.
    pub family: Vec<u8>,
    /// Qualifier.
    pub qualifier: Vec<u8>,
    /// VARCHAR if every sampled value was UTF-8, else VARBINARY.
    pub ty: SqlType,
}

/// A DataFusion table over a store table.
#[derive(Debug)]
pub struct StoreTable {
    conn: Arc<Connection>,
    name: TableName,
    display: String,
    kind: TableKind,
    schema: SchemaRef,
    metrics: Arc<ScanMetrics>,
    rowkey_ty: SqlType,
    columnar: Option<(Arc<ColumnarCopies>, CopyTable)>,
}

impl StoreTable {
    /// A provider for a typed table or view stored in table `name`.
    pub fn typed(
        conn: Arc<Connection>,
        name: TableName,
        display: String,
        schema: Arc<TypedSchema>,
        metrics: Arc<ScanMetrics>,
    ) -> StoreTable {
        let fields: Vec<Field> = schema
            .columns
            .iter()
            .map(|c| Field::new(&c.name, arrow_type(c.sql_type), c.nullable))
            .collect();
        StoreTable {
            conn,
            name,
            display,
            kind: TableKind::Typed(schema),
            schema: Arc::new(Schema::new(fields)),
            metrics,
            rowkey_ty: SqlType::Varbinary,
            columnar: None,
        }
    }

    /// Lets scans of this typed table read the columnar copies of its regions, if the table
    /// can have them ([`CopyTable::eligible`]).
    pub fn with_columnar(mut self, copies: &Arc<ColumnarCopies>, desc: &TableDescriptor) -> Self {
        if let TableKind::Typed(ts) = &self.kind {
            self.columnar = CopyTable::eligible(desc, ts).map(|t| (copies.clone(), t));
        }
        self
    }

    /// A provider for a raw table; its columns come from sampling up to
    /// [`RAW_SAMPLE_ROWS`] rows.
    pub fn raw(
        conn: Arc<Connection>,
        name: TableName,
        display: String,
        metrics: Arc<ScanMetrics>,
    ) -> Result<StoreTable> {
        let table = conn.table(&name.to_string())?;
        let mut cols: BTreeMap<(Vec<u8>, Vec<u8>), bool> = BTreeMap::new();
        let mut keys_utf8 = true;
        for row in table.scan(&Scan::new().with_limit(RAW_SAMPLE_ROWS))? {
            let row = row?;
            keys_utf8 &= std::str::from_utf8(&row.row).is_ok();
            for c in &row.cells {
                let utf8 = std::str::from_utf8(&c.value).is_ok();
                let e = cols
                    .entry((c.family.to_vec(), c.qualifier.to_vec()))
                    .or_insert(true);
                *e &= utf8;
            }
        }
        let raw: Vec<RawColumn> = cols
            .into_iter()
            .map(|((family, qualifier), utf8)| RawColumn {
                family,
                qualifier,
                ty: if utf8 {
                    SqlType::Varchar
                } else {
                    SqlType::Varbinary
                },
            })
            .collect();
        let rowkey_ty = if keys_utf8 {
            SqlType::Varchar
        } else {
            SqlType::Varbinary
        };
        let mut fields = vec![Field::new("rowkey", arrow_type(rowkey_ty), false)];
        for c in &raw {
            fields.push(Field::new(raw_column_name(c), arrow_type(c.ty), true));
        }
        Ok(StoreTable {
            conn,
            name,
            display,
            kind: TableKind::Raw(raw),
            schema: Arc::new(Schema::new(fields)),
            metrics,
            rowkey_ty,
            columnar: None,
        })
    }

    /// The kind of table.
    pub fn kind(&self) -> &TableKind {
        &self.kind
    }

    /// The key plan `filters` give (for tests and EXPLAIN).
    pub fn key_plan(&self, filters: &[Expr]) -> KeyPlan {
        match &self.kind {
            TableKind::Typed(s) => keyrange::plan(s, filters),
            TableKind::Raw(_) => raw_key_plan(filters),
        }
    }

    /// Builds the scan node (synchronous part of [`TableProvider::scan`]).
    fn plan_scan(
        &self,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
        target_partitions: usize,
    ) -> Result<(StoreScanExec, Vec<Expr>)> {
        let all: Vec<usize> = (0..self.schema.fields().len()).collect();
        let proj = projection.cloned().unwrap_or(all);
        let out_schema = Arc::new(self.schema.project(&proj)?);
        let mut scan = Scan::new();
        let mut columns = Vec::new();
        let mut read_cols: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut store_filters = Vec::new();
        match &self.kind {
            TableKind::Typed(ts) => {
                for &i in &proj {
                    let c = &ts.columns[i];
                    if ts.key_position(i).is_none() {
                        read_cols.push((c.family.clone(), c.qualifier.clone()));
                    }
                    columns.push((typed_source(ts, i), c.sql_type));
                }
                for f in filters {
                    for e in split_conjunction(f) {
                        if let Some((filter, fam, q)) = store_filter(ts, e) {
                            store_filters.push(filter);
                            read_cols.push((fam, q));
                        }
                    }
                }
                if ts.marker {
                    read_cols.push((DEFAULT_FAMILY.to_vec(), EMPTY_QUALIFIER.to_vec()));
                } else if read_cols.is_empty() {
                    // A view with only key columns needed: any cell proves the row.
                    for fam in ts.families() {
                        scan = scan.add_family(fam);
                    }
                    scan = scan.with_filter(Filter::FirstKeyOnly);
                }
            }
            TableKind::Raw(raw) => {
                for &i in &proj {
                    if i == 0 {
                        columns.push((ColumnSource::RowKey, self.rowkey_ty));
                    } else if let Some(c) = raw.get(i - 1) {
                        columns.push((
                            ColumnSource::Cell {
                                family: c.family.clone(),
                                qualifier: c.qualifier.clone(),
                                raw: true,
                            },
                            c.ty,
                        ));
                        read_cols.push((c.family.clone(), c.qualifier.clone()));
                    }
                }
                if read_cols.is_empty() {
                    scan = scan.with_filter(Filter::FirstKeyOnly);
                }
            }
        }
        read_cols.sort();
        read_cols.dedup();
        for (f, q) in &read_cols {
            scan = scan.add_column(f.clone(), q.clone());
        }
        if !store_filters.is_empty() {
            let mut fs = store_filters.clone();
            if let Some(prev) = scan.filter.take() {
                fs.push(prev);
            }
            scan = scan.with_filter(if fs.len() == 1 {
                fs.remove(0)
            } else {
                Filter::All(fs)
            });
        }
        let plan = self.key_plan(filters);
        let regions = self.conn.admin().regions(&self.name)?;
        let bounds: Vec<(Vec<u8>, Vec<u8>)> = regions
            .iter()
            .map(|r| (r.info.start_key.clone(), r.info.end_key.clone()))
            .collect();
        let pieces = clip_to_regions(&plan.ranges, &bounds);
        let touched = {
            let mut r: Vec<usize> = pieces.iter().map(|p| p.region).collect();
            r.sort_unstable();
            r.dedup();
            r.len()
        };
        let mut partitions = group_pieces(pieces, target_partitions.max(1));
        if !plan.points && partitions.len() < target_partitions {
            partitions = self.split_partitions(partitions, target_partitions);
        }
        // Point look-ups read a block or two of the store: a copy's row group is more.
        let columnar = match &self.columnar {
            Some((copies, table)) if !plan.points => Some(ColumnarRead {
                copies: copies.clone(),
                conn: self.conn.clone(),
                table: table.clone(),
                projection: proj.clone(),
            }),
            _ => None,
        };
        let explain = ScanExplain {
            ranges: plan.described.clone(),
            byte_ranges: plan.ranges.len(),
            buckets: plan.buckets,
            columns: if read_cols.is_empty() {
                vec!["<all families>".into()]
            } else {
                read_cols
                    .iter()
                    .map(|(f, q)| {
                        format!(
                            "{}.{}",
                            String::from_utf8_lossy(f),
                            String::from_utf8_lossy(q)
                        )
                    })
                    .collect()
            },
            store_filters: store_filters.iter().map(describe_filter).collect(),
            regions: touched,
            columnar: columnar.is_some(),
        };
        let table: Arc<dyn Table> = self.conn.table(&self.name.to_string())?;
        let spec = ScanSpec {
            table,
            table_name: self.display.clone(),
            typed: match &self.kind {
                TableKind::Typed(t) => Some(t.clone()),
                TableKind::Raw(_) => None,
            },
            columns,
            scan,
            limit,
            metrics: self.metrics.clone(),
            columnar,
        };
        let ordering = self.key_ordering(&proj, &out_schema);
        let scan = StoreScanExec::new(spec, partitions, out_schema, ordering, explain);
        Ok((scan, plan.exact))
    }

    /// The order every scan partition emits its rows in, over the output columns: a
    /// partition reads its key ranges in row-key order, and the row key sorts as the
    /// primary key does (Phoenix's encodings preserve order). It is the leading key columns
    /// up to the first one not projected; none for salted tables (the salt byte leads),
    /// stopping before a CHAR column (its values are read back without their padding, so
    /// a value below the pad character would sort out of place). DECIMAL key columns stay:
    /// Phoenix's variable-length base-100 form sorts as the values and decodes exactly. A raw
    /// table's binary `rowkey` is its own order; one read as UTF-8 is converted lossily, so it has none.
    fn key_ordering(&self, proj: &[usize], out: &SchemaRef) -> Vec<PhysicalSortExpr> {
        let column = |i: usize, descending: bool| {
            let pos = proj.iter().position(|&p| p == i)?;
            Some(PhysicalSortExpr::new(
                Arc::new(Column::new(out.field(pos).name(), pos)),
                SortOptions {
                    descending,
                    // NULL is the empty value: first ascending, last descending.
                    nulls_first: !descending,
                },
            ))
        };
        match &self.kind {
            TableKind::Typed(ts) if ts.salt_buckets.is_none() => ts
                .primary_key
                .iter()
                .map_while(|k| {
                    if matches!(ts.columns[k.column].sql_type, SqlType::Char(_)) {
                        return None;
                    }
                    column(k.column, k.order == SortOrder::Desc)
                })
                .collect(),
            TableKind::Raw(_) if self.rowkey_ty == SqlType::Varbinary => {
                column(0, false).into_iter().collect()
            }
            _ => Vec::new(),
        }
    }
}

impl StoreTable {
    /// Gives the idle cores work when there are fewer partitions than `target` (a key range
    /// inside one region): a partition holding one large range is cut (see
    /// [`StoreTable::cuts`]) into up to `target / partitions` parts of about equal work, each
    /// its own partition. Any cut inside a range is correct (the parts cover it exactly);
    /// the indexes only make the parts even. Small ranges stay whole.
    fn split_partitions(&self, partitions: Vec<Vec<Piece>>, target: usize) -> Vec<Vec<Piece>> {
        let per = target / partitions.len().max(1);
        if per < 2 {
            return partitions;
        }
        let mut out = Vec::with_capacity(target);
        for part in partitions {
            let [piece] = part.as_slice() else {
                out.push(part);
                continue;
            };
            let cuts = self.cuts(&piece.range, per);
            if cuts.is_empty() {
                out.push(part);
                continue;
            }
            let mut start = piece.range.start.clone();
            for (j, cut) in cuts.into_iter().enumerate() {
                out.push(vec![Piece {
                    region: piece.region,
                    range: ByteRange {
                        start: std::mem::replace(&mut start, cut.clone()),
                        stop: cut,
                    },
                    continues: j > 0,
                }]);
            }
            out.push(vec![Piece {
                region: piece.region,
                range: ByteRange {
                    start,
                    stop: piece.range.stop.clone(),
                },
                continues: true,
            }]);
        }
        out
    }

    /// Row keys cutting `range` (inside one region) into up to `parts` parts of about equal
    /// work, none if it is too small to be worth cutting. A range the region's columnar copy
    /// will serve is cut by rows (parts of at least a copy row group, [`ROW_GROUP_ROWS`]),
    /// at entries of the copy's row-key index; any other by the HFile blocks it spans
    /// (parts of at least [`MIN_SPLIT_BYTES`]), at block boundaries.
    fn cuts(&self, range: &ByteRange, parts: usize) -> Vec<Vec<u8>> {
        let Ok(region) = self.conn.server().locate(&self.name, &range.start) else {
            return Vec::new();
        };
        if let Some((copies, table)) = &self.columnar {
            if let Some(copy) = copies.current(table, &region) {
                return copy.cuts(range, parts, ROW_GROUP_ROWS);
            }
        }
        let blocks = self.blocks_in(&region, range);
        let total: u64 = blocks.iter().map(|(_, size)| size).sum();
        let k = (parts as u64).min(total / MIN_SPLIT_BYTES) as usize;
        // Cut at the first block boundary past each k-th of the bytes.
        let mut cuts: Vec<Vec<u8>> = Vec::with_capacity(k.saturating_sub(1));
        let mut seen = 0u64;
        for (row, size) in &blocks {
            let next = (cuts.len() as u64 + 1) * total / k.max(1) as u64;
            if cuts.len() + 1 < k && seen >= next && !row.is_empty() {
                cuts.push(row.clone());
            }
            seen += size;
        }
        cuts
    }

    /// The HFile data blocks of `region` that overlap `range`, as (first row, bytes) in row
    /// order: the block holding `range.start` has an empty row, the others begin strictly
    /// inside the range. From the files' block indexes.
    fn blocks_in(&self, region: &Region, range: &ByteRange) -> Vec<(Vec<u8>, u64)> {
        let mut first = 0u64;
        let mut blocks: Vec<(Vec<u8>, u64)> = Vec::new();
        for store in region.stores().values() {
            for f in &store.state().files {
                let mut before: Option<u64> = None;
                for (row, size) in index_blocks(f.reader(), range) {
                    if row.as_slice() <= range.start.as_slice() {
                        before = Some(size);
                    } else if range.stop.is_empty() || row < range.stop {
                        blocks.push((row, size));
                    } else {
                        break;
                    }
                }
                first += before.unwrap_or(0);
            }
        }
        blocks.sort();
        blocks.insert(0, (Vec::new(), first));
        blocks
    }
}

/// (first row, bytes) of the file's data blocks around `range`, in file order: from the
/// leaf index blocks that overlap it when the index has two levels (the usual shape of a
/// large file), else from the root index (with more levels, one entry spans many blocks:
/// coarser, still usable). Reads go through the block cache; a block that cannot be read
/// leaves the coarser root entries.
fn index_blocks(reader: &hfile::Reader, range: &ByteRange) -> Vec<(Vec<u8>, u64)> {
    let root = reader.root_index();
    // Bytes up to the next entry's block: the data block itself with a one-level index, the
    // data blocks an index block covers otherwise.
    let coarse = || -> Vec<(Vec<u8>, u64)> {
        root.iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let size = root.get(i + 1).map_or(u64::from(e.on_disk_size), |n| {
                    n.offset.saturating_sub(e.offset)
                });
                Some((hfile::cell::key_row(&e.key)?.to_vec(), size))
            })
            .collect()
    };
    if reader.trailer().num_data_index_levels != 2 {
        return coarse();
    }
    let mut out = Vec::new();
    for (i, e) in root.iter().enumerate() {
        let Some(row) = hfile::cell::key_row(&e.key) else {
            continue;
        };
        if !range.stop.is_empty() && row >= range.stop.as_slice() {
            break;
        }
        let next = root.get(i + 1).and_then(|n| hfile::cell::key_row(&n.key));
        if next.is_some_and(|n| n < range.start.as_slice()) {
            continue;
        }
        let block = match reader.block(e.offset) {
            Ok(b) if b.header.block_type == hfile::block::BlockType::LeafIndex => b,
            _ => return coarse(),
        };
        let Some(leaf) = hfile::index::NonRootIndex::parse(&block.data) else {
            return coarse();
        };
        for j in 0..leaf.len() {
            if let Some((_, size, key)) = leaf.entry(j) {
                if let Some(r) = hfile::cell::key_row(key) {
                    out.push((r.to_vec(), u64::from(size)));
                }
            }
        }
    }
    out
}

/// Where schema column `i` of a typed table comes from: its key position, or its cell.
pub fn typed_source(ts: &TypedSchema, i: usize) -> ColumnSource {
    let c = &ts.columns[i];
    match ts.key_position(i) {
        Some(p) => ColumnSource::Key(p),
        None => ColumnSource::Cell {
            family: c.family.clone(),
            qualifier: c.qualifier.clone(),
            raw: false,
        },
    }
}

/// The SQL name of a raw column: `family:qualifier`.
pub fn raw_column_name(c: &RawColumn) -> String {
    format!(
        "{}:{}",
        String::from_utf8_lossy(&c.family),
        String::from_utf8_lossy(&c.qualifier)
    )
}

/// Key ranges of a raw table: `rowkey = 'x'`, IN lists and ranges on `rowkey`.
fn raw_key_plan(filters: &[Expr]) -> KeyPlan {
    use store_server::typed::{ColumnDef, KeyColumn};
    let schema = TypedSchema {
        columns: vec![ColumnDef::key("rowkey", SqlType::Varbinary)],
        primary_key: vec![KeyColumn {
            column: 0,
            order: store_server::rowkey::SortOrder::Asc,
        }],
        salt_buckets: None,
        marker: false,
    };
    // Literals are strings; compare them as bytes.
    let filters: Vec<Expr> = filters.iter().map(strings_to_binary).collect();
    keyrange::plan(&schema, &filters)
}

fn strings_to_binary(e: &Expr) -> Expr {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    use datafusion::common::ScalarValue;
    e.clone()
        .transform(|e| {
            Ok(match e {
                Expr::Literal(
                    ScalarValue::Utf8(Some(s))
                    | ScalarValue::Utf8View(Some(s))
                    | ScalarValue::LargeUtf8(Some(s)),
                    m,
                ) => Transformed::yes(Expr::Literal(ScalarValue::Binary(Some(s.into_bytes())), m)),
                other => Transformed::no(other),
            })
        })
        .map(|t| t.data)
        .unwrap_or_else(|_| e.clone())
}

/// A store-side filter for `col op literal` on a non-key column whose value encoding sorts
/// like its values (not floats: -0.0/NaN; not CHAR: padding).
fn store_filter(ts: &TypedSchema, e: &Expr) -> Option<(Filter, Vec<u8>, Vec<u8>)> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = e else {
        return None;
    };
    let (name, lit, op) = match (left.as_ref(), right.as_ref()) {
        (Expr::Column(c), Expr::Literal(l, _)) => (c.name.as_str(), l, *op),
        (Expr::Literal(l, _), Expr::Column(c)) => (c.name.as_str(), l, op.swap()?),
        _ => return None,
    };
    let ci = ts.column_index(name)?;
    if ts.key_position(ci).is_some() {
        return None;
    }
    let c = &ts.columns[ci];
    if matches!(
        c.sql_type,
        SqlType::Float | SqlType::Double | SqlType::Char(_)
    ) {
        return None;
    }
    let v = scalar_to_value(lit, c.sql_type)?;
    let operand = encode_value(c.sql_type, &v).ok()??;
    let op = match op {
        Operator::Eq => CompareOp::Equal,
        Operator::NotEq => CompareOp::NotEqual,
        Operator::Lt => CompareOp::Less,
        Operator::LtEq => CompareOp::LessOrEqual,
        Operator::Gt => CompareOp::Greater,
        Operator::GtEq => CompareOp::GreaterOrEqual,
        _ => return None,
    };
    Some((
        Filter::SingleColumnValue {
            family: c.family.clone(),
            qualifier: c.qualifier.clone(),
            op,
            operand,
            filter_if_missing: true,
        },
        c.family.clone(),
        c.qualifier.clone(),
    ))
}

/// Cuts key ranges at region boundaries: one piece per (range ∩ region).
pub fn clip_to_regions(ranges: &[ByteRange], regions: &[(Vec<u8>, Vec<u8>)]) -> Vec<Piece> {
    let mut out = Vec::new();
    for r in ranges {
        for (i, (rs, re)) in regions.iter().enumerate() {
            // Intersection of [r.start, r.stop) and [rs, re) (empty stop/end = +inf).
            let start = if r.start > *rs { &r.start } else { rs };
            let stop: &Vec<u8> = match (r.stop.is_empty(), re.is_empty()) {
                (true, true) => &r.stop,
                (true, false) => re,
                (false, true) => &r.stop,
                (false, false) => {
                    if r.stop < *re {
                        &r.stop
                    } else {
                        re
                    }
                }
            };
            if !stop.is_empty() && start >= stop {
                continue;
            }
            out.push(Piece {
                region: i,
                range: ByteRange {
                    start: start.clone(),
                    stop: stop.clone(),
                },
                continues: false,
            });
        }
    }
    out
}

/// Groups pieces by region (one partition per region), merging neighbours when there are
/// more regions than `target` partitions.
pub fn group_pieces(mut pieces: Vec<Piece>, target: usize) -> Vec<Vec<Piece>> {
    pieces.sort_by(|a, b| (a.region, &a.range.start).cmp(&(b.region, &b.range.start)));
    let mut by_region: Vec<Vec<Piece>> = Vec::new();
    for p in pieces {
        match by_region.last_mut() {
            Some(g) if g.last().is_some_and(|l| l.region == p.region) => g.push(p),
            _ => by_region.push(vec![p]),
        }
    }
    if by_region.len() <= target {
        return by_region;
    }
    let per = by_region.len().div_ceil(target);
    by_region
        .chunks(per)
        .map(|c| c.iter().flatten().cloned().collect())
        .collect()
}

#[async_trait]
impl TableProvider for StoreTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        // Always inexact: DataFusion keeps a filter over the scan, so later optimizer rewrites
        // of the pushed expressions (e.g. IN → OR) can never lose rows' filtering. The
        // conjuncts the key ranges enforce exactly are dropped from that filter after
        // planning instead ([`crate::key_filter`]), where the scan's own filters are known.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn DfSession,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let target = state.config().target_partitions();
        let (exec, exact) = self
            .plan_scan(projection, filters, limit, target)
            .map_err(to_df)?;
        // The exactly enforced conjuncts over the scan's output columns (a conjunct on a
        // column the output lacks cannot be in a filter above the scan either).
        let out = DFSchema::try_from(exec.schema().as_ref().clone())?;
        let exact = exact
            .into_iter()
            .filter_map(|e| state.create_physical_expr(unnormalize_col(e), &out).ok())
            .collect();
        Ok(Arc::new(exec.with_exact(exact)))
    }
}

impl StoreTable {
    /// This provider as `Any` (for downcasting in tests).
    pub fn as_any(&self) -> &dyn Any {
        self
    }
}
