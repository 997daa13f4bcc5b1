-- Real CRM data (issue 11): the purchase rule (src/purchase_rule.h, docs/scores.md "How
-- transactions are counted") for rfm, the live-score trigger, recount_live_days and live_scores;
-- predicted_clv, the CLV that refresh and live_scores both show.

CREATE OR REPLACE FUNCTION customer_score.rfm_transfn(customer_score.rfm_state, timestamptz, double precision, timestamptz, interval)
    RETURNS customer_score.rfm_state
    AS 'MODULE_PATHNAME', 'rfm_transfn_rule' LANGUAGE C STABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION customer_score.rfm_transfn_days(customer_score.rfm_state, timestamptz, double precision, timestamptz)
    RETURNS customer_score.rfm_state
    AS 'MODULE_PATHNAME', 'rfm_transfn_days_rule' LANGUAGE C STABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION customer_score.rfm_finalfn(customer_score.rfm_state)
    RETURNS customer_score.rfm_summary
    AS 'MODULE_PATHNAME', 'rfm_finalfn_rule' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION customer_score.rfm(state customer_score.rfm_state) RETURNS customer_score.rfm_summary
    AS 'MODULE_PATHNAME', 'rfm_finalfn_rule' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON AGGREGATE customer_score.rfm(timestamptz, double precision, timestamptz, interval) IS
    'Summarise one customer''s transactions (at, amount) as observed at as_of, with recency and t in unit: purchases on one calendar day (session TimeZone) form one occasion; a day whose amounts net below 0 is a refund day, no occasion, netted against the occasion before it; a NULL amount is a purchase of value 0; rows after as_of or without a time are ignored (docs/scores.md, How transactions are counted).';

CREATE FUNCTION customer_score.predicted_clv(purchases customer_score.bgnbd, spend customer_score.gamma_gamma,
        frequency integer, recency double precision, t double precision, monetary double precision,
        horizon double precision, discount_rate double precision, step double precision)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'predicted_clv' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION customer_score.predicted_clv(customer_score.bgnbd, customer_score.gamma_gamma, integer, double precision, double precision, double precision, double precision, double precision, double precision) IS
    'clv as refresh and live_scores use it: NULL when an argument or model is NULL or the spend model gives no finite expected spend for the customer (p * frequency + q <= 1); 0 for a repeat customer whose repeat purchases net to nothing (monetary 0: everything refunded, or data without spend); otherwise clv(...).';

CREATE FUNCTION customer_score.purchase_days_history(customer_score.purchase_days, until date,
                                                     OUT frequency integer, OUT first_day date, OUT last_day date,
                                                     OUT monetary double precision, OUT total numeric, OUT purchases bigint)
    RETURNS record
    AS 'MODULE_PATHNAME', 'purchase_days_history' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION customer_score.purchase_days_history(customer_score.purchase_days, date) IS
    'The purchase history of the days up to until under the purchase rule (docs/scores.md, How transactions are counted): a day whose amounts net below 0 is a refund day, no occasion, netted against the occasion before it; frequency = occasions - 1, the first and last occasion, monetary = the value from the second occasion on per repeat occasion (0 if not positive), total = all amounts, purchases = rows. NULL without an occasion. live_scores reads each customer with it.';

COMMENT ON TABLE customer_score.live_customers IS
    'The live state: per customer of the tracked transactions table, the purchase days packed in one value (per day the exact sum of the amounts and the number of rows), kept current by the track_transactions() triggers. Rows with a NULL customer_id or at, or a non-finite at or amount, are not counted; a NULL amount counts as 0 (docs/scores.md, How transactions are counted). live_days shows it one row per day.';

CREATE OR REPLACE FUNCTION customer_score.track_transactions() RETURNS trigger
    AS 'MODULE_PATHNAME', 'track_transactions_trigger_rule' LANGUAGE C;

CREATE OR REPLACE FUNCTION customer_score.recount_live_days(relation regclass)
    RETURNS TABLE (customer_id bigint, day date, amount numeric, rows bigint)
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    at_type text := customer_score.live_columns(relation);
    tz text;
BEGIN
    -- the time zone the relation is tracked with, else the session's
    SELECT t.time_zone INTO tz FROM customer_score.live_tracking t WHERE t.relation = recount_live_days.relation;
    tz := coalesce(tz, current_setting('TimeZone'));
    -- the same rule as the trigger (src/purchase_rule.h): customer_id and at present, at finite,
    -- amount finite or NULL (a purchase of value 0)
    RETURN QUERY EXECUTE format(
        $q$SELECT x.customer_id::bigint, %s, sum(coalesce(x.amount::numeric, 0)), count(*)
           FROM %s x
           WHERE x.customer_id IS NOT NULL AND isfinite(x.at)
             AND (x.amount IS NULL OR abs(x.amount::numeric) < 'Infinity'::numeric)
           GROUP BY 1, 2$q$,
        CASE at_type WHEN 'timestamptz' THEN 'customer_score.live_local_time(x.at, $1)::date' ELSE 'x.at::date' END,
        relation)
        USING tz;
END
$fn$;

CREATE OR REPLACE VIEW customer_score.live_scores WITH (security_invoker = true) AS
SELECT h.customer_id,
       r.model,
       r.version,
       r.run_id,
       h.frequency,
       x.recency,
       x.t,
       h.monetary,
       h.total,
       h.purchases,
       customer_score.p_alive(r.purchase_model, h.frequency, x.recency, x.t) AS p_alive,
       customer_score.expected_purchases(r.purchase_model, r.horizon, h.frequency, x.recency, x.t) AS expected_purchases,
       customer_score.predicted_clv(r.purchase_model, r.spend_model, h.frequency, x.recency, x.t, h.monetary,
                                    r.horizon, r.step_discount_rate, r.clv_step) AS clv,
       h.as_of
FROM (
    -- per customer, its days up to today on the tracked time zone's calendar (no row
    -- when nothing is tracked), summed by purchase_days_summary from the packed state
    SELECT c.customer_id,
           s.frequency,
           s.last_day - s.first_day AS recency_days,
           extract(epoch FROM n.local_now - s.first_day::timestamp)::double precision AS t_seconds,
           s.monetary,
           s.total,
           s.purchases,
           now() AS as_of
    FROM (SELECT customer_score.live_local_time(now(), z.time_zone) AS local_now FROM customer_score.live_tracking z) n
    CROSS JOIN customer_score.live_customers c
    CROSS JOIN LATERAL customer_score.purchase_days_history(c.days, n.local_now::date) s
    WHERE s.frequency IS NOT NULL
) h
CROSS JOIN (
    SELECT DISTINCT ON (s.model)
           s.run_id, s.model, s.version, s.purchase_model, s.spend_model, s.horizon, s.clv_step,
           extract(epoch FROM s.time_unit)::double precision AS unit_seconds,
           power(1 + s.discount_rate, s.clv_step * extract(epoch FROM s.time_unit)::double precision / 86400 / 365.25) - 1
               AS step_discount_rate
    FROM customer_score.score_runs s
    WHERE s.status = 'done'
    ORDER BY s.model, s.finished_at DESC NULLS LAST, s.run_id DESC
) r
CROSS JOIN LATERAL (
    SELECT h.recency_days * 86400 / r.unit_seconds AS recency,
           h.t_seconds / r.unit_seconds AS t
) x;

