-- Validation of the discrete-time models against independent computations: BG/BB's
-- P(X(n) = x), conditional expectation and likelihood written out in SQL from Fader, Hardie &
-- Shang (2010) with rising factorials (no C code of the extension in them), plain SQL recounts
-- of the holdout table and the period-transactions histogram on the donations data (published
-- fit alpha 1.204, beta 0.750, gamma 0.657, delta 2.783, LL -33225.58), and the sBG retention
-- table on Fader & Hardie's (2007) published survivors of the regular and high-end cohorts.
\ir ../lib/pgtap_begin.sql

SELECT plan(34);

-- log of the rising factorial a (a+1) ... (a+k-1): every beta-function ratio of BG/BB and sBG
-- has integer offsets, B(a+c, b+d)/B(a, b) = exp(lrf(a, c) + lrf(b, d) - lrf(a+b, c+d))
CREATE FUNCTION pg_temp.lrf(a float8, k int) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(sum(ln(a + j)), 0) FROM generate_series(0, k - 1) j
$$;
CREATE FUNCTION pg_temp.lbr(a float8, b float8, c int, d int) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.lrf(a, c) + pg_temp.lrf(b, d) - pg_temp.lrf(a + b, c + d)
$$;
-- log C(n, x)
CREATE FUNCTION pg_temp.lchoose(n int, x int) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.lrf(1, n) - pg_temp.lrf(1, x) - pg_temp.lrf(1, n - x)
$$;
-- FHS 2010 eq. 7: P(X(n) = x) of a new customer
CREATE FUNCTION pg_temp.pmf(a float8, b float8, g float8, d float8, n int, x int) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
  SELECT exp(pg_temp.lchoose(n, x) + pg_temp.lbr(a, b, x, n - x) + pg_temp.lbr(g, d, 0, n))
         + coalesce((SELECT sum(exp(pg_temp.lchoose(i, x) + pg_temp.lbr(a, b, x, i - x) + pg_temp.lbr(g, d, 1, i)))
                     FROM generate_series(x, n - 1) i), 0)
$$;
-- FHS 2010 eq. 5: the likelihood of (x, t_x, n)
CREATE FUNCTION pg_temp.lik(a float8, b float8, g float8, d float8, x int, tx int, n int) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
  SELECT exp(pg_temp.lbr(a, b, x, n - x) + pg_temp.lbr(g, d, 0, n))
         + coalesce((SELECT sum(exp(pg_temp.lbr(a, b, x, tx - x + i) + pg_temp.lbr(g, d, 1, tx + i)))
                     FROM generate_series(0, n - tx - 1) i), 0)
$$;
-- FHS 2010 eq. 13 as a sum: E[X(n, n + h) | x, t_x, n] = B(a+x+1, b+n-x)/B(a, b)
-- sum_{s=1..h} B(g, d+n+s)/B(g, d) / L
CREATE FUNCTION pg_temp.ce(a float8, b float8, g float8, d float8, h int, x int, tx int, n int) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
  SELECT exp(pg_temp.lbr(a, b, x + 1, n - x))
         * (SELECT sum(exp(pg_temp.lbr(g, d, 0, n + s))) FROM generate_series(1, h) s)
         / pg_temp.lik(a, b, g, d, x, tx, n)
$$;

CREATE TEMP TABLE bb AS
SELECT m, (params(m)->>'alpha')::float8 AS a, (params(m)->>'beta')::float8 AS b,
       (params(m)->>'gamma')::float8 AS g, (params(m)->>'delta')::float8 AS d
FROM (SELECT bgbb_fit(frequency, recency, periods, customers) AS m FROM fixture.donations) f;

-- the anchor: the published fit
SELECT ok((SELECT round(a::numeric, 3) = 1.204 AND round(b::numeric, 3) = 0.750 AND round(g::numeric, 3) = 0.657
                  AND round(d::numeric, 3) = 2.783 AND round((params(m)->>'log_likelihood')::numeric, 2) = -33225.58 FROM bb),
          'donations: BG/BB alpha 1.204, beta 0.750, gamma 0.657, delta 2.783, LL -33225.58 (FHS 2010, BTYD)');
