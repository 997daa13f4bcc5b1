-- Standard errors from the observed information, against a numerical Hessian written here
-- independently: the BG/NBD log-likelihood of FHL (2005) eq. 6 in plain SQL (products instead
-- of gamma functions, exact for integer frequencies), second differences in log-parameters,
-- a Gauss-Jordan inverse; Pareto/NBD's against the errors CLVTools publishes; and the fields'
-- text, binary and params forms.
\ir ../lib/pgtap_begin.sql

SELECT plan(19);

CREATE TEMP TABLE hist AS
SELECT frequency AS x, CASE WHEN frequency = 0 THEN 0 ELSE recency END AS tx, t, count(*) AS n
FROM fixture.cdnow_summary GROUP BY 1, 2, 3;
CREATE TEMP TABLE fit AS SELECT bgnbd_fit(frequency, recency, t) AS m FROM fixture.cdnow_summary;
CREATE TEMP TABLE p AS SELECT params(m) AS j FROM fit;

-- minus the BG/NBD log-likelihood at log-parameters u
CREATE FUNCTION pg_temp.nll(u float8[]) RETURNS float8 LANGUAGE sql AS $$
  SELECT -sum(n * (
           coalesce((SELECT sum(ln(r + j) + ln(b + j) - ln(a + b + j)) FROM generate_series(0, x - 1) j), 0)
           + r * ln(alpha)
           + ln(power(alpha + t, -(r + x))
                + CASE WHEN x > 0 THEN a / (b + x - 1) * power(alpha + tx, -(r + x)) ELSE 0 END)))
  FROM hist, LATERAL (SELECT exp(u[1]) AS r, exp(u[2]) AS alpha, exp(u[3]) AS a, exp(u[4]) AS b) q
$$;

-- standard errors of exp(u) from the numerical Hessian of nll at u
CREATE FUNCTION pg_temp.numerical_se(u float8[]) RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
  h float8 := 1e-3;
  f0 float8 := pg_temp.nll(u);
  m float8[] := array_fill(0::float8, ARRAY[4, 8]);
  e float8[];
  ui float8[]; uj float8[];
  piv float8; factor float8;
  se float8[] := ARRAY[]::float8[];
BEGIN
  FOR i IN 1..4 LOOP
    FOR j IN i..4 LOOP
      IF i = j THEN
        ui := u; ui[i] := u[i] + h; uj := u; uj[i] := u[i] - h;
        m[i][j] := (pg_temp.nll(ui) - 2 * f0 + pg_temp.nll(uj)) / (h * h);
      ELSE
        e := ARRAY[0, 0, 0, 0]::float8[];
        ui := u; ui[i] := u[i] + h; ui[j] := u[j] + h; factor := pg_temp.nll(ui);
        ui := u; ui[i] := u[i] + h; ui[j] := u[j] - h; factor := factor - pg_temp.nll(ui);
        ui := u; ui[i] := u[i] - h; ui[j] := u[j] + h; factor := factor - pg_temp.nll(ui);
        ui := u; ui[i] := u[i] - h; ui[j] := u[j] - h; factor := factor + pg_temp.nll(ui);
        m[i][j] := factor / (4 * h * h);
        m[j][i] := m[i][j];
      END IF;
    END LOOP;
    m[i][4 + i] := 1;
  END LOOP;
  -- Gauss-Jordan: [H | I] -> [I | H^-1]
  FOR c IN 1..4 LOOP
    piv := m[c][c];
    FOR k IN 1..8 LOOP m[c][k] := m[c][k] / piv; END LOOP;
    FOR r IN 1..4 LOOP
      IF r <> c THEN
        factor := m[r][c];
        FOR k IN 1..8 LOOP m[r][k] := m[r][k] - factor * m[c][k]; END LOOP;
      END IF;
    END LOOP;
  END LOOP;
  FOR i IN 1..4 LOOP se := se || exp(u[i]) * sqrt(m[i][4 + i]); END LOOP;
  RETURN se;
END
$$;

CREATE TEMP TABLE se AS
SELECT pg_temp.numerical_se(ARRAY[ln((j->>'r')::float8), ln((j->>'alpha')::float8),
                                  ln((j->>'a')::float8), ln((j->>'b')::float8)]) AS num,
       ARRAY[(j->'standard_errors'->>'r')::float8, (j->'standard_errors'->>'alpha')::float8,
             (j->'standard_errors'->>'a')::float8, (j->'standard_errors'->>'b')::float8] AS got
FROM p;

SELECT ok(abs(got[i] - num[i]) <= 1e-3 * num[i],
          format('BG/NBD on CDNOW: se(%s) = %s, the independent numerical Hessian gives %s',
                 (ARRAY['r', 'alpha', 'a', 'b'])[i], got[i], num[i]))
FROM se, generate_series(1, 4) i;

