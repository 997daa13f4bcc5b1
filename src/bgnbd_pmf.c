/*
 * bgnbd_pmf.c — P(X(t) = x) under the BG/NBD: the probability that a customer makes exactly x
 * repeat purchases in the first t time units after the first purchase (Fader, Hardie & Lee
 * 2005, eq. 8).  The period-transactions histogram compares it, summed over customers, with
 * how many customers made x repeat purchases in calibration.
 *
 *   P(X(t)=x) = B(a, b+x)/B(a, b) NB(x) + [x>0] B(a+1, b+x-1)/B(a, b) P(NB >= x)
 *
 * NB is the negative binomial of the purchase count of a customer who never drops out:
 * NB(j) = Gamma(r+j)/(Gamma(r) j!) (alpha/(alpha+t))^r (t/(alpha+t))^j.  Every term is formed
 * in logs; the tail P(NB >= x) is 1 minus the head when the head is small and the sum of the
 * tail's own terms otherwise, so it never comes from the difference of two numbers near 1.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "miscadmin.h"

#include "bgnbd.h"
#include "numeric.h"
#include "validate.h"
#include "validation.h"

#define PMF_TAIL_MAX_TERMS 10000000

/* log NB(j) with log_p0 = r log(alpha/(alpha+t)) and log_q = log(t/(alpha+t)) */
static inline double
log_nb(double r, double j, double log_p0, double log_q)
{
	return lgamma(r + j) - lgamma(r) - lgamma(j + 1.0) + log_p0 + j * log_q;
}

/* P(NB >= x) for x >= 1 and t > 0. */
static double
nb_tail(double r, double x, double log_p0, double log_q)
{
	double		head = 0,
				tail = 0,
				term;

	for (double j = 0; j < x; j++)
	{
		if (fmod(j, 65536.0) == 0)
			CHECK_FOR_INTERRUPTS();
		head += exp(log_nb(r, j, log_p0, log_q));
	}
	if (head <= 0.5)
		return 1.0 - head;
	/* the terms fall geometrically, at the rate q, once j > (r - 1) q / (1 - q) */
	term = exp(log_nb(r, x, log_p0, log_q));
	for (int64 k = 0; k < PMF_TAIL_MAX_TERMS && term > 0; k++)
	{
		double		j = x + k;

		if ((k & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		tail += term;
		if (term <= 1e-17 * tail && j > r)
			break;
		term *= (r + j) / (j + 1.0) * exp(log_q);
	}
	return fmin(tail, 1.0);
}

/* P(X(t) = x) for a BG/NBD model; x >= 0, t >= 0, both finite. */
double
bgnbd_probability(const BgnbdModel *model, int64 frequency, double t)
{
	double		r = model->r,
				a = model->a,
				b = model->b,
				x = (double) frequency;
	double		log_p0,
				log_q,
				active,
				dropped = 0;

	if (t == 0)
		return frequency == 0 ? 1.0 : 0.0;
	log_p0 = -r * log1p(t / model->alpha);
	log_q = log(t) - log(model->alpha + t);
	active = exp(cs_lbeta(a, b + x) - cs_lbeta(a, b) + log_nb(r, x, log_p0, log_q));
	if (frequency > 0)
		dropped = exp(cs_lbeta(a + 1.0, b + x - 1.0) - cs_lbeta(a, b)) * nb_tail(r, x, log_p0, log_q);
	return fmin(active + dropped, 1.0);
}

/* probability_of_purchases(model bgnbd, t, purchases) */
PG_FUNCTION_INFO_V1(bgnbd_probability_sql);
Datum
bgnbd_probability_sql(PG_FUNCTION_ARGS)
{
	BgnbdModel *model = DatumGetBgnbdModel(PG_GETARG_DATUM(0));
	double		t = PG_GETARG_FLOAT8(1);
	int32		purchases = PG_GETARG_INT32(2);

	cs_check_non_negative("t", t);
	if (purchases < 0)
		cs_reject("purchases", "non-negative", (double) purchases);
	PG_RETURN_FLOAT8(cs_check_result("the probability", bgnbd_probability(model, purchases, t)));
}
