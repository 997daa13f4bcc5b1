/*
 * action_weights.c — weights of actions (see action_weights.h) and the
 * trigger that keeps the user's edits of customer_score.action_weights
 * apart from the shipped defaults.
 *
 * Why the trigger: the table is an extension configuration table, and
 * pg_dump saves only the rows its filter selects (WHERE NOT is_default).
 * Rows the user inserted or changed must therefore carry is_default = false,
 * whoever wrote them; and when such a row is restored into a database where
 * CREATE EXTENSION has just inserted the shipped row with the same
 * (channel, kind), the shipped row must make way, or the restore would fail
 * on the primary key.  So, before every INSERT or UPDATE: is_default is set
 * to false, and a shipped row with the new (channel, kind) is deleted.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "action_reader.h"
#include "action_weights.h"
#include "id_map.h"
#include "validate.h"

struct CsWeights
{
	IdMap	   *map;			/* (channel code, kind code) -> index into weight */
	double	   *weight;
	int32		star;			/* code of '*', or -1 */
};

static inline int64
pair_key(int32 channel, int32 kind)
{
	return (int64) (((uint64) (uint32) channel << 32) | (uint32) kind);
}

CsWeights *
cs_weights_load(MemoryContext cxt, CsStrings *strings)
{
	CsColumn	columns[] = {
		{"channel", CS_COL_TEXT, CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{"kind", CS_COL_TEXT, CS_COL_REQUIRED | CS_COL_NOT_NULL},
		{"weight", CS_COL_FLOAT8, CS_COL_REQUIRED | CS_COL_NOT_NULL},
	};
	CsQuery		query = {
		.what = "action_weights",
		.sql = "SELECT channel, kind, weight FROM customer_score.action_weights",
		.columns = columns,
		.ncolumns = lengthof(columns),
		.key_column = -1,
		.cxt = cxt,
		.strings = strings,
	};
	CsWeights  *weights;
	int32	   *channel;
	int32	   *kind;
	double	   *weight;

	cs_read_query(&query);
	channel = CS_COL_CODES(&columns[0]);
	kind = CS_COL_CODES(&columns[1]);
	weight = CS_COL_FLOAT8S(&columns[2]);

	weights = MemoryContextAlloc(cxt, sizeof(CsWeights));
	weights->map = idmap_new(cxt, query.nrows);
	weights->weight = weight;
	for (int64 i = 0; i < query.nrows; i++)
	{
		bool		found;
		IdMapEntry *entry;

		/* the table's CHECK says so; a changed table must not poison results */
		if (!isfinite(weight[i]) || weight[i] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("action weight for channel \"%s\", kind \"%s\" must be a finite non-negative number, got %s",
							cs_strings_get(strings, channel[i]), cs_strings_get(strings, kind[i]),
							cs_format_double(weight[i], (char[DOUBLE_SHORTEST_DECIMAL_LEN]) {0}))));
		entry = idmap_insert(weights->map, pair_key(channel[i], kind[i]), &found);
		entry->index = (int32) i;	/* the primary key makes pairs unique */
	}
	weights->star = cs_strings_lookup(strings, "*");
	return weights;
}

static inline bool
probe(const CsWeights *weights, int32 channel, int32 kind, double *out)
{
	IdMapEntry *entry;

	if (channel < 0 || kind < 0)
		return false;
	entry = idmap_lookup(weights->map, pair_key(channel, kind));
	if (entry == NULL)
		return false;
	*out = weights->weight[entry->index];
	return true;
}

double
cs_weights_lookup(const CsWeights *weights, int32 channel, int32 kind)
{
	double		w;
	int32		star = weights->star;

	if (probe(weights, channel, kind, &w) ||
		probe(weights, star, kind, &w) ||
		probe(weights, channel, star, &w) ||
		probe(weights, star, star, &w))
		return w;
	return 0.0;
}

/*
 * BEFORE INSERT OR UPDATE FOR EACH ROW trigger on action_weights: mark the
 * row as the user's and let it replace a shipped row with the same key.
 */
PG_FUNCTION_INFO_V1(action_weights_edit);
Datum
action_weights_edit(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	tuple;
	int			att_channel,
				att_kind,
				att_default;
	bool		key_changed = true;
	Datum		key[2];
	bool		key_null[2];
	Datum		repl_value = BoolGetDatum(false);
	bool		repl_null = false;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		elog(ERROR, "action_weights_edit must be fired BEFORE INSERT OR UPDATE FOR EACH ROW");

	rel = trigdata->tg_relation;
	desc = RelationGetDescr(rel);
	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple : trigdata->tg_trigtuple;
	att_channel = SPI_fnumber(desc, "channel");
	att_kind = SPI_fnumber(desc, "kind");
	att_default = SPI_fnumber(desc, "is_default");
	if (att_channel <= 0 || att_kind <= 0 || att_default <= 0)
		elog(ERROR, "action_weights_edit: table %s lacks channel, kind or is_default",
			 RelationGetRelationName(rel));

	key[0] = heap_getattr(tuple, att_channel, desc, &key_null[0]);
	key[1] = heap_getattr(tuple, att_kind, desc, &key_null[1]);

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		HeapTuple	old = trigdata->tg_trigtuple;
		bool		old_null[2];
		Datum		old_key[2];

		old_key[0] = heap_getattr(old, att_channel, desc, &old_null[0]);
		old_key[1] = heap_getattr(old, att_kind, desc, &old_null[1]);
		key_changed = false;
		for (int i = 0; i < 2; i++)
			if (key_null[i] != old_null[i] ||
				(!key_null[i] &&
				 !DatumGetBool(DirectFunctionCall2Coll(texteq, C_COLLATION_OID, key[i], old_key[i]))))
				key_changed = true;
	}

	if (key_changed && !key_null[0] && !key_null[1])
	{
		char	   *relname = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
														 RelationGetRelationName(rel));
		char	   *sql = psprintf("DELETE FROM %s WHERE channel = $1 AND kind = $2 AND is_default",
								   relname);
		Oid			types[2] = {TEXTOID, TEXTOID};
		int			rc;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		rc = SPI_execute_with_args(sql, 2, types, key, NULL, false, 0);
		if (rc != SPI_OK_DELETE)
			elog(ERROR, "deleting the shipped action weight failed: %s", SPI_result_code_string(rc));
		SPI_finish();
	}

	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, 1, &att_default,
													 &repl_value, &repl_null));
}
