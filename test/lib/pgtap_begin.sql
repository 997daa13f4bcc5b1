-- The start every pgTAP file shares (\ir ../lib/pgtap_begin.sql): one transaction that the file
-- rolls back at its end, pgTAP and the extension installed quietly, the extension's schema first.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS customer_score;
RESET client_min_messages;
SET search_path = customer_score, public;
