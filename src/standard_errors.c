/*
 * standard_errors.c — the standard errors of a fit's parameters from the observed information
 * at the optimum.
 *
 * The fits minimise minus the mean log-likelihood in log-parameters theta, with an analytic
 * gradient.  The Hessian of minus the total log-likelihood comes from central differences of
 * that gradient (symmetrised), times the customers; its inverse is the asymptotic covariance
 * of theta, inverted by Cholesky (a Hessian that is not positive definite, as on a likelihood
 * ridge, has no standard errors).  The delta method takes them to the parameters:
 * se(param_i) = param_i * se(theta_i), and a parameter in the data's unit scales with its
 * standard error, so rescaled data give the same errors.
 */
#include "postgres.h"

#include <math.h>

#include "standard_errors.h"

/* the step of the central differences in log-parameters */
#define SE_STEP 1e-4

/* Cholesky factor L (lower) of the n x n matrix a, in place; false unless positive definite. */
static bool
cholesky(double a[CS_OPT_MAX_PARAMS][CS_OPT_MAX_PARAMS], int n)
{
	for (int j = 0; j < n; j++)
	{
		double		d = a[j][j];

		for (int k = 0; k < j; k++)
			d -= a[j][k] * a[j][k];
		if (!(d > 0) || !isfinite(d))
			return false;
		a[j][j] = sqrt(d);
		for (int i = j + 1; i < n; i++)
		{
			double		s = a[i][j];

			for (int k = 0; k < j; k++)
				s -= a[i][k] * a[j][k];
			a[i][j] = s / a[j][j];
		}
	}
	return true;
}

bool
cs_standard_errors(cs_objective objective, void *arg, int n, const double *theta, double total,
				   double *se_theta)
{
	double		hessian[CS_OPT_MAX_PARAMS][CS_OPT_MAX_PARAMS];
	double		point[CS_OPT_MAX_PARAMS],
				up[CS_OPT_MAX_PARAMS],
				down[CS_OPT_MAX_PARAMS];

	for (int i = 0; i < n; i++)
	{
		double		h = SE_STEP * fmax(1.0, fabs(theta[i]));

		memcpy(point, theta, sizeof(double) * n);
		point[i] = theta[i] + h;
		if (!isfinite(objective(point, up, arg)))
			return false;
		point[i] = theta[i] - h;
		if (!isfinite(objective(point, down, arg)))
			return false;
		for (int j = 0; j < n; j++)
			hessian[i][j] = (up[j] - down[j]) / (2 * h) * total;
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < i; j++)
			hessian[i][j] = hessian[j][i] = (hessian[i][j] + hessian[j][i]) / 2;
	if (!cholesky(hessian, n))
		return false;

	/* the diagonal of the inverse: column i of L^-1 L^-T is x with L L^T x = e_i */
	for (int i = 0; i < n; i++)
	{
		double		y[CS_OPT_MAX_PARAMS],
					x[CS_OPT_MAX_PARAMS];

		for (int r = 0; r < n; r++)
		{
			double		s = r == i ? 1.0 : 0.0;

			for (int k = 0; k < r; k++)
				s -= hessian[r][k] * y[k];
			y[r] = s / hessian[r][r];
		}
		for (int r = n - 1; r >= 0; r--)
		{
			double		s = y[r];

			for (int k = r + 1; k < n; k++)
				s -= hessian[k][r] * x[k];
			x[r] = s / hessian[r][r];
		}
		if (!(x[i] > 0) || !isfinite(x[i]))
			return false;
		se_theta[i] = sqrt(x[i]);
	}
	return true;
}
