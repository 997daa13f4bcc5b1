/*
 * fuzz_types.c — a libFuzzer harness over the input functions of the extension's types, linked
 * with the same source files the server loads (src/text_io.c, model_io.c, history.c, rfm.c,
 * bgnbd.c, gamma_gamma.c, pareto_nbd.c, mbgnbd.c) and calling the same entry points (bgnbd_in, bgnbd_recv, ...).
 * pg_stubs.c stands in for the backend; see there for what is real and what is not.
 *
 * CS_FUZZ_TARGET picks the function: bgnbd, gamma_gamma, pareto_nbd, mbgnbd, bgnbd_state,
 * gamma_gamma_state, pareto_nbd_state, mbgnbd_state or rfm_state fuzz the text input function with the input as a C string (cut at the first NUL,
 * as a cstring is); the same names with _recv fuzz the binary receive function with the input
 * as the message, NUL-terminated after its length as the server passes it.
 *
 * An input may be refused only with a clear error: SQLSTATE class 22 (data exception) or 54
 * (program limit), and for binary input also 08P01 (the message is too short).  An internal
 * error (XX000, e.g. elog or palloc's "invalid memory alloc request size") or any other class
 * is a finding.  An accepted value must survive both round trips exactly:
 *     text:    out(in(out(v))) == out(v)
 *     binary:  out(recv(send(v))) == out(v)
 * A finding prints the input and the error, then aborts, so libFuzzer keeps the input as a
 * crash artifact; AddressSanitizer and UndefinedBehaviorSanitizer reports abort the same way.
 *
 * CS_FUZZ_WRITE_BINARY=TEXTDIR:OUTDIR (with CS_FUZZ_TARGET set to a text target) writes the
 * send() form of every valid text seed in TEXTDIR to OUTDIR and exits: the seed corpus of the
 * matching _recv target.
 */
#include "postgres.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "fmgr.h"
#include "lib/stringinfo.h"

#include "pg_stubs.h"

/* the entry points the server calls, from src/bgnbd.c, src/gamma_gamma.c and src/rfm.c */
extern Datum bgnbd_in(PG_FUNCTION_ARGS);
extern Datum bgnbd_out(PG_FUNCTION_ARGS);
extern Datum bgnbd_recv(PG_FUNCTION_ARGS);
extern Datum bgnbd_send(PG_FUNCTION_ARGS);
extern Datum gamma_gamma_in(PG_FUNCTION_ARGS);
extern Datum gamma_gamma_out(PG_FUNCTION_ARGS);
extern Datum gamma_gamma_recv(PG_FUNCTION_ARGS);
extern Datum gamma_gamma_send(PG_FUNCTION_ARGS);
extern Datum bgnbd_state_in(PG_FUNCTION_ARGS);
extern Datum bgnbd_state_out(PG_FUNCTION_ARGS);
extern Datum bgnbd_state_recv(PG_FUNCTION_ARGS);
extern Datum bgnbd_state_send(PG_FUNCTION_ARGS);
extern Datum gamma_gamma_state_in(PG_FUNCTION_ARGS);
extern Datum gamma_gamma_state_out(PG_FUNCTION_ARGS);
extern Datum gamma_gamma_state_recv(PG_FUNCTION_ARGS);
extern Datum gamma_gamma_state_send(PG_FUNCTION_ARGS);
extern Datum pareto_nbd_in(PG_FUNCTION_ARGS);
extern Datum pareto_nbd_out(PG_FUNCTION_ARGS);
extern Datum pareto_nbd_recv(PG_FUNCTION_ARGS);
extern Datum pareto_nbd_send(PG_FUNCTION_ARGS);
extern Datum mbgnbd_in(PG_FUNCTION_ARGS);
extern Datum mbgnbd_out(PG_FUNCTION_ARGS);
extern Datum mbgnbd_recv(PG_FUNCTION_ARGS);
extern Datum mbgnbd_send(PG_FUNCTION_ARGS);
extern Datum pareto_nbd_state_in(PG_FUNCTION_ARGS);
extern Datum pareto_nbd_state_out(PG_FUNCTION_ARGS);
extern Datum pareto_nbd_state_recv(PG_FUNCTION_ARGS);
extern Datum pareto_nbd_state_send(PG_FUNCTION_ARGS);
extern Datum mbgnbd_state_in(PG_FUNCTION_ARGS);
extern Datum mbgnbd_state_out(PG_FUNCTION_ARGS);
extern Datum mbgnbd_state_recv(PG_FUNCTION_ARGS);
extern Datum mbgnbd_state_send(PG_FUNCTION_ARGS);
extern Datum rfm_state_in(PG_FUNCTION_ARGS);
extern Datum rfm_state_out(PG_FUNCTION_ARGS);
extern Datum rfm_state_recv(PG_FUNCTION_ARGS);
extern Datum rfm_state_send(PG_FUNCTION_ARGS);

