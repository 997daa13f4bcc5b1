-- Pareto/NBD and MBG/NBD: the model types, their fits' qualities (forced parallel = serial,
-- partial/merge = one pass, input order), predictions and bad input; purchase_probability and
-- p_no_purchase for the three counting models.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
RESET client_min_messages;
SET search_path = customer_score, public;
SET extra_float_digits = 0;

-- text forms round-trip; params names the parameters
SELECT pareto_nbd(0.553, 10.578, 0.606, 11.669) AS pnbd, mbgnbd(0.525, 6.183, 0.891, 1.614) AS mbg;
SELECT '(r=0.5,alpha=2,s=0.25,beta=3,log_likelihood=-10.5,customers=7,converged=false)'::pareto_nbd;
SELECT params(pareto_nbd(0.553, 10.578, 0.606, 11.669));
SELECT params('(r=0.5,alpha=2,a=1,b=3,log_likelihood=-10.5,customers=7,converged=true)'::mbgnbd);
SELECT pareto_nbd_send(pareto_nbd(1, 2, 3, 4)) = pareto_nbd_send(pareto_nbd_recv_check.m) AS binary_same
FROM (SELECT pareto_nbd(1, 2, 3, 4) AS m) pareto_nbd_recv_check;

-- the fits on CDNOW (published: Pareto/NBD r=0.553 alpha=10.578 s=0.606 beta=11.669 LL -9595.0;
-- MBG/NBD r=0.525 alpha=6.183 a=0.891 b=1.614), rounded
SELECT round((p->>'r')::numeric, 3) AS r, round((p->>'alpha')::numeric, 3) AS alpha,
       round((p->>'s')::numeric, 3) AS s, round((p->>'beta')::numeric, 3) AS beta,
       round((p->>'log_likelihood')::numeric, 2) AS ll, p->'customers' AS customers, p->'converged' AS converged
FROM (SELECT params(pareto_nbd_fit(x, t_x, t)) AS p FROM fixture.cdnow_summary_tx) f;
SELECT round((p->>'r')::numeric, 3) AS r, round((p->>'alpha')::numeric, 3) AS alpha,
       round((p->>'a')::numeric, 3) AS a, round((p->>'b')::numeric, 3) AS b,
       round((p->>'log_likelihood')::numeric, 2) AS ll, p->'converged' AS converged
FROM (SELECT params(mbgnbd_fit(x, t_x, t)) AS p FROM fixture.cdnow_summary_tx) f;

-- partial/merge over four segments, through the text form too, equals one pass bit for bit
CREATE TEMP TABLE model_states AS
SELECT id % 4 AS segment, pareto_nbd_partial(x, t_x, t) AS pnbd, mbgnbd_partial(x, t_x, t) AS mbg
FROM fixture.cdnow_summary_tx GROUP BY 1;
SELECT pareto_nbd_fit(pareto_nbd_merge(pnbd))::text = (SELECT pareto_nbd_fit(x, t_x, t)::text FROM fixture.cdnow_summary_tx) AS pnbd_same,
       mbgnbd_fit(mbgnbd_merge(mbg))::text = (SELECT mbgnbd_fit(x, t_x, t)::text FROM fixture.cdnow_summary_tx) AS mbg_same,
       pareto_nbd_fit(pareto_nbd_merge(pnbd::text::pareto_nbd_state))::text = pareto_nbd_fit(pareto_nbd_merge(pnbd))::text AS pnbd_text,
       mbgnbd_fit(mbgnbd_merge(mbg::text::mbgnbd_state))::text = mbgnbd_fit(mbgnbd_merge(mbg))::text AS mbg_text
FROM model_states;

-- input order does not change the model
SELECT (SELECT pareto_nbd_fit(x, t_x, t ORDER BY random())::text FROM fixture.cdnow_summary_tx) =
       (SELECT pareto_nbd_fit(x, t_x, t ORDER BY id DESC)::text FROM fixture.cdnow_summary_tx) AS pnbd_order,
       (SELECT mbgnbd_fit(x, t_x, t ORDER BY random())::text FROM fixture.cdnow_summary_tx) =
       (SELECT mbgnbd_fit(x, t_x, t ORDER BY id DESC)::text FROM fixture.cdnow_summary_tx) AS mbg_order;

