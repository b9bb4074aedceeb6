//! Dropping predicates the key ranges already enforce. The provider reports every pushed
//! filter as inexact, so DataFusion keeps a `FilterExec` over the scan; once the plan is
//! built, [`KeyFilter`] removes from that filter (directly over the scan, or over nodes that
//! only move its rows between partitions) each conjunct the scan declares exact
//! ([`StoreScanExec::exact`]: `region IN ('r03', 'r12')` when the scan reads exactly those
//! keys), and the filter itself when nothing is left. Matching is structural on the
//! physical expressions, so a predicate rewritten on the way is simply kept.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result as DfResult;
use datafusion::physical_expr::conjunction;
use datafusion::physical_expr::projection::ProjectionExprs;
use datafusion::physical_expr::utils::split_conjunction;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::ExecutionPlan;

use crate::scan_exec::StoreScanExec;

/// The physical optimizer rule removing exactly enforced key predicates from the
/// `FilterExec` directly over a [`StoreScanExec`].
#[derive(Debug, Default)]
pub struct KeyFilter;

impl PhysicalOptimizerRule for KeyFilter {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(filter) = node.downcast_ref::<FilterExec>() else {
                return Ok(Transformed::no(node));
            };
            // A filter that also limits does more than filter: keep it whole.
            if filter.fetch().is_some() {
                return Ok(Transformed::no(node));
            }
            let input = filter.input();
            let Some(scan) = scan_below(input) else {
                return Ok(Transformed::no(node));
            };
            let conjuncts = split_conjunction(filter.predicate());
            let left: Vec<_> = conjuncts
                .iter()
                .filter(|c| !scan.exact().iter().any(|e| e.as_ref() == c.as_ref()))
                .map(|c| Arc::clone(*c))
                .collect();
            if left.len() == conjuncts.len() {
                return Ok(Transformed::no(node));
            }
            // The filter may also pick the columns its parent needs.
            let projection: Option<Vec<usize>> = filter.projection().as_ref().map(|p| p.to_vec());
            let input = Arc::clone(input);
            let replaced: Arc<dyn ExecutionPlan> = match (left.is_empty(), projection) {
                (true, None) => input,
                (true, Some(columns)) => {
                    let exprs = ProjectionExprs::from_indices(&columns, &input.schema());
                    Arc::new(ProjectionExec::try_new(exprs.iter().cloned(), input)?)
                }
                (false, projection) => Arc::new(
                    FilterExecBuilder::new(conjunction(left), input)
                        .with_default_selectivity(filter.default_selectivity())
                        .apply_projection(projection)?
                        .build()?,
                ),
            };
            Ok(Transformed::yes(replaced))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "key_filter"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The scan under `plan` if only nodes that pass its rows on unchanged (same rows, same
/// columns: repartitioning, merging partitions, cooperative yielding) are in between.
fn scan_below(plan: &Arc<dyn ExecutionPlan>) -> Option<&StoreScanExec> {
    if let Some(scan) = plan.downcast_ref::<StoreScanExec>() {
        return Some(scan);
    }
    let passes_rows = plan.downcast_ref::<CooperativeExec>().is_some()
        || plan.downcast_ref::<RepartitionExec>().is_some()
        || plan.downcast_ref::<CoalescePartitionsExec>().is_some();
    match plan.children().as_slice() {
        [child] if passes_rows => scan_below(child),
        _ => None,
    }
}
