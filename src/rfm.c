/*
 * rfm.c — the rfm aggregate: a customer's transactions summarised as
 * frequency, recency, t and monetary value in the conventions of the
 * buy-till-you-die literature (Fader, Hardie & Lee 2005).
 *
 * Rows become purchase occasions by the purchase rule (purchase_rule.h):
 * the rows of one calendar day (local_day.h: in the time_zone argument, else
 * the session TimeZone) add up, a day
 * netting below 0 is a refund day and no occasion, a NULL amount counts as 0.
 * frequency = repeat occasions; recency = first to last occasion; t = first
 * occasion to as_of; both in the caller's unit; monetary = mean value of the
 * repeat occasions (0 without any); rows after as_of are ignored.  0.1.0's
 * entry points (rfm_transfn, rfm_finalfn, ...) keep 0.1.0's rule: every day
 * an occasion, rows with a NULL amount skipped.
 *
 * State type rfm_state (a varlena):
 *   vl_len_, version (RFM_VERSION), flags (RFM_SORTED)
 *   zone_len        bytes of the zone name at the end (0: not recorded)
 *   reserved
 *   used            rows in use; capacity is what VARSIZE leaves room for
 *   as_of           the observation end (UTC microseconds) ...
 *   as_of_local     ... and the same instant on the local wall clock
 *   unit_seconds    the time unit of recency and t
 *   first_at, last_at, rows   first and last purchase timestamps, rows counted
 *   occasions[]     (local day number, amount) per row, appended unsorted
 *   zone name       the calendar of the days, zone_len bytes without a NUL
 *
 * The calendar is part of the state: states of different zones hold days
 * of different calendars and do not merge.  A state without a zone is one
 * read from 0.1.0's text or binary form, whose calendar was not recorded:
 * it merges with any and takes the zone of the other.  0.1.0's stored
 * states have 0 where zone_len is, so they read as such states.
 *
 * Rows are kept one by one and summed into occasions only by the final
 * function, in (day, amount) order: floating-point sums then come out bit
 * for bit the same whatever order the rows arrived in and however parallel
 * workers split them.  Rows that arrive nearly in that order (a table in
 * time order: only a day's amounts come shuffled) are kept sorted as they
 * come (flag RFM_SORTED) and read as they are, the combine function merges
 * two sorted states into a sorted one; otherwise the final function sorts a
 * copy.  Customers have few rows, so this costs little.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "interrupts.h"
#include "local_day.h"
#include "purchase_rule.h"
#include "rfm.h"
#include "state_limit.h"
#include "text_io.h"
#include "validate.h"

#define RFM_VERSION 1
#define RFM_SORTED 0x0001
/* text "v1 ..." and binary version 1: no zone (0.1.0); version 2 adds it */
#define RFM_WIRE_ZONE 2
#define RFM_INITIAL_CAPACITY 8
/* how far back the transition function moves a row to keep the rows sorted */
#define RFM_INSERT_REACH 8
/* requests up to this size are rounded up to a power of two by palloc (AllocSet's chunk limit) */
#define RFM_ROUNDED_ALLOC 8192

typedef struct RfmState
{
	int32		vl_len_;
	uint8		version;
	uint8		flags;
	uint8		zone_len;
	uint8		reserved;
	int32		used;
	TimestampTz as_of;
	int64		as_of_local;
	double		unit_seconds;
	TimestampTz first_at;
	TimestampTz last_at;
	int64		rows;
	RfmOccasion occasions[FLEXIBLE_ARRAY_MEMBER];
} RfmState;

#define RFM_HEADER_SIZE offsetof(RfmState, occasions)
/* rows per customer: well below INT32_MAX, so purchases always fits an integer */
#define RFM_MAX_OCCASIONS ((int32) ((MaxAllocSize - RFM_HEADER_SIZE) / sizeof(RfmOccasion)))
#define DatumGetRfmState(d) ((RfmState *) PG_DETOAST_DATUM(d))

static inline int32
rfm_capacity(const RfmState *state)
{
	return (int32) ((VARSIZE(state) - RFM_HEADER_SIZE - state->zone_len) / sizeof(RfmOccasion));
}

/* The zone name at the end of the state, zone_len bytes without a NUL. */
static inline char *
rfm_zone(const RfmState *state)
{
	return (char *) state + VARSIZE(state) - state->zone_len;
}

