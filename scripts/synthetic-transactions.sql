-- scripts/synthetic-transactions.sql — a deterministic, realistic transaction set for the demo
-- when ../shared/data (the CDNOW files) is not there.
--
--   psql -X -v ON_ERROR_STOP=1 -d DB -f scripts/synthetic-transactions.sql
--
-- Empties and fills demo.transactions (customer_id integer, purchased_at timestamptz, amount
-- numeric), which must exist, and records the parameters in demo.simulation. The population
-- follows the models the demo fits, so a fit can be checked against the truth:
--   * 4,000 customers, acquired uniformly over the first 13 weeks of 2024 (a quarterly cohort,
--     as CDNOW's is) and observed until 2025-06-30: 18 months;
--   * BG/NBD (Fader, Hardie & Lee 2005): while active a customer buys at rate
--     lambda ~ Gamma(shape r, rate alpha) per week and, after each repeat purchase, leaves for
--     good with probability dropout ~ Beta(a, b);
--   * Gamma-Gamma (Fader, Hardie & Lee 2005b): a customer's purchase values are
--     Gamma(shape p, rate nu), rounded to cents, with nu ~ Gamma(shape q, rate v).
-- Purchase times are continuous (any time of day), as an order table records them.
--
-- Override with psql variables (-v name=value): customers, seed and the seven parameters
-- r, alpha, a, b, p, q, v. The defaults describe an online shop whose active customers buy
-- 2.6 times a year on average (r / alpha per week) and spend $45 an order (p v / (q - 1)).
-- Deterministic: setseed() fixes the random() sequence of PostgreSQL 15, and everything runs
-- in one backend in a fixed order, so the same variables give the same rows on every machine.
-- Takes well under a second.

\if :{?customers} \else \set customers 4000 \endif
\if :{?seed}      \else \set seed 0.20240101 \endif
\if :{?r}         \else \set r 0.6 \endif
\if :{?alpha}     \else \set alpha 12 \endif
\if :{?a}         \else \set a 0.8 \endif
\if :{?b}         \else \set b 4 \endif
\if :{?p}         \else \set p 5 \endif
\if :{?q}         \else \set q 4 \endif
\if :{?v}         \else \set v 27 \endif

SET client_min_messages = warning;

-- The DO block cannot see psql variables; pass them in as settings of this session.
SELECT set_config('synthetic.customers', :'customers', false),
       set_config('synthetic.seed', :'seed', false),
       set_config('synthetic.r', :'r', false),
       set_config('synthetic.alpha', :'alpha', false),
       set_config('synthetic.a', :'a', false),
       set_config('synthetic.b', :'b', false),
       set_config('synthetic.p', :'p', false),
       set_config('synthetic.q', :'q', false),
       set_config('synthetic.v', :'v', false) \g /dev/null

-- Gamma(shape, 1) by Marsaglia & Tsang (2000); shapes below 1 by Gamma(shape + 1) * U^(1/shape).
CREATE FUNCTION pg_temp.gamma_draw(shape float8) RETURNS float8
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  d float8 := greatest(shape, 1.0) - 1.0 / 3;
  c float8 := 1.0 / sqrt(9.0 * d);
  x float8;
  y float8;
BEGIN
  IF shape < 1 THEN
    RETURN pg_temp.gamma_draw(shape + 1.0) * power(1.0 - random(), 1.0 / shape);
  END IF;
  LOOP
    -- a standard normal by Box-Muller; 1 - random() lies in (0, 1], so ln() is finite
    x := sqrt(-2.0 * ln(1.0 - random())) * cos(2.0 * pi() * random());
    y := power(1.0 + c * x, 3);
    CONTINUE WHEN y <= 0;
    IF ln(1.0 - random()) < 0.5 * x * x + d - d * y + d * ln(y) THEN
      RETURN d * y;
    END IF;
  END LOOP;
END
$$;

TRUNCATE demo.transactions;

DO $generate$
DECLARE
  n_customers int    := current_setting('synthetic.customers')::int;
  r           float8 := current_setting('synthetic.r')::float8;
  alpha       float8 := current_setting('synthetic.alpha')::float8;
  a           float8 := current_setting('synthetic.a')::float8;
  b           float8 := current_setting('synthetic.b')::float8;
  p_spend     float8 := current_setting('synthetic.p')::float8;
  q           float8 := current_setting('synthetic.q')::float8;
  v           float8 := current_setting('synthetic.v')::float8;
  start_at    timestamptz := '2024-01-01 00:00:00+00';
  end_weeks   float8 := extract(epoch FROM '2025-07-01 00:00:00+00'::timestamptz - start_at) / 604800;
  lambda      float8;  -- purchases per week while active
  dropout     float8;  -- probability of leaving after each repeat purchase
  nu          float8;  -- spend rate: purchase values are Gamma(p, nu), mean p / nu
  t           float8;  -- weeks since start_at
  g           float8;
  repeated    boolean;
BEGIN
  PERFORM setseed(current_setting('synthetic.seed')::float8);

  FOR id IN 1 .. n_customers LOOP
    lambda  := greatest(pg_temp.gamma_draw(r) / alpha, 1e-300);
    g       := pg_temp.gamma_draw(a);
    dropout := g / (g + pg_temp.gamma_draw(b));
    nu      := pg_temp.gamma_draw(q) / v;

    t := 13.0 * random();                           -- the first purchase, in the first quarter
    repeated := false;
    LOOP
      INSERT INTO demo.transactions (customer_id, purchased_at, amount)
      VALUES (id, start_at + make_interval(secs => round(t * 604800)),
              greatest(round((pg_temp.gamma_draw(p_spend) / nu)::numeric, 2), 0.01));
      EXIT WHEN repeated AND random() < dropout;       -- after a repeat purchase: gone for good?
      repeated := true;
      t := t - ln(1.0 - random()) / lambda;          -- the next purchase while active
      EXIT WHEN t >= end_weeks;                      -- beyond the end of the data
    END LOOP;
  END LOOP;
END
$generate$;

-- What the data were drawn from, so a fit can be compared with the truth.
DROP TABLE IF EXISTS demo.simulation;
CREATE TABLE demo.simulation AS
SELECT :'customers'::int AS customers, :'seed'::float8 AS seed,
       :'r'::float8 AS r, :'alpha'::float8 AS alpha, :'a'::float8 AS a, :'b'::float8 AS b,
       :'p'::float8 AS p, :'q'::float8 AS q, :'v'::float8 AS v;
COMMENT ON TABLE demo.simulation IS
    'Parameters of scripts/synthetic-transactions.sql: BG/NBD r, alpha (weeks), a, b; Gamma-Gamma p, q, v ($).';
