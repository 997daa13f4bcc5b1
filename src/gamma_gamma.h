/*
 * gamma_gamma.h — the Gamma-Gamma spend model (Fader, Hardie & Lee 2005b;
 * Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value").
 *
 * On-disk layout of type gamma_gamma (a varlena):
 *   vl_len_, version (GAMMA_GAMMA_VERSION), flags (MODEL_* in bgnbd.h), reserved,
 *   p, q, v              the parameters, v in the caller's currency
 *   log_likelihood, customers   as for bgnbd
 */
#ifndef CUSTOMER_SCORE_GAMMA_GAMMA_H
#define CUSTOMER_SCORE_GAMMA_GAMMA_H

#include "postgres.h"

#include "bgnbd.h"

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

#define DatumGetGammaGammaModel(d) ((GammaGammaModel *) PG_DETOAST_DATUM(d))

extern double gamma_gamma_expected_spend(const GammaGammaModel *model,
										 int64 frequency, double monetary);

#endif
