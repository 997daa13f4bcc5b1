/*
 * mbgnbd.c — the MBG/NBD model: its likelihood, its description
 * (mbgnbd_spec, from which model.c makes the type, its state and its fit)
 * and the predictions, which are BG/NBD's with the dropout posterior moved
 * by one purchase (bgnbd.c's bg_* functions).
 *
 * Notation as in bgnbd.c; after every purchase, the first included, the
 * customer drops out with probability p ~ Beta(a, b).
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "miscadmin.h"

#include "bgnbd.h"
#include "counting.h"
#include "mbgnbd.h"
#include "model.h"
#include "numeric.h"
#include "pochhammer.h"

/*
 * Minus the mean log-likelihood at log-parameters theta, and its gradient.
 * Per customer (Batislam et al. 2007):
 *
 *   ll = lgamma(r+x) - lgamma(r) + r log(alpha) + lbeta(a, b+x+1) - lbeta(a, b)
 *        + log( (alpha+T)^-(r+x) + a/(b+x) (alpha+t_x)^-(r+x) )
 *
 * BG/NBD's form with b+x+1 for b+x and the dropped branch open at x = 0.
 */
static double
mbgnbd_objective(const double *theta, double *grad, void *arg)
{
	CountingData *data = arg;
	double		r = exp(theta[0]),
				alpha = exp(theta[1]),
				a = exp(theta[2]),
				b = exp(theta[3]);
	double		log_alpha = theta[1],
				log_a = theta[2];
	double		ll = 0,
				g_r = 0,
				g_alpha = 0,
				g_a = 0,
				g_b = 0;
	Pochhammer	pr,
				pb,
				pab;
	int32		i = 0;

	for (int32 k = 0; k < data->ntimes; k++)
	{
		data->log_alpha_time[k] = log(alpha + data->times[k]);
		data->inv_alpha_time[k] = 1.0 / (alpha + data->times[k]);
	}
	pochhammer_start(&pr, r);
	pochhammer_start(&pb, b);
	pochhammer_start(&pab, a + b);

	while (i < data->n)
	{
		double		x = data->x[i];
		double		rx = r + x;
		double		common,
					drop_inv = 1.0 / (b + x),
					drop_log = log_a + log(drop_inv);

		/* one check per distinct x covers every evaluation of every optimiser iteration */
		CHECK_FOR_INTERRUPTS();
		pochhammer_advance(&pr, x);
		pochhammer_advance(&pb, x + 1.0);
		pochhammer_advance(&pab, x + 1.0);
		common = pr.log_sum + r * log_alpha + pb.log_sum - pab.log_sum;

		for (; i < data->n && data->x[i] == x; i++)
		{
			double		w = data->weight[i];
			int32		ti = data->t_index[i],
						txi = data->tx_index[i];
			double		active = -rx * data->log_alpha_time[ti];
			double		dropped = drop_log - rx * data->log_alpha_time[txi];
			double		w_active,
						w_drop;
			double		lse = cs_log_add_exp_shares(active, dropped, &w_active, &w_drop);

			if ((i & 4095) == 0)
				CHECK_FOR_INTERRUPTS();	/* one x can hold most of a million histories */
			ll += w * (common + lse);
			g_r += w * (pr.inv_sum + log_alpha - w_active * data->log_alpha_time[ti] -
						w_drop * data->log_alpha_time[txi]);
			g_alpha += w * (r / alpha - rx * (w_active * data->inv_alpha_time[ti] +
											 w_drop * data->inv_alpha_time[txi]));
			g_a += w * (w_drop / a - pab.inv_sum);
			g_b += w * (pb.inv_sum - pab.inv_sum - w_drop * drop_inv);
		}
	}

	if (!isfinite(ll))
		return INFINITY;
	grad[0] = -g_r * r / data->total;
	grad[1] = -g_alpha * alpha / data->total;
	grad[2] = -g_a * a / data->total;
	grad[3] = -g_b * b / data->total;
	return -ll / data->total;
}

/* start points in the rescaled unit (the largest t is 1) */
static const double mbgnbd_starts[][CS_OPT_MAX_PARAMS] = {
	{1.0, 1.0, 1.0, 1.0},
	{0.25, 0.1, 0.8, 2.5},
	{2.0, 0.5, 3.0, 10.0},
};

