-- run_fits: how each refresh's fits went, in plain columns. A refresh on the CDNOW 1/10 sample
-- (calibration to 1997-09-30) by a model whose components use all three purchase models; the
-- view's rows against params() of the models the run stored (purchase_model, spend_model) and
-- of the four models fitted here on the same histories (MBG/NBD and Pareto/NBD the run keeps as
-- params only); then a run as 0.1.0 stored it (no purchase_models), one whose spend fit was not
-- used (its params in spend_fit_params) and one as 0.1.0 stored that (its outcome only).
\ir ../lib/pgtap_begin.sql
SET client_min_messages = warning;   -- NOTICEs stay quiet through the file
SET timezone = 'UTC';

SELECT plan(16);

CREATE TEMP TABLE tx AS
SELECT customer_id::bigint AS customer_id, day::timestamptz AS at, amount FROM fixture.cdnow_sample;
SELECT new_version('fits') AS v \gset
INSERT INTO model_components (model, version, position, component, weight, parameters) VALUES
  ('fits', 1, 1, 'predicted_clv', 0.5, '{"purchase_model": "pareto_nbd"}'),
  ('fits', 1, 2, 'p_alive', 0.3, '{"purchase_model": "mbgnbd"}'),
  ('fits', 1, 3, 'expected_purchases', 0.2, '{}');
SELECT publish('fits', 1) AS published \gset
SELECT set_source('transactions', 'tx', 'fits') AS sourced \gset
SELECT refresh('fits', '1997-09-30') AS run \gset

-- the columns are plain types, for BI tools
SELECT is((SELECT string_agg(format('%s %s', attname, format_type(atttypid, atttypmod)), ', ' ORDER BY attnum)
           FROM pg_attribute WHERE attrelid = 'run_fits'::regclass AND attnum > 0),
          'run_id bigint, model text, version integer, as_of timestamp with time zone, fitted_model text, fit text, '
          'used boolean, parameter text, estimate double precision, standard_error double precision, '
          'ci_lower double precision, ci_upper double precision, log_likelihood double precision, '
          'aic double precision, bic double precision, customers bigint',
          'run_fits has plain columns');

SELECT set_eq($$SELECT fitted_model, parameter, fit, used FROM run_fits WHERE run_id = $$ || :run,
              $$VALUES ('bgnbd', 'r', 'converged', true), ('bgnbd', 'alpha', 'converged', true),
                       ('bgnbd', 'a', 'converged', true), ('bgnbd', 'b', 'converged', true),
                       ('mbgnbd', 'r', 'converged', true), ('mbgnbd', 'alpha', 'converged', true),
                       ('mbgnbd', 'a', 'converged', true), ('mbgnbd', 'b', 'converged', true),
                       ('pareto_nbd', 'r', 'converged', true), ('pareto_nbd', 'alpha', 'converged', true),
                       ('pareto_nbd', 's', 'converged', true), ('pareto_nbd', 'beta', 'converged', true),
                       ('gamma_gamma', 'p', 'converged', true), ('gamma_gamma', 'q', 'converged', true),
                       ('gamma_gamma', 'v', 'converged', true)$$,
              'one row per fitted model and parameter: the three purchase models and Gamma-Gamma, converged and used');

