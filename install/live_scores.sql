-- Live scores: per-customer purchase days kept current by statement-level
-- triggers on the user's transactions table, and a view that scores them with
-- the models of the last finished refresh.  Reference: docs/live_scores.md.
--
-- One transactions table is tracked at a time (live_tracking has at most one
-- row).  The state has one row per customer (live_customers), holding the
-- customer's purchase days packed in one purchase_days value: per calendar day
-- of `at`, the exact sum of the amounts and the number of rows.  The day is
-- taken in the time zone fixed when tracking started (track_transactions'
-- time_zone argument, else the session's TimeZone then), stored with the
-- trigger, so writers whose sessions run in different time zones still add
-- and subtract on the same day.  One row per customer,
-- not per (customer, day): a load of history, in which nearly every row is a
-- new day of its customer, then upserts one state row per customer rather than
-- one per transaction row.  live_days shows the state one row per day.

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
    'The transactions table whose rows live_customers follows (at most one), set by track_transactions(relation) and cleared by untrack_transactions().';
COMMENT ON COLUMN customer_score.live_tracking.relation IS 'The tracked table (columns customer_id, at, amount).';
-- @begin live-tracking-time-zone-comment
COMMENT ON COLUMN customer_score.live_tracking.time_zone IS
    'Calendar days of at are taken in this time zone: the time_zone given to track_transactions(relation, time_zone), else the session TimeZone of the call to track_transactions.';
-- @end live-tracking-time-zone-comment
COMMENT ON COLUMN customer_score.live_tracking.at_type IS
    'Type of the at column when tracking started: timestamptz (day in time_zone), timestamp or date (day as written).';
COMMENT ON COLUMN customer_score.live_tracking.tracked_at IS 'When track_transactions last loaded the state.';

-- A customer's purchase days, packed (C: src/purchase_days.c).  Text form:
-- {2024-01-01:15.00/2,2024-01-08:20.00/1}, days ascending, each day:amount/rows.
CREATE TYPE customer_score.purchase_days;
CREATE FUNCTION customer_score.purchase_days_in(cstring) RETURNS customer_score.purchase_days
    AS 'MODULE_PATHNAME', 'purchase_days_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.purchase_days_out(customer_score.purchase_days) RETURNS cstring
    AS 'MODULE_PATHNAME', 'purchase_days_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.purchase_days_recv(internal) RETURNS customer_score.purchase_days
    AS 'MODULE_PATHNAME', 'purchase_days_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION customer_score.purchase_days_send(customer_score.purchase_days) RETURNS bytea
    AS 'MODULE_PATHNAME', 'purchase_days_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE customer_score.purchase_days (
    INPUT = customer_score.purchase_days_in,
    OUTPUT = customer_score.purchase_days_out,
    RECEIVE = customer_score.purchase_days_recv,
    SEND = customer_score.purchase_days_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = int,
    STORAGE = extended
);
COMMENT ON TYPE customer_score.purchase_days IS
    'One customer''s purchase days, packed: per calendar day in ascending order, the exact (numeric) sum of the amounts and the number of rows. Text form {2024-01-01:15.00/2,2024-01-08:20.00/1}. The live state of a customer (live_customers.days).';
COMMENT ON FUNCTION customer_score.purchase_days_in(cstring) IS 'Text input of purchase_days: {day:amount/rows,...}, days as YYYY-MM-DD (BC after the date before year 1), strictly ascending.';
COMMENT ON FUNCTION customer_score.purchase_days_out(customer_score.purchase_days) IS 'Text output of purchase_days; reads back exactly whatever DateStyle is.';
COMMENT ON FUNCTION customer_score.purchase_days_recv(internal) IS 'Binary input of purchase_days.';
COMMENT ON FUNCTION customer_score.purchase_days_send(customer_score.purchase_days) IS 'Binary output of purchase_days.';

