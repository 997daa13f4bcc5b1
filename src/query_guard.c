/*
 * query_guard.c — read-only queries, and reading a source as the role that configured it.
 *
 * refresh reads the relations that set_source configured, often views.  A view's functions run
 * with the rights of whoever executes the query, so a view chosen by one role and read by a
 * superuser's refresh would act with the superuser's rights (a confused deputy).  read_as runs
 * such a query the way PostgreSQL runs a table owner's code during maintenance commands: as the
 * configuring role, inside a security-restricted operation (no SET ROLE or RESET ROLE back, no
 * temporary objects, setting changes undone at the end), with the transaction read-only.  The
 * calling role must have the privileges of the role it reads as, so reading as it never gains
 * anything.  Every read of one refresh (one snapshot key) in a transaction sees one snapshot, so
 * the run's components agree with each other under concurrent writes.
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/tstoreReceiver.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/plancache.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "query_guard.h"

/* Why a query is not read-only, or NULL when it is. */
static const char *
not_read_only_reason(const CachedPlanSource *source)
{
	ListCell   *lc;

	foreach(lc, source->query_list)
	{
		Query	   *query = lfirst_node(Query, lc);

		if (query->commandType == CMD_UTILITY)
			return psprintf("It is a %s command.", GetCommandTagName(source->commandTag));
		if (query->commandType != CMD_SELECT)
			return psprintf("It is %s: data-modifying statements are not read.",
							GetCommandTagName(source->commandTag));
		if (query->hasModifyingCTE)
			return "Its WITH clause modifies data.";
		if (query->rowMarks != NIL)
			return "It locks rows (FOR UPDATE or FOR SHARE).";
	}
	return NULL;
}

void
cs_require_read_only(SPIPlanPtr plan, const char *what)
{
	ListCell   *lc;

	foreach(lc, SPI_plan_get_plan_sources(plan))
	{
		const char *reason = not_read_only_reason((CachedPlanSource *) lfirst(lc));

		if (reason != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
					 errmsg("the %s query must be read-only", what),
					 errdetail_internal("%s", reason),
					 errhint("Pass a SELECT that returns the rows to read.")));
	}
}

void
cs_execute_read_only(SPIPlanPtr plan, const SPIExecuteOptions *options, const char *what)
{
	bool		was_read_only = XactReadOnly;
	int			rc = 0;

	/* a function the query calls must not write either: 25006 from the executor */
	XactReadOnly = true;
	PG_TRY();
	{
		rc = SPI_execute_plan_extended(plan, options);
	}
	PG_FINALLY();
	{
		XactReadOnly = was_read_only;
	}
	PG_END_TRY();
	if (rc < 0)
		elog(ERROR, "SPI_execute_plan_extended failed for the %s query: %s",
			 what, SPI_result_code_string(rc));
}

/* ---------------------------------------------------------------------
 * One snapshot per refresh: registered at its first read, released at
 * the end of the transaction.
 * ---------------------------------------------------------------------
 */

static Snapshot source_snapshot = NULL;
static LocalTransactionId source_snapshot_lxid = InvalidLocalTransactionId;
static int64 source_snapshot_key = 0;
static bool source_snapshot_callback_registered = false;

/* Transaction callback: give the snapshot back before commit (an abort releases it itself). */
static void
release_source_snapshot(XactEvent event, void *arg)
{
	if (source_snapshot == NULL)
		return;
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PARALLEL_PRE_COMMIT ||
		event == XACT_EVENT_PRE_PREPARE)
		UnregisterSnapshotFromOwner(source_snapshot, TopTransactionResourceOwner);
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PARALLEL_PRE_COMMIT ||
		event == XACT_EVENT_PRE_PREPARE || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_ABORT)
	{
		source_snapshot = NULL;
		source_snapshot_lxid = InvalidLocalTransactionId;
	}
}