-- the expected values: params() of the stored models, and of fits on the run's histories
CREATE TEMP TABLE h AS
SELECT (r).frequency, (r).recency, (r).t, (r).monetary
FROM (SELECT rfm(at, amount, '1997-09-30', '7 days') AS r FROM tx WHERE at <= '1997-09-30' GROUP BY customer_id) s;
CREATE TEMP TABLE want AS
SELECT 'stored' AS source, 'bgnbd' AS fitted_model, params(purchase_model) AS p FROM score_runs WHERE run_id = :run
UNION ALL SELECT 'stored', 'gamma_gamma', params(spend_model) FROM score_runs WHERE run_id = :run
UNION ALL SELECT 'refit', 'bgnbd', params(bgnbd_fit(frequency, recency, t)) FROM h
UNION ALL SELECT 'refit', 'mbgnbd', params(mbgnbd_fit(frequency, recency, t)) FROM h
UNION ALL SELECT 'refit', 'pareto_nbd', params(pareto_nbd_fit(frequency, recency, t)) FROM h
UNION ALL SELECT 'refit', 'gamma_gamma', params(gamma_gamma_fit(frequency, monetary) FILTER (WHERE monetary > 0)) FROM h;
-- each row of the view beside the values it should have
CREATE TEMP TABLE cmp AS
SELECT w.source, f.*, (w.p ->> f.parameter)::float8 AS w_estimate,
       (w.p -> 'standard_errors' ->> f.parameter)::float8 AS w_se,
       (w.p -> 'confidence_intervals' -> f.parameter ->> 0)::float8 AS w_lower,
       (w.p -> 'confidence_intervals' -> f.parameter ->> 1)::float8 AS w_upper,
       (w.p ->> 'log_likelihood')::float8 AS w_ll, (w.p ->> 'aic')::float8 AS w_aic,
       (w.p ->> 'bic')::float8 AS w_bic, (w.p ->> 'customers')::bigint AS w_customers
FROM run_fits f JOIN want w USING (fitted_model) WHERE f.run_id = :run;

SELECT is((SELECT count(*) FROM cmp WHERE source = 'refit' AND estimate IS NOT NULL AND standard_error > 0
                                      AND ci_lower < estimate AND estimate < ci_upper), 15::bigint,
          'every row has an estimate inside its interval and a positive standard error');
SELECT is((SELECT count(*) FROM cmp WHERE source = 'stored'
             AND (estimate, standard_error, ci_lower, ci_upper, log_likelihood, aic, bic, customers)
                 IS NOT DISTINCT FROM (w_estimate, w_se, w_lower, w_upper, w_ll, w_aic, w_bic, w_customers)), 7::bigint,
          'BG/NBD and Gamma-Gamma rows are params() of the run''s purchase_model and spend_model, exactly');
-- the same histories, the same fit: to rounding (the histories reach the aggregates in another
-- order)
SELECT is((SELECT count(*) FROM cmp WHERE source = 'refit'
             AND abs(estimate - w_estimate) <= 1e-9 * w_estimate AND abs(standard_error - w_se) <= 1e-9 * w_se
             AND abs(ci_lower - w_lower) <= 1e-9 * w_lower AND abs(ci_upper - w_upper) <= 1e-9 * w_upper
             AND abs(log_likelihood - w_ll) <= 1e-9 * abs(w_ll) AND abs(aic - w_aic) <= 1e-9 * w_aic
             AND abs(bic - w_bic) <= 1e-9 * w_bic AND customers = w_customers), 15::bigint,
          'every row is params() of the same model fitted here on the run''s histories (to 1e-9 relative)');
SELECT is((SELECT array_agg(DISTINCT customers ORDER BY customers) FROM cmp), ARRAY[946, 2357]::bigint[],
          'the purchase fits are on the 2357 customers, Gamma-Gamma on the 946 repeat buyers');
-- the published CDNOW estimates (data/README.md), to the 3 decimals of the papers
SELECT is((SELECT string_agg(format('%s %s=%s', fitted_model, parameter, round(estimate::numeric, 3)), ', '
                             ORDER BY fitted_model, parameter)
           FROM cmp WHERE source = 'refit' AND fitted_model IN ('bgnbd', 'pareto_nbd')),
          'bgnbd a=0.793, bgnbd alpha=4.414, bgnbd b=2.426, bgnbd r=0.243, '
          'pareto_nbd alpha=10.578, pareto_nbd beta=11.669, pareto_nbd r=0.553, pareto_nbd s=0.606',
          'the run''s BG/NBD and Pareto/NBD are the published CDNOW fits');
-- AIC and BIC from the log-likelihood, as the view's comments state
SELECT ok((SELECT bool_and(abs(aic - (2 * k - 2 * log_likelihood)) < 1e-9 * aic
                           AND abs(bic - (k * ln(customers) - 2 * log_likelihood)) < 1e-9 * bic)
           FROM (SELECT *, count(*) OVER (PARTITION BY fitted_model) AS k FROM cmp WHERE source = 'refit') c),
          'aic = 2k - 2 log_likelihood and bic = k ln(customers) - 2 log_likelihood');