CREATE FUNCTION customer_score.purchase_days(days date[], amounts numeric[], rows bigint[])
    RETURNS customer_score.purchase_days
    AS 'MODULE_PATHNAME', 'purchase_days_from_arrays' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.purchase_days(date[], numeric[], bigint[]) IS
    'The purchase_days value of the given days (in any order; a day given twice is added up) with their amounts and row counts; days whose rows add up to 0 are left out. track_transactions loads live_customers with it.';

-- Not STRICT: a NULL state is an empty one (the trigger normalises a state
-- with purchase_days_merge(NULL, state)).
CREATE FUNCTION customer_score.purchase_days_merge(state customer_score.purchase_days, delta customer_score.purchase_days)
    RETURNS customer_score.purchase_days
    AS 'MODULE_PATHNAME', 'purchase_days_merge' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.purchase_days_merge(customer_score.purchase_days, customer_score.purchase_days) IS
    'The days of state and delta, with amounts and rows added on the days they share; a day whose row count is or becomes 0 is left out. A NULL state is an empty one; a NULL delta changes nothing. The live-score trigger merges its changes with it.';

CREATE FUNCTION customer_score.purchase_days_count(customer_score.purchase_days) RETURNS integer
    AS 'MODULE_PATHNAME', 'purchase_days_count' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.purchase_days_count(customer_score.purchase_days) IS 'The number of days in a purchase_days value.';

CREATE FUNCTION customer_score.purchase_days_is_normal(customer_score.purchase_days) RETURNS boolean
    AS 'MODULE_PATHNAME', 'purchase_days_is_normal' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.purchase_days_is_normal(customer_score.purchase_days) IS
    'Whether the value has at least one day and a nonzero row count on every day, as a stored state should: the live-score trigger normalises (with purchase_days_merge(NULL, state)) or deletes the states that are not.';

CREATE FUNCTION customer_score.purchase_days_unnest(customer_score.purchase_days,
                                                    OUT day date, OUT amount numeric, OUT rows bigint)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'purchase_days_unnest' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION customer_score.purchase_days_unnest(customer_score.purchase_days) IS
    'The days of a purchase_days value, one row each in ascending order: day, the sum of the amounts, the number of rows.';

CREATE FUNCTION customer_score.purchase_days_summary(customer_score.purchase_days, until date,
                                                     OUT days integer, OUT first_day date, OUT last_day date,
                                                     OUT first_amount numeric, OUT total numeric, OUT rows bigint)
    RETURNS record
    AS 'MODULE_PATHNAME', 'purchase_days_summary' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.purchase_days_summary(customer_score.purchase_days, date) IS
    'Over the days up to until: their number, the first and the last day, the first day''s amount, the sum of the amounts and of the rows (NULLs and 0 days when there is none). live_scores reads each customer with it.';

-- @begin purchase-days-history
CREATE FUNCTION customer_score.purchase_days_history(customer_score.purchase_days, until date,
                                                     OUT frequency integer, OUT first_day date, OUT last_day date,
                                                     OUT monetary double precision, OUT total numeric, OUT purchases bigint)
    RETURNS record
    AS 'MODULE_PATHNAME', 'purchase_days_history' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.purchase_days_history(customer_score.purchase_days, date) IS
    'The purchase history of the days up to until under the purchase rule (docs/scores.md, How transactions are counted): a day whose amounts net below 0 is a refund day, no occasion, netted against the occasion before it; frequency = occasions - 1, the first and last occasion, monetary = the value from the second occasion on per repeat occasion (0 if not positive), total = all amounts, purchases = rows. NULL without an occasion. live_scores reads each customer with it.';
-- @end purchase-days-history
CREATE TABLE customer_score.live_customers (
    customer_id bigint PRIMARY KEY,
    days        customer_score.purchase_days NOT NULL
) WITH (fillfactor = 80,       -- room on the page for HOT updates of a customer who buys again
      toast_tuple_target = 8160); -- a customer's days stay in the row, uncompressed, up to about 8 kB
                                  -- (some 1,000 days): a write rewrites them, which TOAST would make dear