SELECT cmp_ok((SELECT abs(sum(pt.customers * ln(pg_temp.lik(a, b, g, d, frequency, recency, periods)))
                          - min((params(m)->>'log_likelihood')::float8))
               FROM bb, fixture.donations pt), '<', 1e-6::float8,
              'donations: the fit''s log-likelihood equals eq. 5 written in SQL');

-- 1. purchase_probability: eq. 7 in SQL, sums to 1, mean = expected_purchases
SELECT cmp_ok((SELECT max(abs(purchase_probability(m, n, x) - pg_temp.pmf(a, b, g, d, n, x)))
               FROM bb, generate_series(0, 12) n, generate_series(0, 12) x WHERE x <= n), '<', 1e-13::float8,
              'purchase_probability(bgbb, n, x) equals FHS eq. 7 in SQL for n, x <= 12');
SELECT is((SELECT count(*) FROM bb, generate_series(0, 5) n, generate_series(n + 1, n + 3) x
           WHERE purchase_probability(m, n, x) <> 0), 0::bigint,
          'purchase_probability is 0 past one transaction per period');
SELECT cmp_ok((SELECT max(abs(s - 1) + abs(e - expected_purchases(m, n)))
               FROM bb, (SELECT n, sum(purchase_probability(m, n, x)) AS s, sum(x * purchase_probability(m, n, x)) AS e
                         FROM bb, generate_series(1, 40) n, generate_series(0, 40) x WHERE x <= n GROUP BY n) t),
              '<', 1e-12::float8, 'P(X(n) = .) sums to 1 and its mean is expected_purchases(model, n), n = 1 .. 40');

-- 2. period_transactions on donations against a plain SQL recount and eq. 7
CREATE TEMP TABLE pt AS
SELECT * FROM period_transactions((SELECT m FROM bb), 'SELECT frequency, periods, customers FROM fixture.donations');
SELECT is((SELECT array_agg(frequency_bin || ':' || customers ORDER BY frequency_bin) FROM pt),
          (SELECT array_agg(bin || ':' || coalesce(c, 0) ORDER BY bin)
           FROM (SELECT CASE WHEN k = 7 THEN '7+' ELSE k::text END AS bin, k FROM generate_series(0, 7) k) bins
           LEFT JOIN (SELECT least(frequency, 7) AS k, sum(customers)::bigint AS c FROM fixture.donations GROUP BY 1) r USING (k)),
          'period_transactions(bgbb): customers per bin equal a plain SQL recount (3464 1823 1430 1085 1036 1063 1203 0)');
SELECT cmp_ok((SELECT max(abs(expected - 11104 * pg_temp.pmf(a, b, g, d, 6, frequency_bin::int)))
               FROM pt, bb WHERE frequency_bin <> '7+'), '<', 1e-8::float8,
              'period_transactions(bgbb): expected = 11104 P(X(6) = x) from eq. 7 in SQL');
SELECT is((SELECT expected FROM pt WHERE frequency_bin = '7+'), 0::float8,
          'period_transactions(bgbb): nobody is expected at 7+ of 6 periods');
SELECT cmp_ok((SELECT abs(expected - (SELECT sum(pg_temp.pmf(a, b, g, d, 6, x)) * 11104 FROM bb, generate_series(4, 6) x))
               FROM period_transactions((SELECT m FROM bb), 'SELECT frequency, periods, customers FROM fixture.donations', 4)
               WHERE frequency_bin = '4+'), '<', 1e-8::float8,
              'period_transactions(bgbb, ..., 4): the open bin 4+ is the sum of P(X(6) = 4, 5, 6)');
