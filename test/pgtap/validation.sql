-- Validation functions against independent computations: plain SQL recounts of the holdout,
-- the holdout table and tracking; identities and published values for the period probabilities;
-- the same checks for Pareto/NBD (BTYD's published conditional expectations) and MBG/NBD (its
-- conditional expectation and P(X(t) = 0) written out in SQL);
-- the bootstrap's point values and its behaviour in level and seed, for BG/NBD, Pareto/NBD and
-- MBG/NBD.
\ir ../lib/pgtap_begin.sql
SET timezone = 'UTC';

SELECT plan(46);

CREATE TEMP TABLE h AS
SELECT customer_id, (rfm_holdout(day::timestamptz, amount, '1997-09-30', '1998-06-30', '7 days')).*
FROM fixture.cdnow_sample GROUP BY customer_id;
CREATE TEMP TABLE m AS SELECT bgnbd_fit(frequency, recency, t) AS bg FROM h;

-- 1. rfm_holdout's holdout against a recount in plain SQL
SELECT is((SELECT count(*) FROM h JOIN (
             SELECT customer_id,
                    count(DISTINCT day) FILTER (WHERE day > '1997-09-30' AND day <= '1998-06-30') AS n,
                    coalesce(sum(amount) FILTER (WHERE day > '1997-09-30' AND day <= '1998-06-30'), 0) AS spend
             FROM fixture.cdnow_sample GROUP BY customer_id) r USING (customer_id)
           WHERE h.holdout_frequency <> r.n OR abs(h.holdout_spend - r.spend) > 1e-9 * (1 + abs(r.spend))),
          0::bigint, 'CDNOW: holdout purchase days and spend equal a plain SQL recount');

-- mid-day times in a zone with daylight saving time, calibration_end inside a day
SET timezone = 'America/New_York';
CREATE TEMP TABLE tz_tx AS
SELECT c AS customer_id,
       '2024-01-01 00:00-05'::timestamptz + ((c * 7919 + k * 104729) % (300 * 24)) * interval '1 hour' AS at,
       ((c * 31 + k * 17) % 50) - 5 AS amount
FROM generate_series(1, 300) c, generate_series(1, 1 + c % 9) k;
CREATE TEMP TABLE tz_h AS
SELECT customer_id, (rfm_holdout(at, amount, '2024-06-15 13:30-04', '2024-10-15 08:00-04', '1 day')).*
FROM tz_tx GROUP BY customer_id;
-- the purchase rule, in SQL: a holdout day is an occasion when its holdout rows net to 0 or more
-- and it is not the day of the last calibration row
SELECT is((SELECT count(*) FROM tz_h JOIN (
             SELECT customer_id, count(*) FILTER (WHERE s >= 0 AND day IS DISTINCT FROM last_cal) AS n, sum(s) AS spend
             FROM (SELECT customer_id, at::date AS day, sum(amount) AS s,
                          (SELECT max(at)::date FROM tz_tx y WHERE y.customer_id = x.customer_id
                                                          AND y.at <= '2024-06-15 13:30-04') AS last_cal
                   FROM tz_tx x WHERE at > '2024-06-15 13:30-04' AND at <= '2024-10-15 08:00-04'
                   GROUP BY customer_id, at::date) d
             GROUP BY customer_id) r USING (customer_id)
           WHERE holdout_frequency <> r.n OR holdout_spend <> r.spend),
          0::bigint, 'New York time: holdout occasions by the purchase rule (the calibration day excluded) and spend equal a SQL recount');
SELECT is((SELECT count(*) FROM tz_h JOIN (
             SELECT customer_id, rfm(at, amount, '2024-06-15 13:30-04', '1 day') AS r FROM tz_tx GROUP BY customer_id) r
           USING (customer_id)
           WHERE frequency IS NOT NULL
             AND (frequency, recency, t, monetary, total, purchases, first_at, last_at)::rfm_summary IS DISTINCT FROM r.r),
          0::bigint, 'New York time: the calibration columns are rfm''s');
SELECT is((SELECT count(*) FROM tz_h WHERE frequency IS NOT NULL),
          (SELECT count(DISTINCT customer_id) FROM (
             SELECT customer_id FROM tz_tx WHERE at <= '2024-06-15 13:30-04'
             GROUP BY customer_id, at::date HAVING sum(amount) >= 0) d),
          'customers without a calibration purchase occasion (none, or refund days only) get NULL');
