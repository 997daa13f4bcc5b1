/*
 * local_day.h — the calendar day of an instant on a time zone's wall clock.
 *
 * rfm (its time_zone argument or the session TimeZone), the live-score
 * trigger and live_local_time (the time zone tracking started in) all count
 * purchase days with these functions, so refresh and live scores agree on
 * every customer's days.
 *
 * Days are numbered from 2000-01-01 (PostgreSQL's date epoch, DateADT).  A
 * zone with one fixed offset at all times (UTC, most servers) costs an
 * addition; the others ask the time zone library for the offset in force at
 * that instant.
 */
#ifndef CS_LOCAL_DAY_H
#define CS_LOCAL_DAY_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "pgtime.h"

typedef struct CsZone
{
	pg_tz	   *tz;				/* NULL: the instants are wall-clock times already */
	bool		fixed;			/* one offset at all times (or no zone) ... */
	int64		offset_usecs;	/* ... of this many microseconds east of UTC */
} CsZone;

/* zone for tz (NULL: timestamps without time zone, taken as written) */
extern void cs_zone_init(CsZone *zone, pg_tz *tz);

/* the zone of a name as SET TimeZone takes it (22023 when unknown) */
extern pg_tz *cs_named_zone(const char *name);

/* the session TimeZone, looked up again only when it changes */
extern const CsZone *cs_session_zone(void);

/* the instant ts on zone's wall clock, in microseconds since 2000-01-01 00:00 */
extern int64 cs_local_usecs(TimestampTz ts, const CsZone *zone);

/* the day number of a wall-clock time in microseconds: floor, also before 2000 */
static inline int32
cs_day_of_local(int64 local_usecs)
{
	int64		day = local_usecs / USECS_PER_DAY;

	if (local_usecs < 0 && day * USECS_PER_DAY != local_usecs)
		day--;
	return (int32) day;
}

/* the calendar day of ts on zone's wall clock */
static inline int32
cs_local_day(TimestampTz ts, const CsZone *zone)
{
	return cs_day_of_local(cs_local_usecs(ts, zone));
}

#endif							/* CS_LOCAL_DAY_H */
