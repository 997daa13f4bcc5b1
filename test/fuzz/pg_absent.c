/*
 * pg_absent.c — backend functions that the linked source files reference but the fuzz harness
 * never reaches (aggregate support, tuple descriptors, time zones, jsonb, interval output).
 * Each aborts with its name if it is ever called, so a harness that strays into them fails
 * loudly rather than silently doing something else.  No PostgreSQL header is included: the
 * definitions deliberately do not match the real prototypes, only the symbol names matter.
 */
#include <stdio.h>
#include <stdlib.h>

#define NOT_AVAILABLE(name) \
	void name(void); \
	void name(void) \
	{ \
		fprintf(stderr, "pg_absent: %s is not available in the fuzz harness\n", #name); \
		abort(); \
	}

NOT_AVAILABLE(AggCheckCallContext)
NOT_AVAILABLE(BlessTupleDesc)
NOT_AVAILABLE(CreateTupleDescCopy)
NOT_AVAILABLE(DefineCustomBoolVariable)
NOT_AVAILABLE(DefineCustomIntVariable)
NOT_AVAILABLE(DirectFunctionCall1Coll)
NOT_AVAILABLE(HeapTupleHeaderGetDatum)
NOT_AVAILABLE(get_call_result_type)
NOT_AVAILABLE(heap_form_tuple)
NOT_AVAILABLE(counting_holdout_table_sql)
NOT_AVAILABLE(counting_period_transactions_sql)
NOT_AVAILABLE(counting_prediction_intervals_sql)
NOT_AVAILABLE(counting_tracking_sql)
NOT_AVAILABLE(interval_out)
NOT_AVAILABLE(jsonb_in)
NOT_AVAILABLE(pg_detoast_datum_packed)
NOT_AVAILABLE(MarkGUCPrefixReserved)
NOT_AVAILABLE(MemoryContextAlloc)
NOT_AVAILABLE(MemoryContextAllocZero)
NOT_AVAILABLE(timestamp2tm)
NOT_AVAILABLE(text_to_cstring)
NOT_AVAILABLE(timestamptz_to_str)

/* read only by rfm.c's local_usecs(), which the harness never reaches */
void	   *session_timezone = NULL;
