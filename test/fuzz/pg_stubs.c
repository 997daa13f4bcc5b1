/*
 * pg_stubs.c — the little of the PostgreSQL backend that the extension's type I/O needs, so that
 * the fuzz harness can link src/text_io.c, src/model_io.c, src/history.c, src/rfm.c,
 * src/bgnbd.c and src/gamma_gamma.c unchanged, outside a server.
 *
 * What is real and what is stubbed:
 *
 *   from PostgreSQL itself    double_to_shortest_decimal_buf (libpgcommon.a, d2s.o), the
 *                             StringInfo functions (libpgcommon.a, stringinfo.o: the frontend build,
 *                             which exits on a > 1 GB string where the server raises an error),
 *                             pg_snprintf and pg_qsort (libpgport.a)
 *   reimplemented here        palloc, palloc0, repalloc, pfree: one malloc per chunk, so that
 *                             AddressSanitizer sees every chunk's bounds (the server's allocator
 *                             hands out pieces of larger blocks); each chunk is remembered and
 *                             fuzz_reset_memory() frees them all after an input, as a memory
 *                             context reset does.  Requests above MaxAllocSize fail like palloc
 *                             ("invalid memory alloc request size", XX000).
 *                             ereport/elog (errstart, errcode, errmsg, ..., errfinish): the error
 *                             is recorded (level, SQLSTATE, message, detail, source location)
 *                             and errfinish longjmps back to the harness for ERROR and above,
 *                             as PG_TRY/PG_CATCH would; lower levels are dropped.
 *                             pq_getmsgbyte, pq_getmsgint, pq_getmsgint64, pq_getmsgfloat8,
 *                             pq_copymsgbytes, pq_sendfloat8, pq_begintypsend, pq_endtypsend:
 *                             the same semantics as src/backend/libpq/pqformat.c (reads past
 *                             the end raise 08P01 "insufficient data left in message").
 *                             pg_detoast_datum: returns its argument (the harness never builds
 *                             toasted or short-header values); aborts on one.
 *                             pq_sendbytes: as pqformat.c's.
 *                             pg_tzset, pg_get_timezone_name, pg_get_timezone_offset: one zone,
 *                             "UTC" (any case), with offset 0; every other name is unknown, so
 *                             rfm_state's "zone=" is fuzzed with the one zone the stub knows.
 *   not available             everything else the linked files reference (aggregate context,
 *                             tuple descriptors, time zones, jsonb, interval output): these
 *                             belong to functions the harness never calls; pg_absent.c defines
 *                             each to abort loudly with its name if it ever is called.
 */
#include "postgres.h"

#include "pgtime.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/memutils.h"

#include "pg_stubs.h"

/* ---------------------------------------------------------------------
 * Memory: one malloc per chunk, all freed by fuzz_reset_memory()
 * ---------------------------------------------------------------------
 */

MemoryContext CurrentMemoryContext = NULL;

static void **chunks;
static size_t nchunks;
static size_t chunks_capacity;

static void
remember_chunk(void *p)
{
	if (nchunks == chunks_capacity)
	{
		chunks_capacity = chunks_capacity ? chunks_capacity * 2 : 256;
		chunks = realloc(chunks, chunks_capacity * sizeof(void *));
		if (chunks == NULL)
			abort();
	}
	chunks[nchunks++] = p;
}

/* the slot of a chunk, searched from the most recent: there are few per input */
static size_t
chunk_slot(void *p)
{
	for (size_t i = nchunks; i > 0; i--)
		if (chunks[i - 1] == p)
			return i - 1;
	fprintf(stderr, "pg_stubs: pfree/repalloc of a pointer palloc did not return: %p\n", p);
	abort();
}

static void
check_alloc_size(Size size)
{
	if (!AllocSizeIsValid(size))
		elog(ERROR, "invalid memory alloc request size %zu", size);
}