int			LLVMFuzzerInitialize(int *argc, char ***argv);
int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct FuzzType
{
	const char *name;
	PGFunction	in;
	PGFunction	out;
	PGFunction	recv;
	PGFunction	send;
} FuzzType;

static const FuzzType types[] = {
	{"bgnbd", bgnbd_in, bgnbd_out, bgnbd_recv, bgnbd_send},
	{"gamma_gamma", gamma_gamma_in, gamma_gamma_out, gamma_gamma_recv, gamma_gamma_send},
	{"bgnbd_state", bgnbd_state_in, bgnbd_state_out, bgnbd_state_recv, bgnbd_state_send},
	{"gamma_gamma_state", gamma_gamma_state_in, gamma_gamma_state_out, gamma_gamma_state_recv,
	gamma_gamma_state_send},
	{"rfm_state", rfm_state_in, rfm_state_out, rfm_state_recv, rfm_state_send},
	{"pareto_nbd", pareto_nbd_in, pareto_nbd_out, pareto_nbd_recv, pareto_nbd_send},
	{"mbgnbd", mbgnbd_in, mbgnbd_out, mbgnbd_recv, mbgnbd_send},
	{"pareto_nbd_state", pareto_nbd_state_in, pareto_nbd_state_out, pareto_nbd_state_recv,
	pareto_nbd_state_send},
	{"mbgnbd_state", mbgnbd_state_in, mbgnbd_state_out, mbgnbd_state_recv, mbgnbd_state_send},
};

static const FuzzType *type;
static bool binary;				/* fuzz recv rather than in */

/* the input being tried, for reports */
static const uint8_t *current_data;
static size_t current_size;

static void
print_bytes(const char *label, const uint8_t *data, size_t size)
{
	fprintf(stderr, "%s (%zu bytes): \"", label, size);
	for (size_t i = 0; i < size && i < 2000; i++)
	{
		if (data[i] >= 0x20 && data[i] < 0x7f && data[i] != '"' && data[i] != '\\')
			fputc(data[i], stderr);
		else
			fprintf(stderr, "\\x%02x", data[i]);
	}
	fprintf(stderr, "%s\"\n", size > 2000 ? "..." : "");
}

static void
print_error(void)
{
	char		sqlstate[6];

	fuzz_sqlstate(fuzz_error.sqlerrcode, sqlstate);
	fprintf(stderr, "error %s: %s\n", sqlstate, fuzz_error.message);
	if (fuzz_error.detail[0])
		fprintf(stderr, "detail: %s\n", fuzz_error.detail);
	fprintf(stderr, "raised at %s:%d in %s()\n",
			fuzz_error.filename ? fuzz_error.filename : "?", fuzz_error.lineno,
			fuzz_error.funcname ? fuzz_error.funcname : "?");
}

/* A finding: say what and abort, so that libFuzzer saves the input. */
static void pg_attribute_noreturn()
finding(const char *what, bool with_error)
{
	fprintf(stderr, "\n==== customer_score fuzz finding: %s%s, %s\n", type->name,
			binary ? "_recv" : "_in", what);
	print_bytes("input", current_data, current_size);
	if (with_error)
		print_error();
	abort();
}

/*
 * fn(arg) called as the server calls an input or receive function (arg, typioparam, typmod) or
 * an output or send function (arg).  Returns false with fuzz_error set when it raised an error.
 */
