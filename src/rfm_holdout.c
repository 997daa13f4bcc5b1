/*
 * rfm_holdout.c — the rfm_holdout aggregate: one pass over a customer's transactions gives
 * the calibration summary exactly as rfm computes it at calibration_end, and what the customer
 * did in the holdout (calibration_end, holdout_end]: purchase occasions, spend and its length.
 *
 * The calendar day, the unit and the summary arithmetic are rfm's own (rfm.h, local_day.h), so
 * the two aggregates always agree on a customer's days: days in the time_zone argument, else in
 * the session TimeZone, the zone recorded in the state as rfm records it.  A holdout occasion is
 * a local calendar day with a holdout row that is not already a calibration occasion: when
 * calibration_end falls inside a day, that day's later rows add to holdout_spend but not to
 * holdout_frequency.
 *
 * State type rfm_holdout_state (a varlena):
 *   vl_len_, version (HOLDOUT_VERSION), flags (HOLDOUT_SORTED)
 *   zone_len              bytes of the zone name at the end (0: not recorded), reserved
 *   used                  rows in use, calibration and holdout
 *   calibration_end, holdout_end (UTC microseconds), and both on the local wall clock
 *   unit_seconds          the time unit of recency, t and holdout_t
 *   first_at, last_at     first and last calibration purchase (DT_NOEND, DT_NOBEGIN without any)
 *   rows                  calibration rows counted
 *   entries[]             (local day, amount) per row; reserved = 1 marks a holdout row
 *   zone name             the calendar of the days, zone_len bytes without a NUL
 *
 * The calendar is part of the state, as in rfm_state: states of different zones do not merge,
 * and one without a zone (read from the text "v1" or binary version 1, which did not record it)
 * merges with any and takes the other's.
 *
 * Rows are sorted by (holdout, day, amount) before they are summed, so the calibration rows
 * form a prefix in rfm's own order and every sum is bit for bit independent of row order and
 * of how parallel workers split the rows.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "interrupts.h"
#include "local_day.h"
#include "purchase_rule.h"
#include "rfm.h"
#include "text_io.h"
#include "validate.h"

#define HOLDOUT_VERSION 1
#define HOLDOUT_SORTED 0x0001
/* text "v1 ..." and binary version 1: no zone; version 2 adds it */
#define HOLDOUT_WIRE_ZONE 2
#define HOLDOUT_INITIAL_CAPACITY 8

typedef struct HoldoutState
{
	int32		vl_len_;
	uint8		version;
	uint8		flags;
	uint8		zone_len;
	uint8		reserved;
	int32		used;
	TimestampTz calibration_end;
	int64		calibration_end_local;
	TimestampTz holdout_end;
	int64		holdout_end_local;
	double		unit_seconds;
	TimestampTz first_at;
	TimestampTz last_at;
	int64		rows;
	RfmOccasion entries[FLEXIBLE_ARRAY_MEMBER];
} HoldoutState;

#define HOLDOUT_HEADER_SIZE offsetof(HoldoutState, entries)
#define HOLDOUT_MAX_ROWS ((int32) ((MaxAllocSize - HOLDOUT_HEADER_SIZE) / sizeof(RfmOccasion)))
#define DatumGetHoldoutState(d) ((HoldoutState *) PG_DETOAST_DATUM(d))

/* Rows the state has room for. */
static inline int32
holdout_capacity(const HoldoutState *state)
{
	return (int32) ((VARSIZE(state) - HOLDOUT_HEADER_SIZE - state->zone_len) / sizeof(RfmOccasion));
}

/* The zone name at the end of the state, zone_len bytes without a NUL. */
static inline char *
holdout_zone(const HoldoutState *state)
{
	return (char *) state + VARSIZE(state) - state->zone_len;
}

/*
 * A state with room for capacity rows and the header and rows of from (or an empty one), its
 * calendar the zone_len bytes at zone, in the current context.
 */
