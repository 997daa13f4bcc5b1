#!/usr/bin/env bash
# model_sql.sh — writes install/models.sql (make runs it): the SQL of every counting model added in
# 0.2.0 from one template, so each model type is one line below and its SQL has one home.
#   counting_model TYPE LABEL "PARAM ..." DESCRIPTION   the type, its state, its fit and predictions
#   counting_predictions TYPE LABEL                     the predictions every counting model has
# The output is one "-- @begin NAME" ... "-- @end NAME" block per model (install/upgrade/expand.awk
# copies them into the upgrade script).
set -euo pipefail

S=customer_score
F8='double precision'

counting_predictions() {  # the 0.2.0 predictions of a counting model: P(X(t) = n), P(no purchase)
  local t=$1 label=$2
  cat <<SQL
CREATE FUNCTION $S.purchase_probability(model $S.$t, horizon $F8, n integer)
    RETURNS $F8
    AS 'MODULE_PATHNAME', '${t}_purchase_probability_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION $S.purchase_probability($S.$t, $F8, integer) IS
    'P(X(horizon) = n) under the $label model: the probability that a newly acquired customer makes exactly n repeat purchases in the first horizon time units.';

CREATE FUNCTION $S.p_no_purchase(model $S.$t, horizon $F8, frequency integer, recency $F8, t $F8)
    RETURNS $F8
    AS 'MODULE_PATHNAME', '${t}_p_no_purchase_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION $S.p_no_purchase($S.$t, $F8, integer, $F8, $F8) IS
    'Probability under the $label model that a customer with this (frequency, recency, t) history makes no purchase in the next horizon time units.';
SQL
}

