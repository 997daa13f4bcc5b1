/*
 * composite.c — one customer's composite score from weights and normalised components, with
 * refresh's missing-data rules: composite() for learning weights without a refresh per trial,
 * score_parts() for the score, confidence and contributions refresh stores.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "common/int.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

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

/* A component's missing-data policy, as model_components.missing names it. */
typedef enum MissingPolicy
{
	MISSING_RENORMALIZE,
	MISSING_NEUTRAL,
	MISSING_ZERO
} MissingPolicy;

#define SCORE_PARTS_MAX 1000	/* components of one score */

/*
 * The missing-data policies of score_parts' fourth argument, parsed once per
 * query: the argument is the same constant on every row, so the parse is kept
 * with a copy of the array it came from and redone only when that differs.
 */
typedef struct ScorePartsCache
{
	ArrayType  *missing;		/* copy of the array parsed */
	int			n;
	MissingPolicy policy[FLEXIBLE_ARRAY_MEMBER];
} ScorePartsCache;

/* The length of a one-dimensional array argument, checked against n (set when n < 0). */
static int
score_parts_length(ArrayType *array, const char *what, int *n)
{
	int			count;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array", what)));
	count = ARR_NDIM(array) == 0 ? 0 : ARR_DIMS(array)[0];
	if (*n >= 0 && count != *n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s has %d elements, weights has %d", what, count, *n)));
	*n = count;
	return count;
}

/* The missing-data policies, from the cache when the array is the one parsed last. */
static const MissingPolicy *
score_parts_policies(FunctionCallInfo fcinfo, ArrayType *missing, int n)
{
	ScorePartsCache *cache = (ScorePartsCache *) fcinfo->flinfo->fn_extra;
	Datum	   *elems;
	bool	   *nulls;
	int			count;

	if (cache != NULL && cache->n == n && VARSIZE(cache->missing) == VARSIZE(missing) &&
		memcmp(cache->missing, missing, VARSIZE(missing)) == 0)
		return cache->policy;
	cache = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, offsetof(ScorePartsCache, policy) + Max(n, 1) * sizeof(MissingPolicy));
	deconstruct_array(missing, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &count);
	for (int k = 0; k < n; k++)
	{
		char	   *policy;

		if (nulls[k])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("missing must not hold NULLs (component %d)", k + 1)));
		policy = TextDatumGetCString(elems[k]);
		if (strcmp(policy, "renormalize") == 0)
			cache->policy[k] = MISSING_RENORMALIZE;
		else if (strcmp(policy, "neutral") == 0)
			cache->policy[k] = MISSING_NEUTRAL;
		else if (strcmp(policy, "zero") == 0)
			cache->policy[k] = MISSING_ZERO;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown missing-data policy \"%s\"", policy),
					 errhint("Use renormalize, neutral or zero.")));
	}
	cache->missing = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARSIZE(missing));
	memcpy(cache->missing, missing, VARSIZE(missing));
	cache->n = n;
	if (fcinfo->flinfo->fn_extra != NULL)
	{
		pfree(((ScorePartsCache *) fcinfo->flinfo->fn_extra)->missing);
		pfree(fcinfo->flinfo->fn_extra);
	}
	fcinfo->flinfo->fn_extra = cache;
	return cache->policy;
}

/*
 * round(v::numeric, 4) as units of 0.0001, as PostgreSQL computes it: the
 * cast takes v to 15 significant digits (float8_numeric prints it with %.15g),
 * round() then rounds half away from zero.  Directly from v*10^4 wherever the
 * 15-digit rounding (at most 5e-15 of v) and the product's own rounding
 * cannot move it across a half; near a half, and beyond 10^15 units, through
 * PostgreSQL's own functions.
 */
static int64
round4_units(double v)
{
	double		a = fabs(v);
	double		u = a * 10000.0;

	if (isfinite(u) && u < 1e15)
	{
		double		f = floor(u);
		double		frac = u - f;

		if (fabs(frac - 0.5) > 1e-14 * u + 1e-300)
		{
			int64		units = (int64) f + (frac > 0.5 ? 1 : 0);

			return v < 0 ? -units : units;
		}
	}
	{
		Datum		rounded = DirectFunctionCall2(numeric_round,
												  DirectFunctionCall1(float8_numeric, Float8GetDatum(v)),
												  Int32GetDatum(4));
		Datum		scaled = DirectFunctionCall2(numeric_mul, rounded,
												 NumericGetDatum(int64_to_numeric(10000)));

		return DatumGetInt64(DirectFunctionCall1(numeric_int8, scaled));
	}
}

