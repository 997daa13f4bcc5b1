/*
 * optimize.c — projected BFGS with a backtracking (Armijo) line search.
 *
 * Deterministic by construction: no randomness, fixed iteration order.  A
 * coordinate that sits on a bound with the gradient pushing outward is held
 * there (its gradient and search direction are zeroed), which is all the
 * constraint handling a box needs.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "optimize.h"

#define ARMIJO_C	1e-4
#define MAX_BACKTRACKS 40
/* changes of the objective this small (relative) are rounding, not progress */
#define ROUNDING	(64 * DBL_EPSILON)
/* where rounding stops progress, a gradient this small still counts as converged */
#define NOISE_GRAD_TOL 1e-6

static bool
held_at_bound(double theta, double g, double lower, double upper)
{
	/* minimising: a step along -g leaves the box when g points inward-out */
	return (theta <= lower && g > 0.0) || (theta >= upper && g < 0.0);
}

static double
projected_grad_norm(const double *theta, const double *g, int n,
					double lower, double upper)
{
	double		norm = 0.0;

	for (int i = 0; i < n; i++)
		if (!held_at_bound(theta[i], g[i], lower, upper))
			norm = fmax(norm, fabs(g[i]));
	return norm;
}

static CsOptimResult minimize(cs_objective f, void *arg, double *theta, int n,
							  double lower, double upper, double grad_tol, int max_iterations,
							  const double (*inverse_hessian)[CS_OPT_MAX_PARAMS], double match);

CsOptimResult
cs_minimize(cs_objective f, void *arg, double *theta, int n,
			double lower, double upper, double grad_tol, int max_iterations)
{
	return cs_minimize_from(f, arg, theta, n, lower, upper, grad_tol, max_iterations, NULL);
}

CsOptimResult
cs_minimize_from(cs_objective f, void *arg, double *theta, int n,
				 double lower, double upper, double grad_tol, int max_iterations,
				 const double (*inverse_hessian)[CS_OPT_MAX_PARAMS])
{
	return minimize(f, arg, theta, n, lower, upper, grad_tol, max_iterations, inverse_hessian,
					-INFINITY);
}

/*
 * cs_minimize_from, stopping also where the objective is at most match and the gradient
 * below NOISE_GRAD_TOL (result.matched): there the quadratic model leaves a decrease of
 * order the gradient squared, far below match's own tolerance, so the run has reached the
 * optimum whose value match was taken from.  match -INFINITY never stops a run early.
 */