SELECT ok((SELECT bool_and(abs(holdout_t - extract(epoch FROM '2024-10-15 08:00-04'::timestamptz - '2024-06-15 13:30-04') / 86400) < 1e-12)
           FROM tz_h), 'holdout_t is the holdout''s length in the unit');
SET timezone = 'UTC';

-- 2. the holdout table against plain SQL over expected_purchases
CREATE TEMP TABLE ht AS SELECT t.* FROM m, holdout_table(bg, 'SELECT * FROM h') t;
CREATE TEMP TABLE ref AS
SELECT CASE WHEN frequency >= 7 THEN '7+' ELSE frequency::text END AS frequency_bin, count(*) AS customers,
       avg(holdout_frequency) AS actual, avg(p) AS predicted, avg(abs(p - holdout_frequency)) AS mae,
       sqrt(avg((p - holdout_frequency) ^ 2)) AS rmse, avg(p - holdout_frequency) AS bias,
       corr(p, holdout_frequency) AS correlation
FROM (SELECT h.*, expected_purchases(bg, holdout_t, frequency, recency, t) AS p FROM h, m) x
GROUP BY 1
UNION ALL
SELECT 'all', count(*), avg(holdout_frequency), avg(p), avg(abs(p - holdout_frequency)),
       sqrt(avg((p - holdout_frequency) ^ 2)), avg(p - holdout_frequency), corr(p, holdout_frequency)
FROM (SELECT h.*, expected_purchases(bg, holdout_t, frequency, recency, t) AS p FROM h, m) x;
SELECT is((SELECT count(*) FROM ht JOIN ref r USING (frequency_bin)
           WHERE ht.customers <> r.customers
              OR abs(ht.actual - r.actual) > 1e-12 OR abs(ht.predicted - r.predicted) > 1e-12
              OR abs(ht.mae - r.mae) > 1e-12 OR abs(ht.rmse - r.rmse) > 1e-12 OR abs(ht.bias - r.bias) > 1e-12
              OR abs(ht.correlation - r.correlation) > 1e-9),
          0::bigint, 'holdout_table: counts, means, MAE, RMSE, bias and correlation equal plain SQL');
SELECT is((SELECT count(*) FROM ht), 9::bigint, 'holdout_table: bins 0..6, 7+ and all');
SELECT ok((SELECT bool_and(abs(actual_total - actual * customers) < 1e-9 AND abs(predicted_total - predicted * customers) < 1e-9) FROM ht),
          'holdout_table: totals are the means times the customers');
-- the BTYD walkthrough's rows to 3 decimals
SELECT is((SELECT string_agg(to_char(actual, 'FM0.000'), ' ' ORDER BY frequency_bin) FROM ht WHERE frequency_bin <> 'all'),
          '0.237 0.697 1.393 1.560 2.532 2.947 3.862 6.359', 'CDNOW actual holdout means per frequency (BTYD)');
SELECT is((SELECT string_agg(to_char(predicted, 'FM0.000'), ' ' ORDER BY frequency_bin) FROM ht WHERE frequency_bin <> 'all'),
          '0.225 0.523 1.044 1.520 2.164 2.654 3.504 6.157', 'CDNOW BG/NBD conditional expectations per frequency (BTYD)');

-- the spend model's holdout table against plain SQL
CREATE TEMP TABLE gg AS SELECT gamma_gamma_fit(frequency, monetary) FILTER (WHERE monetary > 0) AS gg FROM h;
SELECT is((SELECT count(*) FROM (SELECT t.* FROM gg, holdout_table(gg, 'SELECT * FROM h', 2) t) a JOIN (
             SELECT CASE WHEN frequency >= 2 THEN '2+' ELSE frequency::text END AS frequency_bin, count(*) AS customers,
                    avg(holdout_spend / holdout_frequency) AS actual, avg(p) AS predicted,
                    sum(holdout_spend) AS actual_total, sum(p * holdout_frequency) AS predicted_total,
                    avg(abs(p - holdout_spend / holdout_frequency)) AS mae, corr(p, holdout_spend / holdout_frequency) AS correlation
             FROM (SELECT h.*, expected_spend(gg, frequency, monetary) AS p FROM h, gg WHERE holdout_frequency > 0) x
             GROUP BY 1) r USING (frequency_bin)
           WHERE a.customers <> r.customers OR abs(a.actual - r.actual) > 1e-9 OR abs(a.predicted - r.predicted) > 1e-9
              OR abs(a.actual_total - r.actual_total) > 1e-6 OR abs(a.predicted_total - r.predicted_total) > 1e-6
              OR abs(a.mae - r.mae) > 1e-9 OR abs(a.correlation - r.correlation) > 1e-9),
          0::bigint, 'holdout_table(gamma_gamma): holdout purchase values against expected_spend equal plain SQL');

