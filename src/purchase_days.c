/*
 * purchase_days.c — the type customer_score.purchase_days (one customer's
 * purchase days, packed: see purchase_days.h) and its functions: text and
 * binary I/O, purchase_days_merge (the trigger's upsert), the constructor
 * from arrays (the recount), purchase_days_unnest (the live_days view),
 * purchase_days_count and purchase_days_summary (the live_scores view).
 *
 * Text form: the days in ascending order as {day:amount/rows,...}, e.g.
 * {2024-01-01:15.00/2,2024-01-08:20.00/1}; days are ISO dates (with " BC"
 * before year 1) whatever DateStyle is, amounts are numeric's own text, so
 * the form reads back exactly (pg_dump writes live_customers with it).
 */
#include "postgres.h"

#include <ctype.h>

#include "catalog/pg_type_d.h"
#include "common/int.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"

#include "interrupts.h"
#include "purchase_days.h"
#include "purchase_rule.h"

/* ---------------------------------------------------------------------
 * Reading and building values
 * ---------------------------------------------------------------------
 */

static void
purchase_days_corrupt(void)
{
	elog(ERROR, "corrupted purchase_days value");
}

/* Check a value read from a datum: the format version and the day count. */
PurchaseDays *
purchase_days_check(PurchaseDays *p)
{
	if (p->version != PURCHASE_DAYS_VERSION || p->ndays < 0 || VARSIZE(p) < PURCHASE_DAYS_HEADER)
		elog(ERROR, "purchase_days value of unknown format version %d", p->version);
	return p;
}

void
purchase_days_reader_init(PurchaseDaysReader *reader, const PurchaseDays *p)
{
	reader->next = (const uint8 *) p + PURCHASE_DAYS_HEADER;
	reader->end = (const uint8 *) p + VARSIZE(p);
	reader->left = p->ndays;
	reader->entry = reader->next;
	reader->previous_day = 0;
	reader->day = 0;
	reader->rows = 0;
	reader->amount = NULL;
	reader->amount_len = 0;
}

static inline uint64
read_varint(PurchaseDaysReader *reader)
{
	uint64		value = 0;
	int			shift = 0;

	for (;;)
	{
		uint8		byte;

		if (reader->next >= reader->end || shift > 63)
			purchase_days_corrupt();
		byte = *reader->next++;
		value |= (uint64) (byte & 0x7F) << shift;
		if ((byte & 0x80) == 0)
			return value;
		shift += 7;
	}
}

static inline int64
unzigzag(uint64 value)
{
	return (int64) (value >> 1) ^ -(int64) (value & 1);
}

static inline uint64
zigzag(int64 value)
{
	return ((uint64) value << 1) ^ (uint64) (value >> 63);
}

/* The next day into reader->day, rows, amount; false after the last. */
bool
purchase_days_read(PurchaseDaysReader *reader)
{
	int64		day;

	if (reader->left <= 0)
		return false;
	reader->left--;
	reader->entry = reader->next;
	reader->previous_day = reader->day;
	day = (int64) reader->day + unzigzag(read_varint(reader));
	if (day < PG_INT32_MIN || day > PG_INT32_MAX)
		purchase_days_corrupt();
	reader->day = (DateADT) day;
	reader->rows = unzigzag(read_varint(reader));
	reader->amount_len = (uint32) read_varint(reader);
	if (reader->amount_len > (uint64) (reader->end - reader->next))
		purchase_days_corrupt();
	reader->amount = reader->next;
	reader->next += reader->amount_len;
	return true;
}

Numeric
purchase_days_amount(const PurchaseDaysReader *reader, Numeric *buffer, Size *capacity)
{
	Size		size = VARHDRSZ + reader->amount_len;

	if (*buffer == NULL || *capacity < size)
	{
		Size		grown = Max(size, 64);

		*buffer = *buffer == NULL ? palloc(grown) : repalloc(*buffer, grown);
		*capacity = grown;
	}
	SET_VARSIZE(*buffer, size);
	memcpy(VARDATA(*buffer), reader->amount, reader->amount_len);
	return *buffer;
}

