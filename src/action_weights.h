/*
 * action_weights.h — the weight of an action, from table
 * customer_score.action_weights (channel, kind, weight, description,
 * is_default).
 *
 * The table is read once per call through SPI (it is small) into a hash
 * keyed by the interned (channel, kind) codes the actions were read with, so
 * a lookup costs at most four probes.  Lookup order: (channel, kind),
 * ('*', kind), (channel, '*'), ('*', '*'); no match weighs 0.  A NULL
 * channel or kind is matched by '*' rows only.
 */
#ifndef CUSTOMER_SCORE_ACTION_WEIGHTS_H
#define CUSTOMER_SCORE_ACTION_WEIGHTS_H

#include "postgres.h"

#include "action_reader.h"

typedef struct CsWeights CsWeights;

/* Read the table (the caller is connected to SPI); codes are shared with strings. */
extern CsWeights *cs_weights_load(MemoryContext cxt, CsStrings *strings);
extern double cs_weights_lookup(const CsWeights *weights, int32 channel, int32 kind);

#endif
