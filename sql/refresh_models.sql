-- The purchase model of p_alive, expected_purchases and predicted_clv from the component's
-- parameters (issue 10): each model on the CDNOW 1/10 sample (calibration to 1997-09-30), a model
-- whose components use two different purchase models, and bad parameters.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
SET search_path = public, customer_score;
SET timezone = 'UTC';
SET extra_float_digits = 0;

CREATE SCHEMA pm;
CREATE VIEW pm.cdnow AS SELECT customer_id, day::timestamptz AS at, amount FROM fixture.cdnow_sample;

SELECT new_version('pm_bgnbd'), new_version('pm_mbgnbd'), new_version('pm_pareto'), new_version('pm_mixed');
INSERT INTO model_components (model, version, position, component, weight, parameters)
SELECT m.model, 1, c.position, c.component, c.weight, m.parameters
FROM (VALUES ('pm_bgnbd', '{}'::jsonb), ('pm_mbgnbd', '{"purchase_model": "mbgnbd"}'), ('pm_pareto', '{"purchase_model": "pareto_nbd"}')) m(model, parameters),
     (VALUES (1, 'predicted_clv', 0.5), (2, 'p_alive', 0.3), (3, 'expected_purchases', 0.2)) c(position, component, weight);
-- two purchase models in one version: p_alive under MBG/NBD, predicted_clv under Pareto/NBD,
-- expected_purchases under the default BG/NBD
INSERT INTO model_components (model, version, position, component, weight, parameters) VALUES
  ('pm_mixed', 1, 1, 'predicted_clv', 0.5, '{"purchase_model": "pareto_nbd"}'),
  ('pm_mixed', 1, 2, 'p_alive', 0.3, '{"purchase_model": "mbgnbd"}'),
  ('pm_mixed', 1, 3, 'expected_purchases', 0.2, '{"purchase_model": "bgnbd"}');
SELECT publish('pm_bgnbd', 1), publish('pm_mbgnbd', 1), publish('pm_pareto', 1), publish('pm_mixed', 1);
SELECT set_source('transactions', 'pm.cdnow', m) FROM unnest(ARRAY['pm_bgnbd', 'pm_mbgnbd', 'pm_pareto', 'pm_mixed']) m;
SELECT m, refresh(m, '1997-09-30') > 0 AS refreshed FROM unnest(ARRAY['pm_bgnbd', 'pm_mbgnbd', 'pm_pareto', 'pm_mixed']) m;

