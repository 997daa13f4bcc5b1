-- Published CDNOW figures (../shared/data/README.md), each with its stated tolerance.
\ir ../lib/pgtap_begin.sql
SET timezone = 'UTC';

SELECT plan(29);

-- within rel_tol of expected, relative
CREATE FUNCTION pg_temp.close(got float8, expected float8, rel_tol float8, what text) RETURNS text
LANGUAGE sql AS $$
  SELECT ok(abs(got - expected) <= rel_tol * abs(expected),
            format('%s: %s within %s%% of %s', what, got, rel_tol * 100, expected))
$$;

CREATE TEMP TABLE summary_fit AS
SELECT params(bgnbd_fit(frequency, recency, t)) AS bg FROM fixture.cdnow_summary;
CREATE TEMP TABLE spend_fit AS
SELECT params(gamma_gamma_fit(x, zbar)) AS gg FROM fixture.cdnow_summary_tx;
CREATE TEMP TABLE raw_summary AS
SELECT customer_id, (rfm(day::timestamptz, amount, '1997-09-30', '7 days')).*
FROM fixture.cdnow_sample GROUP BY customer_id;
CREATE TEMP TABLE raw_fit AS
SELECT params(bgnbd_fit(frequency, recency, t)) AS bg, params(gamma_gamma_fit(frequency, monetary)) AS gg
FROM raw_summary;

-- BG/NBD, Fader, Hardie & Lee (2005): within 0.5 % each
SELECT pg_temp.close((bg->>'r')::float8, 0.243, 0.005, 'BG/NBD r') FROM summary_fit;
SELECT pg_temp.close((bg->>'alpha')::float8, 4.414, 0.005, 'BG/NBD alpha') FROM summary_fit;
SELECT pg_temp.close((bg->>'a')::float8, 0.793, 0.005, 'BG/NBD a') FROM summary_fit;
SELECT pg_temp.close((bg->>'b')::float8, 2.426, 0.005, 'BG/NBD b') FROM summary_fit;
SELECT pg_temp.close((bg->>'log_likelihood')::float8, -9582.4, 0.00001, 'BG/NBD log-likelihood') FROM summary_fit;
SELECT is((bg->>'customers')::int, 2357, 'BG/NBD saw every customer') FROM summary_fit;
SELECT is((bg->>'converged')::bool, true, 'BG/NBD converged') FROM summary_fit;
-- full precision from raw transactions: CLVTools' estimate, four significant figures or better
SELECT pg_temp.close((bg->>'r')::float8, 0.2425945, 0.0001, 'BG/NBD r from raw') FROM raw_fit;
SELECT pg_temp.close((bg->>'alpha')::float8, 4.4136019, 0.0001, 'BG/NBD alpha from raw') FROM raw_fit;
SELECT pg_temp.close((bg->>'a')::float8, 0.7929199, 0.0001, 'BG/NBD a from raw') FROM raw_fit;
SELECT pg_temp.close((bg->>'b')::float8, 2.4258881, 0.0001, 'BG/NBD b from raw') FROM raw_fit;
SELECT ok(abs((bg->>'log_likelihood')::float8 + 9582.429) < 0.0005, 'BG/NBD LL from raw is -9582.429') FROM raw_fit;

-- Gamma-Gamma (FHL 2005b): within 0.5 % each; LL to 1e-3
SELECT pg_temp.close((gg->>'p')::float8, 6.25, 0.005, 'Gamma-Gamma p') FROM spend_fit;
SELECT pg_temp.close((gg->>'q')::float8, 3.74, 0.005, 'Gamma-Gamma q') FROM spend_fit;
SELECT pg_temp.close((gg->>'v')::float8, 15.44, 0.005, 'Gamma-Gamma v') FROM spend_fit;
SELECT ok(abs((gg->>'log_likelihood')::float8 + 4055.9232) < 0.001, 'Gamma-Gamma LL on 2-decimal zbar is -4055.9232') FROM spend_fit;
SELECT ok(abs((gg->>'log_likelihood')::float8 + 4055.9177) < 0.001, 'Gamma-Gamma LL on raw data is -4055.9177') FROM raw_fit;
SELECT is((gg->>'customers')::int, 946, 'Gamma-Gamma saw the 946 repeat buyers') FROM spend_fit;

