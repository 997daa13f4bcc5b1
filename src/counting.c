/*
 * counting.c — the fit data and transition function the continuous-time
 * counting models share (see counting.h).
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "miscadmin.h"

#include "counting.h"
#include "history.h"
#include "interrupts.h"
#include "validate.h"

/* Order of two doubles, for cs_sort. */
static int
double_cmp(const void *a, const void *b)
{
	double		da = *(const double *) a;
	double		db = *(const double *) b;

	return (da > db) - (da < db);
}

/* Sort values[0..n) and drop duplicates; returns how many remain. */
static int32
sort_unique(double *values, int32 n)
{
	int32		out = 0;

	cs_sort(values, n, sizeof(double), double_cmp);
	for (int32 i = 0; i < n; i++)
		if (out == 0 || values[i] != values[out - 1])
			values[out++] = values[i];
	return out;
}

/* The index of value in sorted[0..n), which holds it. */
static int32
find_sorted(const double *sorted, int32 n, double value)
{
	int32		lo = 0,
				hi = n - 1;

	while (lo < hi)
	{
		int32		mid = lo + (hi - lo) / 2;

		if (sorted[mid] < value)
			lo = mid + 1;
		else
			hi = mid;
	}
	Assert(sorted[lo] == value);
	return lo;
}

/*
 * The CountingData of a compacted (frequency, recency, t) state, time
 * rescaled so the largest t is 1.  Without a single repeat purchase the
 * parameters are not identified.
 */
void
counting_prepare(const HistoryState *state, CsFitData *out)
{
	CountingData *data = palloc0(sizeof(CountingData));
	double		scale = 0,
				x_total = 0;

	data->n = state->used;
	data->x = palloc(sizeof(double) * data->n);
	data->t_index = palloc(sizeof(int32) * data->n);
	data->tx_index = palloc(sizeof(int32) * data->n);
	data->weight = palloc(sizeof(double) * data->n);
	data->times = palloc(sizeof(double) * 2 * data->n);
	for (int32 i = 0; i < data->n; i++)
		scale = fmax(scale, state->points[i].key[2]);
	if (scale <= 0)
		scale = 1;
	/* the distinct rescaled times, sorted, then each point's indexes into them */
	for (int32 i = 0; i < data->n; i++)
	{
		data->times[2 * i] = state->points[i].key[1] / scale;
		data->times[2 * i + 1] = state->points[i].key[2] / scale;
	}
	data->ntimes = sort_unique(data->times, 2 * data->n);
	data->log_alpha_time = palloc(sizeof(double) * data->ntimes);
	data->inv_alpha_time = palloc(sizeof(double) * data->ntimes);
	data->log_beta_time = palloc(sizeof(double) * data->ntimes);
	data->inv_beta_time = palloc(sizeof(double) * data->ntimes);
	data->cumulative = palloc(sizeof(double) * 5 * data->ntimes);
	data->tails = palloc(sizeof(double) * COUNTING_TAIL_STRIDE * data->ntimes);
	for (int32 i = 0; i < data->n; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();	/* two binary searches per history */
		data->x[i] = state->points[i].key[0];
		data->tx_index[i] = find_sorted(data->times, data->ntimes, state->points[i].key[1] / scale);
		data->t_index[i] = find_sorted(data->times, data->ntimes, state->points[i].key[2] / scale);
		data->weight[i] = (double) state->points[i].count;
		data->total += data->weight[i];
		x_total += data->weight[i] * data->x[i];
	}

	out->arg = data;
	out->total = data->total;
	out->scale = scale;
	/* back to the caller's time unit: each customer's likelihood carries scale^-x */
	out->log_likelihood_shift = -(x_total * log(scale));
	out->identified = x_total > 0;
}

/* MODEL_fit(frequency int, recency float8, t float8): rows with a NULL are skipped */
Datum
counting_transfn(FunctionCallInfo fcinfo, const char *fname)
{
	double		key[HISTORY_MAX_KEYS];

	CS_REQUIRE_AGG_CONTEXT(fcinfo, fname);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	key[0] = (double) PG_GETARG_INT32(1);
	key[1] = PG_GETARG_FLOAT8(2);
	key[2] = PG_GETARG_FLOAT8(3);
	history_validate_key(HISTORY_BGNBD, key);
	PG_RETURN_POINTER(history_add(fcinfo, HISTORY_BGNBD, key, 1));
}

/* expected_purchases(model, horizon, frequency, recency, t) */
Datum
counting_expected_sql(const CountingPredictions *p, FunctionCallInfo fcinfo)
{
	const void *model = PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	double		horizon = PG_GETARG_FLOAT8(1);
	int32		frequency = PG_GETARG_INT32(2);
	double		recency = PG_GETARG_FLOAT8(3);
	double		t = PG_GETARG_FLOAT8(4);

	cs_check_non_negative("horizon", horizon);
	cs_check_history(frequency, recency, t);
	PG_RETURN_FLOAT8(cs_check_result("expected purchases",
									 p->expected(model, horizon, frequency, recency, t)));
}

/* expected_purchases(model, horizon): a customer just acquired */
Datum
counting_expected_new_sql(const CountingPredictions *p, FunctionCallInfo fcinfo)
{
	const void *model = PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	double		horizon = PG_GETARG_FLOAT8(1);

	cs_check_non_negative("horizon", horizon);
	PG_RETURN_FLOAT8(cs_check_result("expected purchases",
									 p->expected(model, horizon, 0, 0.0, 0.0)));
}

/* p_alive(model, frequency, recency, t) */
Datum
counting_p_alive_sql(const CountingPredictions *p, FunctionCallInfo fcinfo)
{
	const void *model = PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	int32		frequency = PG_GETARG_INT32(1);
	double		recency = PG_GETARG_FLOAT8(2);
	double		t = PG_GETARG_FLOAT8(3);

	cs_check_history(frequency, recency, t);
	PG_RETURN_FLOAT8(cs_check_result("P(alive)", p->p_alive(model, frequency, recency, t)));
}

/* p_no_purchase(model, horizon, frequency, recency, t) */
Datum
counting_p_none_sql(const CountingPredictions *p, FunctionCallInfo fcinfo)
{
	const void *model = PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	double		horizon = PG_GETARG_FLOAT8(1);
	int32		frequency = PG_GETARG_INT32(2);
	double		recency = PG_GETARG_FLOAT8(3);
	double		t = PG_GETARG_FLOAT8(4);

	cs_check_non_negative("horizon", horizon);
	cs_check_history(frequency, recency, t);
	PG_RETURN_FLOAT8(cs_check_result("the probability of no purchase",
									 fmin(1.0, fmax(0.0, p->p_none(model, horizon, frequency, recency, t)))));
}

/* purchase_probability(model, horizon, n): P(X(horizon) = n) for a new customer */
Datum
counting_pmf_sql(const CountingPredictions *p, FunctionCallInfo fcinfo)
{
	const void *model = PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	double		horizon = PG_GETARG_FLOAT8(1);
	int32		n = PG_GETARG_INT32(2);

	cs_check_non_negative("horizon", horizon);
	if (n < 0)
		cs_reject("n", "non-negative", n);
	PG_RETURN_FLOAT8(cs_check_result("the purchase probability",
									 fmin(1.0, fmax(0.0, p->pmf(model, horizon, n)))));
}
