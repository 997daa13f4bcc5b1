/*
 * pareto_nbd.c — the Pareto/NBD model: its likelihood, its description
 * (pareto_nbd_spec, from which model.c makes the type, its state and its
 * fit) and the predictions.
 *
 * A customer with x repeat purchases, the last at t_x, observed until T:
 *
 *   L = Gamma(r+x) alpha^r beta^s / Gamma(r)
 *       * [ (alpha+T)^-(r+x) (beta+T)^-s + s I(t_x, T) ],
 *   I(lo, hi) = integral over (lo, hi] of (alpha+u)^-(r+x) (beta+u)^-(s+1) du:
 *
 * alive at T, or died at some u after the last purchase (FHL 2005, "A Note on
 * Deriving the Pareto/NBD Model", before the integral is written as Gauss
 * hypergeometric functions).  The 2F1 form is where implementations break:
 * its series converges slowly or overflows as |alpha - beta| / (max + t_x)
 * nears 1, which the likelihood ridge in (s, beta) and long histories reach.
 * Here I is integrated directly, in logs (see pnbd_integral), which is finite
 * and accurate for any frequency and history length.  The fit, which needs I
 * for every history at every evaluation, sums the same series of positive
 * terms as a difference of two tails where it converges fast (d / (c + t_x)
 * small, see pnbd_series_sums): each tail once per frequency and distinct
 * time, then one logarithm per history; quadrature elsewhere.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "miscadmin.h"

#include "counting.h"
#include "model.h"
#include "numeric.h"
#include "pareto_nbd.h"
#include "pochhammer.h"

/* I and the means under its integrand that the gradient needs */
typedef struct PnbdIntegral
{
	double		log_value;		/* log I; -INFINITY for an empty interval */
	double		mean_log_a;		/* of log(alpha + u) */
	double		mean_inv_a;		/* of 1/(alpha + u) */
	double		mean_log_b;		/* of log(beta + u) */
	double		mean_inv_b;		/* of 1/(beta + u) */
} PnbdIntegral;

/* 8-point Gauss-Legendre on [-1, 1], nodes in ascending order (weights 0.1012, 0.2224, 0.3137, 0.3627) */
typedef struct GaussRule
{
	int			n;
	double		x[8];
	double		log_w[8];		/* log of the weights */
} GaussRule;

static const GaussRule gauss8 = {8,
	{-0.9602898564975363, -0.7966664774136267, -0.5255324099163290, -0.1834346424956498,
	0.1834346424956498, 0.5255324099163290, 0.7966664774136267, 0.9602898564975363},
	{-2.2903745827235054, -1.5033629969804014, -1.1592969785528289, -1.014223944532757,
	-1.014223944532757, -1.1592969785528289, -1.5033629969804014, -2.2903745827235054}};

#define PNBD_MAX_PANELS 64

/*
 * The slope in v of the log-integrand of pnbd_integral at e = e^v: the
 * integrand is log-concave in v, so its slope falls from one end to the other.
 */
static inline double
pnbd_slope(double e, double m, double da, double db, double ka, double kb, double n)
{
	double		slope = 1.0 - ka * e / (e + da) - kb * e / (e + db);

	if (n > 0)
		slope += n * e / (e - m);
	return slope;
}

/*
 * The integral over (lo, hi] of u^n (alpha+u)^-ka (beta+u)^-kb du, in logs,
 * with the means of log and inverse of (alpha+u) and (beta+u) under it;
 * called with m = min(alpha, beta), da = alpha - m, db = beta - m, e0 = m + lo,
 * e1 = m + hi and their logs v0, v1 (the fit has those logs at hand).
 *
 * In v = log(m + u), m = min(alpha, beta), the log-integrand is
 *   v - ka log(e^v + alpha - m) - kb log(e^v + beta - m) [+ n log(e^v - m)],
 * concave, with a slope bounded by ka + kb + 1 (n = 0): smooth on the scale of
 * the smaller of alpha and beta however far apart they are.  Where the
 * integrand falls by e^-40 from one end the interval is cut there (concavity
 * makes the tangent a bound), then composite 8-point Gauss-Legendre over
 * panels on which the log-integrand changes by at most 4 (relative error
 * near 1e-13 for an exponential, so the panel count's steps leave the fit's
 * objective smooth to far below the optimiser's tolerance).  Nodes run from
 * left to right and the sum keeps a running maximum, so nothing underflows.
 */