-- forced parallel plans give the serial models
CREATE TABLE models_parallel AS SELECT c.*, k FROM fixture.cdnow_summary_tx c, generate_series(1, 20) k;
ANALYZE models_parallel;
CREATE TEMP TABLE models_serial AS
SELECT pareto_nbd_fit(x, t_x, t)::text AS pnbd, mbgnbd_fit(x, t_x, t)::text AS mbg FROM models_parallel;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT pareto_nbd_fit(x, t_x, t), mbgnbd_fit(x, t_x, t) FROM models_parallel;
SELECT pareto_nbd_fit(x, t_x, t)::text = (SELECT pnbd FROM models_serial) AS pnbd_parallel_same,
       mbgnbd_fit(x, t_x, t)::text = (SELECT mbg FROM models_serial) AS mbg_parallel_same
FROM models_parallel;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
DROP TABLE models_parallel;

-- predictions with the published parameters
SELECT round(expected_purchases(m, 52, 26, 30.857, 31)::numeric, 4) AS e_1516,
       round(p_alive(m, 26, 30.857, 31)::numeric, 6) AS p_alive_1516,
       round(expected_purchases(m, 52)::numeric, 4) AS e_new,
       round(p_alive(m, 0, 0, 38)::numeric, 4) AS p_alive_one_time
FROM (SELECT pareto_nbd(0.553, 10.578, 0.606, 11.669) AS m) s;
SELECT round(expected_purchases(m, 52, 26, 30.857, 31)::numeric, 4) AS e_1516,
       round(p_alive(m, 26, 30.857, 31)::numeric, 6) AS p_alive_1516,
       round(expected_purchases(m, 52)::numeric, 4) AS e_new,
       round(p_alive(m, 0, 0, 38)::numeric, 4) AS p_alive_one_time
FROM (SELECT mbgnbd(0.525, 6.183, 0.891, 1.614) AS m) s;
SELECT round(clv(pareto_nbd(0.553, 10.578, 0.606, 11.669), gamma_gamma(6.25, 3.74, 15.44), 26, 30.857, 31, 40, 52)::numeric, 2) AS clv_pnbd,
       round(clv(mbgnbd(0.525, 6.183, 0.891, 1.614), gamma_gamma(6.25, 3.74, 15.44), 26, 30.857, 31, 40, 52, 0.01)::numeric, 2) AS clv_mbg;

-- predicted_clv: clv, NULL for a NULL argument, 0 for a repeat customer whose purchases net to nothing
SELECT predicted_clv(pareto_nbd(0.553, 10.578, 0.606, 11.669), gamma_gamma(6.25, 3.74, 15.44), 26, 30.857, 31, 40, 52, 0, 1) =
       clv(pareto_nbd(0.553, 10.578, 0.606, 11.669), gamma_gamma(6.25, 3.74, 15.44), 26, 30.857, 31, 40, 52, 0, 1) AS pnbd_same,
       predicted_clv(mbgnbd(0.525, 6.183, 0.891, 1.614), gamma_gamma(6.25, 3.74, 15.44), 26, 30.857, 31, 40, 52, 0.01, 1) =
       clv(mbgnbd(0.525, 6.183, 0.891, 1.614), gamma_gamma(6.25, 3.74, 15.44), 26, 30.857, 31, 40, 52, 0.01, 1) AS mbg_same,
       predicted_clv(mbgnbd(0.525, 6.183, 0.891, 1.614), NULL, 26, 30.857, 31, 40, 52, 0, 1) IS NULL AS no_spend_model,
       predicted_clv(pareto_nbd(0.553, 10.578, 0.606, 11.669), gamma_gamma(6.25, 3.74, 15.44), 3, 10, 31, 0, 52, 0, 1) AS refunded;

-- purchase_probability: a distribution over n (sums to 1), P(X(39) = 0) = p_no_purchase of a new customer
SELECT round(sum(purchase_probability(bgnbd(0.243, 4.414, 0.793, 2.426), 39, n))::numeric, 9) AS bgnbd_sum,
       round(sum(purchase_probability(mbgnbd(0.525, 6.183, 0.891, 1.614), 39, n))::numeric, 9) AS mbg_sum,
       round(sum(purchase_probability(pareto_nbd(0.553, 10.578, 0.606, 11.669), 39, n))::numeric, 9) AS pnbd_sum
