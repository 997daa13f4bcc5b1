/*
 * model.h — the one shape every fitted model type shares.
 *
 * A model is described once, by a CsModelSpec: its parameter names, which of
 * them are in the data's unit, the history its fit aggregates, how the fit
 * prepares that history, the likelihood (with its gradient) and the start
 * points.  From the description model.c provides the type's text and binary
 * I/O, its constructor, params(model) as jsonb, the wrappers of its state type
 * and the fit's final function; CS_MODEL_FUNCTIONS below turns them into the
 * SQL-callable symbols.  A new model is its mathematics plus one spec.
 *
 * On-disk layout of every model type (a varlena, so the format can evolve):
 *   vl_len_, version (the spec's), flags (MODEL_* below), reserved,
 *   params[nparams]      the parameters, in the order of the spec's names
 *   log_likelihood       of the fit (meaningful when MODEL_FITTED)
 *   customers            customers the fit saw (meaningful when MODEL_FITTED)
 *   standard_errors[nparams]   only with MODEL_HAS_SE (values without it are 0.1.0's size)
 * Each model's header gives the same layout as a struct with named fields.
 */
#ifndef CUSTOMER_SCORE_MODEL_H
#define CUSTOMER_SCORE_MODEL_H

#include "postgres.h"
#include "fmgr.h"

#include "history.h"
#include "optimize.h"

#define MODEL_FITTED	0x01	/* log_likelihood and customers are known */
#define MODEL_CONVERGED 0x02	/* the optimiser met its gradient test inside the bounds */
#define MODEL_HAS_SE	0x04	/* standard errors follow the customers (a converged fit) */

#define CS_MODEL_MAX_PARAMS 4

/* The fixed part of every model value; the doubles follow it. */
typedef struct CsModelHeader
{
	int32		vl_len_;
	uint8		version;
	uint8		flags;
	uint16		reserved;
} CsModelHeader;

/* The size of a model value with nparams parameters, and with their standard errors. */
#define CS_MODEL_SIZE(nparams) \
	(sizeof(CsModelHeader) + sizeof(double) * ((nparams) + 1) + sizeof(int64))
#define CS_MODEL_SIZE_SE(nparams) (CS_MODEL_SIZE(nparams) + sizeof(double) * (nparams))

/* The fields every model has, read from or written to its value. */
typedef struct CsModelValues
{
	uint8		flags;
	double		params[CS_MODEL_MAX_PARAMS];
	double		log_likelihood;
	int64		customers;
	double		standard_errors[CS_MODEL_MAX_PARAMS];	/* with MODEL_HAS_SE */
} CsModelValues;

/* What a fit's preparation hands to the optimiser and back to the result. */
typedef struct CsFitData
{
	void	   *arg;			/* what the objective reads */
	double		total;			/* the customers, as the sum of the weights */
	double		scale;			/* the data's unit was divided by it (time or money) */
	double		log_likelihood_shift;	/* added to the rescaled log-likelihood */
	bool		identified;		/* false: the data cannot identify the parameters */
} CsFitData;

/* Build the objective's data from a compacted state (state->used > 0). */
typedef void (*cs_fit_prepare) (const HistoryState *state, CsFitData *out);

/* One model type: everything the shared code needs to know about it. */
typedef struct CsModelSpec
{
	const char *type_name;		/* the SQL type, e.g. "bgnbd" */
	const char *label;			/* the model in messages, e.g. "BG/NBD" */
	int			version;		/* of the on-disk and binary formats */
	int			nparams;
	const char *param_names[CS_MODEL_MAX_PARAMS];
	uint8		scaled_params;	/* bit i set: parameter i is in the data's unit */
	HistoryKind history;		/* what the fit's state holds */
	const char *state_name;		/* the SQL state type, e.g. "bgnbd_state" */
	cs_fit_prepare prepare;
	cs_objective objective;		/* minus the mean log-likelihood, in log-parameters */
	int			nstarts;
	const double (*starts)[CS_OPT_MAX_PARAMS];	/* in the rescaled unit */
	/* optional: true when fitted parameters lie on a ridge the optimiser cannot see */
	bool		(*on_ridge) (const double *params);
} CsModelSpec;

/* customer_score.fit_warm_start (see fit_histories in model.c) */
extern bool cs_fit_warm_start;
extern void cs_define_fit_settings(void);

