/*
 * mbgnbd.h — the MBG/NBD model (Batislam, Denizel & Filiztekin 2007): BG/NBD
 * whose customers may also drop out right after the first purchase, so a
 * one-time buyer is not alive with certainty.
 *
 * On-disk layout of type mbgnbd (model.h's shared layout, named):
 *   vl_len_, version (MBGNBD_VERSION), flags (MODEL_* in model.h), reserved,
 *   r, alpha, a, b       the parameters, alpha in the caller's time unit
 *   log_likelihood, customers   as for bgnbd
 */
#ifndef CUSTOMER_SCORE_MBGNBD_H
#define CUSTOMER_SCORE_MBGNBD_H

#include "postgres.h"

#include "model.h"

#define MBGNBD_VERSION 1

typedef struct MbgnbdModel
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
} MbgnbdModel;

StaticAssertDecl(sizeof(MbgnbdModel) == CS_MODEL_SIZE(4), "MbgnbdModel is model.h's layout");

extern double mbgnbd_p_alive(const MbgnbdModel *model, int64 frequency, double recency, double t);
extern double mbgnbd_expected_purchases(const MbgnbdModel *model, double horizon,
										int64 frequency, double recency, double t);

#endif
