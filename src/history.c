/*
 * history.c — the histogram-of-histories aggregate state (see history.h).
 */
#include "postgres.h"

#include <math.h>

#include "common/int.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "history.h"
#include "state_limit.h"
#include "text_io.h"
#include "validate.h"

#define HISTORY_INITIAL_CAPACITY 64

/* How many keys a history of this kind has. */
int
history_key_count(HistoryKind kind)
{
	return kind == HISTORY_BGNBD || kind == HISTORY_BGBB ? 3 : 2;
}

/* The SQL state type that holds histories of this kind, for messages. */
static const char *
history_type_name(HistoryKind kind)
{
	switch (kind)
	{
		case HISTORY_BGNBD:
			return "bgnbd_state";
		case HISTORY_GAMMA_GAMMA:
			return "gamma_gamma_state";
		case HISTORY_BGBB:
			return "bgbb_state";
		case HISTORY_SBG:
			return "sbg_state";
		case HISTORY_OUTCOMES:
			return "outcome_state";
	}
	return "history state";
}

/* A whole number of periods in [0, PG_INT32_MAX], or an error naming it. */
static void
history_check_periods(const char *what, double value)
{
	if (!isfinite(value) || value != floor(value) || value < 0 || value > PG_INT32_MAX)
		cs_reject(what, "a non-negative integer", value);
}

/*
 * A discrete-time (BG/BB) history: frequency <= recency <= periods, and a
 * customer with a transaction has recency >= frequency (one per period).
 */
static void
history_validate_bgbb(double *key)
{
	char		fbuf[DOUBLE_SHORTEST_DECIMAL_LEN],
				rbuf[DOUBLE_SHORTEST_DECIMAL_LEN],
				pbuf[DOUBLE_SHORTEST_DECIMAL_LEN];

	history_check_periods("recency", key[1]);
	history_check_periods("periods", key[2]);
	/* the likelihood has a term per period after the last transaction */
	if (key[2] > HISTORY_BGBB_MAX_PERIODS)
		cs_reject("periods", "at most " CppAsString2(HISTORY_BGBB_MAX_PERIODS) " for a BG/BB history",
				  key[2]);
	if (key[1] > key[2])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("periods must not be less than recency, got recency %s and periods %s",
						cs_format_double(key[1], rbuf), cs_format_double(key[2], pbuf)),
				 errdetail("recency is the period of the last transaction, periods the number of periods observed.")));
	if (key[0] > 0 && key[1] < key[0])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("recency must be at least frequency, got frequency %s and recency %s",
						cs_format_double(key[0], fbuf), cs_format_double(key[1], rbuf)),
				 errdetail("A customer transacts at most once per period, so the last transaction is in period frequency or later.")));
	/* recency carries no information without a transaction */
	if (key[0] == 0)
		key[1] = 0.0;
	key[1] += 0.0;				/* turn -0 into +0 */
	key[2] += 0.0;
}

/* A contractual (sBG) history: a churned customer was observed at least one period. */
static void
history_validate_sbg(double *key)
{
	if (key[1] != 0.0 && key[1] != 1.0)
		cs_reject("churned", "0 or 1", key[1]);
	if (key[1] == 1.0 && key[0] < 1)
		cs_reject("periods_observed", "at least 1 for a customer who churned", key[0]);
	key[0] += 0.0;
	key[1] += 0.0;
	key[2] = 0.0;
}

/*
 * Check one history and bring it to canonical form (so equal histories
 * compare equal).  Shared by the transition functions and the input
 * functions, so what a state may hold is decided in one place.
 */
void
history_validate_key(HistoryKind kind, double *key)
{
	double		frequency = key[0];

	if (kind == HISTORY_SBG)
	{
		history_check_periods("periods_observed", key[0]);
		history_validate_sbg(key);
		return;
	}
	if (kind == HISTORY_OUTCOMES)
	{
		cs_check_finite("score", key[0]);
		cs_check_non_negative("realized value", key[1]);
		key[0] += 0.0;			/* turn -0 into +0 */
		key[1] += 0.0;
		key[2] = 0.0;
		return;
	}

	if (!isfinite(frequency) || frequency != floor(frequency) || frequency < 0 ||
		frequency > PG_INT32_MAX)
		cs_reject("frequency", "a non-negative integer", frequency);

	if (kind == HISTORY_BGBB)
		history_validate_bgbb(key);
	else if (kind == HISTORY_BGNBD)
	{
		cs_check_history((int64) frequency, key[1], key[2]);
		/* recency carries no information without a repeat purchase */
		if (frequency == 0)
			key[1] = 0.0;
		key[1] += 0.0;			/* turn -0 into +0 */
		key[2] += 0.0;
	}
	else
	{
		char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];

		if (frequency < 1)
			cs_reject("frequency", "at least 1 for a Gamma-Gamma history", frequency);
		if (!isfinite(key[1]) || key[1] <= 0.0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("monetary must be a finite positive number for a customer with repeat purchases, got %s",
							cs_format_double(key[1], buf)),
					 errhint("The Gamma-Gamma model describes positive spend; leave out customers whose repeat purchases sum to zero or less.")));
		key[2] = 0.0;
	}
}

