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

/* pg_tzset by name (22023 when unknown), the last one cached: zones are never freed. */
pg_tz *
cs_named_zone(const char *name)
{
	static char cached_name[TZ_STRLEN_MAX + 1];
	static pg_tz *cached_zone = NULL;
	pg_tz	   *zone;

	if (cached_zone != NULL && strcmp(name, cached_name) == 0)
		return cached_zone;
	zone = strlen(name) <= TZ_STRLEN_MAX ? pg_tzset(name) : NULL;
	if (zone == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time zone \"%s\" not recognized", name)));
	strlcpy(cached_name, name, sizeof(cached_name));
	cached_zone = zone;
	return zone;
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
