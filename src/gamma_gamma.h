/*
 * gamma_gamma.h — the Gamma-Gamma spend model (Fader, Hardie & Lee 2005b;
 * Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value").
 *
 * On-disk layout of type gamma_gamma (model.h's shared layout, named):
 *   vl_len_, version (GAMMA_GAMMA_VERSION), flags (MODEL_* in model.h), reserved,
 *   p, q, v              the parameters, v in the caller's currency
 *   log_likelihood, customers   as for bgnbd
 */
#ifndef CUSTOMER_SCORE_GAMMA_GAMMA_H
#define CUSTOMER_SCORE_GAMMA_GAMMA_H

#include "postgres.h"

#include "model.h"

#define GAMMA_GAMMA_VERSION 1

typedef struct GammaGammaModel
{
	int32		vl_len_;
	uint8		version;
	uint8		flags;
	uint16		reserved;
	double		p;
	double		q;
	double		v;
	double		log_likelihood;
	int64		customers;
} GammaGammaModel;

StaticAssertDecl(sizeof(GammaGammaModel) == CS_MODEL_SIZE(3), "GammaGammaModel is model.h's layout");

#define DatumGetGammaGammaModel(d) ((GammaGammaModel *) PG_DETOAST_DATUM(d))

/* the model's description (gamma_gamma.c): the bootstrap refits with it */
extern const CsModelSpec gamma_gamma_spec;

extern double gamma_gamma_expected_spend(const GammaGammaModel *model,
										 int64 frequency, double monetary);

#endif