/* a + b, or an error: counts come from user-supplied states and must not wrap around */
static int64
history_add_counts(int64 a, int64 b)
{
	int64		sum;

	if (pg_add_s64_overflow(a, b, &sum))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("customer count is out of range"),
				 errdetail("The counts of a state add up to more than " INT64_FORMAT ".", PG_INT64_MAX)));
	return sum;
}

static int
history_point_cmp(const void *a, const void *b)
{
	const HistoryPoint *pa = a;
	const HistoryPoint *pb = b;

	for (int i = 0; i < HISTORY_MAX_KEYS; i++)
	{
		if (pa->key[i] < pb->key[i])
			return -1;
		if (pa->key[i] > pb->key[i])
			return 1;
	}
	return 0;
}

/*
 * history_sort(points, n): the points in key order, by PostgreSQL's sort template with the
 * comparison inlined (a million points sort in a fraction of qsort's time through a function
 * pointer); the template checks for interrupts as it partitions.
 */
#define ST_SORT history_sort
#define ST_ELEMENT_TYPE HistoryPoint
#define ST_COMPARE(a, b) history_point_cmp((a), (b))
#define ST_CHECK_FOR_INTERRUPTS
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * Merge runs of equal keys in points[0..n), which are sorted; returns how many points remain.
 */
static int32
history_merge_equal(HistoryPoint *points, int32 n)
{
	int32		out = 0;

	for (int32 i = 1; i < n; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (history_point_cmp(&points[out], &points[i]) == 0)
			points[out].count = history_add_counts(points[out].count, points[i].count);
		else if (++out != i)
			points[out] = points[i];
	}
	return n > 0 ? out + 1 : 0;
}

/*
 * Merge n sorted points with no equal keys (other, outside the state) into a compacted state
 * that has room for both, from the back and in place: out only ever passes positions whose
 * points have been read.  Equal keys add their counts; the gap they leave is closed at the end.
 */
