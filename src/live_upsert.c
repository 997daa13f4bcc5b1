/*
 * live_upsert.c — the live-score trigger's upsert into customer_score.live_customers
 * done with the table and index access methods rather than through SPI.
 *
 * Per customer it does what the executor does for
 *
 *   INSERT INTO customer_score.live_customers (customer_id, days) VALUES ($1, $2)
 *   ON CONFLICT (customer_id) DO UPDATE
 *   SET days = customer_score.purchase_days_merge(live_customers.days, excluded.days)
 *
 * (ExecInsert and ExecOnConflictUpdate in nodeModifyTable.c), without a plan,
 * an executor start-up and shut-down per statement, or a projection:
 *
 *   1. look for the customer's row in the primary key with a dirty snapshot
 *      (ExecCheckIndexConstraints, which waits for a transaction still
 *      inserting the same customer);
 *   2. found: lock it (LockTupleNoKeyExclusive, waiting for a writer holding
 *      it).  If that writer updated or deleted it, look again at READ
 *      COMMITTED, fail with 40001 at REPEATABLE READ and SERIALIZABLE (as the
 *      row being invisible to the transaction's snapshot does).  Locked, the
 *      row is merged with the delta and updated (HOT when the page has room;
 *      else the index gets its new entry);
 *   3. not found: insert the delta as the row speculatively and its index
 *      entry; if another transaction inserted the customer meanwhile, the
 *      speculative row is taken back and the customer looked up again.
 *      After a customer that had no row (a load of new customers, in
 *      customer order), the next one is inserted so at once, without looking
 *      first: if it has a row after all, the index entry finds it, the
 *      speculative row is taken back and the customer looked up as in 1.
 *
 * So the concurrency of the SQL statement is kept: a writer merges into the
 * latest committed version of a customer's row, and a concurrent insert of a
 * new customer becomes an update instead of a unique violation.
 *
 * It applies only to the table as the extension creates it: two columns
 * (customer_id bigint, days purchase_days NOT NULL), its primary key as the
 * only index, no row-level security, trigger, rule or CHECK constraint.
 * Anything else (a user's policy, trigger or index) is left to the SQL
 * statement, which honours it.  Privileges are checked by the trigger beforehand
 * (SELECT, INSERT and UPDATE on the table, as the statement needs).
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "storage/lmgr.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"

#include "live_upsert.h"
#include "purchase_days.h"

struct LiveUpsert
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	List	   *arbiters;		/* the primary key's oid */
	TupleTableSlot *existing;	/* the customer's row, locked */
	TupleTableSlot *proposed;	/* the row to insert or the updated one */
	bool		last_new;		/* the last customer upserted had no row */
};

/* Is live_customers as the extension creates it, so that writing it directly skips nothing? */
static bool
live_upsert_applies(Relation rel, Oid purchase_days_type)
{
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *indexes;
	Oid			primary_key;
	bool		applies;

	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relrowsecurity ||
		rel->trigdesc != NULL || rel->rd_rel->relhasrules || !rel->rd_rel->relhasindex)
		return false;
	if (desc->natts != 2 ||
		TupleDescAttr(desc, 0)->attisdropped || TupleDescAttr(desc, 0)->atttypid != INT8OID ||
		TupleDescAttr(desc, 1)->attisdropped || TupleDescAttr(desc, 1)->atttypid != purchase_days_type ||
		!TupleDescAttr(desc, 1)->attnotnull)
		return false;
	if (desc->constr != NULL && (desc->constr->num_check > 0 || desc->constr->has_generated_stored))
		return false;
	indexes = RelationGetIndexList(rel);
	primary_key = RelationGetPrimaryKeyIndex(rel);
	applies = OidIsValid(primary_key) && list_length(indexes) == 1 && linitial_oid(indexes) == primary_key;
	list_free(indexes);
	return applies;
}