-- a run as 0.1.0 recorded it: no purchase_models, the BG/NBD fit in purchase_model
UPDATE score_runs SET purchase_models = '{}' WHERE run_id = :run;
SELECT set_eq($$SELECT fitted_model, parameter, estimate, standard_error FROM run_fits WHERE run_id = $$ || :run,
              $$SELECT fitted_model, parameter, estimate, standard_error FROM cmp WHERE source = 'stored'$$,
              'without purchase_models the BG/NBD rows come from purchase_model');
-- a BG/NBD fit that was not used (a WARNING: the run kept its outcome, not its model)
UPDATE score_runs SET purchase_fit = 'not converged', purchase_model = NULL WHERE run_id = :run;
SELECT results_eq($$SELECT fitted_model, fit, used, parameter, estimate FROM run_fits WHERE run_id = $$ || :run || $$ AND fitted_model = 'bgnbd'$$,
                  $$VALUES ('bgnbd', 'not converged', false, NULL::text, NULL::float8)$$,
                  'an unused BG/NBD fit without purchase_models: one row, its outcome, no parameters');
-- a Gamma-Gamma fit that was not used: the run keeps its params (spend_fit_params), not its model
SELECT is((SELECT spend_fit_params FROM score_runs WHERE run_id = :run),
          (SELECT params(spend_model) FROM score_runs WHERE run_id = :run),
          'refresh records the Gamma-Gamma fit''s params in spend_fit_params');
UPDATE score_runs SET spend_fit = 'not converged', spend_model = NULL WHERE run_id = :run;
SELECT set_eq($$SELECT fitted_model, fit, used, parameter, estimate, standard_error FROM run_fits WHERE run_id = $$ || :run || $$ AND fitted_model = 'gamma_gamma'$$,
              $$SELECT fitted_model, 'not converged' AS fit, false AS used, parameter, estimate, standard_error FROM cmp
                WHERE source = 'stored' AND fitted_model = 'gamma_gamma'$$,
              'an unused Gamma-Gamma fit: its parameters from spend_fit_params, used false');
-- a run as 0.1.0 recorded it, whose Gamma-Gamma fit was not used: its outcome is all it keeps
UPDATE score_runs SET spend_fit = 'degenerate', spend_fit_params = NULL WHERE run_id = :run;
SELECT results_eq($$SELECT fitted_model, fit, used, parameter, standard_error, customers FROM run_fits WHERE run_id = $$ || :run || $$ AND fitted_model = 'gamma_gamma'$$,
                  $$VALUES ('gamma_gamma', 'degenerate', false, NULL::text, NULL::float8, NULL::bigint)$$,
                  'an unused Gamma-Gamma fit without spend_fit_params: one row, its outcome, no parameters');
-- a run without a transactions source fitted nothing and has no rows
UPDATE score_runs SET purchase_fit = NULL, spend_fit = NULL WHERE run_id = :run;
SELECT is((SELECT count(*) FROM run_fits WHERE run_id = :run), 0::bigint, 'a run that fitted nothing has no rows');

-- how a fit ended: the likelihood's figures scale with the customers and are no parameter
SELECT is(customer_score.fit_outcome(customer_score.params(
              '(r=0.1988,alpha=0.6092,a=0.9500,b=16.2769,log_likelihood=-123890955.13,customers=10000000,converged=true)'::customer_score.bgnbd)),
          'converged', 'ten million customers'' fit (AIC 2.5e8, beyond e^18) is converged, not degenerate');
SELECT is(customer_score.fit_outcome(customer_score.params(
              '(r=0.1988,alpha=0.6092,a=1e-9,b=16.2769,log_likelihood=-1000.5,customers=1000,converged=true)'::customer_score.bgnbd)),
          'degenerate', 'a parameter below e^-18 is degenerate');

SELECT * FROM finish();
ROLLBACK;