static void
history_merge_sorted(HistoryState *state, const HistoryPoint *other, int32 n)
{
	int32		end = state->used + n;
	int32		i = state->used - 1,
				j = n - 1,
				out = end;

	while (j >= 0)
	{
		int			cmp = i >= 0 ? history_point_cmp(&state->points[i], &other[j]) : -1;

		if ((out & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (cmp > 0)
			state->points[--out] = state->points[i--];
		else if (cmp < 0)
			state->points[--out] = other[j--];
		else
		{
			HistoryPoint merged = other[j--];

			merged.count = history_add_counts(merged.count, state->points[i--].count);
			state->points[--out] = merged;
		}
	}
	/* what is left of the state's points is in place; close the gap the merged keys left */
	if (out > i + 1)
		memmove(&state->points[i + 1], &state->points[out], sizeof(HistoryPoint) * (end - out));
	state->used = i + 1 + (end - out);
}

/*
 * The number of strictly increasing runs in points[0..n), counting no further than limit + 1: a
 * compacted state is one run, and combine leaves one run per compacted state it appended.
 */
static int32
history_count_runs(const HistoryPoint *points, int32 n, int32 limit)
{
	int32		runs = n > 0 ? 1 : 0;

	for (int32 i = 1; i < n && runs <= limit; i++)
		if (history_point_cmp(&points[i - 1], &points[i]) >= 0)
			runs++;
	return runs;
}

/*
 * Merge the strictly increasing runs a[0..na) and b[0..nb) into out, adding the counts of equal
 * keys; returns how many points it wrote (a strictly increasing run).
 */
static int32
history_merge_two(const HistoryPoint *a, int32 na, const HistoryPoint *b, int32 nb,
				  HistoryPoint *out)
{
	int32		i = 0,
				j = 0,
				n = 0;

	while (i < na && j < nb)
	{
		int			cmp = history_point_cmp(&a[i], &b[j]);

		if ((n & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (cmp < 0)
			out[n++] = a[i++];
		else if (cmp > 0)
			out[n++] = b[j++];
		else
		{
			out[n] = a[i++];
			out[n].count = history_add_counts(out[n].count, b[j++].count);
			n++;
		}
	}
	memcpy(&out[n], &a[i], sizeof(HistoryPoint) * (na - i));
	n += na - i;
	memcpy(&out[n], &b[j], sizeof(HistoryPoint) * (nb - j));
	return n + (nb - j);
}

/*
 * Sort and merge points[0..n) made of runs strictly increasing runs (runs >= 2) by merging
 * neighbouring runs pairwise until one is left: log2(runs) passes, each one copy of the
 * points into a scratch buffer.  Returns how many points remain.  This is how the shards'
 * states that Citus (or parallel workers) hand to combine are merged: all at once, not each
 * into the growing whole.
 */
static int32
history_merge_runs(HistoryPoint *points, int32 n, int32 runs)
{
	int32	   *start = palloc(sizeof(int32) * (runs + 1));
	HistoryPoint *scratch = palloc(sizeof(HistoryPoint) * n);
	HistoryPoint *from = points,
			   *to = scratch;
	int32		r = 0;

	for (int32 i = 0; i < n; i++)
		if (i == 0 || history_point_cmp(&points[i - 1], &points[i]) >= 0)
			start[r++] = i;
	Assert(r == runs);
	start[runs] = n;
	while (runs > 1)
	{
		int32		merged = 0,
					written = 0;

		/* run r and r + 1 become run r / 2; start[] is rewritten behind the reads */
		for (r = 0; r < runs; r += 2)
		{
			int32		a = start[r];
			int32		b = start[r + 1];
			int32		end = r + 1 < runs ? start[r + 2] : b;

			start[merged++] = written;
			written += history_merge_two(&from[a], b - a, &from[b], end - b, &to[written]);
		}
		start[merged] = written;
		runs = merged;
		n = written;
		from = to;
		to = (to == scratch) ? points : scratch;
	}
	if (from != points)
		memcpy(points, from, sizeof(HistoryPoint) * n);
	pfree(scratch);
	pfree(start);
	return n;
}

/*
 * Sort the points and merge equal keys, in place.  A state that combine appended compacted
 * states to is a few sorted runs, merged pairwise (history_merge_runs).  Otherwise the
 * transition function appended to a compacted prefix, so only the points after the longest
 * strictly increasing prefix are sorted; that tail is then merged with the prefix from the
 * back (the tail waits in a temporary copy, so no point is overwritten before it is read).
 * With every history distinct, each doubling of the state then sorts the new half once
 * instead of everything.
 */
static void
history_compact(HistoryState *state)
{
	int32		prefix = 1,
				runs,
				tail_n;
	HistoryPoint *tail;

	if (state->flags & HISTORY_COMPACT)
		return;
	while (prefix < state->used &&
		   history_point_cmp(&state->points[prefix - 1], &state->points[prefix]) < 0)
		prefix++;
	if (prefix >= state->used)
	{
		state->flags |= HISTORY_COMPACT;
		return;
	}
	runs = history_count_runs(state->points, state->used, Max(2, state->used / 16));
	if (runs <= Max(2, state->used / 16))
	{
		state->used = history_merge_runs(state->points, state->used, runs);
		state->flags |= HISTORY_COMPACT;
		return;
	}
	history_sort(&state->points[prefix], state->used - prefix);
	tail_n = history_merge_equal(&state->points[prefix], state->used - prefix);
	tail = palloc(sizeof(HistoryPoint) * tail_n);
	memcpy(tail, &state->points[prefix], sizeof(HistoryPoint) * tail_n);
	state->used = prefix;
	history_merge_sorted(state, tail, tail_n);
	pfree(tail);
	state->flags |= HISTORY_COMPACT;
}

/*
 * A new empty state with room for capacity points, of which points[filled..capacity) are
 * zeroed: a caller that copies filled points in at once need not have them zeroed first (a
 * million points are 32 MB).
 */
static HistoryState *
history_alloc_filled(HistoryKind kind, int32 capacity, int32 filled)
{
	HistoryState *state;

	if (capacity > HISTORY_MAX_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct customer histories for one fit"),
				 errdetail("The limit is %d distinct histories.", HISTORY_MAX_POINTS),
				 errhint("Round recency and t to whole days or fit per segment.")));
	cs_check_state_limit(HISTORY_HEADER_SIZE, sizeof(HistoryPoint), capacity,
						 history_type_name(kind), "distinct histories");
	Assert(filled >= 0 && filled <= capacity);
	state = palloc(HISTORY_HEADER_SIZE + (Size) capacity * sizeof(HistoryPoint));
	memset(state, 0, HISTORY_HEADER_SIZE);
	memset(&state->points[filled], 0, (Size) (capacity - filled) * sizeof(HistoryPoint));
	SET_VARSIZE(state, HISTORY_HEADER_SIZE + (Size) capacity * sizeof(HistoryPoint));
	state->version = HISTORY_VERSION;
	state->kind = kind;
	state->flags = HISTORY_COMPACT;
	state->used = 0;
	return state;
}

/* A new empty state with room for capacity points, all zeroed. */
static HistoryState *
history_alloc(HistoryKind kind, int32 capacity)
{
	return history_alloc_filled(kind, capacity, 0);
}

/*
 * A copy with room for at least min_capacity points.  It is allocated in the
 * current (per-call) memory context: the executor copies a returned state
 * whose pointer changed into the aggregate context and frees the old one.
 */
static HistoryState *
history_grow(const HistoryState *state, int32 min_capacity)
{
	int64		capacity = Max((int64) history_capacity(state), HISTORY_INITIAL_CAPACITY);
	HistoryState *grown;

	while (capacity < min_capacity)
		capacity *= 2;
	/* doubling past a limit stops at it, so every history up to the limit fits */
	if (min_capacity <= HISTORY_MAX_POINTS)
		capacity = Min(capacity, (int64) HISTORY_MAX_POINTS);
	if (min_capacity <= cs_state_capacity_limit(HISTORY_HEADER_SIZE, sizeof(HistoryPoint)))
		capacity = Min(capacity, cs_state_capacity_limit(HISTORY_HEADER_SIZE, sizeof(HistoryPoint)));
	grown = history_alloc_filled(state->kind, (int32) Min(capacity, (int64) HISTORY_MAX_POINTS + 1),
								 state->used);
	grown->flags = state->flags;
	grown->used = state->used;
	memcpy(grown->points, state->points, sizeof(HistoryPoint) * state->used);
	return grown;
}

static void
history_check_kind(const HistoryState *state, HistoryKind kind)
{
	if (state->version != HISTORY_VERSION || state->kind != kind)
		elog(ERROR, "%s has version %d and kind %d, expected version %d and kind %d",
			 history_type_name(kind), state->version, state->kind, HISTORY_VERSION, kind);
}

HistoryState *
history_add(FunctionCallInfo fcinfo, HistoryKind kind, const double *key, int64 count)
{
	HistoryState *state;
	HistoryPoint *point;

	if (PG_ARGISNULL(0))
		state = history_alloc(kind, HISTORY_INITIAL_CAPACITY);
	else
	{
		/* our own state, in the aggregate context: update it in place */
		state = (HistoryState *) PG_GETARG_POINTER(0);
		history_check_kind(state, kind);
	}

	if (state->used == history_capacity(state))
	{
		history_compact(state);
		if (state->used > history_capacity(state) / 2)
			state = history_grow(state, history_capacity(state) + 1);
	}

	point = &state->points[state->used++];
	memcpy(point->key, key, sizeof(point->key));
	point->count = count;
	if (state->used > 1)
		state->flags &= ~HISTORY_COMPACT;
	return state;
}

/*
 * The transition function of a fit over compressed discrete data: the keys
 * are integer arguments 1..nkeys (an sBG's second one boolean) and the last
 * argument, when given, counts the customers who share them.  A row with a NULL, or of no
 * customers, leaves the state as it was.
 */
Datum
history_weighted_transfn(FunctionCallInfo fcinfo, HistoryKind kind, const char *fname)
{
	int			nkeys = history_key_count(kind);
	double		key[HISTORY_MAX_KEYS] = {0};
	int64		customers = 1;

	CS_REQUIRE_AGG_CONTEXT(fcinfo, fname);
	for (int i = 1; i < PG_NARGS(); i++)
		if (PG_ARGISNULL(i))
		{
			if (PG_ARGISNULL(0))
				PG_RETURN_NULL();
			PG_RETURN_DATUM(PG_GETARG_DATUM(0));
		}
	for (int i = 0; i < nkeys; i++)
		key[i] = (kind == HISTORY_SBG && i == 1) ? (double) PG_GETARG_BOOL(i + 1)
			: (double) PG_GETARG_INT32(i + 1);
	if (PG_NARGS() > nkeys + 1)
		customers = PG_GETARG_INT64(nkeys + 1);
	if (customers < 0)
		cs_reject("customers", "a non-negative count", (double) customers);
	history_validate_key(kind, key);
	if (customers == 0)
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	PG_RETURN_POINTER(history_add(fcinfo, kind, key, customers));
}

HistoryState *
history_combine(FunctionCallInfo fcinfo, HistoryKind kind)
{
	HistoryState *state;
	HistoryState *other;

	if (PG_ARGISNULL(1))
		return PG_ARGISNULL(0) ? NULL : (HistoryState *) PG_GETARG_POINTER(0);
	other = DatumGetHistoryState(PG_GETARG_DATUM(1));
	history_check_kind(other, kind);
	if (PG_ARGISNULL(0))
		return history_compacted_copy(other);

	state = (HistoryState *) PG_GETARG_POINTER(0);
	history_check_kind(state, kind);
	/*
	 * other's points are appended as they are (a compacted state is one sorted run) and merged
	 * with the others' when the buffer fills or the final function compacts: merging the 32
	 * shards' states of a Citus fit then costs log2(32) passes over the points, not 32.
	 */
	if (state->used + other->used > history_capacity(state))
	{
		history_compact(state);
		if ((int64) state->used + other->used > HISTORY_MAX_POINTS)
			(void) history_alloc(kind, HISTORY_MAX_POINTS + 1);	/* reports the limit */
		if (state->used + other->used > history_capacity(state) / 2)
			state = history_grow(state, Max(state->used + other->used,
											history_capacity(state) + 1));
	}
	memcpy(&state->points[state->used], other->points, sizeof(HistoryPoint) * other->used);
	if (!(other->flags & HISTORY_COMPACT) || (state->used > 0 && other->used > 0))
		state->flags &= ~HISTORY_COMPACT;
	state->used += other->used;
	return state;
}

/* A sorted, merged copy sized to fit: what final and output functions read. */
HistoryState *
history_compacted_copy(const HistoryState *state)
{
	HistoryState *copy = history_alloc_filled(state->kind, Max(state->used, 1), state->used);

	copy->flags = state->flags;
	copy->used = state->used;
	memcpy(copy->points, state->points, sizeof(HistoryPoint) * state->used);
	history_compact(copy);
	return copy;
}

/*
 * A compacted copy with the times (recency and t of a BG/NBD-kind history) rounded to a grid of
 * `levels` steps of the largest t: a few thousand points that stand in for millions of distinct
 * histories where an approximate fit is enough (a fit's starting point).  Rounding both times
 * with one grid keeps recency <= t.  Rounding is monotone, so the points stay in order of
 * (frequency, recency); only each run of one frequency and rounded recency needs sorting by t
 * before equal keys merge.
 */
HistoryState *
history_coarse_copy(const HistoryState *state, int levels)
{
	HistoryState *copy = history_compacted_copy(state);
	double		largest = 0,
				step;
	int32		run = 0;

	Assert(state->kind == HISTORY_BGNBD);
	for (int32 i = 0; i < copy->used; i++)
		largest = fmax(largest, copy->points[i].key[2]);
	step = largest > 0 ? largest / levels : 1;
	for (int32 i = 0; i < copy->used; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		copy->points[i].key[1] = rint(copy->points[i].key[1] / step) * step;
		copy->points[i].key[2] = rint(copy->points[i].key[2] / step) * step;
	}
	for (int32 i = 1; i <= copy->used; i++)
	{
		if (i < copy->used && copy->points[i].key[0] == copy->points[run].key[0] &&
			copy->points[i].key[1] == copy->points[run].key[1])
			continue;
		if (i - run > 1)
			history_sort(&copy->points[run], i - run);
		run = i;
	}
	copy->used = history_merge_equal(copy->points, copy->used);
	copy->flags |= HISTORY_COMPACT;
	return copy;
}

int64
history_total_count(const HistoryState *state)
{
	int64		total = 0;

	for (int32 i = 0; i < state->used; i++)
		total = history_add_counts(total, state->points[i].count);
	return total;
}

/*
 * The grids a key is tried on in the v2 text: whole numbers, halves and quarters, days as weeks
 * (rfm's recency and t in '7 days' units are exactly days / 7), months, hours, cents and mills,
 * minutes and seconds of a day or a week.
 */
static const int64 history_grids[] = {
	1, 2, 4, 7, 10, 12, 24, 100, 168, 1000, 1440, 10000, 10080, 86400, 604800
};

#define HISTORY_GRID_SAMPLE 64
/* grid numerators stay below 2^53, where every integer is an exact double */
#define HISTORY_GRID_MAX_NUMERATOR ((double) (INT64CONST(1) << 53))

/* value as numerator / grid exactly (bit for bit, so -0 is not on a grid), or false. */
static inline bool
history_on_grid(double value, double grid, int64 *numerator)
{
	double		n = rint(value * grid);
	double		back;

	if (!(fabs(n) < HISTORY_GRID_MAX_NUMERATOR))
		return false;
	/* what the input computes from the integer: -0 comes back as +0, so it is off the grid */
	back = (double) (int64) n / grid;
	if (memcmp(&back, &value, sizeof(double)) != 0)
		return false;
	*numerator = (int64) n;
	return true;
}

/*
 * The grid that writes most values of key k as whole numerators (the first such in
 * history_grids when several tie): candidates are tried on a sample first, and only those
 * that hold half the sample are counted over every point.
 */
static int64
history_choose_grid(const HistoryState *state, int k)
{
	int64		best = 1;
	int32		best_misses = PG_INT32_MAX;
	int32		sample = Min(state->used, HISTORY_GRID_SAMPLE);

	for (int g = 0; g < lengthof(history_grids); g++)
	{
		double		grid = (double) history_grids[g];
		int32		misses = 0;
		int64		n;

		for (int32 i = 0; i < sample; i++)
			if (!history_on_grid(state->points[i].key[k], grid, &n))
				misses++;
		if (misses * 2 > sample)
			continue;
		for (int32 i = sample; i < state->used && misses < best_misses; i++)
			if (!history_on_grid(state->points[i].key[k], grid, &n))
				misses++;
		if (misses < best_misses)
		{
			best = history_grids[g];
			best_misses = misses;
			if (misses == 0)
				break;
		}
	}
	return best;
}

/* Append the decimal digits of value (an int64) to buf, without a printf format. */
static inline void
history_append_int(StringInfo buf, int64 value)
{
	char		digits[24];
	char	   *end = digits + sizeof(digits);
	char	   *c = end;
	uint64		magnitude = value < 0 ? -(uint64) value : (uint64) value;

	do
	{
		*--c = '0' + magnitude % 10;
		magnitude /= 10;
	} while (magnitude > 0);
	if (value < 0)
		*--c = '-';
	appendBinaryStringInfo(buf, c, end - c);
}

/* Report a malformed state text with detail. */
static void
history_malformed(const char *type_name, const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s: \"%s\"", type_name, input),
			 errdetail("%s", detail)));
}

