/*
 * clv.c — customer lifetime value from a purchase model (any counting model,
 * through its CountingPredictions) and a spend model.
 *
 * clv = sum over steps k = 1..K of
 *         (E[Y(t_k)] - E[Y(t_{k-1})]) * E[spend] / (1 + discount_rate)^(t_k / step)
 * with t_k = min(k * step, horizon): the purchases expected in each step,
 * valued at the expected spend and discounted per step (as lifetimes does).
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "miscadmin.h"

#include "bgnbd.h"
#include "counting.h"
#include "gamma_gamma.h"
#include "validate.h"
#include "validation.h"

#define CLV_MAX_STEPS 100000

/* The discounted value of the expected purchases over the horizon, step by step. */
double
counting_clv(const CountingPredictions *p, const void *purchases, const GammaGammaModel *spend_model,
		  int32 frequency, double recency, double t, double monetary, double horizon,
		  double discount_rate, double step)
{
	double		spend,
				steps,
				value = 0,
				previous = 0;

	cs_check_history(frequency, recency, t);
	cs_check_non_negative("monetary", monetary);
	cs_check_non_negative("horizon", horizon);
	cs_check_positive("step", step);
	if (!isfinite(discount_rate) || discount_rate <= -1.0)
		cs_reject("discount_rate", "a finite number greater than -1", discount_rate);
	steps = ceil(horizon / step - 1e-9);
	if (steps > CLV_MAX_STEPS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("clv horizon spans %.0f steps, more than the limit of %d", steps, CLV_MAX_STEPS),
				 errhint("Use a larger step.")));

	spend = cs_check_result("expected spend", gamma_gamma_expected_spend(spend_model, frequency, monetary));
	for (int k = 1; k <= (int) steps; k++)
	{
		double		tk = fmin(k * step, horizon);
		double		expected;

		/* a long horizon in small steps can take minutes: let cancel and timeouts in */
		CHECK_FOR_INTERRUPTS();
		expected = p->expected(purchases, tk, frequency, recency, t);

		value += (expected - previous) * spend / pow(1.0 + discount_rate, tk / step);
		previous = expected;
	}
	return cs_check_result("clv", value);
}

/* clv(purchase model, gamma_gamma, frequency, recency, t, monetary, horizon, discount_rate, step) */
Datum
counting_clv_sql(const CountingPredictions *p, FunctionCallInfo fcinfo)
{
	PG_RETURN_FLOAT8(counting_clv(p, PG_DETOAST_DATUM(PG_GETARG_DATUM(0)),
							   DatumGetGammaGammaModel(PG_GETARG_DATUM(1)),
							   PG_GETARG_INT32(2), PG_GETARG_FLOAT8(3), PG_GETARG_FLOAT8(4),
							   PG_GETARG_FLOAT8(5), PG_GETARG_FLOAT8(6), PG_GETARG_FLOAT8(7),
							   PG_GETARG_FLOAT8(8)));
}

/*
 * predicted_clv: clv under the purchase rule (purchase_rule.h), what refresh and live_scores
 * both show.  NULL without a purchase or spend model, or where the spend model has no finite
 * expected spend for the customer (p * frequency + q <= 1); 0 for a repeat customer whose
 * repeat purchases net to nothing (monetary 0: all refunded, or data without spend).
 */
Datum
counting_predicted_clv_sql(const CountingPredictions *p, FunctionCallInfo fcinfo)
{
	GammaGammaModel *spend_model;
	int32		frequency;
	double		monetary;

	for (int i = 0; i < 9; i++)
		if (PG_ARGISNULL(i))
			PG_RETURN_NULL();
	spend_model = DatumGetGammaGammaModel(PG_GETARG_DATUM(1));
	frequency = PG_GETARG_INT32(2);
	monetary = PG_GETARG_FLOAT8(5);
	cs_check_history(frequency, PG_GETARG_FLOAT8(3), PG_GETARG_FLOAT8(4));
	if (!(spend_model->p * frequency + spend_model->q - 1 > 0))
		PG_RETURN_NULL();
	if (frequency > 0 && monetary <= 0)
		PG_RETURN_FLOAT8(0.0);
	PG_RETURN_FLOAT8(counting_clv(p, PG_DETOAST_DATUM(PG_GETARG_DATUM(0)), spend_model,
							   frequency, PG_GETARG_FLOAT8(3), PG_GETARG_FLOAT8(4), monetary,
							   PG_GETARG_FLOAT8(6), PG_GETARG_FLOAT8(7), PG_GETARG_FLOAT8(8)));
}

/* predicted_clv(bgnbd, gamma_gamma, ...); the other counting models' are beside them */
PG_FUNCTION_INFO_V1(predicted_clv);
Datum
predicted_clv(PG_FUNCTION_ARGS)
{
	return counting_predicted_clv_sql(&bgnbd_predictions, fcinfo);
}
