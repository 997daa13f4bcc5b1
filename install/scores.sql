-- Composite customer scores: sources, versioned models, refresh, stored scores
-- and the views that explain them.  Reference: docs/scores.md.

--------------------------------------------------------------------------
-- Sources: the user's own data, through relations with fixed column names
--------------------------------------------------------------------------

CREATE TABLE customer_score.sources (
    kind     text NOT NULL CHECK (kind IN ('transactions', 'actions', 'signals')),
    relation regclass NOT NULL,
    set_at   timestamptz NOT NULL DEFAULT now(),
    configured_by regrole NOT NULL DEFAULT CURRENT_USER::regrole,
    relation_name text,
    model    text NOT NULL DEFAULT '',
    time_zone text NOT NULL DEFAULT pg_catalog.current_setting('TimeZone'),
    CONSTRAINT sources_pkey PRIMARY KEY (kind, model)
);
COMMENT ON TABLE customer_score.sources IS
    'Where refresh reads the user''s data, set with set_source(kind, relation): transactions (customer_id, at, amount), actions (id, customer_id, sparked_by, at, value, channel, kind [, topic]) and signals (customer_id, component, value).';
COMMENT ON COLUMN customer_score.sources.kind IS 'transactions, actions or signals.';
-- @begin sources-comments
COMMENT ON COLUMN customer_score.sources.relation IS 'A table or view with the kind''s columns; refresh reads it with the privileges of configured_by.';
COMMENT ON COLUMN customer_score.sources.configured_by IS 'The role that set the source: refresh reads it as this role, read-only, and only when run by a role that has this role''s privileges.';
COMMENT ON COLUMN customer_score.sources.relation_name IS 'The relation''s schema-qualified name when it was set: a source dropped or renamed since is an error naming it, never another relation.';
-- @end sources-comments
-- @begin sources-model-comment
COMMENT ON COLUMN customer_score.sources.model IS 'The model whose refreshes read this source;  (the default): every model without a source of that kind of its own.';
-- @end sources-model-comment
-- @begin sources-time-zone-comment
COMMENT ON COLUMN customer_score.sources.time_zone IS 'The calendar of the source, fixed when it is set (the session TimeZone then, unless set_source is given one): refresh counts purchase days in it (rfm(..., time_zone)) and reads a date or timestamp at as a wall-clock time there, whatever the TimeZone of the session or of the Citus workers that run the query.';
-- @end sources-time-zone-comment

CREATE TABLE customer_score.opt_outs (
    customer_id  bigint CONSTRAINT opt_outs_customer_id_key UNIQUE,
    opted_out_at timestamptz NOT NULL DEFAULT now(),
    reason       text,
    customer_key text CONSTRAINT opt_outs_customer_key_key UNIQUE,
    CONSTRAINT opt_outs_one_id CHECK (num_nonnulls(customer_id, customer_key) = 1)
);
-- @begin opt-outs-comments
COMMENT ON TABLE customer_score.opt_outs IS
    'Customers who opted out of tracking: their actions are used nowhere (neither credited to them nor crediting anyone); they are still scored on their transactions. Each row names the customer by customer_id or by customer_key.';
COMMENT ON COLUMN customer_score.opt_outs.customer_id IS 'The number the customer is stored under: the id itself for integer ids, customer_keys.customer_id for text, varchar and uuid ids.';
COMMENT ON COLUMN customer_score.opt_outs.customer_key IS 'The customer id as the source has it, as text (customer_id::text of the source: ''C00042'', a uuid in lower case, or an integer id''s digits).';
-- @end opt-outs-comments

--------------------------------------------------------------------------
-- Components, models and versions
--------------------------------------------------------------------------

CREATE TABLE customer_score.components (
    name        text PRIMARY KEY,
    source      text NOT NULL CHECK (source IN ('transactions', 'actions', 'signals')),
    description text NOT NULL,
    formula     text NOT NULL,
    unit        text NOT NULL,
    needs       text[] NOT NULL DEFAULT '{}',
    raw_value   text
);
COMMENT ON TABLE customer_score.components IS
    'The built-in score components: what each measures, how it is computed and from which source. A model component not listed here is read from the signals source by name.';
-- @begin components-comments
COMMENT ON COLUMN customer_score.components.needs IS 'The sources the component is computed from: refresh refuses to run without a transactions or signals source a component needs; without an actions source the components that need one are not observed for anyone.';
COMMENT ON COLUMN customer_score.components.raw_value IS
    'The SQL expression refresh scores it by, over its phases'' tables: l (lifetime value: frequency, recency, t, monetary, total, p_alive, expected_purchases, predicted_clv), act (customers with actions), i (influence), rf (referral), kn (knowledge); NULL where the component is not observed.';
-- @end components-comments

-- Each built-in component, declared once: what refresh needs for it and the expression it scores.
-- @begin components
INSERT INTO customer_score.components AS c (name, source, description, formula, unit, needs, raw_value) VALUES
    ('predicted_clv', 'transactions', 'Predicted customer lifetime value: the value of the purchases the customer is expected to make over the model''s horizon.',
     'predicted_clv(purchase model, Gamma-Gamma, frequency, recency, t, monetary, horizon, discount_rate per step, step), the purchase model BG/NBD or the parameters'' purchase_model; without a usable spend model the expected purchases over the horizon (score_runs.clv_basis)', 'currency',
     '{transactions}', 'l.predicted_clv'),
    ('historic_value', 'transactions', 'Historic value: everything the customer has spent up to as_of.',
     'sum(amount) over the customer''s transactions with at <= as_of, refunds included', 'currency',
     '{transactions}', 'l.total'),
    ('p_alive', 'transactions', 'Probability that the customer is still active (has not silently churned).',
     'p_alive(purchase model, frequency, recency, t), the purchase model BG/NBD or the parameters'' purchase_model', 'probability',
     '{transactions}', 'l.p_alive'),
    ('expected_purchases', 'transactions', 'Purchases the customer is expected to make over the model''s horizon: predicted activity, for data without spend.',
     'expected_purchases(purchase model, horizon, frequency, recency, t), the purchase model BG/NBD or the parameters'' purchase_model', 'purchases',
     '{transactions}', 'l.expected_purchases'),
    ('influence_value', 'actions', 'Money others spent in actions this customer sparked, directly or along cascades.',
     'influence(actions, as_of, max_depth, depth_decay, max_gap, half_life).influence_value', 'currency',
     '{actions}', 'CASE WHEN act.customer_id IS NOT NULL THEN coalesce(i.influence_value, 0) END'),
    ('influence_points', 'actions', 'Weighted actions others took because of this customer (writing and answering weigh more than reacting).',
     'influence(actions, as_of, max_depth, depth_decay, max_gap, half_life).influence_points', 'points',
     '{actions}', 'CASE WHEN act.customer_id IS NOT NULL THEN coalesce(i.influence_points, 0) END'),
    ('referral_value', 'actions', 'Predicted lifetime value of the customers whose first purchase or sign-up this customer sparked.',
     'sum of predicted_clv of customers whose first purchase/signup action has sparked_by pointing to this customer''s action', 'currency',
     '{transactions,actions}', 'CASE WHEN act.customer_id IS NOT NULL THEN coalesce(rf.value, 0) END'),
    ('knowledge', 'actions', 'Actions others took after reading this customer''s answers, reviews, posts, videos or talks.',
     'count of other customers'' actions sparked (depth 1, within max_gap) by this customer''s answer, review, blog_post, video or talk actions', 'actions',
     '{actions}', 'CASE WHEN act.customer_id IS NOT NULL THEN coalesce(kn.actions, 0)::double precision END')
ON CONFLICT (name) DO UPDATE SET source = EXCLUDED.source, description = EXCLUDED.description, formula = EXCLUDED.formula,
                                 unit = EXCLUDED.unit, needs = EXCLUDED.needs, raw_value = EXCLUDED.raw_value;
-- @end components