static HoldoutState *
holdout_alloc(const HoldoutState *from, int64 capacity, const char *zone, int zone_len)
{
	HoldoutState *state;
	Size		size;

	if (capacity > HOLDOUT_MAX_ROWS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many transactions for one customer"),
				 errdetail("The limit is %d rows per group.", HOLDOUT_MAX_ROWS),
				 errhint("Group the rows by customer.")));
	Assert(zone_len >= 0 && zone_len <= PG_UINT8_MAX);
	size = HOLDOUT_HEADER_SIZE + (Size) capacity * sizeof(RfmOccasion) + zone_len;
	state = palloc0(size);
	if (from != NULL)
	{
		memcpy(state, from, HOLDOUT_HEADER_SIZE);
		memcpy(state->entries, from->entries, sizeof(RfmOccasion) * Min(from->used, capacity));
	}
	else
	{
		state->version = HOLDOUT_VERSION;
		state->flags = HOLDOUT_SORTED;
		state->first_at = DT_NOEND;
		state->last_at = DT_NOBEGIN;
	}
	SET_VARSIZE(state, size);
	state->zone_len = (uint8) zone_len;
	if (zone_len > 0)
		memcpy(holdout_zone(state), zone, zone_len);
	return state;
}

/* A copy of from with room for capacity rows, on from's calendar. */
static inline HoldoutState *
holdout_resize(const HoldoutState *from, int64 capacity)
{
	return holdout_alloc(from, capacity, holdout_zone(from), from->zone_len);
}

/* (holdout, day, amount): calibration rows first, each part in rfm's order */
static int
entry_cmp(const void *a, const void *b)
{
	const RfmOccasion *ea = a;
	const RfmOccasion *eb = b;

	if (ea->reserved != eb->reserved)
		return (ea->reserved > eb->reserved) - (ea->reserved < eb->reserved);
	if (ea->day != eb->day)
		return (ea->day > eb->day) - (ea->day < eb->day);
	return (ea->amount > eb->amount) - (ea->amount < eb->amount);
}

/* A sorted copy sized to fit: what the final and output functions read. */
static HoldoutState *
holdout_sorted_copy(const HoldoutState *state)
{
	HoldoutState *copy = holdout_resize(state, Max(state->used, 1));

	if (!(copy->flags & HOLDOUT_SORTED) && copy->used > 1)
		cs_sort(copy->entries, copy->used, sizeof(RfmOccasion), entry_cmp);
	copy->flags |= HOLDOUT_SORTED;
	return copy;
}

/* Both ends and the unit must be the same for every row of a group. */
static void
holdout_check_same_window(const HoldoutState *state, TimestampTz calibration_end,
						  TimestampTz holdout_end, double unit_seconds)
{
	if (state->calibration_end != calibration_end || state->holdout_end != holdout_end ||
		state->unit_seconds != unit_seconds)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("calibration_end, holdout_end and unit must be the same for every row of a group"),
				 errhint("Pass constants, e.g. rfm_holdout(at, amount, '2024-01-01', '2024-07-01', '7 days').")));
}

/* The window of a new group: finite ends, a holdout that ends after the calibration, a positive unit. */
static void
holdout_check_window(TimestampTz calibration_end, TimestampTz holdout_end,
					 const Interval *unit, double unit_seconds)
{
	char		calibration_text[MAXDATELEN + 1];

	rfm_check_window("calibration_end", calibration_end, "unit", unit, unit_seconds);
	rfm_check_window("holdout_end", holdout_end, "unit", unit, unit_seconds);
	if (holdout_end <= calibration_end)
	{
		/* timestamptz_to_str returns a static buffer: keep the first before the second */
		strlcpy(calibration_text, timestamptz_to_str(calibration_end), sizeof(calibration_text));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("holdout_end must be later than calibration_end, got calibration_end %s and holdout_end %s",
						calibration_text, timestamptz_to_str(holdout_end)),
				 errdetail("The holdout is the period (calibration_end, holdout_end]; it must not be empty.")));
	}
}

/* ---------------------------------------------------------------------
 * Aggregate support functions
 * ---------------------------------------------------------------------
 */

/*
 * Adds one row (at, amount) to the state, creating it for the group's first row; its day on the
 * calendar of the time_zone argument at zone_arg (-1: the session TimeZone), as rfm counts it.
 */
