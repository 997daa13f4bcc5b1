/*
 * model.c — the shared parts of every model type, driven by its CsModelSpec
 * (see model.h): the value itself, the SQL entry points and the fit.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/guc.h"

#include "history.h"
#include "model.h"
#include "model_io.h"
#include "optimize.h"
#include "standard_errors.h"
#include "validate.h"

/* The doubles of a model value: params[0..nparams), then the log-likelihood. */
static inline double *
model_doubles(const void *model)
{
	return (double *) ((char *) model + sizeof(CsModelHeader));
}

/* A new model value holding values. */
void *
cs_model_from_values(const CsModelSpec *spec, const CsModelValues *values)
{
	bool		has_se = (values->flags & MODEL_HAS_SE) != 0;
	Size		size = has_se ? CS_MODEL_SIZE_SE(spec->nparams) : CS_MODEL_SIZE(spec->nparams);
	CsModelHeader *model = palloc0(size);
	double	   *doubles = model_doubles(model);

	SET_VARSIZE(model, size);
	model->version = spec->version;
	model->flags = values->flags;
	for (int i = 0; i < spec->nparams; i++)
		doubles[i] = values->params[i];
	doubles[spec->nparams] = values->log_likelihood;
	memcpy(&doubles[spec->nparams + 1], &values->customers, sizeof(int64));
	if (has_se)
		memcpy(&doubles[spec->nparams + 2], values->standard_errors, sizeof(double) * spec->nparams);
	return model;
}

/* The fields of a (detoasted) model value. */
void
cs_model_to_values(const CsModelSpec *spec, const void *model, CsModelValues *values)
{
	const CsModelHeader *header = model;
	const double *doubles = model_doubles(model);

	if (header->version != spec->version ||
		VARSIZE(model) != ((header->flags & MODEL_HAS_SE) ? CS_MODEL_SIZE_SE(spec->nparams) :
						   CS_MODEL_SIZE(spec->nparams)))
		elog(ERROR, "%s value has unsupported version %d", spec->type_name, header->version);
	memset(values, 0, sizeof(*values));
	values->flags = header->flags;
	for (int i = 0; i < spec->nparams; i++)
		values->params[i] = doubles[i];
	values->log_likelihood = doubles[spec->nparams];
	memcpy(&values->customers, &doubles[spec->nparams + 1], sizeof(int64));
	if (header->flags & MODEL_HAS_SE)
		memcpy(values->standard_errors, &doubles[spec->nparams + 2], sizeof(double) * spec->nparams);
}

/* The model argument of a call, as values. */
static void
model_arg(const CsModelSpec *spec, FunctionCallInfo fcinfo, CsModelValues *values)
{
	cs_model_to_values(spec, PG_DETOAST_DATUM(PG_GETARG_DATUM(0)), values);
}

/* TYPE_in(cstring) */
Datum
cs_model_in(const CsModelSpec *spec, FunctionCallInfo fcinfo)
{
	CsModelValues values;

	cs_model_parse(spec, PG_GETARG_CSTRING(0), &values);
	PG_RETURN_POINTER(cs_model_from_values(spec, &values));
}

/* TYPE_out(model) */
Datum
cs_model_out(const CsModelSpec *spec, FunctionCallInfo fcinfo)
{
	CsModelValues values;

	model_arg(spec, fcinfo, &values);
	PG_RETURN_CSTRING(cs_model_format(spec, &values));
}

/* TYPE_recv(internal) */
Datum
cs_model_recv_fn(const CsModelSpec *spec, FunctionCallInfo fcinfo)
{
	CsModelValues values;

	cs_model_recv(spec, (StringInfo) PG_GETARG_POINTER(0), &values);
	PG_RETURN_POINTER(cs_model_from_values(spec, &values));
}

/* TYPE_send(model) */
Datum
cs_model_send_fn(const CsModelSpec *spec, FunctionCallInfo fcinfo)
{
	CsModelValues values;

	model_arg(spec, fcinfo, &values);
	PG_RETURN_BYTEA_P(cs_model_send(spec, &values));
}

