/*
 * bgnbd_pmf.c — the tail of the negative binomial that the beta-geometric family's period
 * probability P(X(t) = x) needs (bg_family_pmf in bgnbd.c, Fader, Hardie & Lee 2005, eq. 8),
 * and probability_of_purchases(bgnbd, t, purchases), which is that probability for BG/NBD.
 *
 *   P(X(t)=x) = B(a, b+x)/B(a, b) NB(x) + [x>0] B(a+1, b+x-1)/B(a, b) P(NB >= x)
 *
 * NB is the negative binomial of the purchase count of a customer who never drops out:
 * NB(j) = Gamma(r+j)/(Gamma(r) j!) (alpha/(alpha+t))^r (t/(alpha+t))^j.  The tail P(NB >= x)
 * is the regularised incomplete beta function I_q(x, r), whose cost does not grow with x (no
 * sum over 0 .. x).
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "miscadmin.h"

#include "bgnbd.h"
#include "numeric.h"
#include "validate.h"

#define BETA_CF_MAX_ITERATIONS 10000000
#define BETA_CF_TINY 1e-300

/*
 * The continued fraction of the regularised incomplete beta function I_x(a, b) (modified
 * Lentz), for x < (a + 1) / (a + b + 2), where it converges in O(sqrt(max(a, b))) steps.
 */
static double
beta_continued_fraction(double a, double b, double x)
{
	double		c = 1.0,
				d = 1.0 - (a + b) * x / (a + 1.0),
				h;

	if (fabs(d) < BETA_CF_TINY)
		d = BETA_CF_TINY;
	d = 1.0 / d;
	h = d;
	for (int64 m = 1; m < BETA_CF_MAX_ITERATIONS; m++)
	{
		double		m2 = 2.0 * m,
					coefficient,
					delta;

		if ((m & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		/* the even step, then the odd one */
		coefficient = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
		d = 1.0 + coefficient * d;
		d = fabs(d) < BETA_CF_TINY ? 1.0 / BETA_CF_TINY : 1.0 / d;
		c = 1.0 + coefficient / c;
		if (fabs(c) < BETA_CF_TINY)
			c = BETA_CF_TINY;
		h *= d * c;
		coefficient = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
		d = 1.0 + coefficient * d;
		d = fabs(d) < BETA_CF_TINY ? 1.0 / BETA_CF_TINY : 1.0 / d;
		c = 1.0 + coefficient / c;
		if (fabs(c) < BETA_CF_TINY)
			c = BETA_CF_TINY;
		delta = d * c;
		h *= delta;
		if (fabs(delta - 1.0) < 1e-16)
			break;
	}
	return h;
}

/*
 * P(NB >= x) = I_q(x, r) for x >= 1 and 0 < q < 1 (q = t / (alpha + t), log_q its log and
 * log_p0 = r log(alpha / (alpha + t))), the regularised
 * incomplete beta function: its continued fraction on the side where it converges, so the
 * value never comes from the difference of two numbers near 1.
 */
double
bg_negative_binomial_tail(double r, double x, double log_q, double log_p0)
{
	double		q = exp(log_q);
	/* x^a (1-x)^b / (a B(a, b)) with a = x, b = r, in logs */
	double		log_front = x * log_q + log_p0 - log(x) - cs_lbeta(x, r);

	if (q < (x + 1.0) / (x + r + 2.0))
		return fmin(1.0, exp(log_front) * beta_continued_fraction(x, r, q));
	/* the complement, I_q(x, r) = 1 - I_{1-q}(r, x), with its own front factor */
	log_front = log_p0 + x * log_q - log(r) - cs_lbeta(r, x);
	return fmax(0.0, 1.0 - exp(log_front) * beta_continued_fraction(r, x, 1.0 - q));
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
	PG_RETURN_FLOAT8(cs_check_result("the probability",
									 fmin(1.0, bg_family_pmf(model->r, model->alpha, model->a, model->b,
															 0, t, purchases))));
}
