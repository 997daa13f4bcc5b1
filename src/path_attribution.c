/*
 * path_attribution.c — what each kind of touch on the way to a conversion is worth, from data.
 *
 * path_attribution(paths, conversions, nulls, values) takes paths in ChannelAttribution's form:
 * one row per distinct path, "a > b > c" (the touches from first to last), the number of times it
 * ended in a conversion, the number of times it ended without one, and the conversions' total
 * value.  For every state (touch kind) it returns two estimates:
 *
 *  - the first-order Markov removal effect (ChannelAttribution's definition): a chain
 *    start -> touches -> conversion | null with transition probabilities counted over all paths,
 *    non-converting ones included; removing a state sends every transition into it to null; the
 *    removal effect is 1 - P(conversion without it) / P(conversion); conversions and value are
 *    shared out in proportion to the removal effects.  Absorption probabilities are solved
 *    exactly (Gaussian elimination), not simulated.  Repeats of a state in a row are one visit
 *    (a self-transition does not change where the chain ends).
 *  - the Shapley value of the states on a path: the players are the distinct states of a path,
 *    a coalition is worth the conversion rate of the paths whose distinct states are exactly it
 *    (0 when no path has them), and each path's conversions and value are split by the states'
 *    Shapley values over that worth.  A state can come out negative where its presence goes with
 *    a lower conversion rate.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "interrupts.h"
#include "validate.h"

#define PATH_MAX_STATES 200			/* distinct states: the Markov solve is cubic */
#define PATH_MAX_SHAPLEY_PLAYERS 16	/* distinct states on one path: 2^n coalitions */

/* One path row: its states as ids (in order, repeats in a row collapsed), weights. */
typedef struct PathRow
{
	int		   *states;
	int			length;
	int		   *distinct;		/* sorted distinct ids */
	int			ndistinct;
	double		conversions;
	double		nulls;
	double		value;
} PathRow;

/* A token while ids are assigned: its text and where it goes. */
typedef struct Token
{
	char	   *text;
	int		   *slot;
} Token;

typedef struct PathData
{
	PathRow    *rows;
	int			nrows;
	char	  **names;			/* state id -> name */
	int			nstates;
} PathData;

/* qsort comparator: tokens by text */
static int
token_cmp(const void *a, const void *b)
{
	return strcmp(((const Token *) a)->text, ((const Token *) b)->text);
}

/* qsort comparator: ints ascending */
static int
int_cmp(const void *a, const void *b)
{
	int			x = *(const int *) a;
	int			y = *(const int *) b;

	return (x > y) - (x < y);
}

/* One array argument as doubles, each finite and >= 0, with the length expected. */
static double *
weights_arg(ArrayType *array, const char *what, int expected)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	double	   *out;

	deconstruct_array(array, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	if (n != expected)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s has %d elements, paths has %d", what, n, expected)));
	out = palloc(sizeof(double) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s[%d] is NULL", what, i + 1)));
		out[i] = DatumGetFloat8(elems[i]);
		cs_check_non_negative(what, out[i]);
	}
	return out;
}

/* Split "a > b > c" into trimmed tokens appended to *tokens; returns how many. */
static int
split_path(char *path, int row, Token **tokens, int *ntokens, int *capacity, int *ids)
{
	int			length = 0;
	char	   *cursor = path;

	for (;;)
	{
		char	   *end = strchr(cursor, '>');
		char	   *last;

		if (end != NULL)
			*end = '\0';
		while (*cursor == ' ' || *cursor == '\t')
			cursor++;
		last = cursor + strlen(cursor);
		while (last > cursor && (last[-1] == ' ' || last[-1] == '\t'))
			*--last = '\0';
		if (*cursor == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("path %d has an empty state", row + 1),
					 errhint("A path is its states separated by \">\", for example \"email > web > store\".")));
		if (*ntokens == *capacity)
		{
			*capacity *= 2;
			*tokens = repalloc(*tokens, sizeof(Token) * *capacity);
		}
		(*tokens)[*ntokens].text = cursor;
		(*tokens)[*ntokens].slot = &ids[length];
		(*ntokens)++;
		length++;
		if (end == NULL)
			return length;
		cursor = end + 1;
	}
}

