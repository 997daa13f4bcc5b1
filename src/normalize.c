/*
 * normalize.c — the score normalisations: normal_cdf and the window function
 * normalized(value, method).
 */
#include "postgres.h"

#include <math.h>

#include "access/tupdesc.h"
#include "access/xact.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplesort.h"
#include "windowapi.h"

#include "interrupts.h"
#include "validate.h"

/*
 * normal_cdf(z): the standard normal distribution function, for the z-score
 * normalisation.  erfc keeps full relative precision in the lower tail.
 */
PG_FUNCTION_INFO_V1(normal_cdf);
Datum
normal_cdf(PG_FUNCTION_ARGS)
{
	double		z = PG_GETARG_FLOAT8(0);

	if (isnan(z))
		cs_reject("z", "a number", z);
	PG_RETURN_FLOAT8(0.5 * erfc(-z / M_SQRT2));
}

/*
 * normalized(value, method) OVER (...): a value normalised to 0..1 within its
 * window partition, the way refresh normalises a component within the scored
 * population.  NULL values are left out of the population and give NULL.
 *
 *   percentile  share of the other values strictly below it: percent_rank()
 *               among the non-NULL values, (rank - 1) / (n - 1), 0 when n = 1
 *   log         ln(1 + max(v, 0)) / ln(1 + max over the partition), 0 if that is 0
 *   zscore      normal_cdf((v - mean) / population standard deviation), 0.5 if
 *               every value is the same
 *   minmax      (v - min) / (max - min), 0.5 if every value is the same
 *
 * The whole partition is read once, at its first row, into a sorted array
 * with the position of each row (the frame is ignored: the population is the
 * partition).  A row then costs a lookup, where percent_rank() OVER (ORDER BY
 * value) needs a sort of the whole rows per component.  Sums run over the
 * sorted values, so the result does not depend on the order the rows arrive
 * in.
 *
 * Memory is bounded by work_mem, as a sort's is: a partition whose array would
 * not fit is sorted by a tuplesort instead, which spills to disk, and the
 * percentiles come from a second tuplesort of (position, rank) read in row
 * order, built at the first percentile asked for.  Both paths walk the same
 * sorted values with the same arithmetic (the NormalizeWalk steps), so they
 * give the same doubles.
 */

typedef enum NormalizeMethod
{
	NORMALIZE_PERCENTILE,
	NORMALIZE_LOG,
	NORMALIZE_ZSCORE,
	NORMALIZE_MINMAX
} NormalizeMethod;

/* The statistics of one partition, in its partition-local memory. */
typedef struct NormalizeBasis
{
	bool		ready;
	int64		count;			/* non-NULL values */
	double		mean;
	double		stddev;			/* population standard deviation */
	double		min;
	double		max;
	double		log_max;		/* ln(1 + max(max, 0)) */
} NormalizeBasis;

/*
 * The partition's values sorted, with the row each came from, and each row's
 * percentile by its position in the partition; the buffers are reused from
 * partition to partition (fn_extra).
 */
typedef struct NormalizeEntry
{
	double		value;
	int64		position;
} NormalizeEntry;

/*
 * A partition too large for work_mem: its (value, position) pairs sorted by
 * value on disk, and once a percentile is asked for, position * rows + rank
 * sorted by position, read forward as the rows go by.
 */
typedef struct NormalizeExternal
{
	Tuplesortstate *by_value;
	TupleTableSlot *slot;		/* (value float8, position int8) */
	Tuplesortstate *by_position;
	int64		rows;
	int64		count;			/* non-NULL values */
	int64		cursor_position;	/* position of the last pair read, -1 before */
	int64		cursor_rank;
} NormalizeExternal;

typedef struct NormalizeValues
{
	NormalizeEntry *sorted;
	double	   *percentile;		/* by row position; unset for NULL rows */
	int64		capacity;
	NormalizeExternal external; /* by_value is NULL unless this partition is on disk */
} NormalizeValues;

