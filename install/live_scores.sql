-- Live scores: per-customer purchase days kept current by statement-level
-- triggers on the user's transactions table, and a view that scores them with
-- the models of the last finished refresh.  Reference: docs/live_scores.md.
--
-- One transactions table is tracked at a time (live_tracking has at most one
-- row).  The state is keyed by (customer_id, day); the day is the calendar day
-- of `at` in the time zone that was the session's TimeZone when tracking
-- started, stored with the trigger, so writers whose sessions run in different
-- time zones still add and subtract on the same day.

--------------------------------------------------------------------------
-- State
--------------------------------------------------------------------------

CREATE TABLE customer_score.live_tracking (
    relation   regclass PRIMARY KEY,
    time_zone  text NOT NULL,
    at_type    text NOT NULL CHECK (at_type IN ('timestamptz', 'timestamp', 'date')),
    tracked_at timestamptz NOT NULL DEFAULT now()
);
-- at most one tracked table
CREATE UNIQUE INDEX live_tracking_one ON customer_score.live_tracking ((true));
COMMENT ON TABLE customer_score.live_tracking IS
    'The transactions table whose rows live_days follows (at most one), set by track_transactions(relation) and cleared by untrack_transactions().';
COMMENT ON COLUMN customer_score.live_tracking.relation IS 'The tracked table (columns customer_id, at, amount).';
COMMENT ON COLUMN customer_score.live_tracking.time_zone IS
    'Calendar days of at are taken in this time zone: the session TimeZone of the call to track_transactions.';
COMMENT ON COLUMN customer_score.live_tracking.at_type IS
    'Type of the at column when tracking started: timestamptz (day in time_zone), timestamp or date (day as written).';
COMMENT ON COLUMN customer_score.live_tracking.tracked_at IS 'When track_transactions last loaded the state.';

CREATE TABLE customer_score.live_days (
    customer_id bigint  NOT NULL,
    day         date    NOT NULL,
    amount      numeric NOT NULL,
    rows        bigint  NOT NULL,
    PRIMARY KEY (customer_id, day)
) WITH (fillfactor = 90);   -- room on the page for HOT updates of a day bought on again
COMMENT ON TABLE customer_score.live_days IS
    'Per customer and calendar day of the tracked transactions table: the sum of the amounts and the number of rows, kept current by the track_transactions() triggers. Rows with a NULL customer_id, at or amount, or a non-finite amount, are not counted.';
COMMENT ON COLUMN customer_score.live_days.customer_id IS 'The customer.';
COMMENT ON COLUMN customer_score.live_days.day IS 'Calendar day of at (see live_tracking.time_zone).';
COMMENT ON COLUMN customer_score.live_days.amount IS
    'Sum of the amounts of the customer''s rows on that day, exact (numeric), so adding and removing rows never drifts from a recount.';
COMMENT ON COLUMN customer_score.live_days.rows IS 'Number of rows on that day; a day whose count reaches 0 is deleted.';

--------------------------------------------------------------------------
-- The trigger function and the wall clock it counts days on (C: src/live_days.c)
--------------------------------------------------------------------------

CREATE FUNCTION customer_score.live_local_time(at timestamptz, time_zone text) RETURNS timestamp
    AS 'MODULE_PATHNAME', 'live_local_time' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.live_local_time(timestamptz, text) IS
    'at on the wall clock of time_zone (a zone name or POSIX zone as TimeZone accepts; no abbreviations): the calendar day of a tracked transaction is live_local_time(at, live_tracking.time_zone)::date.';

-- One firing per statement: the transition tables are summed by (customer_id,
-- day) and merged into live_days with INSERT ... ON CONFLICT DO UPDATE in key
-- order; days whose count reaches 0 are deleted.  See src/live_days.c.
CREATE FUNCTION customer_score.track_transactions() RETURNS trigger
    AS 'MODULE_PATHNAME', 'track_transactions_trigger' LANGUAGE C;
COMMENT ON FUNCTION customer_score.track_transactions() IS
    'Trigger (AFTER INSERT/UPDATE/DELETE/TRUNCATE, FOR EACH STATEMENT, transition tables new_rows and old_rows): keeps live_days current. Attach it with track_transactions(relation), never by hand.';

--------------------------------------------------------------------------
-- Attaching, detaching, recounting
--------------------------------------------------------------------------