static bool
try_call(PGFunction fn, Datum arg, int nargs, Datum *result)
{
	LOCAL_FCINFO(fcinfo, 3);
	sigjmp_buf	jump;

	InitFunctionCallInfoData(*fcinfo, NULL, nargs, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = arg;
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = ObjectIdGetDatum(InvalidOid);
	fcinfo->args[1].isnull = false;
	fcinfo->args[2].value = Int32GetDatum(-1);
	fcinfo->args[2].isnull = false;
	if (sigsetjmp(jump, 0) != 0)
	{
		fuzz_error_jump = NULL;
		return false;
	}
	fuzz_error_jump = &jump;
	*result = fn(fcinfo);
	fuzz_error_jump = NULL;
	if (fcinfo->isnull)
		finding("a function returned NULL", false);
	return true;
}

/* A refusal must be a data exception, a program limit or (binary) a short message. */
static void
check_refusal(void)
{
	char		sqlstate[6];

	fuzz_sqlstate(fuzz_error.sqlerrcode, sqlstate);
	if (strncmp(sqlstate, "22", 2) == 0 || strncmp(sqlstate, "54", 2) == 0)
		return;
	if (binary && strcmp(sqlstate, "08P01") == 0)
		return;
	finding("refused with an error that is not a data exception", true);
}

/* The message the server would hand a receive function: a copy, NUL-terminated after len. */
static StringInfo
make_message(const void *data, size_t size)
{
	StringInfo	msg = palloc(sizeof(StringInfoData));

	msg->data = palloc(size + 1);
	memcpy(msg->data, data, size);
	msg->data[size] = '\0';
	msg->len = (int) size;
	msg->maxlen = (int) size + 1;
	msg->cursor = 0;
	return msg;
}

static char *
output(Datum value, const char *what)
{
	Datum		text;

	if (!try_call(type->out, value, 1, &text))
	{
		fprintf(stderr, "(output of %s)\n", what);
		finding("an accepted value cannot be printed", true);
	}
	return DatumGetCString(text);
}

/* An accepted value must read back from its text and its binary form exactly. */
static void
check_round_trips(Datum value)
{
	char	   *text = output(value, "the accepted value");
	Datum		again;
	Datum		sent;
	bytea	   *bin;

	if (!try_call(type->in, CStringGetDatum(text), 3, &again))
	{
		fprintf(stderr, "text output: %s\n", text);
		finding("the text output of an accepted value is refused", true);
	}
	if (strcmp(output(again, "the re-read text"), text) != 0)
	{
		fprintf(stderr, "text output: %s\nread back:   %s\n", text, output(again, "the re-read text"));
		finding("the text round trip changes the value", false);
	}

	if (!try_call(type->send, value, 1, &sent))
		finding("an accepted value cannot be sent", true);
	bin = (bytea *) DatumGetPointer(sent);	/* from pq_endtypsend: a 4-byte header */
	if (!try_call(type->recv, PointerGetDatum(make_message(VARDATA(bin), VARSIZE(bin) - VARHDRSZ)),
				  3, &again))
	{
		fprintf(stderr, "text output: %s\n", text);
		finding("the binary form of an accepted value is refused", true);
	}
	if (strcmp(output(again, "the received value"), text) != 0)
	{
		fprintf(stderr, "text output: %s\nreceived:    %s\n", text, output(again, "the received value"));
		finding("the binary round trip changes the value", false);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Datum		value;
	bool		ok;

	current_data = data;
	current_size = size;
	if (binary)
		ok = try_call(type->recv, PointerGetDatum(make_message(data, size)), 3, &value);
	else
	{
		char	   *input = palloc(size + 1);

		memcpy(input, data, size);
		input[size] = '\0';
		ok = try_call(type->in, CStringGetDatum(input), 3, &value);
	}
	if (ok)
		check_round_trips(value);
	else
		check_refusal();
	fuzz_reset_memory();
	return 0;
}

/* CS_FUZZ_WRITE_BINARY=TEXTDIR:OUTDIR: the binary form of each valid text seed, then exit. */
static void
write_binary_seeds(const char *spec)
{
	char	   *textdir = strdup(spec);
	char	   *outdir = strchr(textdir, ':');
	DIR		   *dir;
	struct dirent *entry;
	int			written = 0;

	if (outdir == NULL)
	{
		fprintf(stderr, "CS_FUZZ_WRITE_BINARY must be TEXTDIR:OUTDIR\n");
		exit(2);
	}
	*outdir++ = '\0';
	if ((dir = opendir(textdir)) == NULL)
	{
		perror(textdir);
		exit(2);
	}
	while ((entry = readdir(dir)) != NULL)
	{
		char		path[4096];
		char		text[65536];
		FILE	   *f;
		size_t		n;
		Datum		value;
		Datum		sent;

		if (entry->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", textdir, entry->d_name);
		if ((f = fopen(path, "rb")) == NULL)
			continue;
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[n] = '\0';
		if (!try_call(type->in, CStringGetDatum(text), 3, &value) ||
			!try_call(type->send, value, 1, &sent))
			continue;			/* seeds may be invalid on purpose */
		snprintf(path, sizeof(path), "%s/%s.bin", outdir, entry->d_name);
		if ((f = fopen(path, "wb")) == NULL)
		{
			perror(path);
			exit(2);
		}
		fwrite(VARDATA(DatumGetPointer(sent)), 1, VARSIZE(DatumGetPointer(sent)) - VARHDRSZ, f);
		fclose(f);
		written++;
		fuzz_reset_memory();
	}
	closedir(dir);
	fprintf(stderr, "wrote %d binary seeds for %s_recv to %s\n", written, type->name, outdir);
	exit(0);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *target = getenv("CS_FUZZ_TARGET");
	const char *seeds = getenv("CS_FUZZ_WRITE_BINARY");

	for (size_t i = 0; target != NULL && i < lengthof(types); i++)
	{
		size_t		len = strlen(types[i].name);

		if (strcmp(target, types[i].name) == 0 ||
			(strncmp(target, types[i].name, len) == 0 && strcmp(target + len, "_recv") == 0))
		{
			type = &types[i];
			binary = target[len] != '\0';
		}
	}
	if (type == NULL)
	{
		fprintf(stderr, "set CS_FUZZ_TARGET to one of:");
		for (size_t i = 0; i < lengthof(types); i++)
			fprintf(stderr, " %s %s_recv", types[i].name, types[i].name);
		fprintf(stderr, "\n");
		exit(2);
	}
	if (seeds != NULL)
		write_binary_seeds(seeds);
	return 0;
}
