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

/* the doubles Pareto/NBD's fit keeps per distinct time for its series (pareto_nbd.c) */
#define COUNTING_TAIL_STRIDE 12

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
	double	   *cumulative;		/* 5 per distinct time (Pareto/NBD's integrals from it on) */
	double	   *tails;			/* COUNTING_TAIL_STRIDE per distinct time (Pareto/NBD's series tails) */
} CountingData;

/*
 * The predictions of a counting model, each for a customer with history
 * (x, t_x, T) in the model's time unit; a new customer is (0, 0, 0).
 * Callers have validated the arguments.
 */
typedef struct CountingPredictions
{
	const char *label;			/* the model in messages, e.g. "BG/NBD" */
	const CsModelSpec *spec;	/* the model's type and fit (the bootstrap refits with it) */
	/* P(alive at T) */
	double		(*p_alive) (const void *model, int64 x, double t_x, double t);
	/* E[purchases in (T, T + horizon]] */
	double		(*expected) (const void *model, double horizon, int64 x, double t_x, double t);
	/*
	 * the same for a customer alive at T (expected is p_alive times it) at each of n horizons,
	 * none 0, into out: one call for the steps of a CLV
	 */
	void		(*expected_if_alive) (const void *model, int64 x, double t,
									  const double *horizons, int n, double *out);
	/* P(no purchase in (T, T + horizon]) */
	double		(*p_none) (const void *model, double horizon, int64 x, double t_x, double t);
	/* P(X(horizon) = n) for a new customer */
	double		(*pmf) (const void *model, double horizon, int32 n);
} CountingPredictions;

extern Datum counting_expected_sql(const CountingPredictions *p, FunctionCallInfo fcinfo);
extern Datum counting_expected_new_sql(const CountingPredictions *p, FunctionCallInfo fcinfo);
extern Datum counting_p_alive_sql(const CountingPredictions *p, FunctionCallInfo fcinfo);
extern Datum counting_p_none_sql(const CountingPredictions *p, FunctionCallInfo fcinfo);
extern Datum counting_pmf_sql(const CountingPredictions *p, FunctionCallInfo fcinfo);
extern Datum counting_clv_sql(const CountingPredictions *p, FunctionCallInfo fcinfo);
extern Datum counting_predicted_clv_sql(const CountingPredictions *p, FunctionCallInfo fcinfo);

/* the model checks of issue 12 (holdout.c, tracking.c) */
extern Datum counting_holdout_table_sql(const CountingPredictions *p, FunctionCallInfo fcinfo);
extern Datum counting_period_transactions_sql(const CountingPredictions *p, FunctionCallInfo fcinfo);
extern Datum counting_tracking_sql(const CountingPredictions *p, FunctionCallInfo fcinfo);
extern Datum counting_prediction_intervals_sql(const CountingPredictions *p, FunctionCallInfo fcinfo);

/*
 * The SQL-callable predictions of a counting model: PREFIX_expected_purchases_sql,
 * PREFIX_expected_purchases_new, PREFIX_p_alive_sql, PREFIX_p_no_purchase_sql,
 * PREFIX_purchase_probability_sql, clv_PREFIX_gamma_gamma and the model checks
 * holdout_table_PREFIX, period_transactions_PREFIX, tracking_PREFIX and
 * prediction_intervals_PREFIX_gamma_gamma (predicted_clv,
 * refresh's form of clv, is written beside each model: BG/NBD's symbol predates this macro).
 */
#define CS_COUNTING_FUNCTIONS(prefix, preds) \
	CS_MODEL_ENTRY(prefix, _expected_purchases_sql, counting_expected_sql, preds) \
	CS_MODEL_ENTRY(prefix, _expected_purchases_new, counting_expected_new_sql, preds) \
	CS_MODEL_ENTRY(prefix, _p_alive_sql, counting_p_alive_sql, preds) \
	CS_MODEL_ENTRY(prefix, _p_no_purchase_sql, counting_p_none_sql, preds) \
	CS_MODEL_ENTRY(prefix, _purchase_probability_sql, counting_pmf_sql, preds) \
	CS_MODEL_ENTRY(clv_##prefix, _gamma_gamma, counting_clv_sql, preds) \
	CS_MODEL_ENTRY(holdout_table_, prefix, counting_holdout_table_sql, preds) \
	CS_MODEL_ENTRY(period_transactions_, prefix, counting_period_transactions_sql, preds) \
	CS_MODEL_ENTRY(tracking_, prefix, counting_tracking_sql, preds) \
	CS_MODEL_ENTRY(prediction_intervals_##prefix, _gamma_gamma, counting_prediction_intervals_sql, preds)

extern void counting_prepare(const HistoryState *state, CsFitData *out);
extern Datum counting_transfn(FunctionCallInfo fcinfo, const char *fname);

#endif
