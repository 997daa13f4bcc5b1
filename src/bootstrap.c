/*
 * bootstrap.c — prediction_intervals(purchases, spend, customers, horizon, level, replicates,
 * seed, discount_rate, step): each customer's expected purchases, spend and CLV with bootstrap
 * intervals at the given level, for any counting purchase model (BG/NBD, MBG/NBD, Pareto/NBD)
 * with Gamma-Gamma.  The purchase model comes in as its CountingPredictions (counting.h): its
 * spec refits it and its callbacks predict, so each model's SQL symbol is an entry of
 * CS_COUNTING_FUNCTIONS.
 *
 * Each replicate resamples the customers with replacement (n draws from n, by a pg_prng
 * stream seeded with seed, so a seed gives the same intervals on every run), refits the
 * purchase model and Gamma-Gamma on histograms of the resampled histories (cs_refit: from the
 * full data's optimum with its curvature, which is where a resample's optimum is found in a
 * few steps, instead of every start of the aggregates' fits), and predicts every customer with
 * the refitted pair.  The interval is the
 * (1 - level)/2 and (1 + level)/2 quantiles of the replicates (linear interpolation between
 * order statistics, R's type 7); the point values come from the models passed in.
 *
 * Customers are grouped into distinct (frequency, recency, t) histories (what a purchase fit
 * sees), distinct Gamma-Gamma histories of repeat buyers with positive spend, and distinct
 * (frequency, recency, t, monetary) predictions, so the cost of a replicate is n draws, two
 * fits over the distinct histories and one prediction per distinct customer history.  A
 * replicate's discounted CLV is the expected spend times the purchase model's discounted
 * purchases, which depend on the purchase history alone: they are computed once per purchase
 * history, with P(alive) once for all the steps.
 */
#include "postgres.h"

#include <math.h>

#include "common/pg_prng.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "action_reader.h"
#include "counting.h"
#include "gamma_gamma.h"
#include "history.h"
#include "interrupts.h"
#include "model.h"
#include "validate.h"
#include "validation.h"

#define BOOTSTRAP_MAX_REPLICATES 100000

/* The customers as read, and the distinct histories they map to. */
typedef struct BootData
{
	int64		n;
	int64	   *customer_id;
	int64	   *frequency;
	double	   *recency;		/* 0 without a repeat purchase, as the fits see it */
	double	   *t;
	double	   *monetary;
	int32	   *bg_of;			/* each customer's purchase-model history */
	int32	   *gg_of;			/* its Gamma-Gamma history, -1 when it enters no spend fit */
	int32	   *pred_of;		/* its prediction key */
	int32		nbg,
				ngg,
				npred;
	int64	   *first_bg;		/* a customer with each history, to read its keys */
	int64	   *first_gg;
	int64	   *first_pred;
} BootData;

/* sort context: which keys order the customers */
typedef struct KeyOrder
{
	const BootData *d;
	int			nkeys;			/* 2: (frequency, monetary); 3: + recency, t; 4: all */
} KeyOrder;

/* the key-th component of customer c's history for the given order */
static inline double
key_of(const KeyOrder *o, int64 c, int key)
{
	if (o->nkeys == 2)
		return key == 0 ? (double) o->d->frequency[c] : o->d->monetary[c];
	switch (key)
	{
		case 0:
			return (double) o->d->frequency[c];
		case 1:
			return o->d->recency[c];
		case 2:
			return o->d->t[c];
		default:
			return o->d->monetary[c];
	}
}

static int
customer_key_cmp(const void *a, const void *b, void *arg)
{
	const KeyOrder *o = arg;
	int64		ca = *(const int64 *) a;
	int64		cb = *(const int64 *) b;

	for (int k = 0; k < o->nkeys; k++)
	{
		double		ka = key_of(o, ca, k),
					kb = key_of(o, cb, k);

		if (ka != kb)
			return (ka > kb) - (ka < kb);
	}
	return 0;
}

/*
 * Numbers the distinct histories of the customers selected by include (all when NULL) under
 * the given key order: of[c] is c's history (-1 when not included), first[h] a customer of h.
 */
