/*
 * interrupts.h — letting cancel and statement_timeout into long computations.
 *
 * Loops over rows, histories or quadrature points call CHECK_FOR_INTERRUPTS() themselves; a
 * sort of millions of entries cannot, so it goes through cs_sort, whose comparator checks
 * every 65,536 comparisons.  pg_qsort sorts in place without allocating, so an error raised
 * from inside it leaves nothing behind.
 */
#ifndef CS_INTERRUPTS_H
#define CS_INTERRUPTS_H

#include <stddef.h>

typedef int (*cs_compare_fn) (const void *a, const void *b);

/* qsort(base, n, size, compare), interruptible */
extern void cs_sort(void *base, size_t n, size_t size, cs_compare_fn compare);

#endif							/* CS_INTERRUPTS_H */
