#!/usr/bin/env python3
"""The Pareto/NBD conditional expectations per calibration frequency, computed independently of
the extension: the reference values of test/pgtap/validation.sql's Pareto/NBD holdout table.

usage: pareto_nbd_quadrature.py HISTORIES.csv r alpha s beta
HISTORIES.csv has lines "frequency,recency,t,holdout_t,customers" (psql -At -F, over the
calibration histories grouped by those four columns). Prints the mean E[Y(holdout_t)] of the
bins 0 .. 6 and 7+. Needs mpmath.

Per customer, E[Y(h) | x, t_x, T] = N / L with the model's likelihood
  L = c s  int_{t_x}^inf (alpha+v)^-(r+x) (beta+v)^-(s+1) dv
    + c (r+x) int_T^inf (alpha+v)^-(r+x+1) (beta+v)^-s dv,    c = Gamma(r+x)/Gamma(r) alpha^r beta^s
(1/(lambda+mu) written as an integral over v, then lambda and mu integrated in closed form), and
  N = Gamma(r+x+1)/Gamma(r) alpha^r (alpha+T)^-(r+x+1) beta^s ((beta+T)^(1-s) - (beta+T+h)^(1-s)) / (s-1),
the alive customers' expected purchases; the two integrals by 40-digit quadrature.
"""
import sys

from mpmath import exp, inf, loggamma, mp, mpf, quad

mp.dps = 40


def conditional_expectation(r, al, s, be, x, tx, T, h):
    c = exp(loggamma(r + x) - loggamma(r)) * al**r * be**s
    points = lambda a: [a, a + 1, a + 10, a + 100, a + 1000, inf]
    dead = c * s * quad(lambda v: (al + v) ** (-(r + x)) * (be + v) ** (-(s + 1)), points(tx))
    alive = c * (r + x) * quad(lambda v: (al + v) ** (-(r + x + 1)) * (be + v) ** (-s), points(T))
    num = (exp(loggamma(r + x + 1) - loggamma(r)) * al**r / (al + T) ** (r + x + 1) * be**s
           / (s - 1) * ((be + T) ** (1 - s) - (be + T + h) ** (1 - s)))
    return num / (dead + alive)


def main():
    path = sys.argv[1]
    r, al, s, be = (mpf(v) for v in sys.argv[2:6])
    sums = {}
    for line in open(path):
        x, tx, T, h, n = line.strip().split(",")
        b = min(int(x), 7)
        acc = sums.setdefault(b, [0, 0])
        acc[0] += int(n)
        acc[1] += int(n) * conditional_expectation(r, al, s, be, int(x), mpf(tx), mpf(T), mpf(h))
    print(" ".join("%.9f" % (sums[b][1] / sums[b][0]) for b in sorted(sums)))


if __name__ == "__main__":
    main()
