-- The parameters of every run's Gamma-Gamma fit, used or not (run_fits shows them; refresh, brought
-- in by 10-hardening, records them; the view comes with 50-validation).
ALTER TABLE customer_score.score_runs ADD COLUMN spend_fit_params jsonb;