CREATE TABLE customer_score.models (
    name        text PRIMARY KEY CHECK (name <> ''),
    description text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE customer_score.models IS 'Score models by name; each has numbered versions (model_versions).';

-- @begin tiers
-- Tiers are a presentation of the score, not a second score: named bands of a model version
-- (for example A from 800, B from 500, C from 0) that the scores view shows beside the score.
CREATE FUNCTION customer_score.tiers_valid(names text[], floors numeric[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT names IS NULL AND floors IS NULL
        OR (pg_catalog.cardinality(names) = pg_catalog.cardinality(floors) AND pg_catalog.cardinality(names) > 0
            AND pg_catalog.array_ndims(names) = 1 AND pg_catalog.array_ndims(floors) = 1
            AND NOT EXISTS (SELECT 1 FROM unnest(names, floors) WITH ORDINALITY u(name, floor, i)
                            WHERE u.name IS NULL OR u.name = '' OR u.floor IS NULL OR u.floor < 0 OR u.floor = 'NaN'
                               OR u.i > 1 AND u.floor >= floors[u.i - 1])
            AND (SELECT count(DISTINCT n) FROM unnest(names) n) = pg_catalog.cardinality(names))
$$;
COMMENT ON FUNCTION customer_score.tiers_valid(text[], numeric[]) IS
    'Whether tier names and floors describe tiers: both NULL (no tiers), or as many distinct non-empty names as floors, the floors >= 0 and strictly descending.';

CREATE FUNCTION customer_score.tier(score numeric, names text[], floors numeric[]) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT u.name FROM unnest(names, floors) WITH ORDINALITY u(name, floor, i)
    WHERE score >= u.floor ORDER BY u.i LIMIT 1
$$;
COMMENT ON FUNCTION customer_score.tier(numeric, text[], numeric[]) IS
    'The tier of a score: the first of the names whose floor (floors strictly descending) the score reaches; NULL below the last floor or without tiers.';
-- @end tiers

CREATE TABLE customer_score.model_versions (
    model          text NOT NULL REFERENCES customer_score.models (name),
    version        integer NOT NULL CHECK (version > 0),
    status         text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    published_at   timestamptz,
    scale          double precision NOT NULL DEFAULT 1000 CHECK (scale > 0 AND scale < 1e9),
    time_unit      interval NOT NULL DEFAULT '7 days' CHECK (time_unit > '0'::interval),
    horizon        double precision NOT NULL DEFAULT 52 CHECK (horizon > 0 AND horizon <= 10000),
    clv_step       double precision NOT NULL DEFAULT 13 CHECK (clv_step > 0),
    CHECK (horizon / clv_step <= 100000),   -- clv's limit on steps
    discount_rate  double precision NOT NULL DEFAULT 0.10 CHECK (discount_rate >= 0 AND discount_rate < 10),
    max_depth      integer NOT NULL DEFAULT 3 CHECK (max_depth BETWEEN 1 AND 100),
    depth_decay    double precision NOT NULL DEFAULT 0.5 CHECK (depth_decay >= 0 AND depth_decay <= 1),
    max_gap        interval NOT NULL DEFAULT '90 days' CHECK (max_gap > '0'::interval),
    half_life      interval CHECK (half_life > '0'::interval),
    note           text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    component_count integer CHECK (component_count > 0),
    use_unconverged_fits boolean NOT NULL DEFAULT false,
    tier_names     text[],
    tier_floors    numeric[],
    CONSTRAINT model_versions_tiers CHECK (customer_score.tiers_valid(tier_names, tier_floors)),
    PRIMARY KEY (model, version),
    CHECK ((status = 'published') = (published_at IS NOT NULL)),
    CHECK ((status = 'published') = (component_count IS NOT NULL))
);
COMMENT ON TABLE customer_score.model_versions IS
    'One version of a model: its settings and (in model_components) its components. A published version is immutable; a change is a new version (new_version()).';
COMMENT ON COLUMN customer_score.model_versions.scale IS 'Scores run from 0 to scale.';
COMMENT ON COLUMN customer_score.model_versions.time_unit IS 'Time unit of recency, t, horizon and clv_step (the rfm unit).';
COMMENT ON COLUMN customer_score.model_versions.horizon IS 'CLV horizon in time units.';
COMMENT ON COLUMN customer_score.model_versions.clv_step IS 'CLV is summed and discounted per step of this many time units.';
COMMENT ON COLUMN customer_score.model_versions.discount_rate IS 'Yearly discount rate of predicted CLV (converted to the step).';
COMMENT ON COLUMN customer_score.model_versions.max_depth IS 'Influence: how far along a cascade credit goes.';
COMMENT ON COLUMN customer_score.model_versions.depth_decay IS 'Influence: factor per step of a cascade.';
COMMENT ON COLUMN customer_score.model_versions.max_gap IS 'Influence: an action credits its spark only within this time after it.';
COMMENT ON COLUMN customer_score.model_versions.component_count IS 'How many components the version had when it was published; a published version takes no more (a restore fills it up to this count).';
-- @begin model-versions-fits-comment
COMMENT ON COLUMN customer_score.model_versions.use_unconverged_fits IS
    'Whether refresh uses a BG/NBD or Gamma-Gamma fit that did not converge or ran to the optimiser''s bounds (default false: such a fit is reported with a WARNING, recorded in score_runs, and not used).';
-- @end model-versions-fits-comment
COMMENT ON COLUMN customer_score.model_versions.half_life IS 'Influence: older sparked actions count less, halving every half_life (NULL: no age decay).';
-- @begin tiers-comments
COMMENT ON COLUMN customer_score.model_versions.tier_names IS 'Tiers (a presentation of the score, shown by the scores view): their names, best first, e.g. {A,B,C}; NULL for none.';
COMMENT ON COLUMN customer_score.model_versions.tier_floors IS 'The lowest score of each tier, in the order of tier_names, strictly descending, e.g. {800,500,0}.';
-- @end tiers-comments

-- @begin purchase-model-name
-- The purchase model a component's parameters name, checked where a model version takes them.
CREATE FUNCTION customer_score.purchase_model_name(parameters jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    name text;
    extra text;
BEGIN
    IF parameters IS NULL OR jsonb_typeof(parameters) <> 'object' THEN
        RAISE EXCEPTION 'component parameters must be a JSON object, not %', coalesce(parameters::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(k, ', ') INTO extra FROM jsonb_object_keys(parameters) k WHERE k <> 'purchase_model';
    IF extra IS NOT NULL THEN
        RAISE EXCEPTION 'unknown component parameter: %', extra
            USING ERRCODE = 'invalid_parameter_value', HINT = 'The one parameter is purchase_model.';
    END IF;
    name := coalesce(parameters ->> 'purchase_model', 'bgnbd');
    IF jsonb_typeof(parameters -> 'purchase_model') NOT IN ('string', 'null') OR name NOT IN ('bgnbd', 'mbgnbd', 'pareto_nbd') THEN
        RAISE EXCEPTION 'unknown purchase_model: %', parameters -> 'purchase_model'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use "bgnbd" (the default), "mbgnbd" or "pareto_nbd".';
    END IF;
    RETURN name;
END
$$;
COMMENT ON FUNCTION customer_score.purchase_model_name(jsonb) IS
    'The purchase model named by a model component''s parameters (purchase_model: bgnbd by default, mbgnbd or pareto_nbd); an unknown model or parameter is an error (22023).';
-- @end purchase-model-name

CREATE TABLE customer_score.model_components (
    model         text NOT NULL,
    version       integer NOT NULL,
    position      integer NOT NULL CHECK (position > 0),
    component     text NOT NULL CHECK (component ~ '^[a-z][a-z0-9_]*$'),
    weight        double precision NOT NULL CHECK (weight > 0 AND weight < 1e9),
    direction     text NOT NULL DEFAULT 'higher_is_better' CHECK (direction IN ('higher_is_better', 'lower_is_better')),
    normalization text NOT NULL DEFAULT 'percentile' CHECK (normalization IN ('percentile', 'log', 'zscore', 'minmax')),
    missing       text NOT NULL DEFAULT 'renormalize' CHECK (missing IN ('renormalize', 'neutral', 'zero')),
    parameters    jsonb NOT NULL DEFAULT '{}' CHECK (customer_score.purchase_model_name(parameters) IS NOT NULL),
    PRIMARY KEY (model, version, component),
    UNIQUE (model, version, position),
    FOREIGN KEY (model, version) REFERENCES customer_score.model_versions (model, version)
);
COMMENT ON TABLE customer_score.model_components IS
    'The components of a model version, each with a weight, a direction, a normalisation within the scored population and a policy for customers where it is not observed.';
COMMENT ON COLUMN customer_score.model_components.normalization IS
    'percentile: percent_rank among observed customers; log: ln(1 + max(x, 0)) / ln(1 + max); zscore: standard normal CDF of the z-score; minmax: (x - min) / (max - min), 0.5 when all are equal. Each gives 0..1.';
COMMENT ON COLUMN customer_score.model_components.missing IS
    'renormalize (default): left out for that customer and the other weights renormalised, so missing data is never a penalty; neutral: counted as 0.5; zero: counted as 0.';
-- @begin model-components-parameters-comment
COMMENT ON COLUMN customer_score.model_components.parameters IS
    'The component''s parameters: {"purchase_model": "bgnbd" | "mbgnbd" | "pareto_nbd"} picks the purchase model of p_alive, expected_purchases and predicted_clv (bgnbd by default; other components ignore it).';
-- @end model-components-parameters-comment

--------------------------------------------------------------------------
-- Runs and stored scores (the history)
--------------------------------------------------------------------------

CREATE TABLE customer_score.score_runs (
    run_id         bigserial PRIMARY KEY,
    model          text NOT NULL,
    version        integer NOT NULL,
    as_of          timestamptz NOT NULL,
    status         text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done')),
    started_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at    timestamptz,
    customers      bigint,
    transactions   bigint,
    actions        bigint,
    components     text[] NOT NULL,
    weights        double precision[] NOT NULL,
    purchase_model customer_score.bgnbd,
    spend_model    customer_score.gamma_gamma,
    time_unit      interval NOT NULL,
    horizon        double precision NOT NULL,
    clv_step       double precision NOT NULL,
    discount_rate  double precision NOT NULL,
    scale          double precision NOT NULL,
    purchase_fit   text CHECK (purchase_fit IN ('converged', 'not converged', 'degenerate')),
    spend_fit      text CHECK (spend_fit IN ('converged', 'not converged', 'degenerate')),
    clv_basis      text CHECK (clv_basis IN ('clv', 'expected_purchases')),
    warnings       text[] NOT NULL DEFAULT '{}',
    customer_keys  boolean NOT NULL DEFAULT false,
    purchase_models jsonb NOT NULL DEFAULT '{}',
    spend_fit_params jsonb,
    FOREIGN KEY (model, version) REFERENCES customer_score.model_versions (model, version)
);
COMMENT ON TABLE customer_score.score_runs IS
    'One refresh: the model version, as_of, the fitted BG/NBD and Gamma-Gamma models and the settings it used. Runs are kept: with scores_history they are the score history.';
-- @begin score-runs-comments
COMMENT ON COLUMN customer_score.score_runs.purchase_fit IS 'How the BG/NBD fit ended: converged, not converged, or degenerate (a parameter ran to the optimiser''s bounds); NULL without one. purchase_model holds it only when it was used.';
COMMENT ON COLUMN customer_score.score_runs.spend_fit IS 'How the Gamma-Gamma fit ended (as purchase_fit); NULL without one (no repeat purchase with a positive amount). spend_model holds it only when it was used.';
COMMENT ON COLUMN customer_score.score_runs.clv_basis IS 'What predicted_clv was: clv (BG/NBD and Gamma-Gamma), expected_purchases (no usable spend model: the expected purchases over the horizon, so that customers rank by predicted activity), NULL without a usable BG/NBD model.';
COMMENT ON COLUMN customer_score.score_runs.warnings IS 'The WARNINGs the refresh raised (fits not used, as_of beyond the data).';
COMMENT ON COLUMN customer_score.score_runs.customer_keys IS 'Whether the sources'' customer ids were text, varchar or uuid: the run''s customer_id values are then customer_keys.customer_id, and the views show the source''s id as customer_key.';
COMMENT ON COLUMN customer_score.score_runs.spend_fit_params IS 'params() of the Gamma-Gamma fit, used or not (spend_model holds the model only when it was used); NULL without one.';
COMMENT ON COLUMN customer_score.score_runs.purchase_models IS 'The purchase models the run fitted, by name (bgnbd, mbgnbd, pareto_nbd): each with fit (as purchase_fit), params, used (whether it was used) and components (the components that took their values from it).';
-- @end score-runs-comments

CREATE TABLE customer_score.scores_history (
    run_id       bigint NOT NULL,   -- a score_runs row: see score_runs_cascade below
    customer_id  bigint NOT NULL,
    score        numeric NOT NULL,
    confidence   numeric NOT NULL,
    raw          double precision[] NOT NULL,
    normalized   double precision[] NOT NULL,
    contribution numeric[] NOT NULL,
    observed     boolean[] NOT NULL,
    PRIMARY KEY (run_id, customer_id)
);
COMMENT ON TABLE customer_score.scores_history IS
    'Every stored score: one row per run and customer, the components in the order of score_runs.components. Read it through the views scores, score_explanation, score_reasons and score_changes.';
-- a customer's scores across runs (score_changes for one customer)
CREATE INDEX scores_history_customer ON customer_score.scores_history (customer_id, run_id);

-- @begin customer-keys
-- Customers whose id is text, varchar or uuid in the sources: refresh numbers each key the first
-- time it sees it and stores the customer under that number; the views show the key.
CREATE TABLE customer_score.customer_keys (
    customer_key text PRIMARY KEY,
    customer_id  bigint GENERATED ALWAYS AS IDENTITY UNIQUE
);
COMMENT ON TABLE customer_score.customer_keys IS
    'The customers of sources whose customer_id is text, varchar or uuid: refresh gives each key a bigint customer_id the first time it reads it; scores_history stores that number and the views show the key (customer_key).';
COMMENT ON COLUMN customer_score.customer_keys.customer_key IS 'The customer id as the source has it, as text.';
COMMENT ON COLUMN customer_score.customer_keys.customer_id IS 'The number refresh stores the customer under (scores_history.customer_id of runs with customer_keys).';
GRANT SELECT ON customer_score.customer_keys TO @extowner@ WITH GRANT OPTION;
GRANT INSERT ON customer_score.customer_keys TO @extowner@ WITH GRANT OPTION;
GRANT USAGE, SELECT ON SEQUENCE customer_score.customer_keys_customer_id_seq TO @extowner@ WITH GRANT OPTION;

-- The id a view shows for a stored customer: the source's key for a run with customer_keys.
CREATE FUNCTION customer_score.customer_key(customer_id bigint, keyed boolean) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN keyed THEN (SELECT k.customer_key FROM customer_score.customer_keys k
                                 WHERE k.customer_id OPERATOR(pg_catalog.=) customer_key.customer_id)
                ELSE customer_id::text END
$$;
COMMENT ON FUNCTION customer_score.customer_key(bigint, boolean) IS
    'The customer id as the sources have it: customer_id as text, or for a run with customer_keys (text, varchar or uuid ids) the key customer_keys holds for it.';
-- @end customer-keys

-- @begin score-runs-cascade
-- Deleting a run deletes its scores, as ON DELETE CASCADE would.  A foreign key would also check
-- every inserted row against score_runs, one query per row: 8 of the 60 seconds of a refresh of a
-- million customers.  Only refresh writes scores_history, for the run it inserted in the same
-- transaction, so that check can never fail.  Unlike a foreign key's cascade, which runs as the
-- table owner, this runs with the rights of whoever deletes the runs.
-- The deleted runs' ids are collected first: a delete joined with the transition table is one
-- Citus cannot plan when scores_history is distributed (distribute_tables).
CREATE FUNCTION customer_score.score_runs_cascade() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    runs bigint[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE customer_score.scores_history;
    ELSE
        SELECT array_agg(o.run_id) INTO runs FROM old_runs o;
        DELETE FROM customer_score.scores_history h WHERE h.run_id = ANY (runs);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION customer_score.score_runs_cascade() IS
    'Trigger on score_runs: deleting (or truncating) runs deletes their rows of scores_history.';
-- @end score-runs-cascade
CREATE TRIGGER score_runs_cascade_delete AFTER DELETE ON customer_score.score_runs
    REFERENCING OLD TABLE AS old_runs FOR EACH STATEMENT EXECUTE FUNCTION customer_score.score_runs_cascade();
CREATE TRIGGER score_runs_cascade_truncate AFTER TRUNCATE ON customer_score.score_runs
    FOR EACH STATEMENT EXECUTE FUNCTION customer_score.score_runs_cascade();

CREATE FUNCTION customer_score.normal_cdf(z double precision) RETURNS double precision
    AS 'MODULE_PATHNAME', 'normal_cdf' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.normal_cdf(double precision) IS
    'The standard normal distribution function; the zscore normalisation maps z to normal_cdf(z).';

-- A window function: the population is the window partition, read once into a sorted array.
CREATE FUNCTION customer_score.normalized(value double precision, normalization text) RETURNS double precision
    AS 'MODULE_PATHNAME', 'normalized_window' LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.normalized(double precision, text) IS
    'Window function: value normalised to 0..1 within its window partition (the frame is ignored; NULL values are left out and give NULL). percentile: percent_rank among the non-NULL values; log: ln(1 + max(value, 0)) / ln(1 + max of those), 0 if that is 0; zscore: normal_cdf of the z-score (population standard deviation), 0.5 if all values are equal; minmax: (value - min) / (max - min), 0.5 if all are equal. refresh normalises every component with it.';

--------------------------------------------------------------------------
-- Published versions are immutable
--
-- Every function below pins search_path to pg_catalog, pg_temp and names
-- the extension's objects in full, so a caller's search_path cannot
-- redirect what they call.
--------------------------------------------------------------------------

CREATE FUNCTION customer_score.model_versions_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status = 'published' THEN
            RAISE EXCEPTION 'model version %/% is published and cannot be deleted', OLD.model, OLD.version
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Published versions are kept so every stored score can name the version that made it.';
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.status = 'published' THEN
        RAISE EXCEPTION 'model version %/% is published and cannot be changed', OLD.model, OLD.version
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('Make a new version: SELECT customer_score.new_version(%L);', OLD.model);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION customer_score.model_versions_guard() IS 'Trigger: refuses to change or delete a published model version.';
CREATE TRIGGER model_versions_guard BEFORE UPDATE OR DELETE ON customer_score.model_versions
    FOR EACH ROW EXECUTE FUNCTION customer_score.model_versions_guard();

-- A published version's components can be neither changed nor removed, and none can be added
-- beyond the count it was published with.  (pg_restore loads the published version before its
-- components: those inserts are allowed until the count is reached again.)
CREATE FUNCTION customer_score.model_components_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    target record;
BEGIN
    FOR target IN
        SELECT v.model, v.version FROM customer_score.model_versions v
        WHERE v.status = 'published'
          AND ((TG_OP <> 'INSERT' AND (v.model, v.version) = (OLD.model, OLD.version))
            OR (TG_OP <> 'DELETE' AND (v.model, v.version) = (NEW.model, NEW.version)))
          AND NOT (TG_OP = 'INSERT'
                   AND (SELECT count(*) FROM customer_score.model_components c
                        WHERE c.model = v.model AND c.version = v.version) < v.component_count)
    LOOP
        RAISE EXCEPTION 'model version %/% is published and its components cannot be changed', target.model, target.version
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('Make a new version: SELECT customer_score.new_version(%L);', target.model);
    END LOOP;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION customer_score.model_components_guard() IS 'Trigger: refuses to change the components of a published model version.';
CREATE TRIGGER model_components_guard BEFORE INSERT OR UPDATE OR DELETE ON customer_score.model_components
    FOR EACH ROW EXECUTE FUNCTION customer_score.model_components_guard();

--------------------------------------------------------------------------
-- The default model, shipped published
--------------------------------------------------------------------------

-- (fixed timestamps: the shipped rows are the same in every database, restored ones included)
INSERT INTO customer_score.models (name, description, created_at) VALUES
    ('default', 'Lifetime value first, action-based influence second; missing data is never a penalty.',
     '2026-11-25 00:00:00+00');
INSERT INTO customer_score.model_versions (model, version, note, created_at) VALUES
    ('default', 1, 'Shipped with customer_score 0.1.0.', '2026-11-25 00:00:00+00');
-- No p_alive: under BG/NBD a customer who bought once has P(alive) = 1, so as a ranking
-- component it would put every one-time buyer above every regular one; predicted_clv already
-- weighs activity the right way.  It stays available as a component for models of your own.
INSERT INTO customer_score.model_components (model, version, position, component, weight) VALUES
    ('default', 1, 1, 'predicted_clv',    0.45),
    ('default', 1, 2, 'historic_value',   0.20),
    ('default', 1, 3, 'influence_value',  0.10),
    ('default', 1, 4, 'referral_value',   0.10),
    ('default', 1, 5, 'knowledge',        0.08),
    ('default', 1, 6, 'influence_points', 0.07);
UPDATE customer_score.model_versions SET status = 'published', published_at = '2026-11-25 00:00:00+00', component_count = 6
WHERE model = 'default' AND version = 1;

-- User configuration survives pg_dump; the shipped default model is recreated by CREATE EXTENSION.
SELECT pg_catalog.pg_extension_config_dump('customer_score.sources', '');
SELECT pg_catalog.pg_extension_config_dump('customer_score.opt_outs', '');
SELECT pg_catalog.pg_extension_config_dump('customer_score.models', $$WHERE name <> 'default'$$);
SELECT pg_catalog.pg_extension_config_dump('customer_score.model_versions', $$WHERE NOT (model = 'default' AND version = 1)$$);
SELECT pg_catalog.pg_extension_config_dump('customer_score.model_components', $$WHERE NOT (model = 'default' AND version = 1)$$);
SELECT pg_catalog.pg_extension_config_dump('customer_score.score_runs', '');
SELECT pg_catalog.pg_extension_config_dump('customer_score.score_runs_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('customer_score.scores_history', '');

--------------------------------------------------------------------------
-- Configuration functions
--------------------------------------------------------------------------

-- @begin source-functions
CREATE FUNCTION customer_score.relation_name(relation oid) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = relation
$$;
COMMENT ON FUNCTION customer_score.relation_name(oid) IS
    'Internal: the schema-qualified name of a relation, NULL if there is none with that oid.';

-- The rows of a read-only query, run as a role whose privileges the caller has, in a
-- security-restricted operation, under one snapshot per snapshot_key in a transaction; with
-- parallel, in a parallel plan where the planner chooses one.
CREATE FUNCTION customer_score.read_as(role regrole, query text, snapshot_key bigint, parallel boolean DEFAULT false)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'read_as' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_score.read_as(regrole, text, bigint, boolean) IS
    'Internal (refresh reads its sources with it): the rows of a read-only query run as role, which the caller must have the privileges of, in a security-restricted operation (as PostgreSQL runs a table owner''s code in maintenance commands), every call with the same snapshot_key in a transaction under the snapshot of the first. With parallel true the planner may run the query with parallel workers (max_parallel_workers_per_gather), for a query whose rows do not depend on how the scan is split.';

-- The relation of a source and the role that configured it; a dropped or renamed relation is an error.
CREATE FUNCTION customer_score.source_relation(kind text, model text, OUT relation regclass, OUT configured_by regrole,
                                               OUT time_zone text)
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    recorded text;
    now_named text;
BEGIN
    -- the model's own source of the kind, else the default one
    SELECT s.relation, s.configured_by, s.relation_name, s.time_zone INTO relation, configured_by, recorded, time_zone
    FROM customer_score.sources s WHERE s.kind = source_relation.kind AND s.model IN (source_relation.model, '')
    ORDER BY s.model = '' LIMIT 1;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    now_named := customer_score.relation_name(relation::oid);
    IF now_named IS NULL THEN
        RAISE EXCEPTION 'the % source % no longer exists', kind, coalesce(recorded, relation::oid::text)
            USING ERRCODE = 'undefined_table',
                  HINT = format('Set it again: SELECT customer_score.set_source(%L, ''...''::regclass);', kind);
    ELSIF recorded IS NOT NULL AND now_named <> recorded THEN
        RAISE EXCEPTION 'the % source % was dropped or renamed: its oid now names %', kind, recorded, now_named
            USING ERRCODE = 'undefined_table',
                  HINT = format('Set it again: SELECT customer_score.set_source(%L, %L::regclass);', kind, now_named);
    END IF;
END
$$;
COMMENT ON FUNCTION customer_score.source_relation(text, text) IS
    'Internal: the relation of a model''s source of a kind (its own, else the default one), the role that set it and its time zone (NULLs when none is set); an error naming the source when its relation was dropped or renamed since.';

CREATE FUNCTION customer_score.set_source(kind text, relation regclass, model text, time_zone text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    wanted text[][];
    col record;
    found_type regtype;
BEGIN
    wanted := CASE kind
        WHEN 'transactions' THEN ARRAY[['customer_id', 'bigint'], ['at', 'timestamp with time zone'], ['amount', 'double precision']]
        WHEN 'actions' THEN ARRAY[['id', 'bigint'], ['customer_id', 'bigint'], ['sparked_by', 'bigint'],
                                  ['at', 'timestamp with time zone'], ['value', 'double precision'],
                                  ['channel', 'text'], ['kind', 'text']]
        WHEN 'signals' THEN ARRAY[['customer_id', 'bigint'], ['component', 'text'], ['value', 'double precision']]
    END;
    IF wanted IS NULL THEN
        RAISE EXCEPTION 'unknown source kind "%"', kind
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use transactions, actions or signals.';
    END IF;
    IF set_source.model IS NULL OR (set_source.model <> '' AND NOT EXISTS (SELECT 1 FROM customer_score.models m
                                                                          WHERE m.name = set_source.model)) THEN
        RAISE EXCEPTION 'no model "%"', set_source.model
            USING ERRCODE = 'undefined_object',
                  HINT = 'Create it with customer_score.new_version(model), or pass '''' for the default source of every model.';
    END IF;
    FOR i IN 1 .. array_length(wanted, 1) LOOP
        SELECT a.atttypid::regtype INTO found_type
        FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = relation AND a.attname = wanted[i][1] AND a.attnum > 0 AND NOT a.attisdropped;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'source % has no column "%"', relation, wanted[i][1]
                USING ERRCODE = 'undefined_column',
                      HINT = format('A %s source needs the columns %s.', kind,
                                    (SELECT string_agg(format('%s %s', wanted[j][1], wanted[j][2]), ', ')
                                     FROM generate_series(1, array_length(wanted, 1)) j));
        END IF;
        -- integers and numerics are accepted where they convert without surprises
        IF NOT (found_type::text = wanted[i][2]
                OR (wanted[i][2] = 'bigint' AND found_type IN ('integer'::regtype, 'smallint'::regtype))
                -- customer ids of CRMs: text, varchar and uuid too (customer_keys numbers them)
                OR (wanted[i][1] = 'customer_id' AND found_type IN ('text'::regtype, 'character varying'::regtype, 'uuid'::regtype))
                OR (wanted[i][2] = 'double precision' AND found_type IN ('numeric'::regtype, 'real'::regtype, 'integer'::regtype, 'bigint'::regtype))
                OR (wanted[i][2] = 'text' AND found_type IN ('character varying'::regtype, 'character'::regtype))
                -- a date or a wall-clock time: its day as written (read in the source's time zone)
                OR (wanted[i][2] = 'timestamp with time zone' AND found_type IN ('date'::regtype, 'timestamp without time zone'::regtype))) THEN
            RAISE EXCEPTION 'column "%" of source % has type %, expected %', wanted[i][1], relation, found_type, wanted[i][2]
                USING ERRCODE = 'datatype_mismatch';
        END IF;
    END LOOP;
    -- refresh reads it as this role: it must be able to read it now
    IF NOT pg_catalog.has_table_privilege(relation, 'SELECT') THEN
        RAISE EXCEPTION 'role % may not read source %', CURRENT_USER, relation
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'refresh reads a source with the privileges of the role that set it.';
    END IF;
    -- the calendar refresh counts days in: a zone rfm accepts (22023 otherwise)
    IF set_source.time_zone IS NULL THEN
        RAISE EXCEPTION 'the time zone of a source must not be null'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass a zone name such as ''UTC'' or ''Europe/Berlin''.';
    END IF;
    PERFORM customer_score.live_local_time(now(), set_source.time_zone);
    INSERT INTO customer_score.sources (kind, relation, configured_by, relation_name, model, time_zone)
    VALUES (kind, relation, CURRENT_USER::regrole, customer_score.relation_name(relation), set_source.model, set_source.time_zone)
    ON CONFLICT ON CONSTRAINT sources_pkey DO UPDATE
        SET relation = EXCLUDED.relation, set_at = now(), configured_by = EXCLUDED.configured_by,
            relation_name = EXCLUDED.relation_name, time_zone = EXCLUDED.time_zone;
END
$$;
COMMENT ON FUNCTION customer_score.set_source(text, regclass, text, text) IS
    'Point the refreshes of one model at a relation of the user''s (model '''': every model without a source of that kind of its own), on the calendar of time_zone (a zone name as rfm''s time_zone accepts): kind transactions (customer_id, at, amount), actions (id, customer_id, sparked_by, at, value, channel, kind [, topic]) or signals (customer_id, component, value). Checks the columns by name and type; refresh reads the relation as the role that set it and counts its days in time_zone.';

CREATE FUNCTION customer_score.set_source(kind text, relation regclass, model text) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT customer_score.set_source(kind, relation, model, pg_catalog.current_setting('TimeZone'))
$$;
COMMENT ON FUNCTION customer_score.set_source(text, regclass, text) IS
    'Point the refreshes of one model at a relation of the user''s (model '''': every model without a source of that kind of its own): kind transactions (customer_id, at, amount), actions (id, customer_id, sparked_by, at, value, channel, kind [, topic]) or signals (customer_id, component, value). Checks the columns by name and type; refresh reads the relation as the role that set it. The source''s time zone is the session TimeZone now: set_source(kind, relation, model, time_zone) to name another.';

CREATE FUNCTION customer_score.set_source(kind text, relation regclass) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT customer_score.set_source(kind, relation, '', pg_catalog.current_setting('TimeZone'))
$$;
COMMENT ON FUNCTION customer_score.set_source(text, regclass) IS
    'Point refresh at a relation of the user''s for every model without a source of that kind of its own, on the calendar of the session TimeZone: set_source(kind, relation, '''').';

-- The at column of a source as a timestamptz, in SQL: a date or a timestamp is the wall-clock time
-- it reads in the source's time zone, so no cast depends on the TimeZone of the node running it.
CREATE FUNCTION customer_score.source_at(relation regclass, time_zone text) RETURNS text
LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN a.atttypid = 'timestamp with time zone'::regtype THEN 'at::timestamptz'
                ELSE pg_catalog.format('(at::timestamp AT TIME ZONE %L)', time_zone) END
    FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = relation AND a.attname = 'at' AND a.attnum > 0 AND NOT a.attisdropped
$$;
COMMENT ON FUNCTION customer_score.source_at(regclass, text) IS
    'Internal: the SQL expression refresh reads a source''s at column with, as a timestamptz: the column itself, or a date or timestamp taken as a wall-clock time in time_zone (the source''s).';
-- @end source-functions

-- @begin new-version
CREATE FUNCTION customer_score.new_version(model text, note text DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    latest integer;
    created integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM customer_score.models m WHERE m.name = new_version.model) THEN
        INSERT INTO customer_score.models (name) VALUES (new_version.model);
    END IF;
    SELECT max(v.version) INTO latest FROM customer_score.model_versions v WHERE v.model = new_version.model;
    created := coalesce(latest, 0) + 1;
    IF latest IS NULL THEN
        INSERT INTO customer_score.model_versions (model, version, note) VALUES (new_version.model, created, new_version.note);
    ELSE
        INSERT INTO customer_score.model_versions (model, version, scale, time_unit, horizon, clv_step, discount_rate,
                                                   max_depth, depth_decay, max_gap, half_life, note, use_unconverged_fits,
                                                   tier_names, tier_floors)
        SELECT v.model, created, v.scale, v.time_unit, v.horizon, v.clv_step, v.discount_rate,
               v.max_depth, v.depth_decay, v.max_gap, v.half_life, coalesce(new_version.note, v.note), v.use_unconverged_fits,
               v.tier_names, v.tier_floors
        FROM customer_score.model_versions v WHERE v.model = new_version.model AND v.version = latest;
        INSERT INTO customer_score.model_components (model, version, position, component, weight, direction, normalization, missing, parameters)
        SELECT c.model, created, c.position, c.component, c.weight, c.direction, c.normalization, c.missing, c.parameters
        FROM customer_score.model_components c WHERE c.model = new_version.model AND c.version = latest;
    END IF;
    RETURN created;
END
$$;
COMMENT ON FUNCTION customer_score.new_version(text, text) IS
    'Start a draft version of a model (creating the model if it is new), copying the settings and components of its latest version; edit the draft, then publish() it.';
-- @end new-version

CREATE FUNCTION customer_score.publish(model text, version integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM customer_score.model_components c
                   WHERE c.model = publish.model AND c.version = publish.version) THEN
        RAISE EXCEPTION 'model version %/% has no components to publish', publish.model, publish.version
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE customer_score.model_versions v SET status = 'published', published_at = now(),
        component_count = (SELECT count(*) FROM customer_score.model_components c
                           WHERE c.model = publish.model AND c.version = publish.version)
    WHERE v.model = publish.model AND v.version = publish.version AND v.status = 'draft';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model version %/% is not a draft', publish.model, publish.version
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END
$$;
COMMENT ON FUNCTION customer_score.publish(text, integer) IS
    'Publish a draft model version; from then on it is immutable and refresh uses it (the latest published version of a model).';

--------------------------------------------------------------------------
-- refresh: fit, compute every component, normalise, score, store
--------------------------------------------------------------------------

-- progress: a NOTICE and application_name, which other sessions see in pg_stat_activity at once
CREATE FUNCTION customer_score.refresh_progress(run_id bigint, phase text, started timestamptz) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_catalog.set_config('application_name', left(format('customer_score.refresh %s: %s', run_id, phase), 63), true);
    RAISE NOTICE 'refresh run %: % (% s)', run_id, phase,
        round(extract(epoch FROM clock_timestamp() - started)::numeric, 2);
END
$$;
COMMENT ON FUNCTION customer_score.refresh_progress(bigint, text, timestamptz) IS 'Internal: reports refresh progress as a NOTICE and in application_name.';

-- @begin score-parts
CREATE FUNCTION customer_score.score_parts(normalized double precision[], observed boolean[], weights double precision[],
                                           missing text[], scale double precision,
                                           OUT score numeric, OUT confidence numeric, OUT contribution numeric[])
    AS 'MODULE_PATHNAME', 'score_parts' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.score_parts(double precision[], boolean[], double precision[], text[], double precision) IS
    'Internal to refresh: one customer''s stored score from its normalised components (NULL where not observed), which are observed, the weights, the missing-data policies (renormalize, neutral, zero) and the scale: each contribution round(scale * weight * value / (sum of the weights that count), 4), value the normalised one or the policy''s (neutral 0.5, zero 0; renormalize: the component does not count and contributes 0); score the exact sum of the contributions; confidence round(observed weight / all weight, 4). Weights positive, the arrays of one length (else 22023).';
-- @end score-parts

-- @begin refresh
-- refresh runs in phases, each a function of its own that a test can call in order within one
-- transaction: refresh_begin (the run row), refresh_lifetime_value, refresh_influence,
-- refresh_signals (each filling its pg_temp scratch tables from the sources, read as the role that
-- set them under the run's one snapshot), refresh_normalise_and_score (scores_history rows of the
-- run) and refresh_store (the run done).  Until refresh_store the run is 'running' and every view
-- still shows the previous run's scores.

-- The running run, for a phase.
CREATE FUNCTION customer_score.refresh_run(run bigint) RETURNS customer_score.score_runs
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r customer_score.score_runs;
BEGIN
    SELECT * INTO r FROM customer_score.score_runs s WHERE s.run_id = run AND s.status = 'running';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'refresh run % is not running', run
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Phases run in order after customer_score.refresh_begin(), in its transaction.';
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION customer_score.refresh_run(bigint) IS 'Internal: the score_runs row of a running refresh (an error naming the run otherwise).';

-- A WARNING of a run, also kept in score_runs.warnings.
CREATE FUNCTION customer_score.refresh_warn(run bigint, message text, hint text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE WARNING '%', message USING HINT = hint;
    UPDATE customer_score.score_runs r SET warnings = r.warnings || message WHERE r.run_id = run;
END
$$;
COMMENT ON FUNCTION customer_score.refresh_warn(bigint, text, text) IS 'Internal: raises a refresh WARNING and records it in score_runs.warnings.';

-- How a fit ended: converged, not converged, or degenerate (a parameter at the optimiser's bounds,
-- |ln| > 18, where a likelihood ridge ends).  The likelihood's figures (log_likelihood, aic, bic)
-- grow with the customers and are no parameter: ten million customers have an AIC beyond e^18.
CREATE FUNCTION customer_score.fit_outcome(params jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN params IS NULL THEN NULL
        WHEN EXISTS (SELECT 1 FROM pg_catalog.jsonb_each(params) e
                     WHERE e.key NOT IN ('log_likelihood', 'aic', 'bic', 'customers', 'converged')
                       AND pg_catalog.jsonb_typeof(e.value) = 'number'
                       AND (e.value #>> '{}')::double precision NOT BETWEEN exp(-18) AND exp(18)) THEN 'degenerate'
        WHEN (params ->> 'converged')::boolean THEN 'converged'
        ELSE 'not converged'
    END
$$;
COMMENT ON FUNCTION customer_score.fit_outcome(jsonb) IS
    'Internal: how a fit (params(model)) ended: converged, not converged, or degenerate (a parameter beyond e^18 or below e^-18: the fit ran along a likelihood ridge to the optimiser''s bounds); NULL for NULL.';

-- Phase 0: check the model and its sources, take the model's refresh lock, insert the run.
CREATE FUNCTION customer_score.refresh_begin(model text, as_of timestamptz) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v     customer_score.model_versions;
    run   bigint;
    comps text[];
    weights double precision[];
    need  record;
    kinds integer;
    keyed boolean;
    c     text;
BEGIN
    IF as_of IS NULL OR NOT isfinite(as_of) THEN
        RAISE EXCEPTION 'as_of must be a finite timestamp' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO v FROM customer_score.model_versions mv
    WHERE mv.model = refresh_begin.model AND mv.status = 'published'
    ORDER BY mv.version DESC LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" has no published version', refresh_begin.model
            USING ERRCODE = 'undefined_object',
                  HINT = 'Create one with customer_score.new_version() and customer_score.publish().';
    END IF;
    -- one refresh of a model at a time; readers are never blocked (they see the last finished run)
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('customer_score.refresh'), pg_catalog.hashtext(v.model));
    SELECT array_agg(mc.component ORDER BY mc.position), array_agg(mc.weight ORDER BY mc.position)
    INTO comps, weights
    FROM customer_score.model_components mc WHERE mc.model = v.model AND mc.version = v.version;

    -- every source a component needs (components.needs; a component not built in needs signals),
    -- but actions: without an actions source its components are not observed, as missing data
    FOR need IN
        SELECT n.kind, string_agg(u.name, ', ' ORDER BY u.pos) AS names
        FROM unnest(comps) WITH ORDINALITY u(name, pos)
        LEFT JOIN customer_score.components bc ON bc.name = u.name
        CROSS JOIN LATERAL unnest(coalesce(bc.needs, '{signals}')) n(kind)
        WHERE n.kind <> 'actions'
        GROUP BY n.kind ORDER BY n.kind
    LOOP
        IF (SELECT s.relation FROM customer_score.source_relation(need.kind, v.model) s) IS NULL THEN
            RAISE EXCEPTION 'model %/% needs a % source (for %)', v.model, v.version, need.kind, need.names
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = format('SELECT customer_score.set_source(%L, ''my_%s''::regclass);', need.kind, need.kind);
        END IF;
    END LOOP;

    -- one kind of customer id in all the sources: integers, or keys numbered through customer_keys
    SELECT count(DISTINCT customer_score.source_keyed(s.relation)), bool_or(customer_score.source_keyed(s.relation))
    INTO kinds, keyed
    FROM unnest(ARRAY['transactions', 'actions', 'signals']) k(kind)
    CROSS JOIN LATERAL customer_score.source_relation(k.kind, v.model) s
    WHERE s.relation IS NOT NULL;
    IF kinds > 1 THEN
        RAISE EXCEPTION 'the sources of model % mix integer customer ids with text, varchar or uuid ones', v.model
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Give every source of the model the same kind of customer_id (a view can cast it, e.g. customer_id::text).';
    END IF;
    -- the views show such ids from customer_keys, which only the coordinator holds: a history in
    -- Citus's shards would be read on the workers, beside their own empty customer_keys
    IF keyed AND customer_score.citus_shape('customer_score.scores_history') IS NOT NULL THEN
        RAISE EXCEPTION 'refresh of model %: sources with text, varchar or uuid customer ids need scores_history on the coordinator', v.model
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'scores_history is distributed (distribute_tables()); the views look such ids up in customer_keys, which only the coordinator holds.',
                  HINT = 'SELECT customer_score.undistribute_tables(); or give the sources integer customer ids.';
    END IF;

    INSERT INTO customer_score.score_runs (model, version, as_of, components, weights, time_unit, horizon,
                                           clv_step, discount_rate, scale, customer_keys)
    VALUES (v.model, v.version, as_of, comps, weights, v.time_unit, v.horizon, v.clv_step, v.discount_rate, v.scale,
            coalesce(keyed, false))
    RETURNING run_id INTO run;

    -- scratch tables of an earlier refresh in the same transaction
    FOREACH c IN ARRAY ARRAY['cs_rfm', 'cs_ltv', 'cs_opt_outs', 'cs_opt_out_rows', 'cs_source_actions', 'cs_actions', 'cs_influence',
                             'cs_referral', 'cs_knowledge', 'cs_signals', 'cs_act', 'cs_others', 'cs_keyed'] LOOP
        IF pg_catalog.to_regclass('pg_temp.' || c) IS NOT NULL THEN
            EXECUTE format('DROP TABLE pg_temp.%I', c);
        END IF;
    END LOOP;
    RETURN run;
END
$$;
COMMENT ON FUNCTION customer_score.refresh_begin(text, timestamptz) IS
    'Phase 0 of refresh: checks as_of, the model (its latest published version) and the sources its components need, takes the model''s refresh lock for the transaction and inserts the running score_runs row; returns its run_id.';

-- The rows of a source query into a phase's scratch table, whose first column is customer_id
-- bigint: the query, run as role under the run's snapshot, has @customer_id@ where it reads the
-- id; a run with customer_keys reads it as text and numbers new keys in customer_keys.  parallel:
-- the query's rows do not depend on how a parallel scan splits the source (read_as).
CREATE FUNCTION customer_score.refresh_read(run bigint, role regrole, query text, target text, columns text,
                                            parallel boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    keyed boolean := (customer_score.refresh_run(run)).customer_keys;
    names text := (SELECT string_agg('x.' || quote_ident(split_part(btrim(c), ' ', 1)), ', ')
                   FROM unnest(string_to_array(columns, ',')) c);
    n     bigint;
BEGIN
    IF NOT keyed THEN
        EXECUTE format('INSERT INTO pg_temp.%I SELECT * FROM customer_score.read_as($1, $2, $3, $4) AS x(customer_id bigint, %s)',
                       target, columns)
            USING role, replace(query, '@customer_id@', 'customer_id::bigint'), run, parallel;
        GET DIAGNOSTICS n = ROW_COUNT;
        RETURN n;
    END IF;
    EXECUTE format('CREATE TEMP TABLE cs_keyed ON COMMIT DROP AS SELECT * FROM customer_score.read_as($1, $2, $3, $4) AS x(customer_key text, %s)',
                   columns)
        USING role, replace(query, '@customer_id@', 'customer_id::text'), run, parallel;
    INSERT INTO customer_score.customer_keys (customer_key)
    SELECT DISTINCT k.customer_key FROM pg_temp.cs_keyed k WHERE k.customer_key IS NOT NULL
    ON CONFLICT (customer_key) DO NOTHING;
    EXECUTE format('INSERT INTO pg_temp.%I SELECT m.customer_id, %s FROM pg_temp.cs_keyed x
                    LEFT JOIN customer_score.customer_keys m ON m.customer_key = x.customer_key', target, names);
    GET DIAGNOSTICS n = ROW_COUNT;
    DROP TABLE pg_temp.cs_keyed;
    RETURN n;
END
$$;
COMMENT ON FUNCTION customer_score.refresh_read(bigint, regrole, text, text, text, boolean) IS
    'Internal: the rows of a source query (with @customer_id@ where it reads the id; run as role under the run''s snapshot, with parallel workers where parallel is true and the planner chooses them) into a phase''s scratch table; for a run with customer_keys the ids are read as text and numbered through customer_keys. Returns the rows inserted.';

-- Whether a source's customer_id is text, varchar or uuid (numbered through customer_keys).
CREATE FUNCTION customer_score.source_keyed(relation regclass) RETURNS boolean
LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(bool_or(coalesce(nullif(t.typbasetype, 0), t.oid) IN ('text'::regtype, 'character varying'::regtype, 'uuid'::regtype)), false)
    FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
    WHERE a.attrelid = relation AND a.attname = 'customer_id' AND a.attnum > 0 AND NOT a.attisdropped
$$;
COMMENT ON FUNCTION customer_score.source_keyed(regclass) IS
    'Internal: whether a source''s customer_id is text, varchar or uuid, so that refresh numbers its customers through customer_keys.';

-- Phase 1, lifetime value: rfm per customer, the fits, the predictions, into pg_temp.cs_ltv.  The
-- rfm rows go to a scratch table without an index and cs_ltv is written once, predictions
-- included, then indexed: inserting rows in hash order into an indexed temp table, then updating
-- every row, thrashes temp_buffers (8MB by default) and took twice as long on a million customers.
CREATE FUNCTION customer_score.refresh_lifetime_value(run bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r         customer_score.score_runs;
    v         customer_score.model_versions;
    tx_rel    regclass;
    tx_role   regrole;
    tx_zone   text;
    bg        customer_score.bgnbd;
    gg        customer_score.gamma_gamma;
    bg_fit    text;
    gg_fit    text;
    gg_params jsonb;            -- params() of the Gamma-Gamma fit, kept when the fit is not used
    mb        customer_score.mbgnbd;
    pn        customer_score.pareto_nbd;
    fits      jsonb;
    uses      jsonb;
    pa_m      text;
    ep_m      text;
    clv_m     text;
    basis     text;
    want_ep   boolean;
    step_rate double precision;
    n_tx      bigint;
    n_hist    bigint;
    last_at   timestamptz;
BEGIN
    r := customer_score.refresh_run(run);
    SELECT * INTO v FROM customer_score.model_versions mv WHERE mv.model = r.model AND mv.version = r.version;
    CREATE TEMP TABLE cs_ltv (customer_id bigint, frequency integer, recency double precision,
                              t double precision, monetary double precision, total double precision,
                              p_alive double precision, expected_purchases double precision,
                              predicted_clv double precision) ON COMMIT DROP;
    SELECT s.relation, s.configured_by, s.time_zone INTO tx_rel, tx_role, tx_zone
    FROM customer_score.source_relation('transactions', r.model) s;
    IF tx_rel IS NULL THEN
        ALTER TABLE pg_temp.cs_ltv ADD PRIMARY KEY (customer_id);
        RETURN;
    END IF;

    CREATE TEMP TABLE cs_rfm (customer_id bigint, frequency integer, recency double precision,
                              t double precision, monetary double precision, total double precision,
                              purchases integer, last_at timestamptz) ON COMMIT DROP;
    PERFORM customer_score.refresh_progress(run, 'purchase histories (rfm)', r.started_at);
    -- the days on the source's calendar: the same summaries whatever the TimeZone of this session
    -- or of the Citus workers the rfm is pushed down to; in customer order, so that every sum over
    -- the scratch tables adds in the same order however the shards' rows arrive; rfm sums a
    -- customer's rows in one order however they were split, so parallel workers may read them
    PERFORM customer_score.refresh_read(run, tx_role, format($q$
        SELECT customer_id, (r).frequency, (r).recency, (r).t, (r).monetary, (r).total, (r).purchases, (r).last_at
        FROM (SELECT @customer_id@ AS customer_id,
                     customer_score.rfm(%s, amount::double precision, %L::timestamptz, %L::interval, %L) AS r
              FROM %s GROUP BY 1) s
        WHERE customer_id IS NOT NULL AND r IS NOT NULL ORDER BY customer_id$q$,
        customer_score.source_at(tx_rel, tx_zone), r.as_of, r.time_unit, tx_zone, tx_rel), 'cs_rfm',
        'frequency integer, recency double precision, t double precision, monetary double precision, total double precision, purchases integer, last_at timestamptz',
        parallel => true);
    -- the transactions counted: the rows the histories were made of (a second scan cost 1 s)
    SELECT count(*), coalesce(sum(l.purchases), 0), max(l.last_at) INTO n_hist, n_tx, last_at FROM pg_temp.cs_rfm l;
    UPDATE customer_score.score_runs s SET transactions = n_tx WHERE s.run_id = run;
    IF n_hist = 0 THEN
        RAISE EXCEPTION 'refresh of model %: the transactions source % has no purchase up to as_of %', r.model, tx_rel, r.as_of
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Nothing was stored: the previous run''s scores stay the ones shown.',
                  HINT = 'Check the source and as_of (a purchase counts when its customer_id and at are set and at <= as_of).';
    END IF;
    IF last_at < r.as_of - r.horizon * r.time_unit THEN
        PERFORM customer_score.refresh_warn(run,
            format('refresh of model %s: as_of %s is beyond the data: the last purchase is at %s, more than the horizon (%s x %s) before',
                   r.model, r.as_of, last_at, r.horizon, r.time_unit),
            format('Every customer then looks long gone (t grows, P(alive) falls). For historical data pass an as_of at its end: SELECT customer_score.refresh(%L, %L);',
                   r.model, last_at));
    END IF;

    -- the purchase model of each prediction from its component's parameters (bgnbd by default, and
    -- for a prediction no component of the run scores, as predicted_clv for referral_value)
    SELECT coalesce(jsonb_object_agg(mc.component, customer_score.purchase_model_name(mc.parameters)), '{}')
    INTO uses FROM customer_score.model_components mc
    WHERE mc.model = r.model AND mc.version = r.version AND mc.component IN ('p_alive', 'expected_purchases', 'predicted_clv');
    pa_m := coalesce(uses ->> 'p_alive', 'bgnbd');
    ep_m := coalesce(uses ->> 'expected_purchases', 'bgnbd');
    clv_m := coalesce(uses ->> 'predicted_clv', 'bgnbd');

    PERFORM customer_score.refresh_progress(run, 'fitting BG/NBD and Gamma-Gamma', r.started_at);
    SELECT customer_score.bgnbd_fit(l.frequency, l.recency, l.t),
           customer_score.gamma_gamma_fit(l.frequency, l.monetary) FILTER (WHERE l.monetary > 0)
    INTO bg, gg FROM pg_temp.cs_rfm l;
    bg_fit := customer_score.fit_outcome(customer_score.params(bg));
    gg_params := customer_score.params(gg);
    gg_fit := customer_score.fit_outcome(gg_params);
    fits := jsonb_build_object('bgnbd', jsonb_build_object('fit', bg_fit, 'params', customer_score.params(bg)));
    -- the other purchase models only where a component asks for them
    IF 'mbgnbd' IN (pa_m, ep_m, clv_m) THEN
        PERFORM customer_score.refresh_progress(run, 'fitting MBG/NBD', r.started_at);
        SELECT customer_score.mbgnbd_fit(l.frequency, l.recency, l.t) INTO mb FROM pg_temp.cs_rfm l;
        fits := fits || jsonb_build_object('mbgnbd', jsonb_build_object('fit', customer_score.fit_outcome(customer_score.params(mb)),
                                                                        'params', customer_score.params(mb)));
    END IF;
    IF 'pareto_nbd' IN (pa_m, ep_m, clv_m) THEN
        PERFORM customer_score.refresh_progress(run, 'fitting Pareto/NBD', r.started_at);
        SELECT customer_score.pareto_nbd_fit(l.frequency, l.recency, l.t) INTO pn FROM pg_temp.cs_rfm l;
        fits := fits || jsonb_build_object('pareto_nbd', jsonb_build_object('fit', customer_score.fit_outcome(customer_score.params(pn)),
                                                                            'params', customer_score.params(pn)));
    END IF;
    IF bg_fit <> 'converged' AND NOT v.use_unconverged_fits THEN
        PERFORM customer_score.refresh_warn(run,
            format('refresh of model %s: the BG/NBD fit %s (%s); it is not used: p_alive, expected_purchases and predicted_clv are not observed',
                   r.model, CASE bg_fit WHEN 'degenerate' THEN 'is degenerate' ELSE 'did not converge' END, bg::text),
            'Check the transactions source: enough repeat buyers, the time_unit of the model version, as_of at the end of the data; or accept such fits with use_unconverged_fits on a new model version.');
        bg := NULL;
    END IF;
    IF fits #>> '{mbgnbd,fit}' <> 'converged' AND NOT v.use_unconverged_fits THEN
        PERFORM customer_score.refresh_warn(run,
            format('refresh of model %s: the MBG/NBD fit %s (%s); it is not used: the components of purchase_model mbgnbd are not observed',
                   r.model, CASE fits #>> '{mbgnbd,fit}' WHEN 'degenerate' THEN 'is degenerate' ELSE 'did not converge' END, mb::text),
            'Check the transactions source, or accept such fits with use_unconverged_fits on a new model version.');
        mb := NULL;
    END IF;
    IF fits #>> '{pareto_nbd,fit}' <> 'converged' AND NOT v.use_unconverged_fits THEN
        PERFORM customer_score.refresh_warn(run,
            format('refresh of model %s: the Pareto/NBD fit %s (%s); it is not used: the components of purchase_model pareto_nbd are not observed',
                   r.model, CASE fits #>> '{pareto_nbd,fit}' WHEN 'degenerate' THEN 'is degenerate' ELSE 'did not converge' END, pn::text),
            'Check the transactions source, or accept such fits with use_unconverged_fits on a new model version.');
        pn := NULL;
    END IF;
    IF gg_fit <> 'converged' AND NOT v.use_unconverged_fits THEN
        PERFORM customer_score.refresh_warn(run,
            format('refresh of model %s: the Gamma-Gamma fit %s (%s); it is not used: predicted_clv ranks by expected purchases',
                   r.model, CASE gg_fit WHEN 'degenerate' THEN 'is degenerate' ELSE 'did not converge' END, gg::text),
            'Check the amounts (refunds and zero amounts, a few very large ones); or accept such fits with use_unconverged_fits on a new model version.');
        gg := NULL;
    END IF;
    basis := CASE WHEN (CASE clv_m WHEN 'bgnbd' THEN bg IS NULL WHEN 'mbgnbd' THEN mb IS NULL ELSE pn IS NULL END) THEN NULL
                  WHEN gg IS NULL THEN 'expected_purchases' ELSE 'clv' END;
    IF basis = 'expected_purchases' AND gg_fit IS NULL AND 'predicted_clv' = ANY (r.components) THEN
        RAISE NOTICE 'refresh of model %: no repeat purchase has a positive amount, so there is no spend model: predicted_clv ranks by expected purchases', r.model;
    END IF;
    -- per model fitted: whether it was used and which of the run's components it gave values
    SELECT jsonb_object_agg(f.name, f.fit || jsonb_build_object(
               'used', CASE f.name WHEN 'bgnbd' THEN bg IS NOT NULL WHEN 'mbgnbd' THEN mb IS NOT NULL ELSE pn IS NOT NULL END,
               'components', (SELECT coalesce(jsonb_agg(c ORDER BY c), '[]') FROM unnest(r.components) c
                              WHERE f.name = CASE c WHEN 'p_alive' THEN pa_m WHEN 'expected_purchases' THEN ep_m
                                                    WHEN 'predicted_clv' THEN clv_m END)))
    INTO fits FROM jsonb_each(fits) f(name, fit);
    UPDATE customer_score.score_runs s
    SET purchase_fit = bg_fit, spend_fit = gg_fit, clv_basis = basis, purchase_model = bg, spend_model = gg,
        purchase_models = fits, spend_fit_params = gg_params
    WHERE s.run_id = run;

    PERFORM customer_score.refresh_progress(run, 'predicting P(alive) and CLV', r.started_at);
    step_rate := power(1 + r.discount_rate, r.clv_step * extract(epoch FROM r.time_unit) / 86400.0 / 365.25) - 1;
    want_ep := 'expected_purchases' = ANY (r.components);
    INSERT INTO pg_temp.cs_ltv
    SELECT l.customer_id, l.frequency, l.recency, l.t, l.monetary, l.total, p.p_alive, p.expected_purchases,
           CASE basis WHEN 'clv' THEN
                    CASE clv_m WHEN 'bgnbd' THEN customer_score.predicted_clv(bg, gg, l.frequency, l.recency, l.t, l.monetary, r.horizon, step_rate, r.clv_step)
                               WHEN 'mbgnbd' THEN customer_score.predicted_clv(mb, gg, l.frequency, l.recency, l.t, l.monetary, r.horizon, step_rate, r.clv_step)
                               ELSE customer_score.predicted_clv(pn, gg, l.frequency, l.recency, l.t, l.monetary, r.horizon, step_rate, r.clv_step) END
                      WHEN 'expected_purchases' THEN p.clv_purchases END
    FROM pg_temp.cs_rfm l
    CROSS JOIN LATERAL (SELECT CASE pa_m WHEN 'bgnbd' THEN customer_score.p_alive(bg, l.frequency, l.recency, l.t)
                                         WHEN 'mbgnbd' THEN customer_score.p_alive(mb, l.frequency, l.recency, l.t)
                                         ELSE customer_score.p_alive(pn, l.frequency, l.recency, l.t) END AS p_alive,
                               CASE WHEN want_ep THEN CASE ep_m WHEN 'bgnbd' THEN customer_score.expected_purchases(bg, r.horizon, l.frequency, l.recency, l.t)
                                         WHEN 'mbgnbd' THEN customer_score.expected_purchases(mb, r.horizon, l.frequency, l.recency, l.t)
                                         ELSE customer_score.expected_purchases(pn, r.horizon, l.frequency, l.recency, l.t) END END
                                   AS expected_purchases,
                               CASE WHEN basis = 'expected_purchases'
                                    THEN CASE clv_m WHEN 'bgnbd' THEN customer_score.expected_purchases(bg, r.horizon, l.frequency, l.recency, l.t)
                                         WHEN 'mbgnbd' THEN customer_score.expected_purchases(mb, r.horizon, l.frequency, l.recency, l.t)
                                         ELSE customer_score.expected_purchases(pn, r.horizon, l.frequency, l.recency, l.t) END END
                                   AS clv_purchases
                        OFFSET 0) p;
    DROP TABLE pg_temp.cs_rfm;
    ALTER TABLE pg_temp.cs_ltv ADD PRIMARY KEY (customer_id);
    ANALYZE pg_temp.cs_ltv;
END
$$;
COMMENT ON FUNCTION customer_score.refresh_lifetime_value(bigint) IS
    'Phase 1 of refresh: the purchase histories of the transactions source as of the run''s as_of (rfm), the BG/NBD and Gamma-Gamma fits (a fit that did not converge or is degenerate: a WARNING, recorded in score_runs, not used unless the model version allows it), and per customer P(alive), expected purchases and predicted CLV (by expected purchases without a usable spend model), into pg_temp.cs_ltv. An empty source is an error; an as_of beyond the data a WARNING.';

-- The run's opted-out customers, as the numbers the run stores them under, into
-- pg_temp.cs_opt_outs.  opt_outs is read under the run's snapshot; its keys are mapped through
-- customer_keys as it is now, so call this after the sources are read (their new keys numbered).
-- A row's customer_id is such a number; its customer_key is the source's id as text: for a run
-- with customer_keys the key itself, for integer ids its canonical digits (so '007' names nobody,
-- as the source's id 7 reads '7').
CREATE FUNCTION customer_score.refresh_read_opt_outs(run bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    keyed boolean := (customer_score.refresh_run(run)).customer_keys;
BEGIN
    CREATE TEMP TABLE cs_opt_out_rows ON COMMIT DROP AS
    SELECT * FROM customer_score.read_as(CURRENT_USER::regrole,
                                         'SELECT customer_id, customer_key FROM customer_score.opt_outs', run)
        AS o(customer_id bigint, customer_key text);
    CREATE TEMP TABLE cs_opt_outs ON COMMIT DROP AS
    SELECT o.customer_id FROM pg_temp.cs_opt_out_rows o WHERE o.customer_id IS NOT NULL
    UNION
    SELECT k.customer_id FROM pg_temp.cs_opt_out_rows o JOIN customer_score.customer_keys k ON k.customer_key = o.customer_key
    WHERE keyed
    UNION
    SELECT o.customer_key::bigint FROM pg_temp.cs_opt_out_rows o
    WHERE NOT keyed AND o.customer_key ~ '^(0|-?[1-9][0-9]{0,17})$';
    DROP TABLE pg_temp.cs_opt_out_rows;
    -- with statistics the joins against these few rows hash them, rather than sort every action
    -- by customer for a merge join (1.6 s against 0.3 s for a million actions)
    ANALYZE pg_temp.cs_opt_outs;
END
$$;
COMMENT ON FUNCTION customer_score.refresh_read_opt_outs(bigint) IS
    'Internal: the opted-out customers of a running run (opt_outs under the run''s snapshot; customer_key mapped through customer_keys for a run with text, varchar or uuid ids, read as the integer id otherwise) as the numbers the run stores them under, into pg_temp.cs_opt_outs.';

-- The actions of the run's customers who did not opt out, read once per run (as the role that
-- set the actions source, under the run's snapshot) into pg_temp.cs_source_actions, and the
-- opt-outs into pg_temp.cs_opt_outs (refresh_read_opt_outs).  Used by refresh_influence and by backtest, which needs the
-- actions whatever the model's components.  False (and no tables) without an actions source.
-- In id order, so that the sums over them add in one order however a Citus cluster's shards
-- deliver their rows.
CREATE FUNCTION customer_score.refresh_read_actions(run bigint) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r        customer_score.score_runs;
    act_rel  regclass;
    act_role regrole;
    act_zone text;
BEGIN
    r := customer_score.refresh_run(run);
    SELECT s.relation, s.configured_by, s.time_zone INTO act_rel, act_role, act_zone
    FROM customer_score.source_relation('actions', r.model) s;
    IF act_rel IS NULL THEN
        RETURN false;
    END IF;
    IF pg_catalog.to_regclass('pg_temp.cs_source_actions') IS NOT NULL THEN
        RETURN true;
    END IF;
    CREATE TEMP TABLE cs_source_actions (customer_id bigint, id bigint, sparked_by bigint, at timestamptz,
                                         value double precision, channel text, kind text) ON COMMIT DROP;
    PERFORM customer_score.refresh_read(run, act_role, format($q$
        SELECT @customer_id@, id::bigint, sparked_by::bigint, %s, value::double precision,
               channel::text, kind::text FROM %s ORDER BY id, customer_id$q$, customer_score.source_at(act_rel, act_zone), act_rel), 'cs_source_actions',
        'id bigint, sparked_by bigint, at timestamptz, value double precision, channel text, kind text');
    PERFORM customer_score.refresh_read_opt_outs(run);
    DELETE FROM pg_temp.cs_source_actions a USING pg_temp.cs_opt_outs o WHERE o.customer_id = a.customer_id;
    RETURN true;
END
$$;
COMMENT ON FUNCTION customer_score.refresh_read_actions(bigint) IS
    'Internal phase of refresh: the actions of a running run''s customers who did not opt out, read once (as the role that set the source, under the run''s snapshot) into pg_temp.cs_source_actions, the opt-outs into pg_temp.cs_opt_outs; false without an actions source.';

-- Phase 2, influence: the actions of customers who did not opt out, and nobody else's.  The source
-- is read once, the columns influence reads without topic (cs_source_actions), the opt-outs under
-- the same snapshot; cs_actions holds those up to as_of for referral and knowledge.
CREATE FUNCTION customer_score.refresh_influence(run bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r        customer_score.score_runs;
    v        customer_score.model_versions;
    act_rel  regclass;
    n_act    bigint;
BEGIN
    r := customer_score.refresh_run(run);
    SELECT * INTO v FROM customer_score.model_versions mv WHERE mv.model = r.model AND mv.version = r.version;
    CREATE TEMP TABLE cs_actions (id bigint, customer_id bigint, sparked_by bigint, at timestamptz, kind text) ON COMMIT DROP;
    CREATE TEMP TABLE cs_influence (customer_id bigint PRIMARY KEY, influence_value double precision,
                                    influence_points double precision) ON COMMIT DROP;
    CREATE TEMP TABLE cs_referral (customer_id bigint PRIMARY KEY, value double precision) ON COMMIT DROP;
    CREATE TEMP TABLE cs_knowledge (customer_id bigint PRIMARY KEY, actions bigint) ON COMMIT DROP;
    SELECT s.relation INTO act_rel FROM customer_score.source_relation('actions', r.model) s;
    IF act_rel IS NULL OR NOT EXISTS (SELECT 1 FROM customer_score.components c
                                      WHERE c.name = ANY (r.components) AND 'actions' = ANY (c.needs)) THEN
        RETURN;
    END IF;
    PERFORM customer_score.refresh_progress(run, 'influence', r.started_at);
    PERFORM customer_score.refresh_read_actions(run);
    INSERT INTO pg_temp.cs_actions
    SELECT a.id, a.customer_id, a.sparked_by, a.at, a.kind FROM pg_temp.cs_source_actions a
    WHERE a.at <= r.as_of AND a.customer_id IS NOT NULL;
    GET DIAGNOSTICS n_act = ROW_COUNT;
    UPDATE customer_score.score_runs s SET actions = n_act WHERE s.run_id = run;
    ANALYZE pg_temp.cs_actions;
    INSERT INTO pg_temp.cs_influence
    SELECT i.customer_id, i.influence_value, i.influence_points
    FROM customer_score.influence('SELECT * FROM pg_temp.cs_source_actions',
             r.as_of, v.max_depth, v.depth_decay, v.max_gap, v.half_life) i;

    -- referral value: the predicted CLV of customers whose first purchase or sign-up a customer sparked
    INSERT INTO pg_temp.cs_referral
    SELECT s.customer_id, sum(coalesce(l.predicted_clv, 0) ORDER BY f.customer_id)   -- one order of addition
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
END
$$;
COMMENT ON FUNCTION customer_score.refresh_influence(bigint) IS
    'Phase 2 of refresh: the actions up to as_of of customers who did not opt out (pg_temp.cs_actions), their influence (cs_influence), referral value (cs_referral, from the predicted CLV of phase 1) and knowledge (cs_knowledge); nothing when no component needs actions.';

-- Phase 3, signals: the user's own components, averaged per customer, into pg_temp.cs_signals.
CREATE FUNCTION customer_score.refresh_signals(run bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r        customer_score.score_runs;
    v        customer_score.model_versions;
    sig_rel  regclass;
    sig_role regrole;
BEGIN
    r := customer_score.refresh_run(run);
    SELECT * INTO v FROM customer_score.model_versions mv WHERE mv.model = r.model AND mv.version = r.version;
    CREATE TEMP TABLE cs_signals (customer_id bigint, component text, value double precision) ON COMMIT DROP;
    SELECT s.relation, s.configured_by INTO sig_rel, sig_role FROM customer_score.source_relation('signals', r.model) s;
    IF sig_rel IS NOT NULL THEN
        PERFORM customer_score.refresh_read(run, sig_role, format($q$
            SELECT @customer_id@, component::text, avg(value)::double precision FROM %s
            WHERE customer_id IS NOT NULL AND component = ANY (%L::text[]) AND value IS NOT NULL
              AND value::double precision BETWEEN '-1e300' AND '1e300'
            GROUP BY 1, 2$q$, sig_rel, r.components), 'cs_signals', 'component text, value double precision');
    END IF;
END
$$;
COMMENT ON FUNCTION customer_score.refresh_signals(bigint) IS
    'Phase 3 of refresh: per customer the average value of each signal the model names (finite, within +-1e300), into pg_temp.cs_signals.';

-- Phase 4, normalise and score: one raw value per component (components.raw_value, a signal by
-- name), normalised within the population, weighted into the score; the run's scores_history rows.
CREATE FUNCTION customer_score.refresh_normalise_and_score(run bigint) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r         customer_score.score_runs;
    v         customer_score.model_versions;
    mc        record;
    raw_cols  text := '';
    norm_cols text := '';
    sig_joins text := '';
    nexpr     text;
    missings  text[];
    n         integer;
    n_customers bigint;
BEGIN
    r := customer_score.refresh_run(run);
    SELECT * INTO v FROM customer_score.model_versions mv WHERE mv.model = r.model AND mv.version = r.version;
    n := array_length(r.components, 1);
    PERFORM customer_score.refresh_progress(run, 'normalising and scoring', r.started_at);

    -- one raw column per component; NULL where the component is not observed
    FOR mc IN
        SELECT m.position AS k, m.component, m.direction, m.normalization, m.missing, bc.raw_value
        FROM customer_score.model_components m
        LEFT JOIN customer_score.components bc ON bc.name = m.component
        WHERE m.model = r.model AND m.version = r.version ORDER BY m.position
    LOOP
        IF mc.raw_value IS NULL THEN
            sig_joins := sig_joins || format(' LEFT JOIN pg_temp.cs_signals s%1$s ON s%1$s.customer_id = o.customer_id AND s%1$s.component = %2$L',
                                             mc.k, mc.component);
        END IF;
        raw_cols := raw_cols || format(', %s AS r%s', coalesce(mc.raw_value, format('s%s.value', mc.k)), mc.k);
        -- normalised to 0..1 among the observed customers
        nexpr := format('customer_score.normalized(r%s, %L) OVER ()', mc.k, mc.normalization);
        IF mc.direction = 'lower_is_better' THEN
            nexpr := format('1 - (%s)', nexpr);
        END IF;
        norm_cols := norm_cols || CASE WHEN norm_cols <> '' THEN ', ' ELSE '' END || nexpr;
        missings := missings || mc.missing;
    END LOOP;

    -- One statement, one pass over the customers.  The scored population is everyone with a
    -- transaction (cs_ltv, already one row per customer), an action or a signal: the few with an
    -- action or a signal (o) are joined to what phases 2 and 3 found for them, then to cs_ltv in a
    -- full join, rather than every id hashed into a population of its own and each phase's table
    -- joined to all of them.  In customer order, which the window keeps, so that the scores go
    -- into scores_history's index in key order (in hash order, every row was a random descent of
    -- the index: 2 s more on a million customers).  score_parts gives the score, the confidence
    -- and the contributions (rounded to 4 decimals in numeric, so that they add up to the score
    -- exactly) in C from the normalised values; OFFSET 0 keeps it one call per row, which the
    -- three columns then read.
    -- the customers with an action, and those with an action or a signal: small tables with
    -- statistics, so that the joins below are estimated at their size
    CREATE TEMP TABLE cs_act ON COMMIT DROP AS SELECT DISTINCT customer_id FROM pg_temp.cs_actions;
    CREATE TEMP TABLE cs_others ON COMMIT DROP AS
    SELECT customer_id FROM pg_temp.cs_act UNION SELECT customer_id FROM pg_temp.cs_signals;
    ANALYZE pg_temp.cs_act;
    ANALYZE pg_temp.cs_others;
    EXECUTE format($q$
        INSERT INTO customer_score.scores_history (run_id, customer_id, score, confidence, raw, normalized, contribution, observed)
        SELECT %1$s, d.customer_id, (d.s).score, (d.s).confidence, d.raw, d.normalized, (d.s).contribution, d.observed
        FROM (SELECT x.customer_id, x.raw, x.normalized, x.observed,
                     customer_score.score_parts(x.normalized, x.observed, %2$L::double precision[], %3$L::text[], %4$L::double precision) AS s
              FROM (SELECT customer_id, ARRAY[%5$s]::double precision[] AS raw,
                           ARRAY[%6$s]::double precision[] AS normalized,
                           ARRAY[%7$s]::boolean[] AS observed
                    FROM (SELECT coalesce(l.customer_id, o.customer_id) AS customer_id %8$s
                          FROM pg_temp.cs_ltv l
                          FULL JOIN (pg_temp.cs_others o
                                     LEFT JOIN pg_temp.cs_act act ON act.customer_id = o.customer_id
                                     LEFT JOIN pg_temp.cs_influence i ON i.customer_id = o.customer_id
                                     LEFT JOIN pg_temp.cs_referral rf ON rf.customer_id = o.customer_id
                                     LEFT JOIN pg_temp.cs_knowledge kn ON kn.customer_id = o.customer_id
                                     %9$s)
                            ON o.customer_id = l.customer_id
                          ORDER BY 1) raw) x
              OFFSET 0) d$q$,
        run, r.weights, missings, r.scale,
        (SELECT string_agg(format('r%s', k), ', ') FROM generate_series(1, n) k),
        norm_cols,
        (SELECT string_agg(format('r%s IS NOT NULL', k), ', ') FROM generate_series(1, n) k),
        raw_cols, sig_joins);
    GET DIAGNOSTICS n_customers = ROW_COUNT;
    DROP TABLE pg_temp.cs_act, pg_temp.cs_others;
    RETURN n_customers;
END
$$;
COMMENT ON FUNCTION customer_score.refresh_normalise_and_score(bigint) IS
    'Phase 4 of refresh: per customer of the population (with a purchase history, an action or a signal) each component''s raw value (components.raw_value over the scratch tables of phases 1-3, a signal by name), normalised within the population, and the score from the weights, into scores_history for the run (not shown until refresh_store); returns the number of customers.';

-- Phase 5, store: the run done, so that the views show it.
CREATE FUNCTION customer_score.refresh_store(run bigint, customers bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r customer_score.score_runs;
    v customer_score.model_versions;
BEGIN
    r := customer_score.refresh_run(run);
    SELECT * INTO v FROM customer_score.model_versions mv WHERE mv.model = r.model AND mv.version = r.version;
    IF customers = 0 THEN
        RAISE EXCEPTION 'refresh of model %: no customer to score as of %', r.model, r.as_of
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'The sources have no purchase, action or signal up to as_of. Nothing was stored: the previous run''s scores stay the ones shown.';
    END IF;
    UPDATE customer_score.score_runs s
    SET status = 'done', finished_at = clock_timestamp(), customers = refresh_store.customers,
        transactions = coalesce(s.transactions, 0), actions = coalesce(s.actions, 0)
    WHERE s.run_id = run;
    -- the views' plans want statistics on score_runs, which a table of a few rows waits long
    -- for from autovacuum: take them the first time, if this role may
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_class c, pg_catalog.pg_database d
               WHERE c.oid = 'customer_score.score_runs'::regclass AND c.reltuples < 0
                 AND d.datname = pg_catalog.current_database()
                 AND (pg_catalog.pg_has_role(c.relowner, 'USAGE') OR pg_catalog.pg_has_role(d.datdba, 'USAGE'))) THEN
        ANALYZE customer_score.score_runs;
    END IF;
    PERFORM customer_score.refresh_progress(run, format('done: %s customers scored', customers), r.started_at);
END
$$;
COMMENT ON FUNCTION customer_score.refresh_store(bigint, bigint) IS
    'Phase 5 of refresh: marks the run done with its customer count, so that the views show its scores; refuses a run without customers (the previous scores stay shown).';

CREATE FUNCTION customer_score.refresh(model text DEFAULT 'default', as_of timestamptz DEFAULT now())
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    run bigint;
BEGIN
    run := customer_score.refresh_begin(model, as_of);
    PERFORM customer_score.refresh_lifetime_value(run);
    PERFORM customer_score.refresh_influence(run);
    PERFORM customer_score.refresh_signals(run);
    PERFORM customer_score.refresh_store(run, customer_score.refresh_normalise_and_score(run));
    RETURN run;
END
$$;
COMMENT ON FUNCTION customer_score.refresh(text, timestamptz) IS
    'Score every customer with the latest published version of a model as of a time, in phases (refresh_begin, refresh_lifetime_value, refresh_influence, refresh_signals, refresh_normalise_and_score, refresh_store): fits BG/NBD and Gamma-Gamma on the model''s transactions source, computes each component (influence from the actions source without opted-out customers, signals by name), normalises within the population, stores the scores with each component''s raw value, normalised value and contribution, and returns the run id. Progress goes to NOTICEs and application_name; fits not used and an as_of beyond the data to WARNINGs.';
-- @end refresh

--------------------------------------------------------------------------
-- Explanations: views with plain column types, for people and BI tools.
-- security_invoker: they read the tables with the rights of whoever queries.
--------------------------------------------------------------------------

CREATE TABLE customer_score.reason_codes (
    code      text PRIMARY KEY,
    component text NOT NULL,
    effect    text NOT NULL CHECK (effect IN ('lifts', 'holds_back')),
    sentence  text NOT NULL
);
COMMENT ON TABLE customer_score.reason_codes IS
    'Stable reason codes with a sentence, one per built-in component and effect; signals get SIGNAL_HIGH and SIGNAL_LOW.';
INSERT INTO customer_score.reason_codes VALUES
    ('CLV_HIGH', 'predicted_clv', 'lifts', 'Expected to spend much more than most customers over the coming period.'),
    ('CLV_LOW', 'predicted_clv', 'holds_back', 'Expected to spend less than most customers over the coming period.'),
    ('HISTORIC_VALUE_HIGH', 'historic_value', 'lifts', 'Has spent more to date than most customers.'),
    ('HISTORIC_VALUE_LOW', 'historic_value', 'holds_back', 'Has spent less to date than most customers.'),
    ('ACTIVE_HIGH', 'p_alive', 'lifts', 'Very likely still an active customer.'),
    ('ACTIVE_LOW', 'p_alive', 'holds_back', 'Quiet for much longer than usual: may have stopped buying.'),
    ('INFLUENCE_VALUE_HIGH', 'influence_value', 'lifts', 'Others spent significant money in purchases this customer sparked.'),
    ('INFLUENCE_VALUE_LOW', 'influence_value', 'holds_back', 'Active, but few purchases by others trace back to this customer.'),
    ('INFLUENCE_POINTS_HIGH', 'influence_points', 'lifts', 'Moves other people to act: write, answer, buy, attend.'),
    ('INFLUENCE_POINTS_LOW', 'influence_points', 'holds_back', 'Active, but rarely moves others to act.'),
    ('REFERRAL_VALUE_HIGH', 'referral_value', 'lifts', 'Brought in new customers who are themselves valuable.'),
    ('REFERRAL_VALUE_LOW', 'referral_value', 'holds_back', 'Has brought in few or low-value new customers.'),
    ('KNOWLEDGE_HIGH', 'knowledge', 'lifts', 'Answers, reviews or posts that others acted on.'),
    ('KNOWLEDGE_LOW', 'knowledge', 'holds_back', 'Few answers, reviews or posts that others acted on.'),
    ('SIGNAL_HIGH', '*', 'lifts', 'A signal of the user''s own is high for this customer.'),
    ('SIGNAL_LOW', '*', 'holds_back', 'A signal of the user''s own is low for this customer.');

-- @begin reason-codes-expected-purchases
INSERT INTO customer_score.reason_codes VALUES
    ('EXPECTED_PURCHASES_HIGH', 'expected_purchases', 'lifts', 'Expected to buy more often than most customers over the coming period.'),
    ('EXPECTED_PURCHASES_LOW', 'expected_purchases', 'holds_back', 'Expected to buy less often than most customers over the coming period.');
-- @end reason-codes-expected-purchases

-- @begin latest-runs-scores
CREATE VIEW customer_score.latest_runs WITH (security_invoker = true) AS
SELECT DISTINCT ON (r.model)
       r.run_id, r.model, r.version, r.as_of, r.started_at, r.finished_at, r.customers, r.transactions, r.actions,
       r.purchase_model::text AS purchase_model, r.spend_model::text AS spend_model, r.customer_keys
FROM customer_score.score_runs r
WHERE r.status = 'done'
ORDER BY r.model, r.run_id DESC;
COMMENT ON VIEW customer_score.latest_runs IS 'The most recent finished refresh of each model: the scores the other views show.';
COMMENT ON COLUMN customer_score.latest_runs.customer_keys IS 'Whether the run''s customers have text, varchar or uuid ids (customer_key in the views).';
-- @end latest-runs-scores

-- @begin run-fits
-- One row per run, fitted model and parameter, from the run's purchase_models (every purchase
-- model the run fitted, used or not), its Gamma-Gamma fit (spend_fit_params, used or not; for
-- runs made before that was recorded the spend_model, stored only when used, so an unused one
-- there gets one row without parameters) and, for runs made before purchase_models was
-- recorded, its purchase_model.
CREATE VIEW customer_score.run_fits WITH (security_invoker = true) AS
SELECT r.run_id, r.model, r.version, r.as_of, f.fitted_model, f.fit, f.used,
       p.parameter, p.estimate,
       (f.params #>> ARRAY['standard_errors', p.parameter])::double precision AS standard_error,
       (f.params #>> ARRAY['confidence_intervals', p.parameter, '0'])::double precision AS ci_lower,
       (f.params #>> ARRAY['confidence_intervals', p.parameter, '1'])::double precision AS ci_upper,
       (f.params ->> 'log_likelihood')::double precision AS log_likelihood,
       (f.params ->> 'aic')::double precision AS aic,
       (f.params ->> 'bic')::double precision AS bic,
       (f.params ->> 'customers')::bigint AS customers
FROM customer_score.score_runs r
CROSS JOIN LATERAL (
    SELECT m.key AS fitted_model, m.value ->> 'fit' AS fit, (m.value ->> 'used')::boolean AS used, m.value -> 'params' AS params
    FROM jsonb_each(r.purchase_models) m
    UNION ALL
    SELECT 'bgnbd', r.purchase_fit, r.purchase_model IS NOT NULL, customer_score.params(r.purchase_model)
    WHERE r.purchase_fit IS NOT NULL AND NOT r.purchase_models ? 'bgnbd'
    UNION ALL
    SELECT 'gamma_gamma', r.spend_fit, r.spend_model IS NOT NULL,
           coalesce(r.spend_fit_params, customer_score.params(r.spend_model))
    WHERE r.spend_fit IS NOT NULL
) f
LEFT JOIN LATERAL (
    SELECT e.key AS parameter, (e.value #>> '{}')::double precision AS estimate
    FROM jsonb_each(f.params) e
    WHERE e.key NOT IN ('converged', 'customers', 'log_likelihood', 'aic', 'bic', 'standard_errors', 'confidence_intervals')
) p ON true;
COMMENT ON VIEW customer_score.run_fits IS
    'How each run''s fits went, in plain columns: one row per run, fitted model (bgnbd, mbgnbd, pareto_nbd, gamma_gamma) and parameter, with the estimate, its standard error and 95% confidence interval, and the fit''s log-likelihood, AIC, BIC and customers (the values of params() of the fitted model). A fit the run did not keep the parameters of (an unused Gamma-Gamma fit of a run made before spend_fit_params was recorded) has one row with parameter NULL.';
COMMENT ON COLUMN customer_score.run_fits.model IS 'The scoring model the run refreshed (score_runs.model), not the fitted model.';
COMMENT ON COLUMN customer_score.run_fits.fitted_model IS 'The fitted model: bgnbd, mbgnbd or pareto_nbd (purchases; mbgnbd and pareto_nbd only when a component of the run asks for them) or gamma_gamma (spend).';
COMMENT ON COLUMN customer_score.run_fits.fit IS 'How the fit ended: converged, not converged, or degenerate (a parameter ran to the optimiser''s bounds), as fit_outcome(params) says.';
COMMENT ON COLUMN customer_score.run_fits.used IS 'Whether the run used the fit for its scores (a fit that did not converge is not used unless the model version has use_unconverged_fits).';
COMMENT ON COLUMN customer_score.run_fits.parameter IS 'The parameter''s name as params() has it (r, alpha, a, b; r, alpha, s, beta; p, q, v); NULL for a fit without stored parameters.';
COMMENT ON COLUMN customer_score.run_fits.estimate IS 'The fitted value of the parameter (alpha, beta and v in the run''s time_unit and currency, as the model has them).';
COMMENT ON COLUMN customer_score.run_fits.standard_error IS 'The standard error of the estimate from the observed information at the optimum; NULL for a fit that did not converge or whose information matrix there is not positive definite.';
COMMENT ON COLUMN customer_score.run_fits.ci_lower IS 'Lower end of the 95% confidence interval of the parameter (a Wald interval in the log-parameter, so it stays positive); NULL with standard_error.';
COMMENT ON COLUMN customer_score.run_fits.ci_upper IS 'Upper end of the 95% confidence interval (as ci_lower).';
COMMENT ON COLUMN customer_score.run_fits.log_likelihood IS 'The fit''s maximised log-likelihood (the same on every row of the fit).';
COMMENT ON COLUMN customer_score.run_fits.aic IS 'Akaike information criterion of the fit: 2k - 2 log_likelihood; lower is better among models fitted on the same customers.';
COMMENT ON COLUMN customer_score.run_fits.bic IS 'Bayesian information criterion of the fit: k ln(customers) - 2 log_likelihood.';
COMMENT ON COLUMN customer_score.run_fits.customers IS 'The customers the fit was made on (for gamma_gamma the repeat buyers with a positive amount).';
-- security_invoker, as the other views: what a role sees is its rights on score_runs
GRANT SELECT ON customer_score.run_fits TO PUBLIC;
-- @end run-fits

-- @begin scores-view
CREATE VIEW customer_score.scores WITH (security_invoker = true) AS
SELECT h.customer_id, r.model, r.version, r.as_of, h.score, h.confidence,
       customer_score.customer_key(h.customer_id, r.customer_keys) AS customer_key,
       customer_score.tier(h.score, v.tier_names, v.tier_floors) AS tier
FROM customer_score.latest_runs r
JOIN customer_score.scores_history h ON h.run_id = r.run_id
LEFT JOIN customer_score.model_versions v ON v.model = r.model AND v.version = r.version;
COMMENT ON COLUMN customer_score.scores.customer_key IS 'The customer id as the sources have it, as text (customer_id as text for integer ids).';
COMMENT ON VIEW customer_score.scores IS
    'The latest score of every customer under every model: the model version that made it, its as_of, the score (0 to the version''s scale), the confidence (the share of the model''s weight that was observed for the customer) and the tier, where the version defines tiers.';
COMMENT ON COLUMN customer_score.scores.tier IS 'The score''s tier under the model version''s tier_names and tier_floors (a presentation of the score, not a second score); NULL without tiers.';
-- @end scores-view
COMMENT ON COLUMN customer_score.scores.confidence IS 'Share (0..1) of the model''s weight carried by components observed for this customer; lower when data such as actions is missing.';

-- @begin score-explanation
CREATE VIEW customer_score.score_explanation WITH (security_invoker = true) AS
SELECT e.customer_id, e.model, e.version, e.as_of, e.position, e.component, e.raw_value, e.normalized,
       e.weight, e.weight_used, e.contribution,
       round(CASE WHEN e.score = 0 THEN 0::numeric ELSE e.contribution / e.score END, 4) AS share,
       e.observed, e.normalization, e.direction, e.missing,
       CASE
           WHEN e.observed AND e.component = 'predicted_clv' AND e.clv_basis = 'expected_purchases' THEN
               format('predicted_clv by expected purchases%s (no spend data or no usable spend model in this run, so customers rank by predicted activity): %s expected purchases, %s %s: normalised %s x weight used %s x scale %s = %s points',
                      coalesce(' under ' || e.purchase_model, ''),
                      round(e.raw_value::numeric, 4), e.normalization, replace(e.direction, '_', ' '), round(e.normalized::numeric, 4),
                      round(e.weight_used::numeric, 4), e.scale, e.contribution)
           WHEN e.observed THEN format('%s of %s, %s %s: normalised %s x weight used %s x scale %s = %s points',
                                       e.component || coalesce(' under ' || e.purchase_model, ''), round(e.raw_value::numeric, 4), e.normalization,
                                       replace(e.direction, '_', ' '), round(e.normalized::numeric, 4),
                                       round(e.weight_used::numeric, 4), e.scale, e.contribution)
           WHEN e.missing = 'renormalize' THEN format('%s not observed for this customer: left out and the other weights renormalised, so it does not lower the score', e.component)
           WHEN e.missing = 'neutral' THEN format('%s not observed: counted as 0.5 (model policy neutral)', e.component)
           ELSE format('%s not observed: counted as 0 (model policy zero)', e.component)
       END AS explanation,
       customer_score.customer_key(e.customer_id, e.customer_keys) AS customer_key
FROM (
    SELECT h.customer_id, r.customer_keys, r.model, r.version, r.as_of, u.position::integer AS position, u.component,
           u.raw_value, u.normalized, u.weight, u.contribution, u.observed, h.score, sr.scale, sr.clv_basis,
           mc.normalization, mc.direction, mc.missing,
           CASE WHEN mc.component IN ('p_alive', 'expected_purchases', 'predicted_clv') AND mc.parameters <> '{}' THEN
                    CASE customer_score.purchase_model_name(mc.parameters) WHEN 'mbgnbd' THEN 'MBG/NBD' WHEN 'pareto_nbd' THEN 'Pareto/NBD' END
               END AS purchase_model,
           CASE WHEN u.observed OR mc.missing <> 'renormalize'
                THEN u.weight / sum(u.weight) FILTER (WHERE u.observed OR mc.missing <> 'renormalize')
                                OVER (PARTITION BY h.run_id, h.customer_id ORDER BY u.position
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)  -- summed in one order, whatever the plan
                ELSE 0 END AS weight_used
    FROM customer_score.latest_runs r
    JOIN customer_score.score_runs sr ON sr.run_id = r.run_id
    JOIN customer_score.scores_history h ON h.run_id = r.run_id
    CROSS JOIN LATERAL unnest(sr.components, sr.weights, h.raw, h.normalized, h.contribution, h.observed)
        WITH ORDINALITY u(component, weight, raw_value, normalized, contribution, observed, position)
    JOIN customer_score.model_components mc
      ON mc.model = r.model AND mc.version = r.version AND mc.position = u.position
) e;
COMMENT ON VIEW customer_score.score_explanation IS
    'How every latest score was derived, one row per customer and component: the raw value, its normalised value (0..1), the model weight and the weight actually used (renormalised over what was observed), the contribution in score points (contributions add up to the score exactly), its share of the score, whether it was observed, and a sentence.';
COMMENT ON COLUMN customer_score.score_explanation.weight_used IS 'The component''s weight divided by the sum of the weights counted for this customer: what it counted for after renormalisation; 0 when left out.';
COMMENT ON COLUMN customer_score.score_explanation.contribution IS 'Score points from this component: scale x weight_used x normalized, rounded to 4 decimals; they sum to the score.';
COMMENT ON COLUMN customer_score.score_explanation.customer_key IS 'The customer id as the sources have it, as text.';
-- @end score-explanation

-- @begin score-reasons
CREATE VIEW customer_score.score_reasons WITH (security_invoker = true) AS
SELECT x.customer_id, x.model, x.version, x.rank::integer AS rank, x.code, x.effect, x.component,
       x.impact, x.sentence, x.customer_key
FROM (
    SELECT i.*, row_number() OVER (PARTITION BY i.model, i.customer_id ORDER BY abs(i.impact) DESC, i.position) AS rank
    FROM (
        SELECT e.customer_id, e.customer_key, e.model, e.version, e.position, e.component,
               -- points gained or lost against a customer at the median of this component
               round(e.contribution - (e.weight_used * 0.5 * sr.scale)::numeric, 4) AS impact,
               rc.code, rc.effect,
               CASE WHEN rc.component = '*' THEN format('%s (%s).', rtrim(rc.sentence, '.'), e.component) ELSE rc.sentence END AS sentence
        FROM customer_score.score_explanation e
        JOIN customer_score.latest_runs r ON r.model = e.model
        JOIN customer_score.score_runs sr ON sr.run_id = r.run_id
        JOIN customer_score.reason_codes rc
          ON rc.component = CASE WHEN e.component IN (SELECT name FROM customer_score.components) THEN e.component ELSE '*' END
         AND rc.effect = CASE WHEN e.contribution >= (e.weight_used * 0.5 * sr.scale)::numeric THEN 'lifts' ELSE 'holds_back' END
        WHERE e.observed
    ) i
    WHERE i.impact <> 0
) x
WHERE x.rank <= 4;
COMMENT ON VIEW customer_score.score_reasons IS
    'Up to four ranked reason codes per customer and model, as credit scores give: what lifts the score most and what holds it back most, each with a stable code, a sentence and its impact in points against a customer at the median of that component.';
COMMENT ON COLUMN customer_score.score_reasons.customer_key IS 'The customer id as the sources have it, as text.';
-- @end score-reasons

CREATE VIEW customer_score.model_explanation WITH (security_invoker = true) AS
SELECT mc.model, mc.version, mv.status, mv.published_at, mc.position, mc.component,
       coalesce(c.description, format('A signal of the user''s own, read from the signals source as %L.', mc.component)) AS description,
       coalesce(c.formula, 'avg(value) of the signals rows with this component') AS formula,
       mc.weight, mc.direction, mc.normalization, mc.missing,
       (CASE
            WHEN mc.component = 'predicted_clv' THEN
                jsonb_build_object('time_unit_days', (extract(epoch FROM mv.time_unit) / 86400)::double precision, 'horizon', mv.horizon, 'clv_step', mv.clv_step,
                                   'discount_rate_yearly', mv.discount_rate,
                                   'bgnbd', customer_score.params(lr.purchase_model),
                                   'gamma_gamma', customer_score.params(lr.spend_model))
            WHEN mc.component = 'p_alive' THEN
                jsonb_build_object('time_unit_days', (extract(epoch FROM mv.time_unit) / 86400)::double precision, 'bgnbd', customer_score.params(lr.purchase_model))
            WHEN mc.component IN ('influence_value', 'influence_points', 'referral_value', 'knowledge') THEN
                jsonb_build_object('max_depth', mv.max_depth, 'depth_decay', mv.depth_decay,
                                   'max_gap_days', (extract(epoch FROM mv.max_gap) / 86400)::double precision,
                                   'half_life_days', (extract(epoch FROM mv.half_life) / 86400)::double precision)
            ELSE '{}'::jsonb
        END)::text AS parameters,
       lr.as_of AS data_as_of, lr.finished_at AS fitted_at, mv.scale
FROM customer_score.model_components mc
JOIN customer_score.model_versions mv ON mv.model = mc.model AND mv.version = mc.version
LEFT JOIN customer_score.components c ON c.name = mc.component
LEFT JOIN LATERAL (
    SELECT r.as_of, r.finished_at, r.purchase_model, r.spend_model
    FROM customer_score.score_runs r
    WHERE r.model = mc.model AND r.version = mc.version AND r.status = 'done'
    ORDER BY r.run_id DESC LIMIT 1
) lr ON true;
COMMENT ON VIEW customer_score.model_explanation IS
    'Every model version and component in words: what it measures, the formula, weight, direction, normalisation, missing-data policy, its parameters (including the fitted BG/NBD and Gamma-Gamma values of the version''s latest run, as JSON text) and the data as_of.';

-- @begin score-changes
-- One pass over the history: each row carries its predecessor's values (lead over the
-- customer's runs of a model, newest first), so the history is read once and sorted once, and a
-- filter on customer_id or model reaches the scan (they are the window's partition keys) and its
-- index, whatever the statistics say. The components are those of either run, each run's
-- contribution found by its position in that run's list (a plain unnest and lookups: Citus
-- plans it on a history distributed by customer, where it cannot copy a join of two unnests).
CREATE VIEW customer_score.score_changes WITH (security_invoker = true) AS
WITH pairs AS (
    SELECT h.customer_id, r.customer_keys, r.model, r.version, r.as_of, h.score, r.components, h.contribution,
           row_number() OVER w AS recency,
           lead(r.version) OVER w AS previous_version, lead(r.as_of) OVER w AS previous_as_of,
           lead(h.score) OVER w AS previous_score, lead(r.components) OVER w AS previous_components,
           lead(h.contribution) OVER w AS previous_contribution
    FROM customer_score.scores_history h
    JOIN customer_score.score_runs r ON r.run_id = h.run_id AND r.status = 'done'
    WINDOW w AS (PARTITION BY r.model, h.customer_id ORDER BY h.run_id DESC)
)
SELECT p.customer_id, p.model, j.component,
       p.previous_version, p.version AS current_version,
       p.previous_version IS DISTINCT FROM p.version AS version_changed,
       p.previous_as_of, p.as_of AS current_as_of,
       p.previous_score, p.score AS current_score, p.score - p.previous_score AS score_change,
       coalesce(j.contribution_p, 0) AS previous_contribution, coalesce(j.contribution_c, 0) AS current_contribution,
       coalesce(j.contribution_c, 0) - coalesce(j.contribution_p, 0) AS contribution_change,
       customer_score.customer_key(p.customer_id, p.customer_keys) AS customer_key
FROM pairs p
CROSS JOIN LATERAL (
    SELECT u.component, p.contribution[array_position(p.components, u.component)],
           p.previous_contribution[array_position(p.previous_components, u.component)]
    FROM (SELECT DISTINCT unnest(p.components || p.previous_components)) u(component)
) j(component, contribution_c, contribution_p)
WHERE p.recency = 1 AND p.previous_score IS NOT NULL;
COMMENT ON VIEW customer_score.score_changes IS
    'Why a score moved: between a customer''s last two scores under a model, the score change and, per component, how many points it moved the score (contribution_change; they add up to score_change), and whether the model version changed.';
COMMENT ON COLUMN customer_score.score_changes.customer_key IS 'The customer id as the sources have it, as text.';
-- @end score-changes

GRANT SELECT ON customer_score.components, customer_score.models, customer_score.model_versions,
                customer_score.model_components, customer_score.reason_codes TO PUBLIC;
-- In a trusted install the script runs as a superuser, who owns these tables: the role that
-- created the extension gets what it needs to configure and refresh, and may pass it on.
GRANT SELECT, INSERT, UPDATE, DELETE ON customer_score.sources, customer_score.opt_outs,
      customer_score.models, customer_score.model_versions, customer_score.model_components,
      customer_score.score_runs, customer_score.scores_history TO @extowner@ WITH GRANT OPTION;
GRANT USAGE, SELECT, UPDATE ON SEQUENCE customer_score.score_runs_run_id_seq TO @extowner@ WITH GRANT OPTION;
-- The views are security_invoker: granting them is safe, what a role sees is decided by its
-- rights (and row-level policies) on score_runs and scores_history, which the owner grants.
GRANT SELECT ON customer_score.latest_runs, customer_score.scores, customer_score.score_explanation,
                customer_score.score_reasons, customer_score.model_explanation, customer_score.score_changes TO PUBLIC;