-- point predictions with the published parameters (Hardie's spreadsheet, via lifetimes): 4 decimals
SELECT ok(bool_and(abs(expected_purchases(bgnbd(0.2425945, 4.4136019, 0.7929199, 2.4258881), h) - e) < 0.0005),
          'E[X(t)] at t = 0.1429 .. 78 matches Hardie''s spreadsheet to 4 decimals')
FROM (VALUES (0.1429, 0.0078), (1, 0.0532), (3, 0.1506), (31.8571, 1.0405), (32, 1.0437), (78, 1.8576)) v(h, e);
SELECT ok(abs(expected_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), 39, 2, 30.43, 38.86) - 1.226) < 0.0005,
          'paper: E[Y(39) | x=2, t_x=30.43, T=38.86] = 1.226');
SELECT pg_temp.close(expected_purchases(bgnbd(0.2425982, 4.413684, 0.7929899, 2.426167), 52, 26, 216.0 / 7, 31),
                     25.75659, 0.00001, 'BTYD: customer 1516 E[Y(52)]');
SELECT pg_temp.close(p_alive(bgnbd(0.2425982, 4.413684, 0.7929899, 2.426167), 26, 216.0 / 7, 31),
                     0.9688523, 0.00001, 'BTYD: customer 1516 P(alive)');

-- Gamma-Gamma expected spend of the first 10 customers (Hardie's sheet), to the cent
SELECT ok(bool_and(abs(expected_spend(m, c.x, c.zbar) - e) <= 0.0100001),
          'expected spend of IDs 1..10 matches Hardie''s sheet to the cent')
FROM (SELECT gamma_gamma_fit(x, zbar) AS m FROM fixture.cdnow_summary_tx) f,
     fixture.cdnow_summary_tx c
     JOIN (VALUES (1, 24.65), (2, 18.91), (3, 35.17), (4, 35.17), (5, 35.17), (6, 71.46), (7, 18.91),
                  (8, 35.17), (9, 27.28), (10, 35.17)) v(id, e) USING (id);

-- lifetimes quickstart CLV: 140.096211 (ID 1) and 1003.868107 (ID 6), to 1e-6 relative
SELECT pg_temp.close(clv(bg, gg, c.x, c.t_x, c.t, c.zbar, 360, 0.01, 30), e, 0.000001, format('lifetimes CLV of ID %s', c.id))
FROM (SELECT bgnbd_fit(x, t_x, t) AS bg, gamma_gamma_fit(x, zbar) AS gg FROM fixture.cdnow_summary_tx) f,
     fixture.cdnow_summary_tx c JOIN (VALUES (1, 140.096211), (6, 1003.868107)) v(id, e) USING (id)
ORDER BY c.id;

-- rfm reproduces the summary files: frequency exactly, recency and t to two decimals
SELECT is(count(*) FILTER (WHERE s.frequency = c.x AND round(s.recency::numeric, 2) = c.t_x::numeric
                              AND round(s.t::numeric, 2) = c.t::numeric), 2357::bigint,
          'rfm over CDNOW_sample.txt reproduces cdnow_customers_summary for all 2357 customers')
FROM raw_summary s JOIN fixture.cdnow_summary_tx c ON c.id = s.customer_id;
SELECT is(count(*) FILTER (WHERE abs(s.monetary - c.zbar) <= 0.005 + 1e-9), 2357::bigint,
          'rfm monetary reproduces zbar to the cent')
FROM raw_summary s JOIN fixture.cdnow_summary_tx c ON c.id = s.customer_id;
SELECT is(sum(x)::bigint, 2457::bigint, 'CDNOW has 2457 repeat purchases in calibration') FROM fixture.cdnow_summary_tx;

-- apparel (CLVTools 0.12.1 and our reference fitter, estimation split 40 weeks)
SELECT ok(abs((params(bgnbd_fit(frequency, recency, t))->>'log_likelihood')::float8 + 2883.134) < 0.001
          AND abs((params(gamma_gamma_fit(frequency, monetary))->>'log_likelihood')::float8 + 722.2918) < 0.001,
          'apparel 2020: BG/NBD LL -2883.134 and Gamma-Gamma LL -722.2918 (a start at (1,1,1) alone would stop at -750.05)')
FROM (SELECT (rfm(day::timestamptz, price, '2005-10-10', '7 days')).* FROM fixture.apparel2020_tx GROUP BY id) s;

SELECT * FROM finish();
ROLLBACK;
