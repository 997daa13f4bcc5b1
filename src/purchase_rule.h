/*
 * purchase_rule.h — how transaction rows become purchase occasions: the one
 * rule that rfm (and so refresh) and the live-score state (the trigger,
 * recount_live_days and live_scores) follow.  docs/scores.md, "How
 * transactions are counted", states it for users.
 *
 *   - A row without a customer or a time is not counted.
 *   - A row with a NULL amount is a purchase of unknown value: counted, with
 *     amount 0 (CS_AMOUNT_IF_NULL).
 *   - Rows on the same calendar day (local_day.h) add up; duplicate rows are
 *     two purchases on that day (the source decides what a row is).
 *   - A day whose amounts net to 0 or more is a purchase occasion (0: free
 *     items, or data without spend).  A day whose amounts net below 0 is a
 *     refund day: never an occasion of its own; its amount nets against the
 *     customer's last occasion before it, or the first occasion when none
 *     comes before.
 *   - frequency = occasions - 1, recency = first to last occasion, t = first
 *     occasion to as_of; total = every amount; monetary = the amounts from
 *     the second occasion on (refund days netted as above) per repeat
 *     occasion, 0 when that is not positive.
 *   - A customer without an occasion has no purchase history.
 *
 * Callers feed the days in ascending order, each with whether its amounts
 * net below zero, and learn whether that day's amount is repeat value.
 */
#ifndef CS_PURCHASE_RULE_H
#define CS_PURCHASE_RULE_H

#include "postgres.h"

/* the amount a row with a NULL amount counts with */
#define CS_AMOUNT_IF_NULL 0

typedef struct CsOccasions
{
	int32		count;			/* purchase occasions so far */
	int32		first_day;		/* first and last occasion (valid when count > 0) */
	int32		last_day;
} CsOccasions;

#define CS_OCCASIONS_INIT {0, 0, 0}

/* Adds the next day; true when its amount counts as repeat value. */
static inline bool
cs_occasions_add(CsOccasions *o, int32 day, bool refund_day)
{
	if (!refund_day)
	{
		if (o->count == 0)
			o->first_day = day;
		o->last_day = day;
		o->count++;
	}
	return o->count >= 2;
}

/* monetary from the repeat value: its mean per repeat occasion, never negative */
static inline double
cs_occasions_monetary(const CsOccasions *o, double repeat_value)
{
	return o->count > 1 && repeat_value > 0 ? repeat_value / (o->count - 1) : 0.0;
}

#endif							/* CS_PURCHASE_RULE_H */
