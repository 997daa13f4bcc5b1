-- Bad input: a defined result or a clear error naming the value
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
RESET client_min_messages;
SET search_path = customer_score, public;
SET timezone = 'UTC';

-- fits
SELECT bgnbd_fit(-1, 0, 10);
SELECT bgnbd_fit(1, -2, 10);
SELECT bgnbd_fit(1, 12, 10);
SELECT bgnbd_fit(1, 'NaN', 10);
SELECT bgnbd_fit(1, 2, 'Infinity');
SELECT gamma_gamma_fit(-1, 10);
SELECT gamma_gamma_fit(2, -10);
SELECT gamma_gamma_fit(2, 0);
SELECT gamma_gamma_fit(2, 'NaN');
SELECT gamma_gamma_fit(0, 'Infinity');

-- NULL rows are skipped; an empty group or only frequency-0 spend gives NULL
SELECT bgnbd_fit(f, r, t) IS NULL AS all_null FROM (VALUES (NULL::int, 1.0::float8, 2.0::float8), (1, NULL, 2)) v(f, r, t);
SELECT bgnbd_fit(f, r, t) IS NULL AS empty FROM (VALUES (1, 1.0::float8, 2.0::float8)) v(f, r, t) WHERE false;
SELECT gamma_gamma_fit(f, m) IS NULL AS no_repeaters FROM (VALUES (0, 0.0::float8), (0, 0.0)) v(f, m);

-- degenerate data gives a finite model flagged as not converged, never NaN
SELECT params(bgnbd_fit(0, 0, t))->'converged' AS all_zero_converged,
       params(bgnbd_fit(0, 0, t))::text ~* 'nan|infinity' AS has_nan
FROM generate_series(1, 50) t;
SELECT params(bgnbd_fit(3, 10, 20))->'converged' AS one_customer_converged,
       params(bgnbd_fit(3, 10, 20))::text ~* 'nan|infinity' AS has_nan;
SELECT params(bgnbd_fit(0, 0, 0))->'converged' AS t_zero_converged;
SELECT params(gamma_gamma_fit(2, 10))->'converged' AS one_spender_converged;

-- predictions
SELECT expected_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), -1);
SELECT expected_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), 'NaN');
SELECT expected_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), 10, -1, 0, 5);
SELECT expected_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), 10, 2, 6, 5);
SELECT p_alive(bgnbd(0.243, 4.414, 0.793, 2.426), 2, 1, '-Infinity');
SELECT expected_spend(gamma_gamma(6.25, 3.74, 15.44), 2, -5);
SELECT expected_spend(gamma_gamma(6.25, 0.5, 15.44), 0, 0);
SELECT clv(bgnbd(0.243, 4.414, 0.793, 2.426), gamma_gamma(6.25, 3.74, 15.44), 2, 30, 38, 20, 52, -1);
SELECT clv(bgnbd(0.243, 4.414, 0.793, 2.426), gamma_gamma(6.25, 3.74, 15.44), 2, 30, 38, 20, 52, 0, 0);
SELECT clv(bgnbd(0.243, 4.414, 0.793, 2.426), gamma_gamma(6.25, 3.74, 15.44), 2, 30, 38, 20, 1e9, 0, 1);
SELECT bgnbd(0, 1, 1, 1);
SELECT gamma_gamma(1, 'Infinity', 1);

-- rfm
SELECT rfm(at, 1, '2024-01-31', '0 days') FROM (VALUES ('2024-01-01'::timestamptz)) v(at);
SELECT rfm(at, 1, '2024-01-31', '-7 days') FROM (VALUES ('2024-01-01'::timestamptz)) v(at);
SELECT rfm(at, 'NaN', '2024-01-31') FROM (VALUES ('2024-01-01'::timestamptz)) v(at);
SELECT rfm(at, 1, 'infinity') FROM (VALUES ('2024-01-01'::timestamptz)) v(at);
SELECT rfm(at, 1, '2024-01-31') FROM (VALUES ('-infinity'::timestamptz)) v(at);
SELECT rfm(at, 1, as_of) FROM (VALUES ('2024-01-01'::timestamptz, '2024-01-31'::timestamptz), ('2024-01-02', '2024-02-28')) v(at, as_of);
-- future rows are ignored; a customer seen only in the future has no summary
SELECT rfm(at, 1, '2024-01-31') IS NULL AS only_future FROM (VALUES ('2024-06-01'::timestamptz)) v(at);

-- support functions cannot be called outside an aggregate
SELECT bgnbd_fit_transfn(NULL, 1, 1, 2);

-- results that would overflow double precision are errors, never Infinity or NaN
SELECT expected_spend(gamma_gamma(6, 3, 15), 2000000000, 1e308);
SELECT (rfm(at, 1e308, '2025-01-01')).total FROM (VALUES ('2024-01-01'::timestamptz), ('2024-01-02')) v(at);
SELECT gamma_gamma_fit(x, m) FROM (VALUES (1, 1e-300::float8), (2, 1e300)) v(x, m);
SELECT expected_spend(gamma_gamma(6, 3, 15), 1, 1e308) > 0 AS spend_finite;
SELECT clv(bgnbd(0.243, 4.414, 0.793, 2.426), gamma_gamma(6, 3, 15), 1, 1, 2, 1e308, 520);
-- extreme but representable parameters still give finite predictions
SELECT expected_purchases(bgnbd(1e-300, 1e300, 1e-300, 1e300), 10, 5, 1, 2) < 1e-290 AS tiny,
       p_alive(bgnbd(1e300, 1e-300, 1e300, 1e-300), 5, 1, 2) AS p_alive_zero,
       expected_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), 1e308) > 0 AS huge_horizon;
