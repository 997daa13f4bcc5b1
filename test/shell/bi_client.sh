#!/usr/bin/env bash
# A BI tool's view of the extension: a standard client driver (Debian's python3-psycopg2, as
# scripts/ensure-deps.sh installs it) reads every explanation view in a fresh database after a
# refresh, and checks that
#   (a) every column has a standard type (int2/int4/int8, numeric, float4/float8, text/varchar,
#       bool, timestamptz, date): no types of the extension, no jsonb, no arrays;
#   (b) the rows are the ones psql returns for the same query, value for value (the driver's
#       values formatted the way PostgreSQL prints them);
#   (c) psql returns the same values when the planner is pushed to other plans (a BI tool adds
#       filters and joins of its own); known exceptions are TODO tests.
# Every view the extension owns is read, so a new view is covered as soon as it exists.
set -u
source "$REPO/test/lib/tap.sh"
db=cs_bi_client
# /usr/bin/python3 is Debian's, with python3-psycopg2; the python3 on PATH may be another one.
py=/usr/bin/python3

if ! "$py" -c 'import psycopg2' 2>/dev/null; then
  check "psycopg2 is importable by $py (python3-psycopg2, scripts/ensure-deps.sh)" "yes" "no"
  echo "1..$_tap_n"
  exit 0
fi

reader=cs_bi_reader   # a BI tool's read-only login
q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "DROP ROLE IF EXISTS $reader" >/dev/null
q -d postgres -c "CREATE DATABASE $db" -c "CREATE ROLE $reader LOGIN" >/dev/null
setup=$(PGTZ=UTC q -d "$db" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION customer_score;
CREATE SCHEMA crm;
-- 60 customers over 2024; customer c buys (c % 6) + 1 times, every 9 + c % 11 days, amounts with cents
CREATE TABLE crm.tx (customer_id bigint, at timestamptz, amount numeric(10,2));
INSERT INTO crm.tx
SELECT c, '2024-01-02'::timestamptz + (k * (9 + c % 11) + c % 13) * interval '1 day' + (c % 7) * interval '1 hour',
       round((12.5 + (c * 7 + k * 3) % 40 + (c % 3) * 0.37)::numeric, 2)
FROM generate_series(1, 60) c, generate_series(0, c % 6) k;
-- actions of half of them: reviews, answers and a referral, purchases and likes they sparked
CREATE TABLE crm.actions (id bigint, customer_id bigint, sparked_by bigint, at timestamptz, value float8,
                          channel text, kind text);
INSERT INTO crm.actions
SELECT g, 2 * g, NULL, '2024-01-10'::timestamptz + g * interval '3 days', 0, 'community',
       (ARRAY['review', 'answer', 'referral', 'blog_post'])[1 + g % 4]
FROM generate_series(1, 15) g
UNION ALL
SELECT 100 + g, 1 + (g * 7) % 60, 1 + g % 15, '2024-01-10'::timestamptz + (g % 15) * interval '3 days' + (1 + g % 5) * interval '1 day',
       CASE WHEN g % 3 = 0 THEN 10 + g ELSE 0 END, 'web', CASE WHEN g % 3 = 0 THEN 'purchase' ELSE 'like' END
FROM generate_series(1, 45) g;
SELECT customer_score.set_source('transactions', 'crm.tx');
SELECT customer_score.set_source('actions', 'crm.actions');
-- two refreshes, so that score_changes has rows (the fits on these few customers are
-- degenerate: their WARNINGs are not what this test is about)
SET client_min_messages = error;
SELECT customer_score.refresh('default', '2024-06-30') > 0;
SELECT customer_score.refresh('default', '2024-09-30') > 0;
-- a backtest, by a copy of the default model that uses these fits, so that predicted CLV is observed
INSERT INTO customer_score.models (name) VALUES ('bt');
INSERT INTO customer_score.model_versions (model, version, use_unconverged_fits) VALUES ('bt', 1, true);
INSERT INTO customer_score.model_components (model, version, position, component, weight)
SELECT 'bt', 1, position, component, weight FROM customer_score.model_components WHERE model = 'default' AND version = 1;
SELECT customer_score.publish('bt', 1);
SELECT customer_score.backtest('bt', '2024-06-30', '2024-12-31') > 0;
SQL
)
check "setup: data, sources, two refreshes and a backtest" "t
t
t" "$(grep -v '^$' <<<"$setup")"
# live scores, where the extension has them: track the transactions table
if [[ $(q -d "$db" -c "SELECT to_regprocedure('customer_score.track_transactions(regclass)') IS NOT NULL") == t ]]; then
  check "setup: track_transactions on the transactions table" "ok" \
    "$(q -d "$db" -c "SET client_min_messages = warning" -c "SELECT customer_score.track_transactions('crm.tx')" >/dev/null && echo ok)"
