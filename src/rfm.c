/*
 * rfm.c — the rfm aggregate: a customer's transactions summarised as
 * frequency, recency, t and monetary value in the conventions of the
 * buy-till-you-die literature (Fader, Hardie & Lee 2005).
 *
 * Rows become purchase occasions by the purchase rule (purchase_rule.h):
 * the rows of one calendar day (session TimeZone, local_day.h) add up, a day
 * netting below 0 is a refund day and no occasion, a NULL amount counts as 0.
 * frequency = repeat occasions; recency = first to last occasion; t = first
 * occasion to as_of; both in the caller's unit; monetary = mean value of the
 * repeat occasions (0 without any); rows after as_of are ignored.  0.1.0's
 * entry points (rfm_transfn, rfm_finalfn, ...) keep 0.1.0's rule: every day
 * an occasion, rows with a NULL amount skipped.
 *
 * State type rfm_state (a varlena):
 *   vl_len_, version (RFM_VERSION), flags (RFM_SORTED), reserved
 *   used            rows in use; capacity is what VARSIZE leaves room for
 *   as_of           the observation end (UTC microseconds) ...
 *   as_of_local     ... and the same instant on the local wall clock
 *   unit_seconds    the time unit of recency and t
 *   first_at, last_at, rows   first and last purchase timestamps, rows counted
 *   occasions[]     (local day number, amount) per row, appended unsorted
 *
 * Rows are kept one by one and summed into occasions only by the final
 * function, after sorting by (day, amount): floating-point sums then come
 * out bit for bit the same whatever order the rows arrived in and however
 * parallel workers split them.  Customers have few rows, so this costs
 * little.
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
#include "state_limit.h"
#include "text_io.h"
#include "validate.h"

#define RFM_VERSION 1
#define RFM_SORTED 0x0001
#define RFM_INITIAL_CAPACITY 8

typedef struct RfmOccasion
{
	int32		day;			/* days since 2000-01-01 on the local calendar */
	int32		reserved;
	double		amount;
} RfmOccasion;

typedef struct RfmState
{
	int32		vl_len_;
	uint8		version;
	uint8		flags;
	uint16		reserved;
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
	return (int32) ((VARSIZE(state) - RFM_HEADER_SIZE) / sizeof(RfmOccasion));
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

static RfmState *
rfm_alloc(int32 capacity)
{
	RfmState   *state;

	if (capacity > RFM_MAX_OCCASIONS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many transactions for one customer"),
				 errdetail("The limit is %d rows per group.", RFM_MAX_OCCASIONS),
				 errhint("Group the rows by customer.")));
	cs_check_state_limit(RFM_HEADER_SIZE, sizeof(RfmOccasion), capacity, "rfm", "rows");
	state = palloc0(RFM_HEADER_SIZE + (Size) capacity * sizeof(RfmOccasion));
	SET_VARSIZE(state, RFM_HEADER_SIZE + (Size) capacity * sizeof(RfmOccasion));
	state->version = RFM_VERSION;
	state->flags = RFM_SORTED;
	state->first_at = DT_NOEND;
	state->last_at = DT_NOBEGIN;
	return state;
}

