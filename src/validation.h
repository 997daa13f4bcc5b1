/*
 * validation.h — the model checks of issue 12 that C code shares: the BG/NBD period
 * probability (bgnbd_pmf.c), used by the period-transactions histogram and the tests, and the
 * fits and CLV that the bootstrap (bootstrap.c) reuses.
 */
#ifndef CUSTOMER_SCORE_VALIDATION_H
#define CUSTOMER_SCORE_VALIDATION_H

#include "postgres.h"

#include "fmgr.h"

#include "bgnbd.h"

/* fmgr entry points of the model files that the bootstrap calls on its own models and states */
extern Datum bgnbd_fit_finalfn(PG_FUNCTION_ARGS);
extern Datum gamma_gamma_fit_finalfn(PG_FUNCTION_ARGS);
extern Datum clv_bgnbd_gamma_gamma(PG_FUNCTION_ARGS);

/* P(X(t) = frequency): exactly frequency repeat purchases in the first t time units */
extern double bgnbd_probability(const BgnbdModel *model, int64 frequency, double t);

#endif
