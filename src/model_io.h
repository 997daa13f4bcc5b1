/*
 * model_io.h — text, binary and JSON forms shared by the model types.
 *
 * A model's text form is "(name=value, ..., log_likelihood=..., customers=...,
 * converged=true)": the parameters first, then what the fit reported (absent
 * for a model written by hand from published parameters).  Parameters are
 * printed in the shortest form that reads back exactly.
 */
#ifndef CUSTOMER_SCORE_MODEL_IO_H
#define CUSTOMER_SCORE_MODEL_IO_H

#include "postgres.h"
#include "lib/stringinfo.h"

#include "model.h"

/*
 * The largest customer count a model carries: 2^53.  Every integer up to it is exact in double
 * precision, so the count reads back exactly from the text form, whose numbers are doubles.
 */
#define CS_MODEL_MAX_CUSTOMERS INT64CONST(9007199254740992)

extern void cs_model_parse(const CsModelSpec *spec, const char *input, CsModelValues *out);
extern char *cs_model_format(const CsModelSpec *spec, const CsModelValues *values);
extern void cs_model_recv(const CsModelSpec *spec, StringInfo buf, CsModelValues *out);
extern bytea *cs_model_send(const CsModelSpec *spec, const CsModelValues *values);
extern Datum cs_model_jsonb(const CsModelSpec *spec, const CsModelValues *values);
extern void cs_model_check_params(const CsModelSpec *spec, const double *params);
extern int64 cs_model_customers(int64 customers);

#endif