void
purchase_days_builder_init(PurchaseDaysBuilder *builder, Size size_hint)
{
	PurchaseDays header;

	initStringInfo(&builder->buf);
	if (size_hint > (Size) builder->buf.maxlen && size_hint < MaxAllocSize / 2)
		enlargeStringInfo(&builder->buf, (int) size_hint);
	memset(&header, 0, sizeof(header));
	header.version = PURCHASE_DAYS_VERSION;
	appendBinaryStringInfo(&builder->buf, (const char *) &header, sizeof(header));
	builder->ndays = 0;
	builder->last_day = 0;
}

static inline void
append_varint(StringInfo buf, uint64 value)
{
	uint8		bytes[10];
	int			n = 0;

	do
	{
		bytes[n] = value & 0x7F;
		value >>= 7;
		if (value != 0)
			bytes[n] |= 0x80;
		n++;
	} while (value != 0);
	appendBinaryStringInfo(buf, (const char *) bytes, n);
}

void
purchase_days_builder_add(PurchaseDaysBuilder *builder, DateADT day, int64 rows,
						  const uint8 *amount, uint32 amount_len)
{
	Assert(builder->ndays == 0 || day > builder->last_day);
	if (builder->ndays == PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a purchase_days value holds at most %d days", PG_INT32_MAX)));
	append_varint(&builder->buf, zigzag((int64) day - (int64) builder->last_day));
	append_varint(&builder->buf, zigzag(rows));
	append_varint(&builder->buf, amount_len);
	appendBinaryStringInfo(&builder->buf, (const char *) amount, amount_len);
	builder->ndays++;
	builder->last_day = day;
}

/*
 * Append ndays entries as they were encoded in another value, the last of them
 * on last_day: the first entry's day must have been encoded relative to the
 * builder's last day (both start from day 0), so the bytes mean the same here.
 */
void
purchase_days_builder_add_encoded(PurchaseDaysBuilder *builder, const uint8 *bytes, Size len,
								  int ndays, DateADT last_day)
{
	int			total;

	if (pg_add_s32_overflow(builder->ndays, ndays, &total))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a purchase_days value holds at most %d days", PG_INT32_MAX)));
	appendBinaryStringInfo(&builder->buf, (const char *) bytes, (int) len);
	builder->ndays = total;
	builder->last_day = last_day;
}

void
purchase_days_builder_add_numeric(PurchaseDaysBuilder *builder, DateADT day, int64 rows, Numeric amount)
{
	purchase_days_builder_add(builder, day, rows, (const uint8 *) VARDATA_ANY(amount),
							  VARSIZE_ANY_EXHDR(amount));
}

PurchaseDays *
purchase_days_builder_finish(PurchaseDaysBuilder *builder)
{
	PurchaseDays *result = (PurchaseDays *) builder->buf.data;

	SET_VARSIZE(result, builder->buf.len);
	result->ndays = builder->ndays;
	return result;
}

PurchaseDays *
purchase_days_build(int ndays, const DateADT *days, const int64 *rows, const Numeric *amounts)
{
	PurchaseDaysBuilder builder;

	purchase_days_builder_init(&builder, PURCHASE_DAYS_HEADER + (Size) ndays * 16);
	for (int i = 0; i < ndays; i++)
		purchase_days_builder_add_numeric(&builder, days[i], rows[i], amounts[i]);
	return purchase_days_builder_finish(&builder);
}

static int64
purchase_days_add_rows(int64 a, int64 b)
{
	int64		sum;

	if (pg_add_s64_overflow(a, b, &sum))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("row count of a purchase day out of range")));
	return sum;
}

/* ---------------------------------------------------------------------
 * Text I/O
 * ---------------------------------------------------------------------
 */

static void
purchase_days_syntax(const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type purchase_days: \"%s\"", input),
			 errdetail("%s", detail)));
}

static int
parse_digits(const char **cursor, int max_digits, const char *input)
{
	int			value = 0,
				n = 0;

	while (isdigit((unsigned char) **cursor))
	{
		if (++n > max_digits)
			purchase_days_syntax(input, "A date field has too many digits.");
		value = value * 10 + (**cursor - '0');
		(*cursor)++;
	}
	if (n == 0)
		purchase_days_syntax(input, "Expected a date as YYYY-MM-DD.");
	return value;
}

