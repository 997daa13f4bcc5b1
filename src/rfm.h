/*
 * rfm.h — what rfm shares with the other aggregates over raw transactions (rfm_holdout,
 * tracking): one purchase row, the session's calendar day, the unit conversion and the
 * summary arithmetic, so every one of them applies rfm's same-day rule in the same time zone.
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

/* ts on the session's local wall clock, in microseconds since 2000-01-01 */
extern int64 rfm_local_usecs(TimestampTz ts);
/* the local calendar day (days since 2000-01-01) of a local wall-clock time */
extern int32 rfm_local_day(int64 local);
/* seconds in an interval, as EXTRACT(epoch) counts them */
extern double rfm_interval_seconds(const Interval *unit);
extern void rfm_check_window(const char *end_name, TimestampTz end, const char *unit_name,
							 const Interval *unit, double unit_seconds);
extern void rfm_check_row(TimestampTz at, double amount);
extern void rfm_summarise(const RfmOccasion *rows, int32 n, int64 as_of_local,
						  double unit_seconds, Datum *values);

#endif
