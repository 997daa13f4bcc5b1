/*
 * text_io.c — parsing and printing helpers shared by every type's I/O.
 */
#include "postgres.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "common/shortest_dec.h"
#include "text_io.h"

void
cs_append_float(StringInfo buf, double value)
{
	char		digits[DOUBLE_SHORTEST_DECIMAL_LEN];

	double_to_shortest_decimal_buf(value, digits);
	appendStringInfoString(buf, digits);
}

void
cs_skip_space(const char **cursor)
{
	while (**cursor && isspace((unsigned char) **cursor))
		(*cursor)++;
}

static void
report_malformed(const char *type_name, const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s: \"%s\"", type_name, input),
			 errdetail("%s", detail)));
}

double
cs_parse_float(const char **cursor, const char *type_name, const char *input)
{
	char	   *end;
	double		value;

	cs_skip_space(cursor);
	errno = 0;
	value = strtod(*cursor, &end);
	if (end == *cursor)
		report_malformed(type_name, input, "Expected a number.");
	if (!isfinite(value) || errno == ERANGE)
	{
		/* strtod sets ERANGE for subnormal results too; those are fine */
		if (!(errno == ERANGE && isfinite(value) && fabs(value) < 1.0))
			report_malformed(type_name, input, "Numbers must be finite.");
	}
	*cursor = end;
	return value;
}

int64
cs_parse_int64(const char **cursor, const char *type_name, const char *input)
{
	char	   *end;
	long long	value;

	cs_skip_space(cursor);
	errno = 0;
	value = strtoll(*cursor, &end, 10);
	if (end == *cursor)
		report_malformed(type_name, input, "Expected an integer.");
	if (errno == ERANGE)
		report_malformed(type_name, input, "Integer out of range.");
	*cursor = end;
	return (int64) value;
}

void
cs_expect_char(const char **cursor, char c, const char *type_name, const char *input)
{
	cs_skip_space(cursor);
	if (**cursor != c)
	{
		char		detail[64];

		snprintf(detail, sizeof(detail), "Expected \"%c\".", c);
		report_malformed(type_name, input, detail);
	}
	(*cursor)++;
}

/* The literal key (such as "as_of=") after optional spaces. */
void
cs_expect_key(const char **cursor, const char *key, const char *type_name, const char *input)
{
	char		detail[64];

	cs_skip_space(cursor);
	if (strncmp(*cursor, key, strlen(key)) != 0)
	{
		snprintf(detail, sizeof(detail), "Expected \"%s\".", key);
		report_malformed(type_name, input, detail);
	}
	*cursor += strlen(key);
}

void
cs_expect_end(const char **cursor, const char *type_name, const char *input)
{
	cs_skip_space(cursor);
	if (**cursor != '\0')
		report_malformed(type_name, input, "Unexpected text after the value.");
}

/*
 * Parse "(key=value, key=value, ...)".  Keys may come in any order, each at
 * most once; every required key must be present.
 */
void
cs_parse_model_fields(const char *input, const char *type_name,
					  CsModelField *fields, int nfields)
{
	const char *cursor = input;

	for (int i = 0; i < nfields; i++)
		fields[i].present = false;

	cs_expect_char(&cursor, '(', type_name, input);
	cs_skip_space(&cursor);
	if (*cursor != ')')
	{
		for (;;)
		{
			const char *key_start;
			size_t		key_len;
			CsModelField *field = NULL;

			cs_skip_space(&cursor);
			key_start = cursor;
			while (*cursor && (isalnum((unsigned char) *cursor) || *cursor == '_'))
				cursor++;
			key_len = cursor - key_start;
			for (int i = 0; i < nfields; i++)
				if (strlen(fields[i].key) == key_len &&
					strncmp(fields[i].key, key_start, key_len) == 0)
					field = &fields[i];
			if (field == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("invalid input syntax for type %s: \"%s\"", type_name, input),
						 errdetail("Unknown key \"%.*s\".", (int) key_len, key_start)));
			if (field->present)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("invalid input syntax for type %s: \"%s\"", type_name, input),
						 errdetail("Key \"%s\" appears more than once.", field->key)));
			cs_expect_char(&cursor, '=', type_name, input);
			cs_skip_space(&cursor);
			if (field->is_bool)
			{
				if (strncmp(cursor, "true", 4) == 0)
				{
					field->boolean = true;
					cursor += 4;
				}
				else if (strncmp(cursor, "false", 5) == 0)
				{
					field->boolean = false;
					cursor += 5;
				}
				else
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
							 errmsg("invalid input syntax for type %s: \"%s\"", type_name, input),
							 errdetail("Key \"%s\" takes true or false.", field->key)));
			}
			else
				field->number = cs_parse_float(&cursor, type_name, input);
			field->present = true;

			cs_skip_space(&cursor);
			if (*cursor == ',')
			{
				cursor++;
				continue;
			}
			break;
		}
	}
	cs_expect_char(&cursor, ')', type_name, input);
	cs_expect_end(&cursor, type_name, input);

	for (int i = 0; i < nfields; i++)
		if (fields[i].required && !fields[i].present)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type %s: \"%s\"", type_name, input),
					 errdetail("Key \"%s\" is required.", fields[i].key)));
}
