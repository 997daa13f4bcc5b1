/*
 * gamma_gamma.c — the Gamma-Gamma spend model: its likelihood, its
 * description (gamma_gamma_spec, from which model.c makes the type, its
 * state and its fit), the fit's transition function and expected spend.
 *
 * A customer's mean repeat-purchase value zbar over x repeat purchases is
 * Gamma(p x, nu x) given nu, and nu ~ Gamma(q, v) across customers (Fader &
 * Hardie 2013 use gamma for v).  Customers without repeat purchases carry no
 * information about spend and do not enter the fit.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "miscadmin.h"

#include "gamma_gamma.h"
#include "history.h"
#include "model.h"
#include "numeric.h"
#include "optimize.h"
#include "validate.h"

/*
 * gamma_gamma_fit(frequency int, monetary float8).  Rows with a NULL are
 * skipped; so are customers with frequency 0, whose monetary value is
 * undefined (the summaries report it as 0).
 */
PG_FUNCTION_INFO_V1(gamma_gamma_fit_transfn);
Datum
gamma_gamma_fit_transfn(PG_FUNCTION_ARGS)
{
	double		key[HISTORY_MAX_KEYS] = {0};

	CS_REQUIRE_AGG_CONTEXT(fcinfo, "gamma_gamma_fit_transfn");
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		goto skip;
	if (PG_GETARG_INT32(1) < 0)
		cs_reject("frequency", "non-negative", PG_GETARG_INT32(1));
	if (PG_GETARG_INT32(1) == 0)
	{
		cs_check_finite("monetary", PG_GETARG_FLOAT8(2));
		goto skip;
	}
	key[0] = (double) PG_GETARG_INT32(1);
	key[1] = PG_GETARG_FLOAT8(2);
	history_validate_key(HISTORY_GAMMA_GAMMA, key);
	PG_RETURN_POINTER(history_add(fcinfo, HISTORY_GAMMA_GAMMA, key, 1));

skip:
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(PG_GETARG_DATUM(0));
}

/* ---------------------------------------------------------------------
 * The fit
 * ---------------------------------------------------------------------
 */

/* Spend rescaled so the customers' mean is 1 (v scales with money, p and q do not). */
typedef struct GammaGammaData
{
	int32		n;
	double	   *x;
	double	   *m;
	double	   *log_m;
	double	   *weight;
	double		total;
} GammaGammaData;

/*
 * Minus the mean log-likelihood and its gradient in log-parameters.  Per
 * customer (the density of zbar given x):
 *
 *   ll = lgamma(px+q) - lgamma(px) - lgamma(q) + q log v
 *        + (px-1) log zbar + px log x - (px+q) log(x zbar + v)
 */
static double
gamma_gamma_objective(const double *theta, double *grad, void *arg)
{
	const GammaGammaData *data = arg;
	double		p = exp(theta[0]),
				q = exp(theta[1]),
				v = exp(theta[2]);
	double		log_v = theta[2];
	double		lgamma_q = lgamma(q),
				digamma_q = cs_digamma(q);
	double		ll = 0,
				g_p = 0,
				g_q = 0,
				g_v = 0;
	int32		i = 0;

	while (i < data->n)
	{
		double		x = data->x[i];
		double		px = p * x;
		double		log_x = log(x);
		double		common = lgamma(px + q) - lgamma(px) - lgamma_q + q * log_v + px * log_x;
		double		digamma_pxq = cs_digamma(px + q);
		double		dp_common = digamma_pxq - cs_digamma(px) + log_x;
		double		dq_common = digamma_pxq - digamma_q + log_v;

		CHECK_FOR_INTERRUPTS();	/* once per distinct x, so in every optimiser iteration */

		for (; i < data->n && data->x[i] == x; i++)
		{
			double		w = data->weight[i];
			double		spend = x * data->m[i] + v;
			double		log_spend = log(spend);

			if ((i & 4095) == 0)
				CHECK_FOR_INTERRUPTS();	/* one x can hold most of a million histories */

			ll += w * (common + (px - 1.0) * data->log_m[i] - (px + q) * log_spend);
			g_p += w * x * (dp_common + data->log_m[i] - log_spend);
			g_q += w * (dq_common - log_spend);
			g_v += w * (q / v - (px + q) / spend);
		}
	}
	if (!isfinite(ll))
		return INFINITY;
	grad[0] = -g_p * p / data->total;
	grad[1] = -g_q * q / data->total;
	grad[2] = -g_v * v / data->total;
	return -ll / data->total;
}

