/*
 * optimize.h — a small, deterministic, box-constrained quasi-Newton minimiser.
 *
 * The likelihood fits work in log-parameter space with bounds (|log theta|
 * <= CS_LOG_PARAM_BOUND), so a likelihood ridge ends at a finite model that
 * is reported as not converged instead of running off to infinity.
 */
#ifndef CUSTOMER_SCORE_OPTIMIZE_H
#define CUSTOMER_SCORE_OPTIMIZE_H

#include <stdbool.h>

#define CS_OPT_MAX_PARAMS 8
#define CS_LOG_PARAM_BOUND 30.0

/*
 * A fit whose (rescaled) parameters end beyond exp(+-CS_RIDGE_LOG_PARAM) has
 * run along a likelihood ridge: the maximum is approached only in a limit,
 * so the model is usable but reported as not converged.
 */
#define CS_RIDGE_LOG_PARAM 15.0

/*
 * Objective: returns the value to minimise at theta and stores its gradient
 * in grad.  Must return a finite value, or +INFINITY for an infeasible point
 * (the line search then backs off).
 */
typedef double (*cs_objective) (const double *theta, double *grad, void *arg);

typedef struct CsOptimResult
{
	double		value;			/* objective at the returned theta */
	double		grad_norm;		/* max |projected gradient| there */
	int			iterations;
	int			evaluations;
	bool		converged;		/* gradient test met, no parameter on a bound */
	bool		at_bound;		/* some parameter ended on its bound */
	bool		on_ridge;		/* some parameter ran beyond CS_RIDGE_LOG_PARAM */
	bool		matched;		/* stopped on reaching an optimum already found (cs_fit_from_starts) */
} CsOptimResult;

extern CsOptimResult cs_minimize(cs_objective f, void *arg, double *theta,
								 int n, double lower, double upper,
								 double grad_tol, int max_iterations);

/*
 * cs_minimize, its quasi-Newton curvature starting from inverse_hessian (an estimate of the
 * inverse Hessian at the optimum, e.g. of a nearby approximate objective) instead of the
 * identity; NULL is cs_minimize.
 */
extern CsOptimResult cs_minimize_from(cs_objective f, void *arg, double *theta,
									  int n, double lower, double upper,
									  double grad_tol, int max_iterations,
									  const double (*inverse_hessian)[CS_OPT_MAX_PARAMS]);

/*
 * Minimise from each start in turn (log-parameters taken as log(start)) and
 * keep the best; stop early once two converged starts agree.
 */
extern CsOptimResult cs_fit_from_starts(cs_objective objective, void *data, int nparams,
										const double (*starts)[CS_OPT_MAX_PARAMS],
										int nstarts, double *best_theta);

/*
 * Minimise from theta (log-parameters, updated in place) with the fit's bounds and tolerance,
 * the curvature starting from inverse_hessian (or the identity when NULL).
 */
extern CsOptimResult cs_fit_polish(cs_objective objective, void *data, int nparams,
								   const double (*inverse_hessian)[CS_OPT_MAX_PARAMS],
								   double *theta);

#endif
