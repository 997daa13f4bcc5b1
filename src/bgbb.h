/*
 * bgbb.h — the BG/BB model (Fader, Hardie & Shang 2010) of discrete-time
 * transactions: in each period an alive customer transacts with probability
 * p ~ Beta(alpha, beta), and before each period she may drop out with
 * probability theta ~ Beta(gamma, delta).
 *
 * On-disk layout of type bgbb (model.h's shared layout, named):
 *   vl_len_, version (BGBB_VERSION), flags (MODEL_* in model.h), reserved,
 *   alpha, beta, gamma, delta   the parameters (no time unit: periods)
 *   log_likelihood, customers   as for bgnbd
 */
#ifndef CUSTOMER_SCORE_BGBB_H
#define CUSTOMER_SCORE_BGBB_H

#include "postgres.h"

#include "model.h"

#define BGBB_VERSION 1

typedef struct BgbbModel
{
	int32		vl_len_;
	uint8		version;
	uint8		flags;
	uint16		reserved;
	double		alpha;
	double		beta;
	double		gamma;
	double		delta;
	double		log_likelihood;
	int64		customers;
} BgbbModel;

StaticAssertDecl(sizeof(BgbbModel) == CS_MODEL_SIZE(4), "BgbbModel is model.h's layout");

extern double bgbb_log_likelihood(const BgbbModel *model, double x, double t_x, double n);
extern double bgbb_p_alive(const BgbbModel *model, double x, double t_x, double n);
extern double bgbb_expected(const BgbbModel *model, double horizon, double x, double t_x,
							double n);
extern double bgbb_pmf(const BgbbModel *model, double n, double x);

#endif
