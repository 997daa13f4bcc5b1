-- Text and binary I/O of the model and state types
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
RESET client_min_messages;
SET search_path = customer_score, public;
SET timezone = 'UTC';

-- a hand-written model prints without the fit's fields; params shows them as null
SELECT '(r=0.243, alpha=4.414, a=0.793, b=2.426)'::bgnbd AS model,
       params('(b=2.426,a=0.793,alpha=4.414,r=0.243)'::bgnbd) AS params;
SELECT '(p=6.25,q=3.74,v=15.44,log_likelihood=-4055.9,customers=946,converged=false)'::gamma_gamma AS model,
       params('(p=6.25,q=3.74,v=15.44,log_likelihood=-4055.9,customers=946,converged=false)'::gamma_gamma) AS params;

-- fitted models round-trip exactly through text (every float printed in full)
CREATE TEMP TABLE fitted AS
SELECT bgnbd_fit(x, t_x, t) AS bg, gamma_gamma_fit(x, zbar) AS gg FROM fixture.cdnow_summary_tx;
SELECT bg::text::bgnbd::text = bg::text AS bgnbd_text_round_trip,
       gg::text::gamma_gamma::text = gg::text AS gamma_gamma_text_round_trip,
       params(bg::text::bgnbd) = params(bg) AS bgnbd_params_equal,
       (params(bg)->>'r')::float8 = (params(bg::text::bgnbd)->>'r')::float8 AS r_bit_equal
FROM fitted;

-- and through binary COPY (send/receive)
CREATE TEMP TABLE stored (bg bgnbd, gg gamma_gamma, bs bgnbd_state, gs gamma_gamma_state, rs rfm_state);
INSERT INTO stored
SELECT bg, gg, 'v1 (2,30.43,38.86):1 (0,0,38.86):2', 'v1 (2,22.35):3',
       'v1 as_of=-71107200000000 as_of_local=-71107200000000 unit=604800 first_at=-94608000000000 last_at=-91929600000000 rows=3 days=-1095:29.33,-1078:29.73,-1064:14.96'
FROM fitted;
COPY stored TO '/tmp/customer_score_model_io.bin' (FORMAT binary);
CREATE TEMP TABLE restored (LIKE stored);
COPY restored FROM '/tmp/customer_score_model_io.bin' (FORMAT binary);
SELECT s.bg::text = r.bg::text AS bgnbd_binary, s.gg::text = r.gg::text AS gamma_gamma_binary,
       s.bs::text = r.bs::text AS bgnbd_state_binary, s.gs::text = r.gs::text AS gamma_gamma_state_binary,
       s.rs::text = r.rs::text AS rfm_state_binary
FROM stored s, restored r;
SELECT bs, gs, rs FROM restored;

-- the constructors check their parameters
SELECT bgnbd(0.243, 4.414, 0.793, 2.426), gamma_gamma(6.25, 3.74, 15.44);

-- malformed text gets a clear error
SELECT '(r=0.243, alpha=4.414, a=0.793)'::bgnbd;
SELECT '(r=0.243, alpha=4.414, a=0.793, b=2.426, c=1)'::bgnbd;
SELECT '(r=0.243, r=0.3, alpha=4.414, a=0.793, b=2.426)'::bgnbd;
SELECT '(r=-1, alpha=4.414, a=0.793, b=2.426)'::bgnbd;
SELECT '(r=NaN, alpha=4.414, a=0.793, b=2.426)'::bgnbd;
SELECT '(r=0.243, alpha=4.414, a=0.793, b=2.426'::bgnbd;
SELECT '(r=0.243, alpha=4.414, a=0.793, b=2.426) x'::bgnbd;
SELECT '(r=1e999, alpha=4.414, a=0.793, b=2.426)'::bgnbd;
SELECT '(p=6.25,q=3.74,v=15.44,log_likelihood=-4055.9)'::gamma_gamma;
SELECT '(p=6.25,q=3.74,v=15.44,log_likelihood=-4055.9,customers=1.5,converged=true)'::gamma_gamma;
SELECT '(p=6.25,q=3.74,v=15.44,log_likelihood=-4055.9,customers=9,converged=maybe)'::gamma_gamma;
SELECT ''::gamma_gamma;
SELECT 'v2 (1,2,3):1'::bgnbd_state;
-- the v2 text: keys on a grid (here weeks of days), empty for the previous value, off-grid
-- values after "=", counts after "*"; every form reads back to the same state and text
SELECT 'v9 (1,2,3):1'::bgnbd_state;
SELECT 'v2 grid=1,7,7 0,0,273*4 2,14,273 ,21, ,,280*2 3,=10.25,=40.5'::bgnbd_state;
SELECT s::text = s::text::bgnbd_state::text AS same_text,
       bgnbd_state_send(s) = bgnbd_state_send(s::text::bgnbd_state) AS same_state,
       bgnbd_state_send(s) = bgnbd_state_send(replace(s::text, 'v2 grid=1,7,7', 'v2 grid=1,1,1')::bgnbd_state) AS other_grid_differs
  FROM (SELECT 'v2 grid=1,7,7 0,0,273*4 2,14,273 ,21, ,,280*2 3,=10.25,=40.5'::bgnbd_state AS s) s;
