-- Real CRM data (issue 11): the purchase rule (src/purchase_rule.h, docs/scores.md "How
-- transactions are counted") for rfm, the live-score trigger, recount_live_days and live_scores;
-- predicted_clv, the CLV that refresh and live_scores both show (refresh itself: the refresh block).

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