/* TYPE(param, ...): a model from known (e.g. published) parameters */
Datum
cs_model_make(const CsModelSpec *spec, FunctionCallInfo fcinfo)
{
	CsModelValues values;

	memset(&values, 0, sizeof(values));
	for (int i = 0; i < spec->nparams; i++)
		values.params[i] = PG_GETARG_FLOAT8(i);
	cs_model_check_params(spec, values.params);
	PG_RETURN_POINTER(cs_model_from_values(spec, &values));
}

/* params(model): jsonb */
Datum
cs_model_params(const CsModelSpec *spec, FunctionCallInfo fcinfo)
{
	CsModelValues values;

	model_arg(spec, fcinfo, &values);
	return cs_model_jsonb(spec, &values);
}

/* TYPE_state_in(cstring) */
Datum
cs_model_state_in(const CsModelSpec *spec, FunctionCallInfo fcinfo)
{
	return history_in(PG_GETARG_CSTRING(0), spec->history, spec->state_name);
}

/* TYPE_state_out(state) */
Datum
cs_model_state_out(const CsModelSpec *spec, FunctionCallInfo fcinfo)
{
	PG_RETURN_CSTRING(history_out(DatumGetHistoryState(PG_GETARG_DATUM(0))));
}

/* TYPE_state_recv(internal) */
Datum
cs_model_state_recv(const CsModelSpec *spec, FunctionCallInfo fcinfo)
{
	return history_recv((StringInfo) PG_GETARG_POINTER(0), spec->history, spec->state_name);
}

/* TYPE_state_send(state) */
Datum
cs_model_state_send(const CsModelSpec *spec, FunctionCallInfo fcinfo)
{
	PG_RETURN_BYTEA_P(history_send(DatumGetHistoryState(PG_GETARG_DATUM(0))));
}