fi

# The stored scores are readable by whom the owner grants them to (docs/scores.md, privileges).
q -d "$db" -c "GRANT SELECT ON ALL TABLES IN SCHEMA customer_score TO $reader" >/dev/null
# Statistics now, so that autovacuum does not change the plans between the two clients' reads.
q -d "$db" -c "ANALYZE" >/dev/null

PGUSER=$reader PGDATABASE=$db TAP_START=$_tap_n "$py" - <<'PY'
import os, re, subprocess, sys, datetime, decimal, math
import psycopg2

n = int(os.environ.get("TAP_START", "0"))
def check(ok, description, diag=()):
    global n
    n += 1
    print(("ok %d - %s" if ok else "not ok %d - %s") % (n, description))
    for line in diag:
        print("# " + line)
    sys.stdout.flush()

# Standard types only: what every BI tool maps without a plugin.
STANDARD = {21: "int2", 23: "int4", 20: "int8", 1700: "numeric", 700: "float4", 701: "float8",
            25: "text", 1043: "varchar", 16: "bool", 1184: "timestamptz", 1082: "date"}
EXPLANATION_VIEWS = ["scores", "score_explanation", "score_reasons", "model_explanation",
                     "score_changes", "latest_runs"]
NULL = "\\N"
# Other plans for the same query: a view's values must not depend on the plan (a BI tool's query
# adds filters and joins of its own). Known exceptions, reported, are TODO tests.
OTHER_PLANS = [("enable_nestloop = off", "enable_indexscan = off", "enable_bitmapscan = off"),
               ("enable_hashjoin = off", "enable_mergejoin = off", "enable_seqscan = off")]
PLAN_DEPENDENT = {}  # none: score_explanation sums its weights in one order whatever the plan

