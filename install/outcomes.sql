
-- Scores proven on outcomes: how well a ranking predicted what customers went on to spend
-- (the metrics and backtest), weights learned from that, and what each kind of touch on the
-- way to a conversion is worth.  Reference: docs/outcomes.md.

-- @begin outcomes
--------------------------------------------------------------------------
-- The metrics: normalised Gini, top-decile capture, Spearman, calibration
--------------------------------------------------------------------------

CREATE TYPE customer_score.outcome_state;
CREATE FUNCTION customer_score.outcome_state_in(cstring) RETURNS customer_score.outcome_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.outcome_state_out(customer_score.outcome_state) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.outcome_state_recv(internal) RETURNS customer_score.outcome_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.outcome_state_send(customer_score.outcome_state) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE customer_score.outcome_state (
    INPUT = customer_score.outcome_state_in,
    OUTPUT = customer_score.outcome_state_out,
    RECEIVE = customer_score.outcome_state_recv,
    SEND = customer_score.outcome_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE customer_score.outcome_state IS
    'State of the outcome metrics (normalized_gini, top_decile_capture, spearman, outcome_partial): a histogram of distinct (score, realized value) pairs with counts. Text form: v1 (score,realized):count ...';
COMMENT ON FUNCTION customer_score.outcome_state_in(cstring) IS 'Text input of outcome_state.';
COMMENT ON FUNCTION customer_score.outcome_state_out(customer_score.outcome_state) IS 'Text output of outcome_state.';
COMMENT ON FUNCTION customer_score.outcome_state_recv(internal) IS 'Binary input of outcome_state.';
COMMENT ON FUNCTION customer_score.outcome_state_send(customer_score.outcome_state) IS 'Binary output of outcome_state.';

CREATE FUNCTION customer_score.outcome_transfn(customer_score.outcome_state, double precision, double precision)
    RETURNS customer_score.outcome_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION customer_score.outcome_combinefn(customer_score.outcome_state, customer_score.outcome_state)
    RETURNS customer_score.outcome_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION customer_score.normalized_gini_finalfn(customer_score.outcome_state) RETURNS double precision
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION customer_score.top_decile_capture_finalfn(customer_score.outcome_state) RETURNS double precision
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION customer_score.spearman_finalfn(customer_score.outcome_state) RETURNS double precision
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION customer_score.outcome_partial_finalfn(customer_score.outcome_state) RETURNS customer_score.outcome_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.outcome_transfn(customer_score.outcome_state, double precision, double precision) IS 'Transition function of the outcome metrics: adds a (score, realized value) pair.';
COMMENT ON FUNCTION customer_score.outcome_combinefn(customer_score.outcome_state, customer_score.outcome_state) IS 'Combine function of the outcome metrics: merges two histograms.';
COMMENT ON FUNCTION customer_score.normalized_gini_finalfn(customer_score.outcome_state) IS 'Final function of normalized_gini.';
COMMENT ON FUNCTION customer_score.top_decile_capture_finalfn(customer_score.outcome_state) IS 'Final function of top_decile_capture.';
COMMENT ON FUNCTION customer_score.spearman_finalfn(customer_score.outcome_state) IS 'Final function of spearman.';
COMMENT ON FUNCTION customer_score.outcome_partial_finalfn(customer_score.outcome_state) IS 'Final function of outcome_partial: the state, sorted.';

-- one transition function and state for all four: an aggregate of each over the same rows
-- in one query shares a single state
CREATE AGGREGATE customer_score.normalized_gini(score double precision, realized double precision) (
    SFUNC = customer_score.outcome_transfn, STYPE = customer_score.outcome_state,
    COMBINEFUNC = customer_score.outcome_combinefn, FINALFUNC = customer_score.normalized_gini_finalfn,
    FINALFUNC_MODIFY = READ_ONLY, PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.normalized_gini(double precision, double precision) IS
    'Normalised Gini of the realized values (finite, >= 0) ordered by the score: the Gini of the capture curve (share of the realized value held by the top customers by score) over that of the best possible order. 1 = perfect ranking, 0 = no better than chance, < 0 = worse. Tied scores count as one block (the average over their orders). NULL rows are skipped; NULL when nothing was realized or all realized values are equal.';
CREATE AGGREGATE customer_score.top_decile_capture(score double precision, realized double precision) (
    SFUNC = customer_score.outcome_transfn, STYPE = customer_score.outcome_state,
    COMBINEFUNC = customer_score.outcome_combinefn, FINALFUNC = customer_score.top_decile_capture_finalfn,
    FINALFUNC_MODIFY = READ_ONLY, PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.top_decile_capture(double precision, double precision) IS
    'Share (0..1) of the realized value held by the top 10 % of customers by score; a block of tied scores across the cut counts pro rata. NULL rows are skipped; NULL when nothing was realized.';
CREATE AGGREGATE customer_score.spearman(score double precision, realized double precision) (
    SFUNC = customer_score.outcome_transfn, STYPE = customer_score.outcome_state,
    COMBINEFUNC = customer_score.outcome_combinefn, FINALFUNC = customer_score.spearman_finalfn,
    FINALFUNC_MODIFY = READ_ONLY, PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.spearman(double precision, double precision) IS
    'Spearman rank correlation of score and realized value (Pearson correlation of average ranks). NULL rows are skipped; NULL for fewer than two customers or when either side is constant.';
CREATE AGGREGATE customer_score.outcome_partial(score double precision, realized double precision) (
    SFUNC = customer_score.outcome_transfn, STYPE = customer_score.outcome_state,
    COMBINEFUNC = customer_score.outcome_combinefn, FINALFUNC = customer_score.outcome_partial_finalfn,
    FINALFUNC_MODIFY = READ_ONLY, PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_score.outcome_partial(double precision, double precision) IS
    'The (score, realized value) histogram itself, for calibration() or to store.';

CREATE FUNCTION customer_score.calibration(state customer_score.outcome_state)
    RETURNS TABLE (decile integer, customers bigint, mean_score double precision,
                   mean_realized double precision, realized double precision)
    AS 'MODULE_PATHNAME', 'outcome_calibration' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.calibration(customer_score.outcome_state) IS
    'Calibration: the customers in ten groups by score, highest first (sizes differ by at most one; equal scores ordered by realized value ascending), with each group''s mean score, mean realized value and total realized value. With a predicted value as the score, mean_score against mean_realized shows whether the predictions were right in level, not just in order.';

--------------------------------------------------------------------------
-- Backtests: score as of a past date, compare with what happened until a later one
--------------------------------------------------------------------------

CREATE TABLE customer_score.backtests (
    backtest_id    bigserial PRIMARY KEY,
    model          text NOT NULL,
    version        integer NOT NULL,
    as_of          timestamptz NOT NULL,
    until          timestamptz NOT NULL,
    started_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at    timestamptz,
    customers      bigint,
    components     text[] NOT NULL,
    weights        double precision[] NOT NULL,
    missing        text[] NOT NULL,
    purchase_model customer_score.bgnbd,
    spend_model    customer_score.gamma_gamma,
    CHECK (until > as_of),
    FOREIGN KEY (model, version) REFERENCES customer_score.model_versions (model, version)
);
COMMENT ON TABLE customer_score.backtests IS
    'One backtest: the model version scored as of as_of, compared with what the customers did in (as_of, until]. Its scores are in backtest_customers, never in scores_history.';
COMMENT ON COLUMN customer_score.backtests.missing IS 'The components'' missing-data policies, in the order of components.';

CREATE TABLE customer_score.backtest_customers (
    backtest_id        bigint NOT NULL,   -- a backtests row: see backtests_cascade below
    customer_id        bigint NOT NULL,
    score              double precision NOT NULL,
    normalized         double precision[] NOT NULL,
    predicted_clv      double precision,
    popularity         double precision NOT NULL,
    realized_spend     double precision NOT NULL,
    realized_purchases bigint NOT NULL,
    realized_influence double precision NOT NULL,
    PRIMARY KEY (backtest_id, customer_id)
);
COMMENT ON TABLE customer_score.backtest_customers IS
    'Every customer of a backtest (opted-out customers left out): the score and the normalised components as of as_of (in the order of backtests.components, NULL where not observed), the predicted CLV, the popularity baseline, and what was realized in (as_of, until].';
COMMENT ON COLUMN customer_score.backtest_customers.predicted_clv IS 'The raw predicted_clv component as of as_of; NULL where not observed or not in the model.';

-- Deleting backtests deletes their customers, as ON DELETE CASCADE would; a foreign key would
-- also check every row backtest inserts (a million queries for rows it writes for the backtest
-- it inserted in the same transaction).  Runs with the rights of whoever deletes.  The ids are
-- collected first: Citus cannot plan a delete joined with the transition table when
-- backtest_customers is distributed (distribute_tables).
CREATE FUNCTION customer_score.backtests_cascade() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE customer_score.backtest_customers;
    ELSE
        SELECT array_agg(o.backtest_id) INTO ids FROM old_backtests o;
        DELETE FROM customer_score.backtest_customers c WHERE c.backtest_id = ANY (ids);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION customer_score.backtests_cascade() IS
    'Trigger on backtests: deleting (or truncating) backtests deletes their rows of backtest_customers.';
CREATE TRIGGER backtests_cascade_delete AFTER DELETE ON customer_score.backtests
    REFERENCING OLD TABLE AS old_backtests FOR EACH STATEMENT EXECUTE FUNCTION customer_score.backtests_cascade();
CREATE TRIGGER backtests_cascade_truncate AFTER TRUNCATE ON customer_score.backtests
    FOR EACH STATEMENT EXECUTE FUNCTION customer_score.backtests_cascade();
COMMENT ON COLUMN customer_score.backtest_customers.popularity IS 'Reactions received by as_of: likes, follows and shares by others of the customer''s actions (the Klout-style baseline).';
COMMENT ON COLUMN customer_score.backtest_customers.realized_spend IS 'Sum of the customer''s transactions in (as_of, until].';
COMMENT ON COLUMN customer_score.backtest_customers.realized_purchases IS 'Number of the customer''s transactions in (as_of, until].';
COMMENT ON COLUMN customer_score.backtest_customers.realized_influence IS 'Influence value credited to the customer by conversions in (as_of, until] (same cascade settings, no age decay).';

-- Each subject's ranking of a backtest's customers: the score, each component alone (its
-- normalised value as the model uses it; customers where it is not observed tie below everyone
-- where it is) and the popularity baseline.
CREATE VIEW customer_score.backtest_subjects WITH (security_invoker = true) AS
SELECT c.backtest_id, c.customer_id, 'score'::text AS subject, 0 AS position, c.score AS ranking,
       c.realized_spend, c.realized_purchases, c.realized_influence
FROM customer_score.backtest_customers c
UNION ALL
SELECT c.backtest_id, c.customer_id, u.component, u.position::integer,
       coalesce(u.normalized, -1), c.realized_spend, c.realized_purchases, c.realized_influence
FROM customer_score.backtest_customers c
JOIN customer_score.backtests b ON b.backtest_id = c.backtest_id
CROSS JOIN LATERAL unnest(b.components, c.normalized) WITH ORDINALITY u(component, normalized, position)
UNION ALL
SELECT c.backtest_id, c.customer_id, 'popularity', 1000000, c.popularity, c.realized_spend, c.realized_purchases, c.realized_influence
FROM customer_score.backtest_customers c;
COMMENT ON VIEW customer_score.backtest_subjects IS
    'Every ranking a backtest compares, one row per backtest, subject and customer: subject ''score'', each component''s name (its normalised value; not observed ranks below every observed value) and ''popularity'' (reactions received), with what the customer realized.';

CREATE VIEW customer_score.backtest_metrics WITH (security_invoker = true) AS
SELECT s.backtest_id, s.subject, m.metric, m.value, s.customers
FROM (SELECT backtest_id, subject, min(position) AS position, count(*) AS customers,
             customer_score.normalized_gini(ranking, realized_spend) AS gini,
             customer_score.top_decile_capture(ranking, realized_spend) AS top_decile_capture,
             customer_score.spearman(ranking, realized_spend) AS spearman
      FROM customer_score.backtest_subjects
      GROUP BY backtest_id, subject) s
CROSS JOIN LATERAL (VALUES (1, 'gini', s.gini), (2, 'top_decile_capture', s.top_decile_capture),
                           (3, 'spearman', s.spearman)) m(n, metric, value)
ORDER BY s.backtest_id, s.position, m.n;
COMMENT ON VIEW customer_score.backtest_metrics IS
    'How well each subject of a backtest (score, each component, popularity) ranked the customers by realized spend in (as_of, until]: normalised Gini (1 perfect, 0 chance), top-decile capture (share of realized spend held by the top 10 %) and Spearman correlation. One row per backtest, subject and metric; value NULL where the data cannot define it (e.g. nothing realized).';
COMMENT ON COLUMN customer_score.backtest_metrics.subject IS '''score'', a component''s name, or ''popularity''.';
COMMENT ON COLUMN customer_score.backtest_metrics.metric IS 'gini (normalised), top_decile_capture or spearman, all on realized spend.';
COMMENT ON COLUMN customer_score.backtest_metrics.customers IS 'Customers the metric is over: every customer of the backtest.';

CREATE VIEW customer_score.backtest_calibration WITH (security_invoker = true) AS
SELECT p.backtest_id, k.decile, k.customers, k.mean_score AS mean_predicted_clv,
       k.mean_realized AS mean_realized_spend, k.realized AS realized_spend
FROM (SELECT c.backtest_id, customer_score.outcome_partial(c.predicted_clv, c.realized_spend) AS state
      FROM customer_score.backtest_customers c
      WHERE c.predicted_clv IS NOT NULL
      GROUP BY c.backtest_id) p
CROSS JOIN LATERAL customer_score.calibration(p.state) k;
COMMENT ON VIEW customer_score.backtest_calibration IS
    'Calibration of each backtest with a predicted_clv component: the customers where it was observed in ten groups by predicted CLV, highest first, with the mean predicted CLV and the mean realized spend (realized over (as_of, until], predicted over the model''s horizon: compare them when the two periods match).';

-- Phase of backtest: the customers' outcomes in (as_of, until] and their popularity at as_of,
-- into scratch tables pg_temp.cs_bt_*.  The sources are read as refresh reads them (as the role that set
-- them, read-only) under the snapshot of the refresh run; opted-out customers' actions are left out.
CREATE FUNCTION customer_score.backtest_outcomes(run bigint, until timestamptz) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r        customer_score.score_runs;
    v        customer_score.model_versions;
    tx_rel   regclass;
    tx_role  regrole;
    tx_zone  text;
    t        text;
BEGIN
    r := customer_score.refresh_run(run);
    SELECT * INTO v FROM customer_score.model_versions mv WHERE mv.model = r.model AND mv.version = r.version;
    IF until IS NULL OR NOT isfinite(until) OR until <= r.as_of THEN
        RAISE EXCEPTION 'until (%) must be a finite time after the run''s as_of (%)', until, r.as_of
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT s.relation, s.configured_by, s.time_zone INTO tx_rel, tx_role, tx_zone
    FROM customer_score.source_relation('transactions', r.model) s;
    FOREACH t IN ARRAY ARRAY['cs_bt_opt_outs', 'cs_bt_spend', 'cs_bt_popularity', 'cs_bt_influence'] LOOP
        IF pg_catalog.to_regclass('pg_temp.' || t) IS NOT NULL THEN
            EXECUTE format('DROP TABLE pg_temp.%I', t);
        END IF;
    END LOOP;
    -- Scratch tables without indexes, joined once by hash at the end: an indexed temp table
    -- updated row by row thrashes temp_buffers on a million customers.
    CREATE TEMP TABLE cs_bt_spend (customer_id bigint, spend double precision, purchases bigint) ON COMMIT DROP;
    CREATE TEMP TABLE cs_bt_popularity (customer_id bigint, popularity double precision) ON COMMIT DROP;
    CREATE TEMP TABLE cs_bt_influence (customer_id bigint, influence double precision) ON COMMIT DROP;
    IF tx_rel IS NOT NULL THEN
        -- through refresh_read, so text, varchar and uuid ids get the run's numbers; at on the
        -- source's calendar (source_at), as refresh reads it, whatever this session's TimeZone;
        -- added in time order, so the sum is the same however a Citus shard holds the rows
        PERFORM customer_score.refresh_read(run, tx_role, format($q$
            SELECT @customer_id@, sum(amount::double precision ORDER BY %2$s, amount), count(*) FROM %1$s
            WHERE %2$s > %3$L::timestamptz AND %2$s <= %4$L::timestamptz AND customer_id IS NOT NULL AND amount IS NOT NULL
            GROUP BY customer_id$q$, tx_rel, customer_score.source_at(tx_rel, tx_zone), r.as_of, until),
            'cs_bt_spend', 'spend double precision, purchases bigint');
    END IF;
    -- the actions as refresh reads them (once per run: refresh_influence may have already)
    IF customer_score.refresh_read_actions(run) THEN
        PERFORM customer_score.refresh_progress(run, 'backtest: popularity and realized influence', r.started_at);
        -- popularity: likes, follows and shares by others of the customer's actions, by as_of
        INSERT INTO pg_temp.cs_bt_popularity
        SELECT s.customer_id, count(*)
        FROM pg_temp.cs_source_actions x JOIN pg_temp.cs_source_actions s ON s.id = x.sparked_by
        WHERE x.kind IN ('like', 'follow', 'share') AND x.customer_id <> s.customer_id AND x.at <= r.as_of
        GROUP BY s.customer_id;
        -- realized influence: what conversions in (as_of, until] credited.  Actions up to as_of
        -- keep their place in the cascades but carry no money, so one walk to until counts
        -- exactly the money of the later ones (no age decay: it would depend on the as_of)
        INSERT INTO pg_temp.cs_bt_influence
        SELECT l.customer_id, l.influence_value
        FROM customer_score.influence(format($q$
                 SELECT id, customer_id, sparked_by, at, CASE WHEN at > %L THEN value ELSE 0 END AS value, channel, kind
                 FROM pg_temp.cs_source_actions$q$, r.as_of),
                 until, v.max_depth, v.depth_decay, v.max_gap) l
        WHERE l.influence_value > 0;
        CREATE TEMP TABLE cs_bt_opt_outs ON COMMIT DROP AS SELECT DISTINCT customer_id FROM pg_temp.cs_opt_outs;
    ELSE
        PERFORM customer_score.refresh_read_opt_outs(run);
        CREATE TEMP TABLE cs_bt_opt_outs ON COMMIT DROP AS SELECT DISTINCT customer_id FROM pg_temp.cs_opt_outs;
    END IF;
    ANALYZE pg_temp.cs_bt_opt_outs;
    ANALYZE pg_temp.cs_bt_spend;
    ANALYZE pg_temp.cs_bt_popularity;
    ANALYZE pg_temp.cs_bt_influence;
END
$$;
COMMENT ON FUNCTION customer_score.backtest_outcomes(bigint, timestamptz) IS
    'Internal phase of backtest: realized spend and purchases, realized influence in (as_of, until] and popularity at as_of per customer of a running refresh run, and the opt-outs, into scratch tables (pg_temp.cs_bt_*); the sources read as the refresh reads them (refresh_read_actions), opted-out customers'' actions left out.';

CREATE FUNCTION customer_score.backtest(model text, as_of timestamptz, until timestamptz) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    run  bigint;
    id   bigint;
    r    customer_score.score_runs;
    n    bigint;
    nestloop text;
BEGIN
    IF as_of IS NULL OR until IS NULL OR NOT isfinite(as_of) OR NOT isfinite(until) THEN
        RAISE EXCEPTION 'as_of and until must be finite timestamps' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF until <= as_of THEN
        RAISE EXCEPTION 'until (%) must be later than as_of (%)', until, as_of USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF until > now() THEN
        RAISE EXCEPTION 'until (%) is in the future: outcomes after now are not known yet', until
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- the scores as refresh makes them, phase by phase, but never stored as done: the run stays
    -- 'running' (no view shows it) and is removed again below, in this transaction, so the live
    -- scores are untouched
    run := customer_score.refresh_begin(backtest.model, backtest.as_of);
    PERFORM customer_score.refresh_lifetime_value(run);
    PERFORM customer_score.refresh_influence(run);
    PERFORM customer_score.refresh_signals(run);
    n := customer_score.refresh_normalise_and_score(run);
    IF n = 0 THEN
        RAISE EXCEPTION 'backtest of model %: no customer to score as of %', backtest.model, backtest.as_of
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT * INTO r FROM customer_score.score_runs sr WHERE sr.run_id = run;
    INSERT INTO customer_score.backtests (model, version, as_of, until, components, weights, missing,
                                          purchase_model, spend_model)
    VALUES (r.model, r.version, r.as_of, backtest.until, r.components, r.weights,
            (SELECT array_agg(mc.missing ORDER BY mc.position) FROM customer_score.model_components mc
             WHERE mc.model = r.model AND mc.version = r.version),
            r.purchase_model, r.spend_model)
    RETURNING backtest_id INTO id;

    PERFORM customer_score.refresh_progress(run, format('backtest %s: realized spend to %s', id, until), r.started_at);
    PERFORM customer_score.backtest_outcomes(run, until);
    PERFORM customer_score.refresh_progress(run, format('backtest %s: storing the scores and outcomes', id), r.started_at);
    -- the statistics of scores_history know nothing of the run just written (about one row, they
    -- say), and a nested loop over a million rows is what that estimate buys: hash joins only
    nestloop := pg_catalog.current_setting('enable_nestloop');
    PERFORM pg_catalog.set_config('enable_nestloop', 'off', true);
    INSERT INTO customer_score.backtest_customers
    SELECT id, h.customer_id, h.score, h.normalized, h.raw[array_position(r.components, 'predicted_clv')], coalesce(p.popularity, 0),
           coalesce(s.spend, 0), coalesce(s.purchases, 0), coalesce(i.influence, 0)
    FROM customer_score.scores_history h
    LEFT JOIN pg_temp.cs_bt_spend s ON s.customer_id = h.customer_id
    LEFT JOIN pg_temp.cs_bt_popularity p ON p.customer_id = h.customer_id
    LEFT JOIN pg_temp.cs_bt_influence i ON i.customer_id = h.customer_id
    -- an anti-join Citus can plan with scores_history distributed (not a NOT EXISTS subquery)
    LEFT JOIN pg_temp.cs_bt_opt_outs x ON x.customer_id = h.customer_id
    WHERE h.run_id = run AND x.customer_id IS NULL
    ORDER BY h.customer_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM pg_catalog.set_config('enable_nestloop', nestloop, true);
    PERFORM customer_score.refresh_progress(run, format('backtest %s: removing its scratch run', id), r.started_at);
    DELETE FROM customer_score.score_runs sr WHERE sr.run_id = run;
    DROP TABLE pg_temp.cs_bt_opt_outs, pg_temp.cs_bt_spend, pg_temp.cs_bt_popularity, pg_temp.cs_bt_influence;
    UPDATE customer_score.backtests b SET finished_at = clock_timestamp(), customers = n WHERE b.backtest_id = id;
    PERFORM customer_score.refresh_progress(run, format('backtest %s done: %s customers', id, n), r.started_at);
    RETURN id;
END
$$;
COMMENT ON FUNCTION customer_score.backtest(text, timestamptz, timestamptz) IS
    'Score every customer with the latest published version of a model as of a past time, as refresh would, and compare with what happened in (as_of, until]: realized spend, purchases and influence, and the popularity baseline (reactions received). Returns the backtest id; see backtest_metrics and backtest_calibration. The scores go to backtest_customers only, never to the live scores; opted-out customers are left out.';

--------------------------------------------------------------------------
-- Learned component weights
--------------------------------------------------------------------------

-- The composite a weight vector gives, with refresh's rules: each component's normalised value
-- (or what its missing policy counts instead), weighted, over the weights that count.  A
-- customer with no counted component gets 0, as refresh gives it.
CREATE FUNCTION customer_score.composite(weights double precision[], normalized double precision[], missing text[])
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'composite_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.composite(double precision[], double precision[], text[]) IS
    'A composite score in 0..1 from weights and one customer''s normalised components (NULL where not observed), with refresh''s rules: a component not observed counts as its missing policy says (renormalize: left out, the other weights scaled up; neutral: 0.5; zero: 0). 0 when nothing counts. Weights finite and >= 0, the arrays of one length (else 22023).';

-- normalised Gini of one half of a backtest's customers under a weight vector
CREATE FUNCTION customer_score.learned_gini(backtest_id bigint, weights double precision[], fit_half boolean)
RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE
RETURN (SELECT customer_score.normalized_gini(customer_score.composite(learned_gini.weights, c.normalized, b.missing),
                                              c.realized_spend)
        FROM customer_score.backtest_customers c
        JOIN customer_score.backtests b ON b.backtest_id = c.backtest_id
        WHERE c.backtest_id = learned_gini.backtest_id
          AND (pg_catalog.hashint8(c.customer_id) % 2 = 0) = learned_gini.fit_half);
COMMENT ON FUNCTION customer_score.learned_gini(bigint, double precision[], boolean) IS
    'Internal to learn_weights: the normalised Gini of realized spend under a weight vector, over the fitting half of a backtest''s customers (fit_half) or the held-out half.';

CREATE FUNCTION customer_score.learn_weights(backtest_id bigint, note text DEFAULT NULL)
RETURNS TABLE (component text, weight_before double precision, weight_after double precision)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    b         customer_score.backtests;
    w         double precision[];
    best      double precision[];
    trial     double precision[];
    fit_best  double precision;
    fit_try   double precision;
    step      double precision := 0.2;
    k         integer;
    improved  boolean;
    before_fit double precision;
    before_out double precision;
    after_out  double precision;
    created    integer;
    no_gain    boolean;
BEGIN
    SELECT * INTO b FROM customer_score.backtests x WHERE x.backtest_id = learn_weights.backtest_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'backtest % does not exist', learn_weights.backtest_id USING ERRCODE = 'undefined_object';
    END IF;
    k := array_length(b.components, 1);
    -- start from the model's weights, scaled to sum to 1
    w := (SELECT array_agg(x / (SELECT sum(y) FROM unnest(b.weights) y) ORDER BY i) FROM unnest(b.weights) WITH ORDINALITY u(x, i));
    before_fit := customer_score.learned_gini(b.backtest_id, w, true);
    before_out := customer_score.learned_gini(b.backtest_id, w, false);
    IF before_fit IS NULL OR before_out IS NULL THEN
        RAISE EXCEPTION 'backtest % cannot rank its customers: nothing was realized in one of its halves', b.backtest_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    best := w;
    fit_best := before_fit;
    -- coordinate search on the simplex: move step of weight from one component to another while
    -- that improves the fitting half; halve the step when nothing does
    WHILE step >= 0.0125 LOOP
        improved := false;
        FOR i IN 1 .. k LOOP
            FOR j IN 1 .. k LOOP
                CONTINUE WHEN i = j OR best[i] <= 0;
                trial := best;
                trial[j] := trial[j] + least(step, trial[i]);
                trial[i] := greatest(trial[i] - step, 0);
                fit_try := customer_score.learned_gini(b.backtest_id, trial, true);
                IF fit_try > fit_best + 1e-9 THEN
                    best := trial;
                    fit_best := fit_try;
                    improved := true;
                END IF;
            END LOOP;
        END LOOP;
        IF NOT improved THEN
            step := step / 2;
        END IF;
    END LOOP;
    -- the guard: the weights must also do better on the customers they were not fitted on
    after_out := customer_score.learned_gini(b.backtest_id, best, false);
    no_gain := after_out <= before_out;
    IF no_gain THEN
        best := w;
    END IF;

    created := customer_score.new_version(b.model, coalesce(learn_weights.note, '') ||
        format('%sLearned from backtest %s (%s to %s): normalised Gini of realized spend on the fitting half %s -> %s, on the held-out half %s -> %s%s.',
               CASE WHEN learn_weights.note IS NULL THEN '' ELSE ' ' END, b.backtest_id, b.as_of, b.until,
               round(before_fit::numeric, 4), round(fit_best::numeric, 4),
               round(before_out::numeric, 4), round(after_out::numeric, 4),
               CASE WHEN no_gain THEN '; no gain held out, so the weights are unchanged' ELSE '' END));
    -- the draft: the backtested version's settings and components with the learned weights;
    -- a component learned as 0 is left out (every other keeps its missing-data policy)
    UPDATE customer_score.model_versions d
    SET scale = s.scale, time_unit = s.time_unit, horizon = s.horizon, clv_step = s.clv_step,
        discount_rate = s.discount_rate, max_depth = s.max_depth, depth_decay = s.depth_decay,
        max_gap = s.max_gap, half_life = s.half_life, use_unconverged_fits = s.use_unconverged_fits,
        tier_names = s.tier_names, tier_floors = s.tier_floors
    FROM customer_score.model_versions s
    WHERE s.model = b.model AND s.version = b.version AND d.model = b.model AND d.version = created;
    DELETE FROM customer_score.model_components mc WHERE mc.model = b.model AND mc.version = created;
    INSERT INTO customer_score.model_components (model, version, position, component, weight, direction, normalization, missing)
    SELECT mc.model, created, mc.position, mc.component, u.x, mc.direction, mc.normalization, mc.missing
    FROM customer_score.model_components mc
    JOIN unnest(b.components, best) u(c, x) ON u.c = mc.component
    WHERE mc.model = b.model AND mc.version = b.version AND u.x > 0;
    RETURN QUERY SELECT u.c, u.x0, u.x FROM unnest(b.components, w, best) u(c, x0, x);
END
$$;
COMMENT ON FUNCTION customer_score.learn_weights(bigint, text) IS
    'From a backtest, non-negative component weights summing to 1 that maximise the normalised Gini of realized spend on one half of its customers (by a hash of customer_id), kept only if they also beat the model''s weights on the other half; written as a new draft version of the model with a note stating the metric before and after. Components learned as 0 are left out of the draft; missing-data policies are kept. Never publishes.';

--------------------------------------------------------------------------
-- Data-driven action weights: what each (channel, kind) of touch is worth
--------------------------------------------------------------------------

CREATE FUNCTION customer_score.path_attribution(paths text[], conversions double precision[],
                                                nulls double precision[], "values" double precision[])
    RETURNS TABLE (state text, paths double precision, conversions double precision,
                   removal_effect double precision, markov_conversions double precision,
                   markov_value double precision, shapley_conversions double precision,
                   shapley_value double precision)
    AS 'MODULE_PATHNAME', 'path_attribution' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.path_attribution(text[], double precision[], double precision[], double precision[]) IS
    'Attribution over paths in ChannelAttribution''s form (one element per distinct path ''a > b > c'', with its conversions, non-converting ends and conversion value): per state the paths and conversions through it, the first-order Markov removal effect (1 - P(conversion without the state) / P(conversion), non-converting paths counted) with conversions and value shared in proportion to it, and the Shapley value of the distinct states of each path (a coalition worth the conversion rate of the paths with exactly those states) with each path''s conversions and value split by it.';

-- The opted-out customers' ids in the text form of a source's customer_id: for text, varchar and
-- uuid ids (keyed) the customer_key, or the key customer_keys holds for the customer_id; for
-- integer ids the customer_id's digits, or the customer_key.
CREATE FUNCTION customer_score.opt_out_keys(keyed boolean) RETURNS SETOF text
LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT o.customer_key FROM customer_score.opt_outs o WHERE o.customer_key IS NOT NULL
    UNION ALL
    SELECT CASE WHEN keyed THEN (SELECT k.customer_key FROM customer_score.customer_keys k
                                 WHERE k.customer_id = o.customer_id)
                ELSE o.customer_id::text END
    FROM customer_score.opt_outs o WHERE o.customer_id IS NOT NULL
$$;
COMMENT ON FUNCTION customer_score.opt_out_keys(boolean) IS
    'Internal: the opted-out customers'' ids as customer_id::text of a source gives them: for text, varchar and uuid ids (keyed) customer_key or the key customer_keys holds for customer_id, for integer ids customer_id''s digits or customer_key.';

-- The paths of customers who did not opt out: each conversion (an action with value > 0) ends
-- the path of the touches (actions with value 0) its customer made since their previous
-- conversion; touches after the last conversion make a path that did not convert.  A touch is
-- the state 'channel:kind'.
CREATE FUNCTION customer_score.action_paths(actions text, as_of timestamptz)
RETURNS TABLE (path text, conversions double precision, nulls double precision, value double precision)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bad     bigint;
    id_type regtype;
    keyed   boolean;
BEGIN
    IF as_of IS NULL OR NOT isfinite(as_of) THEN
        RAISE EXCEPTION 'as_of must be a finite timestamp' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('SELECT a.id FROM (%s) a WHERE a.value < 0 OR a.value::double precision = ''NaN'' LIMIT 1', actions)
        INTO bad;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'action % has a negative or NaN value', bad USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- opt-outs match the ids as text: text, varchar and uuid ids by key, integer ids by number
    EXECUTE format('SELECT pg_typeof(a.customer_id) FROM (%s) a LIMIT 1', actions) INTO id_type;
    SELECT coalesce(nullif(t.typbasetype, 0), t.oid) IN ('text'::regtype, 'character varying'::regtype, 'uuid'::regtype)
    INTO keyed FROM pg_catalog.pg_type t WHERE t.oid = id_type;
    RETURN QUERY EXECUTE format($q$
        WITH a AS (
            SELECT a.customer_id, a.id, a.at, coalesce(a.value, 0)::double precision AS value,
                   translate(coalesce(a.channel, '*'), ':>', '__') || ':' || translate(coalesce(a.kind, '*'), '>', '_') AS state
            FROM (%s) a
            WHERE a.at <= %L AND a.customer_id IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM customer_score.opt_out_keys(%L) o(k) WHERE o.k = a.customer_id::text)
        ), numbered AS (
            -- journey n of a customer: the actions after their n-th conversion, up to the next
            SELECT a.*, count(*) FILTER (WHERE a.value > 0) OVER (PARTITION BY a.customer_id ORDER BY a.at, a.id
                                                                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS journey
            FROM a
        ), journeys AS (
            SELECT customer_id, coalesce(journey, 0) AS journey,
                   string_agg(state, ' > ' ORDER BY at, id) FILTER (WHERE value = 0) AS path,
                   sum(value) FILTER (WHERE value > 0) AS value
            FROM numbered GROUP BY customer_id, coalesce(journey, 0)
        )
        SELECT path, count(*) FILTER (WHERE value IS NOT NULL)::double precision,
               count(*) FILTER (WHERE value IS NULL)::double precision, coalesce(sum(value), 0)::double precision
        FROM journeys WHERE path IS NOT NULL
        GROUP BY path ORDER BY path$q$, actions, as_of, coalesce(keyed, false));
END
$$;
COMMENT ON FUNCTION customer_score.action_paths(text, timestamptz) IS
    'The journeys in an actions query (columns customer_id, id, at, value, channel, kind) up to as_of, as paths for path_attribution: a conversion (value > 0) ends the path of its customer''s touches (value 0 or NULL) since their previous conversion, touches after the last one make a non-converting path; a state is ''channel:kind'' (with : and > in the names turned into _). A negative or NaN value is an error (22023). Opted-out customers are left out; journeys without touches are not paths. at is compared with as_of as the query gives it (a date or timestamp in the session TimeZone).';

CREATE FUNCTION customer_score.propose_action_weights(as_of timestamptz DEFAULT now(), model text DEFAULT 'default')
RETURNS TABLE (channel text, kind text, weight double precision, current_weight double precision,
               paths double precision, conversions double precision, value double precision,
               removal_effect double precision, markov_value double precision, shapley_value double precision)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    act_rel  regclass;
    act_role regrole;
    act_zone text;
BEGIN
    SELECT s.relation, s.configured_by, s.time_zone INTO act_rel, act_role, act_zone
    FROM customer_score.source_relation('actions', propose_action_weights.model) s;
    IF act_rel IS NULL THEN
        RAISE EXCEPTION 'there is no actions source' USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = 'SELECT customer_score.set_source(''actions'', ''my_actions''::regclass);';
    END IF;
    -- read as refresh reads it: as the role that set it, read-only, at on the source's calendar
    -- (source_at), so that the paths up to as_of do not depend on this session's TimeZone
    IF pg_catalog.to_regclass('pg_temp.cs_path_actions') IS NOT NULL THEN
        DROP TABLE pg_temp.cs_path_actions;
    END IF;
    IF customer_score.source_keyed(act_rel) THEN   -- text, varchar and uuid ids, read as text
        CREATE TEMP TABLE cs_path_actions ON COMMIT DROP AS
        SELECT a.* FROM customer_score.read_as(act_role, format($q$
            SELECT id::bigint, customer_id::text, %s, value::double precision, channel::text, kind::text
            FROM %s$q$, customer_score.source_at(act_rel, act_zone), act_rel), 0)
            AS a(id bigint, customer_id text, at timestamptz, value double precision, channel text, kind text);
    ELSE
        CREATE TEMP TABLE cs_path_actions ON COMMIT DROP AS
        SELECT a.* FROM customer_score.read_as(act_role, format($q$
            SELECT id::bigint, customer_id::bigint, %s, value::double precision, channel::text, kind::text
            FROM %s$q$, customer_score.source_at(act_rel, act_zone), act_rel), 0)
            AS a(id bigint, customer_id bigint, at timestamptz, value double precision, channel text, kind text);
    END IF;
    RETURN QUERY
    WITH p AS (SELECT * FROM customer_score.action_paths('SELECT * FROM pg_temp.cs_path_actions', as_of)),
    attributed AS (
        SELECT x.* FROM customer_score.path_attribution(
            (SELECT coalesce(array_agg(p.path ORDER BY p.path), '{}') FROM p),
            (SELECT coalesce(array_agg(p.conversions ORDER BY p.path), '{}') FROM p),
            (SELECT coalesce(array_agg(p.nulls ORDER BY p.path), '{}') FROM p),
            (SELECT coalesce(array_agg(p.value ORDER BY p.path), '{}') FROM p)) x),
    touches AS (   -- per state: visits (repeats in a row count once) and the value of the paths through it
        SELECT v.state, sum(v.visits * (p.conversions + p.nulls)) AS visits, sum(p.value) AS value
        FROM p, LATERAL (SELECT s.state, count(*) FILTER (WHERE s.prev IS DISTINCT FROM s.state) AS visits
                         FROM (SELECT btrim(x) AS state, lag(btrim(x)) OVER (ORDER BY o) AS prev
                               FROM unnest(string_to_array(p.path, ' > ')) WITH ORDINALITY u(x, o)) s
                         GROUP BY s.state) v
        GROUP BY v.state)
    SELECT k.channel, k.kind,
           a.markov_value / t.visits,   -- the conversion value one such touch leads to
           customer_score.action_weight(k.channel, k.kind),
           a.paths, a.conversions, t.value, a.removal_effect, a.markov_value, a.shapley_value
    FROM attributed a
    JOIN touches t ON t.state = a.state
    CROSS JOIN LATERAL (SELECT split_part(a.state, ':', 1) AS channel,
                               substr(a.state, length(split_part(a.state, ':', 1)) + 2) AS kind) k
    ORDER BY 1, 2;
    DROP TABLE pg_temp.cs_path_actions;
END
$$;
COMMENT ON FUNCTION customer_score.propose_action_weights(timestamptz, text) IS
    'Data-driven action weights from the actions source (of the model, or the shared one) up to as_of (opted-out customers left out): per (channel, kind) the proposed weight (the conversion value its Markov removal effect earns, per touch), the current action_weight, and the evidence: paths through it, their conversions and conversion value, the removal effect and the Markov and Shapley value. Proposes only: insert the rows you accept into action_weights.';

GRANT SELECT ON customer_score.backtest_metrics, customer_score.backtest_calibration, customer_score.backtest_subjects TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON customer_score.backtests, customer_score.backtest_customers TO @extowner@ WITH GRANT OPTION;
GRANT USAGE, SELECT, UPDATE ON SEQUENCE customer_score.backtests_backtest_id_seq TO @extowner@ WITH GRANT OPTION;
SELECT pg_catalog.pg_extension_config_dump('customer_score.backtests', '');
SELECT pg_catalog.pg_extension_config_dump('customer_score.backtests_backtest_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('customer_score.backtest_customers', '');
-- @end outcomes