static Datum
holdout_transition(FunctionCallInfo fcinfo, const Interval *unit, int zone_arg)
{
	HoldoutState *state = PG_ARGISNULL(0) ? NULL : (HoldoutState *) PG_GETARG_POINTER(0);
	TimestampTz at,
				calibration_end,
				holdout_end;
	double		amount,
				unit_seconds;
	RfmOccasion *entry;
	const CsCalendar *calendar;

	CS_REQUIRE_AGG_CONTEXT(fcinfo, "rfm_holdout_transfn");
	/*
	 * the purchase rule: a row without a time (or without ends, unit or time zone) is not
	 * counted, a NULL amount is a purchase
	 */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(3) || PG_ARGISNULL(4) || unit == NULL ||
		(zone_arg >= 0 && PG_ARGISNULL(zone_arg)))
		goto done;
	calendar = cs_call_calendar(fcinfo, zone_arg);

	at = PG_GETARG_TIMESTAMPTZ(1);
	amount = PG_ARGISNULL(2) ? CS_AMOUNT_IF_NULL : PG_GETARG_FLOAT8(2);
	calibration_end = PG_GETARG_TIMESTAMPTZ(3);
	holdout_end = PG_GETARG_TIMESTAMPTZ(4);
	unit_seconds = rfm_interval_seconds(unit);
	if (state != NULL)
	{
		holdout_check_same_window(state, calibration_end, holdout_end, unit_seconds);
		if (zone_arg >= 0)
			cs_check_row_zone(holdout_zone(state), state->zone_len, calendar);
	}
	else
		holdout_check_window(calibration_end, holdout_end, unit, unit_seconds);
	rfm_check_row(at, amount);
	if (at > holdout_end)
		goto done;				/* after the holdout: not seen */

	if (state == NULL)
	{
		state = holdout_alloc(NULL, HOLDOUT_INITIAL_CAPACITY, calendar->name, calendar->name_len);
		state->calibration_end = calibration_end;
		state->calibration_end_local = cs_local_usecs(calibration_end, &calendar->zone);
		state->holdout_end = holdout_end;
		state->holdout_end_local = cs_local_usecs(holdout_end, &calendar->zone);
		state->unit_seconds = unit_seconds;
	}
	/* a new, larger state in the per-call context: the executor copies it into the aggregate's */
	if (state->used == holdout_capacity(state))
		state = holdout_resize(state, Min((int64) state->used * 2, (int64) HOLDOUT_MAX_ROWS + 1));
	entry = &state->entries[state->used++];
	entry->day = cs_local_day(at, &calendar->zone);
	entry->reserved = at > calibration_end ? 1 : 0;
	entry->amount = amount;
	if (state->used > 1 && entry_cmp(entry, entry - 1) < 0)
		state->flags &= ~HOLDOUT_SORTED;
	if (!entry->reserved)
	{
		state->first_at = Min(state->first_at, at);
		state->last_at = Max(state->last_at, at);
		state->rows++;
	}

done:
	if (state == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(rfm_holdout_transfn);
Datum
rfm_holdout_transfn(PG_FUNCTION_ARGS)
{
	return holdout_transition(fcinfo, PG_ARGISNULL(5) ? NULL : PG_GETARG_INTERVAL_P(5), -1);
}

PG_FUNCTION_INFO_V1(rfm_holdout_transfn_days);
Datum
rfm_holdout_transfn_days(PG_FUNCTION_ARGS)
{
	static const Interval one_day = {.time = 0,.day = 1,.month = 0};

	return holdout_transition(fcinfo, &one_day, -1);
}

/* rfm_holdout(at, amount, calibration_end, holdout_end, unit, time_zone): days on time_zone's calendar */
PG_FUNCTION_INFO_V1(rfm_holdout_transfn_zone);
Datum
rfm_holdout_transfn_zone(PG_FUNCTION_ARGS)
{
	return holdout_transition(fcinfo, PG_ARGISNULL(5) ? NULL : PG_GETARG_INTERVAL_P(5), 6);
}

PG_FUNCTION_INFO_V1(rfm_holdout_combinefn);
Datum
rfm_holdout_combinefn(PG_FUNCTION_ARGS)
{
	HoldoutState *state;
	HoldoutState *other;

	CS_REQUIRE_AGG_CONTEXT(fcinfo, "rfm_holdout_combinefn");
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}
	other = DatumGetHoldoutState(PG_GETARG_DATUM(1));
	if (PG_ARGISNULL(0))
		PG_RETURN_POINTER(holdout_sorted_copy(other));

	state = (HoldoutState *) PG_GETARG_POINTER(0);
	holdout_check_same_window(state, other->calibration_end, other->holdout_end, other->unit_seconds);
	cs_check_merge_zones("rfm_holdout", holdout_zone(state), state->zone_len,
						 holdout_zone(other), other->zone_len,
						 "Build every state with the same time_zone argument, e.g. rfm_holdout_partial(at, amount, calibration_end, holdout_end, unit, 'UTC').");
	if (state->zone_len == 0 && other->zone_len > 0)
		state = holdout_alloc(state, Max((int64) holdout_capacity(state), (int64) state->used + other->used),
							  holdout_zone(other), other->zone_len);
	else if ((int64) state->used + other->used > holdout_capacity(state))
		state = holdout_resize(state, (int64) state->used + other->used);
	memcpy(&state->entries[state->used], other->entries, sizeof(RfmOccasion) * other->used);
	state->used += other->used;
	state->flags &= ~HOLDOUT_SORTED;
	state->first_at = Min(state->first_at, other->first_at);
	state->last_at = Max(state->last_at, other->last_at);
	state->rows += other->rows;
	PG_RETURN_POINTER(state);
}

