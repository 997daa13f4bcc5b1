/*
 * outcome_metrics.c — how well a score ranked customers by what they went on to spend.
 *
 * The aggregates normalized_gini, top_decile_capture and spearman, and the function calibration,
 * read one state: outcome_state, a histogram of distinct (score, realized value) pairs with counts
 * (the history.c state, kind HISTORY_OUTCOMES).  The histogram is sorted by score, then realized
 * value, so every metric is independent of row order and of how parallel workers split the rows,
 * and customers with equal scores form consecutive blocks.
 *
 * Ties are treated as a score that cannot tell the tied customers apart: the capture curve runs
 * straight through a block of equal scores (the average over every order of the tied customers),
 * Spearman uses average ranks, calibration breaks ties by realized value ascending (never in the
 * score's favour).  A metric that the data cannot define (no customers, nothing realized, every
 * customer alike) is NULL, never NaN.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/tuplestore.h"

#include "history.h"
#include "interrupts.h"
#include "validate.h"

#define OUTCOME_TYPE "outcome_state"

/* One block of customers with the same score: how many and what they realized in total. */
typedef struct ScoreBlock
{
	double		score;
	double		customers;
	double		realized;
} ScoreBlock;

/* ---------------------------------------------------------------------
 * The state type and the shared transition and combine functions
 * ---------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(outcome_state_in);
/* Text input of outcome_state: "v1 (score,realized):count ...". */
Datum
outcome_state_in(PG_FUNCTION_ARGS)
{
	return history_in(PG_GETARG_CSTRING(0), HISTORY_OUTCOMES, OUTCOME_TYPE);
}

PG_FUNCTION_INFO_V1(outcome_state_out);
/* Text output of outcome_state, floats in shortest exact form. */
Datum
outcome_state_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(history_out(DatumGetHistoryState(PG_GETARG_DATUM(0))));
}

PG_FUNCTION_INFO_V1(outcome_state_recv);
/* Binary input of outcome_state. */
Datum
outcome_state_recv(PG_FUNCTION_ARGS)
{
	return history_recv((StringInfo) PG_GETARG_POINTER(0), HISTORY_OUTCOMES, OUTCOME_TYPE);
}

PG_FUNCTION_INFO_V1(outcome_state_send);
/* Binary output of outcome_state. */
Datum
outcome_state_send(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(history_send(DatumGetHistoryState(PG_GETARG_DATUM(0))));
}

PG_FUNCTION_INFO_V1(outcome_transfn);
/* Transition function of every outcome aggregate: add one (score, realized) pair; NULLs skipped. */
Datum
outcome_transfn(PG_FUNCTION_ARGS)
{
	double		key[HISTORY_MAX_KEYS] = {0};

	CS_REQUIRE_AGG_CONTEXT(fcinfo, "outcome_transfn");
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	key[0] = PG_GETARG_FLOAT8(1);
	key[1] = PG_GETARG_FLOAT8(2);
	history_validate_key(HISTORY_OUTCOMES, key);
	PG_RETURN_POINTER(history_add(fcinfo, HISTORY_OUTCOMES, key, 1));
}

