-- The extension's own tables in the shape a Citus cluster needs, and back.  Reference: README,
-- Parallel query and Citus.

-- @begin citus-shape
-- Which of the extension's tables take which shape on Citus.  Reference tables (a copy on every
-- node): the small tables that queries join with distributed data, opt_outs (with the customers'
-- own tables) and what the explanation views read beside the history (components, reason_codes).
-- Distributed by customer_id: the per-customer rows refresh and backtest write, scores_history
-- and backtest_customers.  Everything else
-- stays a local table of the coordinator, which alone reads and writes it: models, model_versions,
-- model_components, score_runs, backtests and action_weights have triggers (the published-version
-- guards, the cascades to the per-customer rows, action_weights' ownership mark), which Citus
-- refuses on its tables, and foreign keys between them; sources is written by an upsert that sets
-- set_at = now(), which Citus refuses on its tables; customer_keys is read by customer_key(), which
-- the views call where the history's rows are, and on a worker a reference table read from a
-- function in a shard's query is an error (a local table there: the worker's own empty copy).
CREATE FUNCTION customer_score.citus_tables(OUT relation regclass, OUT shape text, OUT step integer)
RETURNS SETOF record
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    VALUES ('customer_score.opt_outs'::regclass, 'reference', 1),
           ('customer_score.components'::regclass, 'reference', 2),
           ('customer_score.reason_codes'::regclass, 'reference', 3),
           ('customer_score.scores_history'::regclass, 'distributed', 4),
           ('customer_score.backtest_customers'::regclass, 'distributed', 5)
$$;
COMMENT ON FUNCTION customer_score.citus_tables() IS
    'The extension''s tables that distribute_tables() gives a Citus shape, in the order it does: reference (opt_outs, components, reason_codes: a copy on every node) or distributed (scores_history, backtest_customers: by customer_id). The other tables stay local to the coordinator, which alone reads them (triggers, foreign keys and an upsert with now() that Citus refuses on its tables).';

-- Whether Citus is installed in this database (the functions below do nothing without it).
CREATE FUNCTION customer_score.citus_installed() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus')
$$;
COMMENT ON FUNCTION customer_score.citus_installed() IS 'Internal: whether the citus extension is installed in this database.';

-- The Citus shape of one table now: reference, distributed (by hash) or NULL (a local table).
CREATE FUNCTION customer_score.citus_shape(relation regclass) RETURNS text
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    method "char";
BEGIN
    IF NOT customer_score.citus_installed() THEN
        RETURN NULL;
    END IF;
    EXECUTE 'SELECT partmethod FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1' INTO method USING relation;
    RETURN CASE WHEN method IS NULL THEN NULL WHEN method = 'n' THEN 'reference' WHEN method = 'h' THEN 'distributed'
                ELSE 'other' END;
END
$$;
COMMENT ON FUNCTION customer_score.citus_shape(regclass) IS
    'Internal: the Citus shape of a table: reference, distributed (hash), other (a Citus local or append table), NULL for a plain local table or without Citus.';

CREATE FUNCTION customer_score.distribute_tables(colocate_with regclass DEFAULT NULL)
RETURNS TABLE (relation regclass, shape text, colocated_with regclass)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t         record;
    target    regclass := distribute_tables.colocate_with;
    tx        regclass;
    col_name  text;
    col_type  regtype;
    now_shape text;
    no_coordinator boolean;