-- @begin live-customers-comment
COMMENT ON TABLE customer_score.live_customers IS
    'The live state: per customer of the tracked transactions table, the purchase days packed in one value (per day the exact sum of the amounts and the number of rows), kept current by the track_transactions() triggers. Rows with a NULL customer_id or at, or a non-finite at or amount, are not counted; a NULL amount counts as 0 (docs/scores.md, How transactions are counted). live_days shows it one row per day.';
-- @end live-customers-comment
COMMENT ON COLUMN customer_score.live_customers.customer_id IS 'The customer.';
COMMENT ON COLUMN customer_score.live_customers.days IS
    'The customer''s purchase days (calendar days of at, see live_tracking.time_zone), ascending, each with the sum of its amounts (exact, so adding and removing rows never drifts from a recount) and its number of rows; a day whose count reaches 0 is dropped, a customer without a day deleted.';

-- The state one row per (customer, day): what live_days_differences compares
-- with a recount, and the form people read it in.
CREATE VIEW customer_score.live_days WITH (security_invoker = true) AS
SELECT c.customer_id, d.day, d.amount, d.rows
FROM customer_score.live_customers c
CROSS JOIN LATERAL customer_score.purchase_days_unnest(c.days) d;
COMMENT ON VIEW customer_score.live_days IS
    'The live state one row per customer and calendar day of the tracked transactions table (read-only; unpacks live_customers): the sum of the amounts and the number of rows.';
COMMENT ON COLUMN customer_score.live_days.customer_id IS 'The customer.';
COMMENT ON COLUMN customer_score.live_days.day IS 'Calendar day of at (see live_tracking.time_zone).';
COMMENT ON COLUMN customer_score.live_days.amount IS
    'Sum of the amounts of the customer''s rows on that day, exact (numeric), so adding and removing rows never drifts from a recount.';
COMMENT ON COLUMN customer_score.live_days.rows IS 'Number of rows on that day; a day whose count reaches 0 is dropped.';

--------------------------------------------------------------------------
-- The trigger function and the wall clock it counts days on (C: src/live_days.c)
--------------------------------------------------------------------------

CREATE FUNCTION customer_score.live_local_time(at timestamptz, time_zone text) RETURNS timestamp
    AS 'MODULE_PATHNAME', 'live_local_time' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_score.live_local_time(timestamptz, text) IS
    'at on the wall clock of time_zone (a zone name or POSIX zone as TimeZone accepts; no abbreviations): the calendar day of a tracked transaction is live_local_time(at, live_tracking.time_zone)::date.';

-- One firing per statement: the transition tables are summed by (customer_id,
-- day), packed per customer and merged into live_customers with INSERT ... ON
-- CONFLICT DO UPDATE SET days = purchase_days_merge(days, delta) in customer
-- order; customers left without a day are deleted.  See src/live_days.c.
-- @begin track-transactions-trigger
CREATE FUNCTION customer_score.track_transactions() RETURNS trigger
    AS 'MODULE_PATHNAME', 'track_transactions_trigger_rule' LANGUAGE C;
-- @end track-transactions-trigger
COMMENT ON FUNCTION customer_score.track_transactions() IS
    'Trigger (AFTER INSERT/UPDATE/DELETE/TRUNCATE, FOR EACH STATEMENT, transition tables new_rows and old_rows): keeps live_customers current. Attach it with track_transactions(relation), never by hand.';

--------------------------------------------------------------------------
-- Attaching, detaching, recounting
--------------------------------------------------------------------------

-- Every function below pins search_path to pg_catalog, pg_temp and names the
-- extension's objects in full; none is SECURITY DEFINER.

