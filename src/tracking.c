/*
 * tracking.c — tracking(model, transactions, start_at, end_at, period, unit, time_zone): expected
 * against actual repeat purchases per period and cumulated (the tracking plot of BTYD and
 * lifetimes).
 *
 * Each customer's first purchase day starts its clock (its "birth"); every later purchase day
 * is one repeat purchase, by rfm's same-day rule on rfm's calendar (rfm.h, local_day.h): the
 * time_zone argument, or the session's TimeZone when it is NULL or absent (the SQL of a library
 * user that predates the argument passes six arguments to the same symbol).  The
 * expected cumulative repeat purchases at the end tau of a period are the sum over customers
 * born before tau of E[X(tau - birth)], the model's expected_purchases(model, horizon) for a
 * new customer (FHL 2005 eq. 9 for BG/NBD), computed once per distinct birth day.  Periods run
 * from start_at in steps of period, the last one ending at end_at; times are on the local wall
 * clock, like rfm's t.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "action_reader.h"
#include "counting.h"
#include "interrupts.h"
#include "local_day.h"
#include "rfm.h"
#include "validate.h"

#define TRACKING_MAX_PERIODS 100000

typedef struct CustomerDay
{
	int64		customer;
	int32		day;
} CustomerDay;

/* (customer, day) order */
static int
customer_day_cmp(const void *a, const void *b)
{
	const CustomerDay *ca = a;
	const CustomerDay *cb = b;

	if (ca->customer != cb->customer)
		return (ca->customer > cb->customer) - (ca->customer < cb->customer);
	return (ca->day > cb->day) - (ca->day < cb->day);
}

static int
int32_cmp(const void *a, const void *b)
{
	int32		ia = *(const int32 *) a;
	int32		ib = *(const int32 *) b;

	return (ia > ib) - (ia < ib);
}

