/*
 * local_day.c — wall-clock times and calendar days in a time zone (see local_day.h).
 */
#include "postgres.h"

#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "local_day.h"

/* Fills zone for tz; a fixed-offset zone keeps its offset so days cost an addition. */
void
cs_zone_init(CsZone *zone, pg_tz *tz)
{
	long		gmtoff = 0;

	zone->tz = tz;
	zone->fixed = tz == NULL || pg_get_timezone_offset(tz, &gmtoff);
	zone->offset_usecs = tz != NULL && zone->fixed ? (int64) gmtoff * USECS_PER_SEC : 0;
}

/* The session TimeZone as a CsZone, rebuilt only when the setting changes. */
const CsZone *
cs_session_zone(void)
{
	static CsZone cached;
	static const pg_tz *cached_tz = NULL;

	if (cached_tz != session_timezone)
	{
		cs_zone_init(&cached, session_timezone);
		cached_tz = session_timezone;
	}
	return &cached;
}

/* ts on zone's wall clock: ts plus the offset in force at ts (22008 outside the range). */
int64
cs_local_usecs(TimestampTz ts, const CsZone *zone)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;

	if (zone->fixed)
		return ts + zone->offset_usecs;
	if (timestamp2tm(ts, &tz, &tm, &fsec, NULL, zone->tz) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return ts - (int64) tz * USECS_PER_SEC;
}
