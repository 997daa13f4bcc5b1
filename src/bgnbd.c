/*
 * bgnbd.c — the BG/NBD model: type I/O, the bgnbd_fit aggregate and the
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
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "bgnbd.h"
#include "history.h"
#include "interrupts.h"
#include "model_io.h"
#include "numeric.h"
#include "optimize.h"
#include "pochhammer.h"
#include "validate.h"

static const CsModelSpec bgnbd_spec = {
	"bgnbd", BGNBD_VERSION, 4, {"r", "alpha", "a", "b"}
};

/* ---------------------------------------------------------------------
 * The model type
 * ---------------------------------------------------------------------
 */

static BgnbdModel *
bgnbd_from_values(const CsModelValues *values)
{
	BgnbdModel *model = palloc0(sizeof(BgnbdModel));

	SET_VARSIZE(model, sizeof(BgnbdModel));
	model->version = BGNBD_VERSION;
	model->flags = values->flags;
	model->r = values->params[0];
	model->alpha = values->params[1];
	model->a = values->params[2];
	model->b = values->params[3];
	model->log_likelihood = values->log_likelihood;
	model->customers = values->customers;
	return model;
}

static void
bgnbd_to_values(const BgnbdModel *model, CsModelValues *values)
{
	if (model->version != BGNBD_VERSION)
		elog(ERROR, "bgnbd value has unsupported version %d", model->version);
	memset(values, 0, sizeof(*values));
	values->flags = model->flags;
	values->params[0] = model->r;
	values->params[1] = model->alpha;
	values->params[2] = model->a;
	values->params[3] = model->b;
	values->log_likelihood = model->log_likelihood;
	values->customers = model->customers;
}

PG_FUNCTION_INFO_V1(bgnbd_in);
Datum
bgnbd_in(PG_FUNCTION_ARGS)
{
	CsModelValues values;

	cs_model_parse(&bgnbd_spec, PG_GETARG_CSTRING(0), &values);
	PG_RETURN_POINTER(bgnbd_from_values(&values));
}

PG_FUNCTION_INFO_V1(bgnbd_out);
Datum
bgnbd_out(PG_FUNCTION_ARGS)
{
	CsModelValues values;

	bgnbd_to_values(DatumGetBgnbdModel(PG_GETARG_DATUM(0)), &values);
	PG_RETURN_CSTRING(cs_model_format(&bgnbd_spec, &values));
}

PG_FUNCTION_INFO_V1(bgnbd_recv);
Datum
bgnbd_recv(PG_FUNCTION_ARGS)
{
	CsModelValues values;

	cs_model_recv(&bgnbd_spec, (StringInfo) PG_GETARG_POINTER(0), &values);
	PG_RETURN_POINTER(bgnbd_from_values(&values));
}

PG_FUNCTION_INFO_V1(bgnbd_send);
Datum
bgnbd_send(PG_FUNCTION_ARGS)
{
	CsModelValues values;

	bgnbd_to_values(DatumGetBgnbdModel(PG_GETARG_DATUM(0)), &values);
	PG_RETURN_BYTEA_P(cs_model_send(&bgnbd_spec, &values));
}

/* bgnbd(r, alpha, a, b): a model from known (e.g. published) parameters */
PG_FUNCTION_INFO_V1(bgnbd_make);
Datum
bgnbd_make(PG_FUNCTION_ARGS)
{
	CsModelValues values;

	memset(&values, 0, sizeof(values));
	for (int i = 0; i < 4; i++)
		values.params[i] = PG_GETARG_FLOAT8(i);
	cs_model_check_params(&bgnbd_spec, values.params);
	PG_RETURN_POINTER(bgnbd_from_values(&values));
}

PG_FUNCTION_INFO_V1(bgnbd_params);
Datum
bgnbd_params(PG_FUNCTION_ARGS)
{
	CsModelValues values;

	bgnbd_to_values(DatumGetBgnbdModel(PG_GETARG_DATUM(0)), &values);
	return cs_model_jsonb(&bgnbd_spec, &values);
}

