/*
 * state_limit.h — how large one aggregate state may grow: customer_score.max_state_size.
 *
 * A state that holds its group's rows or distinct histories (rfm_state, bgnbd_state,
 * gamma_gamma_state and the histograms built on history.c) grows with its input.  PostgreSQL's
 * own limit for one allocation is 1 GB; ten sessions that each build a state near it can exhaust
 * a machine.  The setting bounds every such state, per group (a GROUP BY of many small states is
 * bounded by work_mem through the hash aggregate's spilling, as for built-in aggregates): a state
 * that would pass it stops with 54000 naming the setting, which a session can raise up to 1 GB.
 */
#ifndef CS_STATE_LIMIT_H
#define CS_STATE_LIMIT_H

#include "postgres.h"

/* customer_score.max_state_size, in kB */
extern int	cs_max_state_kb;

/* Register the setting; called once from _PG_init. */
extern void cs_define_state_limit(void);

/* The most elements of elem_size bytes a state of header bytes may hold under the setting. */
extern int64 cs_state_capacity_limit(Size header, Size elem_size);

/* Refuse a state of header + n * elem_size bytes past the setting (54000). */
extern void cs_check_state_limit(Size header, Size elem_size, int64 n, const char *type_name,
								 const char *counted);

#endif							/* CS_STATE_LIMIT_H */
