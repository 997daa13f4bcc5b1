/*
 * model_choice.c — likelihood_ratio_test(restricted_log_likelihood, full_log_likelihood,
 * degrees_of_freedom): the likelihood-ratio comparison of two nested models fitted on the same
 * data.  The statistic 2 (LL_full - LL_restricted) is asymptotically chi-square with as many
 * degrees of freedom as the full model has extra parameters; the p-value is its upper tail,
 * Q(df / 2, statistic / 2), the regularised upper incomplete gamma function: its series below
 * a + 1 and its continued fraction above, so it is never 1 minus a number near 1.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"

#include "validate.h"

#define GAMMA_MAX_ITERATIONS 100000
#define GAMMA_TINY 1e-300

/* P(a, x) by its series, for x < a + 1 */
static double
gamma_p_series(double a, double x)
{
	double		term = 1.0 / a,
				sum = term;

	for (int n = 1; n < GAMMA_MAX_ITERATIONS; n++)
	{
		term *= x / (a + n);
		sum += term;
		if (fabs(term) < fabs(sum) * 1e-17)
			break;
	}
	return sum * exp(-x + a * log(x) - lgamma(a));
}

/* Q(a, x) by its continued fraction (modified Lentz), for x >= a + 1 */
static double
gamma_q_fraction(double a, double x)
{
	double		b = x + 1.0 - a,
				c = 1.0 / GAMMA_TINY,
				d = 1.0 / b,
				h = d;

	for (int n = 1; n < GAMMA_MAX_ITERATIONS; n++)
	{
		double		an = -n * (n - a),
					delta;

		b += 2.0;
		d = an * d + b;
		if (fabs(d) < GAMMA_TINY)
			d = GAMMA_TINY;
		c = b + an / c;
		if (fabs(c) < GAMMA_TINY)
			c = GAMMA_TINY;
		d = 1.0 / d;
		delta = d * c;
		h *= delta;
		if (fabs(delta - 1.0) < 1e-16)
			break;
	}
	return exp(-x + a * log(x) - lgamma(a)) * h;
}

/* The upper tail of the chi-square distribution with df degrees of freedom at x >= 0. */
static double
chi_square_upper(double x, int32 df)
{
	double		a = df / 2.0,
				half = x / 2.0;

	if (half <= 0)
		return 1.0;
	if (half < a + 1.0)
		return fmax(0.0, 1.0 - gamma_p_series(a, half));
	return fmin(1.0, gamma_q_fraction(a, half));
}

PG_FUNCTION_INFO_V1(likelihood_ratio_test);
Datum
likelihood_ratio_test(PG_FUNCTION_ARGS)
{
	double		restricted = PG_GETARG_FLOAT8(0);
	double		full = PG_GETARG_FLOAT8(1);
	int32		df = PG_GETARG_INT32(2);
	double		statistic;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false};

	cs_check_finite("restricted_log_likelihood", restricted);
	cs_check_finite("full_log_likelihood", full);
	if (df < 1)
		cs_reject("degrees_of_freedom", "a positive integer", (double) df);
	statistic = 2.0 * (full - restricted);
	/* an optimiser's rounding can leave the full model a hair below the restricted one */
	if (statistic < -1e-9 * fmax(1.0, fabs(full)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("full_log_likelihood must not be below restricted_log_likelihood, got %g and %g",
						full, restricted),
				 errdetail("The full model nests the restricted one, so its maximum cannot be lower; check that both were fitted on the same data and converged.")));
	statistic = cs_check_result("the likelihood-ratio statistic", fmax(statistic, 0.0));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "likelihood_ratio_test must return a composite type");
	values[0] = Float8GetDatum(statistic);
	values[1] = Float8GetDatum(chi_square_upper(statistic, df));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
