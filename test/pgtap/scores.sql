-- Composite scores on CDNOW with a generated action history: the qualities the issue asks for.
\ir ../lib/pgtap_begin.sql
SET client_min_messages = warning;   -- NOTICEs stay quiet through the file
SET timezone = 'UTC';

SELECT plan(17);

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

-- score_parts, which refresh stores the score rows by, gives what the SQL arithmetic gives:
-- contributions round((scale * w * value / weights that count)::numeric, 4), the score their
-- sum, the confidence round((observed weight / all weight)::numeric, 4); on random rows, with
-- every missing policy, values at 0, 0.5 and 1, and halves of the fourth decimal
CREATE TEMP TABLE parts AS
SELECT g, ARRAY[v1, v2, v3] AS normalized, ARRAY[v1 IS NOT NULL, v2 IS NOT NULL, v3 IS NOT NULL] AS observed,
       ARRAY[w1, w2, w3] AS w, ARRAY[m1, m2, m3] AS missing, scale
FROM (SELECT g,
             CASE WHEN random() < 0.3 THEN NULL WHEN random() < 0.2 THEN (ARRAY[0, 0.5, 1, 0.00005, 0.12345])[1 + g % 5] ELSE random() END AS v1,
             CASE WHEN random() < 0.3 THEN NULL WHEN random() < 0.2 THEN (ARRAY[0, 0.5, 1, 0.00015])[1 + g % 4] ELSE random() END AS v2,
             CASE WHEN random() < 0.5 THEN NULL ELSE random() END AS v3,
             (ARRAY[0.45, 1, 3, 0.1])[1 + g % 4]::float8 AS w1, (ARRAY[0.2, 1, 1e-3])[1 + g % 3]::float8 AS w2,
             (0.01 + random())::float8 AS w3,
             (ARRAY['renormalize', 'neutral', 'zero'])[1 + g % 3] AS m1, (ARRAY['renormalize', 'neutral', 'zero'])[1 + g / 3 % 3] AS m2,
             (ARRAY['renormalize', 'neutral', 'zero'])[1 + g / 9 % 3] AS m3,
             (ARRAY[1000, 1, 100, 1e6, 0.001])[1 + g / 27 % 5]::float8 AS scale
      FROM generate_series(1, 20000) g) s;
SELECT is((SELECT count(*) FROM (
               SELECT p.g, (sp).score, (sp).confidence, (sp).contribution
               FROM (SELECT g, customer_score.score_parts(normalized, observed, w, missing, scale) AS sp FROM parts OFFSET 0) p
               EXCEPT
               SELECT c.g, c.contribution[1] + c.contribution[2] + c.contribution[3], c.confidence, c.contribution
               FROM (SELECT b.g, ARRAY[CASE WHEN b.nv1 IS NULL THEN round(0::numeric, 4) ELSE round((b.scale * b.w[1] * b.nv1 / b.tw)::numeric, 4) END,
                                       CASE WHEN b.nv2 IS NULL THEN round(0::numeric, 4) ELSE round((b.scale * b.w[2] * b.nv2 / b.tw)::numeric, 4) END,
                                       CASE WHEN b.nv3 IS NULL THEN round(0::numeric, 4) ELSE round((b.scale * b.w[3] * b.nv3 / b.tw)::numeric, 4) END] AS contribution,
                            round((coalesce(b.ow, 0) / b.aw)::numeric, 4) AS confidence
                     FROM (SELECT a.*, nullif(CASE WHEN a.nv1 IS NOT NULL THEN a.w[1] ELSE 0 END + CASE WHEN a.nv2 IS NOT NULL THEN a.w[2] ELSE 0 END
                                              + CASE WHEN a.nv3 IS NOT NULL THEN a.w[3] ELSE 0 END, 0) AS tw,
                                  nullif(CASE WHEN a.observed[1] THEN a.w[1] ELSE 0 END + CASE WHEN a.observed[2] THEN a.w[2] ELSE 0 END
                                         + CASE WHEN a.observed[3] THEN a.w[3] ELSE 0 END, 0) AS ow,
                                  a.w[1] + a.w[2] + a.w[3] AS aw
                           FROM (SELECT x.*, CASE WHEN x.observed[1] THEN x.normalized[1] ELSE CASE x.missing[1] WHEN 'neutral' THEN 0.5 WHEN 'zero' THEN 0.0 END END AS nv1,
                                        CASE WHEN x.observed[2] THEN x.normalized[2] ELSE CASE x.missing[2] WHEN 'neutral' THEN 0.5 WHEN 'zero' THEN 0.0 END END AS nv2,
                                        CASE WHEN x.observed[3] THEN x.normalized[3] ELSE CASE x.missing[3] WHEN 'neutral' THEN 0.5 WHEN 'zero' THEN 0.0 END END AS nv3
                                 FROM parts x) a) b) c) d),
          0::bigint, 'score_parts gives the score, confidence and contributions of the SQL arithmetic, numeric for numeric');
SELECT is((SELECT customer_score.score_parts('{0.5,NULL,0.25}', '{t,f,t}', '{0.45,0.2,0.1}', '{renormalize,neutral,renormalize}', 1000)::text),
          '(466.6666,0.7333,"{300.0000,133.3333,33.3333}")', 'score_parts: a neutral missing component counts 0.5');
SELECT throws_ok($$SELECT customer_score.score_parts('{0.5,0.1}', '{t,t}', '{0.45,0.2,0.1}', '{renormalize,renormalize,renormalize}', 1000)$$,
                 '22023', 'normalized has 2 elements, weights has 3', 'score_parts refuses arrays of different lengths');

SELECT * FROM finish();
ROLLBACK;
