/*
 * attribution.c — multi-touch attribution: how one conversion's credit is
 * split among the actions that led to it.
 *
 * The touches of a conversion A are the rows of the touches query with
 * action_id = A.id, plus A's own sparked_by.  A touch counts when it names an
 * existing action, happened no later than A and within max_gap before it,
 * and is not by A's own author (nobody is credited for their own actions).
 * The counting touches are ordered by time (ties by id), duplicates merged,
 * and A's value is split among them:
 *
 *   first       all to the first touch
 *   last        all to the last touch
 *   linear      equally
 *   time_decay  in proportion to 0.5^(age / 7 days), age = A.at - touch.at
 *   position    40% first, 40% last, 20% shared by the ones between;
 *               one touch takes all, two take half each
 *   weighted    in proportion to each touch's action weight (action_weights,
 *               for instance rows accepted from propose_action_weights);
 *               equally when they are all 0
 *
 * so the depth-1 credit of a conversion with at least one counting touch sums
 * to its value (up to rounding).  Each touch's own sparked_by chain then
 * continues at depth 2 and beyond, scaled by the touch's share (influence.c).
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/builtins.h"

#include "influence.h"

static const char *const attribution_names[] = {
	[ATTRIBUTION_FIRST] = "first",
	[ATTRIBUTION_LAST] = "last",
	[ATTRIBUTION_LINEAR] = "linear",
	[ATTRIBUTION_TIME_DECAY] = "time_decay",
	[ATTRIBUTION_POSITION] = "position",
	[ATTRIBUTION_WEIGHTED] = "weighted",
};

AttributionModel
attribution_parse(const char *name)
{
	for (int i = 0; i < lengthof(attribution_names); i++)
		if (strcmp(name, attribution_names[i]) == 0)
			return (AttributionModel) i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("attribution must be one of first, last, linear, time_decay, position, weighted, got \"%s\"",
					name)));
	return ATTRIBUTION_LAST;	/* keep the compiler quiet */
}

/*
 * Read the touches query into CSR arrays on g.  Rows whose action_id or
 * touched_by names no action are dropped (like orphan sparks).
 */
