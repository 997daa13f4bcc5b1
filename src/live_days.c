/*
 * live_days.c — the live-score trigger (SQL: customer_score.track_transactions())
 * and the wall clock of live_local_time (days: local_day.h).
 *
 * customer_score.live_customers holds one row per customer of the tracked
 * transactions table: the customer's purchase days packed in one
 * purchase_days value (purchase_days.h), each day with the sum of the amounts
 * (numeric, so adding and removing rows is exact and never drifts from a
 * recount) and the number of rows.  One row per customer rather than per
 * (customer, day): a load of history, in which nearly every row is a new day
 * of its customer, upserts one state row per customer it touches, not one per
 * transaction row.  The trigger fires once per statement, AFTER INSERT /
 * UPDATE / DELETE with the transition tables new_rows and old_rows, and AFTER
 * TRUNCATE:
 *
 *   1. every counted row of the transition tables becomes a delta
 *      (customer_id, day, +-amount, +-1): new rows add, old rows subtract, so
 *      an UPDATE moves a row out of its old day and into its new one;
 *   2. the deltas are sorted by (customer_id, day) — in memory for small
 *      statements, with tuplesort (within work_mem, spilling to disk beyond)
 *      for large ones — and summed per key; an UPDATE's keys that net to zero
 *      are dropped;
 *   3. the sums of each customer are packed into one purchase_days delta and
 *      merged into live_customers in ascending customer order, in batches, by
 *      INSERT ... ON CONFLICT (customer_id) DO UPDATE SET days =
 *      purchase_days_merge(days, delta), which adds per day and drops the days
 *      whose count reaches 0; a customer left without a day is then deleted.
 *      An INSERT's deltas (which only add) are merged the same way without
 *      SQL, through the table and index access methods (live_upsert.c),
 *      where live_customers is as the extension creates it.
 *
 * Concurrency: the upsert merges a delta into the latest committed version of
 * the customer's row (at READ COMMITTED it waits for a concurrent writer of
 * the same customer and then applies on top of its result), so no writer's
 * change is lost; two statements lock the customers they share in the same
 * (ascending) order, so trigger firings cannot deadlock against each other
 * within a statement.  A customer's row emptied by this statement is locked by
 * it until commit, so the delete that follows cannot race with another writer.
 *
 * A row is counted when customer_id and at are non-NULL and at and amount
 * finite; a NULL amount counts as 0 (the purchase rule, purchase_rule.h;
 * 0.1.0's track_transactions_trigger skips it).  recount_live_days applies
 * the same rule in SQL; which days are purchase occasions is decided when
 * the days are read (purchase_days_history).
 * The trigger counts only the tracked table and its partitions: fired
 * anywhere else (attached by hand, or copied by Citus onto a shard, where a
 * worker would keep a state of its own) it refuses the write.
 * Days of a timestamptz column are taken in the time zone given to the
 * trigger (the session TimeZone when tracking started), never the writer's,
 * so writers in different time zones add and subtract on the same days.
 *
 * The SQL runs through SPI with the privileges of the writing role (the
 * function is not SECURITY DEFINER) and names every object in full, operators
 * included, so the writer's search_path cannot redirect it; the direct merge
 * is done after checking the same privileges.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/tupdesc.h"
#include "catalog/namespace.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplesort.h"
#include "utils/tuplestore.h"

#include "interrupts.h"
#include "customer_keys.h"
#include "live_upsert.h"
#include "local_day.h"
#include "purchase_rule.h"
#include "purchase_days.h"

/* statements with at most this many transition rows are sorted in memory */
#define LIVE_SMALL_ROWS 1024
/* customers merged into live_customers per SPI call */
#define LIVE_BATCH 4096

/* ---------------------------------------------------------------------
 * Time zones and local days
 * ---------------------------------------------------------------------
 */

/* live_local_time(at timestamptz, time_zone text) -> timestamp: at on the wall clock of time_zone */
PG_FUNCTION_INFO_V1(live_local_time);
Datum
live_local_time(PG_FUNCTION_ARGS)
{
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(0);
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	CsZone		zone;
	Timestamp	result;

	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("live_local_time needs a finite timestamp")));
	cs_zone_init(&zone, cs_named_zone(name));
	result = cs_local_usecs(at, &zone);
	if (!IS_VALID_TIMESTAMP(result))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	PG_RETURN_TIMESTAMP(result);
}

/* ---------------------------------------------------------------------
 * The tracked columns
 * ---------------------------------------------------------------------
 */

typedef enum LiveAtKind
{
	LIVE_AT_TIMESTAMPTZ,
	LIVE_AT_TIMESTAMP,
	LIVE_AT_DATE
} LiveAtKind;

typedef struct LiveColumns
{
	AttrNumber	customer_id;
	AttrNumber	at;
	AttrNumber	amount;
	Oid			customer_type;	/* base types (domains resolved) */
	Oid			at_type;
	Oid			amount_type;
	LiveAtKind	at_kind;
	CsZone		zone;			/* the tracking time zone (LIVE_AT_TIMESTAMPTZ) or none */
	bool		purchase_rule;	/* purchase_rule.h: a NULL amount counts (0.1.0: skipped) */
	CsKeyMap   *keys;			/* text, varchar or uuid ids: their numbers; else NULL */
} LiveColumns;

