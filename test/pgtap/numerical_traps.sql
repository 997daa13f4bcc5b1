-- The numerical traps the peers fell into, and the fit's qualities.
\ir ../lib/pgtap_begin.sql
SET timezone = 'UTC';

SELECT plan(17);

-- An independent reference for E[Y(t) | alive]: E over p ~ Beta(a, b+x) of
-- (1 - (1 + p s)^-(r+x)) / p, s = t / (alpha + T), by a plain midpoint rule on a
-- fine grid in logit(p) (written here in SQL, separately from the C code).
-- Its values were checked against the textbook 2F1 formula summed in 50-digit
-- decimal arithmetic (e.g. 0.534516744223904 for the first case below).
CREATE FUNCTION pg_temp.reference_if_active(r float8, alpha float8, a float8, b float8,
                                            horizon float8, x int, t float8) RETURNS float8
LANGUAGE sql AS $$
  WITH grid AS (
    SELECT y, a * y - (a + b + x) * ln(1 + exp(y)) AS log_w, 1 / (1 + exp(-y)) AS p
    FROM generate_series(-200.0, 60.0, 0.01) y),
  m AS (SELECT max(log_w) AS top FROM grid)
  SELECT sum(exp(log_w - top) *
             CASE WHEN p * horizon / (alpha + t) < 1e-6   -- series: 1 - (1+e)^-n cancels for tiny e
                  THEN (r + x) * horizon / (alpha + t) * (1 - (r + x + 1) / 2 * p * horizon / (alpha + t))
                  ELSE (1 - power(1 + p * horizon / (alpha + t), -(r + x))) / p END)
         / sum(exp(log_w - top))
  FROM grid, m
$$;

-- lifetimes: the conditional expectation went NaN when a + b < 1 and x = 0
SELECT ok(abs(expected_purchases(bgnbd(0.5, 2, 0.3, 0.4), 10, 0, 0, 5)
              - pg_temp.reference_if_active(0.5, 2, 0.3, 0.4, 10, 0, 5)) < 1e-6,
          'a + b < 1, x = 0: finite and equal to the quadrature reference');
SELECT ok(abs(expected_purchases(bgnbd(0.5, 2, 0.3, 0.4), 10) - pg_temp.reference_if_active(0.5, 2, 0.3, 0.4, 10, 0, 0)) < 1e-6,
          'a + b < 1, new customer: equal to the reference');
SELECT ok(abs(expected_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), 52, 3, 20, 38) /
              p_alive(bgnbd(0.243, 4.414, 0.793, 2.426), 3, 20, 38)
              - pg_temp.reference_if_active(0.243, 4.414, 0.793, 2.426, 52, 3, 38)) < 1e-6,
          'CDNOW parameters, x = 3: the series equals the reference');
SELECT ok(abs(expected_purchases(bgnbd(0.243, 4.414, 1.0, 2.426), 52, 3, 20, 38) /
              p_alive(bgnbd(0.243, 4.414, 1.0, 2.426), 3, 20, 38)
              - pg_temp.reference_if_active(0.243, 4.414, 1.0, 2.426, 52, 3, 38)) < 1e-6,
          'a = 1 exactly (0/0 in the textbook formula): equal to the reference');

-- lifetimes, CLVTools: P(alive) overflowed for large frequency and long histories
SELECT ok(p_alive(bgnbd(0.243, 4.414, 0.793, 2.426), 5000, 100, 10000) BETWEEN 0 AND 1e-300
          AND p_alive(bgnbd(0.243, 4.414, 0.793, 2.426), 2000000000, 9999, 10000) BETWEEN 0 AND 1,
          'P(alive) stays in [0, 1] for frequency in the thousands and billions');
SELECT ok(expected_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), 52, 5000, 9999, 10000) BETWEEN 0 AND 1e6
          AND expected_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), 52, 100000, 999, 1000) > 0,
          'expected purchases finite for very large frequencies');
SELECT ok(abs(expected_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), 520000, 2, 30, 38)
              / p_alive(bgnbd(0.243, 4.414, 0.793, 2.426), 2, 30, 38)
              - pg_temp.reference_if_active(0.243, 4.414, 0.793, 2.426, 520000, 2, 38)) < 1e-4,
          'a horizon 10,000 times the history (series too slow, quadrature takes over) equals the reference');

-- CLVTools returned r = 2.5e118 on CDNOW replicated 100 times: the mean log-likelihood does not care
SELECT ok(abs((a.p->>'r')::float8 / (b.p->>'r')::float8 - 1) < 1e-9
          AND abs((a.p->>'alpha')::float8 / (b.p->>'alpha')::float8 - 1) < 1e-9
          AND abs((a.p->>'a')::float8 / (b.p->>'a')::float8 - 1) < 1e-9
          AND abs((a.p->>'b')::float8 / (b.p->>'b')::float8 - 1) < 1e-9
          AND abs((a.p->>'log_likelihood')::float8 / (b.p->>'log_likelihood')::float8 - 100) < 1e-6,
          'CDNOW replicated 100 times: the same parameters to 1e-9, 100 times the log-likelihood')
FROM (SELECT params(bgnbd_fit(frequency, recency, t)) AS p FROM fixture.cdnow_summary, generate_series(1, 100)) a,
     (SELECT params(bgnbd_fit(frequency, recency, t)) AS p FROM fixture.cdnow_summary) b;

