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
 * Layout (one palloc'd varlena; ALIGNMENT = double):
 *
 *   int32    vl_len_
 *   uint8    version    PURCHASE_DAYS_VERSION (1)
 *   uint8    flags      reserved, 0
 *   uint16   reserved   0
 *   int32    ndays
 *   int32    padding    0                              (16 bytes so far)
 *   int64    rows[ndays]
 *   DateADT  days[ndays]                                strictly ascending
 *   then ndays numerics with 4-byte varlena headers, each at an INTALIGN'd
 *   offset, in the order of the days.
 *
 * The days and counts sit at fixed offsets, so the count of days, the first
 * and the last day are read without walking the amounts; the amounts are
 * walked in order (purchase_days_next_amount).
 */
#ifndef CUSTOMER_SCORE_PURCHASE_DAYS_H
#define CUSTOMER_SCORE_PURCHASE_DAYS_H

#include "postgres.h"

#include "fmgr.h"
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
	int32		padding;
	/* int64 rows[ndays], DateADT days[ndays], numerics: see above */
} PurchaseDays;

#define PURCHASE_DAYS_HEADER sizeof(PurchaseDays)

static inline int64 *
purchase_days_rows(PurchaseDays *p)
{
	return (int64 *) ((char *) p + PURCHASE_DAYS_HEADER);
}

static inline DateADT *
purchase_days_days(PurchaseDays *p)
{
	return (DateADT *) ((char *) p + PURCHASE_DAYS_HEADER + sizeof(int64) * p->ndays);
}

/* Offset of the first amount; purchase_days_next_amount walks from there. */
static inline Size
purchase_days_first_amount(const PurchaseDays *p)
{
	return PURCHASE_DAYS_HEADER + (sizeof(int64) + sizeof(DateADT)) * p->ndays;
}

static inline Numeric
purchase_days_next_amount(PurchaseDays *p, Size *offset)
{
	Numeric		amount = (Numeric) ((char *) p + *offset);

	*offset += INTALIGN(VARSIZE(amount));
	return amount;
}

#define DatumGetPurchaseDays(d) ((PurchaseDays *) PG_DETOAST_DATUM(d))
#define PG_GETARG_PURCHASE_DAYS(n) DatumGetPurchaseDays(PG_GETARG_DATUM(n))

/*
 * A value from ndays entries already in strictly ascending day order; the
 * amounts may have short or 4-byte headers (they are copied with 4-byte
 * ones).  Allocated in the current memory context.
 */
extern PurchaseDays *purchase_days_build(int ndays, const DateADT *days, const int64 *rows,
										 const Numeric *amounts);

#endif