/* ---------------------------------------------------------------------
 * The aggregate state: a histogram of (frequency, recency, t)
 * ---------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(bgnbd_state_in);
Datum
bgnbd_state_in(PG_FUNCTION_ARGS)
{
	return history_in(PG_GETARG_CSTRING(0), HISTORY_BGNBD, "bgnbd_state");
}

PG_FUNCTION_INFO_V1(bgnbd_state_out);
Datum
bgnbd_state_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(history_out(DatumGetHistoryState(PG_GETARG_DATUM(0))));
}

PG_FUNCTION_INFO_V1(bgnbd_state_recv);
Datum
bgnbd_state_recv(PG_FUNCTION_ARGS)
{
	return history_recv((StringInfo) PG_GETARG_POINTER(0), HISTORY_BGNBD, "bgnbd_state");
}

PG_FUNCTION_INFO_V1(bgnbd_state_send);
Datum
bgnbd_state_send(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(history_send(DatumGetHistoryState(PG_GETARG_DATUM(0))));
}

/* bgnbd_fit(frequency int, recency float8, t float8): rows with a NULL are skipped */
PG_FUNCTION_INFO_V1(bgnbd_fit_transfn);
Datum
bgnbd_fit_transfn(PG_FUNCTION_ARGS)
{
	double		key[HISTORY_MAX_KEYS];

	CS_REQUIRE_AGG_CONTEXT(fcinfo, "bgnbd_fit_transfn");
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	key[0] = (double) PG_GETARG_INT32(1);
	key[1] = PG_GETARG_FLOAT8(2);
	key[2] = PG_GETARG_FLOAT8(3);
	history_validate_key(HISTORY_BGNBD, key);
	PG_RETURN_POINTER(history_add(fcinfo, HISTORY_BGNBD, key, 1));
}