/* The result as customer_score.rfm_holdout_summary: rfm_summary's fields, then the holdout's. */
PG_FUNCTION_INFO_V1(rfm_holdout_finalfn);
Datum
rfm_holdout_finalfn(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc = (TupleDesc) fcinfo->flinfo->fn_extra;
	HoldoutState *state;
	Datum		values[11];
	bool		nulls[11] = {false};
	int32		ncal,
				holdout_occasions = 0,
				last_day;
	double		holdout_spend = 0;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = holdout_sorted_copy(DatumGetHoldoutState(PG_GETARG_DATUM(0)));
	ncal = (int32) state->rows;
	if (ncal == 0)
		PG_RETURN_NULL();		/* no purchase by calibration_end: no calibration history */

	if (tupdesc == NULL)
	{
		/* look the result type up once per query, not once per customer */
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "rfm_holdout final function must return a composite type");
		tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
		fcinfo->flinfo->fn_extra = tupdesc;
		MemoryContextSwitchTo(old);
	}

	if (!rfm_summarise(state->entries, ncal, state->calibration_end_local, state->unit_seconds,
					   true, values))
		PG_RETURN_NULL();		/* only refund days by calibration_end: no purchase history */
	values[5] = Int32GetDatum(ncal);
	values[6] = TimestampTzGetDatum(state->first_at);
	values[7] = TimestampTzGetDatum(state->last_at);

	/*
	 * holdout occasions by the purchase rule: days after the last calibration day whose amounts
	 * net to 0 or more, one per day (a refund day is none)
	 */
	last_day = state->entries[ncal - 1].day;
	for (int32 i = ncal; i < state->used;)
	{
		int32		day = state->entries[i].day;
		double		day_sum = 0;

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		for (; i < state->used && state->entries[i].day == day; i++)
			day_sum += state->entries[i].amount;
		holdout_spend += day_sum;
		if (day != last_day && day_sum >= 0)
			holdout_occasions++;
	}
	values[8] = Int32GetDatum(holdout_occasions);
	values[9] = Float8GetDatum(cs_check_result("the holdout spend", holdout_spend));
	/* in double precision: the two ends may span PostgreSQL's whole range, beyond an int64 */
	values[10] = Float8GetDatum(((double) state->holdout_end_local - (double) state->calibration_end_local)
								/ USECS_PER_SEC / state->unit_seconds);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* ---------------------------------------------------------------------
 * rfm_holdout_state I/O.  Text: "v2 calibration_end=<usec> calibration_end_local=<usec>
 * holdout_end=<usec> holdout_end_local=<usec> unit=<seconds> zone=<time zone> first_at=<usec>
 * last_at=<usec> rows=<n> days=<day>:<amount>,... holdout_days=<day>:<amount>,...",
 * timestamps as raw microseconds so the text depends on neither DateStyle nor TimeZone; a state
 * without a zone is written "v1" without "zone=", the form that did not record it.
 * ---------------------------------------------------------------------
 */

/* Whether local is within a day of ts, as every UTC offset is. */
static inline bool
near(int64 local, TimestampTz ts)
{
	return local >= ts - USECS_PER_DAY && local <= ts + USECS_PER_DAY;
}