/* The GammaGammaData of a compacted (frequency, monetary) state, spend rescaled to mean 1. */
static void
gamma_gamma_prepare(const HistoryState *state, CsFitData *out)
{
	GammaGammaData *data = palloc0(sizeof(GammaGammaData));
	double		scale = 0;

	data->n = state->used;
	data->x = palloc(sizeof(double) * data->n);
	data->m = palloc(sizeof(double) * data->n);
	data->log_m = palloc(sizeof(double) * data->n);
	data->weight = palloc(sizeof(double) * data->n);
	for (int32 i = 0; i < data->n; i++)
	{
		data->weight[i] = (double) state->points[i].count;
		data->total += data->weight[i];
		scale += data->weight[i] * state->points[i].key[1];
	}
	scale /= data->total;
	for (int32 i = 0; i < data->n; i++)
	{
		data->x[i] = state->points[i].key[0];
		data->m[i] = state->points[i].key[1] / scale;
		/* in two steps, so a spend far below the mean cannot underflow to log(0) */
		data->log_m[i] = log(state->points[i].key[1]) - log(scale);
	}
	out->arg = data;
	out->total = data->total;
	out->scale = scale;
	/* a density in zbar: rescaling money by 1/scale adds log(scale) per customer */
	out->log_likelihood_shift = -(data->total * log(scale));
}

/* p, q, v with the mean spend scaled to 1; the last two start near the mean */
static const double gamma_gamma_starts[][CS_OPT_MAX_PARAMS] = {
	{1.0, 1.0, 1.0},
	{5.0, 4.0, 0.6},
	{2.0, 15.0, 7.0},
};

const CsModelSpec gamma_gamma_spec = {
	.type_name = "gamma_gamma",
	.label = "Gamma-Gamma",
	.version = GAMMA_GAMMA_VERSION,
	.nparams = 3,
	.param_names = {"p", "q", "v"},
	.scaled_params = 1 << 2,	/* v */
	.history = HISTORY_GAMMA_GAMMA,
	.state_name = "gamma_gamma_state",
	.prepare = gamma_gamma_prepare,
	.objective = gamma_gamma_objective,
	.nstarts = lengthof(gamma_gamma_starts),
	.starts = gamma_gamma_starts,
};

CS_MODEL_FUNCTIONS(gamma_gamma, gamma_gamma_spec)

/* ---------------------------------------------------------------------
 * Prediction
 * ---------------------------------------------------------------------
 */

/*
 * E[mean spend | x, zbar] = p (v + x zbar) / (p x + q - 1): a weighted mean
 * of the population mean p v / (q - 1) and the customer's own zbar.
 */
double
gamma_gamma_expected_spend(const GammaGammaModel *model, int64 frequency, double monetary)
{
	double		x = (double) frequency;
	double		denominator = model->p * x + model->q - 1.0;

	if (frequency == 0)
		monetary = 0;			/* no repeat purchase: only the population mean counts */
	if (denominator <= 0)
	{
		char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];

		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("expected spend is unbounded for frequency " INT64_FORMAT " under this model",
						frequency),
				 errdetail("p * frequency + q - 1 must be positive; q is %s.",
						   cs_format_double(model->q, buf))));
	}
	/* as a weighted mean, so no intermediate product overflows on its own */
	return (model->p / denominator) * model->v + (model->p * x / denominator) * monetary;
}

/* expected_spend(model, frequency, monetary) */
PG_FUNCTION_INFO_V1(gamma_gamma_expected_spend_sql);
Datum
gamma_gamma_expected_spend_sql(PG_FUNCTION_ARGS)
{
	GammaGammaModel *model = DatumGetGammaGammaModel(PG_GETARG_DATUM(0));
	int32		frequency = PG_GETARG_INT32(1);
	double		monetary = PG_GETARG_FLOAT8(2);

	if (frequency < 0)
		cs_reject("frequency", "non-negative", frequency);
	cs_check_non_negative("monetary", monetary);
	PG_RETURN_FLOAT8(cs_check_result("expected spend",
									 gamma_gamma_expected_spend(model, frequency, monetary)));
}
