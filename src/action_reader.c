/*
 * action_reader.c — run a user-supplied query and stream its rows into
 * compact arrays (see action_reader.h).
 *
 * The query is prepared once (which rejects a text holding several
 * statements) and executed with a DestReceiver of our own: the executor hands
 * every row straight to reader_receive, which converts the columns we need
 * and appends them to the arrays.  Nothing is materialised twice, there is
 * no per-batch tuple copy as with a cursor, and the executor may still use a
 * parallel plan for the user's query.  The query runs as the current user
 * (the functions that call this reader are not SECURITY DEFINER).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/tupdesc.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/dest.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "action_reader.h"
#include "query_guard.h"

#define READER_INITIAL_CAPACITY 1024

/* ---------------------------------------------------------------------------
 * Interned strings
 * ---------------------------------------------------------------------------
 */
typedef struct CsStringKey
{
	const char *str;
	uint32		len;
} CsStringKey;

typedef struct CsStringEntry
{
	CsStringKey key;
	int32		code;
	uint32		hash;
	char		status;
} CsStringEntry;

#define SH_PREFIX csstr
#define SH_ELEMENT_TYPE CsStringEntry
#define SH_KEY_TYPE CsStringKey
#define SH_KEY key
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) (k).str, (int) (k).len)
#define SH_EQUAL(tb, a, b) ((a).len == (b).len && memcmp((a).str, (b).str, (a).len) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

struct CsStrings
{
	MemoryContext cxt;
	csstr_hash *table;
	char	  **values;			/* code -> NUL-terminated copy */
	int32		count;
	int32		capacity;
};

CsStrings *
cs_strings_create(MemoryContext cxt)
{
	CsStrings  *strings = MemoryContextAllocZero(cxt, sizeof(CsStrings));

	strings->cxt = cxt;
	strings->table = csstr_create(cxt, 64, NULL);
	strings->capacity = 64;
	strings->values = MemoryContextAlloc(cxt, sizeof(char *) * strings->capacity);
	return strings;
}

int32
cs_strings_intern(CsStrings *strings, const char *str, int len)
{
	CsStringKey key = {str, (uint32) len};
	CsStringEntry *entry;
	bool		found;

	entry = csstr_insert(strings->table, key, &found);
	if (!found)
	{
		char	   *copy = MemoryContextAlloc(strings->cxt, len + 1);

		memcpy(copy, str, len);
		copy[len] = '\0';
		entry->key.str = copy;
		if (strings->count == strings->capacity)
		{
			if (strings->capacity >= PG_INT32_MAX / 2)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("too many distinct text values in one query")));
			strings->capacity *= 2;
			strings->values = repalloc_huge(strings->values,
											sizeof(char *) * (Size) strings->capacity);
		}
		entry->code = strings->count;
		strings->values[strings->count++] = copy;
	}
	return entry->code;
}

/* the code of str, or -1 when it was never interned */
int32
cs_strings_lookup(CsStrings *strings, const char *str)
{
	CsStringKey key = {str, (uint32) strlen(str)};
	CsStringEntry *entry = csstr_lookup(strings->table, key);

	return entry ? entry->code : -1;
}

const char *
cs_strings_get(const CsStrings *strings, int32 code)
{
	if (code < 0)
		return NULL;
	Assert(code < strings->count);
	return strings->values[code];
}

int32
cs_strings_count(const CsStrings *strings)
{
	return strings->count;
}

/* ---------------------------------------------------------------------------
 * Column specs
 * ---------------------------------------------------------------------------
 */
static const char *
kind_type_name(CsColumnKind kind)
{
	switch (kind)
	{
		case CS_COL_INT8:
			return "bigint";
		case CS_COL_FLOAT8:
			return "double precision";
		case CS_COL_TIMESTAMPTZ:
			return "timestamp with time zone";
		case CS_COL_TEXT:
			return "text";
		case CS_COL_BOOL:
			return "boolean";
	}
	return "?";
}