-- customers of different lengths, one row per customer (no customers column)
SELECT cmp_ok((SELECT max(abs(p.expected - r.expected)) FROM
                 period_transactions((SELECT m FROM bb),
                   'SELECT x AS frequency, n AS periods FROM generate_series(1, 9) n, generate_series(0, n) x, generate_series(1, n) copies') p
                 JOIN (SELECT CASE WHEN k >= 7 THEN '7+' ELSE k::text END AS frequency_bin,
                              sum(n * (n + 1) * pg_temp.pmf(a, b, g, d, n, k)) AS expected
                       FROM bb, generate_series(1, 9) n, generate_series(0, n) k GROUP BY 1) r USING (frequency_bin)),
              '<', 1e-9::float8,
              'period_transactions(bgbb) over 1 .. 9 periods, a row per customer: the sum over customers of P(X(n) = k)');

-- 3. holdout_table: a holdout made up for the test (the arithmetic, not the fit, is checked)
CREATE TEMP TABLE hd AS
SELECT frequency, recency, periods, customers,
       CASE WHEN recency = 6 THEN least(frequency, 5) ELSE (frequency * recency) % 3 END AS holdout_frequency,
       5 AS holdout_periods
FROM fixture.donations;
CREATE TEMP TABLE hd_rows AS     -- one row per customer, with the predictions from the SQL formula
SELECT hd.*, pg_temp.ce(a, b, g, d, holdout_periods, frequency, recency, periods) AS predicted
FROM hd, bb, generate_series(1, customers) c;
CREATE TEMP TABLE ht AS
SELECT * FROM holdout_table((SELECT m FROM bb), 'SELECT * FROM hd');
SELECT cmp_ok((SELECT max(abs(expected_purchases(m, holdout_periods, frequency, recency, periods)
                              - pg_temp.ce(a, b, g, d, holdout_periods, frequency, recency, periods))
                          / pg_temp.ce(a, b, g, d, holdout_periods, frequency, recency, periods))
               FROM bb, hd), '<', 1e-12::float8,
              'expected_purchases(bgbb, 5, x, t_x, 6) equals FHS eq. 13 in SQL (relative)');
SELECT is((SELECT array_agg(frequency_bin || ':' || customers || ':' || round(actual::numeric, 9) || ':' || actual_total ORDER BY frequency_bin)
           FROM ht WHERE frequency_bin NOT IN ('7+', 'all')),
          (SELECT array_agg(v ORDER BY frequency)
           FROM (SELECT frequency, frequency || ':' || count(*) || ':' || round(avg(holdout_frequency), 9) || ':' || sum(holdout_frequency) AS v
                 FROM hd_rows GROUP BY frequency) r),
          'holdout_table(bgbb): customers, mean and total actual per bin equal a plain SQL recount');
SELECT cmp_ok((SELECT max(abs(ht.predicted - r.p) + abs(ht.predicted_total - r.s) / r.s)
               FROM ht JOIN (SELECT frequency::text AS frequency_bin, avg(predicted) AS p, sum(predicted) AS s
                             FROM hd_rows GROUP BY frequency) r USING (frequency_bin)), '<', 1e-9::float8,
              'holdout_table(bgbb): mean and total predicted per bin equal eq. 13 in SQL');
SELECT cmp_ok((SELECT abs(ht.mae - r.mae) + abs(ht.rmse - r.rmse) + abs(ht.bias - r.bias) + abs(ht.correlation - r.c)
                      + abs(ht.customers - r.n)
               FROM ht, (SELECT avg(abs(predicted - holdout_frequency)) AS mae,
                                sqrt(avg((predicted - holdout_frequency) ^ 2)) AS rmse,
                                avg(predicted - holdout_frequency) AS bias,
                                corr(predicted, holdout_frequency) AS c, count(*) AS n FROM hd_rows) r
               WHERE frequency_bin = 'all'), '<', 1e-9::float8,
              'holdout_table(bgbb): the ''all'' row''s MAE, RMSE, bias and correlation equal SQL over one row per customer');