-- ridges: on the apparel data a and b run off to infinity together along a/(a+b) = 0.1385
SELECT ok(abs((p->>'log_likelihood')::float8 + 2612.057) < 0.001
          AND abs((p->>'a')::float8 / ((p->>'a')::float8 + (p->>'b')::float8) - 0.1385) < 0.0005
          AND NOT (p->>'converged')::bool,
          'apparel BG/NBD ridge: LL -2612.057, a/(a+b) = 0.1385, flagged as not converged')
FROM (SELECT params(bgnbd_fit(frequency, recency, t)) AS p
      FROM (SELECT (rfm(day::timestamptz, price, '2005-10-09', '7 days')).* FROM fixture.apparel_tx GROUP BY id) s) f;
SELECT ok(expected_purchases(m, 52, 3, 20, 40) BETWEEN 0 AND 52 AND p_alive(m, 3, 20, 40) BETWEEN 0 AND 1
          AND expected_purchases(m, 52) > 0,
          'a model on the ridge (a, b ~ 1e10) still predicts finite values')
FROM (SELECT bgnbd_fit(frequency, recency, t) AS m
      FROM (SELECT (rfm(day::timestamptz, price, '2005-10-09', '7 days')).* FROM fixture.apparel_tx GROUP BY id) s) f;
SELECT ok(abs((params(gamma_gamma_fit(frequency, monetary))->>'log_likelihood')::float8 + 1276.7275) < 0.001,
          'apparel Gamma-Gamma: LL -1276.7275')
FROM (SELECT (rfm(day::timestamptz, price, '2005-10-09', '7 days')).* FROM fixture.apparel_tx GROUP BY id) s;

-- determinism: the same customers in any order give the same model, bit for bit
SELECT is((SELECT bgnbd_fit(frequency, recency, t)::text FROM (SELECT * FROM fixture.cdnow_summary ORDER BY random()) r),
          (SELECT bgnbd_fit(frequency, recency, t)::text FROM (SELECT * FROM fixture.cdnow_summary ORDER BY id) s),
          'bgnbd_fit is independent of input order');
SELECT is((SELECT gamma_gamma_fit(x, zbar)::text FROM (SELECT * FROM fixture.cdnow_summary_tx ORDER BY random()) r),
          (SELECT gamma_gamma_fit(x, zbar)::text FROM (SELECT * FROM fixture.cdnow_summary_tx ORDER BY id DESC) s),
          'gamma_gamma_fit is independent of input order');

-- recency = t and t = 0 are legitimate histories
SELECT ok((params(bgnbd_fit(frequency, recency, t))->>'log_likelihood')::float8 < 0,
          'histories with recency = t and t = 0 fit')
FROM (SELECT frequency, recency, t FROM fixture.cdnow_summary
      UNION ALL VALUES (3, 10.0, 10.0), (0, 0, 0)) s;

-- sums of finite values that overflow: an error, never Infinity
SELECT throws_ok($$SELECT direct_value FROM customer_score.influence(
    'SELECT * FROM (VALUES (1::bigint, 1::bigint, NULL::bigint, ''2024-01-01''::timestamptz, 0::float8, ''web''::text, ''review''::text),
                           (2, 2, 1, ''2024-01-02'', 1e308, ''web'', ''purchase''),
                           (3, 3, 1, ''2024-01-03'', 1e308, ''web'', ''purchase'')) a(id, customer_id, sparked_by, at, value, channel, kind)',
    '2024-12-31')$$, '22003', NULL, 'influence: two conversions of 1e308 credited to one customer are 22003, not Infinity');
SELECT lives_ok($$SELECT money_credit FROM customer_score.influence_trace(
    'SELECT * FROM (VALUES (1::bigint, 1::bigint, NULL::bigint, ''2024-01-01''::timestamptz, 0::float8, ''web''::text, ''review''::text),
                           (2, 2, 1, ''2024-01-02'', 1.7e308, ''web'', ''purchase'')) a(id, customer_id, sparked_by, at, value, channel, kind)',
    1, '2024-12-31', 1, 1.0, '90 days', NULL, NULL, 'last')$$,
    'influence_trace: one credit of 1.7e308 is computed (the sum is what overflows)')
    -- lives: no error expected
    ;

-- a source with char(n) channel and kind columns, as set_source accepts them, is read by refresh
CREATE TEMP TABLE char_tx AS SELECT 1::bigint AS customer_id, '2024-01-01'::timestamptz AS at, 10::float8 AS amount;
CREATE TEMP TABLE char_actions (id bigint, customer_id bigint, sparked_by bigint, at timestamptz, value float8,
                                channel char(9), kind char(8));
INSERT INTO char_actions VALUES (1, 1, NULL, '2024-01-01', 0, 'community', 'review'), (2, 2, 1, '2024-01-02', 25, 'web', 'purchase');
SELECT set_source('transactions', 'char_tx');
SELECT set_source('actions', 'char_actions');
SELECT is((SELECT refresh('default', '2024-06-30') > 0), true, 'refresh reads char(n) channel and kind columns');

SELECT * FROM finish();
ROLLBACK;
