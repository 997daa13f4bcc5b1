-- The live-score trigger keeps one state, for the table track_transactions tracks: fired on any
-- other table (attached by hand, left on a table no longer tracked, or copied by Citus onto the
-- shards of a distributed table, where each node would keep a state of its own) it refuses the
-- write (0A000) instead of counting rows the tracked table never had. test/shell/citus.sh checks
-- the Citus cases on a real cluster.
\ir ../lib/pgtap_begin.sql
SET client_min_messages = warning;

SELECT plan(8);

CREATE TABLE tracked_tx (customer_id bigint, at timestamptz, amount numeric) PARTITION BY RANGE (at);
CREATE TABLE tracked_tx_1997 PARTITION OF tracked_tx FOR VALUES FROM ('1997-01-01') TO ('1998-01-01');
CREATE TABLE tracked_tx_later PARTITION OF tracked_tx DEFAULT;
CREATE TABLE other_tx (customer_id bigint, at timestamptz, amount numeric);
INSERT INTO tracked_tx VALUES (1, '1997-02-01 10:00+00', 20), (2, '1997-03-01 10:00+00', 5);
SELECT is(track_transactions('tracked_tx', 'UTC'), 2::bigint, 'track_transactions counts the tracked table');

-- the same trigger, with the arguments track_transactions gives it, attached by hand elsewhere
CREATE TRIGGER by_hand AFTER INSERT ON other_tx REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_score.track_transactions('UTC', 'timestamptz');
SELECT throws_ok($$INSERT INTO other_tx VALUES (3, '1997-04-01 10:00+00', 7)$$, '0A000',
                 'customer_score does not track "other_tx"',
                 'the trigger attached by hand to another table refuses the write');
SELECT is((SELECT string_agg(customer_id || ':' || n, ' ' ORDER BY customer_id) FROM (SELECT customer_id, sum(rows) AS n FROM live_days GROUP BY 1) d), '1:1 2:1',
          '... and the live state has only the tracked rows');

INSERT INTO tracked_tx VALUES (1, '1997-05-01 10:00+00', 8);
INSERT INTO tracked_tx_later VALUES (2, '1998-02-01 10:00+00', 9);
SELECT is((SELECT string_agg(customer_id || ':' || n, ' ' ORDER BY customer_id) FROM (SELECT customer_id, sum(rows) AS n FROM live_days GROUP BY 1) d), '1:2 2:2',
          'writes to the tracked table and straight to its partitions are counted');
SELECT lives_ok($$INSERT INTO tracked_tx_1997 VALUES (3, '1997-06-01 10:00+00', 1)$$,
                'a second write in the session to a partition (its trigger known) is counted too');

-- a table no longer tracked keeps a trigger only if someone left it there by hand
DROP TRIGGER by_hand ON other_tx;
SELECT lives_ok($$SELECT untrack_transactions('tracked_tx'), track_transactions('other_tx', 'UTC')$$,
                'tracking moves to other_tx');
CREATE TRIGGER left_behind AFTER INSERT ON tracked_tx_1997 REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_score.track_transactions('UTC', 'timestamptz');
SELECT throws_ok($$INSERT INTO tracked_tx_1997 VALUES (4, '1997-07-01 10:00+00', 1)$$, '0A000',
                 'customer_score does not track "tracked_tx_1997"',
                 'a trigger on the table tracked before refuses its writes');
SELECT is((SELECT count(*) FROM live_days WHERE customer_id = 4), 0::bigint, '... and counts none of them');

SELECT * FROM finish();
ROLLBACK;
