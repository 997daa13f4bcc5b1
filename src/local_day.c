/*
 * local_day.c — wall-clock times and calendar days in a time zone (see local_day.h).
 */
#include "postgres.h"

#include <ctype.h>

#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "local_day.h"
#include "text_io.h"

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

/* The name a state records tz by: its canonical name, of which *len bytes (at most 255) are kept. */
const char *
cs_zone_record_name(pg_tz *tz, int *len)
{
	const char *name = pg_get_timezone_name(tz);

	*len = (int) Min(strlen(name), PG_UINT8_MAX);
	return name;
}

/*
 * The calendar of a call: the zone its time_zone argument at zone_arg names, looked up once per
 * distinct argument and kept in fn_extra (the caller must not use fn_extra for anything else),
 * or with zone_arg < 0 the session TimeZone, looked up again only when the setting changes.
 */
const CsCalendar *
cs_call_calendar(FunctionCallInfo fcinfo, int zone_arg)
{
	static CsCalendar session;
	static const pg_tz *session_tz = NULL;
	CsCalendar *cache;
	text	   *arg;
	char	   *name;
	pg_tz	   *tz;

	if (zone_arg < 0)
	{
		if (session_tz != session_timezone)
		{
			session.zone = *cs_session_zone();
			session.name = cs_zone_record_name(session_timezone, &session.name_len);
			session_tz = session_timezone;
		}
		return &session;
	}
	arg = PG_GETARG_TEXT_PP(zone_arg);
	cache = (CsCalendar *) fcinfo->flinfo->fn_extra;
	if (cache != NULL && VARSIZE_ANY_EXHDR(cache->arg) == VARSIZE_ANY_EXHDR(arg) &&
		memcmp(VARDATA_ANY(cache->arg), VARDATA_ANY(arg), VARSIZE_ANY_EXHDR(arg)) == 0)
		return cache;
	if (cache == NULL)
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CsCalendar));
	else
		pfree(cache->arg);
	name = text_to_cstring(arg);
	tz = cs_named_zone(name);
	pfree(name);
	cs_zone_init(&cache->zone, tz);
	cache->name = cs_zone_record_name(tz, &cache->name_len);
	cache->arg = (text *) MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARSIZE_ANY(arg));
	memcpy(cache->arg, arg, VARSIZE_ANY(arg));
	fcinfo->flinfo->fn_extra = cache;
	return cache;
}

/* pg_tzset of len bytes of a state's text or binary form; NULL for an empty, long or unknown name. */
pg_tz *
cs_recorded_zone(const char *name, int len)
{
	char		buf[TZ_STRLEN_MAX + 1];

	if (len <= 0 || len > TZ_STRLEN_MAX)
		return NULL;
	memcpy(buf, name, len);
	buf[len] = '\0';
	if (strlen(buf) != (size_t) len)
		return NULL;			/* a NUL inside the name */
	return pg_tzset(buf);
}

/*
 * The " zone=<name>" field of a state's text form at *cursor (22P02 naming the input when it is
 * missing or names no zone); moves the cursor past the name.
 */
pg_tz *
cs_parse_zone(const char **cursor, const char *type_name, const char *input)
{
	const char *start;
	pg_tz	   *tz;

	cs_expect_key(cursor, "zone=", type_name, input);
	start = *cursor;
	while (**cursor && !isspace((unsigned char) **cursor))
		(*cursor)++;
	tz = cs_recorded_zone(start, (int) Min(*cursor - start, TZ_STRLEN_MAX + 1));
	if (tz == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"", type_name, input),
				 errdetail("Unknown time zone \"%.*s\".", (int) Min(*cursor - start, TZ_STRLEN_MAX), start)));
	return tz;
}

/* A group's rows must all be on the calendar its state was started on. */
void
cs_check_row_zone(const char *state_zone, int state_len, const CsCalendar *calendar)
{
	if (state_len != calendar->name_len || memcmp(state_zone, calendar->name, state_len) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time_zone must be the same for every row of a group, got \"%.*s\" and \"%.*s\"",
						state_len, state_zone, calendar->name_len, calendar->name)));
}

/*
 * States whose days are on different calendars do not merge; a state without a recorded zone
 * (a_len or b_len 0: read from a format that did not record it) agrees with any.
 */
void
cs_check_merge_zones(const char *type_name, const char *a, int a_len, const char *b, int b_len,
					 const char *hint)
{
	if (a_len > 0 && b_len > 0 && (a_len != b_len || memcmp(a, b, a_len) != 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot merge %s states of different time zones: \"%.*s\" and \"%.*s\"",
						type_name, a_len, a, b_len, b),
				 errdetail("Their purchase days are calendar days in different zones."),
				 errhint("%s", hint)));
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