/* Allocated in the per-call context: the executor copies it into the aggregate context. */
static RfmState *
rfm_grow(const RfmState *state, int32 min_capacity)
{
	int64		capacity = Max(rfm_capacity(state), RFM_INITIAL_CAPACITY);
	RfmState   *grown;

	while (capacity < min_capacity)
		capacity *= 2;
	/* doubling past a limit stops at it, so every row up to the limit fits */
	if (min_capacity <= RFM_MAX_OCCASIONS)
		capacity = Min(capacity, (int64) RFM_MAX_OCCASIONS);
	if (min_capacity <= cs_state_capacity_limit(RFM_HEADER_SIZE, sizeof(RfmOccasion)))
		capacity = Min(capacity, cs_state_capacity_limit(RFM_HEADER_SIZE, sizeof(RfmOccasion)));
	grown = rfm_alloc((int32) Min(capacity, (int64) RFM_MAX_OCCASIONS + 1));
	memcpy(grown, state, RFM_HEADER_SIZE);
	SET_VARSIZE(grown, RFM_HEADER_SIZE + (Size) Min(capacity, (int64) RFM_MAX_OCCASIONS + 1) * sizeof(RfmOccasion));
	memcpy(grown->occasions, state->occasions, sizeof(RfmOccasion) * state->used);
	return grown;
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

static RfmState *
rfm_sorted_copy(const RfmState *state)
{
	RfmState   *copy = rfm_alloc(Max(state->used, 1));

	memcpy(copy, state, RFM_HEADER_SIZE);
	SET_VARSIZE(copy, RFM_HEADER_SIZE + (Size) Max(state->used, 1) * sizeof(RfmOccasion));
	memcpy(copy->occasions, state->occasions, sizeof(RfmOccasion) * state->used);
	rfm_sort(copy);
	return copy;
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

/*
 * Adds one row.  With the purchase rule (purchase_rule.h) a NULL amount is a purchase of unknown
 * value, counted with CS_AMOUNT_IF_NULL; 0.1.0's entry points skip such a row.
 */
static Datum
rfm_transition(FunctionCallInfo fcinfo, const Interval *unit, bool purchase_rule)
{
	RfmState   *state = PG_ARGISNULL(0) ? NULL : (RfmState *) PG_GETARG_POINTER(0);
	TimestampTz at,
				as_of;
	double		amount,
				unit_seconds;
	RfmOccasion *occasion;

	CS_REQUIRE_AGG_CONTEXT(fcinfo, "rfm_transfn");
	/* a row without a time (or without as_of or unit) is not counted */
	if (PG_ARGISNULL(1) || (PG_ARGISNULL(2) && !purchase_rule) || PG_ARGISNULL(3) || unit == NULL)
		goto done;

	at = PG_GETARG_TIMESTAMPTZ(1);
	amount = PG_ARGISNULL(2) ? CS_AMOUNT_IF_NULL : PG_GETARG_FLOAT8(2);
	as_of = PG_GETARG_TIMESTAMPTZ(3);
	unit_seconds = interval_seconds(unit);

	if (state != NULL)
		rfm_check_same_window(state, as_of, unit_seconds);
	else
	{
		if (!(unit_seconds > 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unit must be a positive interval, got %s",
							DatumGetCString(DirectFunctionCall1(interval_out,
																PointerGetDatum(unit))))));
		if (TIMESTAMP_NOT_FINITE(as_of))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("as_of must be a finite timestamp")));
	}
	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("purchase time must be a finite timestamp, got %s",
						TIMESTAMP_IS_NOBEGIN(at) ? "-infinity" : "infinity")));
	cs_check_finite("amount", amount);
	if (at > as_of)
		goto done;				/* after the observation end: not seen yet */

	if (state == NULL)
	{
		state = rfm_alloc(RFM_INITIAL_CAPACITY);
		state->as_of = as_of;
		state->as_of_local = cs_local_usecs(as_of, cs_session_zone());
		state->unit_seconds = unit_seconds;
	}
	if (state->used == rfm_capacity(state))
		state = rfm_grow(state, state->used + 1);
	occasion = &state->occasions[state->used++];
	occasion->day = cs_local_day(at, cs_session_zone());
	occasion->reserved = 0;
	occasion->amount = amount;
	if (state->used > 1 && occasion_cmp(occasion, occasion - 1) < 0)
		state->flags &= ~RFM_SORTED;
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
	return rfm_transition(fcinfo, PG_ARGISNULL(4) ? NULL : PG_GETARG_INTERVAL_P(4), false);
}

PG_FUNCTION_INFO_V1(rfm_transfn_days);
Datum
rfm_transfn_days(PG_FUNCTION_ARGS)
{
	return rfm_transition(fcinfo, &one_day, false);
}

/* The transition functions of the purchase rule (0.2.0): a NULL amount is a purchase. */
PG_FUNCTION_INFO_V1(rfm_transfn_rule);
Datum
rfm_transfn_rule(PG_FUNCTION_ARGS)
{
	return rfm_transition(fcinfo, PG_ARGISNULL(4) ? NULL : PG_GETARG_INTERVAL_P(4), true);
}

