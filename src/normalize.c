/*
 * normalize.c — the score normalisations: normal_cdf and the window function
 * normalized(value, method).
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
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

typedef struct NormalizeValues
{
	NormalizeEntry *sorted;
	double	   *percentile;		/* by row position; unset for NULL rows */
	int64		capacity;
} NormalizeValues;

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

static int
normalize_cmp(const void *a, const void *b)
{
	double		x = ((const NormalizeEntry *) a)->value;
	double		y = ((const NormalizeEntry *) b)->value;

	return (x > y) - (x < y);
}

/*
 * Reads the partition's non-NULL values, sorts them, gives every row its
 * percentile and fills in the statistics.
 */
static void
normalize_load(WindowObject winobj, FunctionCallInfo fcinfo, NormalizeBasis *basis,
			   NormalizeValues *store)
{
	int64		rows = WinGetPartitionRowCount(winobj);
	NormalizeEntry *sorted;
	int64		n = 0;
	double		mean = 0.0;
	double		scale = 0.0;
	double		squares = 0.0;

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
		bool		isnull;
		bool		isout;
		Datum		d = WinGetFuncArgInPartition(winobj, 0, i, WINDOW_SEEK_HEAD, false, &isnull, &isout);

		if (isnull || isout)
			continue;
		sorted[n].value = DatumGetFloat8(d);
		sorted[n].position = i;
		if (unlikely(!isfinite(sorted[n].value)))
			cs_reject("value", "a finite number", sorted[n].value);
		n++;
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	cs_sort(sorted, n, sizeof(NormalizeEntry), normalize_cmp);

	/*
	 * percent_rank(): the values strictly below, over n - 1, the same division
	 * as PostgreSQL's, so the same double.  Rows read their own afterwards.
	 */
	for (int64 i = 0, first = 0; i < n; i++)
	{
		if (sorted[i].value > sorted[first].value)
			first = i;
		store->percentile[sorted[i].position] = n > 1 ? (double) first / (double) (n - 1) : 0.0;
	}

	/*
	 * Mean and standard deviation in two passes over the sorted values,
	 * scaled by the largest deviation so that squares of values near the
	 * limits of double cannot overflow.  The running mean cannot overflow.
	 */
	for (int64 i = 0; i < n; i++)
		mean += (sorted[i].value - mean) / (double) (i + 1);
	if (n > 0)
		scale = Max(fabs(sorted[0].value - mean), fabs(sorted[n - 1].value - mean));
	if (scale > 0.0)
	{
		for (int64 i = 0; i < n; i++)
		{
			double		d = (sorted[i].value - mean) / scale;

			squares += d * d;
		}
	}
	basis->count = n;
	basis->mean = mean;
	basis->stddev = scale > 0.0 ? scale * sqrt(squares / (double) n) : 0.0;
	basis->min = n > 0 ? sorted[0].value : 0.0;
	basis->max = n > 0 ? sorted[n - 1].value : 0.0;
	basis->log_max = log1p(Max(basis->max, 0.0));
	basis->ready = true;
}

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
			result = store->percentile[WinGetCurrentPosition(winobj)];
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