/*
 * An optionally signed decimal int64 at *cursor, without strtoll: the
 * grid numerators and counts of the v2 text.  Returns false (cursor unmoved) when there are no
 * digits.
 */
static inline bool
history_parse_int(const char **cursor, int64 *value, const char *type_name, const char *input)
{
	const char *c = *cursor;
	bool		negative = false;
	int64		n = 0;
	int			digits = 0;

	if (*c == '-')
	{
		negative = true;
		c++;
	}
	while (*c >= '0' && *c <= '9')
	{
		digits++;
		if (pg_mul_s64_overflow(n, 10, &n) || pg_add_s64_overflow(n, *c++ - '0', &n))
			history_malformed(type_name, input, "Integer out of range.");
	}
	if (digits == 0)
		return false;
	*value = negative ? -n : n;
	*cursor = c;
	return true;
}

/* Validate a parsed point and append it to *state, growing it when full. */
static HistoryState *
history_append_point(HistoryState *state, double *key, int64 count,
					 const char *type_name, const char *input)
{
	if (count < 1)
		history_malformed(type_name, input, "Each history needs a positive count.");
	history_validate_key(state->kind, key);
	if (state->used == history_capacity(state))
		state = history_grow(state, state->used + 1);
	memcpy(state->points[state->used].key, key, sizeof(double) * HISTORY_MAX_KEYS);
	state->points[state->used].count = count;
	state->used++;
	state->flags &= ~HISTORY_COMPACT;
	return state;
}

