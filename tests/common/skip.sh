#!/bin/sh
# skip.sh REASON [IGNORED...]: the stand-in for a test whose tool (python3,
# FileCheck, ...) is missing: prints why and exits 77, Meson's "skipped",
# so the test is reported as skipped instead of silently not existing.
# Arguments after the reason are the ones the real test would have had.
echo "SKIPPED: ${1:-no reason given}"
exit 77
