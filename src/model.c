/*
 * model.c — the shared parts of every model type, driven by its CsModelSpec
 * (see model.h): the value itself, the SQL entry points and the fit.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "libpq/pqformat.h"

#include "history.h"
#include "model.h"
#include "model_io.h"
#include "optimize.h"
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
	CsModelHeader *model = palloc0(CS_MODEL_SIZE(spec->nparams));
	double	   *doubles = model_doubles(model);

	SET_VARSIZE(model, CS_MODEL_SIZE(spec->nparams));
	model->version = spec->version;
	model->flags = values->flags;
	for (int i = 0; i < spec->nparams; i++)
		doubles[i] = values->params[i];
	doubles[spec->nparams] = values->log_likelihood;
	memcpy(&doubles[spec->nparams + 1], &values->customers, sizeof(int64));
	return model;
}

/* The fields of a (detoasted) model value. */
void
cs_model_to_values(const CsModelSpec *spec, const void *model, CsModelValues *values)
{
	const CsModelHeader *header = model;
	const double *doubles = model_doubles(model);

	if (header->version != spec->version || VARSIZE(model) != CS_MODEL_SIZE(spec->nparams))
		elog(ERROR, "%s value has unsupported version %d", spec->type_name, header->version);
	memset(values, 0, sizeof(*values));
	values->flags = header->flags;
	for (int i = 0; i < spec->nparams; i++)
		values->params[i] = doubles[i];
	values->log_likelihood = doubles[spec->nparams];
	memcpy(&values->customers, &doubles[spec->nparams + 1], sizeof(int64));
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
Datum
cs_model_finalfn(const CsModelSpec *spec, FunctionCallInfo fcinfo)
{
	HistoryState *state;
	CsFitData	data;
	double		theta[CS_OPT_MAX_PARAMS];
	CsOptimResult fit;
	CsModelValues values;
	char		what[64];

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	/* the final function must not change the state: work on a compacted copy */
	state = history_compacted_copy(DatumGetHistoryState(PG_GETARG_DATUM(0)));
	if (state->used == 0)
		PG_RETURN_NULL();

	memset(&data, 0, sizeof(data));
	data.scale = 1;
	data.identified = true;
	spec->prepare(state, &data);
	fit = cs_fit_from_starts(spec->objective, data.arg, spec->nparams, spec->starts,
							 spec->nstarts, theta);

	memset(&values, 0, sizeof(values));
	values.flags = MODEL_FITTED | (fit.converged && data.identified ? MODEL_CONVERGED : 0);
	for (int i = 0; i < spec->nparams; i++)
	{
		values.params[i] = exp(theta[i]);
		if (spec->scaled_params & (1 << i))
			values.params[i] *= data.scale;
	}
	if (spec->on_ridge && spec->on_ridge(values.params))
		values.flags &= ~MODEL_CONVERGED;
	values.log_likelihood = -fit.value * data.total + data.log_likelihood_shift;
	/* data.total is the same sum in double precision, which a cast could overflow */
	values.customers = cs_model_customers(history_total_count(state));
	snprintf(what, sizeof(what), "a fitted %s parameter", spec->label);
	for (int i = 0; i < spec->nparams; i++)
		cs_check_result(what, values.params[i]);
	snprintf(what, sizeof(what), "the %s log-likelihood", spec->label);
	cs_check_result(what, values.log_likelihood);
	PG_RETURN_POINTER(cs_model_from_values(spec, &values));
}