FROM generate_series(0, 400) n;
SELECT round(purchase_probability(bgnbd(0.243, 4.414, 0.793, 2.426), 39, 0)::numeric, 7) AS bgnbd_p0,
       round(purchase_probability(bgnbd(0.243, 4.414, 0.793, 2.426), 2, 10)::numeric, 12) AS bgnbd_p10,
       round(p_no_purchase(bgnbd(0.243, 4.414, 0.793, 2.426), 39, 0, 0, 0)::numeric, 7) AS bgnbd_none_new,
       round(purchase_probability(pareto_nbd(0.553, 10.578, 0.606, 11.669), 39, 0)::numeric, 7) AS pnbd_p0,
       round(p_no_purchase(pareto_nbd(0.553, 10.578, 0.606, 11.669), 39, 0, 0, 0)::numeric, 7) AS pnbd_none_new,
       round(purchase_probability(mbgnbd(0.525, 6.183, 0.891, 1.614), 39, 0)::numeric, 7) AS mbg_p0,
       round(p_no_purchase(mbgnbd(0.525, 6.183, 0.891, 1.614), 39, 0, 0, 0)::numeric, 7) AS mbg_none_new;
SELECT round(p_no_purchase(bgnbd(0.243, 4.414, 0.793, 2.426), 13, 26, 30.857, 31)::numeric, 4) AS bgnbd_none,
       round(p_no_purchase(mbgnbd(0.525, 6.183, 0.891, 1.614), 13, 26, 30.857, 31)::numeric, 4) AS mbg_none,
       round(p_no_purchase(pareto_nbd(0.553, 10.578, 0.606, 11.669), 13, 26, 30.857, 31)::numeric, 4) AS pnbd_none,
       p_no_purchase(pareto_nbd(0.553, 10.578, 0.606, 11.669), 0, 26, 30.857, 31) AS zero_horizon;

-- extreme histories stay finite: thousands of purchases, years of history
SELECT p_alive(m, 5000, 2599, 2600) > 0.9 AS busy_alive, p_alive(m, 5000, 100, 2600) < 1e-10 AS busy_gone,
       expected_purchases(m, 52, 5000, 2599, 2600) > 52 AS busy_buys,
       p_alive(m, 0, 0, 100000) BETWEEN 0 AND 1 AS long_quiet
FROM (SELECT pareto_nbd(0.553, 10.578, 0.606, 11.669) AS m) s;
SELECT p_alive(pareto_nbd(0.553, 1e-8, 0.606, 1e8), 3000, 500, 520) BETWEEN 0 AND 1 AS far_apart,
       p_alive(pareto_nbd(0.553, 1e8, 0.606, 1e-8), 3, 5, 520) BETWEEN 0 AND 1 AS far_apart_other_way;

-- bad input names the value
SELECT p_alive(pareto_nbd(1, 1, 1, 1), 2, 10, 5);
SELECT expected_purchases(mbgnbd(1, 1, 1, 1), -1, 2, 1, 5);
SELECT purchase_probability(pareto_nbd(1, 1, 1, 1), 10, -1);
SELECT p_no_purchase(bgnbd(1, 1, 1, 1), 'NaN', 1, 1, 5);
SELECT pareto_nbd(1, 0, 1, 1);
SELECT mbgnbd_fit(x, t_x, t) FROM (VALUES (-1, 0.0, 5.0)) v(x, t_x, t);
SELECT pareto_nbd_fit(x, t_x, t) FROM (VALUES (2, 6.0, 5.0)) v(x, t_x, t);
SELECT '(r=1,alpha=1,s=1)'::pareto_nbd;
-- no repeat purchases: a model, flagged as not converged; an empty group gives NULL
SELECT params(pareto_nbd_fit(0, 0, t))->'converged' AS pnbd_converged, params(mbgnbd_fit(0, 0, t))->'converged' AS mbg_converged
FROM generate_series(1, 30) t;
SELECT pareto_nbd_fit(x, t_x, t) IS NULL AS empty FROM fixture.cdnow_summary_tx WHERE false;
