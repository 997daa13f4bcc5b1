/*
 * sbg.h — the shifted-beta-geometric model of contractual retention (Fader &
 * Hardie 2007): each customer renews at the end of every period until she
 * churns, with a churn probability theta ~ Beta(alpha, beta) of her own.
 *
 * On-disk layout of type sbg (model.h's shared layout, named):
 *   vl_len_, version (SBG_VERSION), flags (MODEL_* in model.h), reserved,
 *   alpha, beta                 the parameters (no time unit: periods)
 *   log_likelihood, customers   as for bgnbd
 */
#ifndef CUSTOMER_SCORE_SBG_H
#define CUSTOMER_SCORE_SBG_H

#include "postgres.h"

#include "model.h"

#define SBG_VERSION 1

typedef struct SbgModel
{
	int32		vl_len_;
	uint8		version;
	uint8		flags;
	uint16		reserved;
	double		alpha;
	double		beta;
	double		log_likelihood;
	int64		customers;
} SbgModel;

StaticAssertDecl(sizeof(SbgModel) == CS_MODEL_SIZE(2), "SbgModel is model.h's layout");

extern double sbg_survival(const SbgModel *model, double period);
extern double sbg_retention_rate(const SbgModel *model, double period);
extern double sbg_derl(const SbgModel *model, double discount_rate, double renewals);

#endif