/*
 * One walk over the values in ascending order: the running mean and the
 * extremes (first walk), the scaled squares (second walk), and the rank of the
 * current value, the index of the first value equal to it.
 */
typedef struct NormalizeWalk
{
	int64		i;
	double		mean;
	double		scale;
	double		squares;
	int64		first;
	double		first_value;
} NormalizeWalk;

/* The method named by the text argument; an unknown name is an error naming it. */
static NormalizeMethod
normalize_method(Datum method_datum)
{
	text	   *method = DatumGetTextPP(method_datum);
	const char *s = VARDATA_ANY(method);
	int			len = VARSIZE_ANY_EXHDR(method);

#define METHOD_IS(name) (len == sizeof(name) - 1 && memcmp(s, name, len) == 0)
	if (METHOD_IS("percentile"))
		return NORMALIZE_PERCENTILE;
	if (METHOD_IS("log"))
		return NORMALIZE_LOG;
	if (METHOD_IS("zscore"))
		return NORMALIZE_ZSCORE;
	if (METHOD_IS("minmax"))
		return NORMALIZE_MINMAX;
#undef METHOD_IS
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown normalization \"%s\"", text_to_cstring(method)),
			 errhint("Use percentile, log, zscore or minmax.")));
	pg_unreachable();
}

/* Orders entries by value, for cs_sort. */
static int
normalize_cmp(const void *a, const void *b)
{
	double		x = ((const NormalizeEntry *) a)->value;
	double		y = ((const NormalizeEntry *) b)->value;

	return (x > y) - (x < y);
}

/* The first walk's step: the running mean cannot overflow. */
static inline void
walk_mean(NormalizeWalk *walk, double v)
{
	walk->i++;
	walk->mean += (v - walk->mean) / (double) walk->i;
}

/*
 * The second walk's step: squares of deviations scaled by the largest, so
 * that squares of values near the limits of double cannot overflow.
 */
static inline void
walk_squares(NormalizeWalk *walk, double v)
{
	double		d = (v - walk->mean) / walk->scale;

	walk->squares += d * d;
}

/*
 * The rank of the i-th value (0-based) in ascending order, the values strictly
 * below it: percent_rank()'s numerator.
 */
static inline int64
walk_rank(NormalizeWalk *walk, int64 i, double v)
{
	if (i == 0 || v > walk->first_value)
	{
		walk->first = i;
		walk->first_value = v;
	}
	return walk->first;
}

/*
 * percent_rank(): the values strictly below, over n - 1, the same division as
 * PostgreSQL's, so the same double.
 */
static inline double
rank_percentile(int64 rank, int64 n)
{
	return n > 1 ? (double) rank / (double) (n - 1) : 0.0;
}

/*
 * After the first walk: the largest deviation from the mean, which scales the
 * second walk's squares (0 when every value is the same, and no second walk).
 */
static inline void
walk_set_scale(NormalizeWalk *walk, double min, double max)
{
	walk->scale = walk->i > 0 ? Max(fabs(min - walk->mean), fabs(max - walk->mean)) : 0.0;
}

/* The statistics from the finished walks and the sorted extremes. */
static void
basis_fill(NormalizeBasis *basis, const NormalizeWalk *walk, double min, double max)
{
	int64		n = walk->i;

	basis->count = n;
	basis->mean = walk->mean;
	basis->stddev = walk->scale > 0.0 ? walk->scale * sqrt(walk->squares / (double) n) : 0.0;
	basis->min = n > 0 ? min : 0.0;
	basis->max = n > 0 ? max : 0.0;
	basis->log_max = log1p(Max(basis->max, 0.0));
	basis->ready = true;
}

