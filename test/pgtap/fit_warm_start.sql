-- Fits of many distinct histories start from the optimum of a coarse copy
-- (customer_score.fit_warm_start): the same optimum as every start on the full data.
\ir ../lib/pgtap_begin.sql
SET client_min_messages = warning;   -- NOTICEs stay quiet through the file

SELECT plan(4);

-- CDNOW's 2,357 histories, twenty times over, each copy's times moved by a different fraction
-- of a day: 47,140 distinct histories, past the warm start's threshold
CREATE TEMP TABLE continuous AS
SELECT frequency, CASE WHEN frequency = 0 THEN 0 ELSE recency + k / 140.0 END AS recency, t + k / 140.0 AS t
FROM fixture.cdnow_summary, generate_series(0, 19) k;

SET customer_score.fit_warm_start = on;
CREATE TEMP TABLE warm AS SELECT params(bgnbd_fit(frequency, recency, t)) AS j FROM continuous;
SET customer_score.fit_warm_start = off;
CREATE TEMP TABLE exact AS SELECT params(bgnbd_fit(frequency, recency, t)) AS j FROM continuous;

SELECT ok((SELECT count(*) FROM (SELECT DISTINCT frequency, recency, t FROM continuous) d) > 20000,
          'the data has more distinct histories than the warm start''s threshold');
SELECT cmp_ok((SELECT max(abs((w.j ->> k)::float8 / (e.j ->> k)::float8 - 1))
               FROM warm w, exact e, unnest(ARRAY['r', 'alpha', 'a', 'b']) k), '<', 1e-5::float8,
              'warm start and every start on the full data give the same parameters (1e-5 relative)');
SELECT cmp_ok((SELECT abs((w.j ->> 'log_likelihood')::float8 - (e.j ->> 'log_likelihood')::float8) FROM warm w, exact e),
              '<', 1e-6::float8, '... and the same log-likelihood');
SELECT is((SELECT (w.j ->> 'converged') || ' ' || (e.j ->> 'converged') FROM warm w, exact e), 'true true',
          'both converged');

SELECT * FROM finish();
ROLLBACK;
