-- BG/BB and sBG: published results (Fader, Hardie & Shang 2010 on donations.csv; Fader & Hardie
-- 2007's survival tables), the fits' qualities (forced parallel = serial, partial/merge = one pass,
-- input order, compressed = expanded data), identities of the predictions, and bad input.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
RESET client_min_messages;
SET search_path = customer_score, public;
SET extra_float_digits = 0;

-- text forms round-trip; params names the parameters
SELECT bgbb(1.204, 0.750, 0.657, 2.783) AS bgbb, sbg(0.704, 1.182) AS sbg;
SELECT '(alpha=1,beta=2,log_likelihood=-10.5,customers=7,converged=false)'::sbg;
SELECT params(bgbb(1.204, 0.750, 0.657, 2.783)), params(sbg(0.704, 1.182));
SELECT bgbb_send(bgbb(1, 2, 3, 4)) = bgbb_send(bgbb_recv_check.m) AS binary_same
FROM (SELECT bgbb(1, 2, 3, 4) AS m) bgbb_recv_check;
SELECT 'v1 (2,4,6):3 (0,0,6):2'::bgbb_state, 'v1 (3,1):5 (7,0):2'::sbg_state;

-- BG/BB on donations.csv (published: alpha 1.204, beta 0.750, gamma 0.657, delta 2.783,
-- LL -33225.58): parameters within 0.001, LL within 0.01
SELECT round((p->>'alpha')::numeric, 3) AS alpha, round((p->>'beta')::numeric, 3) AS beta,
       round((p->>'gamma')::numeric, 3) AS gamma, round((p->>'delta')::numeric, 3) AS delta,
       round((p->>'log_likelihood')::numeric, 2) AS ll, p->'customers' AS customers, p->'converged' AS converged
FROM (SELECT params(bgbb_fit(frequency, recency, periods, customers)) AS p FROM fixture.donations) f;
CREATE TEMP TABLE donations_fit AS
SELECT bgbb_fit(frequency, recency, periods, customers) AS m FROM fixture.donations;

-- P(alive) 0.11, 0.59 and 0.93 for (x, t_x) = (0, 0), (2, 4), (6, 6) with n = 6 (the paper)
SELECT round(p_alive(m, 0, 0, 6)::numeric, 2) AS p00, round(p_alive(m, 2, 4, 6)::numeric, 2) AS p24,
       round(p_alive(m, 6, 6, 6)::numeric, 2) AS p66
FROM donations_fit;
-- next period: P(alive at n+1) times the posterior mean of p among the alive, (alpha+x)/(alpha+beta+n)
SELECT abs(expected_purchases(m, 1, x, t_x, 6) /
           (p_alive(m, x, t_x, 6) * ((params(m)->>'alpha')::float8 + x) /
            ((params(m)->>'alpha')::float8 + (params(m)->>'beta')::float8 + 6)) - 1) < 1e-12 AS next_period_identity
FROM donations_fit, (VALUES (0, 0), (2, 4), (6, 6), (3, 5)) h(x, t_x);
-- a new customer: E[X(n)] of the paper, alpha/(alpha+beta) delta/(gamma-1) (1 - ...), and its first period
SELECT round(expected_purchases(m, 5)::numeric, 4) AS new_5, round(expected_purchases(m, 5, 0, 0, 0)::numeric, 4) AS history_000,
       abs(expected_purchases(m, 1) - 1.204 / (1.204 + 0.750) * 2.783 / (0.657 + 2.783)) < 2e-3 AS first_period
FROM donations_fit;
-- E over the next periods grows with the horizon; a longer silence lowers it
SELECT round(expected_purchases(m, 5, 6, 6, 6)::numeric, 4) AS e666, round(expected_purchases(m, 5, 3, 3, 6)::numeric, 4) AS e336,
       expected_purchases(m, 10, 3, 5, 6) > expected_purchases(m, 5, 3, 5, 6) AS grows,
       expected_purchases(m, 0, 3, 5, 6) AS none
FROM donations_fit;
-- against the paper's closed form for a new customer, alpha/(alpha+beta) delta/(gamma-1)
-- (1 - Gamma(gamma+delta) Gamma(1+delta+n) / (Gamma(gamma+delta+n) Gamma(1+delta))), here with
-- integer gamma and delta so the gammas are factorials; and at gamma = 1, where that form is 0/0
-- (alpha 1, beta 3, gamma 2, delta 3, n 10: 0.25 * 3 * (1 - 4! 13! / (14! 3!)) = 0.75 * (1 - 24 / 84))
SELECT abs(expected_purchases(bgbb(1, 3, 2, 3), 10) - 0.75 * (1 - 24.0 / 84)) < 1e-12 AS closed_form_same,
       round(expected_purchases(bgbb(1, 1, 1, 2), 10000)::numeric, 6) AS at_gamma_1,
       round((0.5 * 2 * (SELECT sum(1.0 / (2 + s)) FROM generate_series(1, 10000) s))::numeric, 6) AS harmonic;

-- compressed data equals the same customers one row each; NULL and 0-customer rows are skipped
SELECT (SELECT bgbb_fit(frequency, recency, periods, customers)::text FROM fixture.donations) =
       (SELECT bgbb_fit(frequency, recency, periods)::text FROM fixture.donations, generate_series(1, customers)) AS expanded_same,
       (SELECT bgbb_fit(frequency, recency, periods, customers)::text FROM (
          SELECT * FROM fixture.donations UNION ALL VALUES (1, 1, 6, 0::bigint), (NULL, 1, 6, 5), (1, 1, 6, NULL)) d) =
       (SELECT bgbb_fit(frequency, recency, periods, customers)::text FROM fixture.donations) AS skipped;

-- partial/merge over three segments, through the text form too, equals one pass bit for bit
CREATE TEMP TABLE discrete_states AS
SELECT frequency % 3 AS segment, bgbb_partial(frequency, recency, periods, customers) AS s FROM fixture.donations GROUP BY 1;
SELECT bgbb_fit(bgbb_merge(s))::text = (SELECT m::text FROM donations_fit) AS merged_same,
       bgbb_fit(bgbb_merge(s::text::bgbb_state))::text = (SELECT m::text FROM donations_fit) AS text_same
FROM discrete_states;
-- input order does not change the model
SELECT (SELECT bgbb_fit(frequency, recency, periods, customers ORDER BY random())::text FROM fixture.donations) =
       (SELECT bgbb_fit(frequency, recency, periods, customers ORDER BY frequency DESC, recency)::text FROM fixture.donations) AS order_same;

-- sBG on Fader & Hardie (2007): survival % over years 0..7, 1,000 customers each, the year-7
-- survivors censored (published: regular alpha 0.704, beta 1.182; high end 0.668, 3.806)
CREATE TEMP TABLE sbg_cohorts AS
SELECT segment, year::int AS periods_observed, true AS churned,
       round((lag(pct) OVER (PARTITION BY segment ORDER BY year) - pct) * 10)::bigint AS customers
FROM (SELECT 'regular' AS segment, g - 1 AS year, v AS pct
      FROM unnest(ARRAY[100, 63.1, 46.8, 38.2, 32.6, 28.9, 26.2, 24.1]) WITH ORDINALITY u(v, g)
      UNION ALL
      SELECT 'high end', g - 1, v
      FROM unnest(ARRAY[100, 86.9, 74.3, 65.3, 59.3, 55.1, 51.7, 49.1]) WITH ORDINALITY u(v, g)) s;
INSERT INTO sbg_cohorts VALUES ('regular', 7, false, 241), ('high end', 7, false, 491);
CREATE TEMP TABLE sbg_fits AS
SELECT segment, sbg_fit(periods_observed, churned, customers) AS m FROM sbg_cohorts GROUP BY segment;
SELECT segment, round((params(m)->>'alpha')::numeric, 3) AS alpha, round((params(m)->>'beta')::numeric, 3) AS beta,
       round((params(m)->>'log_likelihood')::numeric, 2) AS ll, params(m)->'customers' AS customers,
       params(m)->'converged' AS converged
FROM sbg_fits ORDER BY segment;
-- the fitted survival curves against the tables, in percentage points
SELECT segment, (SELECT string_agg(round(100 * survival(m, y)::numeric, 1)::text, ' ' ORDER BY y)
                 FROM generate_series(0, 7) y) AS survival_pct,
       round(retention_rate(m, 1)::numeric, 4) AS r1, round(retention_rate(m, 7)::numeric, 4) AS r7
FROM sbg_fits ORDER BY segment;
-- retention rate r(t) = S(t)/S(t-1); DERL = sum over t >= n of S(t)/S(n-1) (1+d)^-(t-n), summed here to 3,000 periods
SELECT bool_and(abs(retention_rate(m, t) - survival(m, t) / survival(m, t - 1)) < 1e-12) AS ratio_identity
FROM sbg_fits, generate_series(1, 40) t;
SELECT segment, n, round(discounted_residual_lifetime(m, 0.1, n - 1)::numeric, 6) AS derl,
       abs(discounted_residual_lifetime(m, 0.1, n - 1) /
           (SELECT sum(survival(m, t) / survival(m, n - 1) / 1.1 ^ (t - n)) FROM generate_series(n, 3000) t) - 1) < 1e-9 AS sum_same
FROM sbg_fits, (VALUES (1), (5)) r(n) ORDER BY segment, n;
-- undiscounted: (beta + n - 1) / (alpha - 1), finite only for alpha > 1
SELECT discounted_residual_lifetime(sbg(1.5, 2), 0) AS undiscounted, discounted_residual_lifetime(sbg(1.5, 2), 0, 3) AS after_3;
SELECT discounted_residual_lifetime(sbg(0.704, 1.182), 0);

-- sBG: compressed = expanded, partial/merge = one pass, order
SELECT (SELECT sbg_fit(periods_observed, churned, customers)::text FROM sbg_cohorts WHERE segment = 'regular' AND customers IS NOT NULL) =
       (SELECT sbg_fit(periods_observed, churned)::text FROM sbg_cohorts, generate_series(1, customers) WHERE segment = 'regular') AS expanded_same,
       (SELECT sbg_fit(sbg_merge(s))::text FROM (SELECT sbg_partial(periods_observed, churned, customers) AS s FROM sbg_cohorts
          WHERE segment = 'regular' GROUP BY periods_observed) p) =
       (SELECT m::text FROM sbg_fits WHERE segment = 'regular') AS merged_same,
       (SELECT sbg_fit(periods_observed, churned, customers ORDER BY random())::text FROM sbg_cohorts WHERE segment = 'regular') =
       (SELECT m::text FROM sbg_fits WHERE segment = 'regular') AS order_same;

-- data that cannot identify a model: converged=false, never an error
SELECT bgbb_fit(f, r, p) IS NULL AS bgbb_empty, sbg_fit(r, true) IS NULL AS sbg_empty
FROM (VALUES (1, 1, 1)) v(f, r, p) WHERE false;
SELECT params(bgbb_fit(0, 0, 6))->'converged' AS no_transactions,
       params(sbg_fit(3, false))->'converged' AS no_churn,
       params(sbg_fit(1, true))->'converged' AS no_renewal;

-- extreme models and histories stay finite
SELECT p_alive(bgbb(1e-3, 1e3, 1e3, 1e-3), 50, 50, 10000) BETWEEN 0 AND 1 AS p_alive_finite,
       expected_purchases(bgbb(1e3, 1e-3, 1e-3, 1e3), 1000, 10000, 10000, 10000) >= 0 AS expected_finite,
       survival(sbg(1e-300, 1e300), 2147483647) BETWEEN 0 AND 1 AS survival_finite;

-- forced parallel plans give the serial models
CREATE TABLE discrete_parallel AS
SELECT d.*, k FROM fixture.donations d, generate_series(1, 2000) k;
INSERT INTO discrete_parallel SELECT periods_observed, churned::int, 0, customers, k
FROM sbg_cohorts, generate_series(1, 2000) k WHERE segment = 'regular' AND customers IS NOT NULL;
ANALYZE discrete_parallel;
CREATE TEMP TABLE discrete_serial AS
SELECT bgbb_fit(frequency, recency, periods, customers) FILTER (WHERE periods > 0)::text AS bgbb,
       sbg_fit(frequency, recency = 1, customers) FILTER (WHERE periods = 0)::text AS sbg
FROM discrete_parallel;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT bgbb_fit(frequency, recency, periods, customers), sbg_fit(frequency, recency = 1, customers) FROM discrete_parallel;
SELECT bgbb_fit(frequency, recency, periods, customers) FILTER (WHERE periods > 0)::text = (SELECT bgbb FROM discrete_serial) AS bgbb_same,
       sbg_fit(frequency, recency = 1, customers) FILTER (WHERE periods = 0)::text = (SELECT sbg FROM discrete_serial) AS sbg_same
FROM discrete_parallel;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
DROP TABLE discrete_parallel;

-- bad input names the value
SELECT bgbb_fit(3, 2, 6);
SELECT bgbb_fit(2, 5, 4);
SELECT bgbb_fit(-1, 0, 6);
SELECT bgbb_fit(1, 1, 6, -5);
SELECT bgbb_fit(1, 1, 20000);
SELECT p_alive(bgbb(1, 1, 1, 1), 2, 7, 6);
SELECT expected_purchases(bgbb(1, 1, 1, 1), -1);
SELECT expected_purchases(bgbb(1, 1, 1, 1), 10001, 1, 1, 1);
SELECT sbg_fit(0, true);
SELECT sbg_fit(-2, false);
SELECT survival(sbg(1, 1), -1);
SELECT retention_rate(sbg(1, 1), 0);
SELECT discounted_residual_lifetime(sbg(1, 1), -0.1);
SELECT discounted_residual_lifetime(sbg(1, 1), 1e-9);
SELECT discounted_residual_lifetime(sbg(1, 1), 0.1, -1);
SELECT sbg(0, 1);
SELECT 'v1 (3,2):1'::sbg_state;
SELECT 'v1 (1,1,6):0'::bgbb_state;
SELECT bgbb_fit_transfn(NULL, 1, 1, 1);