/*
 * Whether a state read from text or binary is one the transition and combine functions could
 * have built: valid timestamps in order, local clocks within a day of them, a unit of at least
 * half a microsecond, calibration rows counted and within a day of first_at .. last_at,
 * holdout rows within a day of the holdout.
 */
static bool
holdout_state_is_consistent(const HoldoutState *state)
{
	int64		ncal = 0;

	if (!isfinite(state->unit_seconds) || !(state->unit_seconds >= 0.5 / USECS_PER_SEC) ||
		state->used < 1 ||
		!IS_VALID_TIMESTAMP(state->calibration_end) || !IS_VALID_TIMESTAMP(state->holdout_end) ||
		state->calibration_end >= state->holdout_end ||
		!near(state->calibration_end_local, state->calibration_end) ||
		!near(state->holdout_end_local, state->holdout_end))
		return false;
	for (int32 i = 0; i < state->used; i++)
	{
		const RfmOccasion *e = &state->entries[i];

		if (e->reserved == 0)
		{
			ncal++;
			if (e->day < cs_day_of_local(state->first_at) - 1 || e->day > cs_day_of_local(state->last_at) + 1)
				return false;
		}
		else if (e->reserved != 1 ||
				 e->day < cs_day_of_local(state->calibration_end) - 1 ||
				 e->day > cs_day_of_local(state->holdout_end) + 1)
			return false;
	}
	if (ncal != state->rows)
		return false;
	if (ncal == 0)
		return state->first_at == DT_NOEND && state->last_at == DT_NOBEGIN;
	return IS_VALID_TIMESTAMP(state->first_at) && IS_VALID_TIMESTAMP(state->last_at) &&
		state->first_at <= state->last_at && state->last_at <= state->calibration_end;
}

/* Whether both local ends are the ends on the wall clock of tz (NULL: no zone recorded, nothing to check). */
static bool
holdout_state_zone_is_consistent(const HoldoutState *state, pg_tz *tz)
{
	CsZone		zone;

	if (tz == NULL)
		return true;
	cs_zone_init(&zone, tz);
	return cs_local_usecs(state->calibration_end, &zone) == state->calibration_end_local &&
		cs_local_usecs(state->holdout_end, &zone) == state->holdout_end_local;
}

/* state on the calendar of tz, recorded by its canonical name (a new state; tz NULL: state itself). */
static HoldoutState *
holdout_with_zone(HoldoutState *state, pg_tz *tz)
{
	const char *canonical;
	int			canonical_len;
	HoldoutState *named;

	if (tz == NULL)
		return state;
	canonical = cs_zone_record_name(tz, &canonical_len);
	named = holdout_alloc(state, holdout_capacity(state), canonical, canonical_len);
	pfree(state);
	return named;
}


static void
holdout_reject_text(const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type rfm_holdout_state: \"%s\"", input),
			 errdetail("%s", detail)));
}

/* Reads "<day>:<amount>,..." up to the next space into the state, marked holdout or not. */
static HoldoutState *
holdout_parse_days(HoldoutState *state, const char **cursor, int32 holdout, const char *input)
{
	bool		first = true;

	while (**cursor && !isspace((unsigned char) **cursor))
	{
		int64		day;
		double		amount;

		if (!first)
			cs_expect_char(cursor, ',', "rfm_holdout_state", input);
		first = false;
		day = cs_parse_int64(cursor, "rfm_holdout_state", input);
		cs_expect_char(cursor, ':', "rfm_holdout_state", input);
		amount = cs_parse_float(cursor, "rfm_holdout_state", input);
		if (day < PG_INT32_MIN || day > PG_INT32_MAX)
			holdout_reject_text(input, "A day is out of range.");
		if (state->used == holdout_capacity(state))
			state = holdout_resize(state, Min((int64) state->used * 2, (int64) HOLDOUT_MAX_ROWS + 1));
		state->entries[state->used].day = (int32) day;
		state->entries[state->used].reserved = holdout;
		state->entries[state->used].amount = amount;
		state->used++;
	}
	return state;
}

