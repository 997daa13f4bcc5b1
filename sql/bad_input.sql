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

-- found by fuzzing the types' input (test/shell/fuzz.sh): counts and timestamps near the ends
-- of their ranges are clear errors, never a count, a day or a time that wraps around
SELECT 'v1 (0,0,1):9223372036854775807 (0,0,1):2'::bgnbd_state;
SELECT 'v1 (1,3):9223372036854775807 (1,3):9223372036854775807'::gamma_gamma_state;
SELECT bgnbd_merge(s) FROM (VALUES ('v1 (0,0,1):9223372036854775807'::bgnbd_state), ('v1 (0,0,1):1')) v(s);
SELECT bgnbd_fit('v1 (1,1,2):9223372036854775807 (2,1,2):9223372036854775807'::bgnbd_state);
-- a model counts at most 2^53 customers, which its text form reads back exactly
SELECT gamma_gamma_fit('v1 (1,3):9007199254740992 (2,5):1'::gamma_gamma_state);
SELECT '(p=1,q=2,v=3,log_likelihood=-1,customers=9007199254740992,converged=true)'::gamma_gamma;
SELECT '(p=1,q=2,v=3,log_likelihood=-1,customers=9007199254740994,converged=true)'::gamma_gamma;
-- t over the whole timestamp range
SELECT (rfm(at, 1, '294276-12-31', '1 day')).t FROM (VALUES ('4713-01-01 BC'::timestamptz)) v(at);
-- an rfm_state is only what the aggregate could have built
SELECT 'v1 as_of=0 as_of_local=0 unit=86400 first_at=0 last_at=0 rows=2 days=-2147483648:1,2147483647:1'::rfm_state;
SELECT 'v1 as_of=9223372036854775807 as_of_local=-9223372036854775808 unit=86400 first_at=0 last_at=0 rows=1 days=0:1'::rfm_state;
SELECT 'v1 as_of=0 as_of_local=0 unit=5e-324 first_at=0 last_at=0 rows=1 days=0:1'::rfm_state;
SELECT 'v1 as_of=0 as_of_local=0 unit=86400 first_at=-9223372036854775808 last_at=0 rows=1 days=0:1'::rfm_state;
SELECT rfm('v1 as_of=0 as_of_local=3600000000 unit=1e-6 first_at=-211813488000000000 last_at=0 rows=2 days=-2451545:1,0:2'::rfm_state);