PG_FUNCTION_INFO_V1(outcome_combinefn);
/* Combine function of every outcome aggregate: merges two histograms. */
Datum
outcome_combinefn(PG_FUNCTION_ARGS)
{
	HistoryState *state;

	CS_REQUIRE_AGG_CONTEXT(fcinfo, "outcome_combinefn");
	state = history_combine(fcinfo, HISTORY_OUTCOMES);
	if (state == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(state);
}

/* ---------------------------------------------------------------------
 * The metrics
 * ---------------------------------------------------------------------
 */

/* The state's points, sorted by (score, realized), in a copy the caller owns. */
static HistoryState *
outcome_points(FunctionCallInfo fcinfo)
{
	return history_compacted_copy(DatumGetHistoryState(PG_GETARG_DATUM(0)));
}

/* Blocks of equal score, highest score first; *nblocks is set, totals returned through the out args. */
static ScoreBlock *
score_blocks(const HistoryState *state, int32 *nblocks, double *customers, double *realized)
{
	ScoreBlock *blocks = palloc(sizeof(ScoreBlock) * Max(state->used, 1));
	int32		n = 0;

	*customers = 0;
	*realized = 0;
	for (int32 i = state->used - 1; i >= 0; i--)
	{
		const HistoryPoint *p = &state->points[i];

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (n == 0 || blocks[n - 1].score != p->key[0])
		{
			blocks[n].score = p->key[0];
			blocks[n].customers = 0;
			blocks[n].realized = 0;
			n++;
		}
		blocks[n - 1].customers += (double) p->count;
		blocks[n - 1].realized += (double) p->count * p->key[1];
		*customers += (double) p->count;
		*realized += (double) p->count * p->key[1];
	}
	*nblocks = n;
	cs_check_result("total realized value", *realized);
	return blocks;
}

/*
 * The blocks of a final function's state, or NULL when there is no state or nothing was
 * realized (no capture curve to draw).  The state's points go to *points.
 */
static ScoreBlock *
realized_blocks(FunctionCallInfo fcinfo, HistoryState **points, int32 *n, double *customers,
				double *realized)
{
	ScoreBlock *blocks;

	if (PG_ARGISNULL(0))
		return NULL;
	*points = outcome_points(fcinfo);
	blocks = score_blocks(*points, n, customers, realized);
	return *realized > 0 ? blocks : NULL;
}

/*
 * The Gini coefficient of a capture curve: customers taken block by block in the given order,
 * the curve is the share of the realized value held so far against the share of customers, and
 * the coefficient is twice the area between it and the diagonal (straight lines within blocks).
 */
static double
capture_gini(const ScoreBlock *blocks, int32 n, double customers, double realized)
{
	double		area = 0;
	double		held = 0;

	for (int32 b = 0; b < n; b++)
	{
		double		before = held;

		held += blocks[b].realized;
		area += blocks[b].customers / customers * (before + held) / 2.0 / realized;
	}
	return 2.0 * area - 1.0;
}

/* qsort comparator: blocks by realized value per customer, highest first */
static int
block_by_realized_desc(const void *a, const void *b)
{
	double		x = ((const ScoreBlock *) a)->realized / ((const ScoreBlock *) a)->customers;
	double		y = ((const ScoreBlock *) b)->realized / ((const ScoreBlock *) b)->customers;

	return (x < y) - (x > y);
}

PG_FUNCTION_INFO_V1(normalized_gini_finalfn);
/*
 * Final function of normalized_gini: the Gini of the realized values ordered by the score divided
 * by the Gini of the best possible order (by the realized values themselves).  1 is a perfect
 * ranking, 0 no better than chance, below 0 worse.  NULL when nothing was realized or every
 * customer realized the same (no order is better than another).
 */
Datum
normalized_gini_finalfn(PG_FUNCTION_ARGS)
{
	HistoryState *state;
	ScoreBlock *blocks;
	ScoreBlock *best;
	int32		n;
	double		customers;
	double		realized;
	double		perfect;

	blocks = realized_blocks(fcinfo, &state, &n, &customers, &realized);
	if (blocks == NULL)
		PG_RETURN_NULL();

	/* the best order: every customer a block of its own, by realized value */
	best = palloc(sizeof(ScoreBlock) * state->used);
	for (int32 i = 0; i < state->used; i++)
	{
		best[i].score = 0;
		best[i].customers = (double) state->points[i].count;
		best[i].realized = (double) state->points[i].count * state->points[i].key[1];
	}
	cs_sort(best, state->used, sizeof(ScoreBlock), block_by_realized_desc);
	perfect = capture_gini(best, state->used, customers, realized);
	/* equal realized values give a straight curve; rounding may leave a trace of area */
	if (perfect <= 1e-12)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(cs_check_result("normalized Gini",
									 capture_gini(blocks, n, customers, realized) / perfect));
}

/* The share of the realized value held by the top fraction of customers by score. */
static double
capture_at(const ScoreBlock *blocks, int32 n, double customers, double realized, double fraction)
{
	double		wanted = fraction * customers;
	double		taken = 0;
	double		held = 0;

	for (int32 b = 0; b < n; b++)
	{
		if (taken + blocks[b].customers >= wanted)
		{
			held += blocks[b].realized * (wanted - taken) / blocks[b].customers;
			break;
		}
		taken += blocks[b].customers;
		held += blocks[b].realized;
	}
	return Min(held / realized, 1.0);
}

PG_FUNCTION_INFO_V1(top_decile_capture_finalfn);
/*
 * Final function of top_decile_capture: the share of the realized value held by the top 10 % of
 * customers by score (a block of tied scores across the cut counts pro rata).  NULL when nothing
 * was realized.
 */
Datum
top_decile_capture_finalfn(PG_FUNCTION_ARGS)
{
	HistoryState *state;
	ScoreBlock *blocks;
	int32		n;
	double		customers;
	double		realized;

	blocks = realized_blocks(fcinfo, &state, &n, &customers, &realized);
	if (blocks == NULL)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(capture_at(blocks, n, customers, realized, 0.1));
}

/* A point's index with its realized value, to rank the realized values. */
typedef struct RealizedIndex
{
	double		realized;
	int32		index;
} RealizedIndex;

/* qsort comparator: by realized value, then index (a total order) */
static int
realized_index_cmp(const void *a, const void *b)
{
	const RealizedIndex *x = a;
	const RealizedIndex *y = b;

	if (x->realized != y->realized)
		return x->realized < y->realized ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/*
 * Average ranks (1-based) of the points' scores and realized values, each point standing for
 * count customers: a run of equal values shares the mean of the ranks it spans.
 */
static void
average_ranks(const HistoryState *state, double *score_rank, double *realized_rank)
{
	RealizedIndex *order = palloc(sizeof(RealizedIndex) * state->used);
	double		before = 0;
	int32		i = 0;

	/* scores: the points are sorted by score already */
	while (i < state->used)
	{
		int32		j = i;
		double		run = 0;

		while (j < state->used && state->points[j].key[0] == state->points[i].key[0])
			run += (double) state->points[j++].count;
		for (int32 k = i; k < j; k++)
			score_rank[k] = before + (run + 1.0) / 2.0;
		before += run;
		i = j;
	}

	for (i = 0; i < state->used; i++)
	{
		order[i].realized = state->points[i].key[1];
		order[i].index = i;
	}
	cs_sort(order, state->used, sizeof(RealizedIndex), realized_index_cmp);
	before = 0;
	i = 0;
	while (i < state->used)
	{
		int32		j = i;
		double		run = 0;

		while (j < state->used && order[j].realized == order[i].realized)
			run += (double) state->points[order[j++].index].count;
		for (int32 k = i; k < j; k++)
			realized_rank[order[k].index] = before + (run + 1.0) / 2.0;
		before += run;
		i = j;
	}
	pfree(order);
}

PG_FUNCTION_INFO_V1(spearman_finalfn);
/*
 * Final function of spearman: Spearman's rank correlation of score and realized value (the
 * Pearson correlation of their average ranks).  NULL for fewer than two customers or when either
 * side is constant.
 */
Datum
spearman_finalfn(PG_FUNCTION_ARGS)
{
	HistoryState *state;
	double	   *rs;
	double	   *rr;
	double		customers;
	double		mean;
	double		cov = 0;
	double		var_s = 0;
	double		var_r = 0;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = outcome_points(fcinfo);
	rs = palloc(sizeof(double) * state->used);
	rr = palloc(sizeof(double) * state->used);
	average_ranks(state, rs, rr);
	customers = (double) history_total_count(state);
	mean = (customers + 1.0) / 2.0;
	for (int32 i = 0; i < state->used; i++)
	{
		double		c = (double) state->points[i].count;

		cov += c * (rs[i] - mean) * (rr[i] - mean);
		var_s += c * (rs[i] - mean) * (rs[i] - mean);
		var_r += c * (rr[i] - mean) * (rr[i] - mean);
	}
	if (var_s <= 0 || var_r <= 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(Max(-1.0, Min(1.0, cs_check_result("Spearman correlation", cov / sqrt(var_s * var_r)))));
}

PG_FUNCTION_INFO_V1(outcome_partial_finalfn);
/* Final function of outcome_partial: the state itself, compacted. */
Datum
outcome_partial_finalfn(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_POINTER(outcome_points(fcinfo));
}

/* Running sums of one decile of calibration. */
typedef struct DecileSums
{
	int64		customers;
	double		score;
	double		realized;
} DecileSums;

/* Add count customers of one point to the deciles from position *position on. */
static void
fill_deciles(DecileSums *deciles, int64 total, int64 *position, const HistoryPoint *p)
{
	int64		left = p->count;

	while (left > 0)
	{
		int			d = (int) ((*position * 10) / total);
		int64		decile_end = ((int64) (d + 1) * total + 9) / 10;
		int64		take = Min(left, decile_end - *position);

		deciles[d].customers += take;
		deciles[d].score += (double) take * p->key[0];
		deciles[d].realized += (double) take * p->key[1];
		*position += take;
		left -= take;
	}
}

PG_FUNCTION_INFO_V1(outcome_calibration);
/*
 * calibration(outcome_state): customers in ten groups by score, highest first (group d holds
 * positions from d/10 to (d+1)/10 of the customers, so sizes differ by at most one; equal
 * scores ordered by realized value ascending), with
 * each group's mean score and mean realized value.  Empty groups (fewer than ten customers)
 * give no row.
 */
Datum
outcome_calibration(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HistoryState *state;
	DecileSums	deciles[10] = {{0}};
	int64		total;
	int64		position = 0;
	int32		i;

	InitMaterializedSRF(fcinfo, 0);
	state = outcome_points(fcinfo);
	total = history_total_count(state);
	if (total == 0)
		return (Datum) 0;
	if (total > PG_INT64_MAX / 10)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many customers for calibration: " INT64_FORMAT, total),
				 errdetail("The limit is " INT64_FORMAT " customers.", PG_INT64_MAX / 10)));

	/* blocks of equal score from the highest down; within a block, realized ascending */
	i = state->used - 1;
	while (i >= 0)
	{
		int32		first = i;

		CHECK_FOR_INTERRUPTS();
		while (first > 0 && state->points[first - 1].key[0] == state->points[i].key[0])
			first--;
		for (int32 k = first; k <= i; k++)
			fill_deciles(deciles, total, &position, &state->points[k]);
		i = first - 1;
	}

	for (int d = 0; d < 10; d++)
	{
		Datum		values[5];
		bool		nulls[5] = {false};

		if (deciles[d].customers == 0)
			continue;
		values[0] = Int32GetDatum(d + 1);
		values[1] = Int64GetDatum(deciles[d].customers);
		values[2] = Float8GetDatum(cs_check_result("mean score", deciles[d].score / deciles[d].customers));
		values[3] = Float8GetDatum(cs_check_result("mean realized value", deciles[d].realized / deciles[d].customers));
		values[4] = Float8GetDatum(cs_check_result("realized value", deciles[d].realized));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