/* The points of a v1 text after its tag: " (key,...):count" each. */
static HistoryState *
history_in_v1(const char *cursor, HistoryState *state, const char *type_name, const char *input)
{
	int			nkeys = history_key_count(state->kind);

	for (;;)
	{
		double		key[HISTORY_MAX_KEYS] = {0};
		int64		count;

		if ((state->used & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		cs_skip_space(&cursor);
		if (*cursor == '\0')
			break;
		cs_expect_char(&cursor, '(', type_name, input);
		for (int i = 0; i < nkeys; i++)
		{
			if (i > 0)
				cs_expect_char(&cursor, ',', type_name, input);
			key[i] = cs_parse_float(&cursor, type_name, input);
		}
		cs_expect_char(&cursor, ')', type_name, input);
		cs_expect_char(&cursor, ':', type_name, input);
		count = cs_parse_int64(&cursor, type_name, input);
		state = history_append_point(state, key, count, type_name, input);
	}
	return state;
}

/*
 * The points of a v2 text after its tag: " grid=G,G,G" (one grid per key), then one
 * "key,key,key[*count]" per point, separated by spaces.  A key is a whole numerator n (the
 * value n / G of its key's grid), "=" and a decimal for a value off the grid, or nothing for
 * the previous point's value; the count is 1 when "*count" is left out.
 */
static HistoryState *
history_in_v2(const char *cursor, HistoryState *state, const char *type_name, const char *input)
{
	int			nkeys = history_key_count(state->kind);
	double		grid[HISTORY_MAX_KEYS] = {1, 1, 1};
	double		key[HISTORY_MAX_KEYS] = {0};

	cs_expect_key(&cursor, "grid=", type_name, input);
	for (int k = 0; k < nkeys; k++)
	{
		int64		g;

		if (k > 0)
			cs_expect_char(&cursor, ',', type_name, input);
		if (!history_parse_int(&cursor, &g, type_name, input) || g < 1)
			history_malformed(type_name, input, "Each grid must be a positive integer.");
		grid[k] = (double) g;
	}
	for (;;)
	{
		int64		count = 1;

		if ((state->used & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		cs_skip_space(&cursor);
		if (*cursor == '\0')
			break;
		for (int k = 0; k < nkeys; k++)
		{
			int64		n;

			if (k > 0)
			{
				if (*cursor != ',')
					history_malformed(type_name, input, "Expected \",\".");
				cursor++;
			}
			if (*cursor == '=')
			{
				cursor++;
				key[k] = cs_parse_float(&cursor, type_name, input);
			}
			else if (history_parse_int(&cursor, &n, type_name, input))
			{
				if (!(fabs((double) n) < HISTORY_GRID_MAX_NUMERATOR))
					history_malformed(type_name, input, "Integer out of range.");
				key[k] = (double) n / grid[k];
			}
			else if (state->used == 0)
				history_malformed(type_name, input, "The first history must give every key.");
		}
		if (*cursor == '*')
		{
			cursor++;
			if (!history_parse_int(&cursor, &count, type_name, input))
				history_malformed(type_name, input, "Expected an integer.");
		}
		if (*cursor != '\0' && *cursor != ' ')
			history_malformed(type_name, input, "Expected \" \" between histories.");
		state = history_append_point(state, key, count, type_name, input);
	}
	return state;
}

/*
 * Room for the points of a state's text: every point follows a space, so their count is at
 * most the text's words after the first (runs of spaces count once; within the limits, and a
 * longer text grows the state as it is read).  Sized once, the state is not copied at each
 * doubling while a shipped state is read.
 */
static int32
history_text_capacity(const char *input)
{
	int64		spaces = 0;
	int64		limit = Min((int64) HISTORY_MAX_POINTS,
							cs_state_capacity_limit(HISTORY_HEADER_SIZE, sizeof(HistoryPoint)));

	for (const char *c = input; *c; c++)
		spaces += (c[0] == ' ' && c[1] != ' ' && c[1] != '\0');
	return (int32) Max(Min(spaces, limit), HISTORY_INITIAL_CAPACITY);
}

/*
 * The state from its text: the v2 form history_out writes, or the v1 form of 0.1.0
 * ("v1 (key,...):count ...").
 */
Datum
history_in(const char *input, HistoryKind kind, const char *type_name)
{
	const char *cursor = input;
	HistoryState *state = history_alloc(kind, history_text_capacity(input));

	cs_skip_space(&cursor);
	if (strncmp(cursor, "v1", 2) == 0)
		state = history_in_v1(cursor + 2, state, type_name, input);
	else if (strncmp(cursor, "v2", 2) == 0)
		state = history_in_v2(cursor + 2, state, type_name, input);
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"", type_name, input),
				 errdetail("The text must start with the format version \"v1\" or \"v2\".")));
	history_compact(state);
	PG_RETURN_POINTER(state);
}

/*
 * The v2 text (see history_in_v2): each key on the grid that holds most of its values, so
 * rfm's times in weeks, whole counts and prices in cents print as short integers and parse
 * without strtod; a key equal to the previous point's is left empty, and a count of 1 is left out.
 */
char *
history_out(const HistoryState *state)
{
	HistoryState *compact = history_compacted_copy(state);
	int			nkeys = history_key_count(state->kind);
	int64		grid[HISTORY_MAX_KEYS] = {1, 1, 1};
	StringInfoData buf;

	for (int k = 0; k < nkeys; k++)
		grid[k] = history_choose_grid(compact, k);
	initStringInfo(&buf);
	appendStringInfoString(&buf, "v2 grid=");
	for (int k = 0; k < nkeys; k++)
	{
		if (k > 0)
			appendStringInfoChar(&buf, ',');
		history_append_int(&buf, grid[k]);
	}
	for (int32 i = 0; i < compact->used; i++)
	{
		const HistoryPoint *point = &compact->points[i];

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		appendStringInfoChar(&buf, ' ');
		for (int k = 0; k < nkeys; k++)
		{
			int64		n;

			if (k > 0)
				appendStringInfoChar(&buf, ',');
			if (i > 0 && memcmp(&point->key[k], &compact->points[i - 1].key[k], sizeof(double)) == 0)
				continue;
			if (history_on_grid(point->key[k], (double) grid[k], &n))
				history_append_int(&buf, n);
			else
			{
				appendStringInfoChar(&buf, '=');
				cs_append_float(&buf, point->key[k]);
			}
		}
		if (point->count != 1)
		{
			appendStringInfoChar(&buf, '*');
			history_append_int(&buf, point->count);
		}
	}
	pfree(compact);
	return buf.data;
}

Datum
history_recv(StringInfo buf, HistoryKind kind, const char *type_name)
{
	int			version = pq_getmsgbyte(buf);
	int			got_kind = pq_getmsgbyte(buf);
	int32		used = pq_getmsgint(buf, 4);
	int			nkeys = history_key_count(kind);
	HistoryState *state;

	if (version != HISTORY_VERSION || got_kind != kind)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary data for type %s", type_name),
				 errdetail("Unsupported format version %d or kind %d.", version, got_kind)));
	/* each point takes at least nkeys * 8 + 8 bytes: reject lengths the message cannot hold */
	if (used < 0 || (int64) used * (nkeys + 1) * 8 > buf->len - buf->cursor)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary data for type %s", type_name),
				 errdetail("Point count %d does not match the message length.", used)));
	state = history_alloc(kind, Max(used, 1));
	for (int32 i = 0; i < used; i++)
	{
		double		key[HISTORY_MAX_KEYS] = {0};
		int64		count;

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int k = 0; k < nkeys; k++)
			key[k] = pq_getmsgfloat8(buf);
		count = pq_getmsgint64(buf);
		if (count < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary data for type %s", type_name),
					 errdetail("Each history needs a positive count.")));
		history_validate_key(kind, key);
		memcpy(state->points[i].key, key, sizeof(key));
		state->points[i].count = count;
	}
	state->used = used;
	state->flags &= ~HISTORY_COMPACT;
	history_compact(state);
	PG_RETURN_POINTER(state);
}

bytea *
history_send(const HistoryState *state)
{
	HistoryState *compact = history_compacted_copy(state);
	int			nkeys = history_key_count(state->kind);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, HISTORY_VERSION);
	pq_sendbyte(&buf, state->kind);
	pq_sendint32(&buf, compact->used);
	for (int32 i = 0; i < compact->used; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int k = 0; k < nkeys; k++)
			pq_sendfloat8(&buf, compact->points[i].key[k]);
		pq_sendint64(&buf, compact->points[i].count);
	}
	pfree(compact);
	return pq_endtypsend(&buf);
}
