-- Composite scores on CDNOW with a generated action history: the qualities the issue asks for.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS customer_score;
SET search_path = customer_score, public;
SET timezone = 'UTC';

SELECT plan(14);

CREATE TEMP TABLE tx AS
SELECT customer_id::bigint AS customer_id, day::timestamptz AS at, amount FROM fixture.cdnow_sample;
-- actions for a third of the customers: reviews and answers, purchases and likes sparked by them
CREATE TEMP TABLE actions AS
SELECT g::bigint AS id, (g * 7 % 2357 + 1)::bigint AS customer_id, NULL::bigint AS sparked_by,
       '1997-02-01'::timestamptz + (g % 150) * interval '1 day' AS at, 0::float8 AS value,
       'community'::text AS channel, (ARRAY['review', 'answer', 'blog_post', 'like'])[1 + g % 4] AS kind
FROM generate_series(1, 300) g
UNION ALL
SELECT 1000 + g, (g * 13 % 785 + 1)::bigint, 1 + (g % 300),
       '1997-02-01'::timestamptz + (g % 150) * interval '1 day' + (g % 20) * interval '1 day',
       (g % 5) * 12.5, (ARRAY['web', 'store', 'event'])[1 + g % 3], (ARRAY['purchase', 'signup', 'like', 'comment'])[1 + g % 4]
FROM generate_series(1, 2000) g;
CREATE TEMP TABLE opted AS SELECT DISTINCT customer_id FROM actions WHERE customer_id % 10 = 3;

SELECT lives_ok($$SELECT set_source('transactions', 'tx'); SELECT set_source('actions', 'actions')$$, 'sources set');
INSERT INTO opt_outs (customer_id) SELECT customer_id FROM opted;
SELECT refresh('default', '1997-09-30') AS run \gset

SELECT is((SELECT count(*) FROM scores WHERE model = 'default'), 2357::bigint, 'every customer is scored');
SELECT is((SELECT count(*) FROM scores s
           WHERE s.score <> (SELECT sum(e.contribution) FROM score_explanation e
                             WHERE e.model = s.model AND e.customer_id = s.customer_id)),
          0::bigint, 'for every customer the contributions add up to the score exactly');
SELECT ok((SELECT bool_and(score BETWEEN 0 AND 1000 AND confidence BETWEEN 0 AND 1) FROM scores), 'scores lie in 0..1000, confidence in 0..1');

-- a customer without actions is scored on the lifetime-value components alone, weights renormalised
SELECT is((SELECT count(*) FROM scores s
           WHERE NOT EXISTS (SELECT 1 FROM actions a WHERE a.customer_id = s.customer_id)
             AND abs(s.score - (SELECT 1000 * sum(e.weight * e.normalized) / sum(e.weight)
                                FROM score_explanation e
                                WHERE e.customer_id = s.customer_id AND e.model = s.model AND e.observed)) > 0.0005 * 3),
          0::bigint, 'a customer without actions scores exactly as the renormalised model says');
SELECT is((SELECT DISTINCT confidence FROM scores s
           WHERE NOT EXISTS (SELECT 1 FROM actions a WHERE a.customer_id = s.customer_id)),
          0.6500::numeric, 'and with a confidence of the observed weight share (0.40 + 0.20 + 0.05)');
SELECT ok((SELECT count(*) FROM scores s
           WHERE NOT EXISTS (SELECT 1 FROM actions a WHERE a.customer_id = s.customer_id)
             AND s.score > 900) > 0,
          'a customer with no social activity at all can still score above 900');

-- opting out: the customer's actions are used nowhere, exactly as if they did not exist
CREATE TEMP TABLE with_opt_out AS
SELECT customer_id, component, raw_value FROM score_explanation
WHERE model = 'default' AND component IN ('influence_value', 'influence_points', 'referral_value', 'knowledge');
DELETE FROM opt_outs;
DELETE FROM actions a USING opted o WHERE a.customer_id = o.customer_id;
SELECT refresh('default', '1997-09-30') AS run_without \gset
SELECT is((SELECT count(*) FROM (
              SELECT customer_id, component, raw_value FROM with_opt_out
              EXCEPT
              SELECT customer_id, component, raw_value FROM score_explanation
              WHERE model = 'default' AND component IN ('influence_value', 'influence_points', 'referral_value', 'knowledge')) d),
          0::bigint, 'opt-outs leave no trace in anyone''s influence (same as deleting their actions)');
SELECT is((SELECT count(*) FROM with_opt_out w JOIN opted o USING (customer_id) WHERE w.raw_value IS NOT NULL),
          0::bigint, 'opted-out customers have no influence components of their own');

-- published versions cannot be edited
SELECT throws_ok($$UPDATE model_components SET weight = 1 WHERE model = 'default' AND version = 1$$, '55000',
                 NULL, 'a published version''s components cannot be changed');
SELECT throws_ok($$UPDATE model_versions SET scale = 10 WHERE model = 'default' AND version = 1$$, '55000',
                 NULL, 'a published version cannot be changed');

-- the run stores the fitted models the scores came from
SELECT is((SELECT purchase_model::text FROM score_runs WHERE run_id = :run),
          (SELECT bgnbd_fit(frequency, recency, t)::text
           FROM (SELECT (rfm(at, amount, '1997-09-30', '7 days')).* FROM tx GROUP BY customer_id) s),
          'the run keeps the BG/NBD model it fitted on the transactions source');

-- deleting runs deletes their scores (a trigger, as ON DELETE CASCADE would)
SELECT ok((SELECT count(*) FROM scores_history WHERE run_id = :run) > 0 AND
          (SELECT count(*) FROM scores_history WHERE run_id = :run_without) > 0, 'both runs stored scores');
DELETE FROM score_runs WHERE run_id = :run;
SELECT is((SELECT count(*) FILTER (WHERE run_id = :run) || ' of the deleted run, ' || count(*) FILTER (WHERE run_id = :run_without) || ' of the other'
           FROM scores_history WHERE run_id IN (:run, :run_without)),
          '0 of the deleted run, 2357 of the other', 'deleting a run deletes its scores and no others');

SELECT * FROM finish();
ROLLBACK;
