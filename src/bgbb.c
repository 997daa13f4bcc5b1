/*
 * bgbb.c — the BG/BB model: its likelihood with gradient, its description
 * (bgbb_spec, from which model.c makes the type, its state and its fit) and
 * its predictions.
 *
 * A customer observed for n periods made x transactions, the last in period
 * t_x (0 when x = 0).  With B the beta function (Fader, Hardie & Shang 2010):
 *
 *   L = B(alpha+x, beta+n-x)/B(alpha,beta) B(gamma, delta+n)/B(gamma,delta)
 *     + sum_{i=0}^{n-t_x-1} B(alpha+x, beta+t_x-x+i)/B(alpha,beta)
 *                            B(gamma+1, delta+t_x+i)/B(gamma,delta)
 *
 * the first term for a customer alive through period n, the others for one
 * who dropped out after period t_x + i.  Every term is a sum of lgamma
 * values, added in log space.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "miscadmin.h"

#include "bgbb.h"
#include "history.h"
#include "model.h"
#include "numeric.h"
#include "validate.h"

/* The fit's data: the distinct histories of the compacted state. */
typedef struct BgbbData
{
	int32		n;
	const HistoryPoint *points;	/* keys: x, t_x, periods */
	double		total;
} BgbbData;

/* Running log-sum-exp of terms with their gradients, rescaled as the maximum moves. */
typedef struct BgbbSum
{
	double		max;			/* the largest log term so far */
	double		sum;			/* sum of exp(term - max) */
	double		grad[4];		/* sum of exp(term - max) * d term */
} BgbbSum;

/* Add exp(term) with gradient g (NULL: no gradient) to the running sum. */
static inline void
bgbb_sum_add(BgbbSum *acc, double term, const double *g)
{
	double		w;

	if (term > acc->max)
	{
		double		shrink = exp(acc->max - term);

		acc->sum *= shrink;
		for (int j = 0; j < 4; j++)
			acc->grad[j] *= shrink;
		acc->max = term;
	}
	w = exp(term - acc->max);
	acc->sum += w;
	if (g)
		for (int j = 0; j < 4; j++)
			acc->grad[j] += w * g[j];
}

/*
 * log L + log B(alpha,beta) + log B(gamma,delta) of one history at p =
 * (alpha, beta, gamma, delta), and when grad is not NULL its gradient in p.
 * The dropout terms follow each other by B(a, b+1) = B(a, b) b/(a+b) and
 * psi(y+1) = psi(y) + 1/y, so a long silence costs a few divisions a period.
 */
static double
bgbb_point(const double *p, double x, double t_x, double n, double *grad)
{
	BgbbSum		acc = {-INFINITY, 0, {0, 0, 0, 0}};
	double		g[4];
	double		m = t_x - x;	/* the dropout terms' beta offset, at i = 0 */
	double		psi_ax = grad ? cs_digamma(p[0] + x) : 0,
				psi_g1 = grad ? cs_digamma(p[2] + 1) : 0;
	double		psi_bm,
				psi_abm,
				psi_dk,
				psi_gdk;
	double		term;

	/* alive through period n: B(alpha+x, beta+n-x) B(gamma, delta+n) */
	term = cs_lbeta(p[0] + x, p[1] + n - x) + cs_lbeta(p[2], p[3] + n);
	if (grad)
	{
		double		psi_ab = cs_digamma(p[0] + p[1] + n),
					psi_gd = cs_digamma(p[2] + p[3] + n);

		g[0] = psi_ax - psi_ab;
		g[1] = cs_digamma(p[1] + n - x) - psi_ab;
		g[2] = cs_digamma(p[2]) - psi_gd;
		g[3] = cs_digamma(p[3] + n) - psi_gd;
	}
	bgbb_sum_add(&acc, term, grad ? g : NULL);

	/* dropped out after period t_x + i: B(alpha+x, beta+m+i) B(gamma+1, delta+t_x+i) */
	term = cs_lbeta(p[0] + x, p[1] + m) + cs_lbeta(p[2] + 1, p[3] + t_x);
	psi_bm = grad ? cs_digamma(p[1] + m) : 0;
	psi_abm = grad ? cs_digamma(p[0] + p[1] + t_x) : 0;
	psi_dk = grad ? cs_digamma(p[3] + t_x) : 0;
	psi_gdk = grad ? cs_digamma(p[2] + p[3] + 1 + t_x) : 0;
	for (double i = 0; i < n - t_x; i++)
	{
		double		bm = p[1] + m + i,
					abm = p[0] + p[1] + t_x + i,
					dk = p[3] + t_x + i,
					gdk = p[2] + p[3] + 1 + t_x + i;

		if (fmod(i, 65536) == 65535)
			CHECK_FOR_INTERRUPTS();
		if (grad)
		{
			g[0] = psi_ax - psi_abm;
			g[1] = psi_bm - psi_abm;
			g[2] = psi_g1 - psi_gdk;
			g[3] = psi_dk - psi_gdk;
			psi_bm += 1 / bm;
			psi_abm += 1 / abm;
			psi_dk += 1 / dk;
			psi_gdk += 1 / gdk;
		}
		bgbb_sum_add(&acc, term, grad ? g : NULL);
		term += log(bm / abm) + log(dk / gdk);
	}
	if (grad)
		for (int j = 0; j < 4; j++)
			grad[j] = acc.grad[j] / acc.sum;
	return acc.max + log(acc.sum);
}