static CsOptimResult
minimize(cs_objective f, void *arg, double *theta, int n,
		 double lower, double upper, double grad_tol, int max_iterations,
		 const double (*inverse_hessian)[CS_OPT_MAX_PARAMS], double match)
{
	double		H[CS_OPT_MAX_PARAMS][CS_OPT_MAX_PARAMS];
	double		g[CS_OPT_MAX_PARAMS],
				g_new[CS_OPT_MAX_PARAMS],
				d[CS_OPT_MAX_PARAMS],
				trial[CS_OPT_MAX_PARAMS],
				s[CS_OPT_MAX_PARAMS],
				y[CS_OPT_MAX_PARAMS];
	double		value;
	int			flat_steps = 0;
	bool		scaled = false;
	CsOptimResult result;

	memset(&result, 0, sizeof(result));
	for (int i = 0; i < n; i++)
		theta[i] = fmin(upper, fmax(lower, theta[i]));

	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			H[i][j] = inverse_hessian ? inverse_hessian[i][j] : (i == j) ? 1.0 : 0.0;
	/* a given curvature needs no scaling to the first step's */
	scaled = inverse_hessian != NULL;

	value = f(theta, g, arg);
	result.evaluations = 1;
	if (!isfinite(value))
	{
		/* an infeasible start: report it, the caller tries another */
		result.value = INFINITY;
		return result;
	}

	for (result.iterations = 0; result.iterations < max_iterations; result.iterations++)
	{
		double		slope = 0.0;
		double		step = 1.0;
		double		trial_value = INFINITY;
		double		dmax = 0.0;
		bool		accepted = false;

		result.grad_norm = projected_grad_norm(theta, g, n, lower, upper);
		if (result.grad_norm < grad_tol)
		{
			result.converged = true;
			break;
		}
		if (value <= match && result.grad_norm < NOISE_GRAD_TOL)
		{
			result.converged = result.matched = true;
			break;
		}

		/* quasi-Newton direction over the free coordinates */
		for (int i = 0; i < n; i++)
		{
			d[i] = 0.0;
			if (held_at_bound(theta[i], g[i], lower, upper))
				continue;
			for (int j = 0; j < n; j++)
				if (!held_at_bound(theta[j], g[j], lower, upper))
					d[i] -= H[i][j] * g[j];
		}
		for (int i = 0; i < n; i++)
			slope += d[i] * g[i];
		if (!(slope < 0.0))
		{
			/* not a descent direction: restart from steepest descent */
			for (int i = 0; i < n; i++)
				for (int j = 0; j < n; j++)
					H[i][j] = (i == j) ? 1.0 : 0.0;
			scaled = false;
			for (int i = 0; i < n; i++)
				d[i] = held_at_bound(theta[i], g[i], lower, upper) ? 0.0 : -g[i];
		}

		/* never move more than 2 units of log-parameter in one step */
		for (int i = 0; i < n; i++)
			dmax = fmax(dmax, fabs(d[i]));
		if (dmax > 2.0)
			step = 2.0 / dmax;

		for (int k = 0; k < MAX_BACKTRACKS; k++, step *= 0.5)
		{
			double		decrease = 0.0;

			for (int i = 0; i < n; i++)
			{
				trial[i] = fmin(upper, fmax(lower, theta[i] + step * d[i]));
				decrease += g[i] * (trial[i] - theta[i]);
			}
			trial_value = f(trial, g_new, arg);
			result.evaluations++;
			if (isfinite(trial_value) &&
				trial_value <= value + ARMIJO_C * decrease + ROUNDING * fabs(value))
			{
				accepted = true;
				break;
			}
		}
		if (!accepted)
		{
			/* no progress possible: report where we are */
			result.converged = result.grad_norm < NOISE_GRAD_TOL;
			break;
		}

		/* BFGS update of the inverse Hessian, skipped when curvature is not positive */
		{
			double		sy = 0.0,
						yy = 0.0,
						ss = 0.0;
			double		Hy[CS_OPT_MAX_PARAMS];
			double		yHy = 0.0;

			for (int i = 0; i < n; i++)
			{
				s[i] = trial[i] - theta[i];
				y[i] = g_new[i] - g[i];
				sy += s[i] * y[i];
				yy += y[i] * y[i];
				ss += s[i] * s[i];
			}
			if (sy > 1e-12 * sqrt(ss * yy))
			{
				/*
				 * Before the first update, scale the identity to the curvature
				 * just seen (Nocedal & Wright, eq. 6.20): the first steps are
				 * then the right length and the line search rarely backtracks.
				 */
				if (!scaled)
				{
					for (int i = 0; i < n; i++)
						for (int j = 0; j < n; j++)
							H[i][j] = (i == j) ? sy / yy : 0.0;
					scaled = true;
				}
				for (int i = 0; i < n; i++)
				{
					Hy[i] = 0.0;
					for (int j = 0; j < n; j++)
						Hy[i] += H[i][j] * y[j];
					yHy += y[i] * Hy[i];
				}
				for (int i = 0; i < n; i++)
					for (int j = 0; j < n; j++)
						H[i][j] += ((sy + yHy) * s[i] * s[j]) / (sy * sy)
							- (Hy[i] * s[j] + s[i] * Hy[j]) / sy;
			}
		}

		/* stop on a run of steps that change the objective only by rounding */
		if (fabs(value - trial_value) <= ROUNDING * fabs(value))
			flat_steps++;
		else
			flat_steps = 0;

		memcpy(theta, trial, sizeof(double) * n);
		memcpy(g, g_new, sizeof(double) * n);
		value = trial_value;

		if (flat_steps >= 2)
		{
			result.grad_norm = projected_grad_norm(theta, g, n, lower, upper);
			result.converged = result.grad_norm < NOISE_GRAD_TOL;
			break;
		}
	}

	result.value = value;
	if (result.iterations >= max_iterations)
		result.grad_norm = projected_grad_norm(theta, g, n, lower, upper);
	for (int i = 0; i < n; i++)
	{
		if (theta[i] <= lower || theta[i] >= upper)
			result.at_bound = true;
		if (fabs(theta[i]) > CS_RIDGE_LOG_PARAM)
			result.on_ridge = true;
	}
	if (result.at_bound || result.on_ridge)
		result.converged = false;
	return result;
}

#define FIT_GRAD_TOL 1e-9
#define FIT_MAX_ITERATIONS 2000
/* two starts whose optima differ by at most this (relative) found the same one */
#define AGREE_TOL	1e-10

/*
 * Maximise the likelihood from a few fixed starts and keep the best, so a
 * poor start that wanders onto a ridge does not decide the answer.  Returns
 * the best log-parameters in best_theta.
 */
CsOptimResult
cs_fit_from_starts(cs_objective objective, void *data, int nparams,
				const double (*starts)[CS_OPT_MAX_PARAMS], int nstarts,
				double *best_theta)
{
	CsOptimResult best;

	memset(&best, 0, sizeof(best));
	best.value = INFINITY;
	for (int s = 0; s < nstarts; s++)
	{
		double		theta[CS_OPT_MAX_PARAMS];
		CsOptimResult res;
		bool		agree;

		for (int k = 0; k < nparams; k++)
			theta[k] = log(starts[s][k]);
		/* once one start has converged, the next may stop where it reaches that optimum */
		res = minimize(objective, data, theta, nparams,
					   -CS_LOG_PARAM_BOUND, CS_LOG_PARAM_BOUND,
					   FIT_GRAD_TOL, FIT_MAX_ITERATIONS, NULL,
					   best.converged ? best.value + AGREE_TOL * fabs(best.value) : -INFINITY);
		/* two converged starts that reach the same optimum settle it */
		agree = s > 0 && res.converged && best.converged &&
			fabs(res.value - best.value) <= AGREE_TOL * fabs(best.value);
		/* a run stopped at the match is not at its own optimum: the converged one is kept */
		if (!isfinite(best.value) ||
			(!res.matched && res.value < best.value - 1e-12 * fabs(best.value)))
		{
			best = res;
			memcpy(best_theta, theta, sizeof(double) * nparams);
		}
		if (agree)
			break;
	}
	return best;
}

CsOptimResult
cs_fit_polish(cs_objective objective, void *data, int nparams,
			  const double (*inverse_hessian)[CS_OPT_MAX_PARAMS], double *theta)
{
	return cs_minimize_from(objective, data, theta, nparams,
							-CS_LOG_PARAM_BOUND, CS_LOG_PARAM_BOUND,
							FIT_GRAD_TOL, FIT_MAX_ITERATIONS, inverse_hessian);
}