/* what a cast in the hint should say */
static const char *
kind_cast_name(CsColumnKind kind)
{
	switch (kind)
	{
		case CS_COL_INT8:
			return "bigint";
		case CS_COL_FLOAT8:
			return "float8";
		case CS_COL_TIMESTAMPTZ:
			return "timestamptz";
		case CS_COL_TEXT:
			return "text";
		case CS_COL_BOOL:
			return "boolean";
	}
	return "?";
}

static bool
kind_accepts(CsColumnKind kind, Oid type)
{
	switch (kind)
	{
		case CS_COL_INT8:
			return type == INT8OID || type == INT4OID || type == INT2OID;
		case CS_COL_FLOAT8:
			return type == FLOAT8OID || type == FLOAT4OID || type == NUMERICOID ||
				type == INT8OID || type == INT4OID || type == INT2OID;
		case CS_COL_TIMESTAMPTZ:
			return type == TIMESTAMPTZOID;
		case CS_COL_TEXT:
			return type == TEXTOID || type == VARCHAROID;
		case CS_COL_BOOL:
			return type == BOOLOID;
	}
	return false;
}

/* "id bigint, customer_id bigint, ... and optionally topic text" */
static char *
describe_columns(const CsQuery *query)
{
	StringInfoData buf;
	bool		first = true;

	initStringInfo(&buf);
	for (int i = 0; i < query->ncolumns; i++)
	{
		const CsColumn *col = &query->columns[i];

		if (!(col->flags & CS_COL_REQUIRED))
			continue;
		appendStringInfo(&buf, "%s%s %s", first ? "" : ", ", col->name, kind_type_name(col->kind));
		first = false;
	}
	for (int i = 0, n = 0; i < query->ncolumns; i++)
	{
		const CsColumn *col = &query->columns[i];

		if (col->flags & CS_COL_REQUIRED)
			continue;
		appendStringInfo(&buf, "%s%s %s", n++ == 0 ? ", and optionally " : ", ",
						 col->name, kind_type_name(col->kind));
	}
	return buf.data;
}

CsColumn *
cs_query_column(CsQuery *query, const char *name)
{
	for (int i = 0; i < query->ncolumns; i++)
		if (strcmp(query->columns[i].name, name) == 0)
			return &query->columns[i];
	elog(ERROR, "no column \"%s\" in the %s query spec", name, query->what);
	return NULL;				/* keep the compiler quiet */
}

/* ---------------------------------------------------------------------------
 * The DestReceiver
 * ---------------------------------------------------------------------------
 */
typedef struct ReaderDest
{
	DestReceiver pub;
	CsQuery    *query;
	bool		started;
	MemoryContext rowcxt;		/* conversions that allocate (numeric, detoast) */
} ReaderDest;

static Size
kind_width(CsColumnKind kind)
{
	return kind == CS_COL_TEXT ? sizeof(int32) : sizeof(int64);
}

static void
reader_grow(CsQuery *query, int64 capacity)
{
	for (int i = 0; i < query->ncolumns; i++)
	{
		CsColumn   *col = &query->columns[i];
		Size		width = kind_width(col->kind);

		if (!col->present)
			continue;
		if (col->values == NULL)
			col->values = MemoryContextAllocHuge(query->cxt, width * capacity);
		else
			col->values = repalloc_huge(col->values, width * capacity);
		if (col->flags & CS_COL_KEEP_NULLS)
		{
			if (col->nulls == NULL)
				col->nulls = MemoryContextAllocHuge(query->cxt, sizeof(bool) * capacity);
			else
				col->nulls = repalloc_huge(col->nulls, sizeof(bool) * capacity);
		}
	}
	query->capacity = capacity;
}