void
attribution_read_touches(ActionGraph *g, const char *sql, const IdIndex *ids, MemoryContext cxt)
{
	CsColumn	columns[] = {
		{"action_id", CS_COL_INT8, CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{"touched_by", CS_COL_INT8, CS_COL_REQUIRED | CS_COL_NOT_NULL},
	};
	CsQuery		query = {
		.what = "touches",
		.sql = sql,
		.columns = columns,
		.ncolumns = lengthof(columns),
		.key_column = 0,
		.cxt = cxt,
		.strings = g->strings,
	};
	int64	   *action_id;
	int64	   *touched_by;
	int32	   *conv;
	int32	   *next;

	cs_read_query(&query);
	action_id = CS_COL_INT8S(&columns[0]);
	touched_by = CS_COL_INT8S(&columns[1]);

	/* resolve ids to indexes in place: conv[i], next[i] (-1 = dropped) */
	conv = MemoryContextAllocHuge(cxt, sizeof(int32) * Max(query.nrows, 1));
	next = MemoryContextAllocHuge(cxt, sizeof(int32) * Max(query.nrows, 1));
	g->touch_start = MemoryContextAllocHuge(cxt, sizeof(int32) * ((Size) g->n + 1));
	memset(g->touch_start, 0, sizeof(int32) * ((Size) g->n + 1));
	for (int64 i = 0; i < query.nrows; i++)
	{
		int32		a = idindex_get(ids, action_id[i]);
		int32		t = idindex_get(ids, touched_by[i]);

		if ((i & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		conv[i] = (a >= 0 && t >= 0) ? a : -1;
		next[i] = (a >= 0 && t >= 0) ? t : -1;
		if (conv[i] >= 0)
			g->touch_start[conv[i] + 1]++;
	}
	g->max_touches = 0;
	for (int32 a = 0; a < g->n; a++)
	{
		g->max_touches = Max(g->max_touches, g->touch_start[a + 1]);
		g->touch_start[a + 1] += g->touch_start[a];
	}
	g->touch = MemoryContextAllocHuge(cxt, sizeof(int32) * Max((Size) g->touch_start[g->n], 1));
	{
		int32	   *fill = MemoryContextAllocHuge(cxt, sizeof(int32) * ((Size) g->n + 1));

		memcpy(fill, g->touch_start, sizeof(int32) * ((Size) g->n + 1));
		for (int64 i = 0; i < query.nrows; i++)
			if (conv[i] >= 0)
				g->touch[fill[conv[i]]++] = next[i];
		pfree(fill);
	}
	pfree(conv);
	pfree(next);
	pfree(action_id);
	pfree(touched_by);
}

/* earlier first; the same instant by id */
static int
cmp_touch(const void *a, const void *b, void *arg)
{
	const ActionGraph *g = arg;
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	if (g->at[x] != g->at[y])
		return g->at[x] < g->at[y] ? -1 : 1;
	return (g->id[x] > g->id[y]) - (g->id[x] < g->id[y]);
}

/*
 * The counting touches of `conversion` in order, with their shares.  Returns
 * their number (0 when none counts).  touches and shares need room for
 * g->max_touches + 1 entries.
 */
int
attribution_split(const ActionGraph *g, const InfluenceOptions *o, int32 conversion,
				  int32 *touches, double *shares)
{
	int			k = 0;
	int			m;
	int32		author = g->author[conversion];
	int32		first = g->touch_start ? g->touch_start[conversion] : 0;
	int32		last = g->touch_start ? g->touch_start[conversion + 1] : 0;

	for (int32 j = first; j <= last; j++)
	{
		/* the touches rows, then sparked_by */
		int32		t = (j < last) ? g->touch[j] : g->spark[conversion];

		if (t < 0 || t == conversion || g->author[t] == author ||
			!influence_step_ok(g, o, conversion, t))
			continue;
		touches[k++] = t;
	}
	/* order by (at, id) and merge a touch listed twice (or listed and also the sparked_by) */
	if (k > 1)
	{
		qsort_arg(touches, k, sizeof(int32), cmp_touch, (void *) g);
		m = 1;
		for (int i = 1; i < k; i++)
			if (touches[i] != touches[m - 1])
				touches[m++] = touches[i];
		k = m;
	}
	if (k == 0)
		return 0;

	switch (o->attribution)
	{
		case ATTRIBUTION_FIRST:
		case ATTRIBUTION_LAST:
			for (int i = 0; i < k; i++)
				shares[i] = 0.0;
			shares[o->attribution == ATTRIBUTION_FIRST ? 0 : k - 1] = 1.0;
			break;
		case ATTRIBUTION_LINEAR:
			for (int i = 0; i < k; i++)
				shares[i] = 1.0 / k;
			break;
		case ATTRIBUTION_POSITION:
			if (k <= 2)
				for (int i = 0; i < k; i++)
					shares[i] = 1.0 / k;
			else
			{
				for (int i = 1; i < k - 1; i++)
					shares[i] = 0.2 / (k - 2);
				shares[0] = shares[k - 1] = 0.4;
			}
			break;
		case ATTRIBUTION_WEIGHTED:
			{
				double		total = 0.0;

				for (int i = 0; i < k; i++)
					total += g->weight[touches[i]];
				for (int i = 0; i < k; i++)
					shares[i] = total > 0 ? g->weight[touches[i]] / total : 1.0 / k;
			}
			break;
		case ATTRIBUTION_TIME_DECAY:
			{
				/* relative to the latest touch, so that no weight underflows to 0 alone */
				double		latest = (double) g->at[touches[k - 1]];
				double		total = 0.0;

				for (int i = 0; i < k; i++)
				{
					shares[i] = exp2(((double) g->at[touches[i]] - latest) /
									 (double) ATTRIBUTION_TIME_DECAY_HALF_LIFE);
					total += shares[i];
				}
				for (int i = 0; i < k; i++)
					shares[i] /= total;
			}
			break;
	}
	return k;
}
