/*
 * influence.c — action-based influence: credit customers for the actions
 * they spark in others (SQL: customer_score.influence, influence_trace).
 *
 * Every action A with at <= as_of (a "conversion") credits the author of the
 * action that sparked it (depth 1), that action's own spark (depth 2), and so
 * on up to max_depth.  A step from an action back to its spark counts only if
 * the spark happened no later than the action and at most max_gap before it;
 * a chain ends at the first step that does not count, at a sparked_by that
 * names no action (an orphan), at max_depth, and when it would revisit an
 * action it has already passed (a cycle, possible in bad data only when the
 * actions on it share one instant).  The credit at depth d is
 *
 *   money  = A.value                  * depth_decay^(d-1) * age * share
 *   points = weight(A.channel, A.kind) * depth_decay^(d-1) * age * share
 *
 * with age = 0.5^((as_of - A.at) / half_life) (1 without half_life) and
 * share = 1 unless multi-touch attribution splits A (attribution.c).  The
 * author of the conversion is never credited for it: such a step is skipped
 * and the walk goes on up the chain.  With depth_decay = 0 only depth 1
 * counts.
 *
 * Cost: reading the query, one hash insert and lookup per action, a counting
 * sort, then at most max_depth steps per conversion over int32 arrays:
 * linear in actions times depth.  Conversions are walked grouped by author
 * (customers in id order, actions in id order within them), which makes the
 * floating-point sums independent of the order the query returned rows in,
 * and lets "distinct people moved" be counted with one stamp per group.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "common/int128.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "action_reader.h"
#include "action_weights.h"
#include "id_map.h"
#include "influence.h"
#include "interrupts.h"
#include "validate.h"

/* ---------------------------------------------------------------------------
 * Arguments
 * ---------------------------------------------------------------------------
 */

/* an interval as elapsed microseconds (a month is 30 days, a day 24 hours, as
 * PostgreSQL compares intervals), saturated to the int64 range */
static int64
interval_usecs(const Interval *span)
{
	INT128		total = int64_to_int128(span->time);

	int128_add_int64_mul_int64(&total, span->day, USECS_PER_DAY);
	int128_add_int64_mul_int64(&total, span->month, (int64) DAYS_PER_MONTH * USECS_PER_DAY);
	if (int128_compare(total, int64_to_int128(PG_INT64_MAX)) > 0)
		return PG_INT64_MAX;
	if (int128_compare(total, int64_to_int128(PG_INT64_MIN)) < 0)
		return PG_INT64_MIN;
	return int128_to_int64(total);
}

static void
require_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
}

static int64
positive_interval_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	Interval   *span = PG_GETARG_INTERVAL_P(argno);
	int64		usecs = interval_usecs(span);

	if (usecs <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a positive interval, got %s", name,
						DatumGetCString(DirectFunctionCall1(interval_out,
															IntervalPGetDatum(span))))));
	return usecs;
}

/*
 * The options shared by influence and influence_trace, from argument `first`
 * on: as_of, max_depth, depth_decay, max_gap, half_life, then (influence
 * only) by_topic, then touches, attribution.
 */