SELECT is((SELECT customers FROM ht WHERE frequency_bin = '7+'), 0::bigint,
          'holdout_table(bgbb): the empty bin 7+ has 0 customers');
SELECT cmp_ok((SELECT max(CASE WHEN h1.customers <> h2.customers THEN 1 ELSE 0 END
                          + coalesce(abs(h1.actual - h2.actual) + abs(h1.predicted - h2.predicted)
                                     + abs(h1.actual_total - h2.actual_total) / (1 + h2.actual_total)
                                     + abs(h1.predicted_total - h2.predicted_total) / h2.predicted_total
                                     + abs(h1.mae - h2.mae) + abs(h1.rmse - h2.rmse) + abs(h1.bias - h2.bias)
                                     + coalesce(abs(h1.correlation - h2.correlation), 0), 0))
               FROM ht h1 JOIN holdout_table((SELECT m FROM bb),
                 'SELECT frequency, recency, periods, holdout_frequency, holdout_periods FROM hd, generate_series(1, customers)') h2
               USING (frequency_bin)), '<', 1e-12::float8,
              'holdout_table(bgbb): the compressed rows (customers) give the table of one row per customer');

-- 4. errors name the bad value
SELECT throws_ok($$SELECT * FROM holdout_table((SELECT m FROM bb), 'SELECT 1 AS frequency, 1 AS recency, 6 AS periods, 0 AS holdout_frequency, 0 AS holdout_periods')$$,
                 '22023', NULL, 'holdout_table(bgbb): an empty holdout (holdout_periods 0) is 22023');
SELECT throws_ok($$SELECT * FROM holdout_table((SELECT m FROM bb), 'SELECT 1 AS frequency, 1 AS recency, 6 AS periods, 3 AS holdout_frequency, 2 AS holdout_periods')$$,
                 '22023', NULL, 'holdout_table(bgbb): more holdout transactions than periods is 22023');
SELECT throws_ok($$SELECT * FROM holdout_table((SELECT m FROM bb), 'SELECT 3 AS frequency, 2 AS recency, 6 AS periods, 0 AS holdout_frequency, 2 AS holdout_periods')$$,
                 '22023', NULL, 'holdout_table(bgbb): recency below frequency is 22023');
SELECT throws_ok($$SELECT * FROM period_transactions((SELECT m FROM bb), 'SELECT 1 AS frequency, 6 AS periods, -1 AS customers')$$,
                 '22023', NULL, 'period_transactions(bgbb): negative customers is 22023');
SELECT throws_ok($$SELECT * FROM period_transactions((SELECT m FROM bb), 'SELECT 1 AS frequency, 6.5 AS periods')$$,
                 '42804', NULL, 'period_transactions(bgbb): fractional periods is 42804 (whole periods only)');

-- 4b. tracking(bgbb): a made-up cohort of 400 (some transactions listed twice), 8 periods
CREATE TEMP TABLE cohort_tx AS
SELECT c AS customer_id, 0 AS period FROM generate_series(1, 400) c
UNION ALL
SELECT c, k FROM generate_series(1, 400) c, generate_series(1, 10) k WHERE (c * 7 + k * 13) % 5 < 2
UNION ALL
SELECT c, 3 FROM generate_series(1, 400) c WHERE c % 11 = 0;
CREATE TEMP TABLE tr AS SELECT * FROM tracking((SELECT m FROM bb), 'SELECT customer_id, period FROM cohort_tx', 8);
SELECT is((SELECT array_agg(period_number || ':' || actual || ':' || actual_cumulative ORDER BY period_number) FROM tr),
          (SELECT array_agg(period || ':' || n || ':' || cum ORDER BY period)
           FROM (SELECT period, n, sum(n) OVER (ORDER BY period) AS cum
                 FROM (SELECT period, count(DISTINCT customer_id) AS n FROM cohort_tx
                       WHERE period BETWEEN 1 AND 8 GROUP BY period) r) w),
          'tracking(bgbb): transactions per period (one per customer) and cumulated equal a plain SQL recount');