/* ---------------------------------------------------------------------
 * Time units
 * ---------------------------------------------------------------------
 */

/* Seconds in an interval, with EXTRACT(epoch)'s conventions: 30-day months, 365.25-day years. */
static double
interval_seconds(const Interval *unit)
{
	return (double) (unit->month / MONTHS_PER_YEAR) * DAYS_PER_YEAR * SECS_PER_DAY
		+ (double) (unit->month % MONTHS_PER_YEAR) * DAYS_PER_MONTH * SECS_PER_DAY
		+ (double) unit->day * SECS_PER_DAY
		+ (double) unit->time / USECS_PER_SEC;
}

/* ---------------------------------------------------------------------
 * State handling
 * ---------------------------------------------------------------------
 */

/* An empty state with room for capacity rows and the zone name (zone_len bytes). */
static RfmState *
rfm_alloc(int32 capacity, const char *zone, int zone_len)
{
	RfmState   *state;
	Size		size;

	if (capacity > RFM_MAX_OCCASIONS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many transactions for one customer"),
				 errdetail("The limit is %d rows per group.", RFM_MAX_OCCASIONS),
				 errhint("Group the rows by customer.")));
	cs_check_state_limit(RFM_HEADER_SIZE, sizeof(RfmOccasion), capacity, "rfm", "rows");
	Assert(zone_len >= 0 && zone_len <= PG_UINT8_MAX);
	size = RFM_HEADER_SIZE + (Size) capacity * sizeof(RfmOccasion) + zone_len;
	state = palloc0(size);
	SET_VARSIZE(state, size);
	state->zone_len = (uint8) zone_len;
	if (zone_len > 0)
		memcpy(rfm_zone(state), zone, zone_len);
	state->version = RFM_VERSION;
	state->flags = RFM_SORTED;
	state->first_at = DT_NOEND;
	state->last_at = DT_NOBEGIN;
	return state;
}

/* A copy of state with room for capacity rows and the zone name given. */
static RfmState *
rfm_copy(const RfmState *state, int32 capacity, const char *zone, int zone_len)
{
	RfmState   *copy = rfm_alloc(capacity, zone, zone_len);

	memcpy(VARDATA(copy), VARDATA(state), RFM_HEADER_SIZE - VARHDRSZ);
	copy->zone_len = (uint8) zone_len;
	memcpy(copy->occasions, state->occasions, sizeof(RfmOccasion) * state->used);
	return copy;
}

/*
 * The capacity that fills the memory a state of capacity rows takes anyway: palloc rounds a
 * small request up to a power of two, so a state of 8 rows has room for 11 in the same chunk.
 */
static int64
rfm_filled_capacity(int64 capacity, int zone_len)
{
	Size		size = RFM_HEADER_SIZE + (Size) capacity * sizeof(RfmOccasion) + zone_len;
	Size		chunk = 1;

	if (size > RFM_ROUNDED_ALLOC)
		return capacity;
	while (chunk < size)
		chunk *= 2;
	return (int64) ((chunk - RFM_HEADER_SIZE - zone_len) / sizeof(RfmOccasion));
}

/* Allocated in the per-call context: the executor copies it into the aggregate context. */
static RfmState *
rfm_grow(const RfmState *state, int32 min_capacity)
{
	int64		capacity = Max(rfm_capacity(state), RFM_INITIAL_CAPACITY);

	while (capacity < min_capacity)
		capacity *= 2;
	capacity = rfm_filled_capacity(capacity, state->zone_len);
	/* doubling past a limit stops at it, so every row up to the limit fits */
	if (min_capacity <= RFM_MAX_OCCASIONS)
		capacity = Min(capacity, (int64) RFM_MAX_OCCASIONS);
	if (min_capacity <= cs_state_capacity_limit(RFM_HEADER_SIZE, sizeof(RfmOccasion)))
		capacity = Min(capacity, cs_state_capacity_limit(RFM_HEADER_SIZE, sizeof(RfmOccasion)));
	return rfm_copy(state, (int32) Min(capacity, (int64) RFM_MAX_OCCASIONS + 1),
					rfm_zone(state), state->zone_len);
}

