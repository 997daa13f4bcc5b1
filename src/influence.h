/*
 * influence.h — the action graph the cascade walk and multi-touch
 * attribution share.
 *
 * Actions are read once (action_reader) and turned into compact arrays
 * indexed 0 .. n-1: the author as a dense customer index (customers numbered
 * in customer_id order), the spark as an action index (-1 when sparked_by is
 * NULL or names no action: an orphan ends its chain), the time, the value,
 * the weight from action_weights and the topic code.  Touches (optional) are
 * kept in compressed sparse rows: the touches of conversion a are
 * touch[touch_start[a] .. touch_start[a + 1] - 1].
 */
#ifndef CUSTOMER_SCORE_INFLUENCE_H
#define CUSTOMER_SCORE_INFLUENCE_H

#include "postgres.h"

#include "common/int.h"
#include "datatype/timestamp.h"

#include "action_reader.h"
#include "id_map.h"

#define INFLUENCE_MAX_DEPTH 100
/* time_decay attribution: a touch loses half its weight every 7 days before the conversion */
#define ATTRIBUTION_TIME_DECAY_HALF_LIFE (7 * USECS_PER_DAY)

typedef enum AttributionModel
{
	ATTRIBUTION_FIRST,
	ATTRIBUTION_LAST,
	ATTRIBUTION_LINEAR,
	ATTRIBUTION_TIME_DECAY,
	ATTRIBUTION_POSITION,
	ATTRIBUTION_WEIGHTED
} AttributionModel;

typedef struct InfluenceOptions
{
	TimestampTz as_of;
	int			max_depth;
	double		depth_decay;
	int64		max_gap;		/* microseconds, > 0 (saturated at PG_INT64_MAX) */
	double		half_life;		/* microseconds; 0 = no age decay */
	bool		by_topic;
	AttributionModel attribution;
} InfluenceOptions;

typedef struct ActionGraph
{
	int32		n;
	int64	   *id;
	int32	   *author;			/* customer index */
	int32	   *spark;			/* action index, or -1 */
	TimestampTz *at;
	double	   *value;
	double	   *weight;
	int32	   *topic;			/* topic codes (-1 NULL), or NULL without a topic column */
	int32	   *channel;		/* codes, -1 for NULL */
	int32	   *kind;
	CsStrings  *strings;

	int32		ncustomers;
	int64	   *customer_id;	/* customer index -> customer_id, ascending */

	/* touches in CSR form, or touch_start == NULL without a touches query */
	int32	   *touch_start;
	int32	   *touch;
	int32		max_touches;	/* most touches of one conversion */
} ActionGraph;

/* does the step from sparked action `child` back to its spark `parent` count? */
static inline bool
influence_step_ok(const ActionGraph *g, const InfluenceOptions *o, int32 child, int32 parent)
{
	TimestampTz c = g->at[child];
	TimestampTz p = g->at[parent];
	int64		gap;

	if (p > c)
		return false;
	if (pg_sub_s64_overflow(c, p, &gap))
		return false;
	return gap <= o->max_gap;
}

extern AttributionModel attribution_parse(const char *name);
extern void attribution_read_touches(ActionGraph *g, const char *sql, const IdIndex *ids,
									 MemoryContext cxt);
extern int	attribution_split(const ActionGraph *g, const InfluenceOptions *o, int32 conversion,
							  int32 *touches, double *shares);

#endif
