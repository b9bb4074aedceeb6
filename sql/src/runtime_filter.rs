//! Runtime filters: predicates an operator above the scan pushes down while the query runs
//! (DataFusion's dynamic filters — a top-N's current cut-off such as `amount > 9 981.5`, a
//! hash join's build-side key bounds). They start out as `true` and tighten as the consumer
//! sees rows.
//!
//! The scan skips a columnar copy's row group whose statistics show that no row of it can
//! pass ([`GroupPruner`]). It does not filter rows itself: the consumer evaluates its
//! predicate on every batch anyway (a top-N before it converts the sort keys, a join as
//! it probes), so doing it here too would be the same work twice.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, UInt64Array};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::pruning::PruningStatistics;
use datafusion::common::{Column, ScalarValue};
use datafusion::error::Result as DfResult;
use datafusion::physical_expr::expressions::Literal;
use datafusion::physical_expr::{conjunction, PhysicalExpr};
use datafusion::physical_expr_common::physical_expr::{
    snapshot_generation, snapshot_physical_expr,
};
use datafusion::physical_optimizer::pruning::{PruningPredicate, PruningPredicateBuilder};
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use parquet::file::metadata::RowGroupMetaData;

/// The runtime filters pushed into one scan node (empty when none were).
#[derive(Clone, Debug, Default)]
pub struct RuntimeFilter {
    exprs: Vec<Arc<dyn PhysicalExpr>>,
}

impl RuntimeFilter {
    /// A filter of the given predicates (over the scan's output schema), all of which hold.
    pub fn new(exprs: Vec<Arc<dyn PhysicalExpr>>) -> RuntimeFilter {
        RuntimeFilter { exprs }
    }

    /// True if no predicate was pushed down.
    pub fn is_empty(&self) -> bool {
        self.exprs.is_empty()
    }

    /// The predicates, for EXPLAIN.
    pub fn exprs(&self) -> &[Arc<dyn PhysicalExpr>] {
        &self.exprs
    }

    /// A number that changes whenever a predicate changes.
    fn generation(&self) -> u64 {
        self.exprs
            .iter()
            .fold(0u64, |g, e| g.wrapping_add(snapshot_generation(e)))
    }

    /// The predicates' current state as one expression; `None` while it is trivially true.
    fn current(&self) -> DfResult<Option<Arc<dyn PhysicalExpr>>> {
        let mut parts = Vec::with_capacity(self.exprs.len());
        for e in &self.exprs {
            let now = snapshot_physical_expr(e.clone())?;
            let always = now
                .downcast_ref::<Literal>()
                .is_some_and(|l| l.value() == &ScalarValue::Boolean(Some(true)));
            if !always {
                parts.push(now);
            }
        }
        Ok((!parts.is_empty()).then(|| conjunction(parts)))
    }

    /// A pruner for row groups of files whose columns feed the scan's output `schema`,
    /// counting the groups it skips in `skipped`.
    pub fn pruner<'a>(&self, schema: &SchemaRef, skipped: &'a AtomicU64) -> GroupPruner<'a> {
        GroupPruner {
            filter: self.clone(),
            schema: schema.clone(),
            built: None,
            skipped,
        }
    }
}

/// Decides, from a Parquet file's row-group statistics, which row groups cannot hold a row
/// that passes a [`RuntimeFilter`]. Rebuilds its pruning predicate only when the filter
/// changed.
#[derive(Debug)]
pub struct GroupPruner<'a> {
    filter: RuntimeFilter,
    schema: SchemaRef,
    /// (generation, predicate or `None` when nothing can be pruned).
    built: Option<(u64, Option<Arc<PruningPredicate>>)>,
    skipped: &'a AtomicU64,
}

impl GroupPruner<'_> {
    /// True if there is a filter to prune by (else every group is read).
    pub fn is_active(&self) -> bool {
        !self.filter.is_empty()
    }

    /// True if row group `group` of the file `meta` can be skipped; `columns[i]` is the file
    /// column that output column `i` is read from.
    pub fn skips(&mut self, meta: &ArrowReaderMetadata, columns: &[usize], group: usize) -> bool {
        if self.filter.is_empty() {
            return false;
        }
        let generation = self.filter.generation();
        if self.built.as_ref().map(|b| b.0) != Some(generation) {
            // A predicate the pruner cannot use (or a failed snapshot) prunes nothing.
            let pred = self.filter.current().ok().flatten().and_then(|p| {
                PruningPredicateBuilder::new()
                    .with_file_schema(self.schema.clone())
                    .build(p)
            });
            self.built = Some((generation, pred));
        }
        let Some((_, Some(pred))) = &self.built else {
            return false;
        };
        let stats = GroupStats {
            meta,
            schema: &self.schema,
            columns,
            group,
        };
        let skip = matches!(pred.prune(&stats).as_deref(), Ok([false]));
        if skip {
            self.skipped.fetch_add(1, Ordering::Relaxed);
        }
        skip
    }
}

/// The statistics of one row group, seen through the scan's output schema.
struct GroupStats<'a> {
    meta: &'a ArrowReaderMetadata,
    schema: &'a SchemaRef,
    columns: &'a [usize],
    group: usize,
}

impl<'a> GroupStats<'a> {
    /// Statistics of the file column output column `column` is read from.
    fn converter(&self, column: &Column) -> Option<StatisticsConverter<'a>> {
        let out = self.schema.index_of(&column.name).ok()?;
        let file_schema = self.meta.schema();
        let field = file_schema.fields().get(*self.columns.get(out)?)?;
        StatisticsConverter::try_new(field.name(), file_schema, self.meta.parquet_schema()).ok()
    }

    fn group(&self) -> impl Iterator<Item = &'a RowGroupMetaData> {
        self.meta
            .metadata()
            .row_groups()
            .get(self.group)
            .into_iter()
    }
}

impl PruningStatistics for GroupStats<'_> {
    fn min_values(&self, column: &Column) -> Option<ArrayRef> {
        self.converter(column)?.row_group_mins(self.group()).ok()
    }

    fn max_values(&self, column: &Column) -> Option<ArrayRef> {
        self.converter(column)?.row_group_maxes(self.group()).ok()
    }

    fn num_containers(&self) -> usize {
        1
    }

    fn null_counts(&self, column: &Column) -> Option<ArrayRef> {
        let c = self.converter(column)?;
        let n: UInt64Array = c.row_group_null_counts(self.group()).ok()?;
        Some(Arc::new(n))
    }

    fn row_counts(&self) -> Option<ArrayRef> {
        let n = self.group().next()?.num_rows();
        Some(Arc::new(UInt64Array::from(vec![u64::try_from(n).ok()?])))
    }

    fn contained(
        &self,
        _column: &Column,
        _values: &std::collections::HashSet<ScalarValue>,
    ) -> Option<BooleanArray> {
        None
    }
}
