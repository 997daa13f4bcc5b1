/*
 * influence_rank.c — weighted PageRank over who moved whom
 * (SQL: customer_score.influence_rank).
 *
 * Input: a query with columns source bigint, target bigint and optionally
 * weight double precision (1 when absent): source's action moved target.
 * Rank flows to the people who moved others, so the random walk goes from a
 * target to the sources that moved it, in proportion to the edge weights:
 *
 *   r'(s) = (1 - d) / N + d * (D / N + sum over edges (s, t, w) of r(t) * w / W(t))
 *
 * where N is the number of customers (every id seen as a source or target),
 * d the damping, W(t) the total weight of the edges into t (the people who
 * moved t) and D the rank held by customers whom nobody moved (W = 0): such
 * a "dangling" customer passes its rank evenly to all.  Ranks start at 1/N,
 * sum to 1, and the iteration stops when the L1 change falls below the
 * tolerance or after max_iterations.  Edges from a customer to themselves
 * are ignored; parallel edges add up.
 *
 * The graph is held in compressed sparse rows by source (int32 indexes and
 * normalised weights), so one iteration costs O(N + edges).
 */
#include "postgres.h"

#include <math.h>

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "action_reader.h"
#include "id_map.h"
#include "interrupts.h"
#include "validate.h"

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