static void
pnbd_integral_v(double m, double da, double db, double ka, double kb, double n,
				double e0, double e1, double v0, double v1, PnbdIntegral *out)
{
	double		top = -INFINITY,
				sum = 0,
				s_la = 0,
				s_ia = 0,
				s_lb = 0,
				s_ib = 0;
	int			panels;
	const GaussRule *rule = &gauss8;	/* one rule and data-driven panels: a smooth objective */
	double		half,
				log_half;

	memset(out, 0, sizeof(*out));
	out->log_value = -INFINITY;
	if (!(v1 > v0))
		return;
	if (n == 0)
	{
		double		slope0 = pnbd_slope(e0, m, da, db, ka, kb, n);
		double		slope1;
		double		steepest;

		if (slope0 < 0 && v1 - v0 > 40.0 / -slope0)
		{
			v1 = v0 + 40.0 / -slope0;
			e1 = exp(v1);
		}
		slope1 = pnbd_slope(e1, m, da, db, ka, kb, n);
		if (slope1 > 0 && v1 - v0 > 40.0 / slope1)
		{
			v0 = v1 - 40.0 / slope1;
			slope0 = pnbd_slope(exp(v0), m, da, db, ka, kb, n);
		}
		steepest = fmax(1.0, fmax(fabs(slope0), fabs(slope1)));
		panels = (int) fmin(PNBD_MAX_PANELS, ceil((v1 - v0) * steepest / 4.0));
		panels = Max(panels, 1);
	}
	else
		panels = PNBD_MAX_PANELS;	/* u^n vanishes at lo = 0, where the slope is unbounded */

	half = (v1 - v0) / (2.0 * panels);
	log_half = log(half);
	for (int p = 0; p < panels; p++)
	{
		double		mid = v0 + (2 * p + 1) * half;

		for (int k = 0; k < rule->n; k++)
		{
			double		v = mid + rule->x[k] * half;
			double		e = exp(v);
			double		la = da == 0 ? v : log(e + da);
			double		lb = db == 0 ? v : log(e + db);
			double		g = v - ka * la - kb * lb + rule->log_w[k] + log_half;
			double		w;

			if (n > 0)
				g += n * log(e - m);
			if (g > top)
			{
				/* a new maximum: rescale what was summed against the old one */
				double		f = exp(top - g);

				sum *= f;
				s_la *= f;
				s_ia *= f;
				s_lb *= f;
				s_ib *= f;
				top = g;
			}
			w = exp(g - top);
			sum += w;
			s_la += w * la;
			s_ia += w / (e + da);
			s_lb += w * lb;
			s_ib += w / (e + db);
		}
	}
	if (!(sum > 0))
		return;
	out->log_value = top + log(sum);
	out->mean_log_a = s_la / sum;
	out->mean_inv_a = s_ia / sum;
	out->mean_log_b = s_lb / sum;
	out->mean_inv_b = s_ib / sum;
}

/* pnbd_integral_v from the parameters and the interval */
static void
pnbd_integral(double alpha, double beta, double ka, double kb, double n,
			  double lo, double hi, PnbdIntegral *out)
{
	double		m = fmin(alpha, beta);

	pnbd_integral_v(m, alpha - m, beta - m, ka, kb, n, m + lo, m + hi, log(m + lo), log(m + hi), out);
}

/*
 * The fit sums the series of pnbd_series_sums while d / (c + t_x) is at most
 * this (about 140 terms at the limit when k_o is near 1); beyond it, and
 * beyond PNBD_SERIES_MAX_TERMS terms, it integrates by quadrature.
 */
#define PNBD_SERIES_MAX_Z 0.75
#define PNBD_SERIES_MAX_TERMS 384	/* even: pnbd_series_sums takes two a step */
/* the series stops once the rest of its terms is below this share of its sum */
#define PNBD_SERIES_EPS 1e-17

/*
 * The coefficients of pnbd_series for one frequency (they depend on k_o and
 * K, not on the times), computed as far as a history needs them and shared
 * by every history with that frequency.
 */
typedef struct PnbdCoefficients
{
	int			n;				/* terms computed */
	double		k_o;
	double		K;
	double		coef;			/* c_n = (k_o)_n / n!, for the next term */
	double		h;				/* h_n = sum_{i<n} 1/(k_o+i) */
	double		a0[PNBD_SERIES_MAX_TERMS];	/* c_j / q_j */
	double		a2[PNBD_SERIES_MAX_TERMS];	/* c_j / q_j^2 */
	double		ah[PNBD_SERIES_MAX_TERMS];	/* c_j h_j / q_j */
	double		b1[PNBD_SERIES_MAX_TERMS];	/* c_j / (q_j + 1) */
	double		b1o[PNBD_SERIES_MAX_TERMS]; /* c_j (k_o + j) / (k_o (q_j + 1)) */
	double		grow[PNBD_SERIES_MAX_TERMS];	/* max(1, (k_o + j) / (j + 1)) */
} PnbdCoefficients;

/* Start the coefficients of a frequency: none computed yet. */
static inline void
pnbd_coefficients_start(PnbdCoefficients *c, double k_o, double K)
{
	c->n = 0;
	c->k_o = k_o;
	c->K = K;
	c->coef = 1.0;
	c->h = 0.0;
}