/* Parse the arguments into paths of state ids. */
static PathData
read_paths(FunctionCallInfo fcinfo)
{
	PathData	data;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	double	   *conv;
	double	   *nul;
	double	   *val;
	int			capacity = 64;
	int			ntokens = 0;
	Token	   *tokens = palloc(sizeof(Token) * capacity);

	deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	conv = weights_arg(PG_GETARG_ARRAYTYPE_P(1), "conversions", n);
	nul = weights_arg(PG_GETARG_ARRAYTYPE_P(2), "nulls", n);
	val = weights_arg(PG_GETARG_ARRAYTYPE_P(3), "values", n);
	data.rows = palloc0(sizeof(PathRow) * Max(n, 1));
	data.nrows = n;
	{
		double		paths_total = 0;
		double		value_total = 0;

		for (int i = 0; i < n; i++)
		{
			paths_total += conv[i] + nul[i];
			value_total += val[i];
		}
		cs_check_result("the total of conversions and nulls", paths_total);
		cs_check_result("the total value", value_total);
	}
	for (int i = 0; i < n; i++)
	{
		char	   *path;

		CHECK_FOR_INTERRUPTS();
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("paths[%d] is NULL", i + 1)));
		path = TextDatumGetCString(elems[i]);
		/* a path has at most strlen / 2 + 1 states */
		data.rows[i].states = palloc(sizeof(int) * (strlen(path) / 2 + 1));
		data.rows[i].length = split_path(path, i, &tokens, &ntokens, &capacity, data.rows[i].states);
		data.rows[i].conversions = conv[i];
		data.rows[i].nulls = nul[i];
		data.rows[i].value = val[i];
	}

	/* ids in name order */
	cs_sort(tokens, ntokens, sizeof(Token), token_cmp);
	data.names = palloc(sizeof(char *) * Max(ntokens, 1));
	data.nstates = 0;
	for (int t = 0; t < ntokens; t++)
	{
		if (t == 0 || strcmp(tokens[t].text, tokens[t - 1].text) != 0)
		{
			if (data.nstates == PATH_MAX_STATES)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("paths have more than %d distinct states", PATH_MAX_STATES),
						 errhint("Group rare touches into broader states.")));
			data.names[data.nstates++] = tokens[t].text;
		}
		*tokens[t].slot = data.nstates - 1;
	}

	for (int i = 0; i < n; i++)
	{
		PathRow    *row = &data.rows[i];
		int			len = 0;

		for (int k = 0; k < row->length; k++)
			if (len == 0 || row->states[len - 1] != row->states[k])
				row->states[len++] = row->states[k];
		row->length = len;
		row->distinct = palloc(sizeof(int) * len);
		memcpy(row->distinct, row->states, sizeof(int) * len);
		qsort(row->distinct, len, sizeof(int), int_cmp);
		row->ndistinct = 0;
		for (int k = 0; k < len; k++)
			if (row->ndistinct == 0 || row->distinct[row->ndistinct - 1] != row->distinct[k])
				row->distinct[row->ndistinct++] = row->distinct[k];
	}
	return data;
}

/* ---------------------------------------------------------------------
 * Markov removal effects
 * ---------------------------------------------------------------------
 */

/*
 * P(conversion) from start, with one state removed (removed = -1: none).  Unknowns are start
 * (index nstates) and the states; x = Q x + r, solved as (I - Q) x = r by Gaussian elimination
 * with partial pivoting.  counts is (nstates + 1) x (nstates + 2): transitions from each transient
 * to each state, conversion (column nstates) and null (column nstates + 1).
 */
static double
conversion_probability(const double *counts, int nstates, int removed)
{
	int			n = nstates + 1;
	int			cols = nstates + 2;
	double	   *a = palloc0(sizeof(double) * n * (n + 1));

	for (int i = 0; i < n; i++)
	{
		const double *row = &counts[(Size) i * cols];
		double		total = 0;

		for (int j = 0; j < cols; j++)
			total += row[j];
		a[(Size) i * (n + 1) + i] = 1.0;
		if (i == removed || total <= 0)
			continue;			/* x_i = 0: a removed state, or one nothing leaves */
		for (int j = 0; j < nstates; j++)
			if (j != removed)
				a[(Size) i * (n + 1) + j] -= row[j] / total;
		a[(Size) i * (n + 1) + n] = row[nstates] / total;
	}
	for (int c = 0; c < n; c++)
	{
		int			pivot = c;
		double		inv;

		CHECK_FOR_INTERRUPTS();
		for (int r = c + 1; r < n; r++)
			if (fabs(a[(Size) r * (n + 1) + c]) > fabs(a[(Size) pivot * (n + 1) + c]))
				pivot = r;
		if (fabs(a[(Size) pivot * (n + 1) + c]) < 1e-300)
			elog(ERROR, "singular absorption system at state %d", c);
		if (pivot != c)
			for (int j = 0; j <= n; j++)
			{
				double		tmp = a[(Size) c * (n + 1) + j];

				a[(Size) c * (n + 1) + j] = a[(Size) pivot * (n + 1) + j];
				a[(Size) pivot * (n + 1) + j] = tmp;
			}
		inv = 1.0 / a[(Size) c * (n + 1) + c];
		for (int r = 0; r < n; r++)
		{
			double		f = a[(Size) r * (n + 1) + c] * inv;

			if (r == c || f == 0)
				continue;
			for (int j = c; j <= n; j++)
				a[(Size) r * (n + 1) + j] -= f * a[(Size) c * (n + 1) + j];
		}
	}
	{
		double		p = a[(Size) nstates * (n + 1) + n] / a[(Size) nstates * (n + 1) + nstates];

		pfree(a);
		return Max(0.0, Min(1.0, p));
	}
}

