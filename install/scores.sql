-- Composite customer scores: sources, versioned models, refresh, stored scores
-- and the views that explain them.  Reference: docs/scores.md.

--------------------------------------------------------------------------
-- Sources: the user's own data, through relations with fixed column names
--------------------------------------------------------------------------

CREATE TABLE customer_score.sources (
    kind     text PRIMARY KEY CHECK (kind IN ('transactions', 'actions', 'signals')),
    relation regclass NOT NULL,
    set_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE customer_score.sources IS
    'Where refresh reads the user''s data, set with set_source(kind, relation): transactions (customer_id, at, amount), actions (id, customer_id, sparked_by, at, value, channel, kind [, topic]) and signals (customer_id, component, value).';
COMMENT ON COLUMN customer_score.sources.kind IS 'transactions, actions or signals.';
COMMENT ON COLUMN customer_score.sources.relation IS 'A table or view with the kind''s columns; read with the privileges of whoever runs refresh.';

CREATE TABLE customer_score.opt_outs (
    customer_id  bigint PRIMARY KEY,
    opted_out_at timestamptz NOT NULL DEFAULT now(),
    reason       text
);
COMMENT ON TABLE customer_score.opt_outs IS
    'Customers who opted out of tracking: their actions are used nowhere (neither credited to them nor crediting anyone); they are still scored on their transactions.';

--------------------------------------------------------------------------
-- Components, models and versions
--------------------------------------------------------------------------

CREATE TABLE customer_score.components (
    name        text PRIMARY KEY,
    source      text NOT NULL CHECK (source IN ('transactions', 'actions', 'signals')),
    description text NOT NULL,
    formula     text NOT NULL,
    unit        text NOT NULL
);
COMMENT ON TABLE customer_score.components IS
    'The built-in score components: what each measures, how it is computed and from which source. A model component not listed here is read from the signals source by name.';

INSERT INTO customer_score.components VALUES
    ('predicted_clv', 'transactions', 'Predicted customer lifetime value: the value of the purchases the customer is expected to make over the model''s horizon.',
     'clv(BG/NBD, Gamma-Gamma, frequency, recency, t, monetary, horizon, discount_rate per step, step)', 'currency'),
    ('historic_value', 'transactions', 'Historic value: everything the customer has spent up to as_of.',
     'sum(amount) over the customer''s transactions with at <= as_of', 'currency'),
    ('p_alive', 'transactions', 'Probability that the customer is still active (has not silently churned).',
     'p_alive(BG/NBD, frequency, recency, t)', 'probability'),
    ('influence_value', 'actions', 'Money others spent in actions this customer sparked, directly or along cascades.',
     'influence(actions, as_of, max_depth, depth_decay, max_gap, half_life).influence_value', 'currency'),
    ('influence_points', 'actions', 'Weighted actions others took because of this customer (writing and answering weigh more than reacting).',
     'influence(actions, as_of, max_depth, depth_decay, max_gap, half_life).influence_points', 'points'),
    ('referral_value', 'actions', 'Predicted lifetime value of the customers whose first purchase or sign-up this customer sparked.',
     'sum of predicted_clv of customers whose first purchase/signup action has sparked_by pointing to this customer''s action', 'currency'),
    ('knowledge', 'actions', 'Actions others took after reading this customer''s answers, reviews, posts, videos or talks.',
     'count of other customers'' actions sparked (depth 1, within max_gap) by this customer''s answer, review, blog_post, video or talk actions', 'actions');

CREATE TABLE customer_score.models (
    name        text PRIMARY KEY CHECK (name <> ''),
    description text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE customer_score.models IS 'Score models by name; each has numbered versions (model_versions).';

CREATE TABLE customer_score.model_versions (
    model          text NOT NULL REFERENCES customer_score.models (name),
    version        integer NOT NULL CHECK (version > 0),
    status         text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    published_at   timestamptz,
    scale          double precision NOT NULL DEFAULT 1000 CHECK (scale > 0 AND scale < 1e9),
    time_unit      interval NOT NULL DEFAULT '7 days' CHECK (time_unit > '0'::interval),
    horizon        double precision NOT NULL DEFAULT 52 CHECK (horizon > 0 AND horizon <= 10000),
    clv_step       double precision NOT NULL DEFAULT 13 CHECK (clv_step > 0),
    discount_rate  double precision NOT NULL DEFAULT 0.10 CHECK (discount_rate >= 0 AND discount_rate < 10),
    max_depth      integer NOT NULL DEFAULT 3 CHECK (max_depth BETWEEN 1 AND 100),
    depth_decay    double precision NOT NULL DEFAULT 0.5 CHECK (depth_decay >= 0 AND depth_decay <= 1),
    max_gap        interval NOT NULL DEFAULT '90 days' CHECK (max_gap > '0'::interval),
    half_life      interval CHECK (half_life > '0'::interval),
    note           text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, version),
    CHECK ((status = 'published') = (published_at IS NOT NULL))
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
COMMENT ON COLUMN customer_score.model_versions.half_life IS 'Influence: older sparked actions count less, halving every half_life (NULL: no age decay).';

CREATE TABLE customer_score.model_components (
    model         text NOT NULL,
    version       integer NOT NULL,
    position      integer NOT NULL CHECK (position > 0),
    component     text NOT NULL CHECK (component ~ '^[a-z][a-z0-9_]*$'),
    weight        double precision NOT NULL CHECK (weight > 0 AND weight < 1e9),
    direction     text NOT NULL DEFAULT 'higher_is_better' CHECK (direction IN ('higher_is_better', 'lower_is_better')),
    normalization text NOT NULL DEFAULT 'percentile' CHECK (normalization IN ('percentile', 'log', 'zscore', 'minmax')),
    missing       text NOT NULL DEFAULT 'renormalize' CHECK (missing IN ('renormalize', 'neutral', 'zero')),
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
    FOREIGN KEY (model, version) REFERENCES customer_score.model_versions (model, version)
);
COMMENT ON TABLE customer_score.score_runs IS
    'One refresh: the model version, as_of, the fitted BG/NBD and Gamma-Gamma models and the settings it used. Runs are kept: with scores_history they are the score history.';

CREATE TABLE customer_score.scores_history (
    run_id       bigint NOT NULL REFERENCES customer_score.score_runs ON DELETE CASCADE,
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
