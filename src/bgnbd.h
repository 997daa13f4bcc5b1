/*
 * bgnbd.h — the BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your
 * Customers the Easy Way").
 *
 * On-disk layout of type bgnbd (model.h's shared layout, named):
 *   vl_len_, version (BGNBD_VERSION), flags (MODEL_* in model.h), reserved,
 *   r, alpha, a, b       the parameters, alpha in the caller's time unit
 *   log_likelihood       of the fit (meaningful when MODEL_FITTED)
 *   customers            customers the fit saw (meaningful when MODEL_FITTED)
 */
#ifndef CUSTOMER_SCORE_BGNBD_H
#define CUSTOMER_SCORE_BGNBD_H

#include "postgres.h"

#include "counting.h"
#include "model.h"

#define BGNBD_VERSION 1

typedef struct BgnbdModel
{
	int32		vl_len_;
	uint8		version;
	uint8		flags;
	uint16		reserved;
	double		r;
	double		alpha;
	double		a;
	double		b;
	double		log_likelihood;
	int64		customers;
} BgnbdModel;

StaticAssertDecl(sizeof(BgnbdModel) == CS_MODEL_SIZE(4), "BgnbdModel is model.h's layout");

#define DatumGetBgnbdModel(d) ((BgnbdModel *) PG_DETOAST_DATUM(d))

/* BG/NBD's predictions for the generic counting-model code (clv, the SQL predictions) */
extern const CountingPredictions bgnbd_predictions;

extern double bgnbd_expected_purchases(const BgnbdModel *model, double horizon,
									   int64 frequency, double recency, double t);
extern double bgnbd_p_alive(const BgnbdModel *model, int64 frequency,
							double recency, double t);

extern void bg_expected_if_active_at(double r, double alpha, double a, double b, double x, double t,
									 const double *horizons, int n, double *out);
extern double bg_expected_if_active(double r, double alpha, double a, double b, double horizon,
									 double x, double t);
/* P(NB >= x) of the purchases in t of a customer who never drops out (bgnbd_pmf.c) */
extern double bg_negative_binomial_tail(double r, double x, double log_q, double log_p0);
extern double bg_family_pmf(double r, double alpha, double a, double b, int shift, double t,
							int32 n);
extern double bg_family_p_none(double p_alive, double r, double alpha, double horizon, double x,
							   double t);

#endif
