/*
 * composite.c — one customer's composite score from weights and normalised components, with
 * refresh's missing-data rules, for learning weights without a refresh per trial.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "validate.h"

/* The elements of a one-dimensional array argument, with its length checked against n. */
static Datum *
array_elements(ArrayType *array, Oid type, int16 len, bool byval, char align, const char *what,
			   int *n, bool **nulls)
{
	Datum	   *elems;
	int			count;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array", what)));
	deconstruct_array(array, type, len, byval, align, &elems, nulls, &count);
	if (*n >= 0 && count != *n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s has %d elements, weights has %d", what, count, *n)));
	*n = count;
	return elems;
}

PG_FUNCTION_INFO_V1(composite_score);
/*
 * composite(weights, normalized, missing): sum of weight x value over the components that
 * count, divided by their weights.  An observed component (normalised value not NULL, as refresh
 * stores them) counts its value; one not observed counts 0.5 (neutral), 0 (zero) or nothing
 * (renormalize).  0 when nothing counts.
 */
Datum
composite_score(PG_FUNCTION_ARGS)
{
	int			n = -1;
	bool	   *wnull;
	bool	   *vnull;
	bool	   *mnull;
	Datum	   *w = array_elements(PG_GETARG_ARRAYTYPE_P(0), FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, "weights", &n, &wnull);
	Datum	   *v = array_elements(PG_GETARG_ARRAYTYPE_P(1), FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, "normalized", &n, &vnull);
	Datum	   *m = array_elements(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, -1, false, TYPALIGN_INT, "missing", &n, &mnull);
	double		sum = 0;
	double		counted = 0;

	for (int k = 0; k < n; k++)
	{
		double		weight;
		double		value;

		if (wnull[k] || mnull[k])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("weights and missing must not hold NULLs (component %d)", k + 1)));
		weight = DatumGetFloat8(w[k]);
		cs_check_non_negative("weight", weight);
		if (!vnull[k])
		{
			value = DatumGetFloat8(v[k]);
			cs_check_finite("normalized value", value);
		}
		else
		{
			char	   *policy = TextDatumGetCString(m[k]);

			if (strcmp(policy, "renormalize") == 0)
				continue;
			else if (strcmp(policy, "neutral") == 0)
				value = 0.5;
			else if (strcmp(policy, "zero") == 0)
				value = 0.0;
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown missing-data policy \"%s\"", policy),
						 errhint("Use renormalize, neutral or zero.")));
		}
		sum += weight * value;
		counted += weight;
	}
	if (counted <= 0)
		PG_RETURN_FLOAT8(0.0);
	PG_RETURN_FLOAT8(cs_check_result("composite score", sum / counted));
}
