-- Gamma-Gamma: fit on CDNOW spend and expected spend
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
RESET client_min_messages;
SET search_path = customer_score, public;
SET timezone = 'UTC';

-- published p = 6.25, q = 3.74, v = 15.44; LL -4055.9232 on the 2-decimal zbar
CREATE TEMP TABLE g AS SELECT gamma_gamma_fit(x, zbar) AS model FROM fixture.cdnow_summary_tx;
SELECT round((p->>'p')::numeric, 3) AS p, round((p->>'q')::numeric, 3) AS q, round((p->>'v')::numeric, 2) AS v,
       round((p->>'log_likelihood')::numeric, 4) AS log_likelihood, p->'customers' AS customers, p->'converged' AS converged
FROM (SELECT params(model) AS p FROM g) s;

-- from raw transactions: LL -4055.9177
SELECT round((params(gamma_gamma_fit(frequency, monetary))->>'log_likelihood')::numeric, 4) AS log_likelihood
FROM (SELECT (rfm(day::timestamptz, amount, '1997-09-30', '7 days')).* FROM fixture.cdnow_sample GROUP BY customer_id) s;

-- expected spend of the first ten customers (Hardie's sheet: 24.65 18.91 35.17 35.17 35.17 71.46 18.91 35.17 27.28 35.17)
SELECT c.id, c.x, c.zbar, round(expected_spend(model, c.x, c.zbar)::numeric, 2) AS expected_spend
FROM g, fixture.cdnow_summary_tx c WHERE c.id <= 10 ORDER BY c.id;

-- frequency 0: the population mean p v / (q - 1), whatever monetary says
SELECT round(expected_spend(gamma_gamma(6.25, 3.74, 15.44), 0, 0)::numeric, 4) AS population_mean,
       expected_spend(gamma_gamma(6.25, 3.74, 15.44), 0, 0) = expected_spend(gamma_gamma(6.25, 3.74, 15.44), 0, 123) AS ignores_monetary;

-- customers without repeat purchases do not enter the fit
SELECT (params(gamma_gamma_fit(x, zbar))->>'customers')::int AS customers,
       count(*) FILTER (WHERE x > 0) AS repeaters
FROM fixture.cdnow_summary_tx;
