/*
 * history.h — the aggregate state of the model fits: a histogram of distinct
 * customer histories with their counts.
 *
 * A BG/NBD history is (frequency, recency, t); a Gamma-Gamma history is
 * (frequency, monetary); a BG/BB history is (frequency, recency, periods)
 * an sBG one (periods observed, churned), and an outcome (the backtest
 * metrics' state) (score, realized value).  Customers with identical histories share one
 * point, so the state's size and the fit's cost grow with the number of
 * distinct histories, not with the number of customers.
 *
 * Layout (a varlena, stored in the aggregate context while aggregating):
 *
 *   vl_len_   varlena header
 *   version   format version (HISTORY_VERSION); bump it when the layout changes
 *   kind      which model the points are for (HistoryKind)
 *   flags     HISTORY_COMPACT: points are sorted and unique
 *   used      points in use; the capacity is whatever VARSIZE leaves room for
 *   points[]  used points, followed by free space
 *
 * Points are appended unsorted by the transition function and compacted
 * (sorted, equal keys merged) when the buffer fills, before it grows; a
 * compaction sorts only the points appended since the last one and merges
 * them into the compacted prefix.  The combine function appends the other
 * state's points the same way; a compacted state's points are one sorted
 * run, and a buffer of a few runs is compacted by merging them pairwise.  The
 * sort makes every result independent of input order: a fit over the same
 * customers in any order, split across any number of workers, sees the same
 * points in the same order and returns the same model bit for bit.
 *
 * The text form (what Citus ships from workers to the coordinator) is "v2 grid=G,G,G"
 * and one "key,key,key[*count]" per point in key order: each key is a whole numerator n
 * standing for n / G on its key's grid (rfm's times in weeks are days / 7 exactly), or "="
 * and the shortest exact decimal when the value is off that grid, or empty when it equals
 * the previous point's; "*count" is left out for 1.  The grid per key is the one of a fixed
 * list that holds most values, so output is a function of the state and text -> state ->
 * text is the identity.  The input also reads 0.1.0's "v1" form, "v1" and one
 * "(key,...):count" per point.  Binary send/receive write each field with
 * pq_sendfloat8/pq_sendint64, never a raw struct copy.
 */
#ifndef CUSTOMER_SCORE_HISTORY_H
#define CUSTOMER_SCORE_HISTORY_H

#include "postgres.h"
#include "fmgr.h"
#include "lib/stringinfo.h"

#define HISTORY_VERSION 1
#define HISTORY_COMPACT 0x0001
#define HISTORY_MAX_KEYS 3
/* a BG/BB likelihood sums one term per period after the last transaction */
#define HISTORY_BGBB_MAX_PERIODS 10000

typedef enum HistoryKind
{
	HISTORY_BGNBD = 1,			/* keys: frequency, recency, t */
	HISTORY_GAMMA_GAMMA = 2,	/* keys: frequency, monetary */
	HISTORY_BGBB = 3,			/* keys: frequency, recency, periods (whole periods) */
	HISTORY_SBG = 4,			/* keys: periods observed, churned (0 or 1) */
	HISTORY_OUTCOMES = 5		/* keys: score, realized value */
} HistoryKind;

typedef struct HistoryPoint
{
	double		key[HISTORY_MAX_KEYS];	/* unused keys are 0 */
	int64		count;
} HistoryPoint;

typedef struct HistoryState
{
	int32		vl_len_;
	uint8		version;
	uint8		kind;
	uint16		flags;
	int32		used;
	HistoryPoint points[FLEXIBLE_ARRAY_MEMBER];
} HistoryState;

#define HISTORY_HEADER_SIZE offsetof(HistoryState, points)
/* the largest state we will build: a clear error beats a failed allocation */
#define HISTORY_MAX_POINTS ((int32) ((MaxAllocSize - HISTORY_HEADER_SIZE) / sizeof(HistoryPoint)))

#define DatumGetHistoryState(d) ((HistoryState *) PG_DETOAST_DATUM(d))

static inline int32
history_capacity(const HistoryState *state)
{
	return (int32) ((VARSIZE(state) - HISTORY_HEADER_SIZE) / sizeof(HistoryPoint));
}

extern int	history_key_count(HistoryKind kind);
extern void history_validate_key(HistoryKind kind, double *key);
extern HistoryState *history_add(FunctionCallInfo fcinfo, HistoryKind kind,
								 const double *key, int64 count);
extern Datum history_weighted_transfn(FunctionCallInfo fcinfo, HistoryKind kind,
									  const char *fname);
extern HistoryState *history_combine(FunctionCallInfo fcinfo, HistoryKind kind);
extern HistoryState *history_compacted_copy(const HistoryState *state);
extern HistoryState *history_coarse_copy(const HistoryState *state, int levels);
extern int64 history_total_count(const HistoryState *state);

extern Datum history_in(const char *input, HistoryKind kind, const char *type_name);
extern char *history_out(const HistoryState *state);
extern Datum history_recv(StringInfo buf, HistoryKind kind, const char *type_name);
extern bytea *history_send(const HistoryState *state);

#endif