static void
parse_options(FunctionCallInfo fcinfo, int first, bool has_by_topic, InfluenceOptions *o,
			  char **touches_sql)
{
	int			arg = first;

	memset(o, 0, sizeof(*o));

	require_arg(fcinfo, arg, "as_of");
	o->as_of = PG_GETARG_TIMESTAMPTZ(arg);
	if (TIMESTAMP_NOT_FINITE(o->as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be a finite timestamp, got %s",
						DatumGetCString(DirectFunctionCall1(timestamptz_out,
															TimestampTzGetDatum(o->as_of))))));
	arg++;

	require_arg(fcinfo, arg, "max_depth");
	o->max_depth = PG_GETARG_INT32(arg);
	if (o->max_depth < 1 || o->max_depth > INFLUENCE_MAX_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_depth must be between 1 and %d, got %d",
						INFLUENCE_MAX_DEPTH, o->max_depth)));
	arg++;

	require_arg(fcinfo, arg, "depth_decay");
	o->depth_decay = PG_GETARG_FLOAT8(arg);
	if (!(o->depth_decay >= 0.0 && o->depth_decay <= 1.0))
		cs_reject("depth_decay", "between 0 and 1", o->depth_decay);
	arg++;

	require_arg(fcinfo, arg, "max_gap");
	o->max_gap = positive_interval_arg(fcinfo, arg, "max_gap");
	arg++;

	o->half_life = PG_ARGISNULL(arg) ? 0.0 :
		(double) positive_interval_arg(fcinfo, arg, "half_life");
	arg++;

	if (has_by_topic)
	{
		require_arg(fcinfo, arg, "by_topic");
		o->by_topic = PG_GETARG_BOOL(arg);
		arg++;
	}

	*touches_sql = PG_ARGISNULL(arg) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(arg));
	arg++;

	require_arg(fcinfo, arg, "attribution");
	o->attribution = attribution_parse(text_to_cstring(PG_GETARG_TEXT_PP(arg)));
}

/* ---------------------------------------------------------------------------
 * Building the graph
 * ---------------------------------------------------------------------------
 */