PG_FUNCTION_INFO_V1(influence_rank);
Datum
influence_rank(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	double		damping = PG_GETARG_FLOAT8(1);
	int32		max_iterations = PG_GETARG_INT32(2);
	double		tolerance = PG_GETARG_FLOAT8(3);
	CsColumn	columns[] = {
		{"source", CS_COL_INT8, CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{"target", CS_COL_INT8, CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{"weight", CS_COL_FLOAT8, CS_COL_NOT_NULL},
	};
	CsQuery		query = {
		.what = "edges",
		.sql = sql,
		.columns = columns,
		.ncolumns = lengthof(columns),
		.key_column = -1,
	};
	MemoryContext cxt;
	MemoryContext oldcxt;
	int64		nedges;
	int64	   *source;
	int64	   *target;
	double	   *weight;
	IdMap	   *map;
	int64	   *node_id;
	int32		n = 0;
	int32	   *src;
	int32	   *dst;
	double	   *in_weight;
	int32	   *row_start;
	int32	   *col;
	double	   *coef;
	int32	   *dangling;
	int32		ndangling = 0;
	double	   *rank;
	double	   *next;
	int			iterations = 0;
	double		delta = 0.0;
	bool		converged = false;

	if (!(damping >= 0.0 && damping < 1.0))
		cs_reject("damping", "at least 0 and less than 1", damping);
	if (max_iterations < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_iterations must be at least 1, got %d", max_iterations)));
	cs_check_non_negative("tolerance", tolerance);
	InitMaterializedSRF(fcinfo, 0);

	cxt = AllocSetContextCreate(CurrentMemoryContext, "customer_score influence_rank",
								ALLOCSET_DEFAULT_SIZES);
	query.cxt = cxt;
	query.strings = cs_strings_create(cxt);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	cs_read_query(&query);
	SPI_finish();

	oldcxt = MemoryContextSwitchTo(cxt);
	nedges = query.nrows;
	source = CS_COL_INT8S(&columns[0]);
	target = CS_COL_INT8S(&columns[1]);
	weight = columns[2].present ? CS_COL_FLOAT8S(&columns[2]) : NULL;

	/* customers, numbered in id order */
	map = idmap_new(cxt, Max(nedges / 4, 16));
	node_id = palloc_extended(sizeof(int64) * Max((Size) nedges * 2, 1), MCXT_ALLOC_HUGE);
	for (int64 e = 0; e < nedges; e++)
	{
		int64		ends[2] = {source[e], target[e]};

		CHECK_FOR_INTERRUPTS();
		if (weight && (!isfinite(weight[e]) || weight[e] < 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("weight of edge " INT64_FORMAT " -> " INT64_FORMAT " must be a finite non-negative number, got %s",
							source[e], target[e],
							cs_format_double(weight[e], (char[DOUBLE_SHORTEST_DECIMAL_LEN]) {0}))));
		for (int k = 0; k < 2; k++)
		{
			bool		found;

			(void) idmap_insert(map, ends[k], &found);
			if (!found)
			{
				if (n == PG_INT32_MAX)
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("too many customers in the edges query")));
				node_id[n++] = ends[k];
			}
		}
	}
	cs_sort(node_id, n, sizeof(int64), cmp_int64);
	for (int32 v = 0; v < n; v++)
		idmap_lookup(map, node_id[v])->index = v;

	/* edges as indexes, and the weight into every target */
	src = palloc_extended(sizeof(int32) * Max((Size) nedges, 1), MCXT_ALLOC_HUGE);
	dst = palloc_extended(sizeof(int32) * Max((Size) nedges, 1), MCXT_ALLOC_HUGE);
	in_weight = palloc_extended(sizeof(double) * Max((Size) n, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	row_start = palloc_extended(sizeof(int32) * ((Size) n + 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (int64 e = 0; e < nedges; e++)
	{
		double		w = weight ? weight[e] : 1.0;

		src[e] = idmap_lookup(map, source[e])->index;
		dst[e] = idmap_lookup(map, target[e])->index;
		if (src[e] == dst[e] || w == 0.0)
		{
			src[e] = -1;		/* a self-loop or a weightless edge moves no rank */
			continue;
		}
		in_weight[dst[e]] += w;
		row_start[src[e] + 1]++;
	}
	idmap_destroy(map);
	for (int32 v = 0; v < n; v++)
	{
		if (!isfinite(in_weight[v]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the weights of the edges into customer " INT64_FORMAT " add up to more than double precision can hold",
							node_id[v])));
		row_start[v + 1] += row_start[v];
	}

	/* CSR by source: coef = w / W(target) */
	col = palloc_extended(sizeof(int32) * Max((Size) row_start[n], 1), MCXT_ALLOC_HUGE);
	coef = palloc_extended(sizeof(double) * Max((Size) row_start[n], 1), MCXT_ALLOC_HUGE);
	{
		int32	   *fill = palloc_extended(sizeof(int32) * ((Size) n + 1), MCXT_ALLOC_HUGE);

		memcpy(fill, row_start, sizeof(int32) * ((Size) n + 1));
		for (int64 e = 0; e < nedges; e++)
		{
			int32		k;

			if (src[e] < 0)
				continue;
			k = fill[src[e]]++;
			col[k] = dst[e];
			coef[k] = (weight ? weight[e] : 1.0) / in_weight[dst[e]];
		}
		pfree(fill);
	}
	pfree(src);
	pfree(dst);
	pfree(source);
	pfree(target);
	if (weight)
		pfree(weight);

	dangling = palloc_extended(sizeof(int32) * Max((Size) n, 1), MCXT_ALLOC_HUGE);
	for (int32 v = 0; v < n; v++)
		if (in_weight[v] == 0.0)
			dangling[ndangling++] = v;
	pfree(in_weight);

	/* power iteration */
	rank = palloc_extended(sizeof(double) * Max((Size) n, 1), MCXT_ALLOC_HUGE);
	next = palloc_extended(sizeof(double) * Max((Size) n, 1), MCXT_ALLOC_HUGE);
	for (int32 v = 0; v < n; v++)
		rank[v] = 1.0 / n;
	while (n > 0 && iterations < max_iterations)
	{
		double		dangling_rank = 0.0;
		double		base;
		double	   *swap;

		CHECK_FOR_INTERRUPTS();
		for (int32 i = 0; i < ndangling; i++)
			dangling_rank += rank[dangling[i]];
		base = (1.0 - damping) / n + damping * dangling_rank / n;
		delta = 0.0;
		for (int32 v = 0; v < n; v++)
		{
			double		acc = 0.0;

			for (int32 k = row_start[v]; k < row_start[v + 1]; k++)
				acc += rank[col[k]] * coef[k];
			next[v] = base + damping * acc;
			delta += fabs(next[v] - rank[v]);
		}
		swap = rank;
		rank = next;
		next = swap;
		iterations++;
		if (delta < tolerance)
		{
			converged = true;
			break;
		}
	}
	MemoryContextSwitchTo(oldcxt);

	if (n > 0 && !converged)
		ereport(NOTICE,
				(errmsg_plural("influence_rank stopped after %d iteration with an L1 change of %g, above the tolerance %g",
							   "influence_rank stopped after %d iterations with an L1 change of %g, above the tolerance %g",
							   iterations, iterations, delta, tolerance),
				 errhint("Raise max_iterations or the tolerance.")));
	else
		elog(DEBUG1, "influence_rank: %d customers, " INT64_FORMAT " edges, converged after %d iterations (L1 change %g)",
			 n, nedges, iterations, delta);

	for (int32 v = 0; v < n; v++)
	{
		Datum		values[2] = {Int64GetDatum(node_id[v]), Float8GetDatum(rank[v])};
		bool		nulls[2] = {false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextDelete(cxt);
	return (Datum) 0;
}