/*
 * Minus the mean log-likelihood at log-parameters theta, and its gradient
 * (log L of each customer is the log-sum-exp of its terms; its gradient the
 * terms' gradients weighted by their shares of L).
 */
static double
bgbb_objective(const double *theta, double *grad, void *arg)
{
	BgbbData   *data = arg;
	double		p[4],
				base_grad[4],
				point_grad[4],
				total_grad[4] = {0, 0, 0, 0};
	double		base,
				ll = 0;

	for (int j = 0; j < 4; j++)
		p[j] = exp(theta[j]);
	base = cs_lbeta(p[0], p[1]) + cs_lbeta(p[2], p[3]);
	base_grad[0] = cs_digamma(p[0]) - cs_digamma(p[0] + p[1]);
	base_grad[1] = cs_digamma(p[1]) - cs_digamma(p[0] + p[1]);
	base_grad[2] = cs_digamma(p[2]) - cs_digamma(p[2] + p[3]);
	base_grad[3] = cs_digamma(p[3]) - cs_digamma(p[2] + p[3]);

	for (int32 i = 0; i < data->n; i++)
	{
		const HistoryPoint *pt = &data->points[i];
		double		w = (double) pt->count;

		CHECK_FOR_INTERRUPTS();
		ll += w * (bgbb_point(p, pt->key[0], pt->key[1], pt->key[2], point_grad) - base);
		for (int j = 0; j < 4; j++)
			total_grad[j] += w * (point_grad[j] - base_grad[j]);
	}
	if (!isfinite(ll))
		return INFINITY;
	for (int j = 0; j < 4; j++)
		grad[j] = -total_grad[j] * p[j] / data->total;
	return -ll / data->total;
}

/* The objective's data from a compacted state: the points as they are. */
static void
bgbb_prepare(const HistoryState *state, CsFitData *out)
{
	BgbbData   *data = palloc0(sizeof(BgbbData));
	double		transactions = 0;

	data->n = state->used;
	data->points = state->points;
	for (int32 i = 0; i < data->n; i++)
	{
		data->total += (double) state->points[i].count;
		transactions += state->points[i].key[0];
	}
	out->arg = data;
	out->total = data->total;
	out->identified = transactions > 0;
}

static const double bgbb_starts[][CS_OPT_MAX_PARAMS] = {
	{1.0, 1.0, 1.0, 1.0},
	{1.2, 0.75, 0.65, 2.8},
	{0.5, 2.0, 0.3, 5.0},
};

static const CsModelSpec bgbb_spec = {
	.type_name = "bgbb",
	.label = "BG/BB",
	.version = BGBB_VERSION,
	.nparams = 4,
	.param_names = {"alpha", "beta", "gamma", "delta"},
	.scaled_params = 0,
	.history = HISTORY_BGBB,
	.state_name = "bgbb_state",
	.prepare = bgbb_prepare,
	.objective = bgbb_objective,
	.nstarts = lengthof(bgbb_starts),
	.starts = bgbb_starts,
};

