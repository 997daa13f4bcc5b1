/*
 * rfm.h — what rfm shares with the other aggregates over raw transactions (rfm_holdout,
 * tracking): one purchase row, the unit conversion, the argument checks and the summary
 * arithmetic (the purchase rule of purchase_rule.h), so that with local_day.h's calendar day
 * every one of them counts a customer's occasions exactly as rfm does.
 */
#ifndef CUSTOMER_SCORE_RFM_H
#define CUSTOMER_SCORE_RFM_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* One transaction row: its local calendar day and amount. */
typedef struct RfmOccasion
{
	int32		day;			/* days since 2000-01-01 on the local calendar */
	int32		reserved;		/* 0; rfm_holdout marks its holdout rows with 1 */
	double		amount;
} RfmOccasion;

/* seconds in an interval, as EXTRACT(epoch) counts them */
extern double rfm_interval_seconds(const Interval *unit);
extern void rfm_check_window(const char *end_name, TimestampTz end, const char *unit_name,
							 const Interval *unit, double unit_seconds);
extern void rfm_check_row(TimestampTz at, double amount);
extern bool rfm_summarise(const RfmOccasion *rows, int32 n, int64 as_of_local,
						  double unit_seconds, bool purchase_rule, Datum *values);

#endif