-- Every function below pins search_path to pg_catalog, pg_temp and names the
-- extension's objects in full; none is SECURITY DEFINER.

-- The kind of the at column (timestamptz, timestamp or date), after checking
-- the three columns by name and type.
CREATE FUNCTION customer_score.live_columns(relation regclass) RETURNS text
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    wanted  constant text[] := ARRAY['customer_id', 'at', 'amount'];
    allowed constant text[] := ARRAY['smallint, integer, bigint',
                                     'timestamp with time zone, timestamp without time zone, date',
                                     'smallint, integer, bigint, numeric, real, double precision'];
    found_type regtype;
    at_type text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = relation AND c.relkind IN ('r', 'p')) THEN
        RAISE EXCEPTION '% is not a table', relation
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'Triggers with transition tables need a table or a partitioned table: track the table your data is written to.';
    END IF;
    FOR i IN 1 .. 3 LOOP
        SELECT coalesce(nullif(t.typbasetype, 0), t.oid)::regtype INTO found_type
        FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
        WHERE a.attrelid = relation AND a.attname = wanted[i] AND a.attnum > 0 AND NOT a.attisdropped;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'table % has no column "%"', relation, wanted[i]
                USING ERRCODE = 'undefined_column',
                      HINT = 'A transactions table needs the columns customer_id (an integer type), at (timestamptz, timestamp or date) and amount (a number).';
        END IF;
        IF NOT (found_type::text = ANY (string_to_array(allowed[i], ', '))) THEN
            RAISE EXCEPTION 'column "%" of % has type %, expected one of %', wanted[i], relation, found_type, allowed[i]
                USING ERRCODE = 'datatype_mismatch';
        END IF;
        IF i = 2 THEN
            at_type := CASE found_type WHEN 'timestamp with time zone'::regtype THEN 'timestamptz'
                                       WHEN 'timestamp without time zone'::regtype THEN 'timestamp'
                                       ELSE 'date' END;
        END IF;
    END LOOP;
    RETURN at_type;
END
$fn$;
COMMENT ON FUNCTION customer_score.live_columns(regclass) IS
    'Used by track_transactions and recount_live_days: checks that relation is a table with customer_id (an integer type), at (timestamptz, timestamp or date) and amount (a number), and returns the kind of at: timestamptz, timestamp or date.';

CREATE FUNCTION customer_score.recount_live_days(relation regclass)
    RETURNS TABLE (customer_id bigint, day date, amount numeric, rows bigint)
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    at_type text := customer_score.live_columns(relation);
    tz text;
BEGIN
    -- the time zone the relation is tracked with, else the session's
    SELECT t.time_zone INTO tz FROM customer_score.live_tracking t WHERE t.relation = recount_live_days.relation;
    tz := coalesce(tz, current_setting('TimeZone'));
    -- the same rule as the trigger: customer_id, at and amount present, at and amount finite
    RETURN QUERY EXECUTE format(
        $q$SELECT x.customer_id::bigint, %s, sum(x.amount::numeric), count(*)
           FROM %s x
           WHERE x.customer_id IS NOT NULL AND isfinite(x.at) AND abs(x.amount::numeric) < 'Infinity'::numeric
           GROUP BY 1, 2$q$,
        CASE at_type WHEN 'timestamptz' THEN 'customer_score.live_local_time(x.at, $1)::date' ELSE 'x.at::date' END,
        relation)
        USING tz;
END
$fn$;
COMMENT ON FUNCTION customer_score.recount_live_days(regclass) IS
    'What live_days should hold for relation, recounted from scratch from its rows (days in the time zone it is tracked with, else the session''s TimeZone), read with the caller''s privileges.';

