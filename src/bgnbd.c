/*
 * bgnbd.c — the BG/NBD model: its likelihood, its description (bgnbd_spec,
 * from which model.c makes the type, its state and its fit) and the
 * predictions (expected purchases, P(alive)).
 *
 * Notation follows Fader, Hardie & Lee (2005): a customer with x repeat
 * purchases, the last at t_x, observed until T; purchase rate lambda ~
 * Gamma(r, alpha); after each purchase the customer drops out with
 * probability p ~ Beta(a, b).
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "miscadmin.h"

#include "bgnbd.h"
#include "counting.h"
#include "interrupts.h"
#include "model.h"
#include "numeric.h"
#include "optimize.h"
#include "pochhammer.h"
#include "validate.h"

/* ---------------------------------------------------------------------
 * The fit
 * ---------------------------------------------------------------------
 */

/*
 * The fit's data: the shared counting data, and with times that are mostly distinct
 * (continuous times: one history per customer) each history's own rescaled t and t_x.  A
 * table of log(alpha + time) over the distinct times then holds as many entries as there are
 * histories, so filling it costs what computing each history's logs costs, while building it
 * (a sort of every time and a binary search per history) and reading it (a cache miss per
 * history) come on top.  The direct form computes the same expressions from the same doubles,
 * so both give the same objective bit for bit.
 */
typedef struct BgnbdData
{
	CountingData counting;
	bool		direct;			/* t and tx below, times[] and the indexes unused */
	double	   *t;				/* each history's rescaled t */
	double	   *tx;				/* each history's rescaled t_x */
} BgnbdData;

/* the histories sampled, evenly spaced, to tell continuous times from whole days */
#define BGNBD_TIME_SAMPLE 4096

/* Order of two doubles, for cs_sort. */
static int
bgnbd_double_cmp(const void *a, const void *b)
{
	double		da = *(const double *) a;
	double		db = *(const double *) b;

	return (da > db) - (da < db);
}

/*
 * Whether the state's times are mostly distinct: over an evenly spaced sample of its
 * histories, more than half of the sampled recency and t values differ (whole days give a few
 * hundred distinct values however many histories share them).
 */
static bool
bgnbd_times_mostly_distinct(const HistoryState *state)
{
	int32		step = Max(1, state->used / BGNBD_TIME_SAMPLE);
	int32		n = 0,
				distinct = 0;
	double	   *sample;

	if (state->used < BGNBD_TIME_SAMPLE)
		return false;
	sample = palloc(sizeof(double) * 2 * (state->used / step + 1));
	for (int32 i = 0; i < state->used; i += step)
	{
		sample[n++] = state->points[i].key[1];
		sample[n++] = state->points[i].key[2];
	}
	cs_sort(sample, n, sizeof(double), bgnbd_double_cmp);
	for (int32 i = 0; i < n; i++)
		if (i == 0 || sample[i] != sample[i - 1])
			distinct++;
	pfree(sample);
	return distinct > n / 2;
}

/* The BgnbdData of a compacted state, time rescaled as counting_prepare does. */
static void
bgnbd_prepare(const HistoryState *state, CsFitData *out)
{
	BgnbdData  *data = palloc0(sizeof(BgnbdData));
	CountingData *c = &data->counting;
	double		scale = 0,
				x_total = 0;

	if (!bgnbd_times_mostly_distinct(state))
	{
		counting_prepare(state, out);
		c = out->arg;
		data->counting = *c;
		pfree(c);
		out->arg = data;
		return;
	}
	data->direct = true;
	c->n = state->used;
	c->x = palloc(sizeof(double) * c->n);
	c->weight = palloc(sizeof(double) * c->n);
	data->t = palloc(sizeof(double) * c->n);
	data->tx = palloc(sizeof(double) * c->n);
	for (int32 i = 0; i < c->n; i++)
		scale = fmax(scale, state->points[i].key[2]);
	if (scale <= 0)
		scale = 1;
	for (int32 i = 0; i < c->n; i++)
	{
		c->x[i] = state->points[i].key[0];
		data->tx[i] = state->points[i].key[1] / scale;
		data->t[i] = state->points[i].key[2] / scale;
		c->weight[i] = (double) state->points[i].count;
		c->total += c->weight[i];
		x_total += c->weight[i] * c->x[i];
	}
	out->arg = data;
	out->total = c->total;
	out->scale = scale;
	/* back to the caller's time unit: each customer's likelihood carries scale^-x */
	out->log_likelihood_shift = -(x_total * log(scale));
	out->identified = x_total > 0;
}