/*
 * Where the last statement found each column, checked against the table's
 * descriptor before use (same relation, same name and type at that position),
 * so a changed table is looked up again and a stale entry is never used.
 */
typedef struct LiveColumnCache
{
	Oid			relid;
	AttrNumber	attnum;
	Oid			atttypid;
	Oid			basetype;
} LiveColumnCache;

static AttrNumber
live_find_column(Relation rel, const char *name, LiveColumnCache *cache, Oid *type)
{
	TupleDesc	desc = RelationGetDescr(rel);

	if (cache->relid == RelationGetRelid(rel) && cache->attnum > 0 && cache->attnum <= desc->natts)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, cache->attnum - 1);

		if (!attr->attisdropped && attr->atttypid == cache->atttypid && strcmp(NameStr(attr->attname), name) == 0)
		{
			*type = cache->basetype;
			return cache->attnum;
		}
	}
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, i);

		if (!attr->attisdropped && strcmp(NameStr(attr->attname), name) == 0)
		{
			*type = getBaseType(attr->atttypid);
			cache->relid = RelationGetRelid(rel);
			cache->attnum = attr->attnum;
			cache->atttypid = attr->atttypid;
			cache->basetype = *type;
			return attr->attnum;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("table \"%s\" has no column \"%s\"", RelationGetRelationName(rel), name),
			 errhint("The tracked table needs customer_id, at and amount; after changing it run SELECT customer_score.track_transactions('%s') again.",
					 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												RelationGetRelationName(rel)))));
	return InvalidAttrNumber;	/* not reached */
}

static void
live_type_changed(Relation rel, const char *column)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("column \"%s\" of \"%s\" no longer has the type it was tracked with",
					column, RelationGetRelationName(rel)),
			 errhint("Run SELECT customer_score.track_transactions('%s') again.",
					 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												RelationGetRelationName(rel)))));
}

/* The columns of the trigger's table and the trigger's arguments (time zone, kind of at). */
static void
live_columns(TriggerData *trigdata, LiveColumns *cols)
{
	static LiveColumnCache column_cache[3];

	Relation	rel = trigdata->tg_relation;
	Trigger    *trigger = trigdata->tg_trigger;
	const char *kind;

	if (trigger->tgnargs != 2)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("customer_score.track_transactions() must be attached by customer_score.track_transactions(relation)"),
				 errhint("Run SELECT customer_score.track_transactions('%s'); it creates the triggers and loads the state.",
						 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
													RelationGetRelationName(rel)))));
	kind = trigger->tgargs[1];
	if (strcmp(kind, "timestamptz") == 0)
		cols->at_kind = LIVE_AT_TIMESTAMPTZ;
	else if (strcmp(kind, "timestamp") == 0)
		cols->at_kind = LIVE_AT_TIMESTAMP;
	else if (strcmp(kind, "date") == 0)
		cols->at_kind = LIVE_AT_DATE;
	else
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("customer_score.track_transactions(): unknown kind of at \"%s\"", kind)));
	cs_zone_init(&cols->zone, cols->at_kind == LIVE_AT_TIMESTAMPTZ ? cs_named_zone(trigger->tgargs[0]) : NULL);

	cols->customer_id = live_find_column(rel, "customer_id", &column_cache[0], &cols->customer_type);
	cols->at = live_find_column(rel, "at", &column_cache[1], &cols->at_type);
	cols->amount = live_find_column(rel, "amount", &column_cache[2], &cols->amount_type);
	if (cols->customer_type != INT2OID && cols->customer_type != INT4OID && cols->customer_type != INT8OID &&
		!cs_customer_key_type(cols->customer_type))
		live_type_changed(rel, "customer_id");
	cols->keys = NULL;
	if (cols->at_type != (cols->at_kind == LIVE_AT_TIMESTAMPTZ ? TIMESTAMPTZOID :
						  cols->at_kind == LIVE_AT_TIMESTAMP ? TIMESTAMPOID : DATEOID))
		live_type_changed(rel, "at");
	switch (cols->amount_type)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case NUMERICOID:
		case FLOAT4OID:
		case FLOAT8OID:
			break;
		default:
			live_type_changed(rel, "amount");
	}
}

/* ---------------------------------------------------------------------
 * Deltas
 * ---------------------------------------------------------------------
 */

typedef struct LiveDelta
{
	int64		customer_id;
	DateADT		day;
	int64		rows;			/* +1 or -1 per transition row; summed per key */
	Numeric		amount;			/* signed like rows */
} LiveDelta;

/*
 * The delta of one transition row, or false when the row is not counted
 * (a NULL column, an infinite at or a non-finite amount).
 */
