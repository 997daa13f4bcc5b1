/*
 * action_reader.h — the one reader for user-supplied queries.
 *
 * influence, influence_trace, the touches of multi-touch attribution,
 * influence_rank and the action_weights lookup all take their input as the
 * text of a query (the pgRouting convention), so they work on any schema.
 * This reader runs such a query through SPI with the caller's privileges,
 * read-only (query_guard.h: data-modifying statements are refused),
 * finds the columns it needs by name, checks their types, and streams the
 * rows straight from the executor into compact arrays (struct of arrays,
 * grown by doubling) in a memory context the caller owns and frees.
 *
 * Column kinds and the SQL types each accepts:
 *   CS_COL_INT8         bigint; also smallint and integer
 *   CS_COL_FLOAT8       double precision; also real, numeric, smallint,
 *                       integer and bigint (converted to double precision)
 *   CS_COL_TIMESTAMPTZ  timestamp with time zone only (a timestamp without
 *                       time zone would need a time zone we would have to
 *                       guess)
 *   CS_COL_TEXT         text or varchar; values are interned in a CsStrings
 *                       table and stored as int32 codes (-1 for NULL)
 *   CS_COL_BOOL         boolean only, stored as int64 0 or 1 (read with
 *                       CS_COL_INT8S)
 *
 * Errors (each names the query and the column):
 *   42703 undefined_column       a required column is missing
 *   42702 ambiguous_column       a column name appears twice
 *   42804 datatype_mismatch      a column has a type we do not accept
 *   22004 null_value_not_allowed NULL in a NOT NULL column (with the row's
 *                                key when the key column is known)
 *   54000 program_limit_exceeded more than CS_READER_MAX_ROWS rows
 *   25006 read_only_sql_transaction a query that writes or locks rows
 */
#ifndef CUSTOMER_SCORE_ACTION_READER_H
#define CUSTOMER_SCORE_ACTION_READER_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* indexes are int32 throughout the graph kernels */
#define CS_READER_MAX_ROWS ((int64) 1 << 30)

typedef enum CsColumnKind
{
	CS_COL_INT8,
	CS_COL_FLOAT8,
	CS_COL_TIMESTAMPTZ,
	CS_COL_TEXT,
	CS_COL_BOOL
} CsColumnKind;

/* CsColumn.flags */
#define CS_COL_REQUIRED		0x01	/* missing column: 42703 */
#define CS_COL_NOT_NULL		0x02	/* NULL value: 22004 */
#define CS_COL_KEEP_NULLS	0x04	/* record NULLs in nulls[] (else 0 / -1) */

typedef struct CsColumn
{
	const char *name;
	CsColumnKind kind;
	int			flags;

	/* filled in by the reader */
	bool		present;		/* the query has this column */
	int			attno;			/* 0-based position in the query's result */
	Oid			type;			/* its SQL type */
	void	   *values;			/* int64[], double[], TimestampTz[] or int32[] */
	bool	   *nulls;			/* with CS_COL_KEEP_NULLS only */
} CsColumn;

#define CS_COL_INT8S(col) ((int64 *) (col)->values)
#define CS_COL_FLOAT8S(col) ((double *) (col)->values)
#define CS_COL_TIMES(col) ((TimestampTz *) (col)->values)
#define CS_COL_CODES(col) ((int32 *) (col)->values)

/* Interned strings: every distinct text value once, numbered from 0. */
typedef struct CsStrings CsStrings;

typedef struct CsQuery
{
	const char *what;			/* "actions", "touches", ... for messages */
	const char *sql;
	CsColumn   *columns;
	int			ncolumns;
	int			key_column;		/* an int8 column naming rows in errors, or -1 */
	MemoryContext cxt;			/* where the arrays live */
	CsStrings  *strings;		/* where text values are interned */

	/* filled in by the reader */
	int64		nrows;
	int64		capacity;
} CsQuery;

extern CsStrings *cs_strings_create(MemoryContext cxt);
extern int32 cs_strings_intern(CsStrings *strings, const char *str, int len);
extern int32 cs_strings_lookup(CsStrings *strings, const char *str);
extern const char *cs_strings_get(const CsStrings *strings, int32 code);
extern int32 cs_strings_count(const CsStrings *strings);

/*
 * Run query->sql and fill the columns.  The caller must be connected to SPI
 * (SPI_connect); the arrays are allocated in query->cxt, which must outlive
 * the SPI connection.
 */
extern void cs_read_query(CsQuery *query);

/* Connect to SPI, run sql into columns (no key column) in the current context, disconnect. */
extern int64 cs_read_columns(const char *what, const char *sql, CsColumn *columns, int ncolumns);

/* Look a column up by name in a CsQuery's spec (elog if it is not there). */
extern CsColumn *cs_query_column(CsQuery *query, const char *name);

#endif