extern void *cs_model_from_values(const CsModelSpec *spec, const CsModelValues *values);
extern void cs_model_to_values(const CsModelSpec *spec, const void *model, CsModelValues *values);

extern Datum cs_model_in(const CsModelSpec *spec, FunctionCallInfo fcinfo);
extern Datum cs_model_out(const CsModelSpec *spec, FunctionCallInfo fcinfo);
extern Datum cs_model_recv_fn(const CsModelSpec *spec, FunctionCallInfo fcinfo);
extern Datum cs_model_send_fn(const CsModelSpec *spec, FunctionCallInfo fcinfo);
extern Datum cs_model_make(const CsModelSpec *spec, FunctionCallInfo fcinfo);
extern Datum cs_model_params(const CsModelSpec *spec, FunctionCallInfo fcinfo);
extern Datum cs_model_state_in(const CsModelSpec *spec, FunctionCallInfo fcinfo);
extern Datum cs_model_state_out(const CsModelSpec *spec, FunctionCallInfo fcinfo);
extern Datum cs_model_state_recv(const CsModelSpec *spec, FunctionCallInfo fcinfo);
extern Datum cs_model_state_send(const CsModelSpec *spec, FunctionCallInfo fcinfo);
extern Datum cs_model_combinefn(const CsModelSpec *spec, FunctionCallInfo fcinfo);
extern Datum cs_model_finalfn(const CsModelSpec *spec, FunctionCallInfo fcinfo);
extern void *cs_model_fit(const CsModelSpec *spec, HistoryState *state);

/* Refits of resamples of one data set, warm-started from its optimum (model.c, bootstrap.c). */
typedef struct CsRefit
{
	const CsModelSpec *spec;
	void	   *full;			/* the model fitted to the full data (NULL: no history) */
	bool		warm;			/* theta holds the full fit's converged optimum */
	bool		curved;			/* inverse holds the inverse Hessian there */
	double		theta[CS_OPT_MAX_PARAMS];	/* its log-parameters, in the caller's unit */
	double		inverse[CS_OPT_MAX_PARAMS][CS_OPT_MAX_PARAMS];
} CsRefit;

extern void cs_refit_init(CsRefit *refit, const CsModelSpec *spec, HistoryState *state);
extern void *cs_refit(const CsRefit *refit, HistoryState *state);

/* One SQL-callable symbol PREFIX##SUFFIX that hands its call to the shared FN. */
#define CS_MODEL_ENTRY(prefix, suffix, fn, spec) \
	PG_FUNCTION_INFO_V1(prefix##suffix); \
	Datum prefix##suffix(PG_FUNCTION_ARGS) { return fn(&(spec), fcinfo); }

/*
 * The symbols of a model type and its fit: PREFIX_in/_out/_recv/_send,
 * PREFIX_make (the constructor), PREFIX_params, PREFIX_state_in/_out/_recv/
 * _send, PREFIX_fit_combinefn and PREFIX_fit_finalfn.  The transition
 * function checks the model's own arguments and is written beside it.
 */
#define CS_MODEL_FUNCTIONS(prefix, spec) \
	CS_MODEL_ENTRY(prefix, _in, cs_model_in, spec) \
	CS_MODEL_ENTRY(prefix, _out, cs_model_out, spec) \
	CS_MODEL_ENTRY(prefix, _recv, cs_model_recv_fn, spec) \
	CS_MODEL_ENTRY(prefix, _send, cs_model_send_fn, spec) \
	CS_MODEL_ENTRY(prefix, _make, cs_model_make, spec) \
	CS_MODEL_ENTRY(prefix, _params, cs_model_params, spec) \
	CS_MODEL_ENTRY(prefix, _state_in, cs_model_state_in, spec) \
	CS_MODEL_ENTRY(prefix, _state_out, cs_model_state_out, spec) \
	CS_MODEL_ENTRY(prefix, _state_recv, cs_model_state_recv, spec) \
	CS_MODEL_ENTRY(prefix, _state_send, cs_model_state_send, spec) \
	CS_MODEL_ENTRY(prefix, _fit_combinefn, cs_model_combinefn, spec) \
	CS_MODEL_ENTRY(prefix, _fit_finalfn, cs_model_finalfn, spec)

#endif
