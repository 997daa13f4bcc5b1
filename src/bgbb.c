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

/* The fit's data: the distinct histories and, as scratch, one slot per term. */
typedef struct BgbbData
{
	int32		n;
	const HistoryPoint *points;	/* keys: x, t_x, periods */
	double		total;
	double	   *term_log;		/* log of each term of one customer's L */
	double	   *term_grad;		/* d log term / d (alpha, beta, gamma, delta), 4 per term */
} BgbbData;

/* log B(a + x, b + m) and its derivatives in a and b, written to g[0], g[1]. */
static double
lbeta_shifted(double a, double b, double x, double m, double *g)
{
	double		psi_sum = cs_digamma(a + b + x + m);

	g[0] = cs_digamma(a + x) - psi_sum;
	g[1] = cs_digamma(b + m) - psi_sum;
	return cs_lbeta(a + x, b + m);
}

/* One term of L: log B(alpha+x, beta+m) + log B(gamma+g, delta+k), and its gradient. */
static double
bgbb_term(const double *p, double x, double m, double g, double k, double *grad)
{
	return lbeta_shifted(p[0], p[1], x, m, grad) + lbeta_shifted(p[2], p[3], g, k, grad + 2);
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
	double		p[4];
	double		base_grad[4],
				total_grad[4] = {0, 0, 0, 0};
	double		base,
				ll = 0;

	for (int j = 0; j < 4; j++)
		p[j] = exp(theta[j]);
	base = lbeta_shifted(p[0], p[1], 0, 0, base_grad) + lbeta_shifted(p[2], p[3], 0, 0, base_grad + 2);

	for (int32 i = 0; i < data->n; i++)
	{
		double		x = data->points[i].key[0],
					t_x = data->points[i].key[1],
					n = data->points[i].key[2],
					w = (double) data->points[i].count;
		int32		nterms = (int32) (n - t_x) + 1;
		double		lse = -INFINITY;

		CHECK_FOR_INTERRUPTS();
		data->term_log[0] = bgbb_term(p, x, n - x, 0, n, data->term_grad);
		for (int32 k = 1; k < nterms; k++)
		{
			if ((k & 4095) == 0)
				CHECK_FOR_INTERRUPTS();
			data->term_log[k] = bgbb_term(p, x, t_x - x + k - 1, 1, t_x + k - 1,
										  data->term_grad + 4 * k);
		}
		for (int32 k = 0; k < nterms; k++)
			lse = cs_log_add_exp(lse, data->term_log[k]);
		ll += w * (lse - base);
		for (int32 k = 0; k < nterms; k++)
		{
			double		share = exp(data->term_log[k] - lse);

			for (int j = 0; j < 4; j++)
				total_grad[j] += w * share * (data->term_grad[4 * k + j] - base_grad[j]);
		}
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
	double		max_terms = 1,
				transactions = 0;

	data->n = state->used;
	data->points = state->points;
	for (int32 i = 0; i < data->n; i++)
	{
		max_terms = fmax(max_terms, state->points[i].key[2] - state->points[i].key[1] + 1);
		data->total += (double) state->points[i].count;
		transactions += state->points[i].key[0];
	}
	data->term_log = palloc(sizeof(double) * (Size) max_terms);
	data->term_grad = palloc(sizeof(double) * 4 * (Size) max_terms);
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
	double		lse = cs_lbeta(m->alpha + x, m->beta + n - x) + cs_lbeta(m->gamma, m->delta + n);

	for (double i = 0; i < n - t_x; i++)
	{
		if (fmod(i, 65536) == 0)
			CHECK_FOR_INTERRUPTS();
		lse = cs_log_add_exp(lse, cs_lbeta(m->alpha + x, m->beta + t_x - x + i) +
							 cs_lbeta(m->gamma + 1, m->delta + t_x + i));
	}
	return lse - cs_lbeta(m->alpha, m->beta) - cs_lbeta(m->gamma, m->delta);
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