-- Pareto/NBD on CDNOW against the standard errors CLVTools publishes in its tests
-- (test_correctness_pnbd_nocovstaticcov.R, fitted from r=1, alpha=2, s=1, beta=2). Neither side
-- has the Hessian in closed form: CLVTools inverts the numerical Hessian its optimiser returns,
-- we central differences of the analytic gradient, each at its own optimum. The errors then
-- differ by two finite-difference truncations and two stopping points, most where the surface
-- is flat (beta's error is half its estimate): 5e-5 (r), 2e-6 (alpha), 1.1e-4 (s) and 8e-5
-- (beta) relative when this was written. 1e-3 relative, the tolerance CLVTools' own test allows
-- against these figures (testthat's tolerance = 0.001), leaves about ten times that room, while a wrong Hessian (a term
-- missing, the time rescaling not undone) moves an error by far more.
CREATE TEMP TABLE pnbd_se AS
SELECT k, (params(m)->'standard_errors'->>k)::float8 AS got, published
FROM (SELECT pareto_nbd_fit(frequency, recency, t) AS m FROM fixture.cdnow_summary) f,
     (VALUES ('r', 0.0476264::float8), ('alpha', 0.8427222), ('s', 0.1872594), ('beta', 6.2105448)) v(k, published);
SELECT ok(abs(got - published) <= 1e-3 * published,
          format('Pareto/NBD on CDNOW: se(%s) = %s, CLVTools publishes %s (1e-3 relative)', k, got, published))
FROM pnbd_se ORDER BY array_position(ARRAY['r', 'alpha', 's', 'beta'], k);

-- AIC and BIC from the log-likelihood, and the 95% intervals around the estimates
SELECT ok(abs((j->>'aic')::float8 - (8 - 2 * (j->>'log_likelihood')::float8)) < 1e-9
          AND abs((j->>'bic')::float8 - (4 * ln(2357) - 2 * (j->>'log_likelihood')::float8)) < 1e-9,
          format('AIC %s and BIC %s', j->>'aic', j->>'bic')) FROM p;
SELECT ok(bool_and((j->'confidence_intervals'->k->>0)::float8 < (j->>k)::float8
                   AND (j->>k)::float8 < (j->'confidence_intervals'->k->>1)::float8),
          'every parameter lies inside its confidence interval')
FROM p, unnest(ARRAY['r', 'alpha', 'a', 'b']) k;

-- the text form carries the errors and reads back exactly; 0.1.0's text still reads
SELECT is((SELECT m::text::bgnbd::text FROM fit), (SELECT m::text FROM fit), 'text round trip with standard errors');
SELECT ok((SELECT m::text FROM fit) LIKE '%,se_r=%,se_alpha=%,se_a=%,se_b=%)', 'the text form names se_<parameter>');
SELECT is(params('(r=0.243,alpha=4.414,a=0.793,b=2.426,log_likelihood=-9582.4,customers=2357,converged=true)'::bgnbd)->'standard_errors',
          'null'::jsonb, '0.1.0''s text of a fitted model reads, without standard errors');
SELECT throws_ok($$SELECT '(r=1,alpha=1,a=1,b=1,se_r=0.1)'::bgnbd$$, '22P02', NULL,
                 'standard errors without the fit''s fields are refused');
-- a fit on a ridge (no customer repeats) has none
SELECT is((SELECT params(bgnbd_fit(0, 0, t))->'standard_errors' FROM generate_series(1, 50) t),
          'null'::jsonb, 'a fit that did not converge has no standard errors');
-- Gamma-Gamma: standard errors for p, q and v
SELECT ok((SELECT (SELECT count(*) FROM jsonb_object_keys(params(gamma_gamma_fit(x, zbar))->'standard_errors')) = 3
           FROM fixture.cdnow_summary_tx), 'Gamma-Gamma has standard errors of p, q and v');

-- the likelihood-ratio test: chi-square tails in closed form for 2 and 4 degrees of freedom
SELECT ok(bool_and(abs((likelihood_ratio_test(-100, -100 + x / 2, 2)).p_value - exp(-x / 2)) <= 1e-12 * exp(-x / 2) + 1e-300),
          'p-values with 2 degrees of freedom are exp(-x/2), from x = 0.01 to 1400')
FROM unnest(ARRAY[0.01, 0.5, 2, 5.991464547107979, 30, 200, 1400]) x;
SELECT ok(bool_and(abs((likelihood_ratio_test(-100, -100 + x / 2, 4)).p_value - exp(-x / 2) * (1 + x / 2)) <= 1e-12 * exp(-x / 2) * (1 + x / 2)),
          'p-values with 4 degrees of freedom are exp(-x/2) (1 + x/2)')
FROM unnest(ARRAY[0.01, 0.5, 2, 9.487729036781154, 30, 200]) x;
SELECT throws_ok($$SELECT likelihood_ratio_test(-90, -100, 1)$$, '22023', NULL,
                 'a full model below the restricted one is refused');

SELECT * FROM finish();
ROLLBACK;
