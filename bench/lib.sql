-- Helpers for the benchmarks, in schema bench of the benchmark database (never in the
-- extension's schema).  Idempotent: every benchmark script loads it.
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS bench;

-- Run q under EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) and return the plan's JSON (the top
-- object).  The executor runs the whole query, final functions included, but nothing is sent to
-- the client; "Execution Time" excludes planning.
CREATE OR REPLACE FUNCTION bench.explain(q text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON, FORMAT JSON) ' || q INTO plan;
    RETURN plan::jsonb -> 0;
END
$$;

-- One measured run: execution time (ms) and what the hashed aggregates report: the sum of their
-- peak memory (kB), the most batches any of them used (1 = no spill) and their disk use (kB).
CREATE OR REPLACE FUNCTION bench.run(q text,
    OUT ms float8, OUT hash_kb bigint, OUT hash_batches int, OUT disk_kb bigint)
LANGUAGE plpgsql AS $$
DECLARE
    plan jsonb := bench.explain(q);
BEGIN
    ms := (plan ->> 'Execution Time')::float8;
    SELECT sum((n ->> 'Peak Memory Usage')::bigint), max((n ->> 'HashAgg Batches')::int),
           sum((n ->> 'Disk Usage')::bigint)
      INTO hash_kb, hash_batches, disk_kb
      FROM jsonb_path_query(plan, 'strict $.**') AS n
     WHERE jsonb_typeof(n) = 'object' AND n ->> 'Node Type' = 'Aggregate'
       AND n ->> 'Strategy' = 'Hashed';
END
$$;

-- Time several queries in the same session: warmup untimed rounds, then runs rounds, each round
-- running every query once in turn (interleaved, so drift hits all of them alike).
CREATE OR REPLACE FUNCTION bench.time_interleaved(queries text[], runs int, warmup int DEFAULT 2)
RETURNS TABLE (query int, run int, ms float8)
LANGUAGE plpgsql AS $$
BEGIN
    FOR round IN 1 - warmup .. runs LOOP
        FOR i IN 1 .. array_length(queries, 1) LOOP
            query := i;
            run := round;
            ms := (bench.explain(queries[i]) ->> 'Execution Time')::float8;
            IF round >= 1 THEN
                RETURN NEXT;
            END IF;
        END LOOP;
    END LOOP;
END
$$;

-- Aggregates that stop at the extension's transition functions (no final function), so the
-- state itself can be measured with pg_column_size: its size is what the aggregate holds in
-- memory at the end of the scan, unused capacity included.
DO $$
BEGIN
    IF to_regprocedure('bench.rfm_state_only(timestamptz, float8, timestamptz)') IS NULL THEN
        CREATE AGGREGATE bench.rfm_state_only(timestamptz, float8, timestamptz) (
            SFUNC = customer_score.rfm_transfn_days, STYPE = customer_score.rfm_state,
            COMBINEFUNC = customer_score.rfm_combinefn, PARALLEL = SAFE);
    END IF;
    IF to_regprocedure('bench.bgnbd_state_only(int, float8, float8)') IS NULL THEN
        CREATE AGGREGATE bench.bgnbd_state_only(int, float8, float8) (
            SFUNC = customer_score.bgnbd_fit_transfn, STYPE = customer_score.bgnbd_state,
            COMBINEFUNC = customer_score.bgnbd_fit_combinefn, PARALLEL = SAFE);
    END IF;
    IF to_regprocedure('bench.gamma_gamma_state_only(int, float8)') IS NULL THEN
        CREATE AGGREGATE bench.gamma_gamma_state_only(int, float8) (
            SFUNC = customer_score.gamma_gamma_fit_transfn, STYPE = customer_score.gamma_gamma_state,
            COMBINEFUNC = customer_score.gamma_gamma_fit_combinefn, PARALLEL = SAFE);
    END IF;
END
$$;
