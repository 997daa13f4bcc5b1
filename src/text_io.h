/*
 * text_io.h — text forms shared by the extension's types.
 *
 * Floats are printed in the shortest form that reads back to the same
 * double, so every type's text output round-trips exactly.  Model types use
 * a "(key=value, ...)" form that people can read and write by hand.
 */
#ifndef CUSTOMER_SCORE_TEXT_IO_H
#define CUSTOMER_SCORE_TEXT_IO_H

#include "postgres.h"
#include "lib/stringinfo.h"

extern void cs_append_float(StringInfo buf, double value);
extern double cs_parse_float(const char **cursor, const char *type_name,
							 const char *input);
extern int64 cs_parse_int64(const char **cursor, const char *type_name,
							const char *input);
extern void cs_skip_space(const char **cursor);
extern void cs_expect_char(const char **cursor, char c, const char *type_name,
						   const char *input);
extern void cs_expect_key(const char **cursor, const char *key, const char *type_name,
						  const char *input);
extern void cs_expect_end(const char **cursor, const char *type_name,
						  const char *input);

/* One "key=value" entry of a model's text form. */
typedef struct CsModelField
{
	const char *key;
	bool		is_bool;		/* value is true/false rather than a number */
	bool		required;
	bool		present;		/* set by the parser */
	double		number;			/* set by the parser */
	bool		boolean;		/* set by the parser */
} CsModelField;

extern void cs_parse_model_fields(const char *input, const char *type_name,
								  CsModelField *fields, int nfields);

#endif