static void
reader_startup(DestReceiver *self, int operation, TupleDesc desc)
{
	ReaderDest *dest = (ReaderDest *) self;
	CsQuery    *query = dest->query;

	if (dest->started)
		elog(ERROR, "the %s query started twice", query->what);
	dest->started = true;

	for (int i = 0; i < query->ncolumns; i++)
	{
		CsColumn   *col = &query->columns[i];

		col->present = false;
		for (int a = 0; a < desc->natts; a++)
		{
			Form_pg_attribute attr = TupleDescAttr(desc, a);

			if (attr->attisdropped || strcmp(NameStr(attr->attname), col->name) != 0)
				continue;
			if (col->present)
				ereport(ERROR,
						(errcode(ERRCODE_AMBIGUOUS_COLUMN),
						 errmsg("the %s query returns column \"%s\" more than once",
								query->what, col->name),
						 errhint("Give each column of the query a distinct name.")));
			col->present = true;
			col->attno = a;
			col->type = getBaseType(attr->atttypid);
		}
		if (!col->present)
		{
			if (col->flags & CS_COL_REQUIRED)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("the %s query has no column \"%s\"", query->what, col->name),
						 errdetail("The %s query must return columns %s (found by name, in any order).",
								   query->what, describe_columns(query))));
			continue;
		}
		if (!kind_accepts(col->kind, col->type))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of the %s query has type %s, expected %s",
							col->name, query->what, format_type_be(col->type),
							kind_type_name(col->kind)),
					 errhint("Cast it in the query, e.g. %s::%s.",
							 col->name, kind_cast_name(col->kind))));
	}
	reader_grow(query, READER_INITIAL_CAPACITY);
}

static void
report_null(const CsQuery *query, const CsColumn *col, bool have_key, int64 key)
{
	if (have_key)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("column \"%s\" of the %s query is NULL for %s " INT64_FORMAT,
						col->name, query->what, query->columns[query->key_column].name, key)));
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("column \"%s\" of the %s query is NULL in row " INT64_FORMAT,
					col->name, query->what, query->nrows + 1),
			 errhint("Filter such rows out in the query, e.g. WHERE %s IS NOT NULL.", col->name)));
}

static int64
datum_to_int64(Datum d, Oid type)
{
	switch (type)
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		default:
			return DatumGetInt64(d);
	}
}

static double
datum_to_float8(Datum d, Oid type)
{
	switch (type)
	{
		case FLOAT8OID:
			return DatumGetFloat8(d);
		case FLOAT4OID:
			return (double) DatumGetFloat4(d);
		case NUMERICOID:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8, d));
		case INT2OID:
			return (double) DatumGetInt16(d);
		case INT4OID:
			return (double) DatumGetInt32(d);
		default:
			return (double) DatumGetInt64(d);
	}
}

static bool
reader_receive(TupleTableSlot *slot, DestReceiver *self)
{
	ReaderDest *dest = (ReaderDest *) self;
	CsQuery    *query = dest->query;
	int64		row = query->nrows;
	bool		have_key = false;
	int64		key = 0;
	MemoryContext oldcxt;

	CHECK_FOR_INTERRUPTS();

	if (row == query->capacity)
	{
		if (row >= CS_READER_MAX_ROWS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the %s query returned more than " INT64_FORMAT " rows",
							query->what, CS_READER_MAX_ROWS)));
		reader_grow(query, Min(query->capacity * 2, CS_READER_MAX_ROWS));
	}

	slot_getallattrs(slot);
	oldcxt = MemoryContextSwitchTo(dest->rowcxt);

	/* the key first, so that other columns' errors can name the row */
	if (query->key_column >= 0)
	{
		CsColumn   *col = &query->columns[query->key_column];

		if (col->present && !slot->tts_isnull[col->attno])
		{
			have_key = true;
			key = datum_to_int64(slot->tts_values[col->attno], col->type);
		}
	}

	for (int i = 0; i < query->ncolumns; i++)
	{
		CsColumn   *col = &query->columns[i];
		Datum		d;
		bool		isnull;

		if (!col->present)
			continue;
		d = slot->tts_values[col->attno];
		isnull = slot->tts_isnull[col->attno];
		if (isnull && (col->flags & CS_COL_NOT_NULL))
			report_null(query, col, have_key, key);
		if (col->nulls)
			col->nulls[row] = isnull;

		switch (col->kind)
		{
			case CS_COL_INT8:
				CS_COL_INT8S(col)[row] = isnull ? 0 : datum_to_int64(d, col->type);
				break;
			case CS_COL_FLOAT8:
				CS_COL_FLOAT8S(col)[row] = isnull ? 0.0 : datum_to_float8(d, col->type);
				break;
			case CS_COL_TIMESTAMPTZ:
				CS_COL_TIMES(col)[row] = isnull ? 0 : DatumGetTimestampTz(d);
				break;
			case CS_COL_BOOL:
				CS_COL_INT8S(col)[row] = !isnull && DatumGetBool(d) ? 1 : 0;
				break;
			case CS_COL_TEXT:
				if (isnull)
					CS_COL_CODES(col)[row] = -1;
				else
				{
					text	   *t = DatumGetTextPP(d);

					CS_COL_CODES(col)[row] = cs_strings_intern(query->strings, VARDATA_ANY(t),
															   VARSIZE_ANY_EXHDR(t));
				}
				break;
		}
	}
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(dest->rowcxt);
	query->nrows = row + 1;
	return true;
}