/* The i-th value of the partition, or false when it is NULL; rejects non-finite ones. */
static bool
partition_value(WindowObject winobj, int64 i, double *value)
{
	bool		isnull;
	bool		isout;
	Datum		d = WinGetFuncArgInPartition(winobj, 0, i, WINDOW_SEEK_HEAD, false, &isnull, &isout);

	if ((i & 0xFFFF) == 0)
		CHECK_FOR_INTERRUPTS();
	if (isnull || isout)
		return false;
	*value = DatumGetFloat8(d);
	if (unlikely(!isfinite(*value)))
		cs_reject("value", "a finite number", *value);
	return true;
}

/*
 * Reads the partition's non-NULL values into an array, sorts them, gives
 * every row its percentile and fills in the statistics.
 */
static void
normalize_load_in_memory(WindowObject winobj, FunctionCallInfo fcinfo, int64 rows,
						 NormalizeBasis *basis, NormalizeValues *store)
{
	NormalizeEntry *sorted;
	NormalizeWalk walk = {0};
	int64		n = 0;

	if (rows > store->capacity)
	{
		if (store->sorted != NULL)
		{
			pfree(store->sorted);
			pfree(store->percentile);
		}
		store->sorted = MemoryContextAllocHuge(fcinfo->flinfo->fn_mcxt, rows * sizeof(NormalizeEntry));
		store->percentile = MemoryContextAllocHuge(fcinfo->flinfo->fn_mcxt, rows * sizeof(double));
		store->capacity = rows;
	}
	sorted = store->sorted;
	for (int64 i = 0; i < rows; i++)
	{
		if (!partition_value(winobj, i, &sorted[n].value))
			continue;
		sorted[n].position = i;
		n++;
	}
	cs_sort(sorted, n, sizeof(NormalizeEntry), normalize_cmp);

	for (int64 i = 0; i < n; i++)
	{
		walk_mean(&walk, sorted[i].value);
		store->percentile[sorted[i].position] = rank_percentile(walk_rank(&walk, i, sorted[i].value), n);
	}
	walk_set_scale(&walk, n > 0 ? sorted[0].value : 0.0, n > 0 ? sorted[n - 1].value : 0.0);
	if (walk.scale > 0.0)
		for (int64 i = 0; i < n; i++)
			walk_squares(&walk, sorted[i].value);
	basis_fill(basis, &walk, n > 0 ? sorted[0].value : 0.0, n > 0 ? sorted[n - 1].value : 0.0);
}

/*
 * Ends a partition's tuplesorts when the window releases the partition (its
 * local memory is reset at the next partition, a rescan and the node's end).
 * On an abort the sorts' memory and files go with the query and the resource
 * owner, possibly already, so nothing is touched then.
 */
static void
normalize_external_release(void *arg)
{
	NormalizeExternal *ext = (NormalizeExternal *) arg;

	if (!IsTransactionState())
		return;
	if (ext->by_position != NULL)
		tuplesort_end(ext->by_position);
	if (ext->by_value != NULL)
		tuplesort_end(ext->by_value);
	ext->by_position = NULL;
	ext->by_value = NULL;
}

/* The next value of the by-value sort, or false at its end. */
static bool
external_next_value(NormalizeExternal *ext, double *value, int64 *position)
{
	bool		isnull;

	if (!tuplesort_gettupleslot(ext->by_value, true, false, ext->slot, NULL))
		return false;
	*value = DatumGetFloat8(slot_getattr(ext->slot, 1, &isnull));
	if (position != NULL)
		*position = DatumGetInt64(slot_getattr(ext->slot, 2, &isnull));
	return true;
}

/*
 * Sorts the partition's (value, position) pairs on disk where work_mem ends
 * and fills in the statistics from two walks over them.
 */