/* YYYY-MM-DD, optionally followed by " BC" */
static DateADT
parse_day(const char **cursor, const char *input)
{
	int			year,
				month,
				mday;
	int			julian;

	year = parse_digits(cursor, 7, input);
	if (**cursor != '-')
		purchase_days_syntax(input, "Expected a date as YYYY-MM-DD.");
	(*cursor)++;
	month = parse_digits(cursor, 2, input);
	if (**cursor != '-')
		purchase_days_syntax(input, "Expected a date as YYYY-MM-DD.");
	(*cursor)++;
	mday = parse_digits(cursor, 2, input);
	if (strncmp(*cursor, " BC", 3) == 0)
	{
		*cursor += 3;
		if (year < 1)
			purchase_days_syntax(input, "There is no year 0 BC.");
		year = 1 - year;
	}
	else if (year < 1)
		purchase_days_syntax(input, "There is no year 0: write the years before 1 with BC.");
	if (month < 1 || month > MONTHS_PER_YEAR || mday < 1 ||
		mday > day_tab[isleap(year)][month - 1])
		purchase_days_syntax(input, "A date is not a day of the calendar.");
	if (!IS_VALID_JULIAN(year, month, mday))
		purchase_days_syntax(input, "A date is out of range.");
	julian = date2j(year, month, mday) - POSTGRES_EPOCH_JDATE;
	if (!IS_VALID_DATE(julian))
		purchase_days_syntax(input, "A date is out of range.");
	return (DateADT) julian;
}

/* -?digits[.digits]: numeric's plain form (no exponent, NaN or Infinity) */
static Numeric
parse_amount(const char **cursor, const char *input)
{
	const char *start = *cursor;
	char	   *text;
	Numeric		amount;

	if (**cursor == '-')
		(*cursor)++;
	if (!isdigit((unsigned char) **cursor))
		purchase_days_syntax(input, "Expected an amount (a finite decimal number such as -12.50).");
	while (isdigit((unsigned char) **cursor))
		(*cursor)++;
	if (**cursor == '.')
	{
		(*cursor)++;
		if (!isdigit((unsigned char) **cursor))
			purchase_days_syntax(input, "Expected digits after the decimal point of an amount.");
		while (isdigit((unsigned char) **cursor))
			(*cursor)++;
	}
	text = pnstrdup(start, *cursor - start);
	amount = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(text),
												 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	pfree(text);
	return amount;
}

static int64
parse_rows(const char **cursor, const char *input)
{
	int64		value = 0;
	bool		negative = false;

	if (**cursor == '-')
	{
		negative = true;
		(*cursor)++;
	}
	if (!isdigit((unsigned char) **cursor))
		purchase_days_syntax(input, "Expected a row count (an integer).");
	while (isdigit((unsigned char) **cursor))
	{
		/* accumulate negatively, so that the minimum int64 reads too */
		if (pg_mul_s64_overflow(value, 10, &value) || pg_sub_s64_overflow(value, **cursor - '0', &value))
			purchase_days_syntax(input, "A row count is out of range.");
		(*cursor)++;
	}
	if (!negative && pg_mul_s64_overflow(value, -1, &value))
		purchase_days_syntax(input, "A row count is out of range.");
	return value;
}

static void
skip_space(const char **cursor)
{
	while (**cursor && isspace((unsigned char) **cursor))
		(*cursor)++;
}