-- The kind of the at column (timestamptz, timestamp or date), after checking
-- the three columns by name and type.
-- @begin live-columns
CREATE FUNCTION customer_score.live_columns(relation regclass) RETURNS text
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    wanted  constant text[] := ARRAY['customer_id', 'at', 'amount'];
    allowed constant text[] := ARRAY['smallint, integer, bigint, text, character varying, uuid',
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
                      HINT = 'A transactions table needs the columns customer_id (an integer type, text, varchar or uuid), at (timestamptz, timestamp or date) and amount (a number).';
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
    'Used by track_transactions and recount_live_days: checks that relation is a table with customer_id (an integer type, text, varchar or uuid), at (timestamptz, timestamp or date) and amount (a number), and returns the kind of at: timestamptz, timestamp or date.';
-- @end live-columns

-- @begin recount-live-days
CREATE FUNCTION customer_score.recount_live_days(relation regclass)
    RETURNS TABLE (customer_id bigint, day date, amount numeric, rows bigint)
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    at_type text := customer_score.live_columns(relation);
    keyed boolean := customer_score.source_keyed(relation);
    tz text;
BEGIN
    -- the time zone the relation is tracked with, else the session's
    SELECT t.time_zone INTO tz FROM customer_score.live_tracking t WHERE t.relation = recount_live_days.relation;
    tz := coalesce(tz, current_setting('TimeZone'));
    -- the same rule as the trigger (src/purchase_rule.h): customer_id and at present, at finite,
    -- amount finite or NULL (a purchase of value 0)
    -- text, varchar and uuid ids: the numbers customer_keys gives them (the trigger numbers new ones)
    RETURN QUERY EXECUTE format(
        $q$SELECT %s, %s, sum(coalesce(x.amount::numeric, 0)), count(*)
           FROM %s x %s
           WHERE x.customer_id IS NOT NULL AND isfinite(x.at)
             AND (x.amount IS NULL OR abs(x.amount::numeric) < 'Infinity'::numeric)
           GROUP BY 1, 2$q$,
        CASE WHEN keyed THEN 'k.customer_id' ELSE 'x.customer_id::bigint' END,
        CASE at_type WHEN 'timestamptz' THEN 'customer_score.live_local_time(x.at, $1)::date' ELSE 'x.at::date' END,
        relation,
        CASE WHEN keyed THEN 'JOIN customer_score.customer_keys k ON k.customer_key = x.customer_id::text' ELSE '' END)
        USING tz;
END
$fn$;
-- @end recount-live-days
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
        DELETE FROM customer_score.live_customers;
    END IF;
END
$fn$;
COMMENT ON FUNCTION customer_score.untrack_transactions(regclass) IS
    'Stop tracking: drop the live-score triggers of relation (default: the tracked table) and, when it is the tracked table (or the tracked table was dropped), empty live_customers and live_tracking.';

-- @begin track-transactions
CREATE FUNCTION customer_score.track_transactions(relation regclass) RETURNS bigint
LANGUAGE plpgsql STRICT SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RETURN customer_score.track_transactions(relation, current_setting('TimeZone'));
END
$fn$;
COMMENT ON FUNCTION customer_score.track_transactions(regclass) IS
    'Start (or restart) tracking relation (customer_id, at, amount) with calendar days in the session TimeZone: track_transactions(relation, current_setting(''TimeZone'')). Returns the number of rows counted. One table is tracked at a time.';
-- @end track-transactions

-- @begin track-transactions-zone
CREATE FUNCTION customer_score.track_transactions(relation regclass, time_zone text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    at_type text;
    tz text := coalesce(time_zone, current_setting('TimeZone'));
    tracked regclass := (SELECT t.relation FROM customer_score.live_tracking t);
    member regclass;
    counted bigint;
    shape text;
BEGIN
    IF relation IS NULL THEN
        RETURN NULL;   -- as the STRICT track_transactions(relation)
    END IF;
    at_type := customer_score.live_columns(relation);
    shape := customer_score.citus_shape(relation);
    IF shape IS NOT NULL THEN
        -- the triggers would fire on the shards, each node keeping a live_customers of its own
        RAISE EXCEPTION '% is a Citus table (%): live scores track a local table', relation, shape
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'Citus runs a distributed or reference table''s writes on the shards, so the live-score trigger would keep a state on every node and the coordinator''s live_scores would miss rows.',
                  HINT = 'Track the local table the rows arrive in, or score the distributed table with customer_score.refresh().';
    END IF;
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
    -- a zone the trigger can use: the names rfm's time_zone takes (22023 otherwise)
    PERFORM customer_score.live_local_time(now(), tz);

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
    DELETE FROM customer_score.live_customers;
    INSERT INTO customer_score.live_tracking (relation, time_zone, at_type) VALUES (relation, tz, at_type);
    IF customer_score.source_keyed(relation) THEN
        -- text, varchar and uuid ids: numbered through customer_keys, as refresh numbers them
        EXECUTE format('INSERT INTO customer_score.customer_keys (customer_key)
                        SELECT DISTINCT x.customer_id::text FROM %s x WHERE x.customer_id IS NOT NULL
                        ON CONFLICT (customer_key) DO NOTHING', relation);
    END IF;
    INSERT INTO customer_score.live_customers (customer_id, days)
    SELECT r.customer_id, customer_score.purchase_days(array_agg(r.day), array_agg(r.amount), array_agg(r.rows))
    FROM customer_score.recount_live_days(relation) r
    GROUP BY r.customer_id;
    SELECT coalesce(sum(d.rows), 0) INTO counted FROM customer_score.live_days d;
    RETURN counted;
END
$fn$;
COMMENT ON FUNCTION customer_score.track_transactions(regclass, text) IS
    'Start (or restart) tracking relation (customer_id, at, amount): create its statement-level AFTER INSERT/UPDATE/DELETE/TRUNCATE triggers, take time_zone (a name SET TimeZone accepts, as rfm''s time_zone; NULL: the session TimeZone) as the time zone of calendar days, and load live_customers by recounting its rows. Returns the number of rows counted. One table is tracked at a time.';
-- @end track-transactions-zone

--------------------------------------------------------------------------
-- The view
--------------------------------------------------------------------------

-- @begin live-scores-view
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
       customer_score.predicted_clv(r.purchase_model, r.spend_model, h.frequency, x.recency, x.t, h.monetary,
                                    r.horizon, r.step_discount_rate, r.clv_step) AS clv,
       h.as_of,
       customer_score.customer_key(h.customer_id, h.keyed) AS customer_key
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
           now() AS as_of,
           n.keyed
    FROM (SELECT customer_score.live_local_time(now(), z.time_zone) AS local_now,
                 customer_score.source_keyed(z.relation) AS keyed
          FROM customer_score.live_tracking z) n
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
-- @end live-scores-view
COMMENT ON VIEW customer_score.live_scores IS
    'Live scores: for every customer in live_customers and every model with a finished run (the latest run per model with status done), the purchase history as of now() and its P(alive), expected purchases and CLV under that run''s fitted BG/NBD and Gamma-Gamma models and settings. Days after today are left out. Cheap for one customer (WHERE customer_id = ...).';
COMMENT ON COLUMN customer_score.live_scores.model IS 'Score model whose latest finished run supplies the fitted models and settings.';
COMMENT ON COLUMN customer_score.live_scores.run_id IS 'That run (score_runs.run_id).';
-- @begin live-scores-frequency
COMMENT ON COLUMN customer_score.live_scores.frequency IS 'Repeat purchase days: purchase days (refund days not counted) - 1.';
-- @end live-scores-frequency
COMMENT ON COLUMN customer_score.live_scores.recency IS 'First to last purchase day, in the run''s time_unit.';
COMMENT ON COLUMN customer_score.live_scores.t IS 'Start of the first purchase day (live_tracking.time_zone) to now(), in the run''s time_unit.';
-- @begin live-scores-monetary
COMMENT ON COLUMN customer_score.live_scores.monetary IS 'Mean value of the repeat purchase days, refund days netted against the purchase day before them (0 without any, or when not positive).';
-- @end live-scores-monetary
COMMENT ON COLUMN customer_score.live_scores.total IS 'Everything the customer spent up to today.';
COMMENT ON COLUMN customer_score.live_scores.purchases IS 'Rows (transactions) counted up to today.';
COMMENT ON COLUMN customer_score.live_scores.p_alive IS 'Probability that the customer is still active, under the run''s BG/NBD model (NULL without one).';
COMMENT ON COLUMN customer_score.live_scores.expected_purchases IS 'Purchases expected over the run''s horizon (in time units).';
-- @begin live-scores-customer-key
COMMENT ON COLUMN customer_score.live_scores.customer_key IS 'The customer id as the tracked table has it, as text (text, varchar and uuid ids are numbered through customer_keys).';
-- @end live-scores-customer-key
-- @begin live-scores-clv
COMMENT ON COLUMN customer_score.live_scores.clv IS
    'Predicted lifetime value over the run''s horizon, in clv_step steps, discounted at the run''s yearly discount_rate converted to the step (predicted_clv, as refresh computes it). NULL without a spend model or where the spend model gives no finite expected spend (p * frequency + q <= 1); 0 for a repeat customer whose repeat purchases net to nothing.';
-- @end live-scores-clv
COMMENT ON COLUMN customer_score.live_scores.as_of IS 'now(): the figures are as of the current transaction''s start.';

--------------------------------------------------------------------------
-- Privileges and pg_dump
--------------------------------------------------------------------------

-- live_customers holds per-customer spending: it is not readable by every
-- role.  The role that created the extension (the database owner, for a
-- trusted install) may read and write it and grant that to others: every role
-- that writes to the tracked table needs SELECT, INSERT, UPDATE and DELETE on
-- it, since the trigger runs with the writer's privileges (never SECURITY
-- DEFINER).  Readers of live_scores and live_days (security_invoker views)
-- need SELECT on live_customers, and for live_scores on live_tracking and
-- score_runs.
GRANT SELECT ON customer_score.live_tracking TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON customer_score.live_tracking TO @extowner@ WITH GRANT OPTION;
GRANT SELECT, INSERT, UPDATE, DELETE ON customer_score.live_customers TO @extowner@ WITH GRANT OPTION;
-- ... and the database owner likewise, when a superuser creates the extension (as a restore
-- does): the grants the owner made replay from a dump as that owner.
DO $$
BEGIN
    EXECUTE pg_catalog.format(
        'GRANT SELECT, INSERT, UPDATE, DELETE ON customer_score.live_customers, customer_score.live_tracking TO %I WITH GRANT OPTION',
        (SELECT pg_catalog.pg_get_userbyid(d.datdba) FROM pg_catalog.pg_database d
         WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()));
END
$$;
GRANT SELECT ON customer_score.live_scores TO PUBLIC;
GRANT SELECT ON customer_score.live_days TO PUBLIC;

-- The state is dumped with the user's data (live_customers through the text
-- form of purchase_days); pg_dump restores the tracked table's rows before its
-- triggers, so the restored state matches them.
SELECT pg_catalog.pg_extension_config_dump('customer_score.live_tracking', '');
SELECT pg_catalog.pg_extension_config_dump('customer_score.live_customers', '');

-- The customer keys (install/scores.sql) are the user's data too.  Registered last, as the
-- upgrade from 0.1.0 registers them after every table 0.1.0 had, so both list them alike.
SELECT pg_catalog.pg_extension_config_dump('customer_score.customer_keys', '');
SELECT pg_catalog.pg_extension_config_dump('customer_score.customer_keys_customer_id_seq', '');
