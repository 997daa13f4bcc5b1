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

/*
 * The Hessian of objective at theta times total, from central differences of its gradient,
 * symmetrised; false where the objective is not finite.
 */
static bool
observed_hessian(cs_objective objective, void *arg, int n, const double *theta, double total,
				 double hessian[CS_OPT_MAX_PARAMS][CS_OPT_MAX_PARAMS])
{
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
	return true;
}

/* Column i of the inverse of L L^T (L from cholesky): x with L L^T x = e_i. */
static void
cholesky_inverse_column(double l[CS_OPT_MAX_PARAMS][CS_OPT_MAX_PARAMS], int n, int i, double *x)
{
	double		y[CS_OPT_MAX_PARAMS];

	for (int r = 0; r < n; r++)
	{
		double		s = r == i ? 1.0 : 0.0;

		for (int k = 0; k < r; k++)
			s -= l[r][k] * y[k];
		y[r] = s / l[r][r];
	}
	for (int r = n - 1; r >= 0; r--)
	{
		double		s = y[r];

		for (int k = r + 1; k < n; k++)
			s -= l[k][r] * x[k];
		x[r] = s / l[r][r];
	}
}

bool
cs_standard_errors(cs_objective objective, void *arg, int n, const double *theta, double total,
				   double *se_theta)
{
	double		hessian[CS_OPT_MAX_PARAMS][CS_OPT_MAX_PARAMS];

	if (!observed_hessian(objective, arg, n, theta, total, hessian) || !cholesky(hessian, n))
		return false;
	/* the diagonal of the inverse */
	for (int i = 0; i < n; i++)
	{
		double		x[CS_OPT_MAX_PARAMS];

		cholesky_inverse_column(hessian, n, i, x);
		if (!(x[i] > 0) || !isfinite(x[i]))
			return false;
		se_theta[i] = sqrt(x[i]);
	}
	return true;
}

bool
cs_inverse_hessian(cs_objective objective, void *arg, int n, const double *theta,
				   double inverse[CS_OPT_MAX_PARAMS][CS_OPT_MAX_PARAMS])
{
	double		hessian[CS_OPT_MAX_PARAMS][CS_OPT_MAX_PARAMS];

	if (!observed_hessian(objective, arg, n, theta, 1.0, hessian) || !cholesky(hessian, n))
		return false;
	for (int i = 0; i < n; i++)
	{
		double		x[CS_OPT_MAX_PARAMS];

		cholesky_inverse_column(hessian, n, i, x);
		for (int r = 0; r < n; r++)
		{
			if (!isfinite(x[r]))
				return false;
			inverse[r][i] = x[r];
		}
	}
	return true;
}
