/*
 * normalize.c — SQL-callable helpers of the score normalisations.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"

#include "validate.h"

/*
 * normal_cdf(z): the standard normal distribution function, for the z-score
 * normalisation.  erfc keeps full relative precision in the lower tail.
 */
PG_FUNCTION_INFO_V1(normal_cdf);
Datum
normal_cdf(PG_FUNCTION_ARGS)
{
	double		z = PG_GETARG_FLOAT8(0);

	if (isnan(z))
		cs_reject("z", "a number", z);
	PG_RETURN_FLOAT8(0.5 * erfc(-z / M_SQRT2));
}