/* Compute the coefficients up to term upto (exclusive, at most PNBD_SERIES_MAX_TERMS). */
static void
pnbd_coefficients_extend(PnbdCoefficients *c, int upto)
{
	for (int j = c->n; j < upto; j++)
	{
		double		iq = 1.0 / (c->K - 1.0 + j),
					iq1 = 1.0 / (c->K + j),
					ko_j = c->k_o + j,
					ratio = ko_j / (j + 1.0);

		c->a0[j] = c->coef * iq;
		c->a2[j] = c->a0[j] * iq;
		c->ah[j] = c->a0[j] * c->h;
		c->b1[j] = c->coef * iq1;
		c->b1o[j] = c->b1[j] * ko_j / c->k_o;
		c->grow[j] = fmax(1.0, ratio);
		c->h += 1.0 / ko_j;
		c->coef *= ratio;
	}
	c->n = Max(c->n, upto);
}

/*
 * The sums of the tail J(t) = integral over (t, infinity) of the integrand of
 * I, a series of positive terms.  With c the larger of alpha and beta, o the
 * other, d = c - o, k_c and k_o their exponents, K = k_c + k_o, q_j = K - 1 + j,
 * z = d / (c + t) and c_j = (k_o)_j / j!,
 *
 *   (c+u)^-k_c (o+u)^-k_o = (c+u)^-K (1 - d/(c+u))^-k_o = sum_j c_j d^j (c+u)^-(K+j)
 *   J(t)            = (c+t)^-(K-1) s0,  s0 = sum_j c_j z^j / q_j   (2F1(k_o, K-1; K; z) / (K-1))
 *   E[log(c+u)] J   = (c+t)^-(K-1) [log(c+t) s0 + s2],  s2 = sum c_j z^j / q_j^2   (minus dJ/dk_c)
 *   E[log(o+u)] J   = that - (c+t)^-(K-1) sh,  sh = sum c_j h_j z^j / q_j,
 *                     h_j = sum_{i<j} 1/(k_o+i)                    (minus dJ/dk_o)
 *   E[1/(c+u)] J    = (c+t)^-K s1,  s1 = sum c_j z^j / (q_j+1)     (J with k_c + 1)
 *   E[1/(o+u)] J    = (c+t)^-K s1o, s1o = sum c_j (k_o+j)/k_o z^j / (q_j+1)   (J with k_o + 1)
 *
 * stored as {s0, s2, sh, s1, s1o} in sums[], with the coefficients from co.
 * The terms fall by at least z max(1, (k_o+j)/(j+1)) from term j on, which
 * bounds what is left.  Returns false when the series needs more than
 * PNBD_SERIES_MAX_TERMS terms (k_o large and z near the limit).
 */
static bool
pnbd_series_sums(PnbdCoefficients *co, double z, double *sums)
{
	/* in locals: sums may alias nothing the loop reads, but the compiler cannot know */
	double		s0 = 0,
				s2 = 0,
				sh = 0,
				s1 = 0,
				s1o = 0,
				z2 = z * z,
				zj = 1.0,
				zk = z;
	bool		done = false;

	/* two terms a step, j and k = j + 1, so the powers of z are two short chains */
	for (int j = 0;; j += 2)
	{
		int			k = j + 1;
		double		fall;

		if (k >= co->n)
		{
			if (k >= PNBD_SERIES_MAX_TERMS)
				break;
			pnbd_coefficients_extend(co, Min(PNBD_SERIES_MAX_TERMS, Max(32, 2 * k)));
		}
		s0 += co->a0[j] * zj + co->a0[k] * zk;
		s2 += co->a2[j] * zj + co->a2[k] * zk;
		sh += co->ah[j] * zj + co->ah[k] * zk;
		s1 += co->b1[j] * zj + co->b1[k] * zk;
		s1o += co->b1o[j] * zj + co->b1o[k] * zk;
		fall = z * co->grow[k];
		if (fall < 1.0 && co->a0[k] * zk * fall <= PNBD_SERIES_EPS * (1.0 - fall) * s0)
		{
			done = true;
			break;
		}
		zj *= z2;
		zk *= z2;
	}
	sums[0] = s0;
	sums[1] = s2;
	sums[2] = sh;
	sums[3] = s1;
	sums[4] = s1o;
	return done;
}

/* the largest |log| of the factors a tail keeps, so that their products stay finite */
#define PNBD_SERIES_MAX_LOG_FACTOR 300.0