static const CsModelSpec mbgnbd_spec = {
	.type_name = "mbgnbd",
	.label = "MBG/NBD",
	.version = MBGNBD_VERSION,
	.nparams = 4,
	.param_names = {"r", "alpha", "a", "b"},
	.scaled_params = 1 << 1,	/* alpha */
	.history = HISTORY_BGNBD,
	.state_name = "mbgnbd_state",
	.prepare = counting_prepare,
	.objective = mbgnbd_objective,
	.nstarts = lengthof(mbgnbd_starts),
	.starts = mbgnbd_starts,
};

CS_MODEL_FUNCTIONS(mbgnbd, mbgnbd_spec)

/* mbgnbd_fit(frequency int, recency float8, t float8): rows with a NULL are skipped */
PG_FUNCTION_INFO_V1(mbgnbd_fit_transfn);
Datum
mbgnbd_fit_transfn(PG_FUNCTION_ARGS)
{
	return counting_transfn(fcinfo, "mbgnbd_fit_transfn");
}

/* ---------------------------------------------------------------------
 * Predictions
 * ---------------------------------------------------------------------
 */

/* P(alive) = 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)), in logs, for every x */
double
mbgnbd_p_alive(const MbgnbdModel *model, int64 frequency, double recency, double t)
{
	double		x = (double) frequency;
	double		log_odds_dropped = log(model->a) - log(model->b + x)
		+ (model->r + x) * log1p((t - recency) / (model->alpha + recency));

	return exp(-cs_log1p_exp(log_odds_dropped));
}

/* P(alive) times the purchases of an active customer, whose p ~ Beta(a, b+1+x) */
double
mbgnbd_expected_purchases(const MbgnbdModel *model, double horizon,
						  int64 frequency, double recency, double t)
{
	if (horizon == 0)
		return 0.0;
	return mbgnbd_p_alive(model, frequency, recency, t) *
		bg_expected_if_active(model->r, model->alpha, model->a, model->b + 1.0, horizon,
							  (double) frequency, t);
}

/* The CountingPredictions callbacks of MBG/NBD. */
static double
mbgnbd_p_alive_cb(const void *model, int64 x, double t_x, double t)
{
	return mbgnbd_p_alive(model, x, t_x, t);
}

static double
mbgnbd_expected_cb(const void *model, double horizon, int64 x, double t_x, double t)
{
	return mbgnbd_expected_purchases(model, horizon, x, t_x, t);
}

static void
mbgnbd_expected_if_alive_cb(const void *model, int64 x, double t, const double *horizons, int n,
							double *out)
{
	const MbgnbdModel *m = model;

	/* MBG/NBD's active customer has p ~ Beta(a, b + 1 + x) */
	bg_expected_if_active_at(m->r, m->alpha, m->a, m->b + 1.0, (double) x, t, horizons, n, out);
}

static double
mbgnbd_p_none_cb(const void *model, double horizon, int64 x, double t_x, double t)
{
	const MbgnbdModel *m = model;

	return bg_family_p_none(mbgnbd_p_alive(m, x, t_x, t), m->r, m->alpha, horizon, (double) x, t);
}

static double
mbgnbd_pmf_cb(const void *model, double horizon, int32 n)
{
	const MbgnbdModel *m = model;

	return bg_family_pmf(m->r, m->alpha, m->a, m->b, 1, horizon, n);
}

static const CountingPredictions mbgnbd_predictions = {
	.label = "MBG/NBD",
	.spec = &mbgnbd_spec,
	.p_alive = mbgnbd_p_alive_cb,
	.expected = mbgnbd_expected_cb,
	.expected_if_alive = mbgnbd_expected_if_alive_cb,
	.p_none = mbgnbd_p_none_cb,
	.pmf = mbgnbd_pmf_cb,
};

CS_COUNTING_FUNCTIONS(mbgnbd, mbgnbd_predictions)
CS_MODEL_ENTRY(predicted_clv_, mbgnbd, counting_predicted_clv_sql, mbgnbd_predictions)
