-- Hardening: no confused deputy, read-only sources that keep their names (install/header.sql,
-- install/scores.sql).

-- The schema belongs to the extension's script, not to the role that created the extension, so
-- that role cannot add objects that shadow or overload the extension's own.
ALTER SCHEMA customer_score OWNER TO CURRENT_USER;

-- Who set each source, and the name it had: refresh reads a source as that role, and a source
-- dropped or renamed since is an error naming it.  Sources set under 0.1.0 were set by the
-- extension's owner (the only role 0.1.0 let configure them, with the superusers).
ALTER TABLE customer_score.sources ADD COLUMN configured_by regrole;
UPDATE customer_score.sources SET configured_by = (SELECT e.extowner FROM pg_catalog.pg_extension e
                                                   WHERE e.extname = 'customer_score')::regrole;
ALTER TABLE customer_score.sources ALTER COLUMN configured_by SET NOT NULL,
    ALTER COLUMN configured_by SET DEFAULT CURRENT_USER::regrole;
ALTER TABLE customer_score.sources ADD COLUMN relation_name text;
-- @block sources-comments

-- @block source-functions
UPDATE customer_score.sources SET relation_name = customer_score.relation_name(relation::oid);

-- @block refresh

-- score_changes in one pass, and an index for one customer's history
CREATE INDEX scores_history_customer ON customer_score.scores_history (customer_id, run_id);
-- @block score-changes
