//! Grouping by runs: `GROUP BY` over input already sorted on the grouping columns, as a
//! scan of leading primary-key columns delivers it (Phoenix's "aggregate into ordered
//! distinct rows"). Each group's rows then arrive together, so a group is a run of equal
//! keys: [`RunAggregateExec`] finds the runs with one vectorized comparison of neighbouring
//! rows and feeds DataFusion's own group accumulators run numbers as group indices, instead
//! of hashing every row's key into a table as the hash aggregate does. [`RunAggregate`] is the
//! physical optimizer rule that puts it in place of an `AggregateExec` whose input order
//! DataFusion has proved sorted on every grouping expression.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use datafusion::arrow::array::{
    make_comparator, ArrayRef, BooleanArray, BooleanBufferBuilder, RecordBatch, UInt32Array,
};
use datafusion::arrow::compute::{concat, take};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::ScalarValue;
use datafusion::error::Result as DfResult;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use datafusion::physical_expr::aggregate::AggregateFunctionExpr;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::execution_plan::apply_expression_roots;
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, InputOrderMode, PlanProperties,
};
use futures::StreamExt;

/// The physical optimizer rule that replaces a sorted-input `AggregateExec` reading raw rows
/// (partial or single mode) by a [`RunAggregateExec`] when every aggregate has a
/// `GroupsAccumulator` and none is DISTINCT, ordered or filtered.
#[derive(Debug, Default)]
pub struct RunAggregate;

