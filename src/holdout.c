/*
 * holdout.c — the model checks over calibration and holdout histories, read from a query like
 * the influence functions read theirs (action_reader.h):
 *
 *   holdout_table(model, query, max_frequency): per calibration frequency 0, 1, ..., k+, the
 *     customers, their mean actual and predicted holdout purchases, totals, and per-customer
 *     MAE, RMSE, bias (predicted - actual) and correlation; then a row 'all' over everyone.
 *     The query returns frequency, recency, t, holdout_frequency, holdout_t (rfm_holdout's
 *     columns); predicted = expected_purchases(model, holdout_t, frequency, recency, t).
 *   holdout_table(spend model, query, max_frequency): the same for the value of the holdout
 *     purchases against expected_spend, over the customers who bought in the holdout.
 *   period_transactions(model, query, max_frequency): per calibration frequency 0 .. k+, the
 *     customers who made that many repeat purchases and the number the model expects,
 *     sum over customers of P(X(t) = frequency).  The query returns frequency, t.
 *
 * The counting models' functions take the model's predictions (CountingPredictions,
 * counting.h); each model's SQL symbols are entries of CS_COUNTING_FUNCTIONS.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "action_reader.h"
#include "counting.h"
#include "gamma_gamma.h"
#include "interrupts.h"
#include "validate.h"

#define HOLDOUT_MAX_BINS 10000

/* Sums over the customers of one frequency bin. */
typedef struct BinSums
{
	int64		n;
	double		total_actual,	/* the totals, which need not be the sums of the means' terms */
				total_predicted;
	double		actual,
				predicted,
				abs_error,
				sq_error,
				actual_sq,
				predicted_sq,
				cross;
} BinSums;

/* Adds one customer: the values compared and what they add to the totals. */
static void
bin_add(BinSums *s, double actual, double predicted, double total_actual, double total_predicted)
{
	s->n++;
	s->total_actual += total_actual;
	s->total_predicted += total_predicted;
	s->actual += actual;
	s->predicted += predicted;
	s->abs_error += fabs(predicted - actual);
	s->sq_error += (predicted - actual) * (predicted - actual);
	s->actual_sq += actual * actual;
	s->predicted_sq += predicted * predicted;
	s->cross += actual * predicted;
}

/* '0', '1', ..., and 'k+' for the last bin */
static text *
bin_label(int32 bin, int32 max_frequency)
{
	return bin == max_frequency ? cstring_to_text(psprintf("%d+", bin)) :
		cstring_to_text(psprintf("%d", bin));
}

static int32
check_max_frequency(int32 max_frequency)
{
	if (max_frequency < 1 || max_frequency > HOLDOUT_MAX_BINS)
		cs_reject("max_frequency", "between 1 and 10000", (double) max_frequency);
	return max_frequency;
}

