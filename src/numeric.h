/*
 * numeric.h — the numeric core: special functions and stable log-space helpers.
 *
 * Nothing here touches PostgreSQL state, so every function can be reasoned
 * about (and tested) on its own.  Callers validate their inputs first; these
 * helpers assume finite arguments in their stated domain.
 */
#ifndef CUSTOMER_SCORE_NUMERIC_H
#define CUSTOMER_SCORE_NUMERIC_H

#include <math.h>

/* log(exp(a) + exp(b)) without overflow; -INFINITY is the neutral element. */
static inline double
cs_log_add_exp(double a, double b)
{
	double		hi = a > b ? a : b;
	double		lo = a > b ? b : a;

	if (hi == -INFINITY)
		return -INFINITY;
	return hi + log1p(exp(lo - hi));
}

/*
 * log(exp(a) + exp(b)) for finite a and b, with the shares exp(a)/(exp(a) + exp(b))
 * and exp(b)/(...) that weigh the two branches' gradients: one exp and one log1p.
 */
static inline double
cs_log_add_exp_shares(double a, double b, double *share_a, double *share_b)
{
	double		e;

	if (a >= b)
	{
		e = exp(b - a);
		*share_a = 1.0 / (1.0 + e);
		*share_b = e * *share_a;
		return a + log1p(e);
	}
	e = exp(a - b);
	*share_b = 1.0 / (1.0 + e);
	*share_a = e * *share_b;
	return b + log1p(e);
}

/* log(1 + exp(x)), the "softplus", exact in both tails. */
static inline double
cs_log1p_exp(double x)
{
	if (x > 36.0)
		return x + exp(-x);
	if (x < -36.0)
		return exp(x);
	return log1p(exp(x));
}

/* expm1(y) / y, continuous at 0 (where it is 1). */
static inline double
cs_expm1_ratio(double y)
{
	if (fabs(y) < 1e-8)
		return 1.0 + y / 2.0;
	return expm1(y) / y;
}

extern double cs_digamma(double x);
extern double cs_trigamma(double x);
extern double cs_lbeta(double a, double b);

#endif