PG_FUNCTION_INFO_V1(purchase_days_in);
Datum
purchase_days_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *cursor = input;
	int			capacity = 8,
				ndays = 0;
	DateADT    *days = palloc(capacity * sizeof(DateADT));
	int64	   *rows = palloc(capacity * sizeof(int64));
	Numeric    *amounts = palloc(capacity * sizeof(Numeric));

	skip_space(&cursor);
	if (*cursor != '{')
		purchase_days_syntax(input, "The text must start with \"{\".");
	cursor++;
	skip_space(&cursor);
	if (*cursor != '}')
	{
		for (;;)
		{
			if (ndays == capacity)
			{
				if (capacity >= (int) (MaxAllocSize / sizeof(int64) / 2))
					purchase_days_syntax(input, "Too many days.");
				capacity *= 2;
				days = repalloc(days, capacity * sizeof(DateADT));
				rows = repalloc(rows, capacity * sizeof(int64));
				amounts = repalloc(amounts, capacity * sizeof(Numeric));
			}
			skip_space(&cursor);
			days[ndays] = parse_day(&cursor, input);
			if (ndays > 0 && days[ndays] <= days[ndays - 1])
				purchase_days_syntax(input, "Days must be in strictly ascending order.");
			skip_space(&cursor);
			if (*cursor != ':')
				purchase_days_syntax(input, "Expected \":\" after a day.");
			cursor++;
			skip_space(&cursor);
			amounts[ndays] = parse_amount(&cursor, input);
			skip_space(&cursor);
			if (*cursor != '/')
				purchase_days_syntax(input, "Expected \"/\" after an amount.");
			cursor++;
			skip_space(&cursor);
			rows[ndays] = parse_rows(&cursor, input);
			ndays++;
			skip_space(&cursor);
			if (*cursor == ',')
			{
				cursor++;
				continue;
			}
			if (*cursor != '}')
				purchase_days_syntax(input, "Expected \",\" or \"}\" after a row count.");
			break;
		}
	}
	cursor++;
	skip_space(&cursor);
	if (*cursor != '\0')
		purchase_days_syntax(input, "Unexpected text after \"}\".");
	PG_RETURN_POINTER(purchase_days_build(ndays, days, rows, amounts));
}

static void
append_day(StringInfo buf, DateADT day)
{
	int			year,
				month,
				mday;

	j2date(day + POSTGRES_EPOCH_JDATE, &year, &month, &mday);
	if (year > 0)
		appendStringInfo(buf, "%04d-%02d-%02d", year, month, mday);
	else
		appendStringInfo(buf, "%04d-%02d-%02d BC", 1 - year, month, mday);
}

PG_FUNCTION_INFO_V1(purchase_days_out);
Datum
purchase_days_out(PG_FUNCTION_ARGS)
{
	PurchaseDays *p = purchase_days_check(PG_GETARG_PURCHASE_DAYS(0));
	PurchaseDaysReader reader;
	Numeric		scratch = NULL;
	Size		capacity = 0;
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	purchase_days_reader_init(&reader, p);
	while (purchase_days_read(&reader))
	{
		Numeric		amount = purchase_days_amount(&reader, &scratch, &capacity);
		char	   *text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(amount)));

		if (buf.len > 1)
			appendStringInfoChar(&buf, ',');
		append_day(&buf, reader.day);
		appendStringInfo(&buf, ":%s/" INT64_FORMAT, text, reader.rows);
		pfree(text);
	}
	appendStringInfoChar(&buf, '}');
	PG_RETURN_CSTRING(buf.data);
}

/* ---------------------------------------------------------------------
 * Binary I/O: version byte, day count, then per day int32 day, int64 rows
 * and the amount as numeric_send writes it, preceded by its length.
 * ---------------------------------------------------------------------
 */

static void
purchase_days_bad_binary(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid binary data for type purchase_days"),
			 errdetail("%s", detail)));
}