-- 3. P(X(t) = x): published values and identities
SELECT ok(abs(probability_of_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), 2, 10) - 1.07869e-07) < 1e-4 * 1.07869e-07,
          format('P(X(2) = 10) = %s (BTYD 1.07869e-07)', probability_of_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), 2, 10)));
SELECT ok(abs(probability_of_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), 39, 0) - 0.5737864) < 5e-8,
          'P(X(39) = 0) = 0.5737864 (BTYD)');
SELECT ok((SELECT bool_and(abs(total - 1) < 1e-10) FROM (
             SELECT t, sum(probability_of_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), t, k)) AS total
             FROM unnest(ARRAY[0.5, 1, 39, 78, 500]) t, generate_series(0, 3000) k GROUP BY t) s),
          'the probabilities sum to 1 over x (t = 0.5 .. 500 weeks)');
SELECT ok((SELECT bool_and(abs(mean - expected_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), t)) < 1e-9 * (1 + mean)) FROM (
             SELECT t, sum(k * probability_of_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), t, k)) AS mean
             FROM unnest(ARRAY[0.1429, 1, 3, 32, 78]) t, generate_series(0, 3000) k GROUP BY t) s),
          'sum of x P(X(t) = x) equals E[X(t)] (FHL eq. 9) at t = 0.1429 .. 78');
SELECT ok((SELECT bool_and(p >= 0 AND p <= 1) FROM (
             SELECT probability_of_purchases(bgnbd(r, alpha, a, b), t, k) AS p
             FROM (VALUES (0.01, 0.01, 0.01, 0.01), (50, 1, 0.5, 50), (0.2, 1e4, 1e3, 1e-3), (1e3, 1e-3, 2, 2)) AS v(r, alpha, a, b),
                  unnest(ARRAY[0, 1e-6, 1, 1e3, 1e6]) t, unnest(ARRAY[0, 1, 10, 1000, 100000]) k) s),
          'probabilities stay in [0, 1] for extreme models, times and counts (never NaN)');
SELECT is((SELECT string_agg(round(p.expected::numeric, 6)::text, ' ' ORDER BY p.frequency_bin)
           FROM m, period_transactions(bg, 'SELECT frequency, t FROM h', 3) p WHERE p.frequency_bin <> '3+'),
          (SELECT string_agg(round(e::numeric, 6)::text, ' ' ORDER BY k) FROM (
             SELECT k, sum(probability_of_purchases(bg, t, k)) AS e FROM h, m, generate_series(0, 2) k GROUP BY k) s),
          'period_transactions: expected customers are sums of probability_of_purchases');
SELECT is((SELECT string_agg(customers::text, ' ' ORDER BY frequency_bin) FROM m, period_transactions(bg, 'SELECT frequency, t FROM h', 3)),
          (SELECT string_agg(n::text, ' ' ORDER BY b) FROM (SELECT least(frequency, 3) AS b, count(*) AS n FROM h GROUP BY 1) s),
          'period_transactions: actual customers per bin equal a SQL count');

-- 4. tracking against plain SQL
CREATE TEMP TABLE tr AS
SELECT t.* FROM m, tracking(bg, 'SELECT customer_id, day::timestamptz AS at FROM fixture.cdnow_sample',
                           '1997-01-01', '1998-07-01', '7 days', '7 days') t;
CREATE TEMP TABLE births AS SELECT customer_id, min(day) AS birth FROM fixture.cdnow_sample GROUP BY customer_id;
SELECT is((SELECT count(*) FROM tr JOIN (
             SELECT 1 + (d.day - date '1997-01-01') / 7 AS period_number, count(*) AS n
             FROM (SELECT DISTINCT customer_id, day FROM fixture.cdnow_sample) d JOIN births b USING (customer_id)
             WHERE d.day > b.birth GROUP BY 1) r USING (period_number)
           WHERE tr.actual <> r.n),
          0::bigint, 'tracking: repeat purchase days per week equal a SQL recount');
