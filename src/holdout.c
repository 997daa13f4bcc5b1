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
 *   The same two for BG/BB over (frequency, recency, periods) histories, tracking(bgbb) of a
 *   cohort's transactions per period, and for sBG
 *   retention_table(model, query): renewals per period, actual against predicted.
 *
 * The counting models' functions take the model's predictions (CountingPredictions,
 * counting.h); each model's SQL symbols are entries of CS_COUNTING_FUNCTIONS.
 */
#include "postgres.h"

#include <math.h>

#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "action_reader.h"
#include "bgbb.h"
#include "counting.h"
#include "gamma_gamma.h"
#include "history.h"
#include "interrupts.h"
#include "sbg.h"
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

/*
 * Adds w customers of one history: the values compared and what each adds to
 * the totals.  Each sum takes the customer's term times w, so a compressed row
 * counts as w rows would.
 */
static void
bin_add(BinSums *s, int64 w, double actual, double predicted, double total_actual,
		double total_predicted)
{
	double		dw = (double) w;

	if (pg_add_s64_overflow(s->n, w, &s->n))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("too many customers in one holdout table bin")));
	s->total_actual += dw * total_actual;
	s->total_predicted += dw * total_predicted;
	s->actual += dw * actual;
	s->predicted += dw * predicted;
	s->abs_error += dw * fabs(predicted - actual);
	s->sq_error += dw * (predicted - actual) * (predicted - actual);
	s->actual_sq += dw * actual * actual;
	s->predicted_sq += dw * predicted * predicted;
	s->cross += dw * actual * predicted;
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