PG_FUNCTION_INFO_V1(purchase_days_recv);
Datum
purchase_days_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			version = pq_getmsgbyte(buf);
	int32		ndays;
	DateADT    *days;
	int64	   *rows;
	Numeric    *amounts;

	if (version != PURCHASE_DAYS_VERSION)
		purchase_days_bad_binary("Unsupported format version.");
	ndays = pq_getmsgint(buf, 4);
	/* each day takes at least 4 + 8 + 4 + 8 bytes (a numeric's smallest binary form) */
	if (ndays < 0 || (int64) ndays * 24 > buf->len - buf->cursor)
		purchase_days_bad_binary("The day count does not match the message length.");
	days = palloc(Max(ndays, 1) * sizeof(DateADT));
	rows = palloc(Max(ndays, 1) * sizeof(int64));
	amounts = palloc(Max(ndays, 1) * sizeof(Numeric));
	for (int i = 0; i < ndays; i++)
	{
		int32		len;
		StringInfoData amount_buf;

		days[i] = pq_getmsgint(buf, 4);
		if (!IS_VALID_DATE(days[i]))
			purchase_days_bad_binary("A day is out of range.");
		if (i > 0 && days[i] <= days[i - 1])
			purchase_days_bad_binary("Days must be in strictly ascending order.");
		rows[i] = pq_getmsgint64(buf);
		len = pq_getmsgint(buf, 4);
		if (len < 0 || len > buf->len - buf->cursor)
			purchase_days_bad_binary("An amount's length does not match the message length.");
		amount_buf.data = (char *) pq_getmsgbytes(buf, len);
		amount_buf.len = len;
		amount_buf.maxlen = len;
		amount_buf.cursor = 0;
		amounts[i] = DatumGetNumeric(DirectFunctionCall3(numeric_recv, PointerGetDatum(&amount_buf),
														 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
		if (amount_buf.cursor != amount_buf.len)
			purchase_days_bad_binary("An amount's length does not match its contents.");
		if (numeric_is_nan(amounts[i]) || numeric_is_inf(amounts[i]))
			purchase_days_bad_binary("Amounts must be finite.");
	}
	PG_RETURN_POINTER(purchase_days_build(ndays, days, rows, amounts));
}

PG_FUNCTION_INFO_V1(purchase_days_send);
Datum
purchase_days_send(PG_FUNCTION_ARGS)
{
	PurchaseDays *p = purchase_days_check(PG_GETARG_PURCHASE_DAYS(0));
	PurchaseDaysReader reader;
	Numeric		scratch = NULL;
	Size		capacity = 0;
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, PURCHASE_DAYS_VERSION);
	pq_sendint32(&buf, p->ndays);
	purchase_days_reader_init(&reader, p);
	while (purchase_days_read(&reader))
	{
		Numeric		amount = purchase_days_amount(&reader, &scratch, &capacity);
		bytea	   *sent = DatumGetByteaPP(DirectFunctionCall1(numeric_send, NumericGetDatum(amount)));

		pq_sendint32(&buf, reader.day);
		pq_sendint64(&buf, reader.rows);
		pq_sendint32(&buf, VARSIZE_ANY_EXHDR(sent));
		pq_sendbytes(&buf, VARDATA_ANY(sent), VARSIZE_ANY_EXHDR(sent));
		pfree(sent);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ---------------------------------------------------------------------
 * Merging: the trigger's upsert
 * ---------------------------------------------------------------------
 */

/*
 * Copy the state's days before *until (all of them when until is NULL) into
 * the merge, starting with the one read last; returns whether a state day is
 * left (read).  While the merge ends on the day the run was encoded after,
 * the run's bytes are copied as they are rather than decoded and encoded
 * again, so a one-day change of a long state copies its days in two blocks.
 */
static bool
merge_copy_run(PurchaseDaysBuilder *builder, PurchaseDaysReader *s, const DateADT *until)
{
	const uint8 *start = s->entry;
	DateADT		last;
	int			n = 0;
	bool		have_s;

	if (s->previous_day != builder->last_day)
	{
		purchase_days_builder_add(builder, s->day, s->rows, s->amount, s->amount_len);
		return purchase_days_read(s);
	}
	do
	{
		last = s->day;
		n++;
		have_s = purchase_days_read(s);
	} while (have_s && (until == NULL || s->day < *until));
	purchase_days_builder_add_encoded(builder, start, (have_s ? s->entry : s->next) - start, n, last);
	return have_s;
}

/*
 * purchase_days_merge(state, delta): the days of both, with rows and amounts
 * added on the days they share; a day whose row count becomes 0 is left out
 * (so is a day of delta alone whose count is 0).  A NULL state is an empty
 * one and a NULL delta changes nothing: purchase_days_merge(NULL, value)
 * normalises a value.  Not STRICT for that.  The days of one side alone are
 * copied as they are encoded.
 */
PG_FUNCTION_INFO_V1(purchase_days_merge);
Datum
purchase_days_merge(PG_FUNCTION_ARGS)
{
	PurchaseDays *state = PG_ARGISNULL(0) ? NULL : purchase_days_check(PG_GETARG_PURCHASE_DAYS(0));
	PurchaseDays *delta;
	PurchaseDaysReader s,
				d;
	bool		have_s,
				have_d;
	PurchaseDaysBuilder builder;
	Numeric		scratch_s = NULL,
				scratch_d = NULL;
	Size		capacity_s = 0,
				capacity_d = 0;

	if (PG_ARGISNULL(1))
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	delta = purchase_days_check(PG_GETARG_PURCHASE_DAYS(1));
	purchase_days_builder_init(&builder, (state ? VARSIZE(state) : 0) + VARSIZE(delta));
	if (state)
		purchase_days_reader_init(&s, state);
	else
		s.left = 0;
	purchase_days_reader_init(&d, delta);
	have_s = purchase_days_read(&s);
	have_d = purchase_days_read(&d);
	while (have_s || have_d)
	{
		if (!have_d || (have_s && s.day < d.day))
			have_s = merge_copy_run(&builder, &s, have_d ? &d.day : NULL);
		else if (!have_s || d.day < s.day)
		{
			if (d.rows != 0)
				purchase_days_builder_add(&builder, d.day, d.rows, d.amount, d.amount_len);
			have_d = purchase_days_read(&d);
		}
		else
		{
			int64		rows = purchase_days_add_rows(s.rows, d.rows);

			if (rows != 0)
			{
				Numeric		sum = numeric_add_opt_error(purchase_days_amount(&s, &scratch_s, &capacity_s),
														purchase_days_amount(&d, &scratch_d, &capacity_d),
														NULL);

				purchase_days_builder_add_numeric(&builder, s.day, rows, sum);
				pfree(sum);
			}
			have_s = purchase_days_read(&s);
			have_d = purchase_days_read(&d);
		}
	}
	PG_RETURN_POINTER(purchase_days_builder_finish(&builder));
}

/* ---------------------------------------------------------------------
 * From arrays: purchase_days(days date[], amounts numeric[], rows bigint[])
 * ---------------------------------------------------------------------
 */

typedef struct PurchaseDaysEntry
{
	DateADT		day;
	int			index;			/* position in the arrays: a stable sort */
} PurchaseDaysEntry;

static int
entry_cmp(const void *a, const void *b)
{
	const PurchaseDaysEntry *x = a;
	const PurchaseDaysEntry *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void
deconstruct_checked(ArrayType *array, Oid type, const char *what, Datum **values, int *n)
{
	bool	   *nulls;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	deconstruct_array(array, type, typlen, typbyval, typalign, values, &nulls, n);
	for (int i = 0; i < *n; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", what)));
}

/*
 * The value holding, for each day of days[], the sum of its amounts and rows
 * (a day may repeat: its entries are added up, in any order); days whose rows
 * add up to 0 are left out.  The recount of track_transactions loads the
 * state with it.
 */
PG_FUNCTION_INFO_V1(purchase_days_from_arrays);
Datum
purchase_days_from_arrays(PG_FUNCTION_ARGS)
{
	Datum	   *day_values,
			   *amount_values,
			   *row_values;
	int			n,
				n_amounts,
				n_rows,
				out = 0;
	PurchaseDaysEntry *entries;
	DateADT    *days;
	int64	   *rows;
	Numeric    *amounts;

	deconstruct_checked(PG_GETARG_ARRAYTYPE_P(0), DATEOID, "days", &day_values, &n);
	deconstruct_checked(PG_GETARG_ARRAYTYPE_P(1), NUMERICOID, "amounts", &amount_values, &n_amounts);
	deconstruct_checked(PG_GETARG_ARRAYTYPE_P(2), INT8OID, "rows", &row_values, &n_rows);
	if (n_amounts != n || n_rows != n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("days, amounts and rows must have the same length, got %d, %d and %d",
						n, n_amounts, n_rows)));
	entries = palloc((n + 1) * sizeof(PurchaseDaysEntry));
	for (int i = 0; i < n; i++)
	{
		Numeric		amount = DatumGetNumeric(amount_values[i]);

		entries[i].day = DatumGetDateADT(day_values[i]);
		entries[i].index = i;
		if (DATE_NOT_FINITE(entries[i].day))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("days must be finite")));
		if (numeric_is_nan(amount) || numeric_is_inf(amount))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("amounts must be finite")));
	}
	cs_sort(entries, n, sizeof(PurchaseDaysEntry), entry_cmp);

	days = palloc((n + 1) * sizeof(DateADT));
	rows = palloc((n + 1) * sizeof(int64));
	amounts = palloc((n + 1) * sizeof(Numeric));
	for (int i = 0; i < n;)
	{
		DateADT		day = entries[i].day;
		int64		sum = DatumGetInt64(row_values[entries[i].index]);
		Numeric		amount = DatumGetNumeric(amount_values[entries[i].index]);

		for (i++; i < n && entries[i].day == day; i++)
		{
			sum = purchase_days_add_rows(sum, DatumGetInt64(row_values[entries[i].index]));
			amount = numeric_add_opt_error(amount, DatumGetNumeric(amount_values[entries[i].index]), NULL);
		}
		if (sum == 0)
			continue;
		days[out] = day;
		rows[out] = sum;
		amounts[out++] = amount;
	}
	PG_RETURN_POINTER(purchase_days_build(out, days, rows, amounts));
}