COMMENT ON COLUMN customer_score.live_scores.frequency IS 'Repeat purchase days: purchase days (refund days not counted) - 1.';

COMMENT ON COLUMN customer_score.live_scores.monetary IS 'Mean value of the repeat purchase days, refund days netted against the purchase day before them (0 without any, or when not positive).';

COMMENT ON COLUMN customer_score.live_scores.clv IS
    'Predicted lifetime value over the run''s horizon, in clv_step steps, discounted at the run''s yearly discount_rate converted to the step (predicted_clv, as refresh computes it). NULL without a spend model or where the spend model gives no finite expected spend (p * frequency + q <= 1); 0 for a repeat customer whose repeat purchases net to nothing.';

CREATE OR REPLACE FUNCTION customer_score.refresh(model text DEFAULT 'default', as_of timestamptz DEFAULT now())
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v           customer_score.model_versions;
    run         bigint;
    started     timestamptz := clock_timestamp();
    tx_rel      regclass;
    act_rel     regclass;
    sig_rel     regclass;
    comps       text[];
    weights     double precision[];
    dirs        text[];
    norms       text[];
    missings    text[];
    n           integer;
    bg          customer_score.bgnbd;
    gg          customer_score.gamma_gamma;
    unit_days   double precision;
    step_rate   double precision;
    needs_tx    boolean;
    needs_act   boolean;
    raw_cols    text := '';
    norm_cols   text := '';
    sig_joins   text := '';
    expr        text;
    nexpr       text;
    c           text;
    n_tx        bigint := 0;
    n_act       bigint := 0;
    n_customers bigint;