/* Adds w customers of calibration frequency x to its bin and to all. */
static void
table_add(HoldoutTable *table, int64 x, int64 w, double actual, double predicted,
		  double total_actual, double total_predicted)
{
	bin_add(&table->bins[Min(x, (int64) table->max_frequency)], w, actual, predicted,
			total_actual, total_predicted);
	bin_add(&table->all, w, actual, predicted, total_actual, total_predicted);
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
		table_add(&table, x, 1, actual, predicted, actual, predicted);
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
		table_add(&table, x, 1, spend / purchases, predicted, spend, predicted * purchases);
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

/* ---------------------------------------------------------------------
 * The discrete-time models: BG/BB's holdout table and period-transactions
 * histogram, sBG's retention table.  Their queries may carry a customers
 * column, the number of customers with the row's history (compressed data,
 * as the fits take it); without one every row is one customer.
 * ---------------------------------------------------------------------
 */

/* A row's customers: 1 without the column; a negative count is an error, 0 skips the row. */
static int64
row_customers(const CsColumn *col, int64 row)
{
	int64		w;

	if (!col->present)
		return 1;
	w = CS_COL_INT8S(col)[row];
	if (w < 0)
		cs_reject("customers", "non-negative", (double) w);
	return w;
}

/* A whole number of periods from a query, from minimum to HISTORY_BGBB_MAX_PERIODS. */
static double
periods_value(const char *what, int64 value, int64 minimum)
{
	if (value < minimum || value > HISTORY_BGBB_MAX_PERIODS)
		cs_reject(what, minimum == 0 ? "a number of periods from 0 to " CppAsString2(HISTORY_BGBB_MAX_PERIODS) :
				  "a number of periods from 1 to " CppAsString2(HISTORY_BGBB_MAX_PERIODS), (double) value);
	return (double) value;
}

/*
 * holdout_table(bgbb, query, max_frequency): the query returns frequency,
 * recency, periods (the calibration history, as bgbb_fit takes it),
 * holdout_frequency, holdout_periods and optionally customers; predicted is
 * expected_purchases(model, holdout_periods, frequency, recency, periods).
 */
PG_FUNCTION_INFO_V1(holdout_table_bgbb);
Datum
holdout_table_bgbb(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const BgbbModel *model = (const BgbbModel *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int32		max_frequency = check_max_frequency(PG_GETARG_INT32(2));
	CsColumn	columns[] = {
		{.name = "frequency",.kind = CS_COL_INT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "recency",.kind = CS_COL_INT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "periods",.kind = CS_COL_INT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "holdout_frequency",.kind = CS_COL_INT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "holdout_periods",.kind = CS_COL_INT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "customers",.kind = CS_COL_INT8,.flags = CS_COL_NOT_NULL},
	};
	HoldoutTable table;
	int64		n;

	table_init(&table, max_frequency);
	InitMaterializedSRF(fcinfo, 0);
	n = cs_read_columns("calibration and holdout", sql, columns, lengthof(columns));
	for (int64 i = 0; i < n; i++)
	{
		double		key[HISTORY_MAX_KEYS];
		int64		w = row_customers(&columns[5], i);
		int64		actual = CS_COL_INT8S(&columns[3])[i];
		double		holdout_periods;
		double		predicted;

		CHECK_FOR_INTERRUPTS();
		key[0] = (double) CS_COL_INT8S(&columns[0])[i];
		key[1] = (double) CS_COL_INT8S(&columns[1])[i];
		key[2] = (double) CS_COL_INT8S(&columns[2])[i];
		history_validate_key(HISTORY_BGBB, key);
		/* an empty holdout predicts nothing and would only dilute the table */
		holdout_periods = periods_value("holdout_periods", CS_COL_INT8S(&columns[4])[i], 1);
		if (actual < 0 || (double) actual > holdout_periods)
			cs_reject("holdout_frequency", "from 0 to holdout_periods (one transaction per period)",
					  (double) actual);
		if (w == 0)
			continue;
		predicted = cs_check_result("expected transactions",
									bgbb_expected(model, holdout_periods, key[0], key[1], key[2]));
		table_add(&table, (int64) key[0], w, (double) actual, predicted, (double) actual, predicted);
	}
	table_put(rsinfo, &table);
	return (Datum) 0;
}

/* One distinct length of calibration with its customers, for period_transactions(bgbb). */
typedef struct PeriodsCount
{
	int64		periods;
	int64		customers;
} PeriodsCount;

/* Order of PeriodsCount by periods, for cs_sort. */
static int
periods_count_cmp(const void *a, const void *b)
{
	int64		pa = ((const PeriodsCount *) a)->periods;
	int64		pb = ((const PeriodsCount *) b)->periods;

	return (pa > pb) - (pa < pb);
}

/* The histogram's rows: label, customers seen, customers expected. */
static void
put_histogram(ReturnSetInfo *rsinfo, int32 max_frequency, const int64 *actual, const double *expected)
{
	for (int32 b = 0; b <= max_frequency; b++)
	{
		Datum		values[3];
		bool		nulls[3] = {false};

		values[0] = PointerGetDatum(bin_label(b, max_frequency));
		values[1] = Int64GetDatum(actual[b]);
		values[2] = Float8GetDatum(cs_check_result("expected customers", expected[b]));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * period_transactions(bgbb, query, max_frequency): the query returns
 * frequency, periods and optionally customers; the expected customers of bin
 * k are the sum over customers of P(X(periods) = k) (bgbb_pmf), computed once
 * per distinct periods, the open bin's as the sum of its k up to periods.
 */
PG_FUNCTION_INFO_V1(period_transactions_bgbb);
Datum
period_transactions_bgbb(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const BgbbModel *model = (const BgbbModel *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int32		max_frequency = check_max_frequency(PG_GETARG_INT32(2));
	CsColumn	columns[] = {
		{.name = "frequency",.kind = CS_COL_INT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "periods",.kind = CS_COL_INT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "customers",.kind = CS_COL_INT8,.flags = CS_COL_NOT_NULL},
	};
	int64	   *actual = palloc0(sizeof(int64) * (max_frequency + 1));
	double	   *expected = palloc0(sizeof(double) * (max_frequency + 1));
	PeriodsCount *lengths;
	int64		n;

	InitMaterializedSRF(fcinfo, 0);
	n = cs_read_columns("calibration histories", sql, columns, lengthof(columns));
	lengths = palloc(sizeof(PeriodsCount) * Max(n, 1));
	for (int64 i = 0; i < n; i++)
	{
		int64		x = CS_COL_INT8S(&columns[0])[i];
		double		periods = periods_value("periods", CS_COL_INT8S(&columns[1])[i], 0);
		int64		w = row_customers(&columns[2], i);

		if (x < 0 || (double) x > periods)
			cs_reject("frequency", "from 0 to periods (one transaction per period)", (double) x);
		if (pg_add_s64_overflow(actual[Min(x, (int64) max_frequency)], w,
								&actual[Min(x, (int64) max_frequency)]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("too many customers in one frequency bin")));
		lengths[i].periods = (int64) periods;
		lengths[i].customers = w;
	}
	cs_sort(lengths, n, sizeof(PeriodsCount), periods_count_cmp);
	for (int64 i = 0; i < n;)
	{
		int64		j = i;
		double		customers = 0;

		for (; j < n && lengths[j].periods == lengths[i].periods; j++)
			customers += (double) lengths[j].customers;
		/* at most one transaction a period: the open bin is a finite sum, 0 past periods */
		for (int64 k = 0; k <= lengths[i].periods; k++)
		{
			CHECK_FOR_INTERRUPTS();
			expected[Min(k, (int64) max_frequency)] +=
				customers * bgbb_pmf(model, (double) lengths[i].periods, (double) k);
		}
		i = j;
	}
	put_histogram(rsinfo, max_frequency, actual, expected);
	return (Datum) 0;
}

#define RETENTION_MAX_PERIODS 10000

/*
 * retention_table(sbg, query): the query returns periods_observed, churned
 * (sbg_fit's history) and optionally customers.  For each period t from 1 to
 * the longest observed, the customers active at its start and observed
 * through it, those who renewed at its end (actual) and the renewals the
 * model predicts for them (customers * retention_rate(model, t)), both rates,
 * and the survival curves: the actual one the product of the actual rates
 * (Kaplan-Meier, so customers still active at a shorter periods_observed
 * count while observed), the predicted one survival(model, t).  For one
 * cohort observed throughout, customers of period t is the cohort times
 * actual_survival of period t - 1.
 */
PG_FUNCTION_INFO_V1(retention_table_sbg);
Datum
retention_table_sbg(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const SbgModel *model = (const SbgModel *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	CsColumn	columns[] = {
		{.name = "periods_observed",.kind = CS_COL_INT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "churned",.kind = CS_COL_BOOL,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "customers",.kind = CS_COL_INT8,.flags = CS_COL_NOT_NULL},
	};
	int64		longest = 0;
	int64	   *churned;		/* churned[t]: customers who churned in period t */
	int64	   *ended;			/* ended[t]: customers last observed in period t, either way */
	int64		at_risk = 0;
	double		survival = 1;
	int64		n;

	InitMaterializedSRF(fcinfo, 0);
	n = cs_read_columns("retention histories", sql, columns, lengthof(columns));
	for (int64 i = 0; i < n; i++)
	{
		double		key[HISTORY_MAX_KEYS];

		key[0] = (double) CS_COL_INT8S(&columns[0])[i];
		key[1] = (double) CS_COL_INT8S(&columns[1])[i];
		history_validate_key(HISTORY_SBG, key);
		if (key[0] > RETENTION_MAX_PERIODS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("periods_observed %lld is past the retention table's limit of %d periods",
							(long long) key[0], RETENTION_MAX_PERIODS)));
		if (row_customers(&columns[2], i) > 0)
			longest = Max(longest, (int64) key[0]);
	}
	churned = palloc0(sizeof(int64) * (longest + 1));
	ended = palloc0(sizeof(int64) * (longest + 1));
	for (int64 i = 0; i < n; i++)
	{
		int64		t = CS_COL_INT8S(&columns[0])[i];
		int64		w = row_customers(&columns[2], i);

		if (w == 0)
			continue;
		/* ended[t] and churned[t] are at most at_risk */
		if (pg_add_s64_overflow(at_risk, w, &at_risk))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("too many customers in the retention table")));
		ended[t] += w;
		if (CS_COL_INT8S(&columns[1])[i])
			churned[t] += w;
	}
	/* those still active after 0 periods were never at risk of churning */
	at_risk -= ended[0];
	for (int64 t = 1; t <= longest; t++)
	{
		Datum		values[8];
		bool		nulls[8] = {false};
		int64		renewed = at_risk - churned[t];
		double		rate = sbg_retention_rate(model, (double) t);

		CHECK_FOR_INTERRUPTS();
		values[0] = Int32GetDatum((int32) t);
		values[1] = Int64GetDatum(at_risk);
		values[2] = Int64GetDatum(renewed);
		values[3] = Float8GetDatum(cs_check_result("predicted renewals", (double) at_risk * rate));
		values[5] = Float8GetDatum(cs_check_result("retention rate", rate));
		values[7] = Float8GetDatum(cs_check_result("survival", sbg_survival(model, (double) t)));
		if (at_risk > 0)
		{
			survival *= (double) renewed / (double) at_risk;
			values[4] = Float8GetDatum((double) renewed / (double) at_risk);
			values[6] = Float8GetDatum(survival);
		}
		else
			nulls[4] = nulls[6] = true;		/* nobody observed in this period */
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		at_risk -= ended[t];
	}
	return (Datum) 0;
}

/* One (customer, period) transaction of a BG/BB cohort, for tracking(bgbb). */
typedef struct CohortTransaction
{
	int64		customer_id;
	int64		period;
} CohortTransaction;

/* Order of cohort transactions by customer, then period, for cs_sort. */
static int
cohort_transaction_cmp(const void *a, const void *b)
{
	const CohortTransaction *ta = a;
	const CohortTransaction *tb = b;

	if (ta->customer_id != tb->customer_id)
		return (ta->customer_id > tb->customer_id) - (ta->customer_id < tb->customer_id);
	return (ta->period > tb->period) - (ta->period < tb->period);
}

/*
 * tracking(bgbb, transactions, periods): transactions returns customer_id and period, one row
 * per transaction of a cohort, period 0 the first (every customer of the cohort has one) and
 * 1, 2, ... the transaction opportunities after it.  Per period 1 .. periods, the cohort's
 * transactions made (a customer's rows in one period count once: one transaction per period)
 * and expected, cohort * (E[X(k)] - E[X(k-1)]) with E[X(k)] = expected_purchases(model, k),
 * each also cumulated.  Every customer is taken as observed through all the periods.
 */
PG_FUNCTION_INFO_V1(tracking_bgbb);
Datum
tracking_bgbb(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const BgbbModel *model = (const BgbbModel *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int64		periods = (int64) periods_value("periods", PG_GETARG_INT32(2), 1);
	CsColumn	columns[] = {
		{.name = "customer_id",.kind = CS_COL_INT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "period",.kind = CS_COL_INT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
	};
	CohortTransaction *tx;
	int64	   *actual = palloc0(sizeof(int64) * (periods + 1));
	int64		n,
				cohort = 0,
				actual_cumulative = 0;
	double		previous = 0;

	InitMaterializedSRF(fcinfo, 0);
	n = cs_read_columns("cohort transactions", sql, columns, lengthof(columns));
	tx = palloc(sizeof(CohortTransaction) * Max(n, 1));
	for (int64 i = 0; i < n; i++)
	{
		tx[i].customer_id = CS_COL_INT8S(&columns[0])[i];
		tx[i].period = CS_COL_INT8S(&columns[1])[i];
		if (tx[i].period < 0)
			cs_reject("period", "a non-negative period number (0: the first transaction)",
					  (double) tx[i].period);
	}
	cs_sort(tx, n, sizeof(CohortTransaction), cohort_transaction_cmp);
	for (int64 i = 0; i < n; i++)
	{
		bool		first = i == 0 || tx[i].customer_id != tx[i - 1].customer_id;

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (first)
		{
			if (tx[i].period != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("customer %lld has no transaction in period 0",
								(long long) tx[i].customer_id),
						 errdetail("Period 0 is the first transaction, which makes a customer part of the cohort.")));
			cohort++;
		}
		else if (tx[i].period != tx[i - 1].period && tx[i].period <= periods)
			actual[tx[i].period]++;
	}
	for (int64 k = 1; k <= periods; k++)
	{
		Datum		values[5];
		bool		nulls[5] = {false};
		double		cumulative = (double) cohort * bgbb_expected(model, (double) k, 0, 0, 0);

		CHECK_FOR_INTERRUPTS();
		actual_cumulative += actual[k];
		values[0] = Int32GetDatum((int32) k);
		values[1] = Int64GetDatum(actual[k]);
		values[2] = Float8GetDatum(cs_check_result("expected transactions", cumulative - previous));
		values[3] = Int64GetDatum(actual_cumulative);
		values[4] = Float8GetDatum(cs_check_result("expected transactions", cumulative));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		previous = cumulative;
	}
	return (Datum) 0;
}