static bool
live_row_delta(TupleTableSlot *slot, const LiveColumns *cols, int sign, LiveDelta *delta)
{
	bool		isnull;
	Datum		value;
	Numeric		amount;

	value = slot_getattr(slot, cols->customer_id, &isnull);
	if (isnull)
		return false;
	if (cols->keys != NULL)
		delta->customer_id = cs_key_map_lookup(cols->keys, cs_customer_key_text(value, cols->customer_type));
	else
		delta->customer_id = cols->customer_type == INT8OID ? DatumGetInt64(value) :
			cols->customer_type == INT4OID ? (int64) DatumGetInt32(value) : (int64) DatumGetInt16(value);

	value = slot_getattr(slot, cols->at, &isnull);
	if (isnull)
		return false;
	if (cols->at_kind == LIVE_AT_DATE)
	{
		if (DATE_NOT_FINITE(DatumGetDateADT(value)))
			return false;
		delta->day = DatumGetDateADT(value);
	}
	else
	{
		Timestamp	ts = DatumGetTimestamp(value);

		if (TIMESTAMP_NOT_FINITE(ts))
			return false;
		delta->day = cs_local_day(ts, &cols->zone);
	}

	value = slot_getattr(slot, cols->amount, &isnull);
	if (isnull && !cols->purchase_rule)
		return false;
	if (isnull)
		amount = int64_to_numeric(CS_AMOUNT_IF_NULL);
	else switch (cols->amount_type)
	{
		case INT2OID:
			amount = int64_to_numeric(DatumGetInt16(value));
			break;
		case INT4OID:
			amount = int64_to_numeric(DatumGetInt32(value));
			break;
		case INT8OID:
			amount = int64_to_numeric(DatumGetInt64(value));
			break;
		case FLOAT4OID:
			if (!isfinite(DatumGetFloat4(value)))
				return false;
			amount = DatumGetNumeric(DirectFunctionCall1(float4_numeric, value));
			break;
		case FLOAT8OID:
			if (!isfinite(DatumGetFloat8(value)))
				return false;
			amount = DatumGetNumeric(DirectFunctionCall1(float8_numeric, value));
			break;
		default:
			/* a private copy: the transition tuple goes away at the next read */
			amount = DatumGetNumericCopy(value);
			if (numeric_is_nan(amount) || numeric_is_inf(amount))
				return false;
			break;
	}
	if (sign < 0)
		amount = DatumGetNumeric(DirectFunctionCall1(numeric_uminus, NumericGetDatum(amount)));
	delta->rows = sign;
	delta->amount = amount;
	return true;
}

/*
 * Numbers the customer keys (text, varchar or uuid ids) of the transition tables through
 * customer_keys, as refresh numbers them, so that the deltas carry the same bigint.
 */
static CsKeyMap *
live_number_keys(TriggerData *trigdata, const LiveColumns *cols, int64 rows)
{
	Tuplestorestate *tables[2] = {trigdata->tg_newtable, trigdata->tg_oldtable};
	TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(trigdata->tg_relation), &TTSOpsMinimalTuple);
	char	  **keys = MemoryContextAllocHuge(CurrentMemoryContext, Max(rows, 1) * sizeof(char *));
	CsKeyMap   *map = palloc(sizeof(CsKeyMap));
	int64		n = 0;

	for (int i = 0; i < 2; i++)
	{
		if (tables[i] == NULL)
			continue;
		tuplestore_select_read_pointer(tables[i], tuplestore_alloc_read_pointer(tables[i], EXEC_FLAG_REWIND));
		tuplestore_rescan(tables[i]);
		while (n < rows && tuplestore_gettupleslot(tables[i], true, false, slot))
		{
			bool		isnull;
			Datum		value = slot_getattr(slot, cols->customer_id, &isnull);

			CHECK_FOR_INTERRUPTS();
			if (!isnull)
				keys[n++] = cs_customer_key_text(value, cols->customer_type);
		}
		tuplestore_select_read_pointer(tables[i], 0);	/* leave the store as we found it */
	}
	ExecDropSingleTupleTableSlot(slot);
	if (n > INT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a statement with %lld customer keys is more than the live scores take at once", (long long) n),
				 errhint("Write the rows in smaller statements.")));
	cs_key_map_build(map, keys, (int) n);
	return map;
}

static int
live_delta_cmp(const void *a, const void *b)
{
	const LiveDelta *x = (const LiveDelta *) a;
	const LiveDelta *y = (const LiveDelta *) b;

	if (x->customer_id != y->customer_id)
		return x->customer_id < y->customer_id ? -1 : 1;
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return 0;
}

/*
 * The deltas of a statement in (customer_id, day) order: an array sorted in
 * memory for small statements, a tuplesort (work_mem, then disk) otherwise.
 */
typedef struct LiveDeltaSource
{
	LiveDelta  *array;
	int			used;
	int			next;
	Tuplesortstate *sort;
	TupleTableSlot *sort_slot;
	MemoryContext read_context; /* the amount last read from the sort */
} LiveDeltaSource;