PG_FUNCTION_INFO_V1(rfm_holdout_state_in);
Datum
rfm_holdout_state_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *cursor = input;
	HoldoutState *state = holdout_alloc(NULL, HOLDOUT_INITIAL_CAPACITY, NULL, 0);
	bool		has_zone;
	pg_tz	   *tz = NULL;

	cs_skip_space(&cursor);
	if (strncmp(cursor, "v1", 2) != 0 && strncmp(cursor, "v2", 2) != 0)
		holdout_reject_text(input, "The text must start with the format version \"v1\" or \"v2\".");
	has_zone = cursor[1] == '2';
	cursor += 2;
	cs_expect_key(&cursor, "calibration_end=", "rfm_holdout_state", input);
	state->calibration_end = cs_parse_int64(&cursor, "rfm_holdout_state", input);
	cs_expect_key(&cursor, "calibration_end_local=", "rfm_holdout_state", input);
	state->calibration_end_local = cs_parse_int64(&cursor, "rfm_holdout_state", input);
	cs_expect_key(&cursor, "holdout_end=", "rfm_holdout_state", input);
	state->holdout_end = cs_parse_int64(&cursor, "rfm_holdout_state", input);
	cs_expect_key(&cursor, "holdout_end_local=", "rfm_holdout_state", input);
	state->holdout_end_local = cs_parse_int64(&cursor, "rfm_holdout_state", input);
	cs_expect_key(&cursor, "unit=", "rfm_holdout_state", input);
	state->unit_seconds = cs_parse_float(&cursor, "rfm_holdout_state", input);
	if (has_zone)
	{
		tz = cs_parse_zone(&cursor, "rfm_holdout_state", input);
		state = holdout_with_zone(state, tz);
	}
	cs_expect_key(&cursor, "first_at=", "rfm_holdout_state", input);
	state->first_at = cs_parse_int64(&cursor, "rfm_holdout_state", input);
	cs_expect_key(&cursor, "last_at=", "rfm_holdout_state", input);
	state->last_at = cs_parse_int64(&cursor, "rfm_holdout_state", input);
	cs_expect_key(&cursor, "rows=", "rfm_holdout_state", input);
	state->rows = cs_parse_int64(&cursor, "rfm_holdout_state", input);
	cs_expect_key(&cursor, "days=", "rfm_holdout_state", input);
	state = holdout_parse_days(state, &cursor, 0, input);
	cs_expect_key(&cursor, "holdout_days=", "rfm_holdout_state", input);
	state = holdout_parse_days(state, &cursor, 1, input);
	cs_expect_end(&cursor, "rfm_holdout_state", input);
	if (!holdout_state_is_consistent(state))
		holdout_reject_text(input, "The fields are inconsistent: calibration_end < holdout_end (finite), each local time within a day of its timestamp, a positive unit, at least one row, rows equal to the calibration days, first_at <= last_at <= calibration_end, and every day within a day of its period.");
	if (!holdout_state_zone_is_consistent(state, tz))
		holdout_reject_text(input, "calibration_end_local and holdout_end_local are not the ends on the wall clock of the zone.");
	state->flags &= ~HOLDOUT_SORTED;
	PG_RETURN_POINTER(holdout_sorted_copy(state));
}

/* Appends the entries marked holdout (or not) as "<day>:<amount>,..." */
static void
holdout_append_days(StringInfo buf, const HoldoutState *state, int32 holdout)
{
	bool		first = true;

	for (int32 i = 0; i < state->used; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (state->entries[i].reserved != holdout)
			continue;
		appendStringInfo(buf, "%s%d:", first ? "" : ",", state->entries[i].day);
		cs_append_float(buf, state->entries[i].amount);
		first = false;
	}
}

PG_FUNCTION_INFO_V1(rfm_holdout_state_out);
Datum
rfm_holdout_state_out(PG_FUNCTION_ARGS)
{
	HoldoutState *state = holdout_sorted_copy(DatumGetHoldoutState(PG_GETARG_DATUM(0)));
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s calibration_end=" INT64_FORMAT " calibration_end_local=" INT64_FORMAT
					 " holdout_end=" INT64_FORMAT " holdout_end_local=" INT64_FORMAT " unit=",
					 state->zone_len > 0 ? "v2" : "v1",
					 state->calibration_end, state->calibration_end_local,
					 state->holdout_end, state->holdout_end_local);
	cs_append_float(&buf, state->unit_seconds);
	if (state->zone_len > 0)
		appendStringInfo(&buf, " zone=%.*s", state->zone_len, holdout_zone(state));
	appendStringInfo(&buf, " first_at=" INT64_FORMAT " last_at=" INT64_FORMAT " rows=" INT64_FORMAT " days=",
					 state->first_at, state->last_at, state->rows);
	holdout_append_days(&buf, state, 0);
	appendStringInfoString(&buf, " holdout_days=");
	holdout_append_days(&buf, state, 1);
	PG_RETURN_CSTRING(buf.data);
}