CREATE FUNCTION customer_score.live_days_differences(relation regclass DEFAULT NULL)
    RETURNS TABLE (customer_id bigint, day date, live_amount numeric, live_rows bigint,
                   recount_amount numeric, recount_rows bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    relation := coalesce(relation, (SELECT t.relation FROM customer_score.live_tracking t));
    IF relation IS NULL THEN
        RAISE EXCEPTION 'no transactions table is tracked'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Start with SELECT customer_score.track_transactions(''your_table'').';
    END IF;
    RETURN QUERY
    SELECT coalesce(l.customer_id, r.customer_id), coalesce(l.day, r.day), l.amount, l.rows, r.amount, r.rows
    FROM customer_score.live_days l
    FULL JOIN customer_score.recount_live_days(relation) r ON r.customer_id = l.customer_id AND r.day = l.day
    WHERE l.amount IS DISTINCT FROM r.amount OR l.rows IS DISTINCT FROM r.rows
    ORDER BY 1, 2;
END
$fn$;
COMMENT ON FUNCTION customer_score.live_days_differences(regclass) IS
    'The (customer_id, day) rows where live_days differs from recount_live_days(relation) (default: the tracked table): empty when the live state is right.';

-- relation and its partitions or inheritance children, at every level
CREATE FUNCTION customer_score.live_members(relation regclass) RETURNS SETOF regclass
LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $fn$
    WITH RECURSIVE tree(member, level) AS (
        SELECT relation, 0
        UNION
        SELECT i.inhrelid::regclass, tree.level + 1 FROM pg_inherits i JOIN tree ON i.inhparent = tree.member
    )
    SELECT member FROM tree GROUP BY member ORDER BY min(level), member::oid
$fn$;
COMMENT ON FUNCTION customer_score.live_members(regclass) IS
    'Used by track_transactions and untrack_transactions: relation and all its partitions or inheritance children, so that statements addressed to any of them are seen.';

-- Drop our triggers from relation and its members, those that exist (no notices).
CREATE FUNCTION customer_score.live_drop_triggers(relation regclass) RETURNS void
LANGUAGE plpgsql STRICT SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT g.tgname, g.tgrelid::regclass AS member
        FROM customer_score.live_members(relation) m JOIN pg_trigger g ON g.tgrelid = m
        WHERE g.tgname IN ('customer_score_live_insert', 'customer_score_live_update',
                           'customer_score_live_delete', 'customer_score_live_truncate')
          AND g.tgfoid = 'customer_score.track_transactions()'::regprocedure
        ORDER BY g.tgrelid, g.tgname
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', t.tgname, t.member);
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION customer_score.live_drop_triggers(regclass) IS
    'Used by track_transactions and untrack_transactions: drops the live-score triggers of relation and of its partitions or inheritance children.';

CREATE FUNCTION customer_score.untrack_transactions(relation regclass DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    tracked regclass := (SELECT t.relation FROM customer_score.live_tracking t);
    target regclass := coalesce(relation, tracked);
BEGIN
    IF target IS NOT NULL AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = target) THEN
        PERFORM customer_score.live_drop_triggers(target);
    END IF;
    -- the state belongs to the tracked table: a stale copy is worse than none
    IF tracked IS NOT DISTINCT FROM target THEN
        DELETE FROM customer_score.live_tracking;
        DELETE FROM customer_score.live_days;
    END IF;
END
$fn$;
COMMENT ON FUNCTION customer_score.untrack_transactions(regclass) IS
    'Stop tracking: drop the live-score triggers of relation (default: the tracked table) and, when it is the tracked table (or the tracked table was dropped), empty live_days and live_tracking.';

CREATE FUNCTION customer_score.track_transactions(relation regclass) RETURNS bigint
LANGUAGE plpgsql STRICT SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    at_type text := customer_score.live_columns(relation);
    tz text := current_setting('TimeZone');
    tracked regclass := (SELECT t.relation FROM customer_score.live_tracking t);
    member regclass;
    counted bigint;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        -- the recount below must see every row committed before the lock is granted
        RAISE EXCEPTION 'track_transactions must run at isolation level READ COMMITTED, not %',
                        upper(current_setting('transaction_isolation'))
            USING ERRCODE = 'invalid_transaction_state';
    END IF;
    IF tracked IS NOT NULL AND tracked <> relation AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = tracked) THEN
        RAISE EXCEPTION 'customer_score already tracks %', tracked
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'One transactions table is tracked at a time.',
                  HINT = format('Run SELECT customer_score.untrack_transactions(%L) first.', tracked::text);
    END IF;
    PERFORM customer_score.live_local_time(now(), tz);   -- a zone the trigger can use

    -- Writers wait from here to commit; writes in progress finish first, and
    -- the recount below (a new snapshot at READ COMMITTED) sees all of them.
    EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', relation);   -- and its members
    PERFORM customer_score.live_drop_triggers(relation);
    -- Statement triggers fire for the table a statement names: the partitions
    -- and inheritance children get the row triggers too, so that writes
    -- addressed to them directly are seen (a write through the parent fires
    -- the parent's only).  TRUNCATE empties the state: on the table itself only.
    FOR member IN SELECT m FROM customer_score.live_members(relation) m LOOP
        EXECUTE format('CREATE TRIGGER customer_score_live_insert AFTER INSERT ON %1$s
                            REFERENCING NEW TABLE AS new_rows
                            FOR EACH STATEMENT EXECUTE FUNCTION customer_score.track_transactions(%2$L, %3$L)',
                       member, tz, at_type);
        EXECUTE format('CREATE TRIGGER customer_score_live_update AFTER UPDATE ON %1$s
                            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                            FOR EACH STATEMENT EXECUTE FUNCTION customer_score.track_transactions(%2$L, %3$L)',
                       member, tz, at_type);
        EXECUTE format('CREATE TRIGGER customer_score_live_delete AFTER DELETE ON %1$s
                            REFERENCING OLD TABLE AS old_rows
                            FOR EACH STATEMENT EXECUTE FUNCTION customer_score.track_transactions(%2$L, %3$L)',
                       member, tz, at_type);
    END LOOP;
    EXECUTE format('CREATE TRIGGER customer_score_live_truncate AFTER TRUNCATE ON %1$s
                        FOR EACH STATEMENT EXECUTE FUNCTION customer_score.track_transactions(%2$L, %3$L)',
                   relation, tz, at_type);

    DELETE FROM customer_score.live_tracking;
    DELETE FROM customer_score.live_days;
    INSERT INTO customer_score.live_tracking (relation, time_zone, at_type) VALUES (relation, tz, at_type);
    INSERT INTO customer_score.live_days (customer_id, day, amount, rows)
    SELECT r.customer_id, r.day, r.amount, r.rows FROM customer_score.recount_live_days(relation) r;
    SELECT coalesce(sum(d.rows), 0) INTO counted FROM customer_score.live_days d;
    RETURN counted;
END
$fn$;
COMMENT ON FUNCTION customer_score.track_transactions(regclass) IS
    'Start (or restart) tracking relation (customer_id, at, amount): create its statement-level AFTER INSERT/UPDATE/DELETE/TRUNCATE triggers, take the session TimeZone as the time zone of calendar days, and load live_days by recounting its rows. Returns the number of rows counted. One table is tracked at a time.';

--------------------------------------------------------------------------
-- The view
--------------------------------------------------------------------------

CREATE VIEW customer_score.live_scores WITH (security_invoker = true) AS
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
       CASE WHEN r.spend_p * h.frequency + r.spend_q - 1 > 0 AND h.monetary >= 0
            THEN customer_score.clv(r.purchase_model, r.spend_model, h.frequency, x.recency, x.t, h.monetary,
                                    r.horizon, r.step_discount_rate, r.clv_step)
       END AS clv,
       h.as_of
FROM (
    SELECT d.customer_id,
           (count(*) - 1)::integer AS frequency,
           max(d.day) - min(d.day) AS recency_days,
           extract(epoch FROM customer_score.live_local_time(now(), (SELECT z.time_zone FROM customer_score.live_tracking z))
                              - min(d.day)::timestamp)::double precision AS t_seconds,
           CASE WHEN count(*) > 1
                THEN ((sum(d.amount) - (array_agg(d.amount ORDER BY d.day))[1]) / (count(*) - 1))::double precision
                ELSE 0 END AS monetary,
           sum(d.amount) AS total,
           sum(d.rows)::bigint AS purchases,
           now() AS as_of
    FROM customer_score.live_days d
    -- days up to today on the tracked time zone's calendar (none when nothing is tracked)
    WHERE d.day <= customer_score.live_local_time(now(), (SELECT z.time_zone FROM customer_score.live_tracking z))::date
    GROUP BY d.customer_id
) h
CROSS JOIN (
    SELECT DISTINCT ON (s.model)
           s.run_id, s.model, s.version, s.purchase_model, s.spend_model, s.horizon, s.clv_step,
           extract(epoch FROM s.time_unit)::double precision AS unit_seconds,
           power(1 + s.discount_rate, s.clv_step * extract(epoch FROM s.time_unit)::double precision / 86400 / 365.25) - 1
               AS step_discount_rate,
           (customer_score.params(s.spend_model) ->> 'p')::double precision AS spend_p,
           (customer_score.params(s.spend_model) ->> 'q')::double precision AS spend_q
    FROM customer_score.score_runs s
    WHERE s.status = 'done'
    ORDER BY s.model, s.finished_at DESC NULLS LAST, s.run_id DESC
) r
CROSS JOIN LATERAL (
    SELECT h.recency_days * 86400 / r.unit_seconds AS recency,
           h.t_seconds / r.unit_seconds AS t
) x;
COMMENT ON VIEW customer_score.live_scores IS
    'Live scores: for every customer in live_days and every model with a finished run (the latest run per model with status done), the purchase history as of now() and its P(alive), expected purchases and CLV under that run''s fitted BG/NBD and Gamma-Gamma models and settings. Days after today are left out. Cheap for one customer (WHERE customer_id = ...).';
COMMENT ON COLUMN customer_score.live_scores.model IS 'Score model whose latest finished run supplies the fitted models and settings.';
COMMENT ON COLUMN customer_score.live_scores.run_id IS 'That run (score_runs.run_id).';
COMMENT ON COLUMN customer_score.live_scores.frequency IS 'Repeat purchase days: purchase days - 1.';
COMMENT ON COLUMN customer_score.live_scores.recency IS 'First to last purchase day, in the run''s time_unit.';
COMMENT ON COLUMN customer_score.live_scores.t IS 'Start of the first purchase day (live_tracking.time_zone) to now(), in the run''s time_unit.';
COMMENT ON COLUMN customer_score.live_scores.monetary IS 'Mean value of the repeat purchase days (0 without any).';
COMMENT ON COLUMN customer_score.live_scores.total IS 'Everything the customer spent up to today.';
COMMENT ON COLUMN customer_score.live_scores.purchases IS 'Rows (transactions) counted up to today.';
COMMENT ON COLUMN customer_score.live_scores.p_alive IS 'Probability that the customer is still active, under the run''s BG/NBD model (NULL without one).';
COMMENT ON COLUMN customer_score.live_scores.expected_purchases IS 'Purchases expected over the run''s horizon (in time units).';
COMMENT ON COLUMN customer_score.live_scores.clv IS
    'Predicted lifetime value over the run''s horizon, in clv_step steps, discounted at the run''s yearly discount_rate converted to the step. NULL without a spend model, where the spend model gives no finite expected spend (p * frequency + q <= 1), or for a negative monetary.';
COMMENT ON COLUMN customer_score.live_scores.as_of IS 'now(): the figures are as of the current transaction''s start.';

--------------------------------------------------------------------------
-- Privileges and pg_dump
--------------------------------------------------------------------------

-- live_days holds per-customer spending: it is not readable by every role.
-- The role that created the extension (the database owner, for a trusted
-- install) may read and write it and grant that to others: every role that
-- writes to the tracked table needs SELECT, INSERT, UPDATE and DELETE on it,
-- since the trigger runs with the writer's privileges (never SECURITY
-- DEFINER).  Readers of live_scores need SELECT on live_days, live_tracking
-- and score_runs (security_invoker).
GRANT SELECT ON customer_score.live_tracking TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON customer_score.live_tracking TO @extowner@ WITH GRANT OPTION;
GRANT SELECT, INSERT, UPDATE, DELETE ON customer_score.live_days TO @extowner@ WITH GRANT OPTION;
-- ... and the database owner likewise, when a superuser creates the extension (as a restore
-- does): the grants the owner made replay from a dump as that owner.
DO $$
BEGIN
    EXECUTE pg_catalog.format(
        'GRANT SELECT, INSERT, UPDATE, DELETE ON customer_score.live_days, customer_score.live_tracking TO %I WITH GRANT OPTION',
        (SELECT pg_catalog.pg_get_userbyid(d.datdba) FROM pg_catalog.pg_database d
         WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()));
END
$$;
GRANT SELECT ON customer_score.live_scores TO PUBLIC;

-- The state is dumped with the user's data; pg_dump restores the tracked
-- table's rows before its triggers, so the restored state matches them.
SELECT pg_catalog.pg_extension_config_dump('customer_score.live_tracking', '');
SELECT pg_catalog.pg_extension_config_dump('customer_score.live_days', '');