counting_model() {
  local t=$1 label=$2 params=$3 description=$4 p sig="" types="" names="" jsonkeys=""
  for p in $params; do
    sig+="${sig:+, }$p $F8" types+="${types:+, }$F8" names+="${names:+,}$p=.." jsonkeys+="$p, "
  done
  cat <<SQL
-- @begin $t
--------------------------------------------------------------------------
-- $label
--------------------------------------------------------------------------

CREATE TYPE $S.$t;
CREATE FUNCTION $S.${t}_in(cstring) RETURNS $S.$t
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION $S.${t}_out($S.$t) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION $S.${t}_recv(internal) RETURNS $S.$t
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION $S.${t}_send($S.$t) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE $S.$t (
    INPUT = $S.${t}_in,
    OUTPUT = $S.${t}_out,
    RECEIVE = $S.${t}_recv,
    SEND = $S.${t}_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = plain
);
COMMENT ON TYPE $S.$t IS
    'A $description, and for a fitted model its log-likelihood, customer count and convergence. Text form: (${names}[,log_likelihood=..,customers=..,converged=true|false]).';
COMMENT ON FUNCTION $S.${t}_in(cstring) IS 'Text input of $t.';
COMMENT ON FUNCTION $S.${t}_out($S.$t) IS 'Text output of $t (round-trips exactly).';
COMMENT ON FUNCTION $S.${t}_recv(internal) IS 'Binary input of $t.';
COMMENT ON FUNCTION $S.${t}_send($S.$t) IS 'Binary output of $t.';

CREATE FUNCTION $S.$t($sig)
    RETURNS $S.$t
    AS 'MODULE_PATHNAME', '${t}_make' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION $S.$t($types) IS
    'A $label model from known parameters, e.g. published ones.';

CREATE FUNCTION $S.params(model $S.$t) RETURNS jsonb
    AS 'MODULE_PATHNAME', '${t}_params' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION $S.params($S.$t) IS
    'The model as jsonb: ${jsonkeys}log_likelihood, customers, converged (the last three null for a model not fitted here).';

CREATE TYPE $S.${t}_state;
CREATE FUNCTION $S.${t}_state_in(cstring) RETURNS $S.${t}_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION $S.${t}_state_out($S.${t}_state) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION $S.${t}_state_recv(internal) RETURNS $S.${t}_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION $S.${t}_state_send($S.${t}_state) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE $S.${t}_state (
    INPUT = $S.${t}_state_in,
    OUTPUT = $S.${t}_state_out,
    RECEIVE = $S.${t}_state_recv,
    SEND = $S.${t}_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE $S.${t}_state IS
    'Partial state of ${t}_fit: a histogram of distinct (frequency, recency, t) histories with counts. Text form: v1 (x,recency,t):count ...';
COMMENT ON FUNCTION $S.${t}_state_in(cstring) IS 'Text input of ${t}_state.';
COMMENT ON FUNCTION $S.${t}_state_out($S.${t}_state) IS 'Text output of ${t}_state.';
COMMENT ON FUNCTION $S.${t}_state_recv(internal) IS 'Binary input of ${t}_state.';
COMMENT ON FUNCTION $S.${t}_state_send($S.${t}_state) IS 'Binary output of ${t}_state.';

CREATE FUNCTION $S.${t}_fit_transfn($S.${t}_state, integer, $F8, $F8)
    RETURNS $S.${t}_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION $S.${t}_fit_combinefn($S.${t}_state, $S.${t}_state)
    RETURNS $S.${t}_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION $S.${t}_fit_finalfn($S.${t}_state)
    RETURNS $S.$t
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION $S.${t}_fit_transfn($S.${t}_state, integer, $F8, $F8) IS 'Transition function of ${t}_fit.';
COMMENT ON FUNCTION $S.${t}_fit_combinefn($S.${t}_state, $S.${t}_state) IS 'Combine function of ${t}_fit: merges two histograms.';
COMMENT ON FUNCTION $S.${t}_fit_finalfn($S.${t}_state) IS 'Final function of ${t}_fit: the maximum-likelihood fit.';

CREATE AGGREGATE $S.${t}_fit(frequency integer, recency $F8, t $F8) (
    SFUNC = $S.${t}_fit_transfn,
    STYPE = $S.${t}_state,
    COMBINEFUNC = $S.${t}_fit_combinefn,
    FINALFUNC = $S.${t}_fit_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE $S.${t}_fit(integer, $F8, $F8) IS
    'Fit a $label model by maximum likelihood to customers'' (frequency, recency, t); the rate parameters come out in the unit of recency and t. NULL rows are skipped; an empty group gives NULL; a fit on a likelihood ridge or without repeat purchases says converged=false.';

CREATE AGGREGATE $S.${t}_partial(frequency integer, recency $F8, t $F8) (
    SFUNC = $S.${t}_fit_transfn,
    STYPE = $S.${t}_state,
    COMBINEFUNC = $S.${t}_fit_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE $S.${t}_partial(integer, $F8, $F8) IS
    'The ${t}_fit state (a histogram of histories) of a group of customers, to store and merge later with ${t}_merge; ${t}_fit(state) fits it.';
CREATE AGGREGATE $S.${t}_merge(state $S.${t}_state) (
    SFUNC = $S.${t}_fit_combinefn,
    STYPE = $S.${t}_state,
    COMBINEFUNC = $S.${t}_fit_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE $S.${t}_merge($S.${t}_state) IS
    'Merge stored ${t}_fit states (e.g. one per partition or shard).';
CREATE FUNCTION $S.${t}_fit(state $S.${t}_state) RETURNS $S.$t
    AS 'MODULE_PATHNAME', '${t}_fit_finalfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION $S.${t}_fit($S.${t}_state) IS
    'Fit a $label model to a stored state: the same model as ${t}_fit over the rows it came from.';

CREATE FUNCTION $S.expected_purchases(model $S.$t, horizon $F8,
        frequency integer, recency $F8, t $F8)
    RETURNS $F8
    AS 'MODULE_PATHNAME', '${t}_expected_purchases_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION $S.expected_purchases($S.$t, $F8, integer, $F8, $F8) IS
    'Expected purchases in the next horizon time units of a customer with this (frequency, recency, t) history under the $label model.';

CREATE FUNCTION $S.expected_purchases(model $S.$t, horizon $F8)
    RETURNS $F8
    AS 'MODULE_PATHNAME', '${t}_expected_purchases_new' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION $S.expected_purchases($S.$t, $F8) IS
    'Expected repeat purchases in the first horizon time units of a newly acquired customer under the $label model.';

CREATE FUNCTION $S.p_alive(model $S.$t, frequency integer, recency $F8, t $F8)
    RETURNS $F8
    AS 'MODULE_PATHNAME', '${t}_p_alive_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION $S.p_alive($S.$t, integer, $F8, $F8) IS
    'Probability under the $label model that a customer with this (frequency, recency, t) history is still active.';

$(counting_predictions "$t" "$label")

CREATE FUNCTION $S.clv(purchases $S.$t, spend $S.gamma_gamma,
        frequency integer, recency $F8, t $F8, monetary $F8,
        horizon $F8, discount_rate $F8 DEFAULT 0, step $F8 DEFAULT 1)
    RETURNS $F8
    AS 'MODULE_PATHNAME', 'clv_${t}_gamma_gamma' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION $S.clv($S.$t, $S.gamma_gamma, integer, $F8, $F8, $F8, $F8, $F8, $F8) IS
    'Predicted customer lifetime value over horizon (in the model''s time unit) from $label purchases and Gamma-Gamma spend: the sum over steps of the purchases expected in each step times the expected spend, discounted by (1 + discount_rate) per step.';

CREATE FUNCTION $S.predicted_clv(purchases $S.$t, spend $S.gamma_gamma,
        frequency integer, recency $F8, t $F8, monetary $F8,
        horizon $F8, discount_rate $F8, step $F8)
    RETURNS $F8
    AS 'MODULE_PATHNAME', 'predicted_clv_${t}' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION $S.predicted_clv($S.$t, $S.gamma_gamma, integer, $F8, $F8, $F8, $F8, $F8, $F8) IS
    'clv from $label purchases as refresh and live_scores use it: NULL when an argument or model is NULL or the spend model gives no finite expected spend for the customer (p * frequency + q <= 1); 0 for a repeat customer whose repeat purchases net to nothing; otherwise clv(...).';
-- @end $t

SQL
}

echo "-- Purchase models of 0.2.0 (generated by install/model_sql.sh; edit that, not this file)."
echo
echo "-- @begin bgnbd-probabilities"
counting_predictions bgnbd BG/NBD
echo "-- @end bgnbd-probabilities"
echo
counting_model pareto_nbd Pareto/NBD "r alpha s beta" \
  "Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987): r, alpha (purchase rate ~ Gamma(r, alpha)), s, beta (dropout rate ~ Gamma(s, beta)), alpha and beta in the time unit of the data it was fitted on"
counting_model mbgnbd MBG/NBD "r alpha a b" \
  "MBG/NBD purchase model (Batislam, Denizel & Filiztekin 2007; BG/NBD whose customers may also drop out right after the first purchase): r, alpha (in the time unit of the data it was fitted on), a, b"
