-- Store-and-combine: partial states per partition, merged later, equal one pass
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
RESET client_min_messages;
SET search_path = customer_score, public;
SET timezone = 'UTC';

-- a partitioned transactions table, as a CRM would keep it
CREATE TABLE part_tx (customer_id int, at timestamptz, amount float8) PARTITION BY RANGE (at);
CREATE TABLE part_tx_h1 PARTITION OF part_tx FOR VALUES FROM ('1997-01-01') TO ('1997-07-01');
CREATE TABLE part_tx_h2 PARTITION OF part_tx FOR VALUES FROM ('1997-07-01') TO ('1999-01-01');
INSERT INTO part_tx SELECT customer_id, day::timestamptz, amount FROM fixture.cdnow_sample;

-- rfm per customer and partition, stored, then merged: the same summaries as one pass
CREATE TABLE rfm_states AS
SELECT tableoid::regclass AS partition, customer_id, rfm_partial(at, amount, '1997-09-30', '7 days') AS state
FROM part_tx GROUP BY 1, 2;
SELECT partition, count(*) AS customers FROM rfm_states GROUP BY 1 ORDER BY 1;
SELECT count(*) AS customers, count(*) FILTER (WHERE merged IS DISTINCT FROM one_pass) AS differing
FROM (SELECT customer_id, rfm(rfm_merge(state)) AS merged FROM rfm_states GROUP BY customer_id) m
JOIN (SELECT customer_id, rfm(at, amount, '1997-09-30', '7 days') AS one_pass FROM part_tx GROUP BY customer_id) o
USING (customer_id);

-- fit states per segment, stored in a rollup table, merged and fitted later: the same models bit for bit
CREATE TABLE fit_states AS
SELECT id % 4 AS segment, bgnbd_partial(x, t_x, t) AS purchases, gamma_gamma_partial(x, zbar) AS spend
FROM fixture.cdnow_summary_tx GROUP BY 1;
SELECT bgnbd_fit(bgnbd_merge(purchases))::text = (SELECT bgnbd_fit(x, t_x, t)::text FROM fixture.cdnow_summary_tx) AS bgnbd_same,
       gamma_gamma_fit(gamma_gamma_merge(spend))::text = (SELECT gamma_gamma_fit(x, zbar)::text FROM fixture.cdnow_summary_tx) AS gamma_gamma_same
FROM fit_states;
-- a stored state survives a text round trip (as Citus ships it) with the same fit
SELECT bgnbd_fit(bgnbd_merge(purchases::text::bgnbd_state))::text = bgnbd_fit(bgnbd_merge(purchases))::text AS text_round_trip
FROM fit_states;
SELECT round((params(bgnbd_fit(bgnbd_merge(purchases)))->>'r')::numeric, 4) AS r FROM fit_states;

-- merging states of different observation windows is refused
SELECT rfm(rfm_merge(s)) FROM (
  SELECT rfm_partial('1997-01-01'::timestamptz, 1, '1997-09-30') AS s
  UNION ALL SELECT rfm_partial('1997-01-02'::timestamptz, 1, '1997-12-31')) x;

DROP TABLE part_tx, rfm_states, fit_states;
