/*
 * validation.h — what the bootstrap (bootstrap.c) reuses of the model files: the spend fit and
 * CLV.  The purchase model's fit and predictions come through its CountingPredictions.
 */
#ifndef CUSTOMER_SCORE_VALIDATION_H
#define CUSTOMER_SCORE_VALIDATION_H

#include "postgres.h"

#include "fmgr.h"

#include "counting.h"
#include "gamma_gamma.h"

/* fmgr entry point of the spend fit, which the bootstrap calls on its own states */
extern Datum gamma_gamma_fit_finalfn(PG_FUNCTION_ARGS);

/* clv (clv.c) of a counting model and a spend model, for a checked customer history */
extern double counting_clv(const CountingPredictions *p, const void *purchases,
						   const GammaGammaModel *spend_model, int32 frequency, double recency,
						   double t, double monetary, double horizon, double discount_rate,
						   double step);

#endif