PG_FUNCTION_INFO_V1(rfm_holdout_state_recv);
Datum
rfm_holdout_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			version = pq_getmsgbyte(buf);
	HoldoutState *state;
	int32		used;
	pg_tz	   *tz = NULL;

	if (version != 1 && version != HOLDOUT_WIRE_ZONE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary data for type rfm_holdout_state"),
				 errdetail("Unsupported format version %d.", version)));
	if (version == HOLDOUT_WIRE_ZONE)
	{
		int			zone_len = pq_getmsgbyte(buf);
		char		name[PG_UINT8_MAX + 1];

		pq_copymsgbytes(buf, name, zone_len);
		tz = cs_recorded_zone(name, zone_len);
		if (tz == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary data for type rfm_holdout_state"),
					 errdetail("Unknown time zone \"%.*s\".", zone_len, name)));
	}
	used = pq_getmsgint(buf, 4);
	if (used < 1 || (int64) used * 13 > buf->len - buf->cursor)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary data for type rfm_holdout_state"),
				 errdetail("Row count %d does not match the message length.", used)));
	state = holdout_alloc(NULL, used, NULL, 0);
	state->calibration_end = pq_getmsgint64(buf);
	state->calibration_end_local = pq_getmsgint64(buf);
	state->holdout_end = pq_getmsgint64(buf);
	state->holdout_end_local = pq_getmsgint64(buf);
	state->unit_seconds = pq_getmsgfloat8(buf);
	state->first_at = pq_getmsgint64(buf);
	state->last_at = pq_getmsgint64(buf);
	state->rows = pq_getmsgint64(buf);
	for (int32 i = 0; i < used; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		state->entries[i].reserved = pq_getmsgbyte(buf);
		state->entries[i].day = pq_getmsgint(buf, 4);
		state->entries[i].amount = pq_getmsgfloat8(buf);
		if (!isfinite(state->entries[i].amount))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary data for type rfm_holdout_state"),
					 errdetail("Amounts must be finite.")));
	}
	state->used = used;
	if (!holdout_state_is_consistent(state) || !holdout_state_zone_is_consistent(state, tz))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary data for type rfm_holdout_state"),
				 errdetail("The fields are inconsistent.")));
	state = holdout_with_zone(state, tz);
	state->flags &= ~HOLDOUT_SORTED;
	PG_RETURN_POINTER(holdout_sorted_copy(state));
}

PG_FUNCTION_INFO_V1(rfm_holdout_state_send);
Datum
rfm_holdout_state_send(PG_FUNCTION_ARGS)
{
	HoldoutState *state = holdout_sorted_copy(DatumGetHoldoutState(PG_GETARG_DATUM(0)));
	StringInfoData buf;

	pq_begintypsend(&buf);
	if (state->zone_len > 0)
	{
		pq_sendbyte(&buf, HOLDOUT_WIRE_ZONE);
		pq_sendbyte(&buf, state->zone_len);
		pq_sendbytes(&buf, holdout_zone(state), state->zone_len);
	}
	else
		pq_sendbyte(&buf, 1);
	pq_sendint32(&buf, state->used);
	pq_sendint64(&buf, state->calibration_end);
	pq_sendint64(&buf, state->calibration_end_local);
	pq_sendint64(&buf, state->holdout_end);
	pq_sendint64(&buf, state->holdout_end_local);
	pq_sendfloat8(&buf, state->unit_seconds);
	pq_sendint64(&buf, state->first_at);
	pq_sendint64(&buf, state->last_at);
	pq_sendint64(&buf, state->rows);
	for (int32 i = 0; i < state->used; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		pq_sendbyte(&buf, (uint8) state->entries[i].reserved);
		pq_sendint32(&buf, state->entries[i].day);
		pq_sendfloat8(&buf, state->entries[i].amount);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}
