/*
 * live_upsert.h — merging purchase_days deltas into customer_score.live_customers
 * without a query: what INSERT ... ON CONFLICT (customer_id) DO UPDATE SET days =
 * purchase_days_merge(days, excluded.days) does, done with the table and index
 * access methods directly (live_upsert.c).
 */
#ifndef CUSTOMER_SCORE_LIVE_UPSERT_H
#define CUSTOMER_SCORE_LIVE_UPSERT_H

#include "postgres.h"

typedef struct LiveUpsert LiveUpsert;

/*
 * Open live_customers (relid) for direct upserts, or NULL when the table is
 * not as the extension made it (row-level security, triggers or rules on it,
 * other columns, CHECK constraints, no primary key on customer_id): then the
 * caller writes through SQL, which applies all of that.
 */
extern LiveUpsert *live_upsert_begin(Oid relid, Oid purchase_days_type);

/* Merge one customer's delta (a purchase_days datum) into its row, or insert it as the row. */
extern void live_upsert_one(LiveUpsert *upsert, int64 customer_id, Datum delta);

extern void live_upsert_end(LiveUpsert *upsert);

#endif