CS_MODEL_FUNCTIONS(bgbb, bgbb_spec)

/* bgbb_fit(frequency int, recency int, periods int, customers bigint) */
PG_FUNCTION_INFO_V1(bgbb_fit_transfn);
Datum
bgbb_fit_transfn(PG_FUNCTION_ARGS)
{
	return history_weighted_transfn(fcinfo, HISTORY_BGBB, "bgbb_fit_transfn");
}

/* ---------------------------------------------------------------------
 * Predictions, for a validated history (x, t_x, n)
 * ---------------------------------------------------------------------
 */

/* log L of one customer: the log-sum-exp of the terms in the header comment. */
double
bgbb_log_likelihood(const BgbbModel *m, double x, double t_x, double n)
{
	double		p[4] = {m->alpha, m->beta, m->gamma, m->delta};

	return bgbb_point(p, x, t_x, n, NULL) - cs_lbeta(m->alpha, m->beta) -
		cs_lbeta(m->gamma, m->delta);
}

/* P(alive at the next opportunity, period n + 1) given the history */
double
bgbb_p_alive(const BgbbModel *m, double x, double t_x, double n)
{
	double		alive = cs_lbeta(m->alpha + x, m->beta + n - x) - cs_lbeta(m->alpha, m->beta) +
		cs_lbeta(m->gamma, m->delta + n + 1) - cs_lbeta(m->gamma, m->delta);

	return fmin(1.0, exp(alive - bgbb_log_likelihood(m, x, t_x, n)));
}

/*
 * log sum_{s=1}^{horizon} B(gamma, delta+n+s)/B(gamma, delta), the expected
 * opportunities survived in (n, n + horizon].  Each term is the one before
 * times (delta+n+s)/(gamma+delta+n+s), so the sum is the first term times a
 * sum of products in (0, 1]: no cancellation near gamma = 1, where the
 * telescoped closed form divides by gamma - 1.  It stops once the terms no
 * longer change the sum.
 */
static double
bgbb_log_survived(double gamma, double delta, double n, double horizon)
{
	double		first = cs_lbeta(gamma, delta + n + 1) - cs_lbeta(gamma, delta);
	double		sum = 0,
				ratio = 1;

	for (double s = 1; s <= horizon && ratio > sum * 1e-17; s++)
	{
		if (fmod(s, 65536) == 0)
			CHECK_FOR_INTERRUPTS();
		sum += ratio;
		ratio *= (delta + n + s) / (gamma + delta + n + s);
	}
	return first + log(sum);
}

/*
 * E[transactions in periods n+1 .. n+horizon | x, t_x, n]: the posterior mean
 * of p (among the alive) times the opportunities survived, over L.  A new
 * customer is (0, 0, 0), for whom L = 1.
 */
double
bgbb_expected(const BgbbModel *m, double horizon, double x, double t_x, double n)
{
	if (horizon == 0)
		return 0.0;
	return exp(cs_lbeta(m->alpha + x + 1, m->beta + n - x) - cs_lbeta(m->alpha, m->beta) +
			   bgbb_log_survived(m->gamma, m->delta, n, horizon) -
			   bgbb_log_likelihood(m, x, t_x, n));
}

/*
 * P(X(n) = x): the probability that a new customer makes exactly x
 * transactions in her first n opportunities (Fader, Hardie & Shang 2010,
 * eq. 7): alive through all n, C(n, x) B(alpha+x, beta+n-x) B(gamma, delta+n),
 * or dropped out after opportunity i (x <= i < n), C(i, x) B(alpha+x,
 * beta+i-x) B(gamma+1, delta+i); each over B(alpha, beta) B(gamma, delta),
 * added in log space.
 */