-- which models each run fitted, whether each was used and for which components; the extra fits
-- only where a component asks for them
SELECT sr.model, f.name, f.fit ->> 'fit' AS fit, f.fit -> 'used' AS used, f.fit -> 'components' AS components
FROM score_runs sr CROSS JOIN LATERAL jsonb_each(sr.purchase_models) f(name, fit)
WHERE sr.model LIKE 'pm\_%' ORDER BY sr.model, f.name;
-- the recorded parameters are the fits' (CDNOW: Pareto/NBD r 0.55, alpha 10.58, s 0.61, beta 11.67)
SELECT sr.model, f.name, round((f.fit #>> '{params,r}')::numeric, 2) AS r
FROM score_runs sr CROSS JOIN LATERAL jsonb_each(sr.purchase_models) f(name, fit)
WHERE sr.model = 'pm_mixed' ORDER BY f.name;

-- every raw value equals the named model's function on the same histories (to 1e-9)
CREATE TEMP TABLE h AS
SELECT customer_id, (r).frequency, (r).recency, (r).t, (r).monetary
FROM (SELECT customer_id, rfm(at, amount, '1997-09-30', '7 days') AS r FROM pm.cdnow WHERE at <= '1997-09-30' GROUP BY 1) s;
CREATE TEMP TABLE fits AS
SELECT bgnbd_fit(frequency, recency, t) AS bg, mbgnbd_fit(frequency, recency, t) AS mb, pareto_nbd_fit(frequency, recency, t) AS pn,
       gamma_gamma_fit(frequency, monetary) FILTER (WHERE monetary > 0) AS gg,
       power(1.10, 13 * 7 / 365.25) - 1 AS step_rate
FROM h;
CREATE TEMP TABLE want AS
SELECT h.customer_id,
       p_alive(bg, frequency, recency, t) AS pa_bg, p_alive(mb, frequency, recency, t) AS pa_mb, p_alive(pn, frequency, recency, t) AS pa_pn,
       expected_purchases(bg, 52, frequency, recency, t) AS ep_bg, expected_purchases(mb, 52, frequency, recency, t) AS ep_mb,
       expected_purchases(pn, 52, frequency, recency, t) AS ep_pn,
       predicted_clv(bg, gg, frequency, recency, t, monetary, 52, step_rate, 13) AS clv_bg,
       predicted_clv(mb, gg, frequency, recency, t, monetary, 52, step_rate, 13) AS clv_mb,
       predicted_clv(pn, gg, frequency, recency, t, monetary, 52, step_rate, 13) AS clv_pn
FROM h, fits;
SELECT e.model, e.component, count(*) AS customers,
       max(abs(e.raw_value - CASE e.model || '/' || e.component
           WHEN 'pm_bgnbd/p_alive' THEN w.pa_bg WHEN 'pm_mbgnbd/p_alive' THEN w.pa_mb WHEN 'pm_pareto/p_alive' THEN w.pa_pn
           WHEN 'pm_mixed/p_alive' THEN w.pa_mb
           WHEN 'pm_bgnbd/expected_purchases' THEN w.ep_bg WHEN 'pm_mbgnbd/expected_purchases' THEN w.ep_mb
           WHEN 'pm_pareto/expected_purchases' THEN w.ep_pn WHEN 'pm_mixed/expected_purchases' THEN w.ep_bg
           WHEN 'pm_bgnbd/predicted_clv' THEN w.clv_bg WHEN 'pm_mbgnbd/predicted_clv' THEN w.clv_mb
           WHEN 'pm_pareto/predicted_clv' THEN w.clv_pn WHEN 'pm_mixed/predicted_clv' THEN w.clv_pn END)) < 1e-9 AS same
FROM score_explanation e JOIN want w USING (customer_id)
WHERE e.model LIKE 'pm\_%' GROUP BY 1, 2 ORDER BY 1, 2;
-- the models differ: MBG/NBD and Pareto/NBD P(alive) are not BG/NBD's
SELECT max(abs(pa_mb - pa_bg)) > 0.01 AS mbgnbd_differs, max(abs(pa_pn - pa_bg)) > 0.01 AS pareto_differs FROM want;

-- the explanation names a purchase model other than the default
SELECT component, explanation FROM score_explanation WHERE model = 'pm_mixed' AND customer_id = 1 ORDER BY position;

-- a new version keeps the parameters
SELECT new_version('pm_mixed') AS v2 \gset
SELECT component, parameters FROM model_components WHERE model = 'pm_mixed' AND version = :v2 ORDER BY position;

-- bad parameters: 22023 naming the value
DO $$
DECLARE
    p jsonb;
BEGIN
    FOREACH p IN ARRAY ARRAY['{"purchase_model": "bgbb"}', '{"purchase_model": 3}', '{"purchase_model": "BGNBD"}',
                             '{"model": "bgnbd"}', '[]', 'null']::jsonb[] LOOP
        BEGIN
            UPDATE customer_score.model_components SET parameters = p
            WHERE model = 'pm_mixed' AND version = 2 AND component = 'p_alive';
            RAISE NOTICE '% accepted', p;
        EXCEPTION WHEN invalid_parameter_value THEN
            RAISE WARNING '%: % (%)', p, SQLERRM, SQLSTATE;
        END;
    END LOOP;
END
$$;
-- leave no runs or sources behind for the suites that follow
DELETE FROM sources WHERE model LIKE 'pm\_%';
DELETE FROM score_runs WHERE model LIKE 'pm\_%';