/* A cached tail's entries in CountingData.tails, COUNTING_TAIL_STRIDE per distinct time */
#define PNBD_TAIL_SUMS 0		/* 5: pnbd_series_sums */
#define PNBD_TAIL_LOWER 5		/* (c+t)^-(K-1) (c+t_ref)^(K-1), c + t_ref the frequency's smallest */
#define PNBD_TAIL_UPPER 6		/* 1 / (the alive branch at T = t, times (c+t_ref)^(K-1)) */
#define PNBD_TAIL_LOWER_OK 7	/* the series converged and LOWER is finite and not 0 */
#define PNBD_TAIL_UPPER_OK 8	/* UPPER is finite and not 0 */
#define PNBD_TAIL_STAMP 9		/* the frequency group the entry is for; -1 none */

/*
 * The tail from times[k] for the frequency whose group is stamp: computed
 * once per frequency and time, then shared by every history of that frequency
 * with t_x or T there.  The two factors make a history's "died" branch over its
 * alive one a product (pnbd_series_bracket) without an exponential per history;
 * log_ref = (K-1) log(c + t_ref) keeps them in range.
 */
static inline const double *
pnbd_tail(const CountingData *data, PnbdCoefficients *co, int32 k, double stamp, double d,
		  const double *log_c_time, const double *inv_c_time, double log_ref,
		  double rx, double s)
{
	double	   *tail = data->tails + (Size) COUNTING_TAIL_STRIDE * k;
	double		log_lower,
				log_upper;

	if (tail[PNBD_TAIL_STAMP] == stamp)
		return tail;
	tail[PNBD_TAIL_STAMP] = stamp;
	log_lower = log_ref - (co->K - 1.0) * log_c_time[k];
	log_upper = rx * data->log_alpha_time[k] + s * data->log_beta_time[k] - log_ref;
	tail[PNBD_TAIL_LOWER_OK] = fabs(log_lower) <= PNBD_SERIES_MAX_LOG_FACTOR &&
		pnbd_series_sums(co, d * inv_c_time[k], tail + PNBD_TAIL_SUMS);
	tail[PNBD_TAIL_UPPER_OK] = fabs(log_upper) <= PNBD_SERIES_MAX_LOG_FACTOR;
	tail[PNBD_TAIL_LOWER] = exp(log_lower);
	tail[PNBD_TAIL_UPPER] = exp(log_upper);
	return tail;
}

/*
 * One history's likelihood bracket from the tails at t_x (lo) and T (hi):
 * the "died" branch s I over the alive one, R = s (e_lo J_lo' - e_hi J_hi'),
 * J' the tails' sums and e the factors (c + t)^-(K-1) over the alive branch;
 * then log D = alive + log(1 + R), the branches' shares and the means under I's
 * integrand (into in).  An interval too short to tell from rounding has no
 * died branch.
 */
static void
pnbd_series_bracket(const double *lo_tail, const double *hi_tail, bool alpha_is_c, double s,
					double log_c_lo, double inv_c_lo, double log_c_hi, double inv_c_hi,
					double alive, PnbdIntegral *in, double *lse, double *w_alive,
					double *w_died)
{
	const double *lo = lo_tail + PNBD_TAIL_SUMS,
			   *hi = hi_tail + PNBD_TAIL_SUMS;
	double		e_lo = lo_tail[PNBD_TAIL_LOWER] * hi_tail[PNBD_TAIL_UPPER],
				e_hi = hi_tail[PNBD_TAIL_LOWER] * hi_tail[PNBD_TAIL_UPPER],
				died,
				inv_died,
				one_plus,
				m_log_c,
				m_inv_c,
				m_log_o,
				m_inv_o;

	memset(in, 0, sizeof(*in));
	died = e_lo * lo[0] - e_hi * hi[0];	/* I over the alive branch */
	if (!(died > 0))
	{
		in->log_value = -INFINITY;
		*lse = alive;
		*w_alive = 1.0;
		*w_died = 0.0;
		return;
	}
	inv_died = 1.0 / died;
	m_log_c = (e_lo * (log_c_lo * lo[0] + lo[1]) - e_hi * (log_c_hi * hi[0] + hi[1])) * inv_died;
	m_log_o = m_log_c - (e_lo * lo[2] - e_hi * hi[2]) * inv_died;
	m_inv_c = (e_lo * inv_c_lo * lo[3] - e_hi * inv_c_hi * hi[3]) * inv_died;
	m_inv_o = (e_lo * inv_c_lo * lo[4] - e_hi * inv_c_hi * hi[4]) * inv_died;
	if (alpha_is_c)
	{
		in->mean_log_a = m_log_c;
		in->mean_inv_a = m_inv_c;
		in->mean_log_b = m_log_o;
		in->mean_inv_b = m_inv_o;
	}
	else
	{
		in->mean_log_b = m_log_c;
		in->mean_inv_b = m_inv_c;
		in->mean_log_a = m_log_o;
		in->mean_inv_a = m_inv_o;
	}
	died *= s;
	in->log_value = 0.0;		/* finite: the died branch is there */

	/*
	 * log rather than log1p: rounding 1 + R costs at most one ulp of 1 in log D, a relative
	 * error far below the objective's, and log is cheaper
	 */
	one_plus = 1.0 + died;
	*lse = alive + log(one_plus);
	*w_alive = 1.0 / one_plus;
	*w_died = died * *w_alive;
}

