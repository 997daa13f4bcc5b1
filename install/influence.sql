-- Action-based influence: credit customers for the actions they spark in
-- others, on every channel; multi-touch attribution; influence rank.
-- Reference: docs/influence.md.

--------------------------------------------------------------------------
-- action_weights: what an action is worth in points
--------------------------------------------------------------------------

CREATE TABLE customer_score.action_weights (
    channel     text NOT NULL,
    kind        text NOT NULL,
    weight      double precision NOT NULL
                CHECK (weight >= 0 AND weight < 'Infinity'::double precision),
    description text,
    is_default  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (channel, kind)
);
COMMENT ON TABLE customer_score.action_weights IS
    'Weight in influence points of one action, by channel and kind; ''*'' is a wildcard. Lookup order: (channel, kind), (''*'', kind), (channel, ''*''), (''*'', ''*''); no match weighs 0. Edit freely: rows you insert or change are yours (is_default = false), replace a shipped row with the same key and survive pg_dump.';
COMMENT ON COLUMN customer_score.action_weights.channel IS 'Channel of the action (web, app, community, email, social, store, event, phone, ...), or ''*'' for any.';
COMMENT ON COLUMN customer_score.action_weights.kind IS 'Kind of action (blog_post, answer, review, purchase, like, ...), or ''*'' for any.';
COMMENT ON COLUMN customer_score.action_weights.weight IS 'Points credited for one such action sparked (before depth, age and attribution factors); finite, >= 0.';
COMMENT ON COLUMN customer_score.action_weights.is_default IS 'true for a row shipped with the extension and unchanged; set to false by a trigger on every INSERT and UPDATE. pg_dump saves the rows where it is false.';

-- The shipped defaults, inserted before the trigger exists so they stay is_default.
-- Writing content and answering weigh far more than reacting; purchases, sign-ups and
-- referrals in between; offline channels are first class.
INSERT INTO customer_score.action_weights (channel, kind, weight, description, is_default) VALUES
    ('*',         '*',          1,   'Any other action', true),
    ('*',         'blog_post',  10,  'Wrote a blog post or article', true),
    ('*',         'answer',     8,   'Answered a question (community, forum, support)', true),
    ('*',         'review',     6,   'Wrote a review', true),
    ('*',         'video',      8,   'Published a video', true),
    ('*',         'talk',       10,  'Gave a talk or demo', true),
    ('*',         'question',   3,   'Asked a question', true),
    ('*',         'comment',    2,   'Wrote a comment', true),
    ('*',         'referral',   5,   'Referred someone', true),
    ('*',         'signup',     4,   'Signed up', true),
    ('*',         'purchase',   4,   'Bought something', true),
    ('*',         'subscribe',  3,   'Subscribed', true),
    ('*',         'share',      1,   'Shared something', true),
    ('*',         'like',       0.5, 'Liked something', true),
    ('*',         'follow',     0.5, 'Followed someone', true),
    ('*',         'click',      0.2, 'Clicked a link', true),
    ('*',         'view',       0.1, 'Viewed something', true),
    ('store',     '*',          3,   'Any action in a store', true),
    ('store',     'visit',      3,   'Visited a store', true),
    ('store',     'purchase',   4,   'Bought in a store', true),
    ('event',     '*',          4,   'Any action at an event', true),
    ('event',     'attend',     4,   'Attended an event', true),
    ('event',     'talk',       10,  'Spoke at an event', true),
    ('phone',     '*',          2,   'Any action on a phone call', true),
    ('phone',     'call',       2,   'A phone call', true);

CREATE FUNCTION customer_score.action_weights_edit() RETURNS trigger
    AS 'MODULE_PATHNAME', 'action_weights_edit' LANGUAGE C;
COMMENT ON FUNCTION customer_score.action_weights_edit() IS
    'Trigger on action_weights: marks inserted and updated rows as the user''s (is_default = false) and lets them replace a shipped row with the same (channel, kind), so user rows survive pg_dump and restore.';
CREATE TRIGGER action_weights_edit BEFORE INSERT OR UPDATE ON customer_score.action_weights
    FOR EACH ROW EXECUTE FUNCTION customer_score.action_weights_edit();

SELECT pg_catalog.pg_extension_config_dump('customer_score.action_weights', 'WHERE NOT is_default');
GRANT SELECT ON customer_score.action_weights TO PUBLIC;
-- The role that created the extension (the database owner, for a trusted install) edits them.
GRANT SELECT, INSERT, UPDATE, DELETE ON customer_score.action_weights TO @extowner@;