/* Open live_customers and its primary key for this statement's merges (NULL: use SQL). */
LiveUpsert *
live_upsert_begin(Oid relid, Oid purchase_days_type)
{
	Relation	rel = table_open(relid, RowExclusiveLock);
	LiveUpsert *upsert;
	IndexInfo  *key;

	if (!live_upsert_applies(rel, purchase_days_type))
	{
		table_close(rel, NoLock);
		return NULL;
	}
	upsert = palloc0(sizeof(LiveUpsert));
	upsert->rel = rel;
	upsert->rri = makeNode(ResultRelInfo);
	/* range table index 0: no query; the index code then treats the key as unchanged by updates */
	InitResultRelInfo(upsert->rri, rel, 0, NULL, 0);
	ExecOpenIndices(upsert->rri, true);
	key = upsert->rri->ri_IndexRelationInfo[0];
	if (upsert->rri->ri_NumIndices != 1 || !key->ii_Unique || key->ii_NumIndexKeyAttrs != 1 ||
		key->ii_IndexAttrNumbers[0] != 1 || key->ii_Expressions != NIL || key->ii_Predicate != NIL ||
		!upsert->rri->ri_IndexRelationDescs[0]->rd_index->indimmediate)
	{
		ExecCloseIndices(upsert->rri);
		table_close(rel, NoLock);
		return NULL;
	}
	upsert->arbiters = list_make1_oid(RelationGetRelid(upsert->rri->ri_IndexRelationDescs[0]));

	/*
	 * As SPI runs a statement that writes: a new command, so that rows written
	 * by an earlier firing in this command are seen as written before, and a
	 * snapshot taken for it (the transaction's at REPEATABLE READ).
	 */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	upsert->estate = CreateExecutorState();
	upsert->estate->es_snapshot = GetActiveSnapshot();
	upsert->estate->es_output_cid = GetCurrentCommandId(true);
	upsert->existing = table_slot_create(rel, NULL);
	upsert->proposed = table_slot_create(rel, NULL);
	return upsert;
}

/* The inserting transaction of the row in slot. */
static TransactionId
live_upsert_xmin(TupleTableSlot *slot)
{
	bool		isnull;

	return DatumGetTransactionId(slot_getsysattr(slot, MinTransactionIdAttributeNumber, &isnull));
}

/* The row (customer_id, days) into the proposed slot. */
static void
live_upsert_propose(LiveUpsert *upsert, int64 customer_id, Datum days)
{
	TupleTableSlot *slot = upsert->proposed;

	ExecClearTuple(slot);
	slot->tts_values[0] = Int64GetDatum(customer_id);
	slot->tts_values[1] = days;
	slot->tts_isnull[0] = false;
	slot->tts_isnull[1] = false;
	ExecStoreVirtualTuple(slot);
}

/*
 * Lock the customer's row at *conflict, merge the delta into it and update
 * it; false when the row was updated or deleted by another transaction
 * before it could be locked (look again).
 */