/* ---------------------------------------------------------------------
 * The fit
 * ---------------------------------------------------------------------
 */

/*
 * The fit's integrals for one frequency from each distinct time on:
 * cumulative[5k] = log of the integral over (times[k], times[ntimes-1]], and
 * cumulative[5k+1..4] the means under it (as in PnbdIntegral), for k from
 * lowest up, summed from the top down piece by piece.  The u-integrand
 * falls with u, so the integral over (t_x, T] as the difference of two of
 * these loses nothing that matters against the likelihood's other branch.
 */
static void
pnbd_cumulate(CountingData *data, double m, double da, double db, double ka, double kb,
			  int32 lowest, const double *log_m_time)
{
	double	   *c = data->cumulative;
	int32		top = data->ntimes - 1;

	c[5 * top] = -INFINITY;
	c[5 * top + 1] = c[5 * top + 2] = c[5 * top + 3] = c[5 * top + 4] = 0;
	for (int32 k = top - 1; k >= lowest; k--)
	{
		PnbdIntegral piece;
		double		total,
					w_piece,
					w_rest;

		pnbd_integral_v(m, da, db, ka, kb, 0, m + data->times[k], m + data->times[k + 1],
						log_m_time[k], log_m_time[k + 1], &piece);
		total = cs_log_add_exp(piece.log_value, c[5 * (k + 1)]);
		w_piece = exp(piece.log_value - total);
		w_rest = exp(c[5 * (k + 1)] - total);
		c[5 * k] = total;
		c[5 * k + 1] = w_piece * piece.mean_log_a + w_rest * c[5 * (k + 1) + 1];
		c[5 * k + 2] = w_piece * piece.mean_inv_a + w_rest * c[5 * (k + 1) + 2];
		c[5 * k + 3] = w_piece * piece.mean_log_b + w_rest * c[5 * (k + 1) + 3];
		c[5 * k + 4] = w_piece * piece.mean_inv_b + w_rest * c[5 * (k + 1) + 4];
	}
}

/* The integral over (times[lo], times[hi]] from pnbd_cumulate's sums */
static void
pnbd_from_cumulative(const double *c, int32 ntimes, int32 lo, int32 hi, PnbdIntegral *out)
{
	double		rho,
				scale;

	memset(out, 0, sizeof(*out));
	out->log_value = -INFINITY;
	if (hi <= lo || c[5 * lo] == -INFINITY)
		return;
	rho = exp(c[5 * hi] - c[5 * lo]);	/* the part beyond hi, 0 when hi is the last time */
	if (!(rho < 1.0))
		return;
	out->log_value = c[5 * lo] + log1p(-rho);
	scale = 1.0 / (1.0 - rho);
	out->mean_log_a = (c[5 * lo + 1] - rho * c[5 * hi + 1]) * scale;
	out->mean_inv_a = (c[5 * lo + 2] - rho * c[5 * hi + 2]) * scale;
	out->mean_log_b = (c[5 * lo + 3] - rho * c[5 * hi + 3]) * scale;
	out->mean_inv_b = (c[5 * lo + 4] - rho * c[5 * hi + 4]) * scale;
}


/*
 * Minus the mean log-likelihood at log-parameters theta, and its gradient.
 * Per customer, with D the bracket of L as a log-sum-exp of its "alive" (A)
 * and "died at u" (s I) branches and w_A, w_I their shares of it:
 *
 *   ll = lgamma(r+x) - lgamma(r) + r log alpha + s log beta + log D
 *   d/dr     = digamma(r+x) - digamma(r) + log alpha - w_A log(alpha+T) - w_I E[log(alpha+u)]
 *   d/dalpha = r/alpha - (r+x) (w_A/(alpha+T) + w_I E[1/(alpha+u)])
 *   d/ds     = log beta - w_A log(beta+T) + w_I (1/s - E[log(beta+u)])
 *   d/dbeta  = s/beta - s w_A/(beta+T) - (s+1) w_I E[1/(beta+u)]
 *
 * E[.] the mean under I's integrand.
 */