SELECT cmp_ok((SELECT max(abs(tr.expected_cumulative - 400 * e.mean) + abs(tr.expected - 400 * (e.mean - coalesce(e.before, 0))))
               FROM tr JOIN (SELECT k, mean, lag(mean) OVER (ORDER BY k) AS before
                             FROM (SELECT k, sum(x * pg_temp.pmf(a, b, g, d, k, x)) AS mean
                                   FROM bb, generate_series(1, 8) k, generate_series(0, 8) x WHERE x <= k GROUP BY k) m) e
                    ON e.k = tr.period_number), '<', 1e-9::float8,
              'tracking(bgbb): expected = 400 times the increase of E[X(k)], the mean of eq. 7 in SQL');
SELECT throws_ok($$SELECT * FROM tracking((SELECT m FROM bb), 'SELECT 1 AS customer_id, 0 AS period UNION ALL SELECT 2, 1', 3)$$,
                 '22023', 'customer 2 has no transaction in period 0',
                 'tracking(bgbb): a customer without a first transaction (period 0) is 22023, named');
SELECT throws_ok($$SELECT * FROM tracking((SELECT m FROM bb), 'SELECT 1 AS customer_id, -1 AS period', 3)$$,
                 '22023', NULL, 'tracking(bgbb): a negative period is 22023');

-- 5. sBG: Fader & Hardie (2007), survivors of 1000 customers in years 0 .. 12; years 1 .. 7 fit
CREATE TEMP TABLE fh (cohort text, year int, alive int);
INSERT INTO fh
SELECT 'regular', y - 1, v FROM unnest('{1000,631,468,382,326,289,262,241,223,207,194,183,173}'::int[]) WITH ORDINALITY u(v, y)
UNION ALL
SELECT 'high end', y - 1, v FROM unnest('{1000,869,743,653,593,551,517,491,468,445,427,409,394}'::int[]) WITH ORDINALITY u(v, y);
-- sbg_fit's histories: churned in year t (alive(t-1) - alive(t)), and the survivors of year 7
CREATE TEMP TABLE fh_hist AS
SELECT cohort, year AS periods_observed, true AS churned, (lag(alive) OVER w - alive)::bigint AS customers
FROM fh WHERE year <= 7 WINDOW w AS (PARTITION BY cohort ORDER BY year);
DELETE FROM fh_hist WHERE periods_observed = 0;
INSERT INTO fh_hist SELECT cohort, 7, false, alive FROM fh WHERE year = 7;
CREATE TEMP TABLE sm AS
SELECT cohort, sbg_fit(periods_observed, churned, customers) AS m FROM fh_hist GROUP BY cohort;
SELECT is((SELECT array_agg(cohort || ' ' || round((params(m)->>'alpha')::numeric, 3) || ' ' || round((params(m)->>'beta')::numeric, 3)
                            ORDER BY cohort) FROM sm),
          '{"high end 0.668 3.806","regular 0.704 1.182"}',
          'sBG on years 1 .. 7: high end alpha 0.668 beta 3.806, regular 0.704 1.182 (Fader & Hardie 2007)');
CREATE TEMP TABLE rt AS
SELECT cohort, r.* FROM sm, retention_table(m, format('SELECT periods_observed, churned, customers FROM fh_hist WHERE cohort = %L', cohort)) r;
SELECT is((SELECT array_agg(cohort || ' ' || period || ' ' || round(1000 * actual_survival)::int ORDER BY cohort, period) FROM rt),
          (SELECT array_agg(cohort || ' ' || year || ' ' || alive ORDER BY cohort, year) FROM fh WHERE year BETWEEN 1 AND 7),
          'retention_table(sbg): 1000 actual_survival is the published survivors 869 743 653 593 551 517 491 and 631 468 382 326 289 262 241');