PG_FUNCTION_INFO_V1(rfm_transfn_days_rule);
Datum
rfm_transfn_days_rule(PG_FUNCTION_ARGS)
{
	return rfm_transition(fcinfo, &one_day, true);
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
	if (state->used + other->used > rfm_capacity(state))
		state = rfm_grow(state, state->used + other->used);
	memcpy(&state->occasions[state->used], other->occasions, sizeof(RfmOccasion) * other->used);
	state->used += other->used;
	state->flags &= ~RFM_SORTED;
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
rfm_occasions(const RfmState *state, bool purchase_rule, CsOccasions *occasions,
			  double *total, double *repeat_value)
{
	int32		day_start = 0;

	*total = 0;
	*repeat_value = 0;
	while (day_start < state->used)
	{
		int32		day = state->occasions[day_start].day;
		int32		day_end = day_start;
		double		day_sum = 0;

		while (day_end < state->used && state->occasions[day_end].day == day)
		{
			if ((day_end & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
			day_sum += state->occasions[day_end++].amount;
		}
		if (cs_occasions_add(occasions, day, purchase_rule && day_sum < 0))
			for (int32 i = day_start; i < day_end; i++)
				*repeat_value += state->occasions[i].amount;
		for (int32 i = day_start; i < day_end; i++)
			*total += state->occasions[i].amount;
		day_start = day_end;
	}
	cs_check_result("the total of the amounts", *total);
	cs_check_result("the value of the repeat purchases", *repeat_value);
}

/* The summary as customer_score.rfm_summary (NULL without a purchase occasion). */
static Datum
rfm_final(FunctionCallInfo fcinfo, bool purchase_rule)
{
	TupleDesc	tupdesc = (TupleDesc) fcinfo->flinfo->fn_extra;
	RfmState   *state;
	Datum		values[8];
	bool		nulls[8] = {false};
	CsOccasions occasions = CS_OCCASIONS_INIT;
	double		repeat_value,
				total;
	int32		as_of_day;
	int64		as_of_rest;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	/* the final function must not change the state: sort a copy */
	state = rfm_sorted_copy(DatumGetRfmState(PG_GETARG_DATUM(0)));
	if (state->used == 0)
		PG_RETURN_NULL();
	rfm_occasions(state, purchase_rule, &occasions, &total, &repeat_value);
	if (occasions.count == 0)
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

	/*
	 * t in whole days and the rest: as_of_local - first_day * USECS_PER_DAY in one int64
	 * overflows when the timestamps span most of PostgreSQL's range (4713 BC to 294276 AD).
	 * Exact, as before, whenever the span fits in a double's 53 bits (285 years).
	 */
	as_of_day = cs_day_of_local(state->as_of_local);
	as_of_rest = state->as_of_local - (int64) as_of_day * USECS_PER_DAY;

	values[0] = Int32GetDatum(occasions.count - 1);
	values[1] = Float8GetDatum((double) (occasions.last_day - occasions.first_day) * SECS_PER_DAY / state->unit_seconds);
	values[2] = Float8GetDatum(((double) ((int64) as_of_day - occasions.first_day) * USECS_PER_DAY + (double) as_of_rest)
							   / USECS_PER_SEC / state->unit_seconds);
	values[3] = Float8GetDatum(purchase_rule ? cs_occasions_monetary(&occasions, repeat_value) :
							   occasions.count > 1 ? repeat_value / (occasions.count - 1) : 0.0);
	values[4] = Float8GetDatum(total);
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
 * rfm_state I/O.  Text: "v1 as_of=<usec> as_of_local=<usec> unit=<seconds>
 * first_at=<usec> last_at=<usec> rows=<n> days=<day>:<amount>,..." with
 * timestamps as raw microseconds so the text does not depend on DateStyle
 * or TimeZone.
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
	RfmState   *state = rfm_alloc(RFM_INITIAL_CAPACITY);

	cs_skip_space(&cursor);
	if (strncmp(cursor, "v1", 2) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type rfm_state: \"%s\"", input),
				 errdetail("The text must start with the format version \"v1\".")));
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
	appendStringInfo(&buf, "v1 as_of=" INT64_FORMAT " as_of_local=" INT64_FORMAT " unit=",
					 state->as_of, state->as_of_local);
	cs_append_float(&buf, state->unit_seconds);
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

	if (version != RFM_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary data for type rfm_state"),
				 errdetail("Unsupported format version %d.", version)));
	used = pq_getmsgint(buf, 4);
	if (used < 1 || (int64) used * 12 > buf->len - buf->cursor)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary data for type rfm_state"),
				 errdetail("Day count %d does not match the message length.", used)));
	state = rfm_alloc(used);
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
	if (!rfm_state_is_consistent(state))
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
	pq_sendbyte(&buf, RFM_VERSION);
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
