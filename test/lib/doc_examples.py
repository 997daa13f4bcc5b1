#!/usr/bin/env python3
"""Runs the ```sql blocks of one Markdown file in order and checks the output the file shows.

usage: doc_examples.py FILE DATABASE FIRST_TAP_NUMBER
Prints TAP lines numbered from FIRST_TAP_NUMBER and, last, "#count N" (TAP lines printed) and
"#skipped LINE REASON" per block not run.

How the docs write examples (the rule this script checks):
- Every ```sql block runs, in file order, in one psql session per file.
- A block whose fence is directly preceded by the line "<!-- example: not run: REASON -->" is
  not run (a signature, a fragment, a statement for another system); the test lists it.
- A run of "-- " comment lines directly after a line ending a statement (";" or a psql "\\g..."
  command) is that statement's expected output as psql prints it (aligned, no row-count footer,
  errors as "ERROR:  ..."). Comment lines after a blank line are commentary.
- Comparison ignores spaces, column bars and rule lines (so long rows may wrap between tokens;
  a space or bar ends a number) and what psql prints before the shown part (NOTICEs); text in
  parentheses after two or more spaces at the end of a shown line is an annotation, not output. Numbers match when they differ by at most
  half a unit of the last digit shown or by 1e-6 relative, so docs may show rounded figures.
"""
import re
from decimal import Decimal, InvalidOperation
import subprocess
import sys

FENCE = re.compile(r"^```(\w*)\s*$")
SKIP = re.compile(r"^<!-- example: not run: (.+?) -->\s*$")
MARK = "@@doc-example-mark "
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def blocks(path):
    """The file's sql blocks as (line number, lines, skip reason or None)."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        if m.group(1) == "sql":
            skip = SKIP.match(lines[i - 1]) if i > 0 else None
            out.append((i + 1, lines[i + 1:j], skip.group(1) if skip else None))
        i = j + 1
    return out


def ends_statement(line, in_dollar):
    """Whether LINE ends a statement; a line inside a $$ body never does."""
    code = re.sub(r"--.*$", "", line) if "'" not in line else line.split(" --")[0]
    code = code.rstrip()
    return not in_dollar and (code.endswith(";") or bool(re.search(r"\\g\w*(\s+\S+)?$", code)))


def script(path):
    """The psql script; per mark, the expected output (line, text) and line of the statement before it."""
    sql, expected, lines, mark = [], {}, {}, 0
    for start, body, skip in blocks(path):
        if skip:
            continue
        in_dollar, after_stmt, n = False, False, None
        for k, line in enumerate(body):
            if line.startswith("--") and after_stmt:
                expected.setdefault(n, (start + k + 1, []))[1].append(line[2:])
                continue
            after_stmt = False
            sql.append(line)
            if line.count("$$") % 2:
                in_dollar = not in_dollar
            if ends_statement(line, in_dollar):
                mark += 1
                n = mark
                lines[mark] = start + k + 1
                sql.append("\\echo '%s%d'" % (MARK, mark))
                after_stmt = True
        sql.append("")
    return "\n".join(sql) + "\n", expected, lines


def norm(text):
    """Output as tokens: rule lines, bars, spaces and end-of-line annotations dropped."""
    text = re.sub(r"(?<=\S)[ \t]{2,}\([^()\n]*\)[ \t]*$", "", text, flags=re.M)
    text = re.sub(r"^psql:[^:\n]*:\d+: ", "", text, flags=re.M)
    text = re.sub(r"-{2,}", " ", text)
    # bars and spaces separate tokens (so "1 | 1.5" is two numbers) but are not tokens themselves
    text = re.sub(r"[|+\s]+", " ", text)
    return re.findall(r"%s|\S" % NUMBER.pattern, text)


def same_number(shown, got):
    """Whether GOT is SHOWN to the digits shown, or within 1e-6 relative."""
    try:
        a, b = Decimal(shown), float(got)
    except (InvalidOperation, ValueError):
        return False
    half_unit = 0.5 * 10.0 ** a.as_tuple().exponent
    return abs(float(a) - b) <= max(half_unit, 1e-6 * abs(b))


def matches(shown, got):
    """Whether the shown output is the end of what psql printed."""
    s, g = norm(shown), norm(got)
    if not s or len(s) > len(g):
        return False
    g = g[len(g) - len(s):]
    for a, b in zip(s, g):
        if a == b:
            continue
        if not (NUMBER.fullmatch(a) and NUMBER.fullmatch(b) and same_number(a, b)):
            return False
    return True


def main():
    path, db, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    text, expected, lines = script(path)
    # errors go to stderr: one stream, flushed per line, keeps them in order with the results
    out = subprocess.run(["stdbuf", "-oL", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=0",
                          "-P", "footer=off", "-d", db, "-f", "-"], input=text,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
    parts = re.split(r"^%s(\d+)\n" % re.escape(MARK), out, flags=re.M)
    got = {int(parts[i]): parts[i - 1] for i in range(1, len(parts), 2)}
    count = 0
    for mark in sorted(got):
        errors = [l for l in got[mark].splitlines() if "ERROR:" in l]
        if mark in expected:
            line, shown = expected[mark]
            ok = matches("\n".join(shown), got[mark])
            desc = "%s:%d shows what the docs say" % (path, line)
        elif errors:
            ok, shown, desc = False, ["(no error)"], "%s:%d runs" % (path, lines[mark])
        else:
            continue
        count += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", n + count - 1, desc))
        if not ok:
            print("# expected:\n#   " + "\n#   ".join(shown))
            print("# got:\n#   " + "\n#   ".join(got[mark].splitlines()))
    # an unterminated statement at the end runs after the last mark
    missing = [m for m in expected if m not in got] + (["end"] if "ERROR:" in parts[-1] else [])
    count += 1
    print("%s %d - %s: every example ran (%d statements)" %
          ("ok" if not missing and got and set(got) == set(lines) else "not ok",
           n + count - 1, path, len(got)))
    print("#count %d" % count)
    for start, _, skip in blocks(path):
        if skip:
            print("#skipped %s:%d %s" % (path, start, skip))


if __name__ == "__main__":
    main()
