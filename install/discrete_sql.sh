#!/usr/bin/env bash
# discrete_sql.sh — writes install/discrete_models.sql (make runs it): the SQL of the discrete-time
# and contractual models (BG/BB, sBG) from install/model_sql.sh's template, plus their predictions.
# One "-- @begin NAME" ... "-- @end NAME" block per model, as model_sql.sh writes them.
set -euo pipefail
source "$(dirname "$0")/model_sql.sh"

I=integer

# BGBB_ARGS / SBG_ARGS: the fit's arguments without and with the customers count
bgbb() {
  model_type bgbb BG/BB "alpha beta gamma delta" \
    "BG/BB model of discrete-time transactions (Fader, Hardie & Shang 2010): alpha, beta (transaction probability ~ Beta(alpha, beta)), gamma, delta (dropout probability ~ Beta(gamma, delta)), per period" \
    "(frequency, recency, periods)" "x,recency,periods"
  local note="(frequency, recency, periods) in whole periods: frequency transactions in periods observed, the last in period recency (0 without one); customers counts the customers with that history (1 without it), for compressed data. NULL rows and rows of 0 customers are skipped; an empty group gives NULL; a fit without transactions says converged=false."
  fit_aggregates bgbb BG/BB "frequency $I, recency $I, periods $I" "$I, $I, $I" "$note"
  fit_aggregates bgbb BG/BB "frequency $I, recency $I, periods $I, customers bigint" "$I, $I, $I, bigint" "$note"
  fit_merge bgbb BG/BB
  cat <<SQL
CREATE FUNCTION $S.p_alive(model $S.bgbb, frequency $I, recency $I, periods $I)
    RETURNS $F8
    AS 'MODULE_PATHNAME', 'bgbb_p_alive_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION $S.p_alive($S.bgbb, $I, $I, $I) IS
    'Probability under the BG/BB model that a customer with frequency transactions in periods periods, the last in period recency, is alive at the next transaction opportunity (period periods + 1).';

CREATE FUNCTION $S.expected_purchases(model $S.bgbb, horizon $I, frequency $I, recency $I, periods $I)
    RETURNS $F8
    AS 'MODULE_PATHNAME', 'bgbb_expected_purchases_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION $S.expected_purchases($S.bgbb, $I, $I, $I, $I) IS
    'Expected transactions under the BG/BB model in the next horizon periods of a customer with this (frequency, recency, periods) history.';

CREATE FUNCTION $S.expected_purchases(model $S.bgbb, horizon $I)
    RETURNS $F8
    AS 'MODULE_PATHNAME', 'bgbb_expected_purchases_new' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION $S.expected_purchases($S.bgbb, $I) IS
    'Expected transactions under the BG/BB model in the first horizon periods of a newly acquired customer.';
-- @end bgbb

SQL
}

sbg() {
  model_type sbg sBG "alpha beta" \
    "shifted-beta-geometric model of contractual retention (Fader & Hardie 2007): alpha, beta (churn probability per period ~ Beta(alpha, beta))" \
    "(periods observed, churned)" "periods,churned"
  local note="(periods_observed, churned): a customer who churned in period periods_observed, or one still active after periods_observed periods; customers counts the customers with that history (1 without it). NULL rows and rows of 0 customers are skipped; an empty group gives NULL; a fit without churn, or without renewals, says converged=false."
  fit_aggregates sbg sBG "periods_observed $I, churned boolean" "$I, boolean" "$note"
  fit_aggregates sbg sBG "periods_observed $I, churned boolean, customers bigint" "$I, boolean, bigint" "$note"
  fit_merge sbg sBG
  cat <<SQL
CREATE FUNCTION $S.survival(model $S.sbg, period $I)
    RETURNS $F8
    AS 'MODULE_PATHNAME', 'sbg_survival_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION $S.survival($S.sbg, $I) IS
    'S(period) under the sBG model: the share of a cohort still active after period periods (1 at period 0).';

CREATE FUNCTION $S.retention_rate(model $S.sbg, period $I)
    RETURNS $F8
    AS 'MODULE_PATHNAME', 'sbg_retention_rate_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION $S.retention_rate($S.sbg, $I) IS
    'r(period) = S(period) / S(period - 1) under the sBG model: the share of the customers active in period period (>= 1) who renew at its end.';

CREATE FUNCTION $S.discounted_residual_lifetime(model $S.sbg, discount_rate $F8, renewals $I DEFAULT 0)
    RETURNS $F8
    AS 'MODULE_PATHNAME', 'sbg_derl_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION $S.discounted_residual_lifetime($S.sbg, $F8, $I) IS
    'DERL (Fader & Hardie 2010) under the sBG model: the expected number of periods, each discounted by (1 + discount_rate) per period from the next, that a customer who has made renewals renewals stays; times the payment per period it is her residual value.';
-- @end sbg

SQL
}