/* ---------------------------------------------------------------------
 * Reading: count, unnest, summary
 * ---------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(purchase_days_count);
Datum
purchase_days_count(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(purchase_days_check(PG_GETARG_PURCHASE_DAYS(0))->ndays);
}

/*
 * purchase_days_is_normal(purchase_days): does the value have a day, and a
 * nonzero row count on every day?  A stored state always is, except where
 * the trigger inserted the delta of a customer it found no state for (which
 * only a state behind its table gives): the trigger then normalises it.
 */
PG_FUNCTION_INFO_V1(purchase_days_is_normal);
Datum
purchase_days_is_normal(PG_FUNCTION_ARGS)
{
	PurchaseDays *p = purchase_days_check(PG_GETARG_PURCHASE_DAYS(0));
	PurchaseDaysReader reader;

	purchase_days_reader_init(&reader, p);
	while (purchase_days_read(&reader))
		if (reader.rows == 0)
			PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(p->ndays > 0);
}

typedef struct UnnestState
{
	PurchaseDaysReader reader;
	Numeric		scratch;
	Size		capacity;
} UnnestState;

/* purchase_days_unnest(purchase_days) -> (day date, amount numeric, rows bigint), in day order */
PG_FUNCTION_INFO_V1(purchase_days_unnest);
Datum
purchase_days_unnest(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	UnnestState *state;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		TupleDesc	desc;

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "purchase_days_unnest must return a row type");
		funcctx->tuple_desc = BlessTupleDesc(desc);
		state = palloc0(sizeof(UnnestState));
		purchase_days_reader_init(&state->reader, purchase_days_check(PG_GETARG_PURCHASE_DAYS(0)));
		funcctx->user_fctx = state;
		MemoryContextSwitchTo(old);
	}
	funcctx = SRF_PERCALL_SETUP();
	state = funcctx->user_fctx;
	if (purchase_days_read(&state->reader))
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		MemoryContext old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);

		values[0] = DateADTGetDatum(state->reader.day);
		values[1] = NumericGetDatum(purchase_days_amount(&state->reader, &state->scratch, &state->capacity));
		values[2] = Int64GetDatum(state->reader.rows);
		MemoryContextSwitchTo(old);
		/* heap_form_tuple copies the amount out of the scratch buffer */
		SRF_RETURN_NEXT(funcctx, HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc, values, nulls)));
	}
	SRF_RETURN_DONE(funcctx);
}