/* The query's (customer_id, at) rows up to end_at as (customer, day in zone), sorted and unique. */
static CustomerDay *
read_purchase_days(const char *sql, TimestampTz end_at, const CsZone *zone, int64 *count)
{
	CsColumn	columns[] = {
		{.name = "customer_id",.kind = CS_COL_INT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "at",.kind = CS_COL_TIMESTAMPTZ,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
	};
	CustomerDay *days;
	int64		nrows = cs_read_columns("transactions", sql, columns, lengthof(columns));
	int64		n = 0;

	days = palloc(sizeof(CustomerDay) * Max(nrows, 1));
	for (int64 i = 0; i < nrows; i++)
	{
		TimestampTz at = CS_COL_TIMES(&columns[1])[i];

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		rfm_check_row(at, 0.0);
		if (at > end_at)
			continue;
		days[n].customer = CS_COL_INT8S(&columns[0])[i];
		days[n].day = cs_local_day(at, zone);
		n++;
	}
	cs_sort(days, n, sizeof(CustomerDay), customer_day_cmp);
	*count = 0;
	for (int64 i = 0; i < n; i++)
		if (*count == 0 || customer_day_cmp(&days[i], &days[*count - 1]) != 0)
			days[(*count)++] = days[i];
	return days;
}

/*
 * tracking(model, transactions, start_at, end_at, period, unit [, time_zone]) for a counting
 * model: the expected purchases of a customer are p->expected for a new one (0, 0, 0); each
 * model's SQL symbol is an entry of CS_COUNTING_FUNCTIONS (counting.h).  Not STRICT in SQL, so
 * that a NULL time_zone means the session's: a NULL among the other arguments gives no rows, as
 * STRICT would.
 */
Datum
counting_tracking_sql(const CountingPredictions *p, FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const void *model;
	char	   *sql;
	TimestampTz start_at,
				end_at;
	Interval   *period,
			   *unit;
	const CsZone *zone;
	double		period_usecs,
				unit_usecs;
	int64		start_local,
				end_local,
				ndays,
				nperiods,
				nbirths = 0;
	int64	   *actual;
	int32	   *births;
	CustomerDay *days;
	double		previous_expected = 0,
				span;
	int64		cumulative = 0;

	for (int i = 0; i < 6; i++)
		if (PG_ARGISNULL(i))
		{
			InitMaterializedSRF(fcinfo, 0);
			return (Datum) 0;
		}
	model = PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	start_at = PG_GETARG_TIMESTAMPTZ(2);
	end_at = PG_GETARG_TIMESTAMPTZ(3);
	period = PG_GETARG_INTERVAL_P(4);
	unit = PG_GETARG_INTERVAL_P(5);
	period_usecs = rfm_interval_seconds(period) * USECS_PER_SEC;
	unit_usecs = rfm_interval_seconds(unit) * USECS_PER_SEC;
	zone = &cs_call_calendar(fcinfo, PG_NARGS() > 6 && !PG_ARGISNULL(6) ? 6 : -1)->zone;

	rfm_check_window("start_at", start_at, "period", period, period_usecs);
	rfm_check_window("end_at", end_at, "unit", unit, unit_usecs);
	if (end_at <= start_at)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("end_at must be later than start_at, got start_at %s and end_at %s",
						pstrdup(timestamptz_to_str(start_at)), pstrdup(timestamptz_to_str(end_at)))));
	/* in double precision: the span of PostgreSQL's whole range overflows an int64 */
	start_local = cs_local_usecs(start_at, zone);
	end_local = cs_local_usecs(end_at, zone);
	span = (double) end_local - (double) start_local;
	if (!(ceil(span / period_usecs) <= TRACKING_MAX_PERIODS))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("tracking spans more than %d periods", TRACKING_MAX_PERIODS),
				 errhint("Use a longer period.")));
	nperiods = Max((int64) ceil(span / period_usecs), 1);

	InitMaterializedSRF(fcinfo, 0);
	days = read_purchase_days(sql, end_at, zone, &ndays);

	/* births (one per customer) and the repeat purchases of each period */
	actual = palloc0(sizeof(int64) * nperiods);
	births = palloc(sizeof(int32) * Max(ndays, 1));
	for (int64 i = 0; i < ndays; i++)
	{
		double		offset;

		if (i == 0 || days[i].customer != days[i - 1].customer)
		{
			births[nbirths++] = days[i].day;
			continue;
		}
		offset = (double) days[i].day * USECS_PER_DAY - (double) start_local;
		if (offset >= 0 && offset <= span)
			actual[Min((int64) floor(offset / period_usecs), nperiods - 1)]++;
	}
	cs_sort(births, nbirths, sizeof(int32), int32_cmp);

	for (int64 k = 0; k < nperiods; k++)
	{
		double		tau = fmin((double) start_local + (k + 1) * period_usecs, (double) end_local);
		double		expected = 0;
		Datum		values[7];
		bool		nulls[7] = {false};

		/* one E[X(tau - birth)] per distinct birth day, weighted by its customers */
		for (int64 i = 0; i < nbirths;)
		{
			int64		j = i;
			double		age = tau - (double) births[i] * USECS_PER_DAY;

			CHECK_FOR_INTERRUPTS();
			while (j < nbirths && births[j] == births[i])
				j++;
			if (age > 0)
				expected += (double) (j - i) * p->expected(model, age / unit_usecs, 0, 0.0, 0.0);
			i = j;
		}
		cumulative += actual[k];
		values[0] = Int32GetDatum((int32) (k + 1));
		/* both inside start_at .. end_at, so the casts cannot overflow */
		values[1] = TimestampTzGetDatum((TimestampTz) fmin((double) start_at + k * period_usecs, (double) end_at));
		values[2] = TimestampTzGetDatum((TimestampTz) fmin((double) start_at + (k + 1) * period_usecs, (double) end_at));
		values[3] = Int64GetDatum(actual[k]);
		values[4] = Float8GetDatum(cs_check_result("expected purchases", expected - previous_expected));
		values[5] = Int64GetDatum(cumulative);
		values[6] = Float8GetDatum(cs_check_result("expected purchases", expected));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		previous_expected = expected;
	}
	return (Datum) 0;
}