static TupleDesc
live_sort_desc(void)
{
	TupleDesc	desc = CreateTemplateTupleDesc(4);

	TupleDescInitEntry(desc, 1, "customer_id", INT8OID, -1, 0);
	TupleDescInitEntry(desc, 2, "day", INT4OID, -1, 0);
	TupleDescInitEntry(desc, 3, "rows", INT8OID, -1, 0);
	TupleDescInitEntry(desc, 4, "amount", NUMERICOID, -1, 0);
	return desc;
}

/* Read one transition table into the source. */
static void
live_read_table(Tuplestorestate *table, TupleDesc desc, const LiveColumns *cols, int sign,
				LiveDeltaSource *source, TupleTableSlot *sort_input)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	int			pointer = tuplestore_alloc_read_pointer(table, EXEC_FLAG_REWIND);
	LiveDelta	delta;
	MemoryContext row_context = NULL,
				old = CurrentMemoryContext;

	/* sorted on disk: what one row allocates is freed after it is put */
	if (source->sort != NULL)
		row_context = AllocSetContextCreate(CurrentMemoryContext, "live_customers row", ALLOCSET_SMALL_SIZES);

	/* a new read pointer copies pointer 0's position, which could be anywhere */
	tuplestore_select_read_pointer(table, pointer);
	tuplestore_rescan(table);
	while (tuplestore_gettupleslot(table, true, false, slot))
	{
		CHECK_FOR_INTERRUPTS();
		if (source->sort == NULL)
		{
			if (live_row_delta(slot, cols, sign, &delta))
				source->array[source->used++] = delta;
			continue;
		}
		MemoryContextSwitchTo(row_context);
		if (live_row_delta(slot, cols, sign, &delta))
		{
			ExecClearTuple(sort_input);
			sort_input->tts_values[0] = Int64GetDatum(delta.customer_id);
			sort_input->tts_values[1] = Int32GetDatum(delta.day);
			sort_input->tts_values[2] = Int64GetDatum(delta.rows);
			sort_input->tts_values[3] = NumericGetDatum(delta.amount);
			memset(sort_input->tts_isnull, 0, 4 * sizeof(bool));
			ExecStoreVirtualTuple(sort_input);
			tuplesort_puttupleslot(source->sort, sort_input);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(row_context);
	}
	ExecDropSingleTupleTableSlot(slot);
	tuplestore_select_read_pointer(table, 0);	/* leave the store as we found it */
	if (row_context != NULL)
		MemoryContextDelete(row_context);
}

static void
live_source_begin(TriggerData *trigdata, const LiveColumns *cols, int64 rows, LiveDeltaSource *source)
{
	Tuplestorestate *tables[2] = {trigdata->tg_newtable, trigdata->tg_oldtable};
	int			signs[2] = {1, -1};
	TupleDesc	desc = RelationGetDescr(trigdata->tg_relation);
	TupleTableSlot *sort_input = NULL;

	memset(source, 0, sizeof(*source));
	if (rows <= LIVE_SMALL_ROWS)
		source->array = palloc(Max(rows, 1) * sizeof(LiveDelta));
	else
	{
		TupleDesc	sort_desc = live_sort_desc();
		AttrNumber	keys[2] = {1, 2};
		Oid			operators[2] = {Int8LessOperator, Int4LessOperator};
		Oid			collations[2] = {InvalidOid, InvalidOid};
		bool		nulls_first[2] = {false, false};

		source->sort = tuplesort_begin_heap(sort_desc, 2, keys, operators, collations, nulls_first,
											work_mem, NULL, TUPLESORT_NONE);
		sort_input = MakeSingleTupleTableSlot(sort_desc, &TTSOpsVirtual);
		source->sort_slot = MakeSingleTupleTableSlot(sort_desc, &TTSOpsMinimalTuple);
		source->read_context = AllocSetContextCreate(CurrentMemoryContext, "live_customers read", ALLOCSET_SMALL_SIZES);
	}

	for (int i = 0; i < 2; i++)
		if (tables[i] != NULL)
			live_read_table(tables[i], desc, cols, signs[i], source, sort_input);

	if (source->sort == NULL)
		cs_sort(source->array, source->used, sizeof(LiveDelta), live_delta_cmp);
	else
	{
		ExecDropSingleTupleTableSlot(sort_input);
		tuplesort_performsort(source->sort);
	}
}

/* The next delta in key order; the amount is valid until the next call. */
static bool
live_source_next(LiveDeltaSource *source, LiveDelta *delta)
{
	bool		isnull;
	MemoryContext old;

	if (source->sort == NULL)
	{
		if (source->next >= source->used)
			return false;
		*delta = source->array[source->next++];
		return true;
	}
	if (!tuplesort_gettupleslot(source->sort, true, false, source->sort_slot, NULL))
		return false;
	delta->customer_id = DatumGetInt64(slot_getattr(source->sort_slot, 1, &isnull));
	delta->day = DatumGetInt32(slot_getattr(source->sort_slot, 2, &isnull));
	delta->rows = DatumGetInt64(slot_getattr(source->sort_slot, 3, &isnull));
	/* stored with a short header: unpacked into a context of its own */
	MemoryContextReset(source->read_context);
	old = MemoryContextSwitchTo(source->read_context);
	delta->amount = DatumGetNumeric(slot_getattr(source->sort_slot, 4, &isnull));
	MemoryContextSwitchTo(old);
	return true;
}

