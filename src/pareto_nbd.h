/*
 * pareto_nbd.h — the Pareto/NBD model (Schmittlein, Morrison & Colombo 1987;
 * Fader, Hardie & Lee 2005, "A Note on Deriving the Pareto/NBD Model").
 *
 * Purchases at rate lambda ~ Gamma(r, alpha) while alive; the lifetime is
 * exponential with rate mu ~ Gamma(s, beta).
 *
 * On-disk layout of type pareto_nbd (model.h's shared layout, named):
 *   vl_len_, version (PARETO_NBD_VERSION), flags (MODEL_* in model.h), reserved,
 *   r, alpha, s, beta    the parameters, alpha and beta in the caller's time unit
 *   log_likelihood, customers   as for bgnbd
 */
#ifndef CUSTOMER_SCORE_PARETO_NBD_H
#define CUSTOMER_SCORE_PARETO_NBD_H

#include "postgres.h"

#include "model.h"

#define PARETO_NBD_VERSION 1

typedef struct ParetoNbdModel
{
	int32		vl_len_;
	uint8		version;
	uint8		flags;
	uint16		reserved;
	double		r;
	double		alpha;
	double		s;
	double		beta;
	double		log_likelihood;
	int64		customers;
} ParetoNbdModel;

StaticAssertDecl(sizeof(ParetoNbdModel) == CS_MODEL_SIZE(4), "ParetoNbdModel is model.h's layout");

#define DatumGetParetoNbdModel(d) ((ParetoNbdModel *) PG_DETOAST_DATUM(d))

extern double pareto_nbd_p_alive(const ParetoNbdModel *model, int64 frequency,
								 double recency, double t);
extern double pareto_nbd_expected_purchases(const ParetoNbdModel *model, double horizon,
											int64 frequency, double recency, double t);

#endif
