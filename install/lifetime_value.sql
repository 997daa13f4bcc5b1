-- Lifetime value: rfm summaries, BG/NBD and Gamma-Gamma fits, predictions, clv.

--------------------------------------------------------------------------
-- rfm: purchase summaries
--------------------------------------------------------------------------

CREATE TYPE customer_score.rfm_summary AS (
    frequency integer,
    recency   double precision,
    t         double precision,
    monetary  double precision,
    total     double precision,
    purchases integer,
    first_at  timestamptz,
    last_at   timestamptz
);
COMMENT ON TYPE customer_score.rfm_summary IS
    'A customer''s purchase history in the buy-till-you-die conventions: frequency = repeat purchase days, recency = first to last purchase day, t = first purchase day to as_of (both in the rfm unit), monetary = mean value of the repeat purchase days (0 without any), total = all value, purchases = rows counted, first_at/last_at = first and last purchase time.';

CREATE TYPE customer_score.rfm_state;

CREATE FUNCTION customer_score.rfm_state_in(cstring) RETURNS customer_score.rfm_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.rfm_state_out(customer_score.rfm_state) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.rfm_state_recv(internal) RETURNS customer_score.rfm_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.rfm_state_send(customer_score.rfm_state) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE customer_score.rfm_state (
    INPUT = customer_score.rfm_state_in,
    OUTPUT = customer_score.rfm_state_out,
    RECEIVE = customer_score.rfm_state_recv,
    SEND = customer_score.rfm_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE customer_score.rfm_state IS
    'Partial state of the rfm aggregate (purchase days and amounts of one customer); concrete so parallel query and Citus can ship it between processes.';

-- STABLE, not IMMUTABLE: calendar days depend on the session's TimeZone.
-- The purchase rule (src/purchase_rule.h, docs/scores.md "How transactions are counted"):
-- the C symbols *_rule; 0.1.0's symbols without it stay in the library.
-- @begin rfm-support
CREATE FUNCTION customer_score.rfm_transfn(customer_score.rfm_state, timestamptz, double precision, timestamptz, interval)
    RETURNS customer_score.rfm_state
    AS 'MODULE_PATHNAME', 'rfm_transfn_rule' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION customer_score.rfm_transfn_days(customer_score.rfm_state, timestamptz, double precision, timestamptz)
    RETURNS customer_score.rfm_state
    AS 'MODULE_PATHNAME', 'rfm_transfn_days_rule' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION customer_score.rfm_combinefn(customer_score.rfm_state, customer_score.rfm_state)
    RETURNS customer_score.rfm_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION customer_score.rfm_finalfn(customer_score.rfm_state)
    RETURNS customer_score.rfm_summary
    AS 'MODULE_PATHNAME', 'rfm_finalfn_rule' LANGUAGE C IMMUTABLE PARALLEL SAFE;
-- @end rfm-support
COMMENT ON FUNCTION customer_score.rfm_transfn(customer_score.rfm_state, timestamptz, double precision, timestamptz, interval) IS 'Transition function of rfm(at, amount, as_of, unit).';
COMMENT ON FUNCTION customer_score.rfm_transfn_days(customer_score.rfm_state, timestamptz, double precision, timestamptz) IS 'Transition function of rfm(at, amount, as_of) (unit one day).';
COMMENT ON FUNCTION customer_score.rfm_combinefn(customer_score.rfm_state, customer_score.rfm_state) IS 'Combine function of rfm: merges two partial states.';
COMMENT ON FUNCTION customer_score.rfm_finalfn(customer_score.rfm_state) IS 'Final function of rfm: the rfm_summary.';
COMMENT ON FUNCTION customer_score.rfm_state_in(cstring) IS 'Text input of rfm_state.';
COMMENT ON FUNCTION customer_score.rfm_state_out(customer_score.rfm_state) IS 'Text output of rfm_state.';
COMMENT ON FUNCTION customer_score.rfm_state_recv(internal) IS 'Binary input of rfm_state.';
COMMENT ON FUNCTION customer_score.rfm_state_send(customer_score.rfm_state) IS 'Binary output of rfm_state.';

CREATE AGGREGATE customer_score.rfm(at timestamptz, amount double precision, as_of timestamptz, unit interval) (
    SFUNC = customer_score.rfm_transfn,
    STYPE = customer_score.rfm_state,
    COMBINEFUNC = customer_score.rfm_combinefn,
    FINALFUNC = customer_score.rfm_finalfn,
    PARALLEL = SAFE
);
-- @begin rfm-comment
COMMENT ON AGGREGATE customer_score.rfm(timestamptz, double precision, timestamptz, interval) IS
    'Summarise one customer''s transactions (at, amount) as observed at as_of, with recency and t in unit: purchases on one calendar day (session TimeZone) form one occasion; a day whose amounts net below 0 is a refund day, no occasion, netted against the occasion before it; a NULL amount is a purchase of value 0; rows after as_of or without a time are ignored (docs/scores.md, How transactions are counted).';
-- @end rfm-comment

CREATE AGGREGATE customer_score.rfm(at timestamptz, amount double precision, as_of timestamptz) (
    SFUNC = customer_score.rfm_transfn_days,
    STYPE = customer_score.rfm_state,
    COMBINEFUNC = customer_score.rfm_combinefn,
    FINALFUNC = customer_score.rfm_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.rfm(timestamptz, double precision, timestamptz) IS
    'rfm(at, amount, as_of) with recency and t in days.';

--------------------------------------------------------------------------
-- BG/NBD
--------------------------------------------------------------------------

CREATE TYPE customer_score.bgnbd;
CREATE FUNCTION customer_score.bgnbd_in(cstring) RETURNS customer_score.bgnbd
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.bgnbd_out(customer_score.bgnbd) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.bgnbd_recv(internal) RETURNS customer_score.bgnbd
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.bgnbd_send(customer_score.bgnbd) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE customer_score.bgnbd (
    INPUT = customer_score.bgnbd_in,
    OUTPUT = customer_score.bgnbd_out,
    RECEIVE = customer_score.bgnbd_recv,
    SEND = customer_score.bgnbd_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = plain
);
COMMENT ON TYPE customer_score.bgnbd IS
    'A BG/NBD purchase model (Fader, Hardie & Lee 2005): r, alpha (in the time unit of the data it was fitted on), a, b, and for a fitted model its log-likelihood, customer count and convergence. Text form: (r=..,alpha=..,a=..,b=..[,log_likelihood=..,customers=..,converged=true|false]).';
COMMENT ON FUNCTION customer_score.bgnbd_in(cstring) IS 'Text input of bgnbd.';
COMMENT ON FUNCTION customer_score.bgnbd_out(customer_score.bgnbd) IS 'Text output of bgnbd (round-trips exactly).';
COMMENT ON FUNCTION customer_score.bgnbd_recv(internal) IS 'Binary input of bgnbd.';
COMMENT ON FUNCTION customer_score.bgnbd_send(customer_score.bgnbd) IS 'Binary output of bgnbd.';

CREATE FUNCTION customer_score.bgnbd(r double precision, alpha double precision, a double precision, b double precision)
    RETURNS customer_score.bgnbd
    AS 'MODULE_PATHNAME', 'bgnbd_make' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.bgnbd(double precision, double precision, double precision, double precision) IS
    'A BG/NBD model from known parameters, e.g. published ones.';

CREATE FUNCTION customer_score.params(model customer_score.bgnbd) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'bgnbd_params' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.params(customer_score.bgnbd) IS
    'The model as jsonb: r, alpha, a, b, log_likelihood, customers, converged (the last three null for a model not fitted here).';

CREATE TYPE customer_score.bgnbd_state;
CREATE FUNCTION customer_score.bgnbd_state_in(cstring) RETURNS customer_score.bgnbd_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.bgnbd_state_out(customer_score.bgnbd_state) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.bgnbd_state_recv(internal) RETURNS customer_score.bgnbd_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.bgnbd_state_send(customer_score.bgnbd_state) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE customer_score.bgnbd_state (
    INPUT = customer_score.bgnbd_state_in,
    OUTPUT = customer_score.bgnbd_state_out,
    RECEIVE = customer_score.bgnbd_state_recv,
    SEND = customer_score.bgnbd_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE customer_score.bgnbd_state IS
    'Partial state of bgnbd_fit: a histogram of distinct (frequency, recency, t) histories with counts. Text form: v1 (x,recency,t):count ...';
COMMENT ON FUNCTION customer_score.bgnbd_state_in(cstring) IS 'Text input of bgnbd_state.';
COMMENT ON FUNCTION customer_score.bgnbd_state_out(customer_score.bgnbd_state) IS 'Text output of bgnbd_state.';
COMMENT ON FUNCTION customer_score.bgnbd_state_recv(internal) IS 'Binary input of bgnbd_state.';
COMMENT ON FUNCTION customer_score.bgnbd_state_send(customer_score.bgnbd_state) IS 'Binary output of bgnbd_state.';

CREATE FUNCTION customer_score.bgnbd_fit_transfn(customer_score.bgnbd_state, integer, double precision, double precision)
    RETURNS customer_score.bgnbd_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION customer_score.bgnbd_fit_combinefn(customer_score.bgnbd_state, customer_score.bgnbd_state)
    RETURNS customer_score.bgnbd_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION customer_score.bgnbd_fit_finalfn(customer_score.bgnbd_state)
    RETURNS customer_score.bgnbd
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.bgnbd_fit_transfn(customer_score.bgnbd_state, integer, double precision, double precision) IS 'Transition function of bgnbd_fit.';
COMMENT ON FUNCTION customer_score.bgnbd_fit_combinefn(customer_score.bgnbd_state, customer_score.bgnbd_state) IS 'Combine function of bgnbd_fit: merges two histograms.';
COMMENT ON FUNCTION customer_score.bgnbd_fit_finalfn(customer_score.bgnbd_state) IS 'Final function of bgnbd_fit: the maximum-likelihood fit.';

CREATE AGGREGATE customer_score.bgnbd_fit(frequency integer, recency double precision, t double precision) (
    SFUNC = customer_score.bgnbd_fit_transfn,
    STYPE = customer_score.bgnbd_state,
    COMBINEFUNC = customer_score.bgnbd_fit_combinefn,
    FINALFUNC = customer_score.bgnbd_fit_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.bgnbd_fit(integer, double precision, double precision) IS
    'Fit a BG/NBD model by maximum likelihood to customers'' (frequency, recency, t); alpha comes out in the unit of recency and t. NULL rows are skipped; an empty group gives NULL.';

CREATE FUNCTION customer_score.expected_purchases(model customer_score.bgnbd, horizon double precision,
        frequency integer, recency double precision, t double precision)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'bgnbd_expected_purchases_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.expected_purchases(customer_score.bgnbd, double precision, integer, double precision, double precision) IS
    'Expected purchases in the next horizon time units of a customer with this (frequency, recency, t) history (FHL 2005 eq. 10).';

CREATE FUNCTION customer_score.expected_purchases(model customer_score.bgnbd, horizon double precision)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'bgnbd_expected_purchases_new' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.expected_purchases(customer_score.bgnbd, double precision) IS
    'Expected repeat purchases in the first horizon time units of a newly acquired customer (FHL 2005 eq. 9).';

CREATE FUNCTION customer_score.p_alive(model customer_score.bgnbd, frequency integer, recency double precision, t double precision)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'bgnbd_p_alive_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.p_alive(customer_score.bgnbd, integer, double precision, double precision) IS
    'Probability that a customer with this (frequency, recency, t) history is still active.';

--------------------------------------------------------------------------
-- Gamma-Gamma
--------------------------------------------------------------------------

CREATE TYPE customer_score.gamma_gamma;
CREATE FUNCTION customer_score.gamma_gamma_in(cstring) RETURNS customer_score.gamma_gamma
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.gamma_gamma_out(customer_score.gamma_gamma) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.gamma_gamma_recv(internal) RETURNS customer_score.gamma_gamma
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.gamma_gamma_send(customer_score.gamma_gamma) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE customer_score.gamma_gamma (
    INPUT = customer_score.gamma_gamma_in,
    OUTPUT = customer_score.gamma_gamma_out,
    RECEIVE = customer_score.gamma_gamma_recv,
    SEND = customer_score.gamma_gamma_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = plain
);
COMMENT ON TYPE customer_score.gamma_gamma IS
    'A Gamma-Gamma spend model (Fader, Hardie & Lee 2005b): p, q, v (in the currency of the data), and for a fitted model its log-likelihood, customer count and convergence. Text form: (p=..,q=..,v=..[,log_likelihood=..,customers=..,converged=true|false]).';
COMMENT ON FUNCTION customer_score.gamma_gamma_in(cstring) IS 'Text input of gamma_gamma.';
COMMENT ON FUNCTION customer_score.gamma_gamma_out(customer_score.gamma_gamma) IS 'Text output of gamma_gamma (round-trips exactly).';
COMMENT ON FUNCTION customer_score.gamma_gamma_recv(internal) IS 'Binary input of gamma_gamma.';
COMMENT ON FUNCTION customer_score.gamma_gamma_send(customer_score.gamma_gamma) IS 'Binary output of gamma_gamma.';

CREATE FUNCTION customer_score.gamma_gamma(p double precision, q double precision, v double precision)
    RETURNS customer_score.gamma_gamma
    AS 'MODULE_PATHNAME', 'gamma_gamma_make' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.gamma_gamma(double precision, double precision, double precision) IS
    'A Gamma-Gamma model from known parameters, e.g. published ones.';

CREATE FUNCTION customer_score.params(model customer_score.gamma_gamma) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'gamma_gamma_params' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.params(customer_score.gamma_gamma) IS
    'The model as jsonb: p, q, v, log_likelihood, customers, converged (the last three null for a model not fitted here).';

CREATE TYPE customer_score.gamma_gamma_state;
CREATE FUNCTION customer_score.gamma_gamma_state_in(cstring) RETURNS customer_score.gamma_gamma_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.gamma_gamma_state_out(customer_score.gamma_gamma_state) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.gamma_gamma_state_recv(internal) RETURNS customer_score.gamma_gamma_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.gamma_gamma_state_send(customer_score.gamma_gamma_state) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE customer_score.gamma_gamma_state (
    INPUT = customer_score.gamma_gamma_state_in,
    OUTPUT = customer_score.gamma_gamma_state_out,
    RECEIVE = customer_score.gamma_gamma_state_recv,
    SEND = customer_score.gamma_gamma_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE customer_score.gamma_gamma_state IS
    'Partial state of gamma_gamma_fit: a histogram of distinct (frequency, monetary) histories with counts. Text form: v1 (x,monetary):count ...';
COMMENT ON FUNCTION customer_score.gamma_gamma_state_in(cstring) IS 'Text input of gamma_gamma_state.';
COMMENT ON FUNCTION customer_score.gamma_gamma_state_out(customer_score.gamma_gamma_state) IS 'Text output of gamma_gamma_state.';
COMMENT ON FUNCTION customer_score.gamma_gamma_state_recv(internal) IS 'Binary input of gamma_gamma_state.';
COMMENT ON FUNCTION customer_score.gamma_gamma_state_send(customer_score.gamma_gamma_state) IS 'Binary output of gamma_gamma_state.';

CREATE FUNCTION customer_score.gamma_gamma_fit_transfn(customer_score.gamma_gamma_state, integer, double precision)
    RETURNS customer_score.gamma_gamma_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION customer_score.gamma_gamma_fit_combinefn(customer_score.gamma_gamma_state, customer_score.gamma_gamma_state)
    RETURNS customer_score.gamma_gamma_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION customer_score.gamma_gamma_fit_finalfn(customer_score.gamma_gamma_state)
    RETURNS customer_score.gamma_gamma
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.gamma_gamma_fit_transfn(customer_score.gamma_gamma_state, integer, double precision) IS 'Transition function of gamma_gamma_fit.';
COMMENT ON FUNCTION customer_score.gamma_gamma_fit_combinefn(customer_score.gamma_gamma_state, customer_score.gamma_gamma_state) IS 'Combine function of gamma_gamma_fit: merges two histograms.';
COMMENT ON FUNCTION customer_score.gamma_gamma_fit_finalfn(customer_score.gamma_gamma_state) IS 'Final function of gamma_gamma_fit: the maximum-likelihood fit.';

CREATE AGGREGATE customer_score.gamma_gamma_fit(frequency integer, monetary double precision) (
    SFUNC = customer_score.gamma_gamma_fit_transfn,
    STYPE = customer_score.gamma_gamma_state,
    COMBINEFUNC = customer_score.gamma_gamma_fit_combinefn,
    FINALFUNC = customer_score.gamma_gamma_fit_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.gamma_gamma_fit(integer, double precision) IS
    'Fit a Gamma-Gamma spend model by maximum likelihood to customers'' (frequency, monetary = mean repeat-purchase value); customers with frequency 0 do not enter the fit. NULL rows are skipped; an empty fit gives NULL.';

CREATE FUNCTION customer_score.expected_spend(model customer_score.gamma_gamma, frequency integer, monetary double precision)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'gamma_gamma_expected_spend_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.expected_spend(customer_score.gamma_gamma, integer, double precision) IS
    'Expected value of a customer''s future purchases given frequency and monetary (mean repeat-purchase value); with frequency 0 the population mean.';

--------------------------------------------------------------------------
-- CLV
--------------------------------------------------------------------------

CREATE FUNCTION customer_score.clv(purchases customer_score.bgnbd, spend customer_score.gamma_gamma,
        frequency integer, recency double precision, t double precision, monetary double precision,
        horizon double precision, discount_rate double precision DEFAULT 0, step double precision DEFAULT 1)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'clv_bgnbd_gamma_gamma' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.clv(customer_score.bgnbd, customer_score.gamma_gamma, integer, double precision, double precision, double precision, double precision, double precision, double precision) IS
    'Predicted customer lifetime value over horizon (in the model''s time unit): the sum over steps of the purchases expected in each step times the expected spend, discounted by (1 + discount_rate) per step.';

-- What refresh and live_scores show as predicted CLV (the purchase rule's conventions).
-- @begin predicted-clv
CREATE FUNCTION customer_score.predicted_clv(purchases customer_score.bgnbd, spend customer_score.gamma_gamma,
        frequency integer, recency double precision, t double precision, monetary double precision,
        horizon double precision, discount_rate double precision, step double precision)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'predicted_clv' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.predicted_clv(customer_score.bgnbd, customer_score.gamma_gamma, integer, double precision, double precision, double precision, double precision, double precision, double precision) IS
    'clv as refresh and live_scores use it: NULL when an argument or model is NULL or the spend model gives no finite expected spend for the customer (p * frequency + q <= 1); 0 for a repeat customer whose repeat purchases net to nothing (monetary 0: everything refunded, or data without spend); otherwise clv(...).';
-- @end predicted-clv

--------------------------------------------------------------------------
-- Stored states: aggregate per partition or shard, store the state, merge
-- and finish later (rollups).  The result equals one pass over all rows.
--------------------------------------------------------------------------

CREATE AGGREGATE customer_score.rfm_partial(at timestamptz, amount double precision, as_of timestamptz, unit interval) (
    SFUNC = customer_score.rfm_transfn,
    STYPE = customer_score.rfm_state,
    COMBINEFUNC = customer_score.rfm_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.rfm_partial(timestamptz, double precision, timestamptz, interval) IS
    'The rfm state of a group of transactions, to store and merge later with rfm_merge; rfm(state) finishes it.';
CREATE AGGREGATE customer_score.rfm_partial(at timestamptz, amount double precision, as_of timestamptz) (
    SFUNC = customer_score.rfm_transfn_days,
    STYPE = customer_score.rfm_state,
    COMBINEFUNC = customer_score.rfm_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.rfm_partial(timestamptz, double precision, timestamptz) IS
    'rfm_partial(at, amount, as_of) with recency and t in days.';
CREATE AGGREGATE customer_score.rfm_merge(state customer_score.rfm_state) (
    SFUNC = customer_score.rfm_combinefn,
    STYPE = customer_score.rfm_state,
    COMBINEFUNC = customer_score.rfm_combinefn,
    PARALLEL = SAFE
);
-- @begin rfm-merge-comment
COMMENT ON AGGREGATE customer_score.rfm_merge(customer_score.rfm_state) IS
    'Merge stored rfm states of one customer (e.g. one per partition); all must share as_of, unit and time zone.';
-- @end rfm-merge-comment
-- @begin rfm-zone
-- The calendar as an argument: the days are counted in time_zone whatever the session's (or a
-- Citus worker's) TimeZone, and the state records the zone so that states of different calendars
-- do not merge.
CREATE FUNCTION customer_score.rfm_transfn(customer_score.rfm_state, timestamptz, double precision, timestamptz, interval, text)
    RETURNS customer_score.rfm_state
    AS 'MODULE_PATHNAME', 'rfm_transfn_zone' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.rfm_transfn(customer_score.rfm_state, timestamptz, double precision, timestamptz, interval, text) IS 'Transition function of rfm(at, amount, as_of, unit, time_zone).';
CREATE AGGREGATE customer_score.rfm(at timestamptz, amount double precision, as_of timestamptz, unit interval, time_zone text) (
    SFUNC = customer_score.rfm_transfn,
    STYPE = customer_score.rfm_state,
    COMBINEFUNC = customer_score.rfm_combinefn,
    FINALFUNC = customer_score.rfm_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.rfm(timestamptz, double precision, timestamptz, interval, text) IS
    'rfm(at, amount, as_of, unit) with the purchase days counted on the calendar of time_zone (a name SET TimeZone accepts) instead of the session TimeZone: the same summaries on every node whatever its TimeZone.';
CREATE AGGREGATE customer_score.rfm_partial(at timestamptz, amount double precision, as_of timestamptz, unit interval, time_zone text) (
    SFUNC = customer_score.rfm_transfn,
    STYPE = customer_score.rfm_state,
    COMBINEFUNC = customer_score.rfm_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.rfm_partial(timestamptz, double precision, timestamptz, interval, text) IS
    'rfm_partial(at, amount, as_of, unit) on the calendar of time_zone; the state records the zone, and rfm_merge refuses states of different zones.';
-- @end rfm-zone
-- @begin rfm-of-state
CREATE FUNCTION customer_score.rfm(state customer_score.rfm_state) RETURNS customer_score.rfm_summary
    AS 'MODULE_PATHNAME', 'rfm_finalfn_rule' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- @end rfm-of-state
COMMENT ON FUNCTION customer_score.rfm(customer_score.rfm_state) IS
    'The rfm_summary of a stored rfm state.';

CREATE AGGREGATE customer_score.bgnbd_partial(frequency integer, recency double precision, t double precision) (
    SFUNC = customer_score.bgnbd_fit_transfn,
    STYPE = customer_score.bgnbd_state,
    COMBINEFUNC = customer_score.bgnbd_fit_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.bgnbd_partial(integer, double precision, double precision) IS
    'The bgnbd_fit state (a histogram of histories) of a group of customers, to store and merge later with bgnbd_merge; bgnbd_fit(state) fits it.';
CREATE AGGREGATE customer_score.bgnbd_merge(state customer_score.bgnbd_state) (
    SFUNC = customer_score.bgnbd_fit_combinefn,
    STYPE = customer_score.bgnbd_state,
    COMBINEFUNC = customer_score.bgnbd_fit_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.bgnbd_merge(customer_score.bgnbd_state) IS
    'Merge stored bgnbd_fit states (e.g. one per partition or shard).';
CREATE FUNCTION customer_score.bgnbd_fit(state customer_score.bgnbd_state) RETURNS customer_score.bgnbd
    AS 'MODULE_PATHNAME', 'bgnbd_fit_finalfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.bgnbd_fit(customer_score.bgnbd_state) IS
    'Fit a BG/NBD model to a stored state: the same model as bgnbd_fit over the rows it came from.';

CREATE AGGREGATE customer_score.gamma_gamma_partial(frequency integer, monetary double precision) (
    SFUNC = customer_score.gamma_gamma_fit_transfn,
    STYPE = customer_score.gamma_gamma_state,
    COMBINEFUNC = customer_score.gamma_gamma_fit_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.gamma_gamma_partial(integer, double precision) IS
    'The gamma_gamma_fit state of a group of customers, to store and merge later with gamma_gamma_merge; gamma_gamma_fit(state) fits it.';
CREATE AGGREGATE customer_score.gamma_gamma_merge(state customer_score.gamma_gamma_state) (
    SFUNC = customer_score.gamma_gamma_fit_combinefn,
    STYPE = customer_score.gamma_gamma_state,
    COMBINEFUNC = customer_score.gamma_gamma_fit_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.gamma_gamma_merge(customer_score.gamma_gamma_state) IS
    'Merge stored gamma_gamma_fit states.';
CREATE FUNCTION customer_score.gamma_gamma_fit(state customer_score.gamma_gamma_state) RETURNS customer_score.gamma_gamma
    AS 'MODULE_PATHNAME', 'gamma_gamma_fit_finalfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.gamma_gamma_fit(customer_score.gamma_gamma_state) IS
    'Fit a Gamma-Gamma model to a stored state: the same model as gamma_gamma_fit over the rows it came from.';