/* The fit's combine function: merges two histograms in place. */
Datum
cs_model_combinefn(const CsModelSpec *spec, FunctionCallInfo fcinfo)
{
	HistoryState *state;
	char		fname[NAMEDATALEN + 16];

	snprintf(fname, sizeof(fname), "%s_fit_combinefn", spec->type_name);
	CS_REQUIRE_AGG_CONTEXT(fcinfo, fname);
	state = history_combine(fcinfo, spec->history);
	if (state == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(state);
}

/*
 * The fit's final function (and TYPE_fit(state)): maximum likelihood over
 * the state's histories.  The preparation rescales the data's unit so the
 * start points mean the same whatever unit the caller used; the scaled
 * parameters and the log-likelihood go back to the caller's unit here.
 */
/* histories from which a fit starts from a coarse copy's optimum, and that copy's time grid */
#define CS_WARM_START_HISTORIES 20000
#define CS_COARSE_LEVELS 64

bool		cs_fit_warm_start = true;

/* Register customer_score.fit_warm_start; called once from _PG_init. */
void
cs_define_fit_settings(void)
{
	DefineCustomBoolVariable("customer_score.fit_warm_start",
							 "Fits of many distinct histories start from the optimum of a coarse copy.",
							 "Off: every start point runs on the full data (slower, the same optimum "
							 "to the optimiser's tolerance).",
							 &cs_fit_warm_start, true, PGC_USERSET, 0, NULL, NULL, NULL);
}

/* Prepare a state's data for the objective. */
static void
prepare_fit(const CsModelSpec *spec, const HistoryState *state, CsFitData *data)
{
	memset(data, 0, sizeof(*data));
	data->scale = 1;
	data->identified = true;
	spec->prepare(state, data);
}

/*
 * The fit of a compacted state: theta, in log-parameters of data's rescaled unit.  Every start
 * of the spec runs on the histories.  With many distinct histories (continuous times give one
 * per customer) most of the multi-start's evaluations only travel towards the optimum, so the
 * starts run on a coarse copy (history_coarse_copy: times on a grid of
 * CS_COARSE_LEVELS) and the exact likelihood is then optimised from the coarse optimum: the same
 * optimum to the optimiser's tolerance, in a few evaluations of the full data.  The exact
 * optimisation's quasi-Newton curvature starts from the coarse likelihood's inverse Hessian at
 * the coarse optimum (cheap: the coarse copy is small), which is close to the exact one there,
 * so its first steps are nearly Newton steps.
 * customer_score.fit_warm_start = off runs every start on the full data.
 */
static CsOptimResult
fit_histories(const CsModelSpec *spec, const HistoryState *state, CsFitData *data, double *theta)
{
	HistoryState *coarse;
	CsFitData	coarse_data;
	double		coarse_theta[CS_OPT_MAX_PARAMS],
				inverse[CS_OPT_MAX_PARAMS][CS_OPT_MAX_PARAMS];
	bool		curved;

	prepare_fit(spec, state, data);
	if (!cs_fit_warm_start || spec->history != HISTORY_BGNBD || state->used < CS_WARM_START_HISTORIES)
		return cs_fit_from_starts(spec->objective, data->arg, spec->nparams, spec->starts,
								  spec->nstarts, theta);
	coarse = history_coarse_copy(state, CS_COARSE_LEVELS);
	prepare_fit(spec, coarse, &coarse_data);
	(void) cs_fit_from_starts(spec->objective, coarse_data.arg, spec->nparams, spec->starts,
							  spec->nstarts, coarse_theta);
	curved = cs_inverse_hessian(spec->objective, coarse_data.arg, spec->nparams, coarse_theta,
								inverse);
	/* the coarse optimum in the full data's rescaled unit (a log-parameter shift) */
	for (int i = 0; i < spec->nparams; i++)
		theta[i] = coarse_theta[i] +
			((spec->scaled_params & (1 << i)) ? log(coarse_data.scale / data->scale) : 0.0);
	return cs_fit_polish(spec->objective, data->arg, spec->nparams,
						 curved ? (const double (*)[CS_OPT_MAX_PARAMS]) inverse : NULL, theta);
}

/* The fit's final function: the model fitted to the state, NULL for an empty one. */
Datum
cs_model_finalfn(const CsModelSpec *spec, FunctionCallInfo fcinfo)
{
	void	   *model;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	model = cs_model_fit(spec, DatumGetHistoryState(PG_GETARG_DATUM(0)));
	if (model == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(model);
}

/*
 * The model values of a fit at theta (log-parameters of data's rescaled unit), with standard
 * errors when with_se and the fit converged.
 */
static void
fit_values(const CsModelSpec *spec, const HistoryState *state, const CsFitData *data,
		   const double *theta, const CsOptimResult *fit, bool with_se, CsModelValues *values)
{
	double		se_theta[CS_OPT_MAX_PARAMS];
	char		what[64];

	memset(values, 0, sizeof(*values));
	values->flags = MODEL_FITTED | (fit->converged && data->identified ? MODEL_CONVERGED : 0);
	for (int i = 0; i < spec->nparams; i++)
	{
		values->params[i] = exp(theta[i]);
		if (spec->scaled_params & (1 << i))
			values->params[i] *= data->scale;
	}
	if (spec->on_ridge && spec->on_ridge(values->params))
		values->flags &= ~MODEL_CONVERGED;
	values->log_likelihood = -fit->value * data->total + data->log_likelihood_shift;
	/* data->total is the same sum in double precision, which a cast could overflow */
	values->customers = cs_model_customers(history_total_count(state));
	snprintf(what, sizeof(what), "a fitted %s parameter", spec->label);
	for (int i = 0; i < spec->nparams; i++)
		cs_check_result(what, values->params[i]);
	snprintf(what, sizeof(what), "the %s log-likelihood", spec->label);
	cs_check_result(what, values->log_likelihood);
	/* standard errors from the observed information, for a fit that found its maximum */
	if (with_se && (values->flags & MODEL_CONVERGED) &&
		cs_standard_errors(spec->objective, data->arg, spec->nparams, theta, data->total, se_theta))
	{
		values->flags |= MODEL_HAS_SE;
		for (int i = 0; i < spec->nparams; i++)
			values->standard_errors[i] = values->params[i] * se_theta[i];
		for (int i = 0; i < spec->nparams; i++)
			if (!isfinite(values->standard_errors[i]))
				values->flags &= ~MODEL_HAS_SE;
	}
}

/*
 * The model fitted to a state, NULL when it holds no history; the state is not changed (one
 * not yet compacted is copied).  The final function.
 */
void *
cs_model_fit(const CsModelSpec *spec, HistoryState *state)
{
	CsFitData	data;
	double		theta[CS_OPT_MAX_PARAMS];
	CsOptimResult fit;
	CsModelValues values;

	/* the final function must not change the state: a state not yet compacted is copied */
	if (!(state->flags & HISTORY_COMPACT))
		state = history_compacted_copy(state);
	if (state->used == 0)
		return NULL;

	fit = fit_histories(spec, state, &data, theta);
	fit_values(spec, state, &data, theta, &fit, true, &values);
	return cs_model_from_values(spec, &values);
}

/*
 * The bootstrap's refits (bootstrap.c).  cs_refit_init fits the full data once, as the final
 * function does, and keeps that optimum's log-parameters (in the caller's unit) and the inverse
 * Hessian of the mean objective there.  A resample's optimum lies within a few standard errors
 * of it, so cs_refit starts the quasi-Newton polish there with that curvature (its first steps
 * are nearly Newton steps) instead of running every start; a polish that does not converge
 * falls back to the starts, and the better optimum is kept.  The refits carry no standard
 * errors (nothing reads them).
 */
void
cs_refit_init(CsRefit *refit, const CsModelSpec *spec, HistoryState *state)
{
	CsFitData	data;
	CsModelValues values;
	double		theta[CS_OPT_MAX_PARAMS];

	memset(refit, 0, sizeof(*refit));
	refit->spec = spec;
	if (!(state->flags & HISTORY_COMPACT))
		state = history_compacted_copy(state);
	refit->full = state->used > 0 ? cs_model_fit(spec, state) : NULL;
	if (refit->full == NULL)
		return;
	cs_model_to_values(spec, refit->full, &values);
	if (!(values.flags & MODEL_CONVERGED))
		return;					/* no optimum to start from: every refit runs the starts */
	prepare_fit(spec, state, &data);
	for (int i = 0; i < spec->nparams; i++)
	{
		refit->theta[i] = log(values.params[i]);
		theta[i] = refit->theta[i] - ((spec->scaled_params & (1 << i)) ? log(data.scale) : 0.0);
	}
	/* the Hessian in log-parameters does not change with the unit: a shift of log(scale) */
	refit->curved = cs_inverse_hessian(spec->objective, data.arg, spec->nparams, theta,
									   refit->inverse);
	refit->warm = true;
}

/* The model refitted to a resample's state (not empty), from cs_refit_init's optimum. */
void *
cs_refit(const CsRefit *refit, HistoryState *state)
{
	const CsModelSpec *spec = refit->spec;
	CsFitData	data;
	double		theta[CS_OPT_MAX_PARAMS];
	CsOptimResult fit;
	CsModelValues values;

	if (!(state->flags & HISTORY_COMPACT))
		state = history_compacted_copy(state);
	if (!refit->warm)
	{
		fit = fit_histories(spec, state, &data, theta);
		fit_values(spec, state, &data, theta, &fit, false, &values);
		return cs_model_from_values(spec, &values);
	}
	prepare_fit(spec, state, &data);
	for (int i = 0; i < spec->nparams; i++)
		theta[i] = refit->theta[i] - ((spec->scaled_params & (1 << i)) ? log(data.scale) : 0.0);
	fit = cs_fit_polish(spec->objective, data.arg, spec->nparams,
						refit->curved ? (const double (*)[CS_OPT_MAX_PARAMS]) refit->inverse : NULL,
						theta);
	if (!fit.converged)
	{
		double		start_theta[CS_OPT_MAX_PARAMS];
		CsOptimResult starts = cs_fit_from_starts(spec->objective, data.arg, spec->nparams,
												  spec->starts, spec->nstarts, start_theta);

		if (starts.value < fit.value || !isfinite(fit.value))
		{
			fit = starts;
			memcpy(theta, start_theta, sizeof(double) * spec->nparams);
		}
	}
	fit_values(spec, state, &data, theta, &fit, false, &values);
	return cs_model_from_values(spec, &values);
}