PG_FUNCTION_INFO_V1(bgnbd_fit_combinefn);
Datum
bgnbd_fit_combinefn(PG_FUNCTION_ARGS)
{
	HistoryState *state;

	CS_REQUIRE_AGG_CONTEXT(fcinfo, "bgnbd_fit_combinefn");
	state = history_combine(fcinfo, HISTORY_BGNBD);
	if (state == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(state);
}

/* ---------------------------------------------------------------------
 * The fit
 * ---------------------------------------------------------------------
 */

/*
 * The data the likelihood reads, with time rescaled so the largest t is 1:
 * alpha scales with time and the other parameters do not, so this keeps
 * every start point and bound meaningful whatever unit the caller used.
 */
typedef struct BgnbdData
{
	int32		n;
	double	   *x;
	int32	   *t_index;		/* index of each point's t in times[] */
	int32	   *tx_index;		/* index of each point's t_x in times[] */
	double	   *weight;
	double		total;			/* sum of weights: the customers */
	/* the distinct values of t and t_x (whole days in CRM data: few) */
	int32		ntimes;
	double	   *times;
	double	   *log_alpha_time; /* scratch: log(alpha + times[k]) */
	double	   *inv_alpha_time; /* scratch: 1 / (alpha + times[k]) */
} BgnbdData;

/*
 * Minus the mean log-likelihood (eq. 6 of FHL 2005) at log-parameters theta,
 * and its gradient.  Per customer:
 *
 *   ll = lgamma(r+x) - lgamma(r) + r log(alpha) + lbeta(a, b+x) - lbeta(a, b)
 *        + log( (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) )
 *
 * the last term as a log-sum-exp of the "still active" and "dropped after the
 * last purchase" branches.  The x-only terms come from running sums over the
 * distinct frequencies (points are sorted by x).
 */
static double
bgnbd_objective(const double *theta, double *grad, void *arg)
{
	BgnbdData  *data = arg;
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
			double		log_t = data->log_alpha_time[data->t_index[i]];
			double		active = -rx * log_t;
			double		w_active = 1.0,
						w_drop = 0.0,
						log_tx = 0.0,
						inv_tx = 0.0,
						lse = active;

			if ((i & 4095) == 0)
				CHECK_FOR_INTERRUPTS();	/* one x can hold most of a million histories */
			if (x > 0)
			{
				double		dropped,
							e;

				log_tx = data->log_alpha_time[data->tx_index[i]];
				inv_tx = data->inv_alpha_time[data->tx_index[i]];
				dropped = drop_log - rx * log_tx;
				if (active >= dropped)
				{
					e = exp(dropped - active);
					lse = active + log1p(e);
					w_active = 1.0 / (1.0 + e);
					w_drop = e * w_active;
				}
				else
				{
					e = exp(active - dropped);
					lse = dropped + log1p(e);
					w_drop = 1.0 / (1.0 + e);
					w_active = e * w_drop;
				}
			}
			ll += w * (common + lse);
			g_r += w * (pr.inv_sum + log_alpha - w_active * log_t - w_drop * log_tx);
			g_alpha += w * (r / alpha - rx * (w_active * data->inv_alpha_time[data->t_index[i]] +
											 w_drop * inv_tx));
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

static int
double_cmp(const void *a, const void *b)
{
	double		da = *(const double *) a;
	double		db = *(const double *) b;

	return (da > db) - (da < db);
}

/* Sort values[0..n) and drop duplicates; returns how many remain. */
static int32
sort_unique(double *values, int32 n)
{
	int32		out = 0;

	cs_sort(values, n, sizeof(double), double_cmp);
	for (int32 i = 0; i < n; i++)
		if (out == 0 || values[i] != values[out - 1])
			values[out++] = values[i];
	return out;
}

/* The index of value in sorted[0..n), which holds it. */
static int32
find_sorted(const double *sorted, int32 n, double value)
{
	int32		lo = 0,
				hi = n - 1;

	while (lo < hi)
	{
		int32		mid = lo + (hi - lo) / 2;

		if (sorted[mid] < value)
			lo = mid + 1;
		else
			hi = mid;
	}
	Assert(sorted[lo] == value);
	return lo;
}

PG_FUNCTION_INFO_V1(bgnbd_fit_finalfn);
Datum
bgnbd_fit_finalfn(PG_FUNCTION_ARGS)
{
	static const double starts[][CS_OPT_MAX_PARAMS] = {
		{1.0, 1.0, 1.0, 1.0},
		{0.25, 0.1, 0.8, 2.5},
		{2.0, 0.5, 3.0, 10.0},
	};
	HistoryState *state;
	BgnbdData	data;
	double		scale = 0,
				x_total = 0,
				theta[CS_OPT_MAX_PARAMS];
	CsOptimResult fit;
	CsModelValues values;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	/* the final function must not change the state: work on a compacted copy */
	state = history_compacted_copy(DatumGetHistoryState(PG_GETARG_DATUM(0)));
	if (state->used == 0)
		PG_RETURN_NULL();

	data.n = state->used;
	data.x = palloc(sizeof(double) * data.n);
	data.t_index = palloc(sizeof(int32) * data.n);
	data.tx_index = palloc(sizeof(int32) * data.n);
	data.weight = palloc(sizeof(double) * data.n);
	data.times = palloc(sizeof(double) * 2 * data.n);
	data.total = 0;
	for (int32 i = 0; i < data.n; i++)
		scale = fmax(scale, state->points[i].key[2]);
	if (scale <= 0)
		scale = 1;
	/* the distinct rescaled times, sorted, then each point's indexes into them */
	for (int32 i = 0; i < data.n; i++)
	{
		data.times[2 * i] = state->points[i].key[1] / scale;
		data.times[2 * i + 1] = state->points[i].key[2] / scale;
	}
	data.ntimes = sort_unique(data.times, 2 * data.n);
	data.log_alpha_time = palloc(sizeof(double) * data.ntimes);
	data.inv_alpha_time = palloc(sizeof(double) * data.ntimes);
	for (int32 i = 0; i < data.n; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();	/* two binary searches per history */
		data.x[i] = state->points[i].key[0];
		data.tx_index[i] = find_sorted(data.times, data.ntimes, state->points[i].key[1] / scale);
		data.t_index[i] = find_sorted(data.times, data.ntimes, state->points[i].key[2] / scale);
		data.weight[i] = (double) state->points[i].count;
		data.total += data.weight[i];
		x_total += data.weight[i] * data.x[i];
	}

	fit = cs_fit_from_starts(bgnbd_objective, &data, 4, starts, lengthof(starts), theta);

	/* without a single repeat purchase the parameters are not identified */
	if (x_total == 0)
		fit.converged = false;

	memset(&values, 0, sizeof(values));
	values.flags = MODEL_FITTED | (fit.converged ? MODEL_CONVERGED : 0);
	values.params[0] = exp(theta[0]);
	values.params[1] = exp(theta[1]) * scale;
	values.params[2] = exp(theta[2]);
	values.params[3] = exp(theta[3]);
	/* back to the caller's time unit: each customer's likelihood carries scale^-x */
	values.log_likelihood = -fit.value * data.total - x_total * log(scale);
	/* data.total is the same sum in double precision, which a cast could overflow */
	values.customers = cs_model_customers(history_total_count(state));
	for (int i = 0; i < 4; i++)
		cs_check_result("a fitted BG/NBD parameter", values.params[i]);
	cs_check_result("the BG/NBD log-likelihood", values.log_likelihood);
	PG_RETURN_POINTER(bgnbd_from_values(&values));
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
static double
expected_purchases_if_active(const BgnbdModel *model, double horizon, double x, double t)
{
	double		a = model->a;
	double		n = model->r + x;
	double		s = horizon / (model->alpha + t);
	double		z = s / (1.0 + s);
	double		L = -log1p(s);
	double		C = a + model->b + x - 1.0;
	double		A = a + model->b - 1.0 - model->r;
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
	return expected_purchases_by_quadrature(a, model->b + x, n, s);
}

double
bgnbd_expected_purchases(const BgnbdModel *model, double horizon,
						 int64 frequency, double recency, double t)
{
	if (horizon == 0)
		return 0.0;
	return bgnbd_p_alive(model, frequency, recency, t) *
		expected_purchases_if_active(model, horizon, (double) frequency, t);
}

/* expected_purchases(model, horizon, frequency, recency, t) */
PG_FUNCTION_INFO_V1(bgnbd_expected_purchases_sql);
Datum
bgnbd_expected_purchases_sql(PG_FUNCTION_ARGS)
{
	BgnbdModel *model = DatumGetBgnbdModel(PG_GETARG_DATUM(0));
	double		horizon = PG_GETARG_FLOAT8(1);
	int32		frequency = PG_GETARG_INT32(2);
	double		recency = PG_GETARG_FLOAT8(3);
	double		t = PG_GETARG_FLOAT8(4);

	cs_check_non_negative("horizon", horizon);
	cs_check_history(frequency, recency, t);
	PG_RETURN_FLOAT8(cs_check_result("expected purchases",
									 bgnbd_expected_purchases(model, horizon, frequency, recency, t)));
}

/* expected_purchases(model, horizon): a customer just acquired */
PG_FUNCTION_INFO_V1(bgnbd_expected_purchases_new);
Datum
bgnbd_expected_purchases_new(PG_FUNCTION_ARGS)
{
	BgnbdModel *model = DatumGetBgnbdModel(PG_GETARG_DATUM(0));
	double		horizon = PG_GETARG_FLOAT8(1);

	cs_check_non_negative("horizon", horizon);
	PG_RETURN_FLOAT8(cs_check_result("expected purchases",
									 bgnbd_expected_purchases(model, horizon, 0, 0.0, 0.0)));
}

PG_FUNCTION_INFO_V1(bgnbd_p_alive_sql);
Datum
bgnbd_p_alive_sql(PG_FUNCTION_ARGS)
{
	BgnbdModel *model = DatumGetBgnbdModel(PG_GETARG_DATUM(0));
	int32		frequency = PG_GETARG_INT32(1);
	double		recency = PG_GETARG_FLOAT8(2);
	double		t = PG_GETARG_FLOAT8(3);

	cs_check_history(frequency, recency, t);
	PG_RETURN_FLOAT8(cs_check_result("P(alive)", bgnbd_p_alive(model, frequency, recency, t)));
}