static void
live_source_end(LiveDeltaSource *source)
{
	if (source->sort != NULL)
	{
		ExecDropSingleTupleTableSlot(source->sort_slot);
		tuplesort_end(source->sort);
		MemoryContextDelete(source->read_context);
	}
}

/* ---------------------------------------------------------------------
 * Merging into live_customers
 * ---------------------------------------------------------------------
 */

/*
 * One upsert per customer: the customer's deltas, packed as a purchase_days
 * value, merged into the stored one by purchase_days_merge (which adds rows
 * and amounts per day and drops the days whose count reaches 0).  A statement
 * that may subtract (UPDATE, DELETE) asks which customers' states are not
 * normal (purchase_days_is_normal: left without a day, or — for a delta
 * inserted as it is, for a customer the state did not have — with a day of
 * count 0); those are normalised by the same merge and, when left without a
 * day, deleted.
 */
#define LIVE_UPSERT_HEAD \
	"INSERT INTO customer_score.live_customers AS c (customer_id, days) "
#define LIVE_UPSERT_TAIL \
	" ON CONFLICT (customer_id) DO UPDATE" \
	" SET days = customer_score.purchase_days_merge(c.days, excluded.days)"
#define LIVE_UNNEST \
	"SELECT u.customer_id, u.days" \
	" FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS u(customer_id, days)"
#define LIVE_NORMAL "customer_score.purchase_days_is_normal(c.days)"

enum
{
	PLAN_ONE_ADD,				/* one customer; returns nothing */
	PLAN_ONE,					/* one customer; returns whether its state is normal */
	PLAN_MANY_ADD,				/* an array of customers; returns nothing */
	PLAN_MANY,					/* an array of customers; returns those whose state is not normal */
	PLAN_NORMALISE,				/* normalise those */
	PLAN_DELETE_EMPTY,			/* and delete those left without a day */
	PLAN_TRUNCATE,
	PLAN_COUNT
};

static const char *const plan_sql[PLAN_COUNT] = {
	LIVE_UPSERT_HEAD "VALUES ($1, $2)" LIVE_UPSERT_TAIL,
	LIVE_UPSERT_HEAD "VALUES ($1, $2)" LIVE_UPSERT_TAIL " RETURNING " LIVE_NORMAL,
	LIVE_UPSERT_HEAD LIVE_UNNEST LIVE_UPSERT_TAIL,
	"WITH changed AS (" LIVE_UPSERT_HEAD LIVE_UNNEST LIVE_UPSERT_TAIL
	" RETURNING c.customer_id, " LIVE_NORMAL " AS normal)"
	" SELECT h.customer_id FROM changed h WHERE NOT h.normal",
	"UPDATE customer_score.live_customers c"
	" SET days = customer_score.purchase_days_merge(NULL::customer_score.purchase_days, c.days)"
	" WHERE c.customer_id OPERATOR(pg_catalog.=) ANY ($1)",
	"DELETE FROM customer_score.live_customers c"
	" WHERE c.customer_id OPERATOR(pg_catalog.=) ANY ($1)"
	" AND customer_score.purchase_days_count(c.days) OPERATOR(pg_catalog.=) 0",
	"DELETE FROM customer_score.live_customers",
};

static SPIPlanPtr plans[PLAN_COUNT];
static Oid	plans_type = InvalidOid;	/* the purchase_days the plans were made for */
static char plans_typalign;

/*
 * The type customer_score.purchase_days, and plans made for it: the plans take
 * it (and its array type) as parameters, so they are made again if the
 * extension was dropped and created again in this session.
 */
static Oid
live_purchase_days_type(void)
{
	Oid			type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("purchase_days"),
									   ObjectIdGetDatum(get_namespace_oid("customer_score", false)));

	if (!OidIsValid(type))
		elog(ERROR, "type customer_score.purchase_days is missing");
	if (type != plans_type)
	{
		int16		typlen;
		bool		typbyval;

		for (int i = 0; i < PLAN_COUNT; i++)
			if (plans[i] != NULL)
			{
				SPI_freeplan(plans[i]);
				plans[i] = NULL;
			}
		plans_type = type;
		get_typlenbyvalalign(type, &typlen, &typbyval, &plans_typalign);
	}
	return type;
}

static SPIPlanPtr
live_plan(int which)
{
	if (plans[which] == NULL)
	{
		Oid			array_type = get_array_type(plans_type);
		Oid			one[2] = {INT8OID, plans_type};
		Oid			many[2] = {INT8ARRAYOID, array_type};
		SPIPlanPtr	plan;

		if (!OidIsValid(array_type))
			elog(ERROR, "type customer_score.purchase_days has no array type");
		plan = SPI_prepare(plan_sql[which], which == PLAN_TRUNCATE ? 0 :
						   which == PLAN_DELETE_EMPTY || which == PLAN_NORMALISE ? 1 : 2,
						   which == PLAN_ONE || which == PLAN_ONE_ADD ? one : many);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s", plan_sql[which], SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		plans[which] = plan;
	}
	return plans[which];
}

