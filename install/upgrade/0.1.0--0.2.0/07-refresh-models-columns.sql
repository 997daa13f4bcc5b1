-- Purchase models per component (issue 10), the columns that the later parts' definitions use
-- (10-hardening brings in refresh, 40-real-data new_version and the views that read them).
-- @block purchase-model-name
ALTER TABLE customer_score.model_components
    ADD COLUMN parameters jsonb NOT NULL DEFAULT '{}' CHECK (customer_score.purchase_model_name(parameters) IS NOT NULL);
ALTER TABLE customer_score.score_runs ADD COLUMN purchase_models jsonb NOT NULL DEFAULT '{}';
