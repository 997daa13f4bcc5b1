/*
 * pochhammer.h — running sums of log(c + k) and 1/(c + k), k = 0 .. x-1.
 *
 * These are lgamma(c + x) - lgamma(c) and digamma(c + x) - digamma(c): the
 * terms of the likelihoods that depend only on a customer's frequency x.
 * Summing them directly for the distinct frequencies in ascending order is
 * both cheaper than calling lgamma per customer and free of the cancellation
 * that the difference of two large lgamma values suffers when c is large.
 * A long jump between frequencies falls back to the lgamma difference.
 */
#ifndef CUSTOMER_SCORE_POCHHAMMER_H
#define CUSTOMER_SCORE_POCHHAMMER_H

#include <math.h>

#include "numeric.h"

#define POCHHAMMER_MAX_STEPS 4096

typedef struct Pochhammer
{
	double		c;
	double		x;				/* the sums cover k = 0 .. x-1 */
	double		log_sum;		/* lgamma(c + x) - lgamma(c) */
	double		inv_sum;		/* digamma(c + x) - digamma(c) */
} Pochhammer;

static inline void
pochhammer_start(Pochhammer *p, double c)
{
	p->c = c;
	p->x = 0;
	p->log_sum = 0;
	p->inv_sum = 0;
}

/* Move the sums forward to x_to (>= the current x). */
static inline void
pochhammer_advance(Pochhammer *p, double x_to)
{
	if (x_to - p->x <= POCHHAMMER_MAX_STEPS)
	{
		for (double k = p->x; k < x_to; k += 1.0)
		{
			p->log_sum += log(p->c + k);
			p->inv_sum += 1.0 / (p->c + k);
		}
	}
	else
	{
		p->log_sum += lgamma(p->c + x_to) - lgamma(p->c + p->x);
		p->inv_sum += cs_digamma(p->c + x_to) - cs_digamma(p->c + p->x);
	}
	p->x = x_to;
}

#endif