/* The snapshot every read with this key shares in the current transaction. */
static Snapshot
snapshot_for(int64 key)
{
	if (source_snapshot != NULL && source_snapshot_lxid == MyProc->lxid &&
		source_snapshot_key == key)
		return source_snapshot;
	if (!source_snapshot_callback_registered)
	{
		RegisterXactCallback(release_source_snapshot, NULL);
		source_snapshot_callback_registered = true;
	}
	if (source_snapshot != NULL && source_snapshot_lxid == MyProc->lxid)
		UnregisterSnapshotFromOwner(source_snapshot, TopTransactionResourceOwner);
	source_snapshot = RegisterSnapshotOnOwner(GetTransactionSnapshot(), TopTransactionResourceOwner);
	source_snapshot_lxid = MyProc->lxid;
	source_snapshot_key = key;
	return source_snapshot;
}

/* The caller may read as role: it has that role's privileges (so it gains nothing). */
static void
check_may_read_as(Oid role)
{
	Oid			caller = GetUserId();

	if (!has_privs_of_role(caller, role))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" may not read the sources configured by role \"%s\"",
						GetUserNameFromId(caller, false), GetUserNameFromId(role, false)),
				 errdetail("Sources are read with the rights of the role that configured them, "
						   "and only by a role that has those rights itself."),
				 errhint("Run this as \"%s\", GRANT \"%s\" TO \"%s\", or set the sources again with set_source.",
						 GetUserNameFromId(role, false), GetUserNameFromId(role, false),
						 GetUserNameFromId(caller, false))));
}

/*
 * read_as(role regrole, query text, snapshot_key bigint, parallel boolean) RETURNS SETOF record:
 * the rows of a read-only query, run as role in a security-restricted operation under the
 * snapshot of the key's first read in this transaction.  The column definition list must match
 * the query's columns.  With parallel the planner may use parallel workers (they run as role, in
 * the same restricted operation, under the same snapshot): only for a query whose rows come out
 * the same however the workers split the scan, as an ORDER BY over an exact aggregate does.
 */
PG_FUNCTION_INFO_V1(read_as);
Datum
read_as(PG_FUNCTION_ARGS)
{
	Oid			role = PG_GETARG_OID(0);
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int64		key = PG_GETARG_INT64(2);
	bool		parallel = PG_NARGS() > 3 && PG_GETARG_BOOL(3);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DestReceiver *dest;
	SPIExecuteOptions options;
	SPIPlanPtr	plan;
	Snapshot	snapshot;
	Oid			saved_user;
	int			saved_context,
				guc_level;

	check_may_read_as(role);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	dest = CreateDestReceiver(DestTuplestore);
	SetTuplestoreDestReceiverParams(dest, rsinfo->setResult,
									rsinfo->econtext->ecxt_per_query_memory, false,
									rsinfo->setDesc,
									"the source query's columns do not match the column definition list");
	snapshot = snapshot_for(key);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* an error on the way out is cleaned up by the (sub)transaction abort: user, settings */
	GetUserIdAndSecContext(&saved_user, &saved_context);
	SetUserIdAndSecContext(role, saved_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	guc_level = NewGUCNestLevel();
	/*
	 * A participating leader would hold its own partial aggregate beside the combined one; with
	 * the workers doing every partial it holds only the latter, as a serial plan does.
	 */
	if (parallel)
		(void) set_config_option("parallel_leader_participation", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);

	plan = SPI_prepare_cursor(sql, 0, NULL, parallel ? CURSOR_OPT_PARALLEL_OK : 0);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for the source query: %s", SPI_result_code_string(SPI_result));
	cs_require_read_only(plan, "source");
	memset(&options, 0, sizeof(options));
	options.read_only = true;	/* run under the active snapshot as it is */
	options.dest = dest;
	PushActiveSnapshot(snapshot);
	cs_execute_read_only(plan, &options, "source");
	PopActiveSnapshot();

	AtEOXact_GUC(false, guc_level);
	SetUserIdAndSecContext(saved_user, saved_context);
	SPI_finish();
	dest->rDestroy(dest);
	return (Datum) 0;
}