static double
pareto_nbd_objective(const double *theta, double *grad, void *arg)
{
	CountingData *data = arg;
	double		r = exp(theta[0]),
				alpha = exp(theta[1]),
				s = exp(theta[2]),
				beta = exp(theta[3]);
	double		log_alpha = theta[1],
				log_beta = theta[3],
				log_s = theta[2];
	double		ll = 0,
				g_r = 0,
				g_alpha = 0,
				g_s = 0,
				g_beta = 0;
	double		m = fmin(alpha, beta);
	const double *log_m_time = alpha <= beta ? data->log_alpha_time : data->log_beta_time;
	/* the series' base: the larger of alpha and beta */
	bool		alpha_is_c = alpha >= beta;
	double		d = fabs(alpha - beta);
	const double *log_c_time = alpha_is_c ? data->log_alpha_time : data->log_beta_time;
	const double *inv_c_time = alpha_is_c ? data->inv_alpha_time : data->inv_beta_time;
	Pochhammer	pr;
	int32		i = 0,
				end,
				lowest;
	bool		cumulative,
				series;
	PnbdCoefficients coefficients;
	double		stamp,
				log_ref;

	for (int32 k = 0; k < data->ntimes; k++)
	{
		data->log_alpha_time[k] = log(alpha + data->times[k]);
		data->inv_alpha_time[k] = 1.0 / (alpha + data->times[k]);
		data->log_beta_time[k] = log(beta + data->times[k]);
		data->inv_beta_time[k] = 1.0 / (beta + data->times[k]);
		data->tails[(Size) COUNTING_TAIL_STRIDE * k + PNBD_TAIL_STAMP] = -1;
	}
	pochhammer_start(&pr, r);

	while (i < data->n)
	{
		double		x = data->x[i];
		double		rx = r + x;
		double		common;

		/* one check per distinct x covers every evaluation of every optimiser iteration */
		CHECK_FOR_INTERRUPTS();
		pochhammer_advance(&pr, x);
		common = pr.log_sum + r * log_alpha + s * log_beta;

		end = i;
		lowest = data->ntimes - 1;
		for (; end < data->n && data->x[end] == x; end++)
			lowest = Min(lowest, data->tx_index[end]);
		/* the series where it converges fast, else quadrature */
		series = d * inv_c_time[lowest] <= PNBD_SERIES_MAX_Z;
		/* integrals from each distinct time on, when that is cheaper than one per history */
		cumulative = !series && data->ntimes - 1 - lowest < end - i;
		pnbd_coefficients_start(&coefficients, alpha_is_c ? s + 1.0 : rx, rx + s + 1.0);
		stamp = i;
		log_ref = (rx + s) * log_c_time[lowest];
		if (cumulative)
			pnbd_cumulate(data, m, alpha - m, beta - m, rx, s + 1.0, lowest, log_m_time);

		for (; i < end; i++)
		{
			double		w = data->weight[i];
			int32		ti = data->t_index[i],
						txi = data->tx_index[i];
			double		alive = -rx * data->log_alpha_time[ti] - s * data->log_beta_time[ti];
			PnbdIntegral in;
			double		lse = alive,
						w_alive = 1.0,
						w_died = 0.0;
			const double *lo_tail = NULL,
					   *hi_tail = NULL;

			if ((i & 4095) == 0)
				CHECK_FOR_INTERRUPTS();	/* one x can hold most of a million histories */
			if (series)
			{
				lo_tail = pnbd_tail(data, &coefficients, txi, stamp, d, log_c_time, inv_c_time,
									log_ref, rx, s);
				hi_tail = pnbd_tail(data, &coefficients, ti, stamp, d, log_c_time, inv_c_time,
									log_ref, rx, s);
			}
			if (series && lo_tail[PNBD_TAIL_LOWER_OK] && hi_tail[PNBD_TAIL_LOWER_OK] &&
				hi_tail[PNBD_TAIL_UPPER_OK])
				pnbd_series_bracket(lo_tail, hi_tail, alpha_is_c, s,
									log_c_time[txi], inv_c_time[txi],
									log_c_time[ti], inv_c_time[ti],
									alive, &in, &lse, &w_alive, &w_died);
			else
			{
				if (cumulative)
					pnbd_from_cumulative(data->cumulative, data->ntimes, txi, ti, &in);
				else
					pnbd_integral_v(m, alpha - m, beta - m, rx, s + 1.0, 0,
									m + data->times[txi], m + data->times[ti],
									log_m_time[txi], log_m_time[ti], &in);
				if (in.log_value > -INFINITY)
				{
					double		died = log_s + in.log_value;

					lse = cs_log_add_exp_shares(alive, died, &w_alive, &w_died);
				}
			}
			ll += w * (common + lse);
			g_r += w * (pr.inv_sum + log_alpha - w_alive * data->log_alpha_time[ti] -
						w_died * in.mean_log_a);
			g_alpha += w * (r / alpha - rx * (w_alive * data->inv_alpha_time[ti] +
											 w_died * in.mean_inv_a));
			g_s += w * (log_beta - w_alive * data->log_beta_time[ti] +
						w_died * (1.0 / s - in.mean_log_b));
			g_beta += w * (s / beta - s * w_alive * data->inv_beta_time[ti] -
						   (s + 1.0) * w_died * in.mean_inv_b);
		}
	}

	if (!isfinite(ll))
		return INFINITY;
	grad[0] = -g_r * r / data->total;
	grad[1] = -g_alpha * alpha / data->total;
	grad[2] = -g_s * s / data->total;
	grad[3] = -g_beta * beta / data->total;
	return -ll / data->total;
}