def pg_float(x):
    """A float as PostgreSQL 15 prints float4/float8 (extra_float_digits = 1: shortest exact)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0" if math.copysign(1, x) < 0 else "0"
    sign, digits, exp = decimal.Decimal(repr(x)).normalize().as_tuple()
    digits = "".join(map(str, digits))
    point = len(digits) + exp            # position of the decimal point after the first digit run
    e10 = point - 1                      # the scientific exponent
    s = "-" if sign else ""
    if -4 <= e10 < 15:
        if point <= 0:
            return s + "0." + "0" * (-point) + digits
        if point >= len(digits):
            return s + digits + "0" * (point - len(digits))
        return s + digits[:point] + "." + digits[point:]
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return "%s%se%s%02d" % (s, mantissa, "-" if e10 < 0 else "+", abs(e10))

def pg_offset(delta):
    secs = int(delta.total_seconds())
    sign = "-" if secs < 0 else "+"
    secs = abs(secs)
    h, m, s = secs // 3600, secs // 60 % 60, secs % 60
    return sign + "%02d" % h + (":%02d" % m if m or s else "") + (":%02d" % s if s else "")

def pg_text(value, oid):
    """The driver's value in PostgreSQL's text form (DateStyle ISO)."""
    if value is None:
        return NULL
    if oid == 16:
        return "t" if value else "f"
    if oid in (700, 701):
        return pg_float(value)
    if oid == 1700:
        return format(value, "f")
    if oid == 1184:
        frac = (".%06d" % value.microsecond).rstrip("0") if value.microsecond else ""
        return value.strftime("%Y-%m-%d %H:%M:%S") + frac + pg_offset(value.utcoffset())
    if oid == 1082:
        return value.isoformat()
    return str(value)

def psql_rows(sql, settings=()):
    """The rows psql prints for a query (unaligned, tuples only), split into fields."""
    sets = [arg for setting in ("TimeZone = 'UTC'", "DateStyle = ISO") + tuple(settings) for arg in ("-c", "SET " + setting)]
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-P", "null=" + NULL,
                          "-F", "\x1f", "-0"] + sets + ["-c", sql],
                         check=True, capture_output=True).stdout.decode("utf-8")
    records = out.rstrip("\n").split("\0")
    if records and records[-1] == "":
        records.pop()
    return [tuple(r.split("\x1f")) for r in records]

# host, port and user from the environment (PGHOST, PGPORT, PGUSER), as libpq reads them
conn = psycopg2.connect(dbname=os.environ["PGDATABASE"], options="-c TimeZone=UTC -c DateStyle=ISO")
conn.set_session(readonly=True, autocommit=True)
cur = conn.cursor()
cur.execute("""
    SELECT c.relname FROM pg_depend d
    JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'customer_score'
    JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
    WHERE d.deptype = 'e' AND c.relkind = 'v' ORDER BY 1""")
views = [r[0] for r in cur.fetchall()]
missing = [v for v in EXPLANATION_VIEWS if v not in views]
check(not missing, "the extension has every explanation view (%s)" % ", ".join(EXPLANATION_VIEWS),
      ["missing: " + ", ".join(missing)] if missing else [])

for view in views:
    cur.execute("SELECT * FROM customer_score.%s LIMIT 0" % view)
    # every column in the ORDER BY: the order is total, so both clients see the rows in one order
    sql = "SELECT * FROM customer_score.%s ORDER BY %s" % (
        view, ", ".join(str(i) for i in range(1, len(cur.description) + 1)))
    cur.execute(sql)
    cols = [(d.name, d.type_code) for d in cur.description]
    rows = cur.fetchall()
    bad = []
    for name, oid in cols:
        if oid not in STANDARD:
            cur.execute("SELECT format_type(%s, NULL)", (oid,))
            bad.append("%s has type %s (oid %d)" % (name, cur.fetchone()[0], oid))
    check(not bad, "%s: every column has a standard type (%s)"
          % (view, ", ".join("%s %s" % (name, STANDARD.get(oid, "?")) for name, oid in cols)), bad)
    check(len(rows) > 0, "%s: the driver reads rows (%d)" % (view, len(rows)))
    driver = [tuple(pg_text(v, oid) for v, (_, oid) in zip(row, cols)) for row in rows]
    reference = psql_rows(sql)
    # A live view (as of now()) is read at two moments by the two clients: its times may differ
    # by the time between the reads and the figures computed from them by rounding-level amounts.
    cur.execute("SELECT pg_get_viewdef(%s::regclass) ~* '(now|clock_timestamp|statement_timestamp)\\(|current_timestamp'",
                ("customer_score." + view,))
    live = cur.fetchone()[0]
    def same(x, y, oid):
        if x == y:
            return True
        if not live or NULL in (x, y):
            return False
        try:
            if oid in (700, 701, 1700):
                a, b = float(x), float(y)
                return abs(a - b) <= 1e-6 * max(abs(a), abs(b), 1e-300)
            if oid == 1184:
                fmt = lambda t: datetime.datetime.fromisoformat(re.sub(r"([+-]\d\d)$", r"\1:00", t))
                return abs((fmt(x) - fmt(y)).total_seconds()) < 60
        except ValueError:
            return False
        return False
    diffs = ["driver read %d rows, psql %d" % (len(driver), len(reference))] if len(driver) != len(reference) else []
    for i, (a, b) in enumerate(zip(driver, reference)):
        diffs += ["row %d, %s: driver %r, psql %r" % (i + 1, name, x, y)
                  for (name, oid), x, y in zip(cols, a, b) if not same(x, y, oid)]
    check(not diffs, "%s: the driver's values are psql's, row for row (%d rows x %d columns%s)"
          % (view, len(driver), len(cols),
             "; a live view: times within a minute, figures to 1e-6 relative" if live else ""), diffs[:10])
    if not live:
        other = []
        for settings in OTHER_PLANS:
            replanned = psql_rows(sql, settings)
            other += ["with %s, row %d, %s: %r instead of %r" % (", ".join(settings), i + 1, name, y, x)
                      for i, (a, b) in enumerate(zip(reference, replanned))
                      for (name, _), x, y in zip(cols, a, b) if x != y][:3]
            if len(replanned) != len(reference):
                other.append("with %s: %d rows instead of %d" % (", ".join(settings), len(replanned), len(reference)))
        todo = " # TODO " + PLAN_DEPENDENT[view] if view in PLAN_DEPENDENT and other else ""
        check(not other, "%s: the same values under other plans%s" % (view, todo), other[:6])
conn.close()
print("1..%d" % n)
PY

q -d postgres -c "DROP DATABASE $db" -c "DROP ROLE $reader" >/dev/null