static void
reader_shutdown(DestReceiver *self)
{
}

static void
reader_destroy(DestReceiver *self)
{
}

void
cs_read_query(CsQuery *query)
{
	ReaderDest	dest;
	SPIExecuteOptions options;
	SPIPlanPtr	plan;
	MemoryContext callercxt = CurrentMemoryContext;

	query->nrows = 0;
	query->capacity = 0;
	for (int i = 0; i < query->ncolumns; i++)
	{
		query->columns[i].values = NULL;
		query->columns[i].nulls = NULL;
		query->columns[i].present = false;
	}

	plan = SPI_prepare_cursor(query->sql, 0, NULL, CURSOR_OPT_PARALLEL_OK);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare_cursor failed for the %s query: %s",
			 query->what, SPI_result_code_string(SPI_result));
	if (!SPI_is_cursor_plan(plan))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the %s query must be a single statement that returns rows", query->what),
				 errdetail("The %s query must return columns %s.", query->what,
						   describe_columns(query))));
	cs_require_read_only(plan, query->what);

	memset(&dest, 0, sizeof(dest));
	dest.pub.receiveSlot = reader_receive;
	dest.pub.rStartup = reader_startup;
	dest.pub.rShutdown = reader_shutdown;
	dest.pub.rDestroy = reader_destroy;
	dest.pub.mydest = DestNone;
	dest.query = query;
	dest.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "customer_score reader row",
										ALLOCSET_SMALL_SIZES);

	memset(&options, 0, sizeof(options));
	options.read_only = false;
	options.dest = (DestReceiver *) &dest;
	cs_execute_read_only(plan, &options, query->what);
	if (!dest.started)
		elog(ERROR, "the %s query returned no result description", query->what);

	MemoryContextDelete(dest.rowcxt);
	SPI_freeplan(plan);
	/* SPI calls leave SPI's procedure context current: give the caller its own back */
	MemoryContextSwitchTo(callercxt);
}

/*
 * Run sql on a connection of its own and fill the columns, in the current memory context,
 * without a key column or interned texts: the reader of the model checks (holdout.c,
 * tracking.c, bootstrap.c).  Returns the rows read.
 */
int64
cs_read_columns(const char *what, const char *sql, CsColumn *columns, int ncolumns)
{
	CsQuery		query = {
		.what = what,
		.sql = sql,
		.columns = columns,
		.ncolumns = ncolumns,
		.key_column = -1,
		.cxt = CurrentMemoryContext,
	};

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	query.strings = cs_strings_create(CurrentMemoryContext);
	cs_read_query(&query);
	SPI_finish();
	return query.nrows;
}
