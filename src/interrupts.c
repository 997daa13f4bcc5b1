/*
 * interrupts.c — an interruptible sort (see interrupts.h).
 */
#include "postgres.h"

#include "miscadmin.h"

#include "interrupts.h"

/* qsort_arg comparator: the caller's comparison, with an interrupt check now and then */
static int
compare_checking_interrupts(const void *a, const void *b, void *arg)
{
	static uint32 comparisons = 0;

	if ((++comparisons & 0xFFFF) == 0)
		CHECK_FOR_INTERRUPTS();
	return ((cs_compare_fn) arg) (a, b);
}

/* Sort like qsort, answering cancel and statement_timeout while it runs. */
void
cs_sort(void *base, size_t n, size_t size, cs_compare_fn compare)
{
	qsort_arg(base, n, size, compare_checking_interrupts, (void *) compare);
}