# the model checks of the discrete-time models (issue 12), beside the continuous-time ones of
# install/validation.sql
discrete_validation() {
  cat <<SQL
-- @begin discrete-validation
CREATE FUNCTION $S.holdout_table(model $S.bgbb, query text, max_frequency $I DEFAULT 7)
    RETURNS TABLE (frequency_bin   text,
                   customers       bigint,
                   actual          $F8,
                   predicted       $F8,
                   actual_total    $F8,
                   predicted_total $F8,
                   mae             $F8,
                   rmse            $F8,
                   bias            $F8,
                   correlation     $F8)
    AS 'MODULE_PATHNAME', 'holdout_table_bgbb'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION $S.holdout_table($S.bgbb, text, $I) IS
    'The conditional-expectation table of a BG/BB model: query returns frequency, recency, periods (the calibration history in whole periods), holdout_frequency, holdout_periods and optionally customers (the customers with that row, for compressed data), run with the caller''s privileges. One row per calibration frequency ''0'' .. ''<max_frequency>+'' and a row ''all'': customers, mean actual and predicted holdout transactions (predicted = expected_purchases(model, holdout_periods, frequency, recency, periods)), their totals, and per customer MAE, RMSE, bias (predicted - actual) and correlation.';

CREATE FUNCTION $S.period_transactions(model $S.bgbb, query text, max_frequency $I DEFAULT 7)
    RETURNS TABLE (frequency_bin text,
                   customers     bigint,
                   expected      $F8)
    AS 'MODULE_PATHNAME', 'period_transactions_bgbb'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION $S.period_transactions($S.bgbb, text, $I) IS
    'The period-transactions histogram of a BG/BB model: query returns frequency, periods and optionally customers. One row per frequency ''0'' .. ''<max_frequency>+'': the customers with that many transactions in their periods and the number the model expects, the sum over customers of purchase_probability(model, periods, frequency) (the last bin: of at least max_frequency).';

CREATE FUNCTION $S.purchase_probability(model $S.bgbb, horizon $I, n $I)
    RETURNS $F8
    AS 'MODULE_PATHNAME', 'bgbb_purchase_probability_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION $S.purchase_probability($S.bgbb, $I, $I) IS
    'P(X(horizon) = n) under the BG/BB model: the probability that a new customer makes exactly n transactions in her first horizon periods (transaction opportunities) (Fader, Hardie & Shang 2010, eq. 7).';

CREATE FUNCTION $S.tracking(model $S.bgbb, transactions text, periods $I)
    RETURNS TABLE (period_number       $I,
                   actual              bigint,
                   expected            $F8,
                   actual_cumulative   bigint,
                   expected_cumulative $F8)
    AS 'MODULE_PATHNAME', 'tracking_bgbb'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION $S.tracking($S.bgbb, text, $I) IS
    'Tracking of a BG/BB cohort: transactions returns customer_id, period (one row per transaction, period 0 the first, which every customer of the cohort has, then the transaction opportunities 1, 2, ... after it), run with the caller''s privileges. Per period 1 .. periods the transactions made (one per customer and period) and expected (the cohort times the increase of expected_purchases(model, period)), each also cumulated; every customer is taken as observed through all the periods.';

CREATE FUNCTION $S.retention_table(model $S.sbg, query text)
    RETURNS TABLE (period             $I,
                   customers          bigint,
                   actual             bigint,
                   predicted          $F8,
                   actual_rate        $F8,
                   predicted_rate     $F8,
                   actual_survival    $F8,
                   predicted_survival $F8)
    AS 'MODULE_PATHNAME', 'retention_table_sbg'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION $S.retention_table($S.sbg, text) IS
    'The retention check of an sBG model: query returns periods_observed, churned (as sbg_fit takes them) and optionally customers, run with the caller''s privileges. One row per period from 1 to the longest observed: customers active at its start and observed through it, actual = those who renewed at its end, predicted = customers * retention_rate(model, period), both rates, actual_survival (the product of the actual rates so far, Kaplan-Meier) and predicted_survival = survival(model, period).';
-- @end discrete-validation

SQL
}

echo "-- Discrete-time and contractual models of 0.2.0 (generated by install/discrete_sql.sh; edit that, not this file)."
echo
bgbb
sbg
discrete_validation
