/*
 * local_day.h — the calendar day of an instant on a time zone's wall clock.
 *
 * rfm, rfm_holdout and tracking (their time_zone argument or the session
 * TimeZone), the live-score trigger and live_local_time (the time zone
 * tracking started in) all count purchase days with these functions, so
 * refresh, validation and live scores agree on every customer's days.
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
#include "fmgr.h"
#include "pgtime.h"

typedef struct CsZone
{
	pg_tz	   *tz;				/* NULL: the instants are wall-clock times already */
	bool		fixed;			/* one offset at all times (or no zone) ... */
	int64		offset_usecs;	/* ... of this many microseconds east of UTC */
} CsZone;

/*
 * The calendar of an aggregate or function call over timestamps: its zone and the canonical
 * name (pg_get_timezone_name) that a state records it by, so that states of different calendars
 * are told apart.  At most PG_UINT8_MAX bytes of the name are kept (a state's zone_len is a
 * byte; TZ_STRLEN_MAX is 255).
 */
typedef struct CsCalendar
{
	CsZone		zone;
	const char *name;			/* canonical zone name, not NUL-terminated at name_len */
	int			name_len;
	text	   *arg;			/* the time_zone argument it was looked up for (NULL: session) */
} CsCalendar;

/* zone for tz (NULL: timestamps without time zone, taken as written) */
extern void cs_zone_init(CsZone *zone, pg_tz *tz);

/* the zone of a name as SET TimeZone takes it (22023 when unknown) */
extern pg_tz *cs_named_zone(const char *name);

/* the session TimeZone, looked up again only when it changes */
extern const CsZone *cs_session_zone(void);

/* the canonical name a state records tz by, and how many of its bytes (at most PG_UINT8_MAX) */
extern const char *cs_zone_record_name(pg_tz *tz, int *len);

/* the calendar of a call: its time_zone argument zone_arg (>= 0, not NULL) or the session's */
extern const CsCalendar *cs_call_calendar(FunctionCallInfo fcinfo, int zone_arg);

/* a state's recorded zone from len bytes of its text or binary form (NULL: unknown name) */
extern pg_tz *cs_recorded_zone(const char *name, int len);

/* the zone of a state's text field " zone=<name>" at *cursor (22P02 when missing or unknown) */
extern pg_tz *cs_parse_zone(const char **cursor, const char *type_name, const char *input);

/* 22023 unless a row's calendar is the zone its group's state records */
extern void cs_check_row_zone(const char *state_zone, int state_len, const CsCalendar *calendar);

/* 22023 naming both unless two states' recorded zones agree (length 0: none, agrees with any) */
extern void cs_check_merge_zones(const char *type_name, const char *a, int a_len,
								 const char *b, int b_len, const char *hint);

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
