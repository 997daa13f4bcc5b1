/*
 * pg_stubs.h — what the fuzz harness needs from its stand-ins for the backend (pg_stubs.c).
 */
#ifndef CS_FUZZ_PG_STUBS_H
#define CS_FUZZ_PG_STUBS_H

#include "postgres.h"

#include <setjmp.h>

/* the last error raised with ereport/elog at ERROR or above */
typedef struct FuzzError
{
	int			elevel;
	int			sqlerrcode;
	char		message[1024];
	char		detail[1024];
	char		hint[1024];
	const char *filename;
	int			lineno;
	const char *funcname;
} FuzzError;

extern FuzzError fuzz_error;
/* where errfinish jumps for ERROR and above; NULL outside a call (an error then aborts) */
extern sigjmp_buf *fuzz_error_jump;

/* free every chunk palloc handed out since the last reset (a memory context reset) */
extern void fuzz_reset_memory(void);
/* the five-character SQLSTATE of an error code, into out[6] */
extern void fuzz_sqlstate(int sqlerrcode, char *out);

#endif