impl PhysicalOptimizerRule for RunAggregate {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let run = node
                .downcast_ref::<AggregateExec>()
                .and_then(RunAggregateExec::replacing);
            Ok(match run {
                Some(run) => Transformed::yes(Arc::new(run) as Arc<dyn ExecutionPlan>),
                None => Transformed::no(node),
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "run_aggregate"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// An aggregate over input sorted on its grouping expressions: groups are runs of equal
/// keys, numbered as they come; a group's result is emitted as soon as the next one starts.
/// Its output (schema, partitioning, order) is exactly that of the `AggregateExec` it
/// replaces.
#[derive(Debug)]
pub struct RunAggregateExec {
    mode: AggregateMode,
    group_by: Vec<(Arc<dyn PhysicalExpr>, String)>,
    aggregates: Vec<Arc<AggregateFunctionExpr>>,
    input: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
    props: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl RunAggregateExec {
    /// The run aggregate computing what `agg` does, if `agg` qualifies: raw input sorted on
    /// every grouping expression, a plain `GROUP BY` (no grouping sets, no limit), and
    /// aggregates that all support group accumulators without DISTINCT, ORDER BY or FILTER.
    pub fn replacing(agg: &AggregateExec) -> Option<RunAggregateExec> {
        let mode = *agg.mode();
        let raw_input = matches!(
            mode,
            AggregateMode::Partial | AggregateMode::Single | AggregateMode::SinglePartitioned
        );
        let group = agg.group_expr();
        let plain = raw_input
            && *agg.input_order_mode() == InputOrderMode::Sorted
            && group.is_single()
            && !group.expr().is_empty()
            && agg.limit_options().is_none()
            && agg.dynamic_expressions_produced().is_empty()
            && agg.filter_expr().iter().all(Option::is_none)
            && agg.aggr_expr().iter().all(|a| {
                !a.is_distinct() && a.order_bys().is_empty() && a.groups_accumulator_supported()
            });
        plain.then(|| RunAggregateExec {
            mode,
            group_by: group.expr().to_vec(),
            aggregates: agg.aggr_expr().to_vec(),
            input: agg.input().clone(),
            schema: agg.schema(),
            props: agg.properties().clone(),
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }

    fn with_input(&self, input: Arc<dyn ExecutionPlan>) -> RunAggregateExec {
        RunAggregateExec {
            mode: self.mode,
            group_by: self.group_by.clone(),
            aggregates: self.aggregates.clone(),
            input,
            schema: self.schema.clone(),
            props: self.props.clone(),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }
}

impl DisplayAs for RunAggregateExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let groups: Vec<String> = self
            .group_by
            .iter()
            .map(|(e, name)| format!("{e} as {name}"))
            .collect();
        let aggregates: Vec<&str> = self.aggregates.iter().map(|a| a.name()).collect();
        write!(
            f,
            "RunAggregateExec: mode={:?}, gby=[{}], aggr=[{}]",
            self.mode,
            groups.join(", "),
            aggregates.join(", ")
        )
    }
}

impl ExecutionPlan for RunAggregateExec {
    fn name(&self) -> &str {
        "RunAggregateExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        let arguments: Vec<Arc<dyn PhysicalExpr>> = self
            .aggregates
            .iter()
            .flat_map(|a| a.expressions())
            .collect();
        apply_expression_roots(
            self.group_by.iter().map(|(e, _)| e).chain(arguments.iter()),
            f,
        )
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        match children.pop() {
            Some(input) if children.is_empty() => Ok(Arc::new(self.with_input(input))),
            _ => Err(datafusion::error::DataFusionError::Internal(
                "RunAggregateExec takes exactly one input".into(),
            )),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let runs = Runs {
            group_by: self.group_by.iter().map(|(e, _)| e.clone()).collect(),
            aggregates: self.aggregates.clone(),
            arguments: self.aggregates.iter().map(|a| a.expressions()).collect(),
            accumulators: self
                .aggregates
                .iter()
                .map(|a| a.create_groups_accumulator())
                .collect::<DfResult<_>>()?,
            final_values: !matches!(self.mode, AggregateMode::Partial),
            schema: self.schema.clone(),
            open: None,
            indices: Vec::new(),
            metrics: BaselineMetrics::new(&self.metrics, partition),
        };
        let stream = futures::stream::unfold(Some((input, runs)), |state| async move {
            let (mut input, mut runs) = state?;
            loop {
                let step = match input.next().await {
                    Some(Ok(batch)) => runs.push(&batch),
                    Some(Err(e)) => return Some((Err(e), None)),
                    None => {
                        return match runs.finish() {
                            Ok(Some(out)) => Some((Ok(out), None)),
                            Ok(None) => None,
                            Err(e) => Some((Err(e), None)),
                        }
                    }
                };
                match step {
                    Ok(Some(out)) => return Some((Ok(out), Some((input, runs)))),
                    Ok(None) => continue,
                    Err(e) => return Some((Err(e), None)),
                }
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            stream,
        )))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

/// The state of one partition's run aggregation. Group index 0 is always the open group:
/// the last run of the previous batch, which the next batch may continue.
struct Runs {
    group_by: Vec<Arc<dyn PhysicalExpr>>,
    aggregates: Vec<Arc<AggregateFunctionExpr>>,
    /// Each aggregate's argument expressions.
    arguments: Vec<Vec<Arc<dyn PhysicalExpr>>>,
    accumulators: Vec<Box<dyn GroupsAccumulator>>,
    /// Single mode emits final values; partial mode the accumulators' states.
    final_values: bool,
    schema: SchemaRef,
    /// The open group's key, one row per grouping column.
    open: Option<Vec<ArrayRef>>,
    /// Reused group index per row.
    indices: Vec<usize>,
    metrics: BaselineMetrics,
}

impl Runs {
    /// Aggregates `batch`; returns the groups it completed (every group before its last
    /// run), if any.
    fn push(&mut self, batch: &RecordBatch) -> DfResult<Option<RecordBatch>> {
        let rows = batch.num_rows();
        if rows == 0 {
            return Ok(None);
        }
        let elapsed = self.metrics.elapsed_compute().clone();
        let timer = elapsed.timer();
        let keys = evaluate(&self.group_by, batch)?;
        let runs = runs(&keys)?;
        // The open group is index 0: the batch's first run continues it or comes after it.
        let first = match &self.open {
            Some(open) if same_key(open, &keys, 0)? => 0,
            Some(_) => 1,
            None => 0,
        };
        let groups = first + runs.len();
        self.accumulate(batch, &runs, first, groups)?;
        // Every group but the batch's last run is complete.
        let starts: UInt32Array = runs[..runs.len() - 1]
            .iter()
            .map(|r| r.start as u32)
            .collect();
        let last = runs.last().map_or(0, |r| r.start);
        let mut done = Vec::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            let started = take(key, &starts, None)?;
            done.push(match (&self.open, first) {
                (Some(open), 1) => concat(&[open[i].as_ref(), started.as_ref()])?,
                _ => started,
            });
        }
        self.open = Some(keys.iter().map(|k| k.slice(last, 1)).collect());
        let out = self.emit(groups - 1, done);
        timer.done();
        out
    }

    /// Adds the rows of `batch` to the groups `first..groups` (run `i` is group `first + i`).
    /// Rows of short runs go to the group accumulators row by row (one batched call); a run
    /// of at least [`LONG_RUN`] rows is aggregated on its own with the aggregate's plain
    /// accumulator, whose update works on the whole slice at once (a vectorized sum, a
    /// count that is a length), and its state is merged into the group — the same
    /// partial/final protocol DataFusion's two-phase aggregation uses.
    fn accumulate(
        &mut self,
        batch: &RecordBatch,
        runs: &[Range<usize>],
        first: usize,
        groups: usize,
    ) -> DfResult<()> {
        let rows = batch.num_rows();
        let long: Vec<usize> = (0..runs.len())
            .filter(|&i| runs[i].len() >= LONG_RUN)
            .collect();
        let short_rows = rows - long.iter().map(|&i| runs[i].len()).sum::<usize>();
        let filter = (short_rows > 0 && !long.is_empty()).then(|| {
            let mut keep = BooleanBufferBuilder::new(rows);
            for r in runs {
                keep.append_n(r.len(), r.len() < LONG_RUN);
            }
            BooleanArray::new(keep.finish(), None)
        });
        if short_rows > 0 {
            self.indices.clear();
            for (i, run) in runs.iter().enumerate() {
                self.indices
                    .extend(std::iter::repeat_n(first + i, run.len()));
            }
        }
        let long_groups: Vec<usize> = long.iter().map(|&i| first + i).collect();
        let aggregates = self.aggregates.iter().zip(&self.arguments);
        for ((a, args), acc) in aggregates.zip(self.accumulators.iter_mut()) {
            let values = evaluate(args, batch)?;
            if short_rows > 0 {
                acc.update_batch(&values, &self.indices, filter.as_ref(), groups)?;
            }
            if long.is_empty() {
                continue;
            }
            let mut states: Vec<Vec<ScalarValue>> = Vec::new();
            for &i in &long {
                let run = &runs[i];
                let slices: Vec<ArrayRef> = values
                    .iter()
                    .map(|v| v.slice(run.start, run.len()))
                    .collect();
                let mut single = a.create_accumulator()?;
                single.update_batch(&slices)?;
                for (f, v) in single.state()?.into_iter().enumerate() {
                    if states.len() <= f {
                        states.push(Vec::with_capacity(long.len()));
                    }
                    states[f].push(v);
                }
            }
            let states = states
                .into_iter()
                .map(ScalarValue::iter_to_array)
                .collect::<DfResult<Vec<_>>>()?;
            acc.merge_batch(&states, &long_groups, groups)?;
        }
        Ok(())
    }

    /// Emits the open group at the end of the input.
    fn finish(&mut self) -> DfResult<Option<RecordBatch>> {
        match self.open.take() {
            Some(key) => self.emit(1, key),
            None => Ok(None),
        }
    }

    /// The first `n` groups, whose keys are `keys`, as an output batch (`None` if `n` is 0).
    fn emit(&mut self, n: usize, mut keys: Vec<ArrayRef>) -> DfResult<Option<RecordBatch>> {
        if n == 0 {
            return Ok(None);
        }
        for acc in &mut self.accumulators {
            if self.final_values {
                keys.push(acc.evaluate(EmitTo::First(n))?);
            } else {
                keys.extend(acc.state(EmitTo::First(n))?);
            }
        }
        let batch = RecordBatch::try_new(self.schema.clone(), keys)?;
        self.metrics.record_output(batch.num_rows());
        Ok(Some(batch))
    }
}

/// A run at least this long is aggregated as one slice (see [`Runs::accumulate`]); shorter
/// runs cost less row by row than the per-run accumulator and state they would need.
const LONG_RUN: usize = 1024;

/// Evaluates `exprs` over `batch`, one array each.
fn evaluate(exprs: &[Arc<dyn PhysicalExpr>], batch: &RecordBatch) -> DfResult<Vec<ArrayRef>> {
    exprs
        .iter()
        .map(|e| e.evaluate(batch)?.into_array(batch.num_rows()))
        .collect()
}

/// The runs of equal keys in `keys`, which are sorted on them (equal keys are adjacent): the
/// end of each run is found by galloping from its start and then bisecting, so a long run
/// costs a few dozen comparisons rather than one per row.
fn runs(keys: &[ArrayRef]) -> DfResult<Vec<Range<usize>>> {
    let rows = keys.first().map_or(0, |k| k.len());
    let cmps = keys
        .iter()
        .map(|k| make_comparator(k.as_ref(), k.as_ref(), Default::default()))
        .collect::<Result<Vec<_>, _>>()?;
    let same = |a: usize, b: usize| cmps.iter().all(|c| c(a, b).is_eq());
    let mut out = Vec::new();
    let mut start = 0;
    while start < rows {
        // `equal` is known to match the run's key, `end` to be past it (or the end).
        let (mut equal, mut step) = (start, 1);
        let mut end = loop {
            let probe = start + step;
            if probe >= rows {
                break rows;
            }
            if !same(start, probe) {
                break probe;
            }
            equal = probe;
            step *= 2;
        };
        while end - equal > 1 {
            let mid = equal + (end - equal) / 2;
            if same(start, mid) {
                equal = mid;
            } else {
                end = mid;
            }
        }
        out.push(start..end);
        start = end;
    }
    Ok(out)
}

/// Whether row 0 of the one-row arrays `open` has the key of row `row` of `keys`.
fn same_key(open: &[ArrayRef], keys: &[ArrayRef], row: usize) -> DfResult<bool> {
    for (a, b) in open.iter().zip(keys) {
        let cmp = make_comparator(a.as_ref(), b.as_ref(), Default::default())?;
        if !cmp(0, row).is_eq() {
            return Ok(false);
        }
    }
    Ok(true)
}