static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* Read actions (+ touches, weights) and build the graph in cxt.  SPI must be connected. */
static void
build_graph(ActionGraph *g, const char *actions_sql, const char *touches_sql, MemoryContext cxt)
{
	CsColumn	columns[] = {
		{"id", CS_COL_INT8, CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{"customer_id", CS_COL_INT8, CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{"sparked_by", CS_COL_INT8, CS_COL_REQUIRED | CS_COL_KEEP_NULLS},
		{"at", CS_COL_TIMESTAMPTZ, CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{"value", CS_COL_FLOAT8, CS_COL_REQUIRED},	/* NULL means 0 */
		{"channel", CS_COL_TEXT, CS_COL_REQUIRED},
		{"kind", CS_COL_TEXT, CS_COL_REQUIRED},
		{"topic", CS_COL_TEXT, 0},
	};
	CsQuery		query = {
		.what = "actions",
		.sql = actions_sql,
		.columns = columns,
		.ncolumns = lengthof(columns),
		.key_column = 0,
		.cxt = cxt,
	};
	MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
	int64	   *customer;
	int64	   *sparked_by;
	bool	   *sparked_null;
	IdIndex		ids;
	IdIndex		customers;
	int32		ncustomers = 0;
	int32	   *rank;
	CsWeights  *weights;
	int32		n;

	g->strings = query.strings = cs_strings_create(cxt);
	cs_read_query(&query);
	n = g->n = (int32) query.nrows;

	g->id = CS_COL_INT8S(&columns[0]);
	customer = CS_COL_INT8S(&columns[1]);
	sparked_by = CS_COL_INT8S(&columns[2]);
	sparked_null = columns[2].nulls;
	g->at = CS_COL_TIMES(&columns[3]);
	g->value = CS_COL_FLOAT8S(&columns[4]);
	g->channel = CS_COL_CODES(&columns[5]);
	g->kind = CS_COL_CODES(&columns[6]);
	g->topic = columns[7].present ? CS_COL_CODES(&columns[7]) : NULL;

	/* check rows, index action ids, number customers in order of appearance */
	idindex_init(&ids, cxt, g->id, n);
	idindex_init(&customers, cxt, customer, n);
	g->author = palloc_extended(sizeof(int32) * Max((Size) n, 1), MCXT_ALLOC_HUGE);
	g->customer_id = palloc_extended(sizeof(int64) * Max((Size) n, 1), MCXT_ALLOC_HUGE);
	for (int32 i = 0; i < n; i++)
	{
		int32	   *slot;
		bool		found;

		if ((i & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!isfinite(g->value[i]) || g->value[i] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("value of action " INT64_FORMAT " must be a finite non-negative number, got %s",
							g->id[i], cs_format_double(g->value[i], (char[DOUBLE_SHORTEST_DECIMAL_LEN]) {0})),
					 errhint("Record a refund by lowering the value of the purchase it refunds, not as an action of its own.")));
		if (TIMESTAMP_NOT_FINITE(g->at[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("at of action " INT64_FORMAT " must be a finite timestamp", g->id[i])));
		slot = idindex_put(&ids, g->id[i], &found);
		if (found)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("duplicate action id " INT64_FORMAT " in the actions query", g->id[i]),
					 errhint("Each action needs a unique id: sparked_by and touches refer to actions by id.")));
		*slot = i;
		slot = idindex_put(&customers, customer[i], &found);
		if (!found)
		{
			*slot = ncustomers;
			g->customer_id[ncustomers++] = customer[i];
		}
		g->author[i] = *slot;
	}

	/* renumber customers in customer_id order */
	g->ncustomers = ncustomers;
	cs_sort(g->customer_id, ncustomers, sizeof(int64), cmp_int64);
	rank = palloc_extended(sizeof(int32) * Max((Size) ncustomers, 1), MCXT_ALLOC_HUGE);
	for (int32 r = 0; r < ncustomers; r++)
		rank[idindex_get(&customers, g->customer_id[r])] = r;
	for (int32 i = 0; i < n; i++)
		g->author[i] = rank[g->author[i]];
	pfree(rank);
	idindex_free(&customers);
	pfree(customer);

	/* sparks as indexes: -1 for none or an orphan */
	g->spark = palloc_extended(sizeof(int32) * Max((Size) n, 1), MCXT_ALLOC_HUGE);
	for (int32 i = 0; i < n; i++)
		g->spark[i] = sparked_null[i] ? -1 : idindex_get(&ids, sparked_by[i]);
	pfree(sparked_by);
	pfree(sparked_null);

	if (touches_sql)
		attribution_read_touches(g, touches_sql, &ids, cxt);
	idindex_free(&ids);

	weights = cs_weights_load(cxt, g->strings);
	g->weight = palloc_extended(sizeof(double) * Max((Size) n, 1), MCXT_ALLOC_HUGE);
	for (int32 i = 0; i < n; i++)
		g->weight[i] = cs_weights_lookup(weights, g->channel[i], g->kind[i]);

	MemoryContextSwitchTo(oldcxt);
}

/*
 * Conversions to walk: actions with at <= as_of that have a spark or touches,
 * ordered by (author, id).  Returns their number.
 */
static int
cmp_action_id(const void *a, const void *b, void *arg)
{
	const int64 *id = arg;
	int64		x = id[*(const int32 *) a];
	int64		y = id[*(const int32 *) b];

	return (x > y) - (x < y);
}

static int32
conversion_order(const ActionGraph *g, const InfluenceOptions *o, int32 **order_out)
{
	int32	   *start = palloc_extended(sizeof(int32) * ((Size) g->ncustomers + 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	int32	   *order;
	int32		total;

	for (int32 i = 0; i < g->n; i++)
		if (g->at[i] <= o->as_of &&
			(g->spark[i] >= 0 || (g->touch_start && g->touch_start[i + 1] > g->touch_start[i])))
			start[g->author[i] + 1]++;
	for (int32 c = 0; c < g->ncustomers; c++)
		start[c + 1] += start[c];
	total = start[g->ncustomers];
	order = palloc_extended(sizeof(int32) * Max((Size) total, 1), MCXT_ALLOC_HUGE);
	for (int32 i = 0; i < g->n; i++)
		if (g->at[i] <= o->as_of &&
			(g->spark[i] >= 0 || (g->touch_start && g->touch_start[i + 1] > g->touch_start[i])))
			order[start[g->author[i]]++] = i;
	/* start[c] is now the end of customer c's bucket */
	for (int32 c = 0, begin = 0; c < g->ncustomers; c++)
	{
		if (start[c] - begin > 1)
			qsort_arg(order + begin, start[c] - begin, sizeof(int32), cmp_action_id, g->id);
		begin = start[c];
	}
	pfree(start);
	*order_out = order;
	return total;
}

/* ---------------------------------------------------------------------------
 * The walk
 * ---------------------------------------------------------------------------
 */
typedef struct CreditLine
{
	int32		conversion;		/* the action that earns the credit */
	int32		via;			/* the credited customer's action at this depth */
	int32		group;			/* the group of via's author (see WalkNode) */
	int			depth;
	double		depth_factor;
	double		age_factor;
	double		share;
} CreditLine;

/*
 * What a step of the walk reads, packed in one 24-byte record per action:
 * following a chain then touches one cache line per step instead of one per
 * array (at, spark, author, group, stamp), which is what bounds the walk.
 */
typedef struct WalkNode
{
	TimestampTz at;
	int32		spark;
	int32		author;
	int32		group;			/* influence: the (customer, topic) group credit goes to */
	uint32		stamp;			/* the last branch that passed this action */
} WalkNode;

typedef struct Walker Walker;
typedef void (*CreditFn) (Walker *w, const CreditLine *line);

struct Walker
{
	const ActionGraph *g;
	const InfluenceOptions *o;
	int			depth_limit;	/* max_depth, or 1 when depth_decay = 0 */
	double		factor[INFLUENCE_MAX_DEPTH + 1];	/* depth_decay^(d-1) */
	WalkNode   *node;
	uint32		branch;
	int32	   *touches;		/* attribution buffers */
	double	   *shares;
	CreditFn	credit;
	void	   *arg;
};

/* group_of: the group of each action's author, or NULL for the author itself */
static void
walker_init(Walker *w, const ActionGraph *g, const InfluenceOptions *o, const int32 *group_of,
			CreditFn credit, void *arg)
{
	memset(w, 0, sizeof(*w));
	w->g = g;
	w->o = o;
	w->depth_limit = o->depth_decay == 0.0 ? 1 : o->max_depth;
	for (int d = 1; d <= INFLUENCE_MAX_DEPTH; d++)
		w->factor[d] = pow(o->depth_decay, d - 1);
	w->node = palloc_extended(sizeof(WalkNode) * Max((Size) g->n, 1), MCXT_ALLOC_HUGE);
	for (int32 i = 0; i < g->n; i++)
	{
		w->node[i].at = g->at[i];
		w->node[i].spark = g->spark[i];
		w->node[i].author = g->author[i];
		w->node[i].group = group_of ? group_of[i] : g->author[i];
		w->node[i].stamp = 0;
	}
	w->touches = palloc(sizeof(int32) * (g->max_touches + 1));
	w->shares = palloc(sizeof(double) * (g->max_touches + 1));
	w->credit = credit;
	w->arg = arg;
}

/* does the step from `child` back to its spark `parent` count? (influence_step_ok on nodes) */
static inline bool
node_step_ok(const WalkNode *child, const WalkNode *parent, int64 max_gap)
{
	int64		gap;

	if (parent->at > child->at || pg_sub_s64_overflow(child->at, parent->at, &gap))
		return false;
	return gap <= max_gap;
}

/* Credit conversion a's chain from action `start` (depth 1, already checked) upwards. */
static void
walk_chain(Walker *w, int32 a, int32 start, double share, double age)
{
	WalkNode   *node = w->node;
	uint32		branch;
	int32		author = node[a].author;
	int64		max_gap = w->o->max_gap;
	int32		cur = start;
	int			depth = 1;

	if (unlikely(++w->branch == 0))
	{
		/* the branch counter wrapped: forget every old stamp */
		for (int32 i = 0; i < w->g->n; i++)
			node[i].stamp = 0;
		w->branch = 1;
	}
	branch = w->branch;
	node[a].stamp = branch;
	node[start].stamp = branch;
	for (;;)
	{
		WalkNode   *cn = &node[cur];
		int32		next;

		if (cn->author != author)
		{
			CreditLine line = {a, cur, cn->group, depth, w->factor[depth], age, share};

			w->credit(w, &line);
		}
		if (depth >= w->depth_limit)
			break;
		next = cn->spark;
		if (next < 0 || node[next].stamp == branch || !node_step_ok(cn, &node[next], max_gap))
			break;
		node[next].stamp = branch;
		cur = next;
		depth++;
	}
}

static void
walk_conversion(Walker *w, int32 a)
{
	const ActionGraph *g = w->g;
	const InfluenceOptions *o = w->o;
	double		age = 1.0;
	int32		spark;

	if (o->half_life > 0.0)
		age = exp2(-((double) o->as_of - (double) g->at[a]) / o->half_life);

	if (g->touch_start && g->touch_start[a + 1] > g->touch_start[a])
	{
		int			k = attribution_split(g, o, a, w->touches, w->shares);

		if (k > 0)
		{
			for (int i = 0; i < k; i++)
				if (w->shares[i] > 0.0)
					walk_chain(w, a, w->touches[i], w->shares[i], age);
			return;
		}
		/* nothing but the converter's own actions touched it: the plain cascade */
	}
	spark = g->spark[a];
	if (spark >= 0 && spark != a && influence_step_ok(g, o, a, spark))
		walk_chain(w, a, spark, 1.0, age);
}

static void
walk_all(Walker *w)
{
	int32	   *order;
	int32		total = conversion_order(w->g, w->o, &order);

	for (int32 i = 0; i < total; i++)
	{
		if ((i & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		walk_conversion(w, order[i]);
	}
	pfree(order);
}

/* ---------------------------------------------------------------------------
 * influence: one row per influencer (and topic)
 * ---------------------------------------------------------------------------
 */
typedef struct InfluenceGroup
{
	int32		customer;
	int32		topic;
	int32		last_conversion;	/* stamps for the distinct counts */
	int32		last_author;
	int64		actions_sparked;
	int64		people_moved;
	double		direct;
	double		cascade;
	double		points;
} InfluenceGroup;

typedef struct InfluenceSums
{
	InfluenceGroup *groups;
	int32		ngroups;
	int32	   *group_of;		/* action -> the group its author's credit goes to */
} InfluenceSums;

static void
credit_influence(Walker *w, const CreditLine *line)
{
	const ActionGraph *g = w->g;
	InfluenceSums *sums = w->arg;
	InfluenceGroup *grp = &sums->groups[line->group];
	double		f = line->depth_factor * line->age_factor * line->share;
	double		money = g->value[line->conversion] * f;

	if (line->depth == 1)
		grp->direct += money;
	else
		grp->cascade += money;
	grp->points += g->weight[line->conversion] * f;
	if (grp->last_conversion != line->conversion)
	{
		grp->last_conversion = line->conversion;
		grp->actions_sparked++;
	}
	if (grp->last_author != g->author[line->conversion])
	{
		grp->last_author = g->author[line->conversion];
		grp->people_moved++;
	}
}

static int
cmp_group(const void *a, const void *b, void *arg)
{
	const InfluenceGroup *x = a;
	const InfluenceGroup *y = b;
	const CsStrings *strings = arg;
	const char *tx,
			   *ty;

	if (x->customer != y->customer)
		return x->customer < y->customer ? -1 : 1;
	if (x->topic == y->topic)
		return 0;
	tx = cs_strings_get(strings, x->topic);
	ty = cs_strings_get(strings, y->topic);
	if (tx == NULL || ty == NULL)
		return tx == NULL ? 1 : -1; /* NULL topic last */
	return strcmp(tx, ty);
}

static void
assign_groups(const ActionGraph *g, const InfluenceOptions *o, InfluenceSums *sums)
{
	sums->group_of = palloc_extended(sizeof(int32) * Max((Size) g->n, 1), MCXT_ALLOC_HUGE);
	if (!o->by_topic || g->topic == NULL)
	{
		sums->ngroups = g->ncustomers;
		sums->groups = palloc_extended(sizeof(InfluenceGroup) * Max((Size) g->ncustomers, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		for (int32 c = 0; c < g->ncustomers; c++)
		{
			sums->groups[c].customer = c;
			sums->groups[c].topic = -1;
		}
		memcpy(sums->group_of, g->author, sizeof(int32) * g->n);
	}
	else
	{
		IdMap	   *map = idmap_new(CurrentMemoryContext, g->ncustomers);
		int32		ngroups = 0;

		sums->groups = palloc_extended(sizeof(InfluenceGroup) * Max((Size) g->n, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		for (int32 i = 0; i < g->n; i++)
		{
			int64		key = (int64) (((uint64) (uint32) g->author[i] << 32) | (uint32) g->topic[i]);
			bool		found;
			IdMapEntry *entry = idmap_insert(map, key, &found);

			if (!found)
			{
				entry->index = ngroups;
				sums->groups[ngroups].customer = g->author[i];
				sums->groups[ngroups].topic = g->topic[i];
				ngroups++;
			}
			sums->group_of[i] = entry->index;
		}
		sums->ngroups = ngroups;
		idmap_destroy(map);
	}
	for (int32 k = 0; k < sums->ngroups; k++)
	{
		sums->groups[k].last_conversion = -1;
		sums->groups[k].last_author = -1;
	}
}

static MemoryContext
work_context(void)
{
	return AllocSetContextCreate(CurrentMemoryContext, "customer_score influence",
								 ALLOCSET_DEFAULT_SIZES);
}

static void
read_inputs(ActionGraph *g, const char *actions_sql, const char *touches_sql, MemoryContext cxt)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	build_graph(g, actions_sql, touches_sql, cxt);
	SPI_finish();
}

PG_FUNCTION_INFO_V1(influence);
Datum
influence(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	InfluenceOptions o;
	char	   *actions_sql;
	char	   *touches_sql;
	MemoryContext cxt;
	MemoryContext oldcxt;
	ActionGraph g;
	InfluenceSums sums;
	Walker		w;

	require_arg(fcinfo, 0, "actions");
	actions_sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	parse_options(fcinfo, 1, true, &o, &touches_sql);
	InitMaterializedSRF(fcinfo, 0);

	cxt = work_context();
	memset(&g, 0, sizeof(g));
	read_inputs(&g, actions_sql, touches_sql, cxt);

	oldcxt = MemoryContextSwitchTo(cxt);
	assign_groups(&g, &o, &sums);
	walker_init(&w, &g, &o, sums.group_of, credit_influence, &sums);
	walk_all(&w);
	qsort_arg(sums.groups, sums.ngroups, sizeof(InfluenceGroup), cmp_group, g.strings);
	MemoryContextSwitchTo(oldcxt);

	for (int32 k = 0; k < sums.ngroups; k++)
	{
		InfluenceGroup *grp = &sums.groups[k];
		Datum		values[8];
		bool		nulls[8] = {0};
		const char *topic = cs_strings_get(g.strings, grp->topic);

		if (grp->actions_sparked == 0)
			continue;
		values[0] = Int64GetDatum(g.customer_id[grp->customer]);
		if (topic)
			values[1] = CStringGetTextDatum(topic);
		else
			nulls[1] = true;
		values[2] = Int64GetDatum(grp->actions_sparked);
		values[3] = Int64GetDatum(grp->people_moved);
		/* sums of finite values can still overflow: 22003, never Infinity */
		values[4] = Float8GetDatum(cs_check_result("direct_value", grp->direct));
		values[5] = Float8GetDatum(cs_check_result("cascade_value", grp->cascade));
		values[6] = Float8GetDatum(cs_check_result("influence_value", grp->direct + grp->cascade));
		values[7] = Float8GetDatum(cs_check_result("influence_points", grp->points));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextDelete(cxt);
	return (Datum) 0;
}

/* ---------------------------------------------------------------------------
 * influence_trace: every credit line of one customer
 * ---------------------------------------------------------------------------
 */
typedef struct TraceSink
{
	int32		customer;		/* the customer index traced */
	ReturnSetInfo *rsinfo;
	MemoryContext rowcxt;
} TraceSink;

static void
credit_trace(Walker *w, const CreditLine *line)
{
	const ActionGraph *g = w->g;
	TraceSink  *sink = w->arg;
	int32		a = line->conversion;
	double		f;
	Datum		values[14];
	bool		nulls[14] = {0};
	const char *str;
	MemoryContext oldcxt;

	if (line->group != sink->customer)
		return;
	oldcxt = MemoryContextSwitchTo(sink->rowcxt);
	f = line->depth_factor * line->age_factor * line->share;
	values[0] = Int64GetDatum(g->id[a]);
	values[1] = Int64GetDatum(g->customer_id[g->author[a]]);
	values[2] = Int32GetDatum(line->depth);
	values[3] = Int64GetDatum(g->id[line->via]);
	str = g->topic ? cs_strings_get(g->strings, g->topic[line->via]) : NULL;
	nulls[4] = str == NULL;
	values[4] = str ? CStringGetTextDatum(str) : (Datum) 0;
	str = cs_strings_get(g->strings, g->channel[a]);
	nulls[5] = str == NULL;
	values[5] = str ? CStringGetTextDatum(str) : (Datum) 0;
	str = cs_strings_get(g->strings, g->kind[a]);
	nulls[6] = str == NULL;
	values[6] = str ? CStringGetTextDatum(str) : (Datum) 0;
	values[7] = Float8GetDatum(g->value[a]);
	values[8] = Float8GetDatum(g->weight[a]);
	values[9] = Float8GetDatum(line->depth_factor);
	values[10] = Float8GetDatum(line->age_factor);
	values[11] = Float8GetDatum(line->share);
	values[12] = Float8GetDatum(cs_check_result("credited value", g->value[a] * f));
	values[13] = Float8GetDatum(cs_check_result("credited points", g->weight[a] * f));
	tuplestore_putvalues(sink->rsinfo->setResult, sink->rsinfo->setDesc, values, nulls);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(sink->rowcxt);
}

PG_FUNCTION_INFO_V1(influence_trace);
Datum
influence_trace(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	InfluenceOptions o;
	char	   *actions_sql;
	char	   *touches_sql;
	int64		customer_id;
	MemoryContext cxt;
	MemoryContext oldcxt;
	ActionGraph g;
	TraceSink	sink;
	Walker		w;
	int64	   *found;

	require_arg(fcinfo, 0, "actions");
	actions_sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	require_arg(fcinfo, 1, "customer_id");
	customer_id = PG_GETARG_INT64(1);
	parse_options(fcinfo, 2, false, &o, &touches_sql);
	InitMaterializedSRF(fcinfo, 0);

	cxt = work_context();
	memset(&g, 0, sizeof(g));
	read_inputs(&g, actions_sql, touches_sql, cxt);

	found = bsearch(&customer_id, g.customer_id, g.ncustomers, sizeof(int64), cmp_int64);
	if (found != NULL)
	{
		oldcxt = MemoryContextSwitchTo(cxt);
		sink.customer = (int32) (found - g.customer_id);
		sink.rsinfo = rsinfo;
		sink.rowcxt = AllocSetContextCreate(cxt, "influence_trace row", ALLOCSET_SMALL_SIZES);
		walker_init(&w, &g, &o, NULL, credit_trace, &sink);
		walk_all(&w);
		MemoryContextSwitchTo(oldcxt);
	}
	MemoryContextDelete(cxt);
	return (Datum) 0;
}
