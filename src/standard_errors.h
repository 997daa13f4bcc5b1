/*
 * standard_errors.h — standard errors of a maximum-likelihood fit from the observed information
 * at the optimum (standard_errors.c).
 */
#ifndef CUSTOMER_SCORE_STANDARD_ERRORS_H
#define CUSTOMER_SCORE_STANDARD_ERRORS_H

#include <stdbool.h>

#include "optimize.h"

/*
 * The standard errors of the log-parameters at the minimum theta of objective (minus the mean
 * log-likelihood of total customers): false when the information there is not positive
 * definite or not finite.
 */
extern bool cs_standard_errors(cs_objective objective, void *arg, int n, const double *theta,
							   double total, double *se_theta);

/*
 * The inverse of objective's Hessian at theta (central differences of its gradient): false
 * when that Hessian is not positive definite or not finite.  A fit on approximate data hands
 * it to cs_minimize_from as the curvature of the exact objective near the same optimum.
 */
extern bool cs_inverse_hessian(cs_objective objective, void *arg, int n, const double *theta,
							   double inverse[CS_OPT_MAX_PARAMS][CS_OPT_MAX_PARAMS]);

#endif
