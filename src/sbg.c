/*
 * sbg.c — the shifted-beta-geometric model: its likelihood with gradient,
 * its description (sbg_spec, from which model.c makes the type, its state
 * and its fit) and its predictions.
 *
 * With churn probability theta ~ Beta(alpha, beta), a customer's lifetime T
 * (the period in which she churns) has (Fader & Hardie 2007)
 *
 *   P(T = t) = B(alpha+1, beta+t-1) / B(alpha, beta),   t >= 1
 *   S(t)     = B(alpha, beta+t) / B(alpha, beta),        t >= 0
 *
 * A customer who churned in period t contributes P(T = t) to the
 * likelihood, one still active after t periods S(t).
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "miscadmin.h"

#include "history.h"
#include "model.h"
#include "numeric.h"
#include "sbg.h"
#include "validate.h"

/* The fit's data: the compacted state's points (keys: periods, churned). */
typedef struct SbgData
{
	int32		n;
	const HistoryPoint *points;
	double		total;
} SbgData;

/*
 * Minus the mean log-likelihood at log-parameters theta, and its gradient.
 * d/d alpha of log B(alpha+c, beta+m) is psi(alpha+c) - psi(alpha+beta+c+m),
 * and likewise in beta.
 */
static double
sbg_objective(const double *theta, double *grad, void *arg)
{
	SbgData    *data = arg;
	double		a = exp(theta[0]),
				b = exp(theta[1]);
	double		psi_ab = cs_digamma(a + b),
				base = cs_lbeta(a, b),
				base_ga = cs_digamma(a) - psi_ab,
				base_gb = cs_digamma(b) - psi_ab;
	double		ll = 0,
				ga = 0,
				gb = 0;

	for (int32 i = 0; i < data->n; i++)
	{
		double		t = data->points[i].key[0],
					w = (double) data->points[i].count;
		bool		churned = data->points[i].key[1] != 0;
		/* P(T = t) is B(a+1, b+t-1), S(t) is B(a, b+t) */
		double		c = churned ? 1 : 0,
					m = churned ? t - 1 : t;
		double		psi_sum = cs_digamma(a + b + c + m);

		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		ll += w * (cs_lbeta(a + c, b + m) - base);
		ga += w * (cs_digamma(a + c) - psi_sum - base_ga);
		gb += w * (cs_digamma(b + m) - psi_sum - base_gb);
	}
	if (!isfinite(ll))
		return INFINITY;
	grad[0] = -ga * a / data->total;
	grad[1] = -gb * b / data->total;
	return -ll / data->total;
}

/* The objective's data from a compacted state; churn is needed to identify the model. */
static void
sbg_prepare(const HistoryState *state, CsFitData *out)
{
	SbgData    *data = palloc0(sizeof(SbgData));
	bool		any_churned = false,
				any_renewed = false;

	data->n = state->used;
	data->points = state->points;
	for (int32 i = 0; i < data->n; i++)
	{
		data->total += (double) state->points[i].count;
		if (state->points[i].key[1] != 0)
			any_churned = true;
		/* a renewal: a churned customer after period 1, or any survivor of a period */
		if (state->points[i].key[0] > (state->points[i].key[1] != 0 ? 1 : 0))
			any_renewed = true;
	}
	out->arg = data;
	out->total = data->total;
	out->identified = any_churned && any_renewed;
}

static const double sbg_starts[][CS_OPT_MAX_PARAMS] = {
	{1.0, 1.0},
	{0.7, 1.2},
	{0.5, 4.0},
};

static const CsModelSpec sbg_spec = {
	.type_name = "sbg",
	.label = "sBG",
	.version = SBG_VERSION,
	.nparams = 2,
	.param_names = {"alpha", "beta"},
	.scaled_params = 0,
	.history = HISTORY_SBG,
	.state_name = "sbg_state",
	.prepare = sbg_prepare,
	.objective = sbg_objective,
	.nstarts = lengthof(sbg_starts),
	.starts = sbg_starts,
};

CS_MODEL_FUNCTIONS(sbg, sbg_spec)

/* sbg_fit(periods_observed int, churned boolean, customers bigint) */
PG_FUNCTION_INFO_V1(sbg_fit_transfn);
Datum
sbg_fit_transfn(PG_FUNCTION_ARGS)
{
	return history_weighted_transfn(fcinfo, HISTORY_SBG, "sbg_fit_transfn");
}

