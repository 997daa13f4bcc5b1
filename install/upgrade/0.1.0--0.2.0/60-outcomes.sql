-- Scores proven on outcomes: backtests, their metrics, learned weights and data-driven action
-- weights (install/outcomes.sql); every object is new in 0.2.0.
-- @block outcomes

-- Tiers of a model version, shown by scores (install/scores.sql): the columns at the end of
-- model_versions, as in a fresh install; new_version copies them (its definition, brought in by
-- 40-real-data.sql, is already the current one).
-- @block tiers
ALTER TABLE customer_score.model_versions ADD COLUMN tier_names text[], ADD COLUMN tier_floors numeric[],
    ADD CONSTRAINT model_versions_tiers CHECK (customer_score.tiers_valid(tier_names, tier_floors));
-- @block tiers-comments
-- @block scores-view