static void
normalize_load_external(WindowObject winobj, FunctionCallInfo fcinfo, int64 rows,
						NormalizeBasis *basis, NormalizeValues *store)
{
	NormalizeExternal *ext = &store->external;
	MemoryContext query_context = fcinfo->flinfo->fn_mcxt;
	MemoryContext old = MemoryContextSwitchTo(query_context);
	MemoryContextCallback *release;
	NormalizeWalk walk = {0};
	AttrNumber	key = 1;
	Oid			less = Float8LessOperator;
	Oid			collation = InvalidOid;
	bool		nulls_first = false;
	double		v,
				min = 0.0,
				max = 0.0;

	if (ext->slot == NULL)
	{
		TupleDesc	desc = CreateTemplateTupleDesc(2);

		TupleDescInitEntry(desc, 1, "value", FLOAT8OID, -1, 0);
		TupleDescInitEntry(desc, 2, "position", INT8OID, -1, 0);
		ext->slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	}
	ext->by_value = tuplesort_begin_heap(ext->slot->tts_tupleDescriptor, 1, &key, &less, &collation,
										 &nulls_first, work_mem, NULL, TUPLESORT_RANDOMACCESS);
	ext->by_position = NULL;
	ext->rows = rows;
	ext->cursor_position = -1;
	release = MemoryContextAlloc(GetMemoryChunkContext(basis), sizeof(MemoryContextCallback));
	release->func = normalize_external_release;
	release->arg = ext;
	MemoryContextRegisterResetCallback(GetMemoryChunkContext(basis), release);
	MemoryContextSwitchTo(old);

	for (int64 i = 0; i < rows; i++)
	{
		if (!partition_value(winobj, i, &v))
			continue;
		ExecClearTuple(ext->slot);
		ext->slot->tts_values[0] = Float8GetDatum(v);
		ext->slot->tts_values[1] = Int64GetDatum(i);
		ext->slot->tts_isnull[0] = ext->slot->tts_isnull[1] = false;
		ExecStoreVirtualTuple(ext->slot);
		tuplesort_puttupleslot(ext->by_value, ext->slot);
	}
	tuplesort_performsort(ext->by_value);

	while (external_next_value(ext, &v, NULL))
	{
		if (walk.i == 0)
			min = v;
		max = v;
		walk_mean(&walk, v);
		if ((walk.i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	ext->count = walk.i;
	walk_set_scale(&walk, min, max);
	if (walk.scale > 0.0)
	{
		tuplesort_rescan(ext->by_value);
		for (int64 i = 0; external_next_value(ext, &v, NULL); i++)
		{
			walk_squares(&walk, v);
			if ((i & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
		}
	}
	basis_fill(basis, &walk, min, max);
}

/*
 * Sorts position * rows + rank of every non-NULL row by position: a third
 * walk over the by-value sort, at the first percentile asked for.
 */
static void
external_build_ranks(NormalizeExternal *ext, MemoryContext query_context)
{
	MemoryContext old;
	NormalizeWalk walk = {0};
	double		v;
	int64		position;

	/* position * rows + rank < rows * rows must fit in an int64 */
	if (ext->rows > (int64) 3037000499)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("normalized(..., 'percentile') over a partition of " INT64_FORMAT " rows beyond work_mem", ext->rows),
				 errdetail("A partition sorted on disk holds at most 3,037,000,499 rows."),
				 errhint("Raise work_mem, or partition the window.")));
	old = MemoryContextSwitchTo(query_context);
	ext->by_position = tuplesort_begin_datum(INT8OID, Int8LessOperator, InvalidOid, false,
											 work_mem, NULL, TUPLESORT_RANDOMACCESS);
	MemoryContextSwitchTo(old);
	tuplesort_rescan(ext->by_value);
	for (int64 i = 0; external_next_value(ext, &v, &position); i++)
	{
		tuplesort_putdatum(ext->by_position, Int64GetDatum(position * ext->rows + walk_rank(&walk, i, v)), false);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	tuplesort_performsort(ext->by_position);
}

/* The percentile of the row at position, from the by-position sort. */
static double
external_percentile(NormalizeExternal *ext, int64 position, MemoryContext query_context)
{
	if (ext->by_position == NULL)
		external_build_ranks(ext, query_context);
	if (position < ext->cursor_position)
	{
		tuplesort_rescan(ext->by_position);
		ext->cursor_position = -1;
	}
	while (ext->cursor_position < position)
	{
		Datum		d;
		bool		isnull;

		if (!tuplesort_getdatum(ext->by_position, true, &d, &isnull, NULL))
			elog(ERROR, "normalized: no rank for row " INT64_FORMAT, position);
		ext->cursor_position = DatumGetInt64(d) / ext->rows;
		ext->cursor_rank = DatumGetInt64(d) % ext->rows;
	}
	if (ext->cursor_position != position)
		elog(ERROR, "normalized: no rank for row " INT64_FORMAT, position);
	return rank_percentile(ext->cursor_rank, ext->count);
}

/*
 * Reads the partition into memory if its array fits in work_mem, else sorts
 * it on disk.
 */
static void
normalize_load(WindowObject winobj, FunctionCallInfo fcinfo, NormalizeBasis *basis,
			   NormalizeValues *store)
{
	int64		rows = WinGetPartitionRowCount(winobj);

	if ((double) rows * (sizeof(NormalizeEntry) + sizeof(double)) <= (double) work_mem * 1024.0)
		normalize_load_in_memory(winobj, fcinfo, rows, basis, store);
	else
		normalize_load_external(winobj, fcinfo, rows, basis, store);
}

/* The window function: the current row's value normalised within its partition. */
PG_FUNCTION_INFO_V1(normalized_window);
Datum
normalized_window(PG_FUNCTION_ARGS)
{
	WindowObject winobj = PG_WINDOW_OBJECT();
	NormalizeBasis *basis;
	NormalizeValues *store;
	NormalizeMethod method;
	bool		isnull;
	Datum		value_datum;
	Datum		method_datum;
	double		x;
	double		result;

	method_datum = WinGetFuncArgCurrent(winobj, 1, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("normalization must not be NULL"),
				 errhint("Use percentile, log, zscore or minmax.")));
	method = normalize_method(method_datum);

	basis = (NormalizeBasis *) WinGetPartitionLocalMemory(winobj, sizeof(NormalizeBasis));
	store = (NormalizeValues *) fcinfo->flinfo->fn_extra;
	if (store == NULL)
	{
		store = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(NormalizeValues));
		fcinfo->flinfo->fn_extra = store;
	}
	if (!basis->ready)
		normalize_load(winobj, fcinfo, basis, store);

	value_datum = WinGetFuncArgCurrent(winobj, 0, &isnull);
	if (isnull)
		PG_RETURN_NULL();
	x = DatumGetFloat8(value_datum);

	switch (method)
	{
		case NORMALIZE_PERCENTILE:
			result = store->external.by_value != NULL
				? external_percentile(&store->external, WinGetCurrentPosition(winobj), fcinfo->flinfo->fn_mcxt)
				: store->percentile[WinGetCurrentPosition(winobj)];
			break;
		case NORMALIZE_LOG:
			result = basis->log_max > 0.0 ? log1p(Max(x, 0.0)) / basis->log_max : 0.0;
			break;
		case NORMALIZE_ZSCORE:
			result = basis->stddev > 0.0
				? 0.5 * erfc(-((x - basis->mean) / basis->stddev) / M_SQRT2)
				: 0.5;
			break;
		case NORMALIZE_MINMAX:
			{
				double		lo = basis->min;
				double		hi = basis->max;

				/* x - lo and hi - lo may overflow at the limits of double: scale first */
				result = hi > lo ? (x / 2 - lo / 2) / (hi / 2 - lo / 2) : 0.5;
				break;
			}
		default:
			elog(ERROR, "unexpected normalization %d", (int) method);
			pg_unreachable();
	}
	/* rounding cannot push a ratio of ordered values outside 0..1, but clamp anyway */
	PG_RETURN_FLOAT8(Min(Max(result, 0.0), 1.0));
}
