/*
 * numeric.c — special functions the C library lacks.
 *
 * digamma and trigamma use the standard recurrence up to x >= 20
 * followed by the asymptotic (Bernoulli) series, which gives full double
 * precision for positive arguments.  The fits only ever call them with
 * positive arguments.
 */
#include <math.h>

#include "numeric.h"

double
cs_digamma(double x)
{
	double		result = 0.0;
	double		inv,
				inv2;

	/* psi(x) = psi(x + 1) - 1/x: move the argument up to where the series is exact */
	while (x < 20.0)
	{
		result -= 1.0 / x;
		x += 1.0;
	}
	inv = 1.0 / x;
	inv2 = inv * inv;
	result += log(x) - 0.5 * inv
		- inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 * (1.0 / 132)))));
	return result;
}

double
cs_trigamma(double x)
{
	double		result = 0.0;
	double		inv,
				inv2;

	while (x < 20.0)
	{
		result += 1.0 / (x * x);
		x += 1.0;
	}
	inv = 1.0 / x;
	inv2 = inv * inv;
	result += inv + 0.5 * inv2
		+ inv * inv2 * (1.0 / 6 - inv2 * (1.0 / 30 - inv2 * (1.0 / 42 - inv2 * (1.0 / 30))));
	return result;
}

/* log B(a, b) */
double
cs_lbeta(double a, double b)
{
	return lgamma(a) + lgamma(b) - lgamma(a + b);
}