/* One output row of holdout_table from a bin's sums. */
static void
put_holdout_row(ReturnSetInfo *rsinfo, text *label, const BinSums *s)
{
	Datum		values[10];
	bool		nulls[10] = {false};
	double		n = (double) s->n;

	values[0] = PointerGetDatum(label);
	values[1] = Int64GetDatum(s->n);
	if (s->n == 0)
		for (int i = 2; i < 10; i++)
			nulls[i] = true;
	else
	{
		double		var_a = s->actual_sq / n - (s->actual / n) * (s->actual / n);
		double		var_p = s->predicted_sq / n - (s->predicted / n) * (s->predicted / n);
		double		cov = s->cross / n - (s->actual / n) * (s->predicted / n);

		values[2] = Float8GetDatum(s->actual / n);
		values[3] = Float8GetDatum(s->predicted / n);
		values[4] = Float8GetDatum(s->total_actual);
		values[5] = Float8GetDatum(s->total_predicted);
		values[6] = Float8GetDatum(s->abs_error / n);
		values[7] = Float8GetDatum(sqrt(s->sq_error / n));
		values[8] = Float8GetDatum((s->predicted - s->actual) / n);
		/* no correlation when either side does not vary (a bin of identical customers) */
		if (var_a > 1e-12 * (1 + s->actual_sq / n) && var_p > 1e-12 * (1 + s->predicted_sq / n))
			values[9] = Float8GetDatum(fmax(-1.0, fmin(1.0, cov / sqrt(var_a * var_p))));
		else
			nulls[9] = true;
	}
	for (int i = 2; i < 10; i++)
		if (!nulls[i])
			cs_check_result("a holdout table value", DatumGetFloat8(values[i]));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* A holdout table being summed: one bin per calibration frequency 0 .. max_frequency+, and all. */
typedef struct HoldoutTable
{
	int32		max_frequency;
	BinSums    *bins;
	BinSums		all;
} HoldoutTable;

static void
table_init(HoldoutTable *table, int32 max_frequency)
{
	table->max_frequency = max_frequency;
	table->bins = palloc0(sizeof(BinSums) * (max_frequency + 1));
	memset(&table->all, 0, sizeof(table->all));
}

/* Adds a customer of calibration frequency x to its bin and to all. */
static void
table_add(HoldoutTable *table, int64 x, double actual, double predicted,
		  double total_actual, double total_predicted)
{
	bin_add(&table->bins[Min(x, (int64) table->max_frequency)], actual, predicted,
			total_actual, total_predicted);
	bin_add(&table->all, actual, predicted, total_actual, total_predicted);
}

/* The table's rows: '0' .. 'k+', then 'all'. */
static void
table_put(ReturnSetInfo *rsinfo, const HoldoutTable *table)
{
	for (int32 b = 0; b <= table->max_frequency; b++)
		put_holdout_row(rsinfo, bin_label(b, table->max_frequency), &table->bins[b]);
	put_holdout_row(rsinfo, cstring_to_text("all"), &table->all);
}

/*
 * holdout_table(model, query, max_frequency) for a counting model: predicted is the model's
 * expected purchases in the holdout (p->expected); each model's SQL symbol is an entry of
 * CS_COUNTING_FUNCTIONS (counting.h).
 */
Datum
counting_holdout_table_sql(const CountingPredictions *p, FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const void *model = PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int32		max_frequency = check_max_frequency(PG_GETARG_INT32(2));
	CsColumn	columns[] = {
		{.name = "frequency",.kind = CS_COL_INT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "recency",.kind = CS_COL_FLOAT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "t",.kind = CS_COL_FLOAT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "holdout_frequency",.kind = CS_COL_FLOAT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "holdout_t",.kind = CS_COL_FLOAT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
	};
	HoldoutTable table;
	int64		n;

	table_init(&table, max_frequency);
	InitMaterializedSRF(fcinfo, 0);
	n = cs_read_columns("calibration and holdout", sql, columns, lengthof(columns));
	for (int64 i = 0; i < n; i++)
	{
		int64		x = CS_COL_INT8S(&columns[0])[i];
		double		recency = CS_COL_FLOAT8S(&columns[1])[i];
		double		t = CS_COL_FLOAT8S(&columns[2])[i];
		double		actual = CS_COL_FLOAT8S(&columns[3])[i];
		double		holdout_t = CS_COL_FLOAT8S(&columns[4])[i];
		double		predicted;

		CHECK_FOR_INTERRUPTS();
		cs_check_history(x, recency, t);
		cs_check_non_negative("holdout_frequency", actual);
		/* an empty holdout predicts nothing and would only dilute the table */
		cs_check_positive("holdout_t", holdout_t);
		predicted = cs_check_result("expected purchases",
									p->expected(model, holdout_t, x, recency, t));
		table_add(&table, x, actual, predicted, actual, predicted);
	}
	table_put(rsinfo, &table);
	return (Datum) 0;
}

/*
 * holdout_table(gamma_gamma, query, max_frequency): for the customers who bought in the holdout,
 * the mean value of their holdout purchases (holdout_spend / holdout_frequency) against
 * expected_spend(model, frequency, monetary); the totals are the holdout spend and the spend
 * predicted for the same purchases.  The query returns frequency, monetary, holdout_frequency
 * and holdout_spend.
 */
PG_FUNCTION_INFO_V1(holdout_table_gamma_gamma);
Datum
holdout_table_gamma_gamma(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	GammaGammaModel *model = DatumGetGammaGammaModel(PG_GETARG_DATUM(0));
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int32		max_frequency = check_max_frequency(PG_GETARG_INT32(2));
	CsColumn	columns[] = {
		{.name = "frequency",.kind = CS_COL_INT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "monetary",.kind = CS_COL_FLOAT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "holdout_frequency",.kind = CS_COL_FLOAT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "holdout_spend",.kind = CS_COL_FLOAT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
	};
	HoldoutTable table;
	int64		n;

	table_init(&table, max_frequency);
	InitMaterializedSRF(fcinfo, 0);
	n = cs_read_columns("calibration and holdout", sql, columns, lengthof(columns));
	for (int64 i = 0; i < n; i++)
	{
		int64		x = CS_COL_INT8S(&columns[0])[i];
		double		monetary = CS_COL_FLOAT8S(&columns[1])[i];
		double		purchases = CS_COL_FLOAT8S(&columns[2])[i];
		double		spend = CS_COL_FLOAT8S(&columns[3])[i];
		double		predicted;

		CHECK_FOR_INTERRUPTS();
		if (x < 0)
			cs_reject("frequency", "non-negative", (double) x);
		cs_check_non_negative("monetary", monetary);
		cs_check_non_negative("holdout_frequency", purchases);
		cs_check_finite("holdout_spend", spend);
		if (purchases == 0)
			continue;			/* no holdout purchase: no spend to compare */
		predicted = cs_check_result("expected spend", gamma_gamma_expected_spend(model, x, monetary));
		table_add(&table, x, spend / purchases, predicted, spend, predicted * purchases);
	}
	table_put(rsinfo, &table);
	return (Datum) 0;
}

/* Order of two doubles, for cs_sort. */
static int
double_cmp(const void *a, const void *b)
{
	double		da = *(const double *) a;
	double		db = *(const double *) b;

	return (da > db) - (da < db);
}

/*
 * period_transactions(model, query, max_frequency) for a counting model: the expected
 * customers of bin k are the sum over customers of P(X(t) = k) (p->pmf), computed once per
 * distinct t (whole days in CRM data: few) and weighted by its customers.
 */
Datum
counting_period_transactions_sql(const CountingPredictions *p, FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const void *model = PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int32		max_frequency = check_max_frequency(PG_GETARG_INT32(2));
	CsColumn	columns[] = {
		{.name = "frequency",.kind = CS_COL_INT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "t",.kind = CS_COL_FLOAT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
	};
	int64	   *actual = palloc0(sizeof(int64) * (max_frequency + 1));
	double	   *expected = palloc0(sizeof(double) * (max_frequency + 1));
	double	   *times;
	int64		n;

	InitMaterializedSRF(fcinfo, 0);
	n = cs_read_columns("calibration histories", sql, columns, lengthof(columns));
	times = palloc(sizeof(double) * Max(n, 1));
	for (int64 i = 0; i < n; i++)
	{
		int64		x = CS_COL_INT8S(&columns[0])[i];

		times[i] = CS_COL_FLOAT8S(&columns[1])[i];
		cs_check_history(x, 0, times[i]);
		actual[Min(x, (int64) max_frequency)]++;
	}
	cs_sort(times, n, sizeof(double), double_cmp);
	for (int64 i = 0; i < n;)
	{
		int64		j = i;
		double		below = 0;

		while (j < n && times[j] == times[i])
			j++;
		for (int32 k = 0; k < max_frequency; k++)
		{
			double		pk;

			CHECK_FOR_INTERRUPTS();
			pk = fmin(1.0, fmax(0.0, p->pmf(model, times[i], k)));
			expected[k] += (double) (j - i) * pk;
			below += pk;
		}
		/* the open bin: what the first bins leave, never below 0 by rounding */
		expected[max_frequency] += (double) (j - i) * fmax(0.0, 1.0 - below);
		i = j;
	}
	for (int32 b = 0; b <= max_frequency; b++)
	{
		Datum		values[3];
		bool		nulls[3] = {false};

		values[0] = PointerGetDatum(bin_label(b, max_frequency));
		values[1] = Int64GetDatum(actual[b]);
		values[2] = Float8GetDatum(cs_check_result("expected customers", expected[b]));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