static int
occasion_cmp(const void *a, const void *b)
{
	const RfmOccasion *oa = a;
	const RfmOccasion *ob = b;

	if (oa->day != ob->day)
		return (oa->day > ob->day) - (oa->day < ob->day);
	return (oa->amount > ob->amount) - (oa->amount < ob->amount);
}

/* Sort rows by (day, amount), in place: the canonical order. */
static void
rfm_sort(RfmState *state)
{
	if (state->flags & RFM_SORTED)
		return;
	if (state->used > 1)
		cs_sort(state->occasions, state->used, sizeof(RfmOccasion), occasion_cmp);
	state->flags |= RFM_SORTED;
}

/*
 * Keeps the rows of a sorted state sorted after a row was appended: the row moves back past at
 * most RFM_INSERT_REACH rows (rows in time order are out of order only within a day), else the
 * state is marked unsorted and the final function sorts a copy.
 */
static void
rfm_keep_sorted(RfmState *state)
{
	RfmOccasion row = state->occasions[state->used - 1];
	int32		at = state->used - 1;

	if (!(state->flags & RFM_SORTED))
		return;
	while (at > 0 && state->used - at <= RFM_INSERT_REACH &&
		   occasion_cmp(&row, &state->occasions[at - 1]) < 0)
		at--;
	if (at > 0 && occasion_cmp(&row, &state->occasions[at - 1]) < 0)
	{
		state->flags &= ~RFM_SORTED;
		return;
	}
	if (at < state->used - 1)
	{
		memmove(&state->occasions[at + 1], &state->occasions[at],
				sizeof(RfmOccasion) * (state->used - 1 - at));
		state->occasions[at] = row;
	}
}

static RfmState *
rfm_sorted_copy(const RfmState *state)
{
	RfmState   *copy = rfm_copy(state, Max(state->used, 1), rfm_zone(state), state->zone_len);

	rfm_sort(copy);
	return copy;
}

/* Refuses to merge states whose days are on different calendars; one without a zone agrees with any. */
static void
rfm_check_same_zone(const RfmState *state, const RfmState *other)
{
	cs_check_merge_zones("rfm", rfm_zone(state), state->zone_len, rfm_zone(other), other->zone_len,
						 "Build every state with the same time_zone argument, e.g. rfm_partial(at, amount, as_of, unit, 'UTC').");
}

static void
rfm_check_same_window(const RfmState *state, TimestampTz as_of, double unit_seconds)
{
	if (state->as_of != as_of || state->unit_seconds != unit_seconds)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of and unit must be the same for every row of a group"),
				 errhint("Pass constants, e.g. rfm(at, amount, '2024-01-01', '1 day').")));
}

/* ---------------------------------------------------------------------
 * Aggregate support functions
 * ---------------------------------------------------------------------
 */

/* The observation end and unit of a group: a finite end and a positive unit. */
void
rfm_check_window(const char *end_name, TimestampTz end, const char *unit_name,
				 const Interval *unit, double unit_seconds)
{
	if (!(unit_seconds > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a positive interval, got %s", unit_name,
						DatumGetCString(DirectFunctionCall1(interval_out,
															PointerGetDatum(unit))))));
	if (TIMESTAMP_NOT_FINITE(end))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite timestamp", end_name)));
}

/* One transaction row: a finite time and a finite amount. */
void
rfm_check_row(TimestampTz at, double amount)
{
	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("purchase time must be a finite timestamp, got %s",
						TIMESTAMP_IS_NOBEGIN(at) ? "-infinity" : "infinity")));
	cs_check_finite("amount", amount);
}

/*
 * Adds one row, its day on the calendar of the time_zone argument at zone_arg (-1: the session
 * TimeZone).  With the purchase rule (purchase_rule.h) a NULL amount is a purchase of unknown
 * value, counted with CS_AMOUNT_IF_NULL; 0.1.0's entry points skip such a row.
 */