/* Removal effect of every state; false (and no effects) when nothing converts. */
static bool
removal_effects(const PathData *data, double *effect)
{
	int			ns = data->nstates;
	int			cols = ns + 2;
	double	   *counts = palloc0(sizeof(double) * (ns + 1) * cols);
	double		full;

	for (int i = 0; i < data->nrows; i++)
	{
		const PathRow *row = &data->rows[i];
		double		w = row->conversions + row->nulls;
		int			from = ns;	/* start */

		if (w <= 0 || row->length == 0)
			continue;
		for (int k = 0; k < row->length; k++)
		{
			counts[(Size) from * cols + row->states[k]] += w;
			from = row->states[k];
		}
		counts[(Size) from * cols + ns] += row->conversions;
		counts[(Size) from * cols + ns + 1] += row->nulls;
	}
	full = conversion_probability(counts, ns, -1);
	for (int s = 0; s < ns; s++)
		effect[s] = full > 0 ? Max(0.0, 1.0 - conversion_probability(counts, ns, s) / full) : 0;
	pfree(counts);
	return full > 0;
}

/* ---------------------------------------------------------------------
 * Shapley values
 * ---------------------------------------------------------------------
 */

/* A distinct set of states with its totals over the paths that have exactly it. */
typedef struct StateSet
{
	const int  *ids;
	int			n;
	double		conversions;
	double		nulls;
	double		value;
} StateSet;

/* qsort/bsearch comparator: sets by size, then ids */
static int
set_cmp(const void *a, const void *b)
{
	const StateSet *x = a;
	const StateSet *y = b;

	if (x->n != y->n)
		return (x->n > y->n) - (x->n < y->n);
	for (int k = 0; k < x->n; k++)
		if (x->ids[k] != y->ids[k])
			return (x->ids[k] > y->ids[k]) - (x->ids[k] < y->ids[k]);
	return 0;
}

/* The conversion rate of paths whose distinct states are exactly ids[0..n), 0 if none. */
static double
coalition_worth(const StateSet *sets, int nsets, const int *ids, int n)
{
	StateSet	key = {ids, n, 0, 0, 0};
	const StateSet *found = bsearch(&key, sets, nsets, sizeof(StateSet), set_cmp);

	if (found == NULL || found->conversions + found->nulls <= 0)
		return 0;
	return found->conversions / (found->conversions + found->nulls);
}

/* Split one set's conversions and value among its states by their Shapley values. */
static void
shapley_split(const StateSet *set, const StateSet *sets, int nsets, double *conv, double *value)
{
	int			m = set->n;
	int			ncoal = 1 << m;
	double	   *worth = palloc(sizeof(double) * ncoal);
	double	   *weight = palloc(sizeof(double) * m);	/* |T|! (m-|T|-1)! / m! by |T| */
	int			ids[PATH_MAX_SHAPLEY_PLAYERS];

	for (int mask = 0; mask < ncoal; mask++)
	{
		int			n = 0;

		if ((mask & 0x3FF) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int k = 0; k < m; k++)
			if (mask & (1 << k))
				ids[n++] = set->ids[k];
		worth[mask] = coalition_worth(sets, nsets, ids, n);
	}
	for (int t = 0; t < m; t++)
		weight[t] = exp(lgamma(t + 1.0) + lgamma(m - t) - lgamma(m + 1.0));
	for (int k = 0; k < m; k++)
	{
		double		phi = 0;

		for (int mask = 0; mask < ncoal; mask++)
			if (!(mask & (1 << k)))
				phi += weight[__builtin_popcount(mask)] * (worth[mask | (1 << k)] - worth[mask]);
		/* the values add up to the set's own worth, which is > 0 since it converted */
		conv[set->ids[k]] += set->conversions * phi / worth[ncoal - 1];
		value[set->ids[k]] += set->value * phi / worth[ncoal - 1];
	}
	pfree(worth);
	pfree(weight);
}

