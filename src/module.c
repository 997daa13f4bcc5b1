/*
 * module.c — the shared library's one-time registration.
 *
 * customer_score: lifetime value (BG/NBD, Gamma-Gamma), action-based
 * influence and explainable composite scores, computed inside PostgreSQL.
 * The SQL objects live in schema customer_score; see README.md.
 */
#include "postgres.h"

#include "fmgr.h"

#include "state_limit.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Load time: define the extension's settings. */
void
_PG_init(void)
{
	cs_define_state_limit();
}
