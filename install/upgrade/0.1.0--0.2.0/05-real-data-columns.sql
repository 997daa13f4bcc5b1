-- Real CRM data (issue 11), the columns and the customer-key table that the later parts'
-- definitions use (10-hardening brings in views and functions that read them): components
-- declared once, fits recorded per run, text and uuid customer ids.
ALTER TABLE customer_score.components ADD COLUMN needs text[] NOT NULL DEFAULT '{}', ADD COLUMN raw_value text;
ALTER TABLE customer_score.model_versions ADD COLUMN use_unconverged_fits boolean NOT NULL DEFAULT false;
ALTER TABLE customer_score.score_runs
    ADD COLUMN purchase_fit text CHECK (purchase_fit IN ('converged', 'not converged', 'degenerate')),
    ADD COLUMN spend_fit text CHECK (spend_fit IN ('converged', 'not converged', 'degenerate')),
    ADD COLUMN clv_basis text CHECK (clv_basis IN ('clv', 'expected_purchases')),
    ADD COLUMN warnings text[] NOT NULL DEFAULT '{}',
    ADD COLUMN customer_keys boolean NOT NULL DEFAULT false;
-- @block customer-keys
SELECT pg_catalog.pg_extension_config_dump('customer_score.customer_keys', '');
SELECT pg_catalog.pg_extension_config_dump('customer_score.customer_keys_customer_id_seq', '');

-- Opt-outs of customers with text, varchar and uuid ids: a row names the customer by customer_id
-- or by customer_key (install/scores.sql), so customer_id is no longer the primary key.
ALTER TABLE customer_score.opt_outs DROP CONSTRAINT opt_outs_pkey;
ALTER TABLE customer_score.opt_outs ALTER COLUMN customer_id DROP NOT NULL,
    ADD CONSTRAINT opt_outs_customer_id_key UNIQUE (customer_id);
ALTER TABLE customer_score.opt_outs ADD COLUMN customer_key text,
    ADD CONSTRAINT opt_outs_customer_key_key UNIQUE (customer_key);
ALTER TABLE customer_score.opt_outs ADD CONSTRAINT opt_outs_one_id CHECK (num_nonnulls(customer_id, customer_key) = 1);
-- @block opt-outs-comments
