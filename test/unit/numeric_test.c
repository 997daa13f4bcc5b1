/*
 * numeric_test.c — unit tests of the numeric core (src/numeric.c and
 * src/optimize.c), which do not depend on PostgreSQL.  Prints TAP.
 */
#include <math.h>
#include <stdio.h>

#include "numeric.h"
#include "optimize.h"

static int	test_number = 0;
static int	failures = 0;

static void
check(int ok, const char *what, double got, double expected)
{
	test_number++;
	if (!ok)
		failures++;
	printf("%sok %d - %s (got %.17g, expected %.17g)\n", ok ? "" : "not ", test_number, what, got, expected);
}

static void
check_close(const char *what, double got, double expected, double rel_tol)
{
	check(fabs(got - expected) <= rel_tol * fmax(fabs(expected), 1e-300), what, got, expected);
}

/* Rosenbrock in 2-D: a narrow curved valley, minimum 0 at (1, 1) */
static double
rosenbrock(const double *x, double *g, void *arg)
{
	double		a = 1.0 - x[0],
				b = x[1] - x[0] * x[0];

	(void) arg;
	g[0] = -2.0 * a - 400.0 * x[0] * b;
	g[1] = 200.0 * b;
	return a * a + 100.0 * b * b;
}

/* a quadratic whose minimum lies outside the box: the optimiser must stop on the bound */
static double
outside_box(const double *x, double *g, void *arg)
{
	(void) arg;
	g[0] = 2.0 * (x[0] - 50.0);
	return (x[0] - 50.0) * (x[0] - 50.0);
}

int
main(void)
{
	const double euler_gamma = 0.57721566490153286061;
	double		x[2];
	CsOptimResult res;

	/* digamma and trigamma at known values */
	check_close("digamma(1) = -gamma", cs_digamma(1.0), -euler_gamma, 1e-14);
	check_close("digamma(0.5) = -gamma - 2 ln 2", cs_digamma(0.5), -euler_gamma - 2.0 * log(2.0), 1e-14);
	check_close("digamma(1e-3)", cs_digamma(1e-3), -1000.5755719318103, 1e-13);
	check_close("digamma(1e6)", cs_digamma(1e6), 13.815510057964274, 1e-14);
	check_close("trigamma(1) = pi^2/6", cs_trigamma(1.0), M_PI * M_PI / 6.0, 1e-13);
	check_close("trigamma(0.5) = pi^2/2", cs_trigamma(0.5), M_PI * M_PI / 2.0, 1e-13);
	check_close("lbeta(2, 3) = ln(1/12)", cs_lbeta(2.0, 3.0), log(1.0 / 12.0), 1e-14);

	/* log-space helpers never overflow */
	check_close("log_add_exp(1000, 1000)", cs_log_add_exp(1000.0, 1000.0), 1000.0 + log(2.0), 1e-15);
	check(cs_log_add_exp(-INFINITY, -INFINITY) == -INFINITY, "log_add_exp(-inf, -inf) = -inf",
		  cs_log_add_exp(-INFINITY, -INFINITY), -INFINITY);
	check_close("log1p_exp(800)", cs_log1p_exp(800.0), 800.0, 1e-15);
	check_close("log1p_exp(-800) underflows to 0 gracefully", cs_log1p_exp(-800.0) + 1.0, 1.0, 0);
	check_close("expm1_ratio(1e-12) = 1", cs_expm1_ratio(1e-12), 1.0, 1e-12);
	check_close("expm1_ratio(2)", cs_expm1_ratio(2.0), (exp(2.0) - 1.0) / 2.0, 1e-15);

	/* the optimiser */
	x[0] = -1.2;
	x[1] = 1.0;
	res = cs_minimize(rosenbrock, NULL, x, 2, -30, 30, 1e-10, 2000);
	check(res.converged && fabs(x[0] - 1) < 1e-6 && fabs(x[1] - 1) < 1e-6,
		  "BFGS finds the Rosenbrock minimum (1, 1)", x[0], 1.0);
	x[0] = 0.0;
	res = cs_minimize(outside_box, NULL, x, 1, -30, 30, 1e-10, 2000);
	check(!res.converged && res.at_bound && x[0] == 30.0,
		  "a minimum outside the box stops on the bound, flagged", x[0], 30.0);

	printf("1..%d\n", test_number);
	return failures > 0;
}
