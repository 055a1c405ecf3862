#!/usr/bin/env bash
# Fuzz the cashier API from its own OpenAPI document with schemathesis:
# every documented operation, with both demo tenants' keys, a fixed seed and
# a fixed number of examples per operation. Fails on any server error,
# undocumented status or content type, or a response that does not match
# its schema (which, for every documented 4xx, is the error shape).
#
# Needs `cargo xtask build` first (the runtime and the plugins). Installs
# schemathesis into target/fuzz-venv from PyPI on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
EXAMPLES=${FUZZ_EXAMPLES:-40}
SEED=${FUZZ_SEED:-20261125}
VENV=target/fuzz-venv
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

if [ ! -x "$VENV/bin/st" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

PAYCORE_LISTEN="127.0.0.1:$PORT" PAYCORE_DATABASE_URL="sqlite://$WORK/fuzz.db" \
    target/debug/paycore serve --config config/paycore.toml >"$WORK/paycore.log" 2>&1 &
SERVER=$!
cleanup() {
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null || { cat "$WORK/paycore.log"; exit 1; }

status=0
for key in sk_test_demo sk_test_acme; do
    echo "== schemathesis as ${key%%_*}_…${key##*_}: $EXAMPLES examples per operation, seed $SEED"
    "$VENV/bin/st" run "http://127.0.0.1:$PORT/openapi.json" \
        --header "Authorization: Bearer $key" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
        --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 \
        --no-color --warnings off --report junit --report-junit-path "$WORK/junit-$key.xml" || status=1
    # The count of cases run, from the JUnit report.
    python3 - "$WORK/junit-$key.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
tests = sum(int(s.get("tests", 0)) for s in suites)
failures = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
print(f"schemathesis operations: {tests} tested, {failures} failed")
PY
done
if grep -q "panicked" "$WORK/paycore.log"; then
    echo "paycore panicked during fuzzing:"; grep -A5 panicked "$WORK/paycore.log"; status=1
fi
exit $status