PG_FUNCTION_INFO_V1(score_parts);
/*
 * score_parts(normalized, observed, weights, missing, scale): the score row
 * refresh stores for one customer.  A component counts its normalised value
 * when observed, else what its missing policy says (neutral 0.5, zero 0,
 * renormalize nothing); each contribution is round(scale * weight * value /
 * (sum of the weights that count), 4) in numeric (0 for one that does not
 * count), the score their exact sum, the confidence round(observed weight /
 * all weight, 4).  The same doubles, in the same order of operations, as the
 * SQL expressions refresh used to evaluate, so the same numerics.
 */
Datum
score_parts(PG_FUNCTION_ARGS)
{
	ArrayType  *normalized = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *observed = PG_GETARG_ARRAYTYPE_P(1);
	ArrayType  *weights = PG_GETARG_ARRAYTYPE_P(2);
	ArrayType  *missing = PG_GETARG_ARRAYTYPE_P(3);
	double		scale = PG_GETARG_FLOAT8(4);
	int			n = -1;
	const MissingPolicy *policy;
	const double *w;
	const char *nv_data;
	bits8	   *nv_nulls;
	const bool *obs;
	double		nv[SCORE_PARTS_MAX];
	bool		counts[SCORE_PARTS_MAX];
	Datum		contribution[SCORE_PARTS_MAX];
	double		tw = 0.0;
	double		ow = 0.0;
	double		aw = 0.0;
	int64		total = 0;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		isnull[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "score_parts must return a record");
	score_parts_length(weights, "weights", &n);
	if (n > SCORE_PARTS_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a score has at most %d components, got %d", SCORE_PARTS_MAX, n)));
	score_parts_length(normalized, "normalized", &n);
	score_parts_length(observed, "observed", &n);
	score_parts_length(missing, "missing", &n);
	if (ARR_ELEMTYPE(weights) != FLOAT8OID || ARR_ELEMTYPE(normalized) != FLOAT8OID ||
		ARR_ELEMTYPE(observed) != BOOLOID || ARR_ELEMTYPE(missing) != TEXTOID)
		elog(ERROR, "score_parts: unexpected array element types");
	if (ARR_HASNULL(weights) || ARR_HASNULL(observed))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("weights and observed must not hold NULLs")));
	cs_check_positive("scale", scale);
	policy = score_parts_policies(fcinfo, missing, n);
	w = (const double *) ARR_DATA_PTR(weights);
	obs = (const bool *) ARR_DATA_PTR(observed);
	nv_data = ARR_DATA_PTR(normalized);
	nv_nulls = ARR_NULLBITMAP(normalized);

	/*
	 * nv: the value a component counts, NULL (counts false) where it counts
	 * nothing: the normalised value when observed, else the policy's.
	 */
	for (int k = 0; k < n; k++)
	{
		bool		nv_null = nv_nulls != NULL && (nv_nulls[k / 8] & (1 << (k % 8))) == 0;
		double		value = 0.0;

		if (!nv_null)
		{
			memcpy(&value, nv_data, sizeof(double));
			nv_data += sizeof(double);
		}
		cs_check_positive("weight", w[k]);
		if (obs[k])
		{
			counts[k] = !nv_null;
			nv[k] = value;
		}
		else
		{
			counts[k] = policy[k] != MISSING_RENORMALIZE;
			nv[k] = policy[k] == MISSING_NEUTRAL ? 0.5 : 0.0;
		}
		/* the weights added in component order, as the SQL sums did */
		if (counts[k])
			tw += w[k];
		if (obs[k])
			ow += w[k];
		aw += w[k];
	}
	if (aw <= 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("weights must not add up to 0")));
	for (int k = 0; k < n; k++)
	{
		int64		units = 0;

		if (counts[k])
			units = round4_units(scale * w[k] * nv[k] / tw);
		if (unlikely(pg_add_s64_overflow(total, units, &total)))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("score out of range")));
		contribution[k] = NumericGetDatum(int64_div_fast_to_numeric(units, 4));
	}
	values[0] = NumericGetDatum(int64_div_fast_to_numeric(total, 4));
	values[1] = NumericGetDatum(int64_div_fast_to_numeric(round4_units(ow / aw), 4));
	values[2] = PointerGetDatum(construct_array(contribution, n, NUMERICOID, -1, false, TYPALIGN_INT));
	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, isnull)));
}