static bool
live_upsert_update(LiveUpsert *upsert, ItemPointer conflict, int64 customer_id, Datum delta)
{
	EState	   *estate = upsert->estate;
	TM_FailureData tmfd;
	TM_Result	result;
	LockTupleMode lockmode;
	bool		update_indexes;
	bool		isnull;
	Datum		merged;
	MemoryContext old;

	result = table_tuple_lock(upsert->rel, conflict, estate->es_snapshot, upsert->existing,
							  estate->es_output_cid, LockTupleNoKeyExclusive, LockWaitBlock, 0, &tmfd);
	switch (result)
	{
		case TM_Ok:
			break;
		case TM_Invisible:
			/* written by this very command: each customer is upserted once per firing */
			if (TransactionIdIsCurrentTransactionId(live_upsert_xmin(upsert->existing)))
				ereport(ERROR,
						(errcode(ERRCODE_CARDINALITY_VIOLATION),
						 errmsg("ON CONFLICT DO UPDATE command cannot affect row a second time")));
			elog(ERROR, "attempted to lock invisible tuple");
			break;
		case TM_SelfModified:
			/* a dirty snapshot does not find a row this command has replaced */
			elog(ERROR, "unexpected self-updated tuple");
			break;
		case TM_Updated:
			if (IsolationUsesXactSnapshot())
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to concurrent update")));
			ExecClearTuple(upsert->existing);
			return false;
		case TM_Deleted:
			if (IsolationUsesXactSnapshot())
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to concurrent delete")));
			ExecClearTuple(upsert->existing);
			return false;
		default:
			elog(ERROR, "unrecognized table_tuple_lock status: %u", result);
	}

	/*
	 * At REPEATABLE READ and SERIALIZABLE a row the transaction's snapshot
	 * cannot see was committed after it began: updating it would lose that
	 * change from the transaction's view (unless this transaction wrote it).
	 */
	if (IsolationUsesXactSnapshot() &&
		!table_tuple_satisfies_snapshot(upsert->rel, upsert->existing, estate->es_snapshot) &&
		!TransactionIdIsCurrentTransactionId(live_upsert_xmin(upsert->existing)))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to concurrent update")));

	old = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
	merged = DirectFunctionCall2(purchase_days_merge, slot_getattr(upsert->existing, 2, &isnull), delta);
	live_upsert_propose(upsert, customer_id, merged);
	MemoryContextSwitchTo(old);
	result = table_tuple_update(upsert->rel, &upsert->existing->tts_tid, upsert->proposed,
								estate->es_output_cid, estate->es_snapshot, InvalidSnapshot,
								true, &tmfd, &lockmode, &update_indexes);
	if (result != TM_Ok)
		elog(ERROR, "live_customers: updating a locked row failed with status %u", result);
	if (update_indexes)
		list_free(ExecInsertIndexTuples(upsert->rri, upsert->proposed, estate, true, false, NULL, NIL));
	ExecClearTuple(upsert->existing);
	return true;
}

/* The customer's delta merged into its row, or inserted as its row: one ON CONFLICT DO UPDATE. */
void
live_upsert_one(LiveUpsert *upsert, int64 customer_id, Datum delta)
{
	EState	   *estate = upsert->estate;

	bool		look = !upsert->last_new;

	for (;; look = true)
	{
		ItemPointerData conflict;
		bool		taken = false;
		uint32		token;

		CHECK_FOR_INTERRUPTS();
		live_upsert_propose(upsert, customer_id, delta);
		if (look && !ExecCheckIndexConstraints(upsert->rri, upsert->proposed, estate, &conflict, upsert->arbiters))
		{
			if (live_upsert_update(upsert, &conflict, customer_id, delta))
			{
				upsert->last_new = false;
				break;
			}
			continue;
		}

		/* no row yet: insert one, unless another transaction's insert of the customer wins */
		token = SpeculativeInsertionLockAcquire(GetCurrentTransactionId());
		table_tuple_insert_speculative(upsert->rel, upsert->proposed, estate->es_output_cid, 0, NULL, token);
		list_free(ExecInsertIndexTuples(upsert->rri, upsert->proposed, estate, false, true, &taken,
										upsert->arbiters));
		table_tuple_complete_speculative(upsert->rel, upsert->proposed, token, !taken);
		SpeculativeInsertionLockRelease(GetCurrentTransactionId());
		if (!taken)
		{
			upsert->last_new = true;
			break;
		}
	}
	ExecClearTuple(upsert->proposed);
	ResetPerTupleExprContext(estate);
}

/* Close what live_upsert_begin opened; the table stays locked until the transaction ends. */
void
live_upsert_end(LiveUpsert *upsert)
{
	ExecDropSingleTupleTableSlot(upsert->existing);
	ExecDropSingleTupleTableSlot(upsert->proposed);
	ExecCloseIndices(upsert->rri);
	FreeExecutorState(upsert->estate);
	PopActiveSnapshot();
	table_close(upsert->rel, NoLock);
	pfree(upsert);
}