void *
palloc(Size size)
{
	void	   *p;

	check_alloc_size(size);
	p = malloc(size > 0 ? size : 1);
	if (p == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	remember_chunk(p);
	return p;
}

void *
palloc0(Size size)
{
	void	   *p = palloc(size);

	memset(p, 0, size);
	return p;
}

void *
repalloc(void *pointer, Size size)
{
	size_t		slot = chunk_slot(pointer);
	void	   *p;

	check_alloc_size(size);
	p = realloc(pointer, size > 0 ? size : 1);
	if (p == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	chunks[slot] = p;
	return p;
}

void
pfree(void *pointer)
{
	size_t		slot = chunk_slot(pointer);

	free(pointer);
	chunks[slot] = chunks[--nchunks];
}

/* CHECK_FOR_INTERRUPTS: nothing ever interrupts the harness */
volatile sig_atomic_t InterruptPending = false;

void
ProcessInterrupts(void)
{
}

void
fuzz_reset_memory(void)
{
	for (size_t i = 0; i < nchunks; i++)
		free(chunks[i]);
	nchunks = 0;
}

/* ---------------------------------------------------------------------
 * Errors: record, then longjmp to the harness
 * ---------------------------------------------------------------------
 */

FuzzError	fuzz_error;
sigjmp_buf *fuzz_error_jump = NULL;
static bool error_reported;		/* errstart said yes: errfinish to come */

bool
errstart(int elevel, const char *domain)
{
	if (elevel < ERROR)
		return false;			/* notices and warnings go nowhere */
	memset(&fuzz_error, 0, sizeof(fuzz_error));
	fuzz_error.elevel = elevel;
	fuzz_error.sqlerrcode = ERRCODE_INTERNAL_ERROR;	/* errstart's default for ERROR */
	error_reported = true;
	return true;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

int
errcode(int sqlerrcode)
{
	fuzz_error.sqlerrcode = sqlerrcode;
	return 0;
}

#define FORMAT_INTO(field, fmt) \
	do { \
		va_list		args; \
		va_start(args, fmt); \
		vsnprintf(field, sizeof(field), fmt, args); \
		va_end(args); \
	} while (0)

int
errmsg(const char *fmt,...)
{
	FORMAT_INTO(fuzz_error.message, fmt);
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	FORMAT_INTO(fuzz_error.message, fmt);
	return 0;
}

int
errdetail(const char *fmt,...)
{
	FORMAT_INTO(fuzz_error.detail, fmt);
	return 0;
}

int
errhint(const char *fmt,...)
{
	FORMAT_INTO(fuzz_error.hint, fmt);
	return 0;
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (!error_reported)
		return;
	error_reported = false;
	fuzz_error.filename = filename;
	fuzz_error.lineno = lineno;
	fuzz_error.funcname = funcname;
	if (fuzz_error_jump == NULL)
	{
		fprintf(stderr, "pg_stubs: error outside the harness: %s (%s:%d)\n",
				fuzz_error.message, filename, lineno);
		abort();
	}
	siglongjmp(*fuzz_error_jump, 1);
}

void
fuzz_sqlstate(int sqlerrcode, char *out)
{
	for (int i = 0; i < 5; i++)
	{
		out[i] = PGUNSIXBIT(sqlerrcode);
		sqlerrcode >>= 6;
	}
	out[5] = '\0';
}

/* ---------------------------------------------------------------------
 * Binary I/O, as in src/backend/libpq/pqformat.c
 * ---------------------------------------------------------------------
 */

void
pq_copymsgbytes(StringInfo msg, char *buf, int datalen)
{
	if (datalen < 0 || datalen > (msg->len - msg->cursor))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("insufficient data left in message")));
	memcpy(buf, &msg->data[msg->cursor], datalen);
	msg->cursor += datalen;
}

int
pq_getmsgbyte(StringInfo msg)
{
	if (msg->cursor >= msg->len)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("no data left in message")));
	return (unsigned char) msg->data[msg->cursor++];
}

unsigned int
pq_getmsgint(StringInfo msg, int b)
{
	unsigned char n8;
	uint16		n16;
	uint32		n32;

	switch (b)
	{
		case 1:
			pq_copymsgbytes(msg, (char *) &n8, 1);
			return n8;
		case 2:
			pq_copymsgbytes(msg, (char *) &n16, 2);
			return pg_ntoh16(n16);
		case 4:
			pq_copymsgbytes(msg, (char *) &n32, 4);
			return pg_ntoh32(n32);
		default:
			elog(ERROR, "unsupported integer size %d", b);
			return 0;
	}
}

int64
pq_getmsgint64(StringInfo msg)
{
	uint64		n64;

	pq_copymsgbytes(msg, (char *) &n64, sizeof(n64));
	return pg_ntoh64(n64);
}

float8
pq_getmsgfloat8(StringInfo msg)
{
	union
	{
		float8		f;
		int64		i;
	}			swap;

	swap.i = pq_getmsgint64(msg);
	return swap.f;
}

void
pq_sendfloat8(StringInfo buf, float8 f)
{
	union
	{
		float8		f;
		int64		i;
	}			swap;

	swap.f = f;
	pq_sendint64(buf, swap.i);
}

void
pq_begintypsend(StringInfo buf)
{
	initStringInfo(buf);
	/* reserve four bytes for the bytea length word */
	appendStringInfoCharMacro(buf, '\0');
	appendStringInfoCharMacro(buf, '\0');
	appendStringInfoCharMacro(buf, '\0');
	appendStringInfoCharMacro(buf, '\0');
}

bytea *
pq_endtypsend(StringInfo buf)
{
	bytea	   *result = (bytea *) buf->data;

	SET_VARSIZE(result, buf->len);
	return result;
}

void
pq_sendbytes(StringInfo buf, const char *data, int datalen)
{
	appendBinaryStringInfo(buf, data, datalen);
}

/* ---------------------------------------------------------------------
 * Time zones: UTC only
 * ---------------------------------------------------------------------
 */

static char fuzz_utc_zone;		/* its address stands for the zone */

pg_tz *
pg_tzset(const char *name)
{
	return pg_strcasecmp(name, "UTC") == 0 ? (pg_tz *) &fuzz_utc_zone : NULL;
}

const char *
pg_get_timezone_name(pg_tz *tz)
{
	return tz == (pg_tz *) &fuzz_utc_zone ? "UTC" : NULL;
}

bool
pg_get_timezone_offset(const pg_tz *tz, long int *gmtoff)
{
	*gmtoff = 0;
	return true;
}

/* ---------------------------------------------------------------------
 * Datums
 * ---------------------------------------------------------------------
 */

struct varlena *
pg_detoast_datum(struct varlena *datum)
{
	if (VARATT_IS_EXTENDED(datum))
	{
		fprintf(stderr, "pg_stubs: pg_detoast_datum of a toasted or short-header value\n");
		abort();
	}
	return datum;
}