/*
 * purchase_days_summary(days, until) -> (days integer, first_day date,
 * last_day date, first_amount numeric, total numeric, rows bigint): over the
 * days up to until, the count, the first and last day, the first day's
 * amount, the sum of the amounts and of the rows.  NULLs (and a count of 0)
 * when there is no day up to until.  What live_scores reads per customer.
 */
PG_FUNCTION_INFO_V1(purchase_days_summary);
Datum
purchase_days_summary(PG_FUNCTION_ARGS)
{
	PurchaseDays *p = purchase_days_check(PG_GETARG_PURCHASE_DAYS(0));
	DateADT		until = PG_GETARG_DATEADT(1);
	PurchaseDaysReader reader;
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};
	int			n = 0;
	int64		row_sum = 0;
	DateADT		first_day = 0,
				last_day = 0;
	Numeric		first = NULL,
				total = NULL,
				scratch = NULL;
	Size		capacity = 0;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "purchase_days_summary must return a row type");
	purchase_days_reader_init(&reader, p);
	while (purchase_days_read(&reader) && reader.day <= until)
	{
		Numeric		amount = purchase_days_amount(&reader, &scratch, &capacity);

		if (n == 0)
		{
			first_day = reader.day;
			first = palloc(VARSIZE(amount));
			memcpy(first, amount, VARSIZE(amount));
			total = first;
		}
		else
			total = numeric_add_opt_error(total, amount, NULL);
		last_day = reader.day;
		row_sum = purchase_days_add_rows(row_sum, reader.rows);
		n++;
	}
	values[0] = Int32GetDatum(n);
	if (n == 0)
		memset(nulls + 1, true, 5 * sizeof(bool));
	else
	{
		values[1] = DateADTGetDatum(first_day);
		values[2] = DateADTGetDatum(last_day);
		values[3] = NumericGetDatum(first);
		values[4] = NumericGetDatum(total);
		values[5] = Int64GetDatum(row_sum);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/*
 * purchase_days_history(days, until) -> (frequency integer, first_day date,
 * last_day date, monetary double precision, total numeric, purchases bigint):
 * the purchase history of the days up to until under the purchase rule
 * (purchase_rule.h): refund days (amounts netting below 0) are no occasion
 * and net against the occasion before them.  NULL when there is no occasion
 * up to until.  What live_scores reads per customer.
 */
PG_FUNCTION_INFO_V1(purchase_days_history);
Datum
purchase_days_history(PG_FUNCTION_ARGS)
{
	PurchaseDays *p = purchase_days_check(PG_GETARG_PURCHASE_DAYS(0));
	DateADT		until = PG_GETARG_DATEADT(1);
	PurchaseDaysReader reader;
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};
	CsOccasions occasions = CS_OCCASIONS_INIT;
	int64		row_sum = 0;
	Numeric		zero = int64_to_numeric(0),
				total = zero,
				repeat = zero,
				scratch = NULL;
	Size		capacity = 0;
	double		monetary;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "purchase_days_history must return a row type");
	purchase_days_reader_init(&reader, p);
	while (purchase_days_read(&reader) && reader.day <= until)
	{
		Numeric		amount = purchase_days_amount(&reader, &scratch, &capacity);
		bool		refund_day = DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(amount),
																   NumericGetDatum(zero))) < 0;

		if (cs_occasions_add(&occasions, reader.day, refund_day))
			repeat = numeric_add_opt_error(repeat, amount, NULL);
		total = numeric_add_opt_error(total, amount, NULL);
		row_sum = purchase_days_add_rows(row_sum, reader.rows);
	}
	if (occasions.count == 0)
		PG_RETURN_NULL();
	monetary = cs_occasions_monetary(&occasions,
									 DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(repeat))));
	if (monetary > 0)			/* the same mean, divided exactly before rounding to double */
		monetary = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
													  DirectFunctionCall2(numeric_div, NumericGetDatum(repeat),
																		  NumericGetDatum(int64_to_numeric(occasions.count - 1)))));
	values[0] = Int32GetDatum(occasions.count - 1);
	values[1] = DateADTGetDatum(occasions.first_day);
	values[2] = DateADTGetDatum(occasions.last_day);
	values[3] = Float8GetDatum(monetary);
	values[4] = NumericGetDatum(total);
	values[5] = Int64GetDatum(row_sum);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