static Datum
rfm_transition(FunctionCallInfo fcinfo, const Interval *unit, bool purchase_rule, int zone_arg)
{
	RfmState   *state = PG_ARGISNULL(0) ? NULL : (RfmState *) PG_GETARG_POINTER(0);
	TimestampTz at,
				as_of;
	double		amount,
				unit_seconds;
	RfmOccasion *occasion;
	const CsCalendar *calendar;

	CS_REQUIRE_AGG_CONTEXT(fcinfo, "rfm_transfn");
	/* a row without a time (or without as_of, unit or time zone) is not counted */
	if (PG_ARGISNULL(1) || (PG_ARGISNULL(2) && !purchase_rule) || PG_ARGISNULL(3) || unit == NULL ||
		(zone_arg >= 0 && PG_ARGISNULL(zone_arg)))
		goto done;
	calendar = cs_call_calendar(fcinfo, zone_arg);

	at = PG_GETARG_TIMESTAMPTZ(1);
	amount = PG_ARGISNULL(2) ? CS_AMOUNT_IF_NULL : PG_GETARG_FLOAT8(2);
	as_of = PG_GETARG_TIMESTAMPTZ(3);
	unit_seconds = interval_seconds(unit);

	if (state != NULL)
	{
		rfm_check_same_window(state, as_of, unit_seconds);
		if (zone_arg >= 0)
			cs_check_row_zone(rfm_zone(state), state->zone_len, calendar);
	}
	else
		rfm_check_window("as_of", as_of, "unit", unit, unit_seconds);
	rfm_check_row(at, amount);
	if (at > as_of)
		goto done;				/* after the observation end: not seen yet */

	if (state == NULL)
	{
		state = rfm_alloc((int32) rfm_filled_capacity(RFM_INITIAL_CAPACITY, calendar->name_len),
						  calendar->name, calendar->name_len);
		state->as_of = as_of;
		state->as_of_local = cs_local_usecs(as_of, &calendar->zone);
		state->unit_seconds = unit_seconds;
	}
	if (state->used == rfm_capacity(state))
		state = rfm_grow(state, state->used + 1);
	occasion = &state->occasions[state->used++];
	occasion->day = cs_local_day(at, &calendar->zone);
	occasion->reserved = 0;
	occasion->amount = amount;
	rfm_keep_sorted(state);
	state->first_at = Min(state->first_at, at);
	state->last_at = Max(state->last_at, at);
	state->rows++;

done:
	if (state == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(state);
}

static const Interval one_day = {.time = 0,.day = 1,.month = 0};

/* 0.1.0's transition functions: rows with a NULL amount skipped */
PG_FUNCTION_INFO_V1(rfm_transfn);
Datum
rfm_transfn(PG_FUNCTION_ARGS)
{
	return rfm_transition(fcinfo, PG_ARGISNULL(4) ? NULL : PG_GETARG_INTERVAL_P(4), false, -1);
}

PG_FUNCTION_INFO_V1(rfm_transfn_days);
Datum
rfm_transfn_days(PG_FUNCTION_ARGS)
{
	return rfm_transition(fcinfo, &one_day, false, -1);
}

/* The transition functions of the purchase rule (0.2.0): a NULL amount is a purchase. */
PG_FUNCTION_INFO_V1(rfm_transfn_rule);
Datum
rfm_transfn_rule(PG_FUNCTION_ARGS)
{
	return rfm_transition(fcinfo, PG_ARGISNULL(4) ? NULL : PG_GETARG_INTERVAL_P(4), true, -1);
}

/* rfm(at, amount, as_of, unit, time_zone): the days on time_zone's calendar, recorded in the state */
PG_FUNCTION_INFO_V1(rfm_transfn_zone);
Datum
rfm_transfn_zone(PG_FUNCTION_ARGS)
{
	return rfm_transition(fcinfo, PG_ARGISNULL(4) ? NULL : PG_GETARG_INTERVAL_P(4), true, 5);
}

PG_FUNCTION_INFO_V1(rfm_transfn_days_rule);
Datum
rfm_transfn_days_rule(PG_FUNCTION_ARGS)
{
	return rfm_transition(fcinfo, &one_day, true, -1);
}

/*
 * Appends other's rows to state, which has room for them.  Two sorted states merge from the back
 * in place, so the result stays sorted and the final function reads it without copying or
 * sorting: the combine step of a parallel or Citus rfm meets mostly sorted states.
 */
static void
rfm_append(RfmState *state, const RfmState *other)
{
	int32		i = state->used - 1;
	int32		j = other->used - 1;
	int32		k = state->used + other->used - 1;

	if (!(state->flags & RFM_SORTED) || !(other->flags & RFM_SORTED))
	{
		memcpy(&state->occasions[state->used], other->occasions, sizeof(RfmOccasion) * other->used);
		state->used += other->used;
		state->flags &= ~RFM_SORTED;
		return;
	}
	while (j >= 0)
	{
		if (i >= 0 && occasion_cmp(&state->occasions[i], &other->occasions[j]) > 0)
			state->occasions[k--] = state->occasions[i--];
		else
			state->occasions[k--] = other->occasions[j--];
	}
	state->used += other->used;
}

PG_FUNCTION_INFO_V1(rfm_combinefn);
Datum
rfm_combinefn(PG_FUNCTION_ARGS)
{
	RfmState   *state;
	RfmState   *other;

	CS_REQUIRE_AGG_CONTEXT(fcinfo, "rfm_combinefn");
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}
	other = DatumGetRfmState(PG_GETARG_DATUM(1));
	if (PG_ARGISNULL(0))
		PG_RETURN_POINTER(rfm_sorted_copy(other));

	state = (RfmState *) PG_GETARG_POINTER(0);
	rfm_check_same_window(state, other->as_of, other->unit_seconds);
	rfm_check_same_zone(state, other);
	if (state->zone_len == 0 && other->zone_len > 0)
		state = rfm_copy(state, Max(rfm_capacity(state), state->used + other->used),
						 rfm_zone(other), other->zone_len);
	else if (state->used + other->used > rfm_capacity(state))
		state = rfm_grow(state, state->used + other->used);
	rfm_append(state, other);
	state->first_at = Min(state->first_at, other->first_at);
	state->last_at = Max(state->last_at, other->last_at);
	state->rows += other->rows;
	PG_RETURN_POINTER(state);
}