typedef struct LiveBatch
{
	int			used;
	int			capacity;		/* LIVE_BATCH, or fewer for a small statement */
	bool		may_empty;		/* deltas that subtract: look for customers left without a day */
	Datum	   *customer_ids;
	Datum	   *deltas;			/* purchase_days */
	MemoryContext context;		/* the deltas of the batch, reset after each flush;
								 * NULL when one flush takes all (the caller's context) */
	LiveUpsert *upsert;			/* merge without SQL (live_upsert.c), or NULL */
} LiveBatch;

static void
live_execute(SPIPlanPtr plan, Datum *args, int expected)
{
	int			rc = SPI_execute_plan(plan, args, NULL, false, 0);

	if (rc != expected)
		elog(ERROR, "live_customers update failed: %s", SPI_result_code_string(rc));
}

/*
 * Merge the batch into live_customers, then normalise the states that are not
 * normal and delete the customers left without a day.
 */
static void
live_flush(LiveBatch *batch)
{
	Datum	   *emptied_ids;		/* states not normal */
	int			emptied = 0;
	MemoryContext old;

	if (batch->used == 0)
		return;
	old = batch->context ? MemoryContextSwitchTo(batch->context) : CurrentMemoryContext;	/* the arrays too */
	emptied_ids = palloc(batch->used * sizeof(Datum));
	if (batch->upsert != NULL)
	{
		/* only deltas that add (INSERT): no state can be left without a day */
		Assert(!batch->may_empty);
		for (int i = 0; i < batch->used; i++)
			live_upsert_one(batch->upsert, DatumGetInt64(batch->customer_ids[i]), batch->deltas[i]);
	}
	else if (batch->used == 1)
	{
		Datum		args[2] = {batch->customer_ids[0], batch->deltas[0]};
		bool		isnull;

		if (!batch->may_empty)
			live_execute(live_plan(PLAN_ONE_ADD), args, SPI_OK_INSERT);
		else if (live_execute(live_plan(PLAN_ONE), args, SPI_OK_INSERT_RETURNING), SPI_processed == 1
			&& !DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
			emptied_ids[emptied++] = batch->customer_ids[0];
	}
	else
	{
		Datum		args[2];

		args[0] = PointerGetDatum(construct_array(batch->customer_ids, batch->used, INT8OID,
												  sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[1] = PointerGetDatum(construct_array(batch->deltas, batch->used, plans_type,
												  -1, false, plans_typalign));
		if (!batch->may_empty)
			live_execute(live_plan(PLAN_MANY_ADD), args, SPI_OK_INSERT);
		else
		{
			live_execute(live_plan(PLAN_MANY), args, SPI_OK_SELECT);
			for (uint64 i = 0; i < SPI_processed; i++)
			{
				bool		isnull;

				emptied_ids[emptied++] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
			}
		}
	}
	if (SPI_tuptable != NULL)
		SPI_freetuptable(SPI_tuptable);

	if (emptied > 0)
	{
		Datum		args[1];

		args[0] = PointerGetDatum(construct_array(emptied_ids, emptied, INT8OID,
												  sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		live_execute(live_plan(PLAN_NORMALISE), args, SPI_OK_UPDATE);
		live_execute(live_plan(PLAN_DELETE_EMPTY), args, SPI_OK_DELETE);
	}
	MemoryContextSwitchTo(old);
	batch->used = 0;
	if (batch->context)
		MemoryContextReset(batch->context);
}

/*
 * The changed days of the customer being read, in day order; packed into one
 * purchase_days delta when the next customer starts.
 */
typedef struct LiveCustomer
{
	int64		customer_id;
	int			used;
	int			capacity;
	DateADT    *days;
	int64	   *rows;
	Numeric    *amounts;
} LiveCustomer;

static void
live_customer_add(LiveCustomer *customer, const LiveDelta *sum)
{
	if (customer->used == customer->capacity)
	{
		customer->capacity *= 2;
		customer->days = repalloc(customer->days, customer->capacity * sizeof(DateADT));
		customer->rows = repalloc(customer->rows, customer->capacity * sizeof(int64));
		customer->amounts = repalloc(customer->amounts, customer->capacity * sizeof(Numeric));
	}
	customer->customer_id = sum->customer_id;
	customer->days[customer->used] = sum->day;
	customer->rows[customer->used] = sum->rows;
	customer->amounts[customer->used++] = sum->amount;
}

/* The customer's delta goes into the batch (flushed first when full). */
static void
live_customer_done(LiveCustomer *customer, LiveBatch *batch)
{
	MemoryContext old;

	if (customer->used == 0)
		return;
	if (batch->used == batch->capacity)
		live_flush(batch);
	old = batch->context ? MemoryContextSwitchTo(batch->context) : CurrentMemoryContext;
	batch->customer_ids[batch->used] = Int64GetDatum(customer->customer_id);
	batch->deltas[batch->used] = PointerGetDatum(purchase_days_build(customer->used, customer->days,
																	 customer->rows, customer->amounts));
	batch->used++;
	MemoryContextSwitchTo(old);
	customer->used = 0;
}

/* ---------------------------------------------------------------------
 * The trigger
 * ---------------------------------------------------------------------
 */

/* Does a key's sum change anything?  (zero is NULL when only UPDATE sums can be empty.) */
static bool
live_changes(const LiveDelta *sum, Numeric zero)
{
	return sum->rows != 0 || zero == NULL ||
		DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(sum->amount), NumericGetDatum(zero))) != 0;
}

/*
 * The trigger writes live_customers with the writer's privileges: say so, with
 * the grant that fixes it, rather than a bare "permission denied".  Returns
 * the table's oid.
 */
static Oid
live_check_privileges(TriggerData *trigdata, AclMode needed)
{
	Oid			live_customers = get_relname_relid("live_customers", get_namespace_oid("customer_score", false));

	if (!OidIsValid(live_customers))
		elog(ERROR, "customer_score.live_customers is missing");
	if (pg_class_aclmask(live_customers, GetUserId(), needed, ACLMASK_ALL) != needed)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table live_customers"),
				 errdetail("Writes to \"%s\" update customer_score.live_customers with the privileges of the writing role.",
						   RelationGetRelationName(trigdata->tg_relation)),
				 errhint("The owner of the extension can run GRANT SELECT, INSERT, UPDATE, DELETE ON customer_score.live_customers TO %s;",
						 quote_identifier(GetUserNameFromId(GetUserId(), false)))));
	return live_customers;
}

/*
 * Refuse a trigger that fires on a table track_transactions did not attach it
 * to: attached by hand, or copied by Citus (citus.enable_unsafe_triggers) onto
 * the shards of a distributed table, where each node would keep a
 * live_customers of its own and the coordinator's would silently miss rows.
 * The tracked table and its members are read once per trigger per backend
 * (track_transactions makes new triggers each time it runs).
 */
static void
live_check_tracked(TriggerData *trigdata)
{
	static Oid	checked[16];	/* a ring of the triggers found attached by it */
	static int	next = 0;
	Oid			trigger = trigdata->tg_trigger->tgoid;
	Oid			relid = RelationGetRelid(trigdata->tg_relation);
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};
	bool		isnull;

	for (int i = 0; i < lengthof(checked); i++)
		if (checked[i] == trigger)
			return;
	if (SPI_execute_with_args("SELECT EXISTS (SELECT 1 FROM customer_score.live_tracking t,"
							  " customer_score.live_members(t.relation) m"
							  " WHERE m OPERATOR(pg_catalog.=) $1::pg_catalog.regclass)",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "reading customer_score.live_tracking failed");
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) || isnull)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("customer_score does not track \"%s\"", RelationGetRelationName(trigdata->tg_relation)),
				 errdetail("The live-score trigger fired on a table that customer_score.track_transactions() did not attach it to: "
						   "attached by hand, or copied onto a shard of a Citus table, where each node would keep a live_customers of its own."),
				 errhint("Track a local table with SELECT customer_score.track_transactions('your_table'); "
						 "scores of a distributed table come from customer_score.refresh().")));
	checked[next] = trigger;
	next = (next + 1) % lengthof(checked);
}