CREATE FUNCTION customer_score.action_weight(channel text, kind text) RETURNS double precision
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN coalesce((SELECT w.weight FROM customer_score.action_weights w
                     WHERE (w.channel = action_weight.channel OR w.channel = '*')
                       AND (w.kind = action_weight.kind OR w.kind = '*')
                     ORDER BY w.kind = '*', w.channel = '*'
                     LIMIT 1), 0);
COMMENT ON FUNCTION customer_score.action_weight(text, text) IS
    'The weight influence uses for an action of this channel and kind: the first action_weights row of (channel, kind), (''*'', kind), (channel, ''*''), (''*'', ''*''), else 0. A NULL channel or kind matches ''*'' rows only.';

--------------------------------------------------------------------------
-- influence and influence_trace
--------------------------------------------------------------------------

CREATE FUNCTION customer_score.influence(
        actions     text,
        as_of       timestamptz      DEFAULT now(),
        max_depth   integer          DEFAULT 3,
        depth_decay double precision DEFAULT 0.5,
        max_gap     interval         DEFAULT '90 days',
        half_life   interval         DEFAULT NULL,
        by_topic    boolean          DEFAULT false,
        touches     text             DEFAULT NULL,
        attribution text             DEFAULT 'last')
    RETURNS TABLE (customer_id      bigint,
                   topic            text,
                   actions_sparked  bigint,
                   people_moved     bigint,
                   direct_value     double precision,
                   cascade_value    double precision,
                   influence_value  double precision,
                   influence_points double precision)
    AS 'MODULE_PATHNAME', 'influence'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_score.influence(text, timestamptz, integer, double precision, interval, interval, boolean, text, text) IS
    'Action-based influence. actions is a query with columns id bigint, customer_id bigint, sparked_by bigint, at timestamptz, value float8, channel text, kind text (and optionally topic text), run with the caller''s privileges. Every action at or before as_of credits the author of its spark (depth 1), the spark''s spark (depth 2, times depth_decay) and so on to max_depth, each step only within max_gap; optionally aged by half_life; never crediting the actor. One row per credited customer (and topic of the credited action when by_topic): actions_sparked = distinct actions that credited them, people_moved = distinct authors of those actions, direct_value = money at depth 1, cascade_value = money at depth 2+, influence_value = their sum, influence_points = the same credit in action_weights points. touches (action_id, touched_by) and attribution (first, last, linear, time_decay, position) split conversions that several actions led to. See docs/influence.md.';

CREATE FUNCTION customer_score.influence_trace(
        actions     text,
        customer_id bigint,
        as_of       timestamptz      DEFAULT now(),
        max_depth   integer          DEFAULT 3,
        depth_decay double precision DEFAULT 0.5,
        max_gap     interval         DEFAULT '90 days',
        half_life   interval         DEFAULT NULL,
        touches     text             DEFAULT NULL,
        attribution text             DEFAULT 'last')
    RETURNS TABLE (action_id     bigint,
                   actor         bigint,
                   depth         integer,
                   via_action_id bigint,
                   topic         text,
                   channel       text,
                   kind          text,
                   value         double precision,
                   weight        double precision,
                   depth_factor  double precision,
                   age_factor    double precision,
                   share         double precision,
                   money_credit  double precision,
                   points_credit double precision)
    AS 'MODULE_PATHNAME', 'influence_trace'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_score.influence_trace(text, bigint, timestamptz, integer, double precision, interval, interval, text, text) IS
    'Every credit behind one customer''s influence rows, line by line: the credited action (action_id, its actor, channel, kind, value and weight), the depth, the customer''s own action at that depth (via_action_id, with its topic), depth_factor = depth_decay^(depth-1), age_factor, share (attribution), money_credit = value * depth_factor * age_factor * share and points_credit = weight * the same. Summed per topic they give the influence rows exactly (up to rounding). Same options as influence.';

--------------------------------------------------------------------------
-- influence_rank
--------------------------------------------------------------------------

CREATE FUNCTION customer_score.influence_rank(
        edges          text,
        damping        double precision DEFAULT 0.85,
        max_iterations integer          DEFAULT 100,
        tolerance      double precision DEFAULT 1e-10)
    RETURNS TABLE (customer_id bigint, rank double precision)
    AS 'MODULE_PATHNAME', 'influence_rank'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_score.influence_rank(text, double precision, integer, double precision) IS
    'Weighted PageRank over who moved whom. edges is a query with columns source bigint, target bigint and optionally weight float8 (default 1): source''s action moved target. Rank flows from each target to the sources that moved it in proportion to weight; customers nobody moved pass their rank evenly to all; self-loops are ignored. Ranks sum to 1; iterates until the L1 change is below tolerance or max_iterations.';
