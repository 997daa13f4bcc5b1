/*
 * validate.h — the argument checks every entry point calls, written once.
 *
 * Each error names the argument, the rule and the offending value, with
 * SQLSTATE 22023 (invalid_parameter_value).
 */
#ifndef CUSTOMER_SCORE_VALIDATE_H
#define CUSTOMER_SCORE_VALIDATE_H

#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"

static inline const char *
cs_format_double(double value, char *buf)
{
	if (isnan(value))
		return "NaN";
	if (isinf(value))
		return value > 0 ? "Infinity" : "-Infinity";
	double_to_shortest_decimal_buf(value, buf);
	return buf;
}

static inline void
cs_reject(const char *what, const char *rule, double value)
{
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s must be %s, got %s", what, rule, cs_format_double(value, buf))));
}

static inline void
cs_check_finite(const char *what, double value)
{
	if (unlikely(!isfinite(value)))
		cs_reject(what, "a finite number", value);
}

static inline void
cs_check_non_negative(const char *what, double value)
{
	if (unlikely(!isfinite(value) || value < 0.0))
		cs_reject(what, "a finite non-negative number", value);
}

static inline void
cs_check_positive(const char *what, double value)
{
	if (unlikely(!isfinite(value) || value <= 0.0))
		cs_reject(what, "a finite positive number", value);
}

/* A purchase history (frequency, recency, t) as the BTYD models take it. */
static inline void
cs_check_history(int64 frequency, double recency, double t)
{
	if (unlikely(frequency < 0))
		cs_reject("frequency", "non-negative", (double) frequency);
	cs_check_non_negative("recency", recency);
	cs_check_non_negative("t", t);
	if (unlikely(recency > t))
	{
		char		rbuf[DOUBLE_SHORTEST_DECIMAL_LEN];
		char		tbuf[DOUBLE_SHORTEST_DECIMAL_LEN];

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("recency must not exceed t, got recency %s and t %s",
						cs_format_double(recency, rbuf), cs_format_double(t, tbuf)),
				 errdetail("recency is the time from the first to the last purchase, t the time from the first purchase to the end of observation.")));
	}
}

/*
 * The last line of defence of every result: a value that overflowed double
 * precision is an error, never an Infinity or NaN handed to the caller.
 */
static inline double
cs_check_result(const char *what, double value)
{
	if (unlikely(!isfinite(value)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s is out of range", what),
				 errdetail("The inputs are too extreme to compute it in double precision.")));
	return value;
}

/*
 * Transition and combine functions update their state in place, which is
 * only safe inside an aggregate: called directly from SQL they refuse.
 */
#define CS_REQUIRE_AGG_CONTEXT(fcinfo, fname) \
	do { \
		if (!AggCheckCallContext((fcinfo), NULL)) \
			ereport(ERROR, \
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED), \
					 errmsg("%s can only be called as part of an aggregate", (fname)))); \
	} while (0)

#endif
