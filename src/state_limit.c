/*
 * state_limit.c — the customer_score.max_state_size setting (see state_limit.h).
 */
#include "postgres.h"

#include "utils/guc.h"
#include "utils/memutils.h"

#include "state_limit.h"

int			cs_max_state_kb = 256 * 1024;

void
cs_define_state_limit(void)
{
	DefineCustomIntVariable("customer_score.max_state_size",
							"The most memory one aggregate state of customer_score may take.",
							"States that hold a group's rows (rfm) or distinct histories (the fits) "
							"stop with an error past it.",
							&cs_max_state_kb,
							256 * 1024,
							1024,
							(int) (MaxAllocSize / 1024),
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("customer_score");
}

int64
cs_state_capacity_limit(Size header, Size elem_size)
{
	int64		bytes = Min((int64) cs_max_state_kb * 1024, (int64) MaxAllocSize);

	return bytes <= (int64) header ? 0 : (bytes - (int64) header) / (int64) elem_size;
}

void
cs_check_state_limit(Size header, Size elem_size, int64 n, const char *type_name,
					 const char *counted)
{
	if (n <= cs_state_capacity_limit(header, elem_size))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("%s state of " INT64_FORMAT " %s would take more than customer_score.max_state_size (%d kB)",
					type_name, n, counted, cs_max_state_kb),
			 errdetail("One state of %s holds " INT64_FORMAT " %s at most under this setting, and "
					   INT64_FORMAT " at most at its 1 GB ceiling.", type_name,
					   cs_state_capacity_limit(header, elem_size), counted,
					   (int64) ((MaxAllocSize - header) / elem_size)),
			 errhint("Raise customer_score.max_state_size for this session (up to 1GB), or split the group.")));
}
