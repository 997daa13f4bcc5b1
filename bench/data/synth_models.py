#!/usr/bin/env python3
"""Synthetic customers from known Pareto/NBD or MBG/NBD parameters, as CSV on stdout.

    python3 bench/data/synth_models.py MODEL N SEED > file.csv      (MODEL: pareto_nbd or mbgnbd)

Columns: customer_id, frequency, recency_days, t_days.  Whole days, the cohort window and the
observation end of bench/data/synth.py (first purchase uniform in days 0..89, end at day 365); the
model runs in weeks.

  Pareto/NBD  lambda ~ Gamma(shape r, rate alpha), mu ~ Gamma(shape s, rate beta); purchases
              follow a Poisson process with rate lambda until an exponential lifetime with rate mu.
  MBG/NBD     lambda ~ Gamma(r, alpha), p ~ Beta(a, b); after every purchase, the first included,
              the customer drops out with probability p.

Standard library only; fixed seed.
"""
import math
import random
import sys

TRUE = {
    "pareto_nbd": {"r": 0.55, "alpha": 10.0, "s": 0.6, "beta": 12.0},   # alpha, beta in weeks
    "mbgnbd": {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 1.6},             # alpha in weeks
}
COHORT_DAYS, END_DAY = 90, 365


def main():
    model = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20240601
    k = TRUE[model]
    rng = random.Random(seed)
    gammavariate, betavariate, expovariate, rand = (
        rng.gammavariate, rng.betavariate, rng.expovariate, rng.random)
    floor = math.floor
    write = sys.stdout.write
    write("customer_id,frequency,recency_days,t_days\n")
    for cid in range(1, n + 1):
        lam = gammavariate(k["r"], 1.0 / k["alpha"]) / 7.0          # purchases per day
        start = rand() * COHORT_DAYS
        first_day = floor(start)
        if model == "pareto_nbd":
            mu = gammavariate(k["s"], 1.0 / k["beta"]) / 7.0        # deaths per day
            death = start + (expovariate(mu) if mu > 0 else math.inf)
            p = 0.0
        else:
            p = betavariate(k["a"], k["b"])
            death = start if rand() < p else math.inf              # gone right after the first
        end = min(death, END_DAY)
        x, last_day, now = 0, first_day, start
        while lam > 0.0 and now < end:
            now += expovariate(lam)
            if now >= end:
                break
            x += 1
            last_day = floor(now)
            if model == "mbgnbd" and rand() < p:
                break
        write(f"{cid},{x},{last_day - first_day},{END_DAY - first_day}\n")


if __name__ == "__main__":
    main()