/*
 * Minus the mean log-likelihood (eq. 6 of FHL 2005) at log-parameters theta,
 * and its gradient.  Per customer:
 *
 *   ll = lgamma(r+x) - lgamma(r) + r log(alpha) + lbeta(a, b+x) - lbeta(a, b)
 *        + log( (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) )
 *
 * the last term as a log-sum-exp of the "still active" and "dropped after the
 * last purchase" branches.  The x-only terms come from running sums over the
 * distinct frequencies (points are sorted by x), so a history costs the logs and
 * reciprocals of alpha + T and alpha + t_x and one log-sum-exp.
 */
static double
bgnbd_objective(const double *theta, double *grad, void *arg)
{
	BgnbdData  *bdata = arg;
	CountingData *data = &bdata->counting;
	bool		direct = bdata->direct;
	double		r = exp(theta[0]),
				alpha = exp(theta[1]),
				a = exp(theta[2]),
				b = exp(theta[3]);
	double		log_alpha = theta[1];
	double		ll = 0,
				g_r = 0,
				g_alpha = 0,
				g_a = 0,
				g_b = 0;
	Pochhammer	pr,
				pb,
				pab;
	int32		i = 0;

	/* log(alpha + time) once per distinct time, not twice per customer history */
	for (int32 k = 0; !direct && k < data->ntimes; k++)
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
					drop_log = 0,
					drop_inv = 0;

		/* one check per distinct x covers every evaluation of every optimiser iteration */
		CHECK_FOR_INTERRUPTS();
		/* terms that depend on x alone, once per distinct x */
		pochhammer_advance(&pr, x);
		pochhammer_advance(&pb, x);
		pochhammer_advance(&pab, x);
		common = pr.log_sum + r * log_alpha + pb.log_sum - pab.log_sum;
		if (x > 0)
		{
			drop_inv = 1.0 / (b + x - 1);
			drop_log = log(a) + log(drop_inv);
		}

		for (; i < data->n && data->x[i] == x; i++)
		{
			double		w = data->weight[i];
			double		log_t,
						inv_t;
			double		active;
			double		w_active = 1.0,
						w_drop = 0.0,
						log_tx = 0.0,
						inv_tx = 0.0,
						lse;

			if ((i & 4095) == 0)
				CHECK_FOR_INTERRUPTS();	/* one x can hold most of a million histories */
			if (direct)
			{
				log_t = log(alpha + bdata->t[i]);
				inv_t = 1.0 / (alpha + bdata->t[i]);
			}
			else
			{
				log_t = data->log_alpha_time[data->t_index[i]];
				inv_t = data->inv_alpha_time[data->t_index[i]];
			}
			active = -rx * log_t;
			lse = active;
			if (x > 0)
			{
				if (direct)
				{
					log_tx = log(alpha + bdata->tx[i]);
					inv_tx = 1.0 / (alpha + bdata->tx[i]);
				}
				else
				{
					log_tx = data->log_alpha_time[data->tx_index[i]];
					inv_tx = data->inv_alpha_time[data->tx_index[i]];
				}
				lse = cs_log_add_exp_shares(active, drop_log - rx * log_tx, &w_active, &w_drop);
			}
			ll += w * (common + lse);
			g_r += w * (pr.inv_sum + log_alpha - w_active * log_t - w_drop * log_tx);
			g_alpha += w * (r / alpha - rx * (w_active * inv_t + w_drop * inv_tx));
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
static const double bgnbd_starts[][CS_OPT_MAX_PARAMS] = {
	{1.0, 1.0, 1.0, 1.0},
	{0.25, 0.1, 0.8, 2.5},
	{2.0, 0.5, 3.0, 10.0},
};

static const CsModelSpec bgnbd_spec = {
	.type_name = "bgnbd",
	.label = "BG/NBD",
	.version = BGNBD_VERSION,
	.nparams = 4,
	.param_names = {"r", "alpha", "a", "b"},
	.scaled_params = 1 << 1,	/* alpha */
	.history = HISTORY_BGNBD,
	.state_name = "bgnbd_state",
	.prepare = bgnbd_prepare,
	.objective = bgnbd_objective,
	.nstarts = lengthof(bgnbd_starts),
	.starts = bgnbd_starts,
};

CS_MODEL_FUNCTIONS(bgnbd, bgnbd_spec)

/* bgnbd_fit(frequency int, recency float8, t float8): rows with a NULL are skipped */
PG_FUNCTION_INFO_V1(bgnbd_fit_transfn);
Datum
bgnbd_fit_transfn(PG_FUNCTION_ARGS)
{
	return counting_transfn(fcinfo, "bgnbd_fit_transfn");
}

/* ---------------------------------------------------------------------
 * Predictions
 * ---------------------------------------------------------------------
 */

double
bgnbd_p_alive(const BgnbdModel *model, int64 frequency, double recency, double t)
{
	double		x = (double) frequency;
	double		log_odds_dropped;

	if (frequency == 0)
		return 1.0;				/* nobody drops out before a repeat purchase */
	/* P(alive) = 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)), in logs */
	log_odds_dropped = log(model->a) - log(model->b + x - 1)
		+ (model->r + x) * log1p((t - recency) / (model->alpha + recency));
	return exp(-cs_log1p_exp(log_odds_dropped));
}

/*
 * g(p) = (1 - (1 + p s)^-n) / p: expected purchases in the horizon of an
 * active customer who drops out with probability p, averaged over the
 * purchase rate's posterior.  Bounded on [0, 1], with g(0) = n s.
 */
static inline double
purchases_given_dropout(double p, double n, double s)
{
	if (p * s < 1e-300)
		return n * s;
	return -expm1(-n * log1p(p * s)) / p;
}

/*
 * E[g(p)] for p ~ Beta(a, beta) by the trapezoid rule in y = logit(p).
 *
 * In y the Beta density is smooth, unimodal and decays exponentially on both
 * sides whatever a and beta are (no endpoint singularities), so the
 * trapezoid rule converges geometrically.  Used when the series below would
 * need too many terms: very large a (a likelihood ridge) or a horizon far
 * beyond the observation period.
 */
static double
expected_purchases_by_quadrature(double a, double beta, double n, double s)
{
	double		mode = log(a) - log(beta);
	double		sigma = sqrt(cs_trigamma(a) + cs_trigamma(beta));
	double		h = fmin(0.3, sigma / 2.0);
	double		log_w_mode = a * mode - (a + beta) * cs_log1p_exp(mode);
	double		num = 0,
				den = 0;
	const int	max_points = 400000;

	for (int side = 0; side < 2; side++)
	{
		for (int k = side; k < max_points; k++)
		{
			double		y = side == 0 ? mode + k * h : mode - k * h;
			double		log_w = a * y - (a + beta) * cs_log1p_exp(y) - log_w_mode;
			double		w,
						p;

			if (log_w < -50.0)
				break;
			CHECK_FOR_INTERRUPTS();	/* up to 800,000 points for a sharp posterior */
			w = exp(log_w);
			p = y >= 0 ? 1.0 / (1.0 + exp(-y)) : exp(y) / (1.0 + exp(y));
			num += w * purchases_given_dropout(p, n, s);
			den += w;
		}
	}
	return num / den;
}

/*
 * Expected purchases in (T, T + horizon] for a customer known to be active
 * at T: E[g(p)] with p ~ Beta(a, b + x), n = r + x, s = horizon/(alpha + T).
 * MBG/NBD's active customer has p ~ Beta(a, b + 1 + x): it passes b + 1.
 *
 * The closed form (FHL 2005 eq. 10) is
 *   (a+b+x-1)/(a-1) [1 - (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z)],
 *   z = s/(1+s).
 * As written it overflows for large x and goes 0/0 at a = 1.  After Euler's
 * transformation 2F1(A,B;C;z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z) the
 * upper parameters become a+b-1-r and a-1 (independent of x), the powers
 * collapse to (1-z)^(a-1), and the factor (a-1) cancels analytically:
 *
 *   E = -C L phi((a-1) L) - (1-z)^(a-1) sum_{k>=1} u_k,
 *   C = a+b+x-1, L = log(1-z), phi(y) = expm1(y)/y,
 *   u_1 = A z, u_{k+1} = u_k (A+k)(a+k-1) z / ((C+k)(k+1)), A = a+b-1-r.
 *
 * C + k > 0 for k >= 1, so no term has a pole, even when a + b < 1 and
 * x = 0 (where the raw 2F1 can be negative).  If the series would need too
 * many terms or cancels badly, the quadrature above decides instead.
 */
double
bg_expected_if_active(double r, double alpha, double a, double b, double horizon,
					  double x, double t)
{
	double		n = r + x;
	double		s = horizon / (alpha + t);
	double		z = s / (1.0 + s);
	double		L = -log1p(s);
	double		C = a + b + x - 1.0;
	double		A = a + b - 1.0 - r;
	double		u = A * z;
	double		sum = u;
	double		first,
				second,
				result;
	bool		converged = false;

	for (int k = 1; k < 2000; k++)
	{
		u *= (A + k) * (a + k - 1.0) * z / ((C + k) * (k + 1.0));
		sum += u;
		if (fabs(u) <= 1e-17 * fabs(sum) || u == 0.0)
		{
			converged = true;
			break;
		}
		if (!isfinite(sum) || fabs(u) > 1e250)
			break;
	}
	if (converged)
	{
		first = -C * L * cs_expm1_ratio((a - 1.0) * L);
		second = sum == 0.0 ? 0.0 : copysign(exp((a - 1.0) * L + log(fabs(sum))), sum);
		result = first - second;
		if (isfinite(result) && result > 0 && fabs(first) + fabs(second) <= 1e6 * result)
			return result;
	}
	return expected_purchases_by_quadrature(a, b + x, n, s);
}

#define BG_SERIES_TERMS 2000
#define BG_BATCH 16

/*
 * bg_expected_if_active at each of n horizons (none 0) of one customer, into out.  The
 * series' term ratios (A+k)(a+k-1)/((C+k)(k+1)) depend on the model and x, not on the horizon:
 * up to BG_BATCH horizons run through the series together, term k of each being the running
 * product of the ratios times its z^(k+1), so a term costs one division for the batch and a
 * few multiplications per horizon.  The batch stops when every horizon's last term is below
 * 1e-17 of its sum (terms past a horizon's own stop only add what rounding loses), which is
 * looked at once the largest z's term is; a horizon whose series does not settle as
 * bg_expected_if_active wants is left to it.
 */
void
bg_expected_if_active_at(double r, double alpha, double a, double b, double x, double t,
						 const double *horizons, int n, double *out)
{
	double		C = a + b + x - 1.0;
	double		A = a + b - 1.0 - r;

	for (int from = 0; from < n; from += BG_BATCH)
	{
		int			m = Min(BG_BATCH, n - from);
		double		z[BG_BATCH],
					L[BG_BATCH],
					power[BG_BATCH],
					sum[BG_BATCH],
					last[BG_BATCH];
		double		product = A;
		bool		converged = false;
		int			slowest = 0;	/* the largest z: its terms are the largest of the batch */

		for (int h = 0; h < m; h++)
		{
			double		s = horizons[from + h] / (alpha + t);

			z[h] = s / (1.0 + s);
			L[h] = -log1p(s);
			power[h] = z[h];
			sum[h] = A * z[h];
			if (z[h] > z[slowest])
				slowest = h;
		}
		for (int k = 1; k < BG_SERIES_TERMS && !converged; k++)
		{
			product *= (A + k) * (a + k - 1.0) / ((C + k) * (k + 1.0));
			for (int h = 0; h < m; h++)
			{
				power[h] *= z[h];
				last[h] = product * power[h];
				sum[h] += last[h];
			}
			/* every term has the sign of product and at most the slowest one's size */
			if (!isfinite(sum[slowest]) || fabs(last[slowest]) > 1e250)
				break;
			if (!(fabs(last[slowest]) <= 1e-17 * fabs(sum[slowest]) || last[slowest] == 0.0))
				continue;
			converged = true;
			for (int h = 0; h < m; h++)
				if (!(fabs(last[h]) <= 1e-17 * fabs(sum[h]) || last[h] == 0.0))
					converged = false;
		}
		for (int h = 0; h < m; h++)
		{
			double		first = -C * L[h] * cs_expm1_ratio((a - 1.0) * L[h]),
						second,
						result;

			if (converged)
			{
				second = sum[h] == 0.0 ? 0.0 : copysign(exp((a - 1.0) * L[h] + log(fabs(sum[h]))), sum[h]);
				result = first - second;
				if (isfinite(result) && result > 0 && fabs(first) + fabs(second) <= 1e6 * result)
				{
					out[from + h] = result;
					continue;
				}
			}
			out[from + h] = bg_expected_if_active(r, alpha, a, b, horizons[from + h], x, t);
		}
	}
}

double
bgnbd_expected_purchases(const BgnbdModel *model, double horizon,
						 int64 frequency, double recency, double t)
{
	if (horizon == 0)
		return 0.0;
	return bgnbd_p_alive(model, frequency, recency, t) *
		bg_expected_if_active(model->r, model->alpha, model->a, model->b, horizon,
							  (double) frequency, t);
}

/*
 * P(X(t) = n) for a new customer of the beta-geometric family (FHL 2005
 * eq. 8), in logs: with shift 0 BG/NBD, with shift 1 MBG/NBD, whose customer
 * may also drop out right after the first purchase (probability a/(a+b)):
 *
 *   B(a, b+shift+n)/B(a,b) NB(n) + [n>0] B(a+1, b+shift+n-1)/B(a,b) P(NB >= n)
 *   + [shift and n = 0] a/(a+b),
 *
 * NB the negative binomial of purchases in t of a customer who never drops out.
 */
double
bg_family_pmf(double r, double alpha, double a, double b, int shift, double t, int32 n)
{
	double		log_p = log(alpha) - log(alpha + t);	/* log alpha/(alpha+t) */
	double		log_q = log(t) - log(alpha + t);	/* log t/(alpha+t) */
	double		lbeta_ab = cs_lbeta(a, b);
	double		log_nb,
				result,
				tail;

	if (t == 0)
		return n == 0 ? 1.0 : 0.0;
	log_nb = lgamma(r + n) - lgamma(r) - lgamma(n + 1.0) + r * log_p + (n > 0 ? n * log_q : 0.0);
	result = exp(cs_lbeta(a, b + shift + n) - lbeta_ab + log_nb);
	if (n == 0)
		return result + (shift ? a / (a + b) : 0.0);
	tail = bg_negative_binomial_tail(r, (double) n, log_q, r * log_p);
	return result + exp(cs_lbeta(a + 1.0, b + shift + n - 1.0) - lbeta_ab) * tail;
}

/* P(no purchase in (T, T + horizon]): a dropped customer makes none, an active one by chance */
double
bg_family_p_none(double p_alive, double r, double alpha, double horizon, double x, double t)
{
	return (1.0 - p_alive) + p_alive * exp(-(r + x) * log1p(horizon / (alpha + t)));
}

/* The CountingPredictions callbacks of BG/NBD (bgnbd_predictions, bgnbd.h). */
static double
bgnbd_p_alive_cb(const void *model, int64 x, double t_x, double t)
{
	return bgnbd_p_alive(model, x, t_x, t);
}

static double
bgnbd_expected_cb(const void *model, double horizon, int64 x, double t_x, double t)
{
	return bgnbd_expected_purchases(model, horizon, x, t_x, t);
}

static void
bgnbd_expected_if_alive_cb(const void *model, int64 x, double t, const double *horizons, int n,
						   double *out)
{
	const BgnbdModel *m = model;

	bg_expected_if_active_at(m->r, m->alpha, m->a, m->b, (double) x, t, horizons, n, out);
}

static double
bgnbd_p_none_cb(const void *model, double horizon, int64 x, double t_x, double t)
{
	const BgnbdModel *m = model;

	return bg_family_p_none(bgnbd_p_alive(m, x, t_x, t), m->r, m->alpha, horizon, (double) x, t);
}

static double
bgnbd_pmf_cb(const void *model, double horizon, int32 n)
{
	const BgnbdModel *m = model;

	return bg_family_pmf(m->r, m->alpha, m->a, m->b, 0, horizon, n);
}

const CountingPredictions bgnbd_predictions = {
	.label = "BG/NBD",
	.spec = &bgnbd_spec,
	.p_alive = bgnbd_p_alive_cb,
	.expected = bgnbd_expected_cb,
	.expected_if_alive = bgnbd_expected_if_alive_cb,
	.p_none = bgnbd_p_none_cb,
	.pmf = bgnbd_pmf_cb,
};

CS_COUNTING_FUNCTIONS(bgnbd, bgnbd_predictions)

