-- Real CRM data (issue 11): the purchase rule (src/purchase_rule.h, docs/scores.md "How
-- transactions are counted") for rfm, the live-score trigger, recount_live_days and live_scores;
-- predicted_clv, the CLV that refresh and live_scores both show; refresh in phases (the refresh
-- block, brought in by 10-hardening), sources per model, components declared once, the
-- expected_purchases component, fits recorded in score_runs.

-- @block rfm-support
-- @block rfm-comment
-- @block rfm-of-state
-- @block predicted-clv
-- @block purchase-days-history
-- @block live-customers-comment
-- @block track-transactions-trigger
-- @block recount-live-days
-- @block live-scores-view
-- @block live-scores-frequency
-- @block live-scores-monetary
-- @block live-scores-clv

-- A tracked table's state was counted without its rows of NULL amount: recount it under the rule.
DO $$
DECLARE
    tracked regclass := (SELECT t.relation FROM customer_score.live_tracking t);
BEGIN
    IF tracked IS NOT NULL AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) tracked) THEN
        EXECUTE pg_catalog.format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', tracked);
        DELETE FROM customer_score.live_customers;
        INSERT INTO customer_score.live_customers (customer_id, days)
        SELECT r.customer_id, customer_score.purchase_days(pg_catalog.array_agg(r.day), pg_catalog.array_agg(r.amount),
                                                           pg_catalog.array_agg(r.rows))
        FROM customer_score.recount_live_days(tracked) r
        GROUP BY r.customer_id;
    END IF;
END
$$;

-- Sources per model ('': the default of every model).
ALTER TABLE customer_score.sources ADD COLUMN model text NOT NULL DEFAULT '';
ALTER TABLE customer_score.sources DROP CONSTRAINT sources_pkey, ADD CONSTRAINT sources_pkey PRIMARY KEY (kind, model);
-- @block sources-model-comment
DROP FUNCTION IF EXISTS customer_score.source_relation(text);

-- Each built-in component declared once (components.needs, components.raw_value).
ALTER TABLE customer_score.components ADD COLUMN needs text[] NOT NULL DEFAULT '{}', ADD COLUMN raw_value text;
-- @block components-comments
-- @block components
-- @block reason-codes-expected-purchases

-- Fits that did not converge: recorded per run, used only where the version allows it.
ALTER TABLE customer_score.model_versions ADD COLUMN use_unconverged_fits boolean NOT NULL DEFAULT false;
-- @block model-versions-fits-comment
-- @block new-version
ALTER TABLE customer_score.score_runs
    ADD COLUMN purchase_fit text CHECK (purchase_fit IN ('converged', 'not converged', 'degenerate')),
    ADD COLUMN spend_fit text CHECK (spend_fit IN ('converged', 'not converged', 'degenerate')),
    ADD COLUMN clv_basis text CHECK (clv_basis IN ('clv', 'expected_purchases')),
    ADD COLUMN warnings text[] NOT NULL DEFAULT '{}';
-- @block score-runs-comments
-- @block score-explanation
