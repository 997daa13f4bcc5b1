#!/usr/bin/env bash
# The pg_regress suite and the pgTAP edge calls against the extension built with AddressSanitizer
# and UndefinedBehaviorSanitizer, in a private copy of the PostgreSQL installation and a cluster
# of its own (about a minute): see test/sanitize.sh, which also runs on its own.
exec bash "$REPO/test/sanitize.sh"
