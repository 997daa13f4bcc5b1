#!/usr/bin/env python3
"""Synthetic customers from known BG/NBD and Gamma-Gamma parameters, as CSV on stdout.

    python3 bench/data/synth.py N SEED > file.csv

Columns: customer_id, frequency, recency_days, t_days, monetary.

Time is kept on whole days, as CRM data has it.  Each customer's first purchase falls uniformly in
a 90-day cohort window (days 0..89, at a uniformly random time of day) and observation ends at
day 365.  The model runs in weeks (the true alpha is in weeks, as in CDNOW):

  BG/NBD   lambda ~ Gamma(shape r, rate alpha), p ~ Beta(a, b).  Purchases follow a Poisson
           process with rate lambda per week; after each repeat purchase the customer drops out
           with probability p.  frequency = repeat purchases before day 365, recency_days =
           day(last purchase) - day(first purchase), t_days = 365 - day(first purchase), where
           day(.) is the whole day a purchase falls on.
  Gamma-Gamma  nu ~ Gamma(shape q, rate v); each repeat purchase's value ~ Gamma(shape p, rate nu),
           rounded to cents; monetary = mean of the repeat values (0 without any).

Standard library only (random.gammavariate takes a scale, i.e. 1/rate); fixed seed.
"""
import math
import random
import sys

R, ALPHA, A, B = 0.25, 4.0, 0.8, 2.5   # BG/NBD, alpha in weeks
P, Q, V = 6.0, 4.0, 15.0               # Gamma-Gamma, v in currency units
COHORT_DAYS, END_DAY = 90, 365


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 20240601
    rng = random.Random(seed)
    gammavariate, betavariate, expovariate, rand = (
        rng.gammavariate, rng.betavariate, rng.expovariate, rng.random)
    floor = math.floor
    out = sys.stdout
    write = out.write
    write("customer_id,frequency,recency_days,t_days,monetary\n")
    for cid in range(1, n + 1):
        lam = gammavariate(R, 1.0 / ALPHA) / 7.0        # purchases per day
        p = betavariate(A, B)
        start = rand() * COHORT_DAYS                    # continuous time of the first purchase, in days
        first_day = floor(start)
        x = 0
        last_day = first_day
        now = start
        if lam > 0.0:
            while True:
                now += expovariate(lam)
                if now >= END_DAY:
                    break
                x += 1
                last_day = floor(now)
                if rand() < p:
                    break                               # dropped out after this purchase
        monetary = 0.0
        if x > 0:
            nu = gammavariate(Q, 1.0 / V)
            scale = 1.0 / nu
            cents = 0
            for _ in range(x):
                cents += max(1, round(gammavariate(P, scale) * 100))
            monetary = cents / 100.0 / x
        write(f"{cid},{x},{last_day - first_day},{END_DAY - first_day},{monetary!r}\n")


if __name__ == "__main__":
    main()