double
bgbb_pmf(const BgbbModel *m, double n, double x)
{
	double		base = cs_lbeta(m->alpha, m->beta) + cs_lbeta(m->gamma, m->delta);
	double		sum;

	if (x < 0 || x > n)
		return 0.0;
	/* log C(n, x) = -log(n + 1) - log B(n - x + 1, x + 1) */
	sum = -log(n + 1) - cs_lbeta(n - x + 1, x + 1) +
		cs_lbeta(m->alpha + x, m->beta + n - x) + cs_lbeta(m->gamma, m->delta + n);
	for (double i = x; i < n; i++)
	{
		if (fmod(i, 65536) == 65535)
			CHECK_FOR_INTERRUPTS();
		sum = cs_log_add_exp(sum, -log(i + 1) - cs_lbeta(i - x + 1, x + 1) +
							 cs_lbeta(m->alpha + x, m->beta + i - x) +
							 cs_lbeta(m->gamma + 1, m->delta + i));
	}
	return fmin(1.0, exp(sum - base));
}

/* The model argument and a validated history (frequency, recency, periods) from args 0..3. */
static const BgbbModel *
bgbb_history_args(FunctionCallInfo fcinfo, int first, double *key)
{
	key[0] = PG_GETARG_INT32(first);
	key[1] = PG_GETARG_INT32(first + 1);
	key[2] = PG_GETARG_INT32(first + 2);
	history_validate_key(HISTORY_BGBB, key);
	return (const BgbbModel *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
}

/* A horizon of whole periods, at most as long as a history may be. */
static void
bgbb_check_horizon(int32 horizon)
{
	if (horizon < 0 || horizon > HISTORY_BGBB_MAX_PERIODS)
		cs_reject("horizon", "a number of periods from 0 to " CppAsString2(HISTORY_BGBB_MAX_PERIODS),
				  horizon);
}

/* p_alive(bgbb, frequency, recency, periods) */
PG_FUNCTION_INFO_V1(bgbb_p_alive_sql);
Datum
bgbb_p_alive_sql(PG_FUNCTION_ARGS)
{
	double		key[HISTORY_MAX_KEYS];
	const BgbbModel *m = bgbb_history_args(fcinfo, 1, key);

	PG_RETURN_FLOAT8(cs_check_result("P(alive)", bgbb_p_alive(m, key[0], key[1], key[2])));
}

/* expected_purchases(bgbb, horizon, frequency, recency, periods) */
PG_FUNCTION_INFO_V1(bgbb_expected_purchases_sql);
Datum
bgbb_expected_purchases_sql(PG_FUNCTION_ARGS)
{
	double		key[HISTORY_MAX_KEYS];
	const BgbbModel *m = bgbb_history_args(fcinfo, 2, key);
	int32		horizon = PG_GETARG_INT32(1);

	bgbb_check_horizon(horizon);
	PG_RETURN_FLOAT8(cs_check_result("expected transactions",
									 bgbb_expected(m, horizon, key[0], key[1], key[2])));
}

/* expected_purchases(bgbb, horizon): a new customer's transactions in periods 1 .. horizon */
PG_FUNCTION_INFO_V1(bgbb_expected_purchases_new);
Datum
bgbb_expected_purchases_new(PG_FUNCTION_ARGS)
{
	const BgbbModel *m = (const BgbbModel *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	int32		horizon = PG_GETARG_INT32(1);

	bgbb_check_horizon(horizon);
	PG_RETURN_FLOAT8(cs_check_result("expected transactions", bgbb_expected(m, horizon, 0, 0, 0)));
}

/* purchase_probability(bgbb, horizon, n): P(X(horizon) = n) for a new customer */
PG_FUNCTION_INFO_V1(bgbb_purchase_probability_sql);
Datum
bgbb_purchase_probability_sql(PG_FUNCTION_ARGS)
{
	const BgbbModel *m = (const BgbbModel *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	int32		horizon = PG_GETARG_INT32(1);
	int32		n = PG_GETARG_INT32(2);

	bgbb_check_horizon(horizon);
	if (n < 0)
		cs_reject("n", "non-negative", n);
	PG_RETURN_FLOAT8(cs_check_result("the purchase probability",
									 fmax(0.0, bgbb_pmf(m, horizon, n))));
}