/* The trigger's work for one statement; purchase_rule as in LiveColumns. */
static Datum
live_trigger(FunctionCallInfo fcinfo, bool purchase_rule)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TriggerEvent event;
	LiveColumns cols;
	LiveDeltaSource source;
	LiveBatch  *batch;
	LiveCustomer customer;
	LiveDelta	delta,
				sum;
	bool		have_sum = false;
	Numeric		zero;
	int64		rows;
	MemoryContext work,
				customer_context;
	Oid			live_customers;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("customer_score.track_transactions() can only be called as a trigger"),
				 errhint("Attach it with SELECT customer_score.track_transactions('your_table').")));
	event = trigdata->tg_event;
	if (!TRIGGER_FIRED_AFTER(event) || !TRIGGER_FIRED_FOR_STATEMENT(event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("customer_score.track_transactions() must be fired AFTER ... FOR EACH STATEMENT"),
				 errhint("Attach it with SELECT customer_score.track_transactions('%s').",
						 RelationGetRelationName(trigdata->tg_relation))));

	/* the arguments first: a trigger attached by hand must not even truncate the state */
	live_columns(trigdata, &cols);
	cols.purchase_rule = purchase_rule;
	live_customers = live_check_privileges(trigdata, TRIGGER_FIRED_BY_INSERT(event) ? ACL_SELECT | ACL_INSERT | ACL_UPDATE :
						  TRIGGER_FIRED_BY_TRUNCATE(event) ? ACL_DELETE :
						  ACL_SELECT | ACL_INSERT | ACL_UPDATE | ACL_DELETE);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	(void) live_purchase_days_type();	/* plans made for the current type */
	live_check_tracked(trigdata);

	if (TRIGGER_FIRED_BY_TRUNCATE(event))
	{
		live_execute(live_plan(PLAN_TRUNCATE), NULL, SPI_OK_DELETE);
		SPI_finish();
		return PointerGetDatum(NULL);
	}
	if ((TRIGGER_FIRED_BY_INSERT(event) || TRIGGER_FIRED_BY_UPDATE(event)) && trigdata->tg_newtable == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("customer_score.track_transactions() needs the transition table new_rows")));
	if ((TRIGGER_FIRED_BY_DELETE(event) || TRIGGER_FIRED_BY_UPDATE(event)) && trigdata->tg_oldtable == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("customer_score.track_transactions() needs the transition table old_rows")));

	/*
	 * Everything per statement is allocated in SPI's procedure context, which
	 * SPI_finish frees.  A large statement (sorted with tuplesort) also resets
	 * a context per customer and one per batch, so its memory stays bounded.
	 */
	rows = (trigdata->tg_newtable ? tuplestore_tuple_count(trigdata->tg_newtable) : 0) +
		(trigdata->tg_oldtable ? tuplestore_tuple_count(trigdata->tg_oldtable) : 0);
	work = CurrentMemoryContext;
	batch = palloc(sizeof(LiveBatch));
	batch->used = 0;
	batch->capacity = (int) Max(1, Min(LIVE_BATCH, rows));
	batch->customer_ids = palloc(batch->capacity * sizeof(Datum));
	batch->deltas = palloc(batch->capacity * sizeof(Datum));
	batch->may_empty = !TRIGGER_FIRED_BY_INSERT(event);
	batch->context = rows > LIVE_BATCH ? AllocSetContextCreate(work, "live_customers batch", ALLOCSET_DEFAULT_SIZES) : NULL;
	customer_context = rows > LIVE_SMALL_ROWS ? AllocSetContextCreate(work, "live_customers customer", ALLOCSET_DEFAULT_SIZES) : NULL;
	customer.used = 0;
	customer.capacity = 16;
	customer.days = palloc(customer.capacity * sizeof(DateADT));
	customer.rows = palloc(customer.capacity * sizeof(int64));
	customer.amounts = palloc(customer.capacity * sizeof(Numeric));
	/* only an UPDATE has keys whose rows net to zero (old and new rows on one day) */
	zero = TRIGGER_FIRED_BY_UPDATE(event) ? int64_to_numeric(0) : NULL;

	/*
	 * Sums per (customer_id, day) in key order; the days of one customer that
	 * change something are collected, then packed into one delta.  The sums'
	 * amounts live in customer_context (large statements), reset once the
	 * customer's delta is built.
	 */
	if (cs_customer_key_type(cols.customer_type))
		cols.keys = live_number_keys(trigdata, &cols, rows);
	/* an INSERT's deltas only add: merged without SQL where the table allows it */
	batch->upsert = batch->may_empty ? NULL : live_upsert_begin(live_customers, plans_type);
	live_source_begin(trigdata, &cols, rows, &source);
	while (live_source_next(&source, &delta))
	{
		if (have_sum && delta.customer_id == sum.customer_id && delta.day == sum.day)
		{
			sum.rows += delta.rows;
			if (customer_context)
				MemoryContextSwitchTo(customer_context);
			sum.amount = numeric_add_opt_error(sum.amount, delta.amount, NULL);
			MemoryContextSwitchTo(work);
			continue;
		}
		if (have_sum)
		{
			if (live_changes(&sum, zero))
				live_customer_add(&customer, &sum);
			if (delta.customer_id != sum.customer_id)
			{
				live_customer_done(&customer, batch);
				if (customer_context)
					MemoryContextReset(customer_context);
			}
		}
		sum = delta;
		if (customer_context)
		{
			/* a copy that survives the next read from the sort */
			sum.amount = (Numeric) MemoryContextAlloc(customer_context, VARSIZE(delta.amount));
			memcpy(sum.amount, delta.amount, VARSIZE(delta.amount));
		}
		have_sum = true;
	}
	if (have_sum && live_changes(&sum, zero))
		live_customer_add(&customer, &sum);
	live_customer_done(&customer, batch);
	live_flush(batch);
	live_source_end(&source);
	if (batch->upsert != NULL)
		live_upsert_end(batch->upsert);

	SPI_finish();
	return PointerGetDatum(NULL);
}

/* 0.1.0's trigger function: rows with a NULL amount are not counted */
PG_FUNCTION_INFO_V1(track_transactions_trigger);
Datum
track_transactions_trigger(PG_FUNCTION_ARGS)
{
	return live_trigger(fcinfo, false);
}

/* The trigger function of the purchase rule (0.2.0): a NULL amount is a purchase of value 0. */
PG_FUNCTION_INFO_V1(track_transactions_trigger_rule);
Datum
track_transactions_trigger_rule(PG_FUNCTION_ARGS)
{
	return live_trigger(fcinfo, true);
}