/*
 * Start points in the rescaled unit (the largest t is 1); the fit stops once two agree.  The
 * first two have alpha = beta, where the series of pnbd_series_sums has z = 0, and their
 * paths keep alpha and beta close, where it needs few terms; from (1, 1, 1, 1) the path
 * crosses points with alpha and beta far apart (about three times the terms), and from
 * (0.25, 0.1, 2, 3) points where quadrature takes over, so those two come after.
 */
static const double pareto_nbd_starts[][CS_OPT_MAX_PARAMS] = {
	{0.5, 0.3, 0.5, 0.3},
	{0.25, 0.1, 0.25, 0.1},
	{1.0, 1.0, 1.0, 1.0},
	{0.25, 0.1, 2.0, 3.0},
};

/*
 * Beyond this shape a gamma-distributed rate is one rate for every customer
 * (coefficient of variation 1/sqrt(shape) below 3 %).
 */
#define PARETO_NBD_RIDGE_SHAPE 1e3

/*
 * The likelihood keeps rising, ever more slowly, as s and beta grow with
 * s/beta fixed (every customer the same dropout rate), and likewise r and
 * alpha: a fit that stops far out along either ridge has met the gradient
 * test without reaching a maximum.
 */
static bool
pareto_nbd_on_ridge(const double *params)
{
	return params[0] > PARETO_NBD_RIDGE_SHAPE || params[2] > PARETO_NBD_RIDGE_SHAPE;
}

static const CsModelSpec pareto_nbd_spec = {
	.type_name = "pareto_nbd",
	.label = "Pareto/NBD",
	.version = PARETO_NBD_VERSION,
	.nparams = 4,
	.param_names = {"r", "alpha", "s", "beta"},
	.scaled_params = (1 << 1) | (1 << 3),	/* alpha, beta */
	.history = HISTORY_BGNBD,
	.state_name = "pareto_nbd_state",
	.prepare = counting_prepare,
	.objective = pareto_nbd_objective,
	.nstarts = lengthof(pareto_nbd_starts),
	.starts = pareto_nbd_starts,
	.on_ridge = pareto_nbd_on_ridge,
};

CS_MODEL_FUNCTIONS(pareto_nbd, pareto_nbd_spec)

/* pareto_nbd_fit(frequency int, recency float8, t float8): rows with a NULL are skipped */
PG_FUNCTION_INFO_V1(pareto_nbd_fit_transfn);
Datum
pareto_nbd_fit_transfn(PG_FUNCTION_ARGS)
{
	return counting_transfn(fcinfo, "pareto_nbd_fit_transfn");
}

/* ---------------------------------------------------------------------
 * Predictions
 * ---------------------------------------------------------------------
 */

/* P(alive at T) = A / (A + s I(t_x, T)), as a logistic of the log-odds of having died */
double
pareto_nbd_p_alive(const ParetoNbdModel *model, int64 frequency, double recency, double t)
{
	double		rx = model->r + (double) frequency;
	double		alive = -rx * log(model->alpha + t) - model->s * log(model->beta + t);
	PnbdIntegral in;

	pnbd_integral(model->alpha, model->beta, rx, model->s + 1.0, 0, recency, t, &in);
	if (in.log_value == -INFINITY)
		return 1.0;
	return exp(-cs_log1p_exp(log(model->s) + in.log_value - alive));
}

/*
 * Expected purchases in (T, T + horizon] (Schmittlein et al. 1987):
 *   P(alive) (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+horizon))^(s-1)],
 * the bracket over (s-1) written as L phi(-(s-1) L), L = log(1 + horizon/(beta+T)),
 * phi(y) = expm1(y)/y, so s = 1 needs no special case.
 */
double
pareto_nbd_expected_purchases(const ParetoNbdModel *model, double horizon,
							  int64 frequency, double recency, double t)
{
	double		L;

	if (horizon == 0)
		return 0.0;
	L = log1p(horizon / (model->beta + t));
	return pareto_nbd_p_alive(model, frequency, recency, t) *
		(model->r + (double) frequency) / (model->alpha + t) * (model->beta + t) *
		L * cs_expm1_ratio(-(model->s - 1.0) * L);
}

