/*
 * purchase_days.h — one customer's purchase days, packed (SQL type
 * customer_score.purchase_days), the live-score state of one customer.
 *
 * A value is a list of calendar days in ascending order, each with the
 * number of rows counted on it and the exact (numeric) sum of their amounts.
 * customer_score.live_customers keeps one per customer; the live-score
 * trigger (live_days.c) builds one per customer a statement touches, holding
 * that statement's changes (rows may be negative there), and merges it into
 * the stored one with purchase_days_merge.
 *
 * Layout (one varlena, ALIGNMENT = int):
 *
 *   int32    vl_len_
 *   uint8    version    PURCHASE_DAYS_VERSION (1)
 *   uint8    flags      reserved, 0
 *   uint16   reserved   0
 *   int32    ndays
 *   then ndays entries, byte by byte, in day order:
 *     varint  zigzag(day - previous day)   (the first: zigzag(day))
 *     varint  zigzag(rows)
 *     varint  n, then n bytes: the amount, as the bytes of a numeric after
 *             its varlena header
 *
 * A varint is 7 bits per byte, low bits first, the high bit set on every
 * byte but the last.  A typical day (a few rows, an amount of up to 8
 * significant digits) takes about 10 bytes, so a customer with a year of
 * daily purchases (365 days, about 2.6 kB) still fits in a row without TOAST
 * (live_customers sets toast_tuple_target to its maximum): a single-row
 * insert rewrites the customer's days, and rewriting them in place is much
 * cheaper than compressing them or writing them out of line.  The numeric
 * bytes are copied as they are when a day does not change, and made a
 * numeric again (purchase_days_amount) only to add or return them.
 */
#ifndef CUSTOMER_SCORE_PURCHASE_DAYS_H
#define CUSTOMER_SCORE_PURCHASE_DAYS_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/date.h"
#include "utils/numeric.h"

#define PURCHASE_DAYS_VERSION 1

typedef struct PurchaseDays
{
	int32		vl_len_;
	uint8		version;
	uint8		flags;
	uint16		reserved;
	int32		ndays;
	/* the entries: see above */
} PurchaseDays;

#define PURCHASE_DAYS_HEADER sizeof(PurchaseDays)

#define DatumGetPurchaseDays(d) ((PurchaseDays *) PG_DETOAST_DATUM(d))
#define PG_GETARG_PURCHASE_DAYS(n) DatumGetPurchaseDays(PG_GETARG_DATUM(n))

/* Reading the days of a value in order. */
typedef struct PurchaseDaysReader
{
	const uint8 *next;
	const uint8 *end;
	int			left;			/* days not read yet */
	const uint8 *entry;			/* where the entry read last starts */
	DateADT		previous_day;	/* the day its day is encoded relative to */
	DateADT		day;			/* the day read last ... */
	int64		rows;			/* ... its rows ... */
	const uint8 *amount;		/* ... and its amount's numeric bytes */
	uint32		amount_len;
} PurchaseDaysReader;

extern PurchaseDays *purchase_days_check(PurchaseDays *p);
extern void purchase_days_reader_init(PurchaseDaysReader *reader, const PurchaseDays *p);
extern bool purchase_days_read(PurchaseDaysReader *reader);

/* The amount read last as a numeric, in *buffer (grown as needed, palloc'd in the current context). */
extern Numeric purchase_days_amount(const PurchaseDaysReader *reader, Numeric *buffer, Size *capacity);

/* Building a value, day by day in strictly ascending order. */
typedef struct PurchaseDaysBuilder
{
	StringInfoData buf;			/* the value, header included */
	int			ndays;
	DateADT		last_day;
} PurchaseDaysBuilder;

extern void purchase_days_builder_init(PurchaseDaysBuilder *builder, Size size_hint);
extern void purchase_days_builder_add(PurchaseDaysBuilder *builder, DateADT day, int64 rows,
									  const uint8 *amount, uint32 amount_len);
extern void purchase_days_builder_add_numeric(PurchaseDaysBuilder *builder, DateADT day, int64 rows,
											  Numeric amount);
extern void purchase_days_builder_add_encoded(PurchaseDaysBuilder *builder, const uint8 *bytes, Size len,
											  int ndays, DateADT last_day);
extern PurchaseDays *purchase_days_builder_finish(PurchaseDaysBuilder *builder);

/*
 * A value from ndays entries already in strictly ascending day order; the
 * amounts may have short or 4-byte headers.  Allocated in the current memory
 * context.
 */
extern PurchaseDays *purchase_days_build(int ndays, const DateADT *days, const int64 *rows,
										 const Numeric *amounts);

/* SQL purchase_days_merge(state, delta): also called directly by the trigger's upsert */
extern Datum purchase_days_merge(PG_FUNCTION_ARGS);

#endif