/*
 * Occasions and value of sorted rows.  purchase_rule: the rule of purchase_rule.h (refund days
 * are no occasion, monetary never negative); otherwise 0.1.0's (every day is an occasion).  The
 * row amounts are summed one by one in the canonical order, so without refunds both give the same
 * bits.
 */
static void
rfm_occasions(const RfmOccasion *rows, int32 n, bool purchase_rule, CsOccasions *occasions,
			  double *total, double *repeat_value)
{
	int32		day_start = 0;

	*total = 0;
	*repeat_value = 0;
	while (day_start < n)
	{
		int32		day = rows[day_start].day;
		int32		day_end = day_start;
		double		day_sum = 0;

		while (day_end < n && rows[day_end].day == day)
		{
			if ((day_end & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
			day_sum += rows[day_end++].amount;
		}
		if (cs_occasions_add(occasions, day, purchase_rule && day_sum < 0))
			for (int32 i = day_start; i < day_end; i++)
				*repeat_value += rows[i].amount;
		for (int32 i = day_start; i < day_end; i++)
			*total += rows[i].amount;
		day_start = day_end;
	}
	cs_check_result("the total of the amounts", *total);
	cs_check_result("the value of the repeat purchases", *repeat_value);
}

/*
 * The first five fields of rfm_summary (frequency, recency, t, monetary, total) from n >= 1 rows
 * sorted by (day, amount), observed until as_of_local (local wall clock) in unit_seconds, by the
 * purchase rule or 0.1.0's; false when the rows make no purchase occasion.
 */
bool
rfm_summarise(const RfmOccasion *rows, int32 n, int64 as_of_local, double unit_seconds,
			  bool purchase_rule, Datum *values)
{
	CsOccasions occasions = CS_OCCASIONS_INIT;
	double		repeat_value,
				total;
	int32		as_of_day;
	int64		as_of_rest;

	rfm_occasions(rows, n, purchase_rule, &occasions, &total, &repeat_value);
	if (occasions.count == 0)
		return false;

	/*
	 * t in whole days and the rest: as_of_local - first_day * USECS_PER_DAY in one int64
	 * overflows when the timestamps span most of PostgreSQL's range (4713 BC to 294276 AD).
	 * Exact, as before, whenever the span fits in a double's 53 bits (285 years).
	 */
	as_of_day = cs_day_of_local(as_of_local);
	as_of_rest = as_of_local - (int64) as_of_day * USECS_PER_DAY;

	values[0] = Int32GetDatum(occasions.count - 1);
	values[1] = Float8GetDatum((double) (occasions.last_day - occasions.first_day) * SECS_PER_DAY / unit_seconds);
	values[2] = Float8GetDatum(((double) ((int64) as_of_day - occasions.first_day) * USECS_PER_DAY + (double) as_of_rest)
							   / USECS_PER_SEC / unit_seconds);
	values[3] = Float8GetDatum(purchase_rule ? cs_occasions_monetary(&occasions, repeat_value) :
							   occasions.count > 1 ? repeat_value / (occasions.count - 1) : 0.0);
	values[4] = Float8GetDatum(total);
	return true;
}

/* The summary as customer_score.rfm_summary (NULL without a purchase occasion). */
static Datum
rfm_final(FunctionCallInfo fcinfo, bool purchase_rule)
{
	TupleDesc	tupdesc = (TupleDesc) fcinfo->flinfo->fn_extra;
	RfmState   *state;
	Datum		values[8];
	bool		nulls[8] = {false};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	/* the final function must not change the state: an unsorted one is sorted in a copy */
	state = DatumGetRfmState(PG_GETARG_DATUM(0));
	if (!(state->flags & RFM_SORTED))
		state = rfm_sorted_copy(state);
	if (state->used == 0 ||
		!rfm_summarise(state->occasions, state->used, state->as_of_local, state->unit_seconds,
					   purchase_rule, values))
		PG_RETURN_NULL();

	if (tupdesc == NULL)
	{
		/* look the result type up once per query, not once per customer */
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "rfm final function must return a composite type");
		tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
		fcinfo->flinfo->fn_extra = tupdesc;
		MemoryContextSwitchTo(old);
	}

	values[5] = Int32GetDatum((int32) state->rows);
	values[6] = TimestampTzGetDatum(state->first_at);
	values[7] = TimestampTzGetDatum(state->last_at);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* 0.1.0's final function: every day an occasion, monetary as summed */
PG_FUNCTION_INFO_V1(rfm_finalfn);
Datum
rfm_finalfn(PG_FUNCTION_ARGS)
{
	return rfm_final(fcinfo, false);
}

/* The final function of the purchase rule (0.2.0). */
PG_FUNCTION_INFO_V1(rfm_finalfn_rule);
Datum
rfm_finalfn_rule(PG_FUNCTION_ARGS)
{
	return rfm_final(fcinfo, true);
}

/* ---------------------------------------------------------------------
 * rfm_state I/O.  Text: "v2 as_of=<usec> as_of_local=<usec> unit=<seconds>
 * zone=<time zone> first_at=<usec> last_at=<usec> rows=<n>
 * days=<day>:<amount>,..." with timestamps as raw microseconds so the text
 * does not depend on DateStyle or TimeZone; a state without a zone is
 * written as 0.1.0 wrote every state, "v1" without "zone=".
 * ---------------------------------------------------------------------
 */

/*
 * Whether a state read from text or binary is one the transition and combine functions could
 * have built: timestamps finite and in PostgreSQL's range, as_of_local within a day of as_of
 * (no UTC offset reaches a day), every day within a day of first_at..last_at, a unit of at
 * least half a microsecond (the smallest positive interval is one, up to rounding), and the
 * counts consistent.  rfm(state) relies on it: its arithmetic cannot overflow on such a state.
 */
static bool
rfm_state_is_consistent(const RfmState *state)
{
	int32		min_day,
				max_day;

	if (!isfinite(state->unit_seconds) || !(state->unit_seconds >= 0.5 / USECS_PER_SEC) ||
		state->rows != state->used || state->used == 0 ||
		!IS_VALID_TIMESTAMP(state->first_at) || !IS_VALID_TIMESTAMP(state->last_at) ||
		!IS_VALID_TIMESTAMP(state->as_of) ||
		state->first_at > state->last_at || state->last_at > state->as_of ||
		state->as_of_local < state->as_of - USECS_PER_DAY ||
		state->as_of_local > state->as_of + USECS_PER_DAY)
		return false;
	min_day = cs_day_of_local(state->first_at) - 1;
	max_day = cs_day_of_local(state->last_at) + 1;
	for (int32 i = 0; i < state->used; i++)
		if (state->occasions[i].day < min_day || state->occasions[i].day > max_day)
			return false;
	return true;
}

/* Whether as_of_local is as_of on the wall clock of tz (NULL: no zone recorded, nothing to check). */
static bool
rfm_state_zone_is_consistent(const RfmState *state, pg_tz *tz)
{
	CsZone		zone;

	if (tz == NULL)
		return true;
	cs_zone_init(&zone, tz);
	return cs_local_usecs(state->as_of, &zone) == state->as_of_local;
}

static int64
parse_field_int(const char **cursor, const char *key, const char *input)
{
	cs_skip_space(cursor);
	if (strncmp(*cursor, key, strlen(key)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type rfm_state: \"%s\"", input),
				 errdetail("Expected \"%s\".", key)));
	*cursor += strlen(key);
	return cs_parse_int64(cursor, "rfm_state", input);
}

PG_FUNCTION_INFO_V1(rfm_state_in);
Datum
rfm_state_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *cursor = input;
	RfmState   *state = rfm_alloc(RFM_INITIAL_CAPACITY, NULL, 0);
	bool		has_zone;
	pg_tz	   *tz = NULL;

	cs_skip_space(&cursor);
	if (strncmp(cursor, "v1", 2) != 0 && strncmp(cursor, "v2", 2) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type rfm_state: \"%s\"", input),
				 errdetail("The text must start with the format version \"v1\" or \"v2\".")));
	has_zone = cursor[1] == '2';
	cursor += 2;
	state->as_of = parse_field_int(&cursor, "as_of=", input);
	state->as_of_local = parse_field_int(&cursor, "as_of_local=", input);
	cs_skip_space(&cursor);
	if (strncmp(cursor, "unit=", 5) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type rfm_state: \"%s\"", input),
				 errdetail("Expected \"unit=\".")));
	cursor += 5;
	state->unit_seconds = cs_parse_float(&cursor, "rfm_state", input);
	if (has_zone)
	{
		const char *canonical;
		int			canonical_len;
		RfmState   *named;

		tz = cs_parse_zone(&cursor, "rfm_state", input);
		canonical = cs_zone_record_name(tz, &canonical_len);
		named = rfm_copy(state, rfm_capacity(state), canonical, canonical_len);
		pfree(state);
		state = named;
	}
	state->first_at = parse_field_int(&cursor, "first_at=", input);
	state->last_at = parse_field_int(&cursor, "last_at=", input);
	state->rows = parse_field_int(&cursor, "rows=", input);
	cs_skip_space(&cursor);
	if (strncmp(cursor, "days=", 5) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type rfm_state: \"%s\"", input),
				 errdetail("Expected \"days=\".")));
	cursor += 5;
	while (*cursor && !isspace((unsigned char) *cursor))
	{
		int64		day;
		double		amount;

		if (state->used > 0)
			cs_expect_char(&cursor, ',', "rfm_state", input);
		day = cs_parse_int64(&cursor, "rfm_state", input);
		cs_expect_char(&cursor, ':', "rfm_state", input);
		amount = cs_parse_float(&cursor, "rfm_state", input);
		if (day < PG_INT32_MIN || day > PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type rfm_state: \"%s\"", input),
					 errdetail("Day " INT64_FORMAT " is out of range.", day)));
		if (state->used == rfm_capacity(state))
			state = rfm_grow(state, state->used + 1);
		state->occasions[state->used].day = (int32) day;
		state->occasions[state->used].amount = amount;
		state->used++;
	}
	cs_expect_end(&cursor, "rfm_state", input);
	if (!rfm_state_is_consistent(state))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type rfm_state: \"%s\"", input),
				 errdetail("The fields are inconsistent: unit must be positive, rows equal to the number of entries, first_at <= last_at <= as_of (finite timestamps), as_of_local within a day of as_of and every day within a day of first_at .. last_at.")));
	if (!rfm_state_zone_is_consistent(state, tz))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type rfm_state: \"%s\"", input),
				 errdetail("as_of_local is not as_of on the wall clock of zone \"%.*s\".",
						   state->zone_len, rfm_zone(state))));
	state->flags &= ~RFM_SORTED;
	rfm_sort(state);
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(rfm_state_out);
Datum
rfm_state_out(PG_FUNCTION_ARGS)
{
	RfmState   *state = rfm_sorted_copy(DatumGetRfmState(PG_GETARG_DATUM(0)));
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s as_of=" INT64_FORMAT " as_of_local=" INT64_FORMAT " unit=",
					 state->zone_len > 0 ? "v2" : "v1", state->as_of, state->as_of_local);
	cs_append_float(&buf, state->unit_seconds);
	if (state->zone_len > 0)
		appendStringInfo(&buf, " zone=%.*s", state->zone_len, rfm_zone(state));
	appendStringInfo(&buf, " first_at=" INT64_FORMAT " last_at=" INT64_FORMAT
					 " rows=" INT64_FORMAT " days=",
					 state->first_at, state->last_at, state->rows);
	for (int32 i = 0; i < state->used; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		appendStringInfo(&buf, "%s%d:", i > 0 ? "," : "", state->occasions[i].day);
		cs_append_float(&buf, state->occasions[i].amount);
	}
	PG_RETURN_CSTRING(buf.data);
}