SELECT is((SELECT array_agg(cohort || ' ' || period || ' ' || customers || ' ' || actual ORDER BY cohort, period) FROM rt),
          (SELECT array_agg(f.cohort || ' ' || f.year || ' ' || p.alive || ' ' || f.alive ORDER BY f.cohort, f.year)
           FROM fh f JOIN fh p ON p.cohort = f.cohort AND p.year = f.year - 1 WHERE f.year BETWEEN 1 AND 7),
          'retention_table(sbg): customers is the year''s starters, actual its survivors');
-- S(t) = prod_{i=1..t} (beta+i-1)/(alpha+beta+i-1), r(t) its last factor
SELECT cmp_ok((SELECT max(abs(predicted_survival - exp(pg_temp.lbr(a, b, 0, period)))
                          + abs(predicted_rate - (b + period - 1) / (a + b + period - 1))
                          + abs(predicted - customers * (b + period - 1) / (a + b + period - 1)) / customers
                          + abs(actual_rate - actual::float8 / customers))
               FROM rt JOIN (SELECT cohort, (params(m)->>'alpha')::float8 AS a, (params(m)->>'beta')::float8 AS b FROM sm) p USING (cohort)),
              '<', 1e-12::float8, 'retention_table(sbg): predicted survival, rate and renewals from the closed form in SQL');
-- the paper's point: the fit to 7 years projects years 8 .. 12 (not fitted) closely
SELECT cmp_ok((SELECT max(abs(1000 * survival(m, year) - alive) / alive) FROM sm JOIN fh USING (cohort) WHERE year BETWEEN 8 AND 12),
              '<', 0.05::float8, 'sBG fitted to years 1 .. 7 projects the survivors of years 8 .. 12 within 5%');

-- 6. censoring: the regular cohort plus a later one of 500 observed for 3 years only
CREATE TEMP TABLE cens AS
SELECT periods_observed, churned, customers FROM fh_hist WHERE cohort = 'regular'
UNION ALL VALUES (1, true, 180::bigint), (2, true, 60::bigint), (3, true, 30::bigint), (3, false, 230::bigint);
SELECT cmp_ok((SELECT max(abs(r.actual_survival - k.s) + abs(r.customers - k.at_risk))
               FROM retention_table((SELECT m FROM sm WHERE cohort = 'regular'), 'SELECT * FROM cens') r
               JOIN (SELECT period, at_risk, exp(sum(ln((at_risk - died)::float8 / at_risk)) OVER (ORDER BY period)) AS s
                     FROM (SELECT t AS period,
                                  (SELECT sum(customers) FROM cens WHERE periods_observed >= t) AS at_risk,
                                  (SELECT coalesce(sum(customers), 0) FROM cens WHERE periods_observed = t AND churned) AS died
                           FROM generate_series(1, 7) t) x) k USING (period)), '<', 1e-12::float8,
              'retention_table(sbg) with a censored cohort: at risk and Kaplan-Meier survival equal SQL');
SELECT is((SELECT count(*) FROM retention_table((SELECT m FROM sm WHERE cohort = 'regular'),
                                                'SELECT periods_observed, churned FROM cens')), 7::bigint,
          'retention_table(sbg) without a customers column: one row per period to the longest observed');
SELECT throws_ok($$SELECT * FROM retention_table((SELECT m FROM sm LIMIT 1), 'SELECT 0 AS periods_observed, true AS churned')$$,
                 '22023', NULL, 'retention_table(sbg): churned in period 0 is 22023');
SELECT throws_ok($$SELECT * FROM retention_table((SELECT m FROM sm LIMIT 1), 'SELECT 3 AS periods_observed, 1 AS churned')$$,
                 '42804', NULL, 'retention_table(sbg): churned must be boolean (42804)');

SELECT * FROM finish();
ROLLBACK;
