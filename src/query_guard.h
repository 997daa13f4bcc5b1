/*
 * query_guard.h — queries the extension runs on somebody's behalf are read-only.
 *
 * influence and its relatives take the text of a query, and refresh reads the sources that
 * set_source configured.  Either kind of query must only read: a data-modifying statement
 * (INSERT/UPDATE/DELETE ... RETURNING, a WITH that modifies, SELECT ... FOR UPDATE) is refused
 * before it runs, and while it runs the transaction is read-only, so a function it calls
 * cannot write either (25006 read_only_sql_transaction in both cases).
 */
#ifndef CS_QUERY_GUARD_H
#define CS_QUERY_GUARD_H

#include "postgres.h"

#include "executor/spi.h"

/* Refuse a prepared plan that is not one plain, read-only SELECT; what names the query. */
extern void cs_require_read_only(SPIPlanPtr plan, const char *what);

/* SPI_execute_plan_extended with the transaction read-only for the duration. */
extern void cs_execute_read_only(SPIPlanPtr plan, const SPIExecuteOptions *options, const char *what);

#endif							/* CS_QUERY_GUARD_H */
