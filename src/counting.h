/*
 * counting.h — what the continuous-time counting models (BG/NBD, MBG/NBD,
 * Pareto/NBD) share: the fit's data over (frequency, recency, t) histories,
 * rescaled so the largest t is 1, and the fit's transition function.
 *
 * Time rescaling: the rate parameters (alpha, and beta of Pareto/NBD) scale
 * with time and the others do not, so rescaling keeps every start point and
 * bound meaningful whatever unit the caller used.  Each customer's
 * likelihood is a density in x event times, so it carries scale^-x.
 */
#ifndef CUSTOMER_SCORE_COUNTING_H
#define CUSTOMER_SCORE_COUNTING_H

#include "postgres.h"
#include "fmgr.h"

#include "history.h"
#include "model.h"

typedef struct CountingData
{
	int32		n;
	double	   *x;
	int32	   *t_index;		/* index of each point's t in times[] */
	int32	   *tx_index;		/* index of each point's t_x in times[] */
	double	   *weight;
	double		total;			/* sum of weights: the customers */
	/* the distinct values of t and t_x (whole days in CRM data: few) */
	int32		ntimes;
	double	   *times;
	/* scratch for the objectives, one entry per distinct time */
	double	   *log_alpha_time; /* log(alpha + times[k]) */
	double	   *inv_alpha_time; /* 1 / (alpha + times[k]) */
	double	   *log_beta_time;	/* log(beta + times[k]) (Pareto/NBD) */
	double	   *inv_beta_time;	/* 1 / (beta + times[k]) (Pareto/NBD) */
} CountingData;

extern void counting_prepare(const HistoryState *state, CsFitData *out);
extern Datum counting_transfn(FunctionCallInfo fcinfo, const char *fname);

#endif