SELECT bgnbd_state_send('v1 (0,0,39):4 (2,2,39):1 (2,3,39):1 (2,3,40):2 (3,10.25,40.5):1 (1,0.1,0.30000000000000004):1'::bgnbd_state)
     = bgnbd_state_send('v1 (0,0,39):4 (2,2,39):1 (2,3,39):1 (2,3,40):2 (3,10.25,40.5):1 (1,0.1,0.30000000000000004):1'::bgnbd_state::text::bgnbd_state) AS v1_reads_as_v2;
SELECT 'v1 (1,0.1,0.30000000000000004):1 (1,5e-324,1e-300):9223372036854775807 (0,0,1.7976931348623157e+308):1'::bgnbd_state;
SELECT s::text = s::text::bgnbd_state::text AND bgnbd_state_send(s) = bgnbd_state_send(s::text::bgnbd_state) AS extremes_round_trip
  FROM (SELECT 'v1 (1,0.1,0.30000000000000004):1 (1,5e-324,1e-300):9223372036854775807 (0,0,1.7976931348623157e+308):1'::bgnbd_state AS s) s;
SELECT 'v2 grid=1,100 2,2235*3 ,=22.351 5,1999'::gamma_gamma_state;
SELECT 'v2 grid=1,7,7'::bgnbd_state;
SELECT 'v2 grid=1,7,7 ,0,273'::bgnbd_state;
SELECT 'v2 grid=1,0,7 0,0,273'::bgnbd_state;
SELECT 'v2 grid=1,7 0,0,273'::bgnbd_state;
SELECT 'v2 grid=1,7,7 0,0,273*0'::bgnbd_state;
SELECT 'v2 grid=1,7,7 0,0,273*9223372036854775808'::bgnbd_state;
SELECT 'v2 grid=1,7,7 0,0,273,4'::bgnbd_state;
SELECT 'v2 grid=1,7,7 0,0,9007199254740992'::bgnbd_state;
SELECT 'v2 grid=1,7,7 0,0,=NaN'::bgnbd_state;
SELECT 'v2 grid=1,7,7 2,300,273'::bgnbd_state;
-- -0 is off every grid: it comes back as -0, not 0
SELECT s, s::text::bgnbd_state::text = s::text AND bgnbd_state_send(s::text::bgnbd_state) = bgnbd_state_send(s) AS round_trip
  FROM (SELECT 'v1 (0,-0,1):1 (0,0,1):2 (-0,0,2):1'::bgnbd_state AS s) s;
SELECT 'v1 (1,2):1'::bgnbd_state;
SELECT 'v1 (1,5,3):1'::bgnbd_state;
SELECT 'v1 (1,2,3):0'::bgnbd_state;
SELECT 'v1 (-1,2,3):1'::bgnbd_state;
SELECT 'v1 (1.5,2,3):1'::bgnbd_state;
SELECT 'v1 (0,10):1'::gamma_gamma_state;
SELECT 'v1 (1,-10):1'::gamma_gamma_state;
SELECT 'v1 as_of=0 as_of_local=0 unit=0 first_at=0 last_at=0 rows=1 days=0:1'::rfm_state;
SELECT 'v1 as_of=0 as_of_local=0 unit=86400 first_at=0 last_at=0 rows=1 days=0:NaN'::rfm_state;
SELECT 'v1 as_of=0'::rfm_state;