SELECT ok((SELECT bool_and(abs(tr.expected_cumulative - r.e) < 1e-9 * r.e) FROM tr JOIN (
             SELECT k AS period_number,
                    sum(expected_purchases(bg, greatest(0, (date '1997-01-01' + 7 * k - b.birth) / 7.0))) AS e
             FROM births b, m, generate_series(1, 78) k GROUP BY k) r USING (period_number)),
          'tracking: expected cumulative repeat purchases equal the sum of expected_purchases over customers');
SELECT is((SELECT string_agg(actual_cumulative::text, ' ' ORDER BY period_number) FROM tr WHERE period_number BETWEEN 20 AND 25),
          '1359 1414 1484 1517 1573 1672', 'CDNOW cumulative repeat transactions of weeks 20..25 (BTYD)');

-- 4b. the other counting models: Pareto/NBD and MBG/NBD fitted on the same calibration histories
CREATE TEMP TABLE cm AS SELECT pareto_nbd_fit(frequency, recency, t) AS pn, mbgnbd_fit(frequency, recency, t) AS mb FROM h;
CREATE TEMP TABLE ht_pn AS SELECT t.* FROM cm, holdout_table(pn, 'SELECT * FROM h') t;
-- BTYD's walkthrough prints .138 .600 1.196 1.714 2.399 2.907 3.819 6.403; the exact values for
-- bins 1 and 4 are 0.59947 and 2.39831 (each customer's E[Y(39)] as the ratio of the model's
-- closed-form numerator to its likelihood, the likelihood's two integrals in 40-digit
-- quadrature, at the parameters fitted here: test/lib/pareto_nbd_quadrature.py), so BTYD's own
-- figures carry an error of up to 6e-4: within 1e-3 of every published figure, and within 1e-6
-- of the quadrature's bin means.
SELECT ok((SELECT bool_and(abs(ht_pn.predicted - b.v) < 1e-3) FROM ht_pn JOIN (
             SELECT (k - 1)::text || CASE WHEN k = 8 THEN '+' ELSE '' END AS frequency_bin, v
             FROM unnest(ARRAY[.138, .600, 1.196, 1.714, 2.399, 2.907, 3.819, 6.403]::float8[]) WITH ORDINALITY u(v, k)) b
           USING (frequency_bin)) AND (SELECT count(*) FROM ht_pn) = 9,
          'CDNOW Pareto/NBD conditional expectations per frequency: BTYD''s published figures to 1e-3');
SELECT ok((SELECT bool_and(abs(ht_pn.predicted - b.v) < 1e-6) FROM ht_pn JOIN (
             SELECT (k - 1)::text || CASE WHEN k = 8 THEN '+' ELSE '' END AS frequency_bin, v
             FROM unnest(ARRAY[0.138446897, 0.599470673, 1.195836718, 1.713843365, 2.398308198, 2.907207711,
                               3.818559311, 6.403067170]::float8[])
                  WITH ORDINALITY u(v, k)) b
           USING (frequency_bin)),
          'CDNOW Pareto/NBD conditional expectations per frequency: an independent quadrature to 1e-6');
SELECT is((SELECT count(*) FROM ht_pn a JOIN (
             SELECT CASE WHEN frequency >= 7 THEN '7+' ELSE frequency::text END AS frequency_bin, count(*) AS customers,
                    avg(holdout_frequency) AS actual, avg(p) AS predicted, sqrt(avg((p - holdout_frequency) ^ 2)) AS rmse
             FROM (SELECT h.*, expected_purchases(pn, holdout_t, frequency, recency, t) AS p FROM h, cm) x
             GROUP BY 1) r USING (frequency_bin)
           WHERE a.customers <> r.customers OR abs(a.actual - r.actual) > 1e-12 OR abs(a.predicted - r.predicted) > 1e-12
              OR abs(a.rmse - r.rmse) > 1e-12),
          0::bigint, 'holdout_table(pareto_nbd): counts, means and RMSE equal plain SQL over expected_purchases');
SELECT is((SELECT string_agg(to_char(actual, 'FM0.000'), ' ' ORDER BY frequency_bin) FROM ht_pn WHERE frequency_bin <> 'all'),
          '0.237 0.697 1.393 1.560 2.532 2.947 3.862 6.359', 'holdout_table(pareto_nbd): the actual means are the data''s (BTYD)');