/* Shapley-attributed conversions and value of every state. */
static void
shapley_values(const PathData *data, double *conv, double *value)
{
	StateSet   *sets = palloc(sizeof(StateSet) * Max(data->nrows, 1));
	int			nsets = 0;

	for (int i = 0; i < data->nrows; i++)
	{
		sets[i].ids = data->rows[i].distinct;
		sets[i].n = data->rows[i].ndistinct;
		sets[i].conversions = data->rows[i].conversions;
		sets[i].nulls = data->rows[i].nulls;
		sets[i].value = data->rows[i].value;
	}
	cs_sort(sets, data->nrows, sizeof(StateSet), set_cmp);
	for (int i = 0; i < data->nrows; i++)
	{
		if (nsets > 0 && set_cmp(&sets[nsets - 1], &sets[i]) == 0)
		{
			sets[nsets - 1].conversions += sets[i].conversions;
			sets[nsets - 1].nulls += sets[i].nulls;
			sets[nsets - 1].value += sets[i].value;
		}
		else
			sets[nsets++] = sets[i];
	}
	for (int i = 0; i < nsets; i++)
	{
		if (sets[i].conversions <= 0 || sets[i].n == 0)
			continue;
		if (sets[i].n > PATH_MAX_SHAPLEY_PLAYERS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("a converting path has %d distinct states, more than %d", sets[i].n,
							PATH_MAX_SHAPLEY_PLAYERS),
					 errhint("Shapley values take 2^n coalitions; group rare touches into broader states.")));
		shapley_split(&sets[i], sets, nsets, conv, value);
	}
	pfree(sets);
}

/* ---------------------------------------------------------------------
 * The SQL function
 * ---------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(path_attribution);
/*
 * path_attribution(paths text[], conversions float8[], nulls float8[], values float8[]) returns
 * one row per state: the paths and conversions through it, its removal effect, and conversions
 * and value attributed by the Markov and the Shapley model.
 */
Datum
path_attribution(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PathData	data;
	double	   *effect;
	double	   *through;
	double	   *converting;
	double	   *sh_conv;
	double	   *sh_value;
	double		total_conv = 0;
	double		total_value = 0;
	double		total_effect = 0;
	bool		converts;

	InitMaterializedSRF(fcinfo, 0);
	data = read_paths(fcinfo);
	effect = palloc(sizeof(double) * Max(data.nstates, 1));
	through = palloc0(sizeof(double) * Max(data.nstates, 1));
	converting = palloc0(sizeof(double) * Max(data.nstates, 1));
	sh_conv = palloc0(sizeof(double) * Max(data.nstates, 1));
	sh_value = palloc0(sizeof(double) * Max(data.nstates, 1));

	for (int i = 0; i < data.nrows; i++)
	{
		total_conv += data.rows[i].conversions;
		total_value += data.rows[i].value;
		for (int k = 0; k < data.rows[i].ndistinct; k++)
		{
			through[data.rows[i].distinct[k]] += data.rows[i].conversions + data.rows[i].nulls;
			converting[data.rows[i].distinct[k]] += data.rows[i].conversions;
		}
	}
	converts = removal_effects(&data, effect);
	shapley_values(&data, sh_conv, sh_value);
	for (int s = 0; s < data.nstates; s++)
		total_effect += effect[s];

	for (int s = 0; s < data.nstates; s++)
	{
		Datum		values[8];
		bool		nulls[8] = {false};
		double		share = total_effect > 0 ? effect[s] / total_effect : 0;

		values[0] = CStringGetTextDatum(data.names[s]);
		values[1] = Float8GetDatum(through[s]);
		values[2] = Float8GetDatum(converting[s]);
		nulls[3] = !converts;	/* no conversion to remove */
		values[3] = Float8GetDatum(effect[s]);
		values[4] = Float8GetDatum(cs_check_result("markov conversions", total_conv * share));
		values[5] = Float8GetDatum(cs_check_result("markov value", total_value * share));
		values[6] = Float8GetDatum(cs_check_result("shapley conversions", sh_conv[s]));
		values[7] = Float8GetDatum(cs_check_result("shapley value", sh_value[s]));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
