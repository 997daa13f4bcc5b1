/*
 * model_io.c — one implementation of the model types' I/O (see model_io.h).
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "model_io.h"
#include "text_io.h"
#include "validate.h"

void
cs_model_check_params(const CsModelSpec *spec, const double *params)
{
	for (int i = 0; i < spec->nparams; i++)
		if (!isfinite(params[i]) || params[i] <= 0.0)
		{
			char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];

			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s parameter %s must be a finite positive number, got %s",
							spec->type_name, spec->param_names[i],
							cs_format_double(params[i], buf))));
		}
}

/* A fit's customer count, or an error when a model could not carry it exactly. */
int64
cs_model_customers(int64 customers)
{
	if (customers > CS_MODEL_MAX_CUSTOMERS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("too many customers for one fit: " INT64_FORMAT, customers),
				 errdetail("A model counts at most " INT64_FORMAT " customers.", CS_MODEL_MAX_CUSTOMERS)));
	return customers;
}

void
cs_model_parse(const CsModelSpec *spec, const char *input, CsModelValues *out)
{
	CsModelField fields[CS_MODEL_MAX_PARAMS + 3];
	int			n = spec->nparams;

	memset(fields, 0, sizeof(fields));
	for (int i = 0; i < n; i++)
	{
		fields[i].key = spec->param_names[i];
		fields[i].required = true;
	}
	fields[n].key = "log_likelihood";
	fields[n + 1].key = "customers";
	fields[n + 2].key = "converged";
	fields[n + 2].is_bool = true;

	cs_parse_model_fields(input, spec->type_name, fields, n + 3);

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < n; i++)
		out->params[i] = fields[i].number;
	cs_model_check_params(spec, out->params);

	/* the fit's report comes as a whole or not at all */
	if (fields[n].present != fields[n + 1].present ||
		fields[n].present != fields[n + 2].present)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"", spec->type_name, input),
				 errdetail("log_likelihood, customers and converged must be given together or not at all.")));
	if (fields[n].present)
	{
		double		customers = fields[n + 1].number;

		if (customers < 0 || customers != floor(customers) || customers > (double) CS_MODEL_MAX_CUSTOMERS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type %s: \"%s\"", spec->type_name, input),
					 errdetail("customers must be a non-negative integer of at most " INT64_FORMAT ".",
							   CS_MODEL_MAX_CUSTOMERS)));
		out->flags |= MODEL_FITTED;
		out->log_likelihood = fields[n].number;
		out->customers = (int64) customers;
		if (fields[n + 2].boolean)
			out->flags |= MODEL_CONVERGED;
	}
}

char *
cs_model_format(const CsModelSpec *spec, const CsModelValues *values)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '(');
	for (int i = 0; i < spec->nparams; i++)
	{
		appendStringInfo(&buf, "%s%s=", i > 0 ? "," : "", spec->param_names[i]);
		cs_append_float(&buf, values->params[i]);
	}
	if (values->flags & MODEL_FITTED)
	{
		appendStringInfoString(&buf, ",log_likelihood=");
		cs_append_float(&buf, values->log_likelihood);
		appendStringInfo(&buf, ",customers=" INT64_FORMAT ",converged=%s",
						 values->customers,
						 (values->flags & MODEL_CONVERGED) ? "true" : "false");
	}
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

void
cs_model_recv(const CsModelSpec *spec, StringInfo buf, CsModelValues *out)
{
	int			version = pq_getmsgbyte(buf);

	if (version != spec->version)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary data for type %s", spec->type_name),
				 errdetail("Unsupported format version %d.", version)));
	memset(out, 0, sizeof(*out));
	out->flags = pq_getmsgbyte(buf) & (MODEL_FITTED | MODEL_CONVERGED);
	for (int i = 0; i < spec->nparams; i++)
		out->params[i] = pq_getmsgfloat8(buf);
	out->log_likelihood = pq_getmsgfloat8(buf);
	out->customers = pq_getmsgint64(buf);
	cs_model_check_params(spec, out->params);
	if ((out->flags & MODEL_FITTED) &&
		(!isfinite(out->log_likelihood) || out->customers < 0 || out->customers > CS_MODEL_MAX_CUSTOMERS))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary data for type %s", spec->type_name),
				 errdetail("The log-likelihood must be finite and the customer count between 0 and " INT64_FORMAT ".",
						   CS_MODEL_MAX_CUSTOMERS)));
}

bytea *
cs_model_send(const CsModelSpec *spec, const CsModelValues *values)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, spec->version);
	pq_sendbyte(&buf, values->flags);
	for (int i = 0; i < spec->nparams; i++)
		pq_sendfloat8(&buf, values->params[i]);
	pq_sendfloat8(&buf, values->log_likelihood);
	pq_sendint64(&buf, values->customers);
	return pq_endtypsend(&buf);
}

/* params(model): a jsonb object; the fit's fields are null for a hand-made model */
Datum
cs_model_jsonb(const CsModelSpec *spec, const CsModelValues *values)
{
	StringInfoData buf;
	bool		fitted = (values->flags & MODEL_FITTED) != 0;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < spec->nparams; i++)
	{
		appendStringInfo(&buf, "\"%s\": ", spec->param_names[i]);
		cs_append_float(&buf, values->params[i]);
		appendStringInfoString(&buf, ", ");
	}
	appendStringInfoString(&buf, "\"log_likelihood\": ");
	if (fitted)
		cs_append_float(&buf, values->log_likelihood);
	else
		appendStringInfoString(&buf, "null");
	if (fitted)
		appendStringInfo(&buf, ", \"customers\": " INT64_FORMAT ", \"converged\": %s}",
						 values->customers,
						 (values->flags & MODEL_CONVERGED) ? "true" : "false");
	else
		appendStringInfoString(&buf, ", \"customers\": null, \"converged\": null}");
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}