BEGIN
    IF as_of IS NULL OR NOT isfinite(as_of) THEN
        RAISE EXCEPTION 'as_of must be a finite timestamp' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO v FROM customer_score.model_versions mv
    WHERE mv.model = refresh.model AND mv.status = 'published'
    ORDER BY mv.version DESC LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" has no published version', refresh.model
            USING ERRCODE = 'undefined_object',
                  HINT = 'Create one with customer_score.new_version() and customer_score.publish().';
    END IF;
    -- one refresh of a model at a time; readers are never blocked (they see the last finished run)
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('customer_score.refresh'), pg_catalog.hashtext(refresh.model));

    SELECT array_agg(mc.component ORDER BY mc.position), array_agg(mc.weight ORDER BY mc.position),
           array_agg(mc.direction ORDER BY mc.position), array_agg(mc.normalization ORDER BY mc.position),
           array_agg(mc.missing ORDER BY mc.position)
    INTO comps, weights, dirs, norms, missings
    FROM customer_score.model_components mc WHERE mc.model = v.model AND mc.version = v.version;
    n := array_length(comps, 1);

    SELECT s.relation INTO tx_rel FROM customer_score.sources s WHERE s.kind = 'transactions';
    SELECT s.relation INTO act_rel FROM customer_score.sources s WHERE s.kind = 'actions';
    SELECT s.relation INTO sig_rel FROM customer_score.sources s WHERE s.kind = 'signals';
    needs_tx := comps && ARRAY['predicted_clv', 'historic_value', 'p_alive', 'referral_value'];
    needs_act := comps && ARRAY['influence_value', 'influence_points', 'referral_value', 'knowledge'];
    IF tx_rel IS NULL AND needs_tx THEN
        RAISE EXCEPTION 'model %/% needs a transactions source', v.model, v.version
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'SELECT customer_score.set_source(''transactions'', ''my_transactions''::regclass);';
    END IF;
    IF sig_rel IS NULL AND EXISTS (SELECT 1 FROM unnest(comps) u(name)
                                   WHERE u.name NOT IN (SELECT name FROM customer_score.components)) THEN
        RAISE EXCEPTION 'model %/% has components that are not built in but no signals source', v.model, v.version
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    INSERT INTO customer_score.score_runs (model, version, as_of, components, weights, time_unit, horizon,
                                           clv_step, discount_rate, scale)
    VALUES (v.model, v.version, as_of, comps, weights, v.time_unit, v.horizon, v.clv_step, v.discount_rate, v.scale)
    RETURNING run_id INTO run;

    -- scratch tables of an earlier refresh in the same transaction
    FOREACH c IN ARRAY ARRAY['cs_rfm', 'cs_ltv', 'cs_actions', 'cs_influence', 'cs_referral', 'cs_knowledge',
                             'cs_signals', 'cs_population', 'cs_raw'] LOOP
        IF pg_catalog.to_regclass('pg_temp.' || c) IS NOT NULL THEN
            EXECUTE format('DROP TABLE pg_temp.%I', c);
        END IF;
    END LOOP;

    -- lifetime value: rfm per customer, the fits, the predictions.  The rfm rows go to a scratch
    -- table without an index and cs_ltv is written once, predictions included, then indexed:
    -- inserting rows in hash order into an indexed temp table, then updating every row, thrashes
    -- temp_buffers (8MB by default) and took twice as long on a million customers.
    unit_days := extract(epoch FROM v.time_unit) / 86400.0;
    step_rate := power(1 + v.discount_rate, v.clv_step * unit_days / 365.25) - 1;
    IF tx_rel IS NOT NULL THEN
        CREATE TEMP TABLE cs_rfm (customer_id bigint, frequency integer, recency double precision,
                                  t double precision, monetary double precision, total double precision,
                                  purchases integer) ON COMMIT DROP;
        PERFORM customer_score.refresh_progress(run, 'purchase histories (rfm)', started);
        EXECUTE format($q$
            INSERT INTO pg_temp.cs_rfm (customer_id, frequency, recency, t, monetary, total, purchases)
            SELECT customer_id, (r).frequency, (r).recency, (r).t, (r).monetary, (r).total, (r).purchases
            FROM (SELECT customer_id::bigint AS customer_id,
                         customer_score.rfm(at::timestamptz, amount::double precision, %L::timestamptz, %L::interval) AS r
                  FROM %s GROUP BY customer_id) s
            WHERE customer_id IS NOT NULL AND r IS NOT NULL$q$, as_of, v.time_unit, tx_rel);
        -- the transactions counted: the rows the histories were made of (a second scan cost 1 s)
        SELECT coalesce(sum(l.purchases), 0) INTO n_tx FROM pg_temp.cs_rfm l;

        PERFORM customer_score.refresh_progress(run, 'fitting BG/NBD and Gamma-Gamma', started);
        SELECT customer_score.bgnbd_fit(l.frequency, l.recency, l.t),
               customer_score.gamma_gamma_fit(l.frequency, l.monetary) FILTER (WHERE l.monetary > 0)
        INTO bg, gg FROM pg_temp.cs_rfm l;

        PERFORM customer_score.refresh_progress(run, 'predicting P(alive) and CLV', started);
        CREATE TEMP TABLE cs_ltv (customer_id bigint, frequency integer, recency double precision,
                                  t double precision, monetary double precision, total double precision,
                                  p_alive double precision, predicted_clv double precision) ON COMMIT DROP;
        IF bg IS NOT NULL THEN
            INSERT INTO pg_temp.cs_ltv
            SELECT l.customer_id, l.frequency, l.recency, l.t, l.monetary, l.total,
                   customer_score.p_alive(bg, l.frequency, l.recency, l.t),
                   customer_score.predicted_clv(bg, gg, l.frequency, l.recency, l.t, l.monetary,
                                                v.horizon, step_rate, v.clv_step)
            FROM pg_temp.cs_rfm l;
        ELSE
            INSERT INTO pg_temp.cs_ltv (customer_id, frequency, recency, t, monetary, total)
            SELECT l.customer_id, l.frequency, l.recency, l.t, l.monetary, l.total FROM pg_temp.cs_rfm l;
        END IF;
        DROP TABLE pg_temp.cs_rfm;
        ALTER TABLE pg_temp.cs_ltv ADD PRIMARY KEY (customer_id);
        ANALYZE pg_temp.cs_ltv;
    ELSE
        CREATE TEMP TABLE cs_ltv (customer_id bigint PRIMARY KEY, frequency integer, recency double precision,
                                  t double precision, monetary double precision, total double precision,
                                  p_alive double precision, predicted_clv double precision) ON COMMIT DROP;
    END IF;

    -- influence: the actions of customers who did not opt out, and nobody else's
    CREATE TEMP TABLE cs_actions (id bigint, customer_id bigint, sparked_by bigint, at timestamptz, kind text) ON COMMIT DROP;
    CREATE TEMP TABLE cs_influence (customer_id bigint PRIMARY KEY, influence_value double precision,
                                    influence_points double precision) ON COMMIT DROP;
    CREATE TEMP TABLE cs_referral (customer_id bigint PRIMARY KEY, value double precision) ON COMMIT DROP;
    CREATE TEMP TABLE cs_knowledge (customer_id bigint PRIMARY KEY, actions bigint) ON COMMIT DROP;
    IF act_rel IS NOT NULL AND needs_act THEN
        PERFORM customer_score.refresh_progress(run, 'influence', started);
        EXECUTE format($q$
            INSERT INTO pg_temp.cs_actions
            SELECT a.id, a.customer_id, a.sparked_by, a.at, a.kind FROM %s a
            WHERE a.at <= %L AND a.customer_id IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM customer_score.opt_outs o WHERE o.customer_id = a.customer_id)$q$,
            act_rel, as_of);
        GET DIAGNOSTICS n_act = ROW_COUNT;
        ANALYZE pg_temp.cs_actions;
        INSERT INTO pg_temp.cs_influence
        SELECT i.customer_id, i.influence_value, i.influence_points
        FROM customer_score.influence(
                 format($q$SELECT a.* FROM %s a
                           WHERE NOT EXISTS (SELECT 1 FROM customer_score.opt_outs o WHERE o.customer_id = a.customer_id)$q$,
                        act_rel),
                 as_of, v.max_depth, v.depth_decay, v.max_gap, v.half_life) i;

        -- referral value: the predicted CLV of customers whose first purchase or sign-up a customer sparked
        INSERT INTO pg_temp.cs_referral
        SELECT s.customer_id, sum(coalesce(l.predicted_clv, 0))
        FROM (SELECT DISTINCT ON (a.customer_id) a.customer_id, a.sparked_by
              FROM pg_temp.cs_actions a WHERE a.kind IN ('purchase', 'signup')
              ORDER BY a.customer_id, a.at, a.id) f
        JOIN pg_temp.cs_actions s ON s.id = f.sparked_by AND s.customer_id <> f.customer_id
        LEFT JOIN pg_temp.cs_ltv l ON l.customer_id = f.customer_id
        GROUP BY s.customer_id;

        -- knowledge: actions others took after this customer's answers, reviews, posts, videos or talks
        INSERT INTO pg_temp.cs_knowledge
        SELECT s.customer_id, count(*)
        FROM pg_temp.cs_actions a
        JOIN pg_temp.cs_actions s ON s.id = a.sparked_by
        WHERE s.kind IN ('answer', 'review', 'blog_post', 'video', 'talk')
          AND a.customer_id <> s.customer_id AND a.at >= s.at AND a.at - s.at <= v.max_gap
        GROUP BY s.customer_id;
    END IF;

    CREATE TEMP TABLE cs_signals (customer_id bigint, component text, value double precision) ON COMMIT DROP;
    IF sig_rel IS NOT NULL THEN
        EXECUTE format($q$
            INSERT INTO pg_temp.cs_signals
            SELECT customer_id, component, avg(value) FROM %s
            WHERE customer_id IS NOT NULL AND component = ANY (%L::text[]) AND value IS NOT NULL
              AND value::double precision BETWEEN '-1e300' AND '1e300'
            GROUP BY customer_id, component$q$, sig_rel, comps);
    END IF;

    -- the scored population: everyone with a transaction, an action or a signal.  In customer order,
    -- which the joins below keep, so that the scores go into scores_history's index in key order
    -- (in hash order, every row was a random descent of the index: 2 s more on a million customers).
    PERFORM customer_score.refresh_progress(run, 'normalising and scoring', started);
    CREATE TEMP TABLE cs_population ON COMMIT DROP AS
    SELECT u.customer_id FROM (SELECT customer_id FROM pg_temp.cs_ltv
                               UNION SELECT customer_id FROM pg_temp.cs_actions
                               UNION SELECT customer_id FROM pg_temp.cs_signals) u
    ORDER BY u.customer_id;

    -- one raw column per component; NULL where the component is not observed
    FOR k IN 1 .. n LOOP
        c := comps[k];
        expr := CASE c
            WHEN 'predicted_clv' THEN 'l.predicted_clv'
            WHEN 'historic_value' THEN 'l.total'
            WHEN 'p_alive' THEN 'l.p_alive'
            WHEN 'influence_value' THEN 'CASE WHEN act.customer_id IS NOT NULL THEN coalesce(i.influence_value, 0) END'
            WHEN 'influence_points' THEN 'CASE WHEN act.customer_id IS NOT NULL THEN coalesce(i.influence_points, 0) END'
            WHEN 'referral_value' THEN 'CASE WHEN act.customer_id IS NOT NULL THEN coalesce(rf.value, 0) END'
            WHEN 'knowledge' THEN 'CASE WHEN act.customer_id IS NOT NULL THEN coalesce(kn.actions, 0)::double precision END'
            ELSE format('s%s.value', k)
        END;
        IF c NOT IN (SELECT name FROM customer_score.components) THEN
            sig_joins := sig_joins || format(' LEFT JOIN pg_temp.cs_signals s%s ON s%s.customer_id = p.customer_id AND s%s.component = %L',
                                             k, k, k, c);
        END IF;
        raw_cols := raw_cols || format(', %s AS r%s', expr, k);
        -- normalised to 0..1 among the observed customers
        nexpr := format('customer_score.normalized(r%s, %L) OVER ()', k, norms[k]);
        IF dirs[k] = 'lower_is_better' THEN
            nexpr := format('1 - (%s)', nexpr);
        END IF;
        norm_cols := norm_cols || CASE WHEN k > 1 THEN ', ' ELSE '' END || nexpr;
    END LOOP;

    EXECUTE format($q$
        CREATE TEMP TABLE cs_raw ON COMMIT DROP AS
        SELECT p.customer_id %s
        FROM pg_temp.cs_population p
        LEFT JOIN pg_temp.cs_ltv l ON l.customer_id = p.customer_id
        LEFT JOIN (SELECT DISTINCT customer_id FROM pg_temp.cs_actions) act ON act.customer_id = p.customer_id
        LEFT JOIN pg_temp.cs_influence i ON i.customer_id = p.customer_id
        LEFT JOIN pg_temp.cs_referral rf ON rf.customer_id = p.customer_id
        LEFT JOIN pg_temp.cs_knowledge kn ON kn.customer_id = p.customer_id
        %s$q$, raw_cols, sig_joins);

    -- score = sum of contributions, each scale * weight * normalised / (sum of the weights that count),
    -- rounded to 4 decimals in numeric so that they add up to the score exactly.  Written out per
    -- component as plain expressions (weights added in component order, as sum() over the
    -- components would), not as a subquery with a window and an ordered aggregate per customer,
    -- which cost more than everything else in this statement.  OFFSET 0 keeps each level a
    -- subquery of its own, so its columns are computed once per row, not copied into every
    -- expression that uses them (without it the statement is several times slower).
    EXECUTE format($q$
        INSERT INTO customer_score.scores_history (run_id, customer_id, score, confidence, raw, normalized, contribution, observed)
        SELECT %1$s, d.customer_id, %2$s, d.confidence, d.raw, d.normalized, d.contribution, d.observed
        FROM (SELECT c.customer_id, c.raw, c.normalized, c.observed, ARRAY[%3$s]::numeric[] AS contribution,
                     round((coalesce(c.ow, 0) / c.aw)::numeric, 4) AS confidence   -- nothing observed: 0
              FROM (SELECT b.*, nullif(%4$s, 0) AS tw, nullif(%5$s, 0) AS ow, %6$s AS aw
                    FROM (SELECT x.*, %7$L::double precision[] AS w, %8$s
                          FROM (SELECT customer_id, ARRAY[%9$s]::double precision[] AS raw,
                                       ARRAY[%10$s]::double precision[] AS normalized,
                                       ARRAY[%11$s]::boolean[] AS observed
                                FROM pg_temp.cs_raw) x
                          OFFSET 0) b
                    OFFSET 0) c
              OFFSET 0) d$q$,
        run,
        -- score: the sum of the contributions
        (SELECT string_agg(format('d.contribution[%s]', k), ' + ' ORDER BY k) FROM generate_series(1, n) k),
        -- contributions
        (SELECT string_agg(format('CASE WHEN c.nv%1$s IS NULL THEN round(0::numeric, 4) ELSE round((%2$s * c.w[%1$s] * c.nv%1$s / c.tw)::numeric, 4) END',
                                  k, v.scale), ', ' ORDER BY k) FROM generate_series(1, n) k),
        -- tw: weights that count (a normalised value or a missing-data policy), ow: weights observed, aw: all
        (SELECT string_agg(format('CASE WHEN b.nv%1$s IS NOT NULL THEN b.w[%1$s] ELSE 0 END', k), ' + ' ORDER BY k) FROM generate_series(1, n) k),
        (SELECT string_agg(format('CASE WHEN b.observed[%1$s] THEN b.w[%1$s] ELSE 0 END', k), ' + ' ORDER BY k) FROM generate_series(1, n) k),
        (SELECT string_agg(format('b.w[%s]', k), ' + ' ORDER BY k) FROM generate_series(1, n) k),
        weights,
        -- nv: the normalised value, or what the missing-data policy counts instead (NULL: left out)
        (SELECT string_agg(format('CASE WHEN x.observed[%1$s] THEN x.normalized[%1$s]%2$s END AS nv%1$s', k,
                                  CASE missings[k] WHEN 'neutral' THEN ' ELSE 0.5' WHEN 'zero' THEN ' ELSE 0.0' ELSE '' END), ', ' ORDER BY k)
         FROM generate_series(1, n) k),
        (SELECT string_agg(format('r%s', k), ', ') FROM generate_series(1, n) k),
        norm_cols,
        (SELECT string_agg(format('r%s IS NOT NULL', k), ', ') FROM generate_series(1, n) k));
    GET DIAGNOSTICS n_customers = ROW_COUNT;

    UPDATE customer_score.score_runs r
    SET status = 'done', finished_at = clock_timestamp(), customers = n_customers,
        transactions = n_tx, actions = n_act, purchase_model = bg, spend_model = gg
    WHERE r.run_id = run;
    PERFORM customer_score.refresh_progress(run, format('done: %s customers scored', n_customers), started);
    RETURN run;
END
$$;

-- A tracked table's state was counted without rows of NULL amount: recount it under the rule.
DO $$
DECLARE
    tracked regclass := (SELECT t.relation FROM customer_score.live_tracking t);
BEGIN
    IF tracked IS NOT NULL AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) tracked) THEN
        EXECUTE pg_catalog.format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', tracked);
        DELETE FROM customer_score.live_customers;
        INSERT INTO customer_score.live_customers (customer_id, days)
        SELECT r.customer_id, customer_score.purchase_days(pg_catalog.array_agg(r.day), pg_catalog.array_agg(r.amount), pg_catalog.array_agg(r.rows))
        FROM customer_score.recount_live_days(tracked) r
        GROUP BY r.customer_id;
    END IF;
END
$$;
