/*
 * customer_keys.c — numbering text, varchar and uuid customer ids through
 * customer_score.customer_keys (see customer_keys.h).  The keys of a statement are inserted with
 * ON CONFLICT DO NOTHING, then read back in a new statement, whose snapshot also sees keys a
 * concurrent writer numbered first.
 */
#include "postgres.h"

#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

#include "customer_keys.h"
#include "interrupts.h"

/* Whether ids of this type are numbered through customer_keys. */
bool
cs_customer_key_type(Oid type)
{
	return type == TEXTOID || type == VARCHAROID || type == UUIDOID;
}

/* The key text of an id, the same as customer_id::text. */
char *
cs_customer_key_text(Datum value, Oid type)
{
	if (type == UUIDOID)
		return DatumGetCString(DirectFunctionCall1(uuid_out, value));
	return TextDatumGetCString(value);
}

/* qsort comparator of key strings */
static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Runs one statement over the keys as a text[] argument. */
static void
key_statement(const char *sql, ArrayType *keys, int expected)
{
	Oid			argtype = TEXTARRAYOID;
	Datum		arg = PointerGetDatum(keys);
	int			rc = SPI_execute_with_args(sql, 1, &argtype, &arg, NULL, false, 0);

	if (rc != expected)
		elog(ERROR, "customer key statement failed: %s", SPI_result_code_string(rc));
}

/* Numbers the keys: the distinct ones inserted where new, then every one read back. */
void
cs_key_map_build(CsKeyMap *map, char **keys, int n)
{
	Datum	   *texts;
	ArrayType  *array;
	int			distinct = 0;

	cs_sort(keys, n, sizeof(char *), key_cmp);
	for (int i = 0; i < n; i++)
		if (distinct == 0 || strcmp(keys[i], keys[distinct - 1]) != 0)
			keys[distinct++] = keys[i];
	map->n = distinct;
	map->keys = keys;
	map->ids = palloc0(Max(distinct, 1) * sizeof(int64));
	if (distinct == 0)
		return;
	texts = palloc(distinct * sizeof(Datum));
	for (int i = 0; i < distinct; i++)
		texts[i] = CStringGetTextDatum(keys[i]);
	array = construct_array(texts, distinct, TEXTOID, -1, false, TYPALIGN_INT);
	key_statement("INSERT INTO customer_score.customer_keys (customer_key) SELECT pg_catalog.unnest($1)"
				  " ON CONFLICT (customer_key) DO NOTHING", array, SPI_OK_INSERT);
	key_statement("SELECT k.customer_key, k.customer_id FROM customer_score.customer_keys k"
				  " WHERE k.customer_key OPERATOR(pg_catalog.=) ANY ($1)", array, SPI_OK_SELECT);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		char	   *key = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
		char	  **found = bsearch(&key, map->keys, map->n, sizeof(char *), key_cmp);

		if (found != NULL)
			map->ids[found - map->keys] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));
	}
	for (int i = 0; i < distinct; i++)
		if (map->ids[i] == 0)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("customer key \"%s\" was numbered by a concurrent transaction this one cannot see", keys[i]),
					 errhint("Retry the transaction.")));
}

/* The number of a key of the map (every key of the statement is there). */
int64
cs_key_map_lookup(const CsKeyMap *map, const char *key)
{
	char	  **found = bsearch(&key, map->keys, map->n, sizeof(char *), key_cmp);

	if (found == NULL)
		elog(ERROR, "customer key \"%s\" missing from the statement's key map", key);
	return map->ids[found - map->keys];
}