-- MBG/NBD's conditional expectation (Batislam et al. 2007), written out in SQL with its own 2F1 series:
--   E = (a+b+x)/(a-1) [1 - ((alpha+T)/(alpha+T+h))^(r+x) 2F1(r+x, b+x+1; a+b+x; h/(alpha+T+h))]
--       / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x))
CREATE TEMP TABLE mb_par AS
SELECT (p->>'r')::float8 AS r, (p->>'alpha')::float8 AS al, (p->>'a')::float8 AS a, (p->>'b')::float8 AS b
FROM (SELECT params(mb) AS p FROM cm) s;
CREATE TEMP TABLE mb_ce AS
WITH hist AS (SELECT DISTINCT frequency AS x, recency AS tx, t, holdout_t AS ho FROM h),
terms AS (
  SELECT x, tx, t, ho, k,
         sum(ln((r + x + k) * (b + x + 1 + k) * (ho / (al + t + ho)) / ((a + b + x + k) * (k + 1))))
           OVER (PARTITION BY x, tx, t, ho ORDER BY k ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS log_term
  FROM hist, mb_par, generate_series(0, 1500) k),
f AS (SELECT x, tx, t, ho, sum(exp(coalesce(log_term, 0))) FILTER (WHERE coalesce(log_term, 0) > -700) AS f21
      FROM terms GROUP BY 1, 2, 3, 4)
SELECT x, tx, t, ho,
       (a + b + x) / (a - 1) * (1 - ((al + t) / (al + t + ho)) ^ (r + x) * f21)
         / (1 + a / (b + x) * ((al + t) / (al + tx)) ^ (r + x)) AS e
FROM f, mb_par;
SELECT is((SELECT count(*) FROM (SELECT t.* FROM cm, holdout_table(mb, 'SELECT * FROM h') t) a JOIN (
             SELECT CASE WHEN frequency >= 7 THEN '7+' ELSE frequency::text END AS frequency_bin, count(*) AS customers,
                    avg(holdout_frequency) AS actual, avg(e) AS predicted
             FROM h JOIN mb_ce c ON (c.x, c.tx, c.t, c.ho) = (h.frequency, h.recency, h.t, h.holdout_t)
             GROUP BY 1) r USING (frequency_bin)
           WHERE a.customers <> r.customers OR abs(a.actual - r.actual) > 1e-12
              OR abs(a.predicted - r.predicted) > 1e-9 * (1 + r.predicted)),
          0::bigint, 'holdout_table(mbgnbd): mean conditional expectations per bin equal MBG/NBD''s closed form in SQL');
SELECT is((SELECT count(*) FROM mb_ce), (SELECT count(DISTINCT (frequency, recency, t, holdout_t)) FROM h),
          'the SQL conditional expectation covers every distinct history');
-- the period-transactions histograms: counts, sums of purchase_probability, P(X(t) = 0) in closed form
SELECT is((SELECT string_agg(customers::text, ' ' ORDER BY frequency_bin) FROM cm, period_transactions(mb, 'SELECT frequency, t FROM h', 3)),
          (SELECT string_agg(n::text, ' ' ORDER BY b) FROM (SELECT least(frequency, 3) AS b, count(*) AS n FROM h GROUP BY 1) s),
          'period_transactions(mbgnbd): actual customers per bin equal a SQL count');
SELECT ok((SELECT abs(p.expected - s.e) < 1e-9 * s.e
           FROM cm, period_transactions(mb, 'SELECT frequency, t FROM h', 3) p,
                (SELECT sum(b / (a + b) * (al / (al + t)) ^ r + a / (a + b)) AS e FROM h, mb_par) s
           WHERE p.frequency_bin = '0'),
          'period_transactions(mbgnbd): bin 0 is the sum of b/(a+b) (alpha/(alpha+t))^r + a/(a+b)');
SELECT is((SELECT string_agg(round(p.expected::numeric, 6)::text, ' ' ORDER BY p.frequency_bin)
           FROM cm, period_transactions(mb, 'SELECT frequency, t FROM h', 3) p WHERE p.frequency_bin <> '3+'),
          (SELECT string_agg(round(e::numeric, 6)::text, ' ' ORDER BY k) FROM (
             SELECT k, sum(purchase_probability(mb, t, k)) AS e FROM h, cm, generate_series(0, 2) k GROUP BY k) s),
          'period_transactions(mbgnbd): expected customers are sums of purchase_probability');
SELECT is((SELECT string_agg(round(p.expected::numeric, 6)::text, ' ' ORDER BY p.frequency_bin)
           FROM cm, period_transactions(pn, 'SELECT frequency, t FROM h', 3) p WHERE p.frequency_bin <> '3+'),
          (SELECT string_agg(round(e::numeric, 6)::text, ' ' ORDER BY k) FROM (
             SELECT k, sum(purchase_probability(pn, t, k)) AS e FROM h, cm, generate_series(0, 2) k GROUP BY k) s),
          'period_transactions(pareto_nbd): expected customers are sums of purchase_probability');
SELECT ok((SELECT bool_and(abs(total - 2357) < 1e-6) FROM (
             SELECT sum(p.expected) AS total FROM cm, period_transactions(pn, 'SELECT frequency, t FROM h') p
             UNION ALL SELECT sum(p.expected) FROM cm, period_transactions(mb, 'SELECT frequency, t FROM h') p) s),
          'period_transactions(pareto_nbd, mbgnbd): the expected customers add up to the customers');
-- tracking: the same actual counts, the expected ones from each model's expected_purchases
CREATE TEMP TABLE tr_pn AS
SELECT t.* FROM cm, tracking(pn, 'SELECT customer_id, day::timestamptz AS at FROM fixture.cdnow_sample',
                            '1997-01-01', '1998-07-01', '7 days', '7 days') t;
CREATE TEMP TABLE tr_mb AS
SELECT t.* FROM cm, tracking(mb, 'SELECT customer_id, day::timestamptz AS at FROM fixture.cdnow_sample',
                            '1997-01-01', '1998-07-01', '7 days', '7 days') t;
SELECT is((SELECT count(*) FROM tr FULL JOIN tr_pn p USING (period_number) FULL JOIN tr_mb m USING (period_number)
           WHERE tr.actual IS DISTINCT FROM p.actual OR tr.actual IS DISTINCT FROM m.actual
              OR tr.actual_cumulative IS DISTINCT FROM m.actual_cumulative),
          0::bigint, 'tracking(pareto_nbd, mbgnbd): the actual repeat purchases are BG/NBD''s');
SELECT ok((SELECT bool_and(abs(p.expected_cumulative - r.epn) < 1e-9 * r.epn AND abs(m.expected_cumulative - r.emb) < 1e-9 * r.emb)
           FROM tr_pn p JOIN tr_mb m USING (period_number) JOIN (
             SELECT k AS period_number,
                    sum(expected_purchases(pn, greatest(0, (date '1997-01-01' + 7 * k - b.birth) / 7.0))) AS epn,
                    sum(expected_purchases(mb, greatest(0, (date '1997-01-01' + 7 * k - b.birth) / 7.0))) AS emb
             FROM births b, cm, generate_series(1, 78) k GROUP BY k) r USING (period_number)),
          'tracking(pareto_nbd, mbgnbd): expected cumulative repeat purchases equal sums of expected_purchases');

-- 5. bootstrap: point values are the model's own predictions; wider at a higher level; a seed repeats
CREATE TEMP TABLE mm AS
SELECT bg, (SELECT gamma_gamma_fit(frequency, monetary) FILTER (WHERE monetary > 0) FROM h) AS gg FROM m;
CREATE TEMP TABLE small AS SELECT * FROM h WHERE customer_id % 5 = 0;
CREATE TEMP TABLE pi50 AS SELECT p.* FROM mm, prediction_intervals(bg, gg, 'SELECT * FROM small', 52, 0.5, 40, 3, 0.0074, 4) p;
CREATE TEMP TABLE pi95 AS SELECT p.* FROM mm, prediction_intervals(bg, gg, 'SELECT * FROM small', 52, 0.95, 40, 3, 0.0074, 4) p;
SELECT is((SELECT count(*) FROM pi50 p JOIN small s USING (customer_id), mm
           WHERE p.purchases <> expected_purchases(bg, 52, s.frequency, s.recency, s.t)
              OR p.spend <> expected_spend(gg, s.frequency, s.monetary)
              OR p.clv <> clv(bg, gg, s.frequency, s.recency, s.t, s.monetary, 52, 0.0074, 4)),
          0::bigint, 'prediction_intervals: point values are expected_purchases, expected_spend and clv');
SELECT ok((SELECT bool_and(b.purchases_lower <= a.purchases_lower AND b.purchases_upper >= a.purchases_upper
                           AND b.clv_lower <= a.clv_lower AND b.clv_upper >= a.clv_upper)
           FROM pi50 a JOIN pi95 b USING (customer_id)),
          'the same replicates give a 95% interval containing the 50% one');
SELECT ok((SELECT avg(clv_upper - clv_lower) / avg(clv) BETWEEN 0.02 AND 1 FROM pi95),
          'the 95% CLV intervals are neither degenerate nor wider than the CLV itself on average');

-- 6. bootstrap of Pareto/NBD and MBG/NBD (the same code, through each model's predictions)
CREATE TEMP TABLE pi_pn AS SELECT p.* FROM cm, mm, prediction_intervals(pn, gg, 'SELECT * FROM h', 52, 0.9, 40, 3) p;
CREATE TEMP TABLE pi_mb AS SELECT p.* FROM cm, mm, prediction_intervals(mb, gg, 'SELECT * FROM h', 52, 0.9, 40, 3) p;
SELECT is((SELECT count(*) FROM (
             (SELECT p.* FROM cm, mm, prediction_intervals(pn, gg, 'SELECT * FROM small', 52, 0.9, 20, 7) p
              EXCEPT SELECT p.* FROM cm, mm, prediction_intervals(pn, gg, 'SELECT * FROM small', 52, 0.9, 20, 7) p)
             UNION ALL
             (SELECT p.* FROM cm, mm, prediction_intervals(mb, gg, 'SELECT * FROM small', 52, 0.9, 20, 7) p
              EXCEPT SELECT p.* FROM cm, mm, prediction_intervals(mb, gg, 'SELECT * FROM small', 52, 0.9, 20, 7) p)) x),
          0::bigint, 'prediction_intervals(pareto_nbd, mbgnbd): a seed gives the same rows on every call');
SELECT ok((SELECT count(*) FROM (SELECT p.* FROM cm, mm, prediction_intervals(pn, gg, 'SELECT * FROM small', 52, 0.9, 20, 7) p) a
           JOIN (SELECT p.* FROM cm, mm, prediction_intervals(pn, gg, 'SELECT * FROM small', 52, 0.9, 20, 8) p) b USING (customer_id)
           WHERE a.purchases_upper <> b.purchases_upper) > 0,
          'prediction_intervals(pareto_nbd): another seed draws other replicates');
SELECT is((SELECT count(*) FROM cm, mm, small s,
             prediction_intervals(pn, gg, 'SELECT * FROM small', 52, 0.9, 10, 3, 0.0074, 4) p,
             prediction_intervals(mb, gg, 'SELECT * FROM small', 52, 0.9, 10, 3, 0.0074, 4) q
           WHERE p.customer_id = s.customer_id AND q.customer_id = s.customer_id
             AND (p.purchases <> expected_purchases(pn, 52, s.frequency, s.recency, s.t)
                  OR p.spend <> expected_spend(gg, s.frequency, s.monetary)
                  OR p.clv <> clv(pn, gg, s.frequency, s.recency, s.t, s.monetary, 52, 0.0074, 4)
                  OR q.purchases <> expected_purchases(mb, 52, s.frequency, s.recency, s.t)
                  OR q.clv <> clv(mb, gg, s.frequency, s.recency, s.t, s.monetary, 52, 0.0074, 4))),
          0::bigint, 'prediction_intervals(pareto_nbd, mbgnbd): point values are expected_purchases, expected_spend and clv');
SELECT is((SELECT count(*) FROM pi_pn
           WHERE NOT (purchases BETWEEN purchases_lower AND purchases_upper AND spend BETWEEN spend_lower AND spend_upper
                      AND clv BETWEEN clv_lower AND clv_upper)),
          0::bigint, 'prediction_intervals(pareto_nbd): on CDNOW every 90% interval contains the point prediction');
SELECT is((SELECT count(*) FROM pi_mb
           WHERE NOT (purchases BETWEEN purchases_lower AND purchases_upper AND spend BETWEEN spend_lower AND spend_upper
                      AND clv BETWEEN clv_lower AND clv_upper)),
          0::bigint, 'prediction_intervals(mbgnbd): on CDNOW every 90% interval contains the point prediction');
-- level -> 0: both bounds are the replicates' median (41 replicates: the 21st), which lies
-- within 3% of the point prediction on average over the customers and within 20% for each
SELECT ok((SELECT avg(abs(purchases_lower - purchases) / purchases) < 0.03 AND max(abs(purchases_lower - purchases) / purchases) < 0.2
                  AND bool_and(purchases_upper - purchases_lower <= 1e-6 * purchases)
           FROM cm, mm, prediction_intervals(pn, gg, 'SELECT * FROM h', 52, 1e-9, 41, 3) p),
          'prediction_intervals(pareto_nbd): the replicates'' median is close to the point prediction');
SELECT ok((SELECT avg(abs(purchases_lower - purchases) / purchases) < 0.03 AND max(abs(purchases_lower - purchases) / purchases) < 0.2
                  AND bool_and(purchases_upper - purchases_lower <= 1e-6 * purchases)
           FROM cm, mm, prediction_intervals(mb, gg, 'SELECT * FROM h', 52, 1e-9, 41, 3) p),
          'prediction_intervals(mbgnbd): the replicates'' median is close to the point prediction');
-- customers with one and the same history: every resample is the data itself, so each
-- replicate's refit is the fit of the aggregates in plain SQL and the bounds are its predictions
CREATE TEMP TABLE same AS
SELECT g::bigint AS customer_id, 3 AS frequency, 30.0::float8 AS recency, 39.0::float8 AS t, 40.0::float8 AS monetary
FROM generate_series(1, 50) g;
CREATE TEMP TABLE sm AS
SELECT pareto_nbd_fit(frequency, recency, t) AS pn, mbgnbd_fit(frequency, recency, t) AS mb,
       gamma_gamma_fit(frequency, monetary) AS gg FROM same;
SELECT is((SELECT count(*) FROM sm,
             prediction_intervals(pn, gg, 'SELECT * FROM same', 52, 0.9, 5, 1) p,
             prediction_intervals(mb, gg, 'SELECT * FROM same', 52, 0.9, 5, 1) q
           WHERE p.customer_id = q.customer_id
             AND NOT (p.purchases_lower = expected_purchases(pn, 52, 3, 30, 39) AND p.purchases_upper = p.purchases_lower
                      AND q.purchases_lower = expected_purchases(mb, 52, 3, 30, 39) AND q.purchases_upper = q.purchases_lower
                      AND p.spend_lower = expected_spend(gg, 3, 40) AND p.spend_upper = p.spend_lower
                      AND abs(p.clv_upper - clv(pn, gg, 3, 30, 39, 40, 52)) < 1e-9 * p.clv
                      AND abs(q.clv_lower - clv(mb, gg, 3, 30, 39, 40, 52)) < 1e-9 * q.clv)),
          0::bigint, 'prediction_intervals(pareto_nbd, mbgnbd): a resample equal to the data refits to the SQL fit');
-- the replicates' discounted CLV (the spend times the discounted purchases, P(alive) once for
-- all the steps, BG/NBD's series for all the steps at once) is clv() up to rounding
CREATE TEMP TABLE sm_bg AS SELECT bgnbd_fit(frequency, recency, t) AS bg FROM same;
SELECT cmp_ok((SELECT max(greatest(abs(p.purchases_lower / expected_purchases(bg, 50, 3, 30, 39) - 1),
                                   abs(p.clv_upper / clv(bg, gg, 3, 30, 39, 40, 50, 0.0074, 4) - 1),
                                   abs(q.purchases_upper / expected_purchases(pn, 50, 3, 30, 39) - 1),
                                   abs(q.clv_lower / clv(pn, gg, 3, 30, 39, 40, 50, 0.0074, 4) - 1),
                                   abs(r.purchases_lower / expected_purchases(mb, 50, 3, 30, 39) - 1),
                                   abs(r.clv_upper / clv(mb, gg, 3, 30, 39, 40, 50, 0.0074, 4) - 1)))
               FROM sm, sm_bg,
                    prediction_intervals(bg, gg, 'SELECT * FROM same', 50, 0.9, 3, 1, 0.0074, 4) p,
                    prediction_intervals(pn, gg, 'SELECT * FROM same', 50, 0.9, 3, 1, 0.0074, 4) q,
                    prediction_intervals(mb, gg, 'SELECT * FROM same', 50, 0.9, 3, 1, 0.0074, 4) r
               WHERE p.customer_id = q.customer_id AND q.customer_id = r.customer_id), '<', 1e-12::float8,
              'prediction_intervals: a replicate''s purchases and discounted clv are expected_purchases and clv() to 1e-12 (all three models)');

SELECT * FROM finish();
ROLLBACK;