/* E[purchases in (T, T + horizon]] of a customer alive at T: the factor after P(alive) above */
static double
pareto_nbd_expected_if_alive(const ParetoNbdModel *model, double horizon, int64 frequency, double t)
{
	double		L;

	if (horizon == 0)
		return 0.0;
	L = log1p(horizon / (model->beta + t));
	return (model->r + (double) frequency) / (model->alpha + t) * (model->beta + t) *
		L * cs_expm1_ratio(-(model->s - 1.0) * L);
}

/*
 * P(no purchase in (T, T + horizon]): dead, or alive and no purchase before
 * dying or the horizon ends; for an alive customer (rates from their
 * posteriors, alpha' = alpha+T, beta' = beta+T)
 *   (alpha'/(alpha'+h))^(r+x) (beta'/(beta'+h))^s + s alpha'^(r+x) beta'^s I(T, T+h).
 */
static double
pareto_nbd_p_none(const ParetoNbdModel *model, double horizon, int64 frequency,
				  double recency, double t)
{
	double		rx = model->r + (double) frequency;
	double		p_alive = pareto_nbd_p_alive(model, frequency, recency, t);
	double		log_a = log(model->alpha + t),
				log_b = log(model->beta + t);
	double		quiet = -rx * log1p(horizon / (model->alpha + t)) -
		model->s * log1p(horizon / (model->beta + t));
	PnbdIntegral in;

	pnbd_integral(model->alpha, model->beta, rx, model->s + 1.0, 0, t, t + horizon, &in);
	if (in.log_value > -INFINITY)
		quiet = cs_log_add_exp(quiet, log(model->s) + rx * log_a + model->s * log_b + in.log_value);
	return (1.0 - p_alive) + p_alive * fmin(1.0, exp(quiet));
}

/*
 * P(X(t) = n) for a new customer: alive through t with n purchases, or died
 * at u in (0, t] after n purchases,
 *   NB(n) (beta/(beta+t))^s
 *   + s beta^s alpha^r Gamma(r+n)/(Gamma(r) n!) integral_0^t u^n (alpha+u)^-(r+n) (beta+u)^-(s+1) du.
 */
static double
pareto_nbd_pmf(const ParetoNbdModel *model, double horizon, int32 n)
{
	double		r = model->r,
				alpha = model->alpha,
				s = model->s,
				beta = model->beta;
	double		log_coef,
				alive;
	PnbdIntegral in;

	if (horizon == 0)
		return n == 0 ? 1.0 : 0.0;
	log_coef = lgamma(r + n) - lgamma(r) - lgamma(n + 1.0);
	alive = log_coef + r * (log(alpha) - log(alpha + horizon)) +
		(n > 0 ? n * (log(horizon) - log(alpha + horizon)) : 0.0) +
		s * (log(beta) - log(beta + horizon));
	pnbd_integral(alpha, beta, r + n, s + 1.0, n, 0.0, horizon, &in);
	if (in.log_value == -INFINITY)
		return exp(alive);
	return exp(cs_log_add_exp(alive, log(s) + s * log(beta) + r * log(alpha) + log_coef +
							  in.log_value));
}

/* The CountingPredictions callbacks of Pareto/NBD. */
static double
pareto_nbd_p_alive_cb(const void *model, int64 x, double t_x, double t)
{
	return pareto_nbd_p_alive(model, x, t_x, t);
}

static double
pareto_nbd_expected_cb(const void *model, double horizon, int64 x, double t_x, double t)
{
	return pareto_nbd_expected_purchases(model, horizon, x, t_x, t);
}

static void
pareto_nbd_expected_if_alive_cb(const void *model, int64 x, double t, const double *horizons, int n,
								double *out)
{
	for (int h = 0; h < n; h++)
		out[h] = pareto_nbd_expected_if_alive(model, horizons[h], x, t);
}

static double
pareto_nbd_p_none_cb(const void *model, double horizon, int64 x, double t_x, double t)
{
	return pareto_nbd_p_none(model, horizon, x, t_x, t);
}

static double
pareto_nbd_pmf_cb(const void *model, double horizon, int32 n)
{
	return pareto_nbd_pmf(model, horizon, n);
}

static const CountingPredictions pareto_nbd_predictions = {
	.label = "Pareto/NBD",
	.spec = &pareto_nbd_spec,
	.p_alive = pareto_nbd_p_alive_cb,
	.expected = pareto_nbd_expected_cb,
	.expected_if_alive = pareto_nbd_expected_if_alive_cb,
	.p_none = pareto_nbd_p_none_cb,
	.pmf = pareto_nbd_pmf_cb,
};

CS_COUNTING_FUNCTIONS(pareto_nbd, pareto_nbd_predictions)
CS_MODEL_ENTRY(predicted_clv_, pareto_nbd, counting_predicted_clv_sql, pareto_nbd_predictions)