PG_FUNCTION_INFO_V1(rfm_state_recv);
Datum
rfm_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			version = pq_getmsgbyte(buf);
	RfmState   *state;
	int32		used;
	int			zone_len = 0;
	char		name[TZ_STRLEN_MAX + 1];
	pg_tz	   *tz = NULL;
	const char *canonical = NULL;

	if (version != 1 && version != RFM_WIRE_ZONE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary data for type rfm_state"),
				 errdetail("Unsupported format version %d.", version)));
	if (version == RFM_WIRE_ZONE)
	{
		zone_len = pq_getmsgbyte(buf);
		pq_copymsgbytes(buf, name, zone_len);
		tz = cs_recorded_zone(name, zone_len);
		if (tz == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary data for type rfm_state"),
					 errdetail("Unknown time zone \"%.*s\".", zone_len, name)));
		canonical = cs_zone_record_name(tz, &zone_len);
	}
	used = pq_getmsgint(buf, 4);
	if (used < 1 || (int64) used * 12 > buf->len - buf->cursor)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary data for type rfm_state"),
				 errdetail("Day count %d does not match the message length.", used)));
	state = rfm_alloc(used, canonical, zone_len);
	state->as_of = pq_getmsgint64(buf);
	state->as_of_local = pq_getmsgint64(buf);
	state->unit_seconds = pq_getmsgfloat8(buf);
	state->first_at = pq_getmsgint64(buf);
	state->last_at = pq_getmsgint64(buf);
	state->rows = pq_getmsgint64(buf);
	for (int32 i = 0; i < used; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		state->occasions[i].day = pq_getmsgint(buf, 4);
		state->occasions[i].amount = pq_getmsgfloat8(buf);
		if (!isfinite(state->occasions[i].amount))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary data for type rfm_state"),
					 errdetail("Amounts must be finite.")));
	}
	state->used = used;
	if (!rfm_state_is_consistent(state) || !rfm_state_zone_is_consistent(state, tz))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary data for type rfm_state"),
				 errdetail("The fields are inconsistent.")));
	state->flags &= ~RFM_SORTED;
	rfm_sort(state);
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(rfm_state_send);
Datum
rfm_state_send(PG_FUNCTION_ARGS)
{
	RfmState   *state = rfm_sorted_copy(DatumGetRfmState(PG_GETARG_DATUM(0)));
	StringInfoData buf;

	pq_begintypsend(&buf);
	if (state->zone_len > 0)
	{
		pq_sendbyte(&buf, RFM_WIRE_ZONE);
		pq_sendbyte(&buf, state->zone_len);
		pq_sendbytes(&buf, rfm_zone(state), state->zone_len);
	}
	else
		pq_sendbyte(&buf, 1);
	pq_sendint32(&buf, state->used);
	pq_sendint64(&buf, state->as_of);
	pq_sendint64(&buf, state->as_of_local);
	pq_sendfloat8(&buf, state->unit_seconds);
	pq_sendint64(&buf, state->first_at);
	pq_sendint64(&buf, state->last_at);
	pq_sendint64(&buf, state->rows);
	for (int32 i = 0; i < state->used; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		pq_sendint32(&buf, state->occasions[i].day);
		pq_sendfloat8(&buf, state->occasions[i].amount);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Seconds in an interval, as rfm counts a unit, for the other aggregates over transactions. */
double
rfm_interval_seconds(const Interval *unit)
{
	return interval_seconds(unit);
}