static int32
number_histories(const BootData *d, int nkeys, const bool *include, int32 *of, int64 **first)
{
	KeyOrder	o = {d, nkeys};
	int64	   *order = palloc(sizeof(int64) * d->n);
	int64		m = 0;
	int32		nh = 0;

	for (int64 c = 0; c < d->n; c++)
	{
		of[c] = -1;
		if (include == NULL || include[c])
			order[m++] = c;
	}
	qsort_arg(order, m, sizeof(int64), customer_key_cmp, &o);
	*first = palloc(sizeof(int64) * Max(m, 1));
	for (int64 i = 0; i < m; i++)
	{
		if (i == 0 || customer_key_cmp(&order[i], &order[i - 1], &o) != 0)
			(*first)[nh++] = order[i];
		of[order[i]] = nh - 1;
	}
	pfree(order);
	return nh;
}

/* Reads and checks the customers of the query, and numbers their histories. */
static void
read_customers(BootData *d, const char *sql)
{
	CsColumn	columns[] = {
		{.name = "customer_id",.kind = CS_COL_INT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "frequency",.kind = CS_COL_INT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "recency",.kind = CS_COL_FLOAT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "t",.kind = CS_COL_FLOAT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{.name = "monetary",.kind = CS_COL_FLOAT8,.flags = CS_COL_REQUIRED | CS_COL_NOT_NULL},
	};
	int64		nrows = cs_read_columns("customers", sql, columns, lengthof(columns));
	bool	   *spends;

	if (nrows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the customers query returned no rows"),
				 errdetail("Query: %s", sql)));

	d->n = nrows;
	d->customer_id = CS_COL_INT8S(&columns[0]);
	d->frequency = CS_COL_INT8S(&columns[1]);
	d->recency = CS_COL_FLOAT8S(&columns[2]);
	d->t = CS_COL_FLOAT8S(&columns[3]);
	d->monetary = CS_COL_FLOAT8S(&columns[4]);
	spends = palloc(sizeof(bool) * d->n);
	for (int64 c = 0; c < d->n; c++)
	{
		if ((c & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (d->frequency[c] > PG_INT32_MAX)
			cs_reject("frequency", "at most 2147483647", (double) d->frequency[c]);
		cs_check_history(d->frequency[c], d->recency[c], d->t[c]);
		cs_check_non_negative("monetary", d->monetary[c]);
		if (d->frequency[c] == 0)
			d->recency[c] = 0;	/* carries no information without a repeat purchase */
		spends[c] = d->frequency[c] > 0 && d->monetary[c] > 0;
	}
	d->bg_of = palloc(sizeof(int32) * d->n);
	d->gg_of = palloc(sizeof(int32) * d->n);
	d->pred_of = palloc(sizeof(int32) * d->n);
	d->nbg = number_histories(d, 3, NULL, d->bg_of, &d->first_bg);
	d->ngg = number_histories(d, 2, spends, d->gg_of, &d->first_gg);
	d->npred = number_histories(d, 4, NULL, d->pred_of, &d->first_pred);
	if (d->ngg == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no customer has a repeat purchase with positive monetary value"),
				 errdetail("The spend model cannot be refitted without one.")));
}

/*
 * A history state of the given kind from the counts of its distinct histories: the purchase
 * histories for HISTORY_BGNBD (the counting models' kind), the spend histories otherwise.
 */
static HistoryState *
history_from_counts(const BootData *d, HistoryKind kind, const int64 *counts)
{
	int32		nh = kind == HISTORY_BGNBD ? d->nbg : d->ngg;
	const int64 *first = kind == HISTORY_BGNBD ? d->first_bg : d->first_gg;
	HistoryState *state = palloc0(HISTORY_HEADER_SIZE + sizeof(HistoryPoint) * Max(nh, 1));

	SET_VARSIZE(state, HISTORY_HEADER_SIZE + sizeof(HistoryPoint) * Max(nh, 1));
	state->version = HISTORY_VERSION;
	state->kind = kind;
	for (int32 h = 0; h < nh; h++)
	{
		int64		c = first[h];
		HistoryPoint *p = &state->points[state->used];

		if (counts[h] == 0)
			continue;
		p->key[0] = (double) d->frequency[c];
		p->key[1] = kind == HISTORY_BGNBD ? d->recency[c] : d->monetary[c];
		p->key[2] = kind == HISTORY_BGNBD ? d->t[c] : 0;
		p->count = counts[h];
		state->used++;
	}
	return state;
}

/* A copy of a model value (any model type: a varlena) in the current context. */
static void *
copy_model(const void *model)
{
	void	   *copy = palloc(VARSIZE(model));

	memcpy(copy, model, VARSIZE(model));
	return copy;
}

/* How many customers have each history: of[c] over n customers into nh counts. */
static int64 *
history_multiplicities(const BootData *d, const int32 *of, int32 nh)
{
	int64	   *counts = palloc0(sizeof(int64) * Max(nh, 1));

	for (int64 c = 0; c < d->n; c++)
		if (of[c] >= 0)
			counts[of[c]]++;
	return counts;
}

/*
 * The refitted models of each replicate, allocated in the caller's context.  Each purchase and
 * spend refit starts from the full data's optimum (cs_refit); a resample that happens to equal
 * the data is the full data's fit.
 */
static void
fit_replicates(const CountingPredictions *cp, const BootData *d, int32 replicates, int64 seed,
			   void **bg_models, GammaGammaModel **gg_models)
{
	MemoryContext keep = CurrentMemoryContext;
	MemoryContext scratch = AllocSetContextCreate(keep, "customer_score bootstrap fit",
												  ALLOCSET_DEFAULT_SIZES);
	int64	   *bg_counts = palloc(sizeof(int64) * d->nbg);
	int64	   *gg_counts = palloc(sizeof(int64) * Max(d->ngg, 1));
	int64	   *bg_all = history_multiplicities(d, d->bg_of, d->nbg);
	int64	   *gg_all = history_multiplicities(d, d->gg_of, d->ngg);
	CsRefit		bg_refit,
				gg_refit;
	pg_prng_state rng;

	cs_refit_init(&bg_refit, cp->spec, history_from_counts(d, cp->spec->history, bg_all));
	cs_refit_init(&gg_refit, &gamma_gamma_spec, history_from_counts(d, HISTORY_GAMMA_GAMMA, gg_all));
	pg_prng_seed(&rng, (uint64) seed);
	for (int32 b = 0; b < replicates; b++)
	{
		int64		spenders = 0;
		void	   *bg;
		void	   *gg;

		memset(bg_counts, 0, sizeof(int64) * d->nbg);
		memset(gg_counts, 0, sizeof(int64) * Max(d->ngg, 1));
		for (int64 i = 0; i < d->n; i++)
		{
			int64		c = (int64) pg_prng_uint64_range(&rng, 0, (uint64) (d->n - 1));

			if ((i & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
			bg_counts[d->bg_of[c]]++;
			if (d->gg_of[c] >= 0)
			{
				gg_counts[d->gg_of[c]]++;
				spenders++;
			}
		}
		if (spenders == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("bootstrap replicate %d drew no customer with a repeat purchase", b + 1),
					 errhint("Bootstrap needs more repeat buyers; with very few the intervals are meaningless.")));
		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(scratch);
		if (memcmp(bg_counts, bg_all, sizeof(int64) * d->nbg) == 0)
			bg = bg_refit.full;
		else
			bg = cs_refit(&bg_refit, history_from_counts(d, cp->spec->history, bg_counts));
		if (memcmp(gg_counts, gg_all, sizeof(int64) * d->ngg) == 0)
			gg = gg_refit.full;
		else
			gg = cs_refit(&gg_refit, history_from_counts(d, HISTORY_GAMMA_GAMMA, gg_counts));
		MemoryContextSwitchTo(keep);
		bg_models[b] = copy_model(bg);
		gg_models[b] = copy_model(gg);
		MemoryContextReset(scratch);
	}
	MemoryContextDelete(scratch);
}

/* The three predictions of one customer under one pair of models. */
typedef struct Prediction
{
	double		purchases;
	double		spend;
	double		clv;
} Prediction;

typedef struct Horizon
{
	double		horizon;
	double		discount_rate;
	double		step;
	/* the replicates' CLV steps, as clv() takes them (horizon_steps) */
	int			nsteps;
	double	   *ends;			/* each step's end, min(k step, horizon) */
	double	   *discounts;		/* 1 / (1 + discount_rate)^(end / step) */
	double	   *expected;		/* scratch: the alive customer's expectation at each end */
} Horizon;

/* The steps of clv(): ceil(horizon / step) of them, the last ending at the horizon. */
static void
horizon_steps(Horizon *h)
{
	h->nsteps = (int) ceil(h->horizon / h->step - 1e-9);
	h->ends = palloc(sizeof(double) * (h->nsteps + 1));
	h->discounts = palloc(sizeof(double) * (h->nsteps + 1));
	h->expected = palloc(sizeof(double) * (h->nsteps + 1));
	for (int k = 1; k <= h->nsteps; k++)
	{
		h->ends[k - 1] = fmin(k * h->step, h->horizon);
		h->discounts[k - 1] = 1.0 / pow(1.0 + h->discount_rate, h->ends[k - 1] / h->step);
	}
}

/* The point predictions of customer c under the models given: clv as clv() computes it. */
static Prediction
predict(const CountingPredictions *cp, const void *bg, const GammaGammaModel *gg, const BootData *d,
		int64 c, const Horizon *h)
{
	Prediction	p;

	p.purchases = cp->expected(bg, h->horizon, d->frequency[c], d->recency[c], d->t[c]);
	p.spend = gamma_gamma_expected_spend(gg, d->frequency[c], d->monetary[c]);
	p.clv = counting_clv(cp, bg, gg, (int32) d->frequency[c], d->recency[c], d->t[c],
						 d->monetary[c], h->horizon, h->discount_rate, h->step);
	return p;
}

/*
 * A replicate's purchases of customer c over the horizon, and their discounted sum over the
 * steps: clv() is the expected spend times that sum (the same value up to rounding), so one
 * purchase model's sum serves every spend of the history.  Without discounting the sum
 * telescopes to the purchases; with it the last step's expectation is the purchases.
 */
static void
replicate_purchases(const CountingPredictions *cp, const void *bg, const BootData *d, int64 c,
					const Horizon *h, double *purchases, double *discounted)
{
	double		p_alive,
				previous = 0,
				sum = 0;

	if (h->discount_rate == 0 || h->nsteps == 0)
	{
		*purchases = *discounted = cp->expected(bg, h->horizon, d->frequency[c], d->recency[c], d->t[c]);
		return;
	}
	/* P(alive) once, and the alive customer's expectation at every step's end in one call */
	p_alive = cp->p_alive(bg, d->frequency[c], d->recency[c], d->t[c]);
	cp->expected_if_alive(bg, d->frequency[c], d->t[c], h->ends, h->nsteps, h->expected);
	for (int k = 0; k < h->nsteps; k++)
	{
		double		expected = p_alive * h->expected[k];

		sum += (expected - previous) * h->discounts[k];
		previous = expected;
	}
	if (h->ends[h->nsteps - 1] != h->horizon)
	{
		cp->expected_if_alive(bg, d->frequency[c], d->t[c], &h->horizon, 1, h->expected);
		previous = p_alive * h->expected[0];
	}
	*purchases = previous;
	*discounted = sum;
}

/*
 * Rearranges values[0..n) so that values[k] is the k-th smallest (0-based), none before it
 * larger and none after it smaller (Hoare's selection, median-of-three pivots): a quantile
 * needs two order statistics, not the whole order.
 */
static double
select_kth(double *values, int32 n, int32 k)
{
	int32		lo = 0,
				hi = n - 1;

	while (lo < hi)
	{
		int32		mid = lo + (hi - lo) / 2;
		double		a = values[lo],
					b = values[mid],
					c = values[hi];
		double		pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
		int32		i = lo,
					j = hi;

		while (i <= j)
		{
			while (values[i] < pivot)
				i++;
			while (values[j] > pivot)
				j--;
			if (i <= j)
			{
				double		swap = values[i];

				values[i++] = values[j];
				values[j--] = swap;
			}
		}
		/* values[lo..j] <= pivot <= values[i..hi], and values strictly between j and i equal it */
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return values[k];
}

/* The p-quantile of values[0..n), rearranged in place (R's type 7). */
static double
quantile(double *values, int32 n, double p)
{
	double		h = (n - 1) * p;
	int32		lo = (int32) floor(h);
	double		below,
				above;

	if (lo >= n - 1)
		lo = n - 1;
	below = select_kth(values, n, lo);
	if (lo == n - 1)
		return below;
	/* the next order statistic: the smallest of those after the selected one */
	above = values[lo + 1];
	for (int32 i = lo + 2; i < n; i++)
		above = fmin(above, values[i]);
	return below + (h - lo) * (above - below);
}

/*
 * prediction_intervals(purchase model, gamma_gamma, ...) for the counting model of cp; each
 * model's SQL symbol prediction_intervals_PREFIX_gamma_gamma is an entry of
 * CS_COUNTING_FUNCTIONS (counting.h).
 */
Datum
counting_prediction_intervals_sql(const CountingPredictions *cp, FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	void	   *bg = PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	GammaGammaModel *gg = DatumGetGammaGammaModel(PG_GETARG_DATUM(1));
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(2));
	Horizon		h = {PG_GETARG_FLOAT8(3), PG_GETARG_FLOAT8(7), PG_GETARG_FLOAT8(8)};
	double		level = PG_GETARG_FLOAT8(4);
	int32		replicates = PG_GETARG_INT32(5);
	int64		seed = PG_GETARG_INT64(6);
	MemoryContext cxt,
				old;
	BootData	d;
	void	  **bg_models;
	GammaGammaModel **gg_models;
	double	   *draws;
	double	   *purchases,		/* one purchase history's replicates: purchases, */
			   *discounted;		/* and their discounted sum (replicate_purchases) */
	double	   *bounds;			/* per prediction key: lower and upper of the three */
	Prediction *points;			/* per prediction key: the point values */

	if (!(level > 0 && level < 1))
		cs_reject("level", "between 0 and 1 (exclusive)", level);
	if (replicates < 2 || replicates > BOOTSTRAP_MAX_REPLICATES)
		cs_reject("replicates", "between 2 and 100000", (double) replicates);
	cs_check_non_negative("horizon", h.horizon);
	cs_check_positive("step", h.step);
	InitMaterializedSRF(fcinfo, 0);

	cxt = AllocSetContextCreate(CurrentMemoryContext, "customer_score bootstrap", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	read_customers(&d, sql);
	/* the point predictions first: they check horizon, discount_rate and step for every customer */
	(void) predict(cp, bg, gg, &d, 0, &h);
	horizon_steps(&h);
	bg_models = palloc(sizeof(void *) * replicates);
	gg_models = palloc(sizeof(GammaGammaModel *) * replicates);
	fit_replicates(cp, &d, replicates, seed, bg_models, gg_models);

	draws = palloc(sizeof(double) * replicates * 3);
	purchases = palloc(sizeof(double) * replicates);
	discounted = palloc(sizeof(double) * replicates);
	bounds = palloc(sizeof(double) * 6 * d.npred);
	points = palloc(sizeof(Prediction) * d.npred);
	/* prediction keys sort by the purchase history first: each history's keys are consecutive */
	for (int32 k = 0; k < d.npred; k++)
	{
		int64		c = d.first_pred[k];

		CHECK_FOR_INTERRUPTS();
		points[k] = predict(cp, bg, gg, &d, c, &h);
		if (k == 0 || d.bg_of[c] != d.bg_of[d.first_pred[k - 1]])
			for (int32 b = 0; b < replicates; b++)
				replicate_purchases(cp, bg_models[b], &d, c, &h, &purchases[b], &discounted[b]);
		for (int32 b = 0; b < replicates; b++)
		{
			double		spend = gamma_gamma_expected_spend(gg_models[b], d.frequency[c], d.monetary[c]);

			draws[b] = purchases[b];
			draws[replicates + b] = spend;
			draws[2 * replicates + b] = cs_check_result("clv", spend * discounted[b]);
		}
		for (int j = 0; j < 3; j++)
		{
			bounds[6 * k + 2 * j] = quantile(draws + j * replicates, replicates, (1 - level) / 2);
			bounds[6 * k + 2 * j + 1] = quantile(draws + j * replicates, replicates, (1 + level) / 2);
		}
	}

	for (int64 c = 0; c < d.n; c++)
	{
		Prediction	p = points[d.pred_of[c]];
		const double *bk = &bounds[6 * d.pred_of[c]];
		Datum		values[10];
		bool		nulls[10] = {false};

		values[0] = Int64GetDatum(d.customer_id[c]);
		values[1] = Float8GetDatum(cs_check_result("expected purchases", p.purchases));
		values[4] = Float8GetDatum(cs_check_result("expected spend", p.spend));
		values[7] = Float8GetDatum(p.clv);
		for (int j = 0; j < 3; j++)
		{
			values[3 * j + 2] = Float8GetDatum(cs_check_result("a prediction bound", bk[2 * j]));
			values[3 * j + 3] = Float8GetDatum(cs_check_result("a prediction bound", bk[2 * j + 1]));
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return (Datum) 0;
}
