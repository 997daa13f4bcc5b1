/*
 * validation.h — what the bootstrap (bootstrap.c) reuses of the model files: the fits and CLV.
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

#endif
