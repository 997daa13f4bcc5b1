-- Validation: calibration/holdout summaries, the conditional-expectation (holdout) table,
-- tracking, the period-transactions histogram and bootstrap prediction intervals.

-- @begin validation
--------------------------------------------------------------------------
-- rfm_holdout: calibration and holdout in one pass
--------------------------------------------------------------------------

CREATE TYPE customer_score.rfm_holdout_summary AS (
    frequency         integer,
    recency           double precision,
    t                 double precision,
    monetary          double precision,
    total             double precision,
    purchases         integer,
    first_at          timestamptz,
    last_at           timestamptz,
    holdout_frequency integer,
    holdout_spend     double precision,
    holdout_t         double precision
);
COMMENT ON TYPE customer_score.rfm_holdout_summary IS
    'What rfm_holdout returns: rfm_summary''s fields for the calibration period (as rfm gives them at calibration_end), then holdout_frequency = purchase days in (calibration_end, holdout_end] that are not already a calibration purchase day, holdout_spend = the value of the holdout rows, holdout_t = the holdout''s length in the unit.';

CREATE TYPE customer_score.rfm_holdout_state;

CREATE FUNCTION customer_score.rfm_holdout_state_in(cstring) RETURNS customer_score.rfm_holdout_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.rfm_holdout_state_out(customer_score.rfm_holdout_state) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.rfm_holdout_state_recv(internal) RETURNS customer_score.rfm_holdout_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.rfm_holdout_state_send(customer_score.rfm_holdout_state) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE customer_score.rfm_holdout_state (
    INPUT = customer_score.rfm_holdout_state_in,
    OUTPUT = customer_score.rfm_holdout_state_out,
    RECEIVE = customer_score.rfm_holdout_state_recv,
    SEND = customer_score.rfm_holdout_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE customer_score.rfm_holdout_state IS
    'Partial state of the rfm_holdout aggregate (one customer''s calibration and holdout purchase days and amounts); concrete so parallel query and Citus can ship it between processes.';
COMMENT ON FUNCTION customer_score.rfm_holdout_state_in(cstring) IS 'Text input of rfm_holdout_state.';
COMMENT ON FUNCTION customer_score.rfm_holdout_state_out(customer_score.rfm_holdout_state) IS 'Text output of rfm_holdout_state.';
COMMENT ON FUNCTION customer_score.rfm_holdout_state_recv(internal) IS 'Binary input of rfm_holdout_state.';
COMMENT ON FUNCTION customer_score.rfm_holdout_state_send(customer_score.rfm_holdout_state) IS 'Binary output of rfm_holdout_state.';

-- STABLE, not IMMUTABLE: without a time_zone argument calendar days depend on the session's
-- TimeZone, as in rfm.
CREATE FUNCTION customer_score.rfm_holdout_transfn(customer_score.rfm_holdout_state, timestamptz, double precision,
        timestamptz, timestamptz, interval)
    RETURNS customer_score.rfm_holdout_state
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION customer_score.rfm_holdout_transfn_days(customer_score.rfm_holdout_state, timestamptz, double precision,
        timestamptz, timestamptz)
    RETURNS customer_score.rfm_holdout_state
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION customer_score.rfm_holdout_combinefn(customer_score.rfm_holdout_state, customer_score.rfm_holdout_state)
    RETURNS customer_score.rfm_holdout_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION customer_score.rfm_holdout_finalfn(customer_score.rfm_holdout_state)
    RETURNS customer_score.rfm_holdout_summary
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.rfm_holdout_transfn(customer_score.rfm_holdout_state, timestamptz, double precision, timestamptz, timestamptz, interval) IS 'Transition function of rfm_holdout(at, amount, calibration_end, holdout_end, unit).';
COMMENT ON FUNCTION customer_score.rfm_holdout_transfn_days(customer_score.rfm_holdout_state, timestamptz, double precision, timestamptz, timestamptz) IS 'Transition function of rfm_holdout(at, amount, calibration_end, holdout_end) (unit one day).';
COMMENT ON FUNCTION customer_score.rfm_holdout_combinefn(customer_score.rfm_holdout_state, customer_score.rfm_holdout_state) IS 'Combine function of rfm_holdout: merges two partial states.';
COMMENT ON FUNCTION customer_score.rfm_holdout_finalfn(customer_score.rfm_holdout_state) IS 'Final function of rfm_holdout: the rfm_holdout_summary.';

CREATE AGGREGATE customer_score.rfm_holdout(at timestamptz, amount double precision,
        calibration_end timestamptz, holdout_end timestamptz, unit interval) (
    SFUNC = customer_score.rfm_holdout_transfn,
    STYPE = customer_score.rfm_holdout_state,
    COMBINEFUNC = customer_score.rfm_holdout_combinefn,
    FINALFUNC = customer_score.rfm_holdout_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.rfm_holdout(timestamptz, double precision, timestamptz, timestamptz, interval) IS
    'One customer''s calibration summary (rfm at calibration_end, in unit) and holdout (calibration_end, holdout_end]: purchase days, spend and length, by rfm''s same-day rule and time zone. NULL without a purchase by calibration_end.';

CREATE AGGREGATE customer_score.rfm_holdout(at timestamptz, amount double precision,
        calibration_end timestamptz, holdout_end timestamptz) (
    SFUNC = customer_score.rfm_holdout_transfn_days,
    STYPE = customer_score.rfm_holdout_state,
    COMBINEFUNC = customer_score.rfm_holdout_combinefn,
    FINALFUNC = customer_score.rfm_holdout_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.rfm_holdout(timestamptz, double precision, timestamptz, timestamptz) IS
    'rfm_holdout(at, amount, calibration_end, holdout_end) with recency, t and holdout_t in days.';

-- Stored states: one per partition or shard, merged and finished later, as for rfm.
CREATE AGGREGATE customer_score.rfm_holdout_partial(at timestamptz, amount double precision,
        calibration_end timestamptz, holdout_end timestamptz, unit interval) (
    SFUNC = customer_score.rfm_holdout_transfn,
    STYPE = customer_score.rfm_holdout_state,
    COMBINEFUNC = customer_score.rfm_holdout_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.rfm_holdout_partial(timestamptz, double precision, timestamptz, timestamptz, interval) IS
    'The rfm_holdout state of a group of transactions, to store and merge later with rfm_holdout_merge; rfm_holdout(state) finishes it.';
CREATE AGGREGATE customer_score.rfm_holdout_partial(at timestamptz, amount double precision,
        calibration_end timestamptz, holdout_end timestamptz) (
    SFUNC = customer_score.rfm_holdout_transfn_days,
    STYPE = customer_score.rfm_holdout_state,
    COMBINEFUNC = customer_score.rfm_holdout_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.rfm_holdout_partial(timestamptz, double precision, timestamptz, timestamptz) IS
    'rfm_holdout_partial(at, amount, calibration_end, holdout_end) with recency, t and holdout_t in days.';
CREATE AGGREGATE customer_score.rfm_holdout_merge(state customer_score.rfm_holdout_state) (
    SFUNC = customer_score.rfm_holdout_combinefn,
    STYPE = customer_score.rfm_holdout_state,
    COMBINEFUNC = customer_score.rfm_holdout_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.rfm_holdout_merge(customer_score.rfm_holdout_state) IS
    'Merge stored rfm_holdout states of one customer (e.g. one per partition); all must share both ends, the unit and the time zone.';
CREATE FUNCTION customer_score.rfm_holdout(state customer_score.rfm_holdout_state) RETURNS customer_score.rfm_holdout_summary
    AS 'MODULE_PATHNAME', 'rfm_holdout_finalfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.rfm_holdout(customer_score.rfm_holdout_state) IS
    'The rfm_holdout_summary of a stored rfm_holdout state.';

-- The calendar as an argument, as rfm(..., time_zone) takes it: the days are counted in
-- time_zone whatever the session's (or a Citus worker's) TimeZone, and the state records the
-- zone, so that rfm_holdout_merge refuses states of different calendars.
CREATE FUNCTION customer_score.rfm_holdout_transfn(customer_score.rfm_holdout_state, timestamptz, double precision,
        timestamptz, timestamptz, interval, text)
    RETURNS customer_score.rfm_holdout_state
    AS 'MODULE_PATHNAME', 'rfm_holdout_transfn_zone' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.rfm_holdout_transfn(customer_score.rfm_holdout_state, timestamptz, double precision, timestamptz, timestamptz, interval, text) IS 'Transition function of rfm_holdout(at, amount, calibration_end, holdout_end, unit, time_zone).';
CREATE AGGREGATE customer_score.rfm_holdout(at timestamptz, amount double precision,
        calibration_end timestamptz, holdout_end timestamptz, unit interval, time_zone text) (
    SFUNC = customer_score.rfm_holdout_transfn,
    STYPE = customer_score.rfm_holdout_state,
    COMBINEFUNC = customer_score.rfm_holdout_combinefn,
    FINALFUNC = customer_score.rfm_holdout_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.rfm_holdout(timestamptz, double precision, timestamptz, timestamptz, interval, text) IS
    'rfm_holdout(at, amount, calibration_end, holdout_end, unit) with the purchase days counted on the calendar of time_zone (a name SET TimeZone accepts) instead of the session TimeZone: the calibration columns are rfm(at, amount, calibration_end, unit, time_zone), the same on every node whatever its TimeZone.';
CREATE AGGREGATE customer_score.rfm_holdout_partial(at timestamptz, amount double precision,
        calibration_end timestamptz, holdout_end timestamptz, unit interval, time_zone text) (
    SFUNC = customer_score.rfm_holdout_transfn,
    STYPE = customer_score.rfm_holdout_state,
    COMBINEFUNC = customer_score.rfm_holdout_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.rfm_holdout_partial(timestamptz, double precision, timestamptz, timestamptz, interval, text) IS
    'rfm_holdout_partial(at, amount, calibration_end, holdout_end, unit) on the calendar of time_zone; the state records the zone, and rfm_holdout_merge refuses states of different zones.';

--------------------------------------------------------------------------
-- Model checks: the holdout table, the period-transactions histogram, tracking
--------------------------------------------------------------------------

CREATE FUNCTION customer_score.probability_of_purchases(model customer_score.bgnbd, t double precision, purchases integer)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'bgnbd_probability_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.probability_of_purchases(customer_score.bgnbd, double precision, integer) IS
    'P(X(t) = purchases): the probability that a customer makes exactly this many repeat purchases in the first t time units after the first (FHL 2005 eq. 8).';

CREATE FUNCTION customer_score.holdout_table(model customer_score.bgnbd, query text, max_frequency integer DEFAULT 7)
    RETURNS TABLE (frequency_bin   text,
                   customers       bigint,
                   actual          double precision,
                   predicted       double precision,
                   actual_total    double precision,
                   predicted_total double precision,
                   mae             double precision,
                   rmse            double precision,
                   bias            double precision,
                   correlation     double precision)
    AS 'MODULE_PATHNAME', 'holdout_table_bgnbd'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_score.holdout_table(customer_score.bgnbd, text, integer) IS
    'The conditional-expectation table: query returns frequency, recency, t, holdout_frequency, holdout_t (as rfm_holdout gives them), run with the caller''s privileges. One row per calibration frequency ''0'' .. ''<max_frequency>+'' and a row ''all'': customers, mean actual and predicted holdout purchases (predicted = expected_purchases(model, holdout_t, frequency, recency, t)), their totals, and per customer MAE, RMSE, bias (predicted - actual) and correlation.';

CREATE FUNCTION customer_score.holdout_table(model customer_score.gamma_gamma, query text, max_frequency integer DEFAULT 7)
    RETURNS TABLE (frequency_bin   text,
                   customers       bigint,
                   actual          double precision,
                   predicted       double precision,
                   actual_total    double precision,
                   predicted_total double precision,
                   mae             double precision,
                   rmse            double precision,
                   bias            double precision,
                   correlation     double precision)
    AS 'MODULE_PATHNAME', 'holdout_table_gamma_gamma'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_score.holdout_table(customer_score.gamma_gamma, text, integer) IS
    'The spend model''s holdout table: query returns frequency, monetary, holdout_frequency, holdout_spend. Over the customers with a holdout purchase, per calibration frequency and ''all'': mean actual value of a holdout purchase (holdout_spend / holdout_frequency) and mean expected_spend(model, frequency, monetary), total holdout spend and the spend predicted for the same purchases, and per customer MAE, RMSE, bias and correlation.';

CREATE FUNCTION customer_score.period_transactions(model customer_score.bgnbd, query text, max_frequency integer DEFAULT 7)
    RETURNS TABLE (frequency_bin text,
                   customers     bigint,
                   expected      double precision)
    AS 'MODULE_PATHNAME', 'period_transactions_bgnbd'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_score.period_transactions(customer_score.bgnbd, text, integer) IS
    'The period-transactions histogram: query returns frequency, t (calibration histories). One row per frequency ''0'' .. ''<max_frequency>+'': the customers with that many repeat purchases and the number the model expects, the sum over customers of probability_of_purchases(model, t, frequency) (the last bin: of at least max_frequency).';

CREATE FUNCTION customer_score.tracking(model customer_score.bgnbd, transactions text,
        start_at timestamptz, end_at timestamptz,
        period interval DEFAULT '7 days', unit interval DEFAULT '1 day', time_zone text DEFAULT NULL)
    RETURNS TABLE (period_number       integer,
                   period_start        timestamptz,
                   period_end          timestamptz,
                   actual              bigint,
                   expected            double precision,
                   actual_cumulative   bigint,
                   expected_cumulative double precision)
    AS 'MODULE_PATHNAME', 'tracking_bgnbd'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_score.tracking(customer_score.bgnbd, text, timestamptz, timestamptz, interval, interval, text) IS
    'Tracking: transactions returns customer_id, at (run with the caller''s privileges). Per period from start_at to end_at, the repeat purchases made (purchase days after each customer''s first, by rfm''s same-day rule) and expected (the sum over customers of expected_purchases(model, time since the first purchase day)), each also cumulated. unit is the time unit the model was fitted in. Purchase days and the periods'' local times are on the calendar of time_zone (a name SET TimeZone accepts, as rfm''s time_zone), or the session TimeZone when it is NULL; NULL in any other argument gives no rows.';

CREATE FUNCTION customer_score.holdout_table(model customer_score.pareto_nbd, query text, max_frequency integer DEFAULT 7)
    RETURNS TABLE (frequency_bin   text,
                   customers       bigint,
                   actual          double precision,
                   predicted       double precision,
                   actual_total    double precision,
                   predicted_total double precision,
                   mae             double precision,
                   rmse            double precision,
                   bias            double precision,
                   correlation     double precision)
    AS 'MODULE_PATHNAME', 'holdout_table_pareto_nbd'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_score.holdout_table(customer_score.pareto_nbd, text, integer) IS
    'The conditional-expectation table of a Pareto/NBD model, as holdout_table(bgnbd, ...): query returns frequency, recency, t, holdout_frequency, holdout_t; per calibration frequency and ''all'', predicted = expected_purchases(model, holdout_t, frequency, recency, t).';

CREATE FUNCTION customer_score.period_transactions(model customer_score.pareto_nbd, query text, max_frequency integer DEFAULT 7)
    RETURNS TABLE (frequency_bin text,
                   customers     bigint,
                   expected      double precision)
    AS 'MODULE_PATHNAME', 'period_transactions_pareto_nbd'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_score.period_transactions(customer_score.pareto_nbd, text, integer) IS
    'The period-transactions histogram of a Pareto/NBD model, as period_transactions(bgnbd, ...): query returns frequency, t; expected is the sum over customers of purchase_probability(model, t, frequency) (the last bin: of at least max_frequency).';

CREATE FUNCTION customer_score.tracking(model customer_score.pareto_nbd, transactions text,
        start_at timestamptz, end_at timestamptz,
        period interval DEFAULT '7 days', unit interval DEFAULT '1 day', time_zone text DEFAULT NULL)
    RETURNS TABLE (period_number       integer,
                   period_start        timestamptz,
                   period_end          timestamptz,
                   actual              bigint,
                   expected            double precision,
                   actual_cumulative   bigint,
                   expected_cumulative double precision)
    AS 'MODULE_PATHNAME', 'tracking_pareto_nbd'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_score.tracking(customer_score.pareto_nbd, text, timestamptz, timestamptz, interval, interval, text) IS
    'Tracking for a Pareto/NBD model, as tracking(bgnbd, ...): transactions returns customer_id, at; per period the repeat purchases made and expected (the sum over customers of expected_purchases(model, time since the first purchase day)), each also cumulated; the calendar is time_zone''s, or the session TimeZone''s when it is NULL.';

CREATE FUNCTION customer_score.holdout_table(model customer_score.mbgnbd, query text, max_frequency integer DEFAULT 7)
    RETURNS TABLE (frequency_bin   text,
                   customers       bigint,
                   actual          double precision,
                   predicted       double precision,
                   actual_total    double precision,
                   predicted_total double precision,
                   mae             double precision,
                   rmse            double precision,
                   bias            double precision,
                   correlation     double precision)
    AS 'MODULE_PATHNAME', 'holdout_table_mbgnbd'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_score.holdout_table(customer_score.mbgnbd, text, integer) IS
    'The conditional-expectation table of a MBG/NBD model, as holdout_table(bgnbd, ...): query returns frequency, recency, t, holdout_frequency, holdout_t; per calibration frequency and ''all'', predicted = expected_purchases(model, holdout_t, frequency, recency, t).';

CREATE FUNCTION customer_score.period_transactions(model customer_score.mbgnbd, query text, max_frequency integer DEFAULT 7)
    RETURNS TABLE (frequency_bin text,
                   customers     bigint,
                   expected      double precision)
    AS 'MODULE_PATHNAME', 'period_transactions_mbgnbd'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_score.period_transactions(customer_score.mbgnbd, text, integer) IS
    'The period-transactions histogram of a MBG/NBD model, as period_transactions(bgnbd, ...): query returns frequency, t; expected is the sum over customers of purchase_probability(model, t, frequency) (the last bin: of at least max_frequency).';

CREATE FUNCTION customer_score.tracking(model customer_score.mbgnbd, transactions text,
        start_at timestamptz, end_at timestamptz,
        period interval DEFAULT '7 days', unit interval DEFAULT '1 day', time_zone text DEFAULT NULL)
    RETURNS TABLE (period_number       integer,
                   period_start        timestamptz,
                   period_end          timestamptz,
                   actual              bigint,
                   expected            double precision,
                   actual_cumulative   bigint,
                   expected_cumulative double precision)
    AS 'MODULE_PATHNAME', 'tracking_mbgnbd'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_score.tracking(customer_score.mbgnbd, text, timestamptz, timestamptz, interval, interval, text) IS
    'Tracking for a MBG/NBD model, as tracking(bgnbd, ...): transactions returns customer_id, at; per period the repeat purchases made and expected (the sum over customers of expected_purchases(model, time since the first purchase day)), each also cumulated; the calendar is time_zone''s, or the session TimeZone''s when it is NULL.';

--------------------------------------------------------------------------
-- Uncertainty: bootstrap prediction intervals
--------------------------------------------------------------------------

CREATE FUNCTION customer_score.prediction_intervals(purchases customer_score.bgnbd, spend customer_score.gamma_gamma,
        customers text, horizon double precision, level double precision DEFAULT 0.9,
        replicates integer DEFAULT 200, seed bigint DEFAULT 0,
        discount_rate double precision DEFAULT 0, step double precision DEFAULT 1)
    RETURNS TABLE (customer_id        bigint,
                   purchases          double precision,
                   purchases_lower    double precision,
                   purchases_upper    double precision,
                   spend              double precision,
                   spend_lower        double precision,
                   spend_upper        double precision,
                   clv                double precision,
                   clv_lower          double precision,
                   clv_upper          double precision)
    AS 'MODULE_PATHNAME', 'prediction_intervals_bgnbd_gamma_gamma'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_score.prediction_intervals(customer_score.bgnbd, customer_score.gamma_gamma, text, double precision, double precision, integer, bigint, double precision, double precision) IS
    'Bootstrap prediction intervals: customers returns customer_id, frequency, recency, t, monetary (run with the caller''s privileges). Each of replicates resamples the customers with replacement (deterministic for a seed), refits BG/NBD and Gamma-Gamma (repeat buyers with positive monetary) and predicts; per customer the point expected purchases over horizon, expected spend and clv from the models given, and the (1-level)/2 and (1+level)/2 quantiles of the replicates.';

CREATE FUNCTION customer_score.prediction_intervals(purchases customer_score.pareto_nbd, spend customer_score.gamma_gamma,
        customers text, horizon double precision, level double precision DEFAULT 0.9,
        replicates integer DEFAULT 200, seed bigint DEFAULT 0,
        discount_rate double precision DEFAULT 0, step double precision DEFAULT 1)
    RETURNS TABLE (customer_id        bigint,
                   purchases          double precision,
                   purchases_lower    double precision,
                   purchases_upper    double precision,
                   spend              double precision,
                   spend_lower        double precision,
                   spend_upper        double precision,
                   clv                double precision,
                   clv_lower          double precision,
                   clv_upper          double precision)
    AS 'MODULE_PATHNAME', 'prediction_intervals_pareto_nbd_gamma_gamma'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_score.prediction_intervals(customer_score.pareto_nbd, customer_score.gamma_gamma, text, double precision, double precision, integer, bigint, double precision, double precision) IS
    'Bootstrap prediction intervals of a Pareto/NBD model and Gamma-Gamma, as prediction_intervals(bgnbd, ...): customers returns customer_id, frequency, recency, t, monetary; each replicate resamples the customers (deterministic for a seed), refits Pareto/NBD and Gamma-Gamma and predicts; per customer the point values from the models given and the (1-level)/2 and (1+level)/2 quantiles of the replicates.';

CREATE FUNCTION customer_score.prediction_intervals(purchases customer_score.mbgnbd, spend customer_score.gamma_gamma,
        customers text, horizon double precision, level double precision DEFAULT 0.9,
        replicates integer DEFAULT 200, seed bigint DEFAULT 0,
        discount_rate double precision DEFAULT 0, step double precision DEFAULT 1)
    RETURNS TABLE (customer_id        bigint,
                   purchases          double precision,
                   purchases_lower    double precision,
                   purchases_upper    double precision,
                   spend              double precision,
                   spend_lower        double precision,
                   spend_upper        double precision,
                   clv                double precision,
                   clv_lower          double precision,
                   clv_upper          double precision)
    AS 'MODULE_PATHNAME', 'prediction_intervals_mbgnbd_gamma_gamma'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_score.prediction_intervals(customer_score.mbgnbd, customer_score.gamma_gamma, text, double precision, double precision, integer, bigint, double precision, double precision) IS
    'Bootstrap prediction intervals of a MBG/NBD model and Gamma-Gamma, as prediction_intervals(bgnbd, ...): customers returns customer_id, frequency, recency, t, monetary; each replicate resamples the customers (deterministic for a seed), refits MBG/NBD and Gamma-Gamma and predicts; per customer the point values from the models given and the (1-level)/2 and (1+level)/2 quantiles of the replicates.';
--------------------------------------------------------------------------
-- Model choice: the likelihood-ratio test of nested models
--------------------------------------------------------------------------

CREATE FUNCTION customer_score.likelihood_ratio_test(restricted_log_likelihood double precision,
        full_log_likelihood double precision, degrees_of_freedom integer,
        OUT statistic double precision, OUT p_value double precision)
    AS 'MODULE_PATHNAME', 'likelihood_ratio_test' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.likelihood_ratio_test(double precision, double precision, integer) IS
    'The likelihood-ratio test of two nested models fitted on the same data: statistic = 2 (full - restricted log-likelihood), p_value its chi-square upper tail with degrees_of_freedom (the full model''s extra parameters).';
-- @end validation