/* ---------------------------------------------------------------------
 * Predictions
 * ---------------------------------------------------------------------
 */

/* S(t): the share of a cohort still active after t periods */
double
sbg_survival(const SbgModel *m, double period)
{
	return exp(cs_lbeta(m->alpha, m->beta + period) - cs_lbeta(m->alpha, m->beta));
}

/* r(t) = S(t) / S(t-1) = (beta+t-1) / (alpha+beta+t-1): the renewal rate at the end of period t */
double
sbg_retention_rate(const SbgModel *m, double period)
{
	return (m->beta + period - 1) / (m->alpha + m->beta + period - 1);
}

/*
 * DERL (Fader & Hardie 2010) of a customer who has made n-1 = renewals
 * renewals: sum_{t>=n} S(t)/S(n-1) / (1+d)^(t-n), i.e. r(n) 2F1(1, beta+n;
 * alpha+beta+n; 1/(1+d)), summed until the terms no longer change the sum.
 * Without discounting the sum is (beta+n-1)/(alpha-1), finite for alpha > 1.
 */
double
sbg_derl(const SbgModel *m, double discount_rate, double renewals)
{
	double		n = renewals + 1;
	double		z = 1.0 / (1.0 + discount_rate);
	double		term = 1.0,
				sum = 1.0;

	if (discount_rate == 0)
	{
		char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];

		if (m->alpha <= 1.0)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the undiscounted residual lifetime is infinite for alpha %s, which is not above 1",
							cs_format_double(m->alpha, buf)),
					 errhint("Pass a positive discount_rate.")));
		return (m->beta + n - 1) / (m->alpha - 1);
	}
	for (double k = 0; term > sum * 1e-17; k++)
	{
		if (fmod(k, 65536) == 0)
			CHECK_FOR_INTERRUPTS();
		term *= (m->beta + n + k) / (m->alpha + m->beta + n + k) * z;
		sum += term;
	}
	return sbg_retention_rate(m, n) * sum;
}

#define SBG_MIN_DISCOUNT_RATE 1e-6

/* A period argument: a non-negative integer, at least minimum. */
static double
sbg_period_arg(FunctionCallInfo fcinfo, int arg, const char *what, int32 minimum)
{
	int32		period = PG_GETARG_INT32(arg);

	if (period < minimum)
		cs_reject(what, minimum == 0 ? "a non-negative number of periods" :
				  "a period number of at least 1", period);
	return period;
}

/* A prediction of the model (arg 0) at a period (arg 1, at least minimum). */
static Datum
sbg_at_period(FunctionCallInfo fcinfo, double (*fn) (const SbgModel *, double),
			  const char *what, int32 minimum)
{
	const SbgModel *m = (const SbgModel *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));

	PG_RETURN_FLOAT8(cs_check_result(what, fn(m, sbg_period_arg(fcinfo, 1, "period", minimum))));
}

/* survival(sbg, period) */
PG_FUNCTION_INFO_V1(sbg_survival_sql);
Datum
sbg_survival_sql(PG_FUNCTION_ARGS)
{
	return sbg_at_period(fcinfo, sbg_survival, "survival", 0);
}

/* retention_rate(sbg, period) */
PG_FUNCTION_INFO_V1(sbg_retention_rate_sql);
Datum
sbg_retention_rate_sql(PG_FUNCTION_ARGS)
{
	return sbg_at_period(fcinfo, sbg_retention_rate, "retention rate", 1);
}

/* discounted_residual_lifetime(sbg, discount_rate, renewals) */
PG_FUNCTION_INFO_V1(sbg_derl_sql);
Datum
sbg_derl_sql(PG_FUNCTION_ARGS)
{
	const SbgModel *m = (const SbgModel *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	double		d = PG_GETARG_FLOAT8(1);

	cs_check_non_negative("discount_rate", d);
	/* the series converges like (1 + d)^-k: about 40 / d terms */
	if (d != 0 && d < SBG_MIN_DISCOUNT_RATE)
		cs_reject("discount_rate", "0 or at least 1e-6", d);
	PG_RETURN_FLOAT8(cs_check_result("discounted expected residual lifetime",
									 sbg_derl(m, d, sbg_period_arg(fcinfo, 2, "renewals", 0))));
}