BEGIN
    IF NOT customer_score.citus_installed() THEN
        RAISE NOTICE 'Citus is not installed in this database: the tables of customer_score stay as they are';
        RETURN;
    END IF;
    -- refresh joins its scratch tables with the reference tables on the coordinator: it needs a copy there
    EXECUTE 'SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_node WHERE groupid = 0)' INTO STRICT no_coordinator;
    IF no_coordinator THEN
        RAISE EXCEPTION 'the coordinator is not a node of the Citus cluster'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'refresh reads the reference tables beside its scratch tables on the coordinator, which needs their copy there.',
                  HINT = 'SELECT citus_set_coordinator_host(''coordinator host'', port);';
    END IF;
    -- the views look up text, varchar and uuid ids in customer_keys, a table of the coordinator
    IF EXISTS (SELECT 1 FROM customer_score.customer_keys) THEN
        RAISE EXCEPTION 'cannot distribute the score history of customers with text, varchar or uuid ids'
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'The views show such a customer''s id from customer_keys, which only the coordinator holds; the history''s rows would be read on the workers.',
                  HINT = 'Keep the history on the coordinator, or give the sources integer customer ids.';
    END IF;
    -- co-located with: the given table, else the default transactions source when Citus can
    -- (distributed by customer_id, a bigint as scores_history's)
    IF target IS NULL THEN
        SELECT s.relation INTO tx FROM customer_score.sources s WHERE s.kind = 'transactions' AND s.model = '';
        IF tx IS NOT NULL AND customer_score.citus_shape(tx) = 'distributed' THEN
            EXECUTE 'SELECT a.attname, a.atttypid::regtype FROM pg_catalog.pg_dist_partition p
                     JOIN pg_catalog.pg_attribute a ON a.attrelid = p.logicalrelid
                      AND a.attname = pg_catalog.column_to_column_name(p.logicalrelid, p.partkey)
                     WHERE p.logicalrelid = $1' INTO col_name, col_type USING tx;
            IF col_name = 'customer_id' AND col_type = 'bigint'::regtype THEN
                target := tx;
            ELSE
                RAISE NOTICE 'scores_history and backtest_customers are not co-located with the transactions source %', tx
                    USING DETAIL = format('Co-location needs the source distributed by a bigint customer_id; it is distributed by %s %s.', col_name, col_type);
            END IF;
        END IF;
    ELSIF customer_score.citus_shape(target) IS DISTINCT FROM 'distributed' THEN
        RAISE EXCEPTION 'cannot co-locate with %: it is not a distributed table', target
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass a table distributed by a bigint customer_id (create_distributed_table), or NULL.';
    END IF;

    FOR t IN SELECT c.relation, c.shape FROM customer_score.citus_tables() c ORDER BY c.step LOOP
        now_shape := customer_score.citus_shape(t.relation);
        IF now_shape IS NULL THEN
            IF t.shape = 'reference' THEN
                PERFORM pg_catalog.create_reference_table(t.relation);
            ELSE
                PERFORM pg_catalog.create_distributed_table(t.relation, 'customer_id',
                                                            colocate_with => coalesce(target::text, 'default'));
            END IF;
            -- the rows now live in the shards: the local copy would come back on undistribute_tables
            PERFORM pg_catalog.truncate_local_data_after_distributing_table(t.relation);
        ELSIF now_shape <> t.shape THEN
            RAISE EXCEPTION 'table % is already a Citus % table, not a % one', t.relation, now_shape, t.shape
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'SELECT customer_score.undistribute_tables(); then distribute_tables() again.';
        END IF;
        relation := t.relation;
        shape := t.shape;
        colocated_with := CASE WHEN t.shape = 'distributed' THEN target END;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION customer_score.distribute_tables(regclass) IS
    'On a Citus cluster, gives the extension''s tables the shape it needs (citus_tables()): opt_outs, components and reason_codes reference tables, scores_history and backtest_customers distributed by customer_id co-located with colocate_with (NULL: the default transactions source when it is distributed by a bigint customer_id), every row kept; the other tables stay on the coordinator. Refused while customer_keys has rows (text, varchar or uuid ids). Returns the tables and their shape; tables already in shape are left alone. Without Citus a NOTICE and nothing else. Needs the tables'' owner (the role that created the extension) and the coordinator in the cluster (citus_set_coordinator_host). undistribute_tables() reverts it.';

CREATE FUNCTION customer_score.undistribute_tables()
RETURNS TABLE (relation regclass, shape text, rows bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t   record;
    nsp text;
    rel text;
BEGIN
    IF NOT customer_score.citus_installed() THEN
        RAISE NOTICE 'Citus is not installed in this database: the tables of customer_score stay as they are';
        RETURN;
    END IF;
    -- Citus's undistribute_table refuses a table an extension owns (it rebuilds the table under a
    -- new oid), so the metadata goes as it goes when such a table is dropped (what Citus's drop
    -- trigger calls), the table stays, and the rows, read out first, go back into it
    FOR t IN SELECT c.relation, c.shape FROM customer_score.citus_tables() c ORDER BY c.step DESC LOOP
        shape := customer_score.citus_shape(t.relation);
        CONTINUE WHEN shape IS NULL;
        SELECT n.nspname, c.relname INTO nsp, rel
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = t.relation;
        EXECUTE format('CREATE TEMP TABLE cs_undistribute ON COMMIT DROP AS SELECT * FROM %s', t.relation);
        GET DIAGNOSTICS rows = ROW_COUNT;
        -- a table distributed by hand may still hold its rows from before on disk
        PERFORM pg_catalog.truncate_local_data_after_distributing_table(t.relation);
        PERFORM pg_catalog.master_remove_distributed_table_metadata_from_workers(t.relation, nsp, rel);
        PERFORM pg_catalog.citus_drop_all_shards(t.relation, nsp, rel, false);
        PERFORM pg_catalog.master_remove_partition_metadata(t.relation, nsp, rel);
        EXECUTE format('INSERT INTO %s %s SELECT * FROM pg_temp.cs_undistribute', t.relation,
                       CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = t.relation
                                         AND a.attidentity = 'a' AND NOT a.attisdropped)
                            THEN 'OVERRIDING SYSTEM VALUE' ELSE '' END);
        DROP TABLE pg_temp.cs_undistribute;
        relation := t.relation;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION customer_score.undistribute_tables() IS
    'Reverts distribute_tables(): the extension''s Citus tables (citus_tables()) become local tables of the coordinator again, every row kept (Citus''s undistribute_table refuses tables an extension owns: the rows are read out, Citus''s metadata and shards removed as for a dropped table, the rows put back). Returns the tables, their shape before and their rows. Without Citus a NOTICE and nothing else. Needs the tables'' owner.';

-- They change the extension's tables: only their owner (who created the extension) runs them.
REVOKE ALL ON FUNCTION customer_score.distribute_tables(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION customer_score.undistribute_tables() FROM PUBLIC;
-- @end citus-shape
