#!/usr/bin/env bash
# The HTTP API against its OpenAPI document (docs/openapi.yaml): schemathesis (from PyPI, into
# build/st) runs every operation with generated good and bad input against a real
# doorstep-server on 127.0.0.1, over HTTPS with a certificate from files signed by a CA made
# here. It fails on any 5xx and on any response whose status, media type, headers or JSON body
# the document does not describe. Called by scripts/test.sh; needs target/debug/doorstep-server.
#
#   API_EXAMPLES=N   test cases per operation and phase (default 100)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=$ROOT/build
SRV=$ROOT/target/debug/doorstep-server
ST=$BUILD/st/bin/schemathesis
if [ ! -x "$ST" ]; then
    python3 -m venv "$BUILD/st" 2>/dev/null || { rm -rf "$BUILD/st"; apt-get install -y -qq python3-venv >/dev/null; python3 -m venv "$BUILD/st"; }
    "$BUILD/st/bin/pip" install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
fi

# Every route the server has must be in the document, and only those.
python3 - <<'EOF'
import re, sys
src = open("server/src/http.rs").read() + open("server/src/web/mod.rs").read()
routes = set(re.findall(r'\.route\("([^"]+)"', src))
doc = set(re.findall(r'^  (/[^:]*):\s*$', open("docs/openapi.yaml").read(), re.M))
if routes != doc:
    print("routes not in docs/openapi.yaml:", sorted(routes - doc))
    print("paths in docs/openapi.yaml the server lacks:", sorted(doc - routes))
    sys.exit(1)
print(f"docs/openapi.yaml: {len(doc)} paths, the same as the server's routes")
EOF

W=$(mktemp -d)
SRV_PID=
trap 'kill $SRV_PID 2>/dev/null || true; rm -rf "$W"' EXIT

# A test CA and a server certificate for 127.0.0.1 that it signed.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=Doorstep test CA" \
    -keyout "$W/ca.key" -out "$W/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$W/key.pem" -out "$W/srv.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' > "$W/ext"
openssl x509 -req -in "$W/srv.csr" -CA "$W/ca.pem" -CAkey "$W/ca.key" -CAcreateserial -days 2 \
    -extfile "$W/ext" -out "$W/cert.pem" 2>/dev/null

# A small street with its people, visits, tasks and appeals, then served over TLS. The device
# limit is lifted: schemathesis sends far more than a phone would, with one token.
"$SRV" --log-format text demo --data "$W/data" --listen 127.0.0.1:0 --households 20 --no-serve > "$W/demo.out" 2>/dev/null
PASS=$(sed -n 's/.*密码 password: //p' "$W/demo.out")
"$SRV" serve --data "$W/data" --listen 127.0.0.1:0 --device-burst 1000000000 --device-rate 1000000000 \
    --tls-cert "$W/cert.pem" --tls-key "$W/key.pem" > "$W/serve.out" 2> "$W/serve.log" &
SRV_PID=$!
for _ in $(seq 100); do grep -q "listening on" "$W/serve.out" && break; sleep 0.1; done
BASE="https://$(sed -n 's/^listening on //p' "$W/serve.out")"
C=(curl -sS --fail-with-body --cacert "$W/ca.pem")

# A device token (a grid worker's phone).
admin() { "$SRV" --log-format text admin --json --data "$W/data" "$@"; }
WORKER=$(admin people | python3 -c 'import json,sys; print(next(p["id"] for p in json.load(sys.stdin) if p["role"]=="grid_worker"))')
CODE=$(admin enroll --person "$WORKER" | python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])')
TOKEN=$("${C[@]}" -H 'content-type: application/json' -d "{\"code\":\"$CODE\"}" "$BASE/v1/enroll" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
[ -n "$TOKEN" ] || { echo "no device token"; exit 1; }

# A dashboard session for LOGIN: prints its cookie and its CSRF token.
session() {
    local jar="$W/jar-$1" pre sid csrf
    pre=$("${C[@]}" -c "$jar" "$BASE/login" | sed -n 's/.*name="pre" value="\([^"]*\)".*/\1/p' | head -1)
    "${C[@]}" -b "$jar" -c "$jar" -o /dev/null --data-urlencode "login=$1" --data-urlencode "password=$PASS" \
        --data-urlencode "pre=$pre" "$BASE/login"
    sid=$(awk '$6 == "ds_session" { print $7 }' "$jar")
    csrf=$("${C[@]}" -b "$jar" -L --max-redirs 3 "$BASE/" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
    [ -n "$sid" ] && [ -n "$csrf" ] || { echo "no session or CSRF token for $1" >&2; exit 1; }
    echo "$sid $csrf"
}
read -r SUP_SID SUP_CSRF < <(session xf-shuji)
read -r ADM_SID ADM_CSRF < <(session admin)

# Real ids for the pages' path parameters (a community, a household, an appeal of the demo), and
# each session's CSRF token for the forms, so that generated queries and forms reach the pages'
# own code rather than a 404 or a CSRF refusal. Logout is left without it: it would end the
# session the rest of the run uses.
python3 - "$W" "$SUP_CSRF" "$ADM_CSRF" <<'PY'
import sqlite3, sys
w, sup, adm = sys.argv[1:4]
db = sqlite3.connect(f"{w}/data/doorstep-server.db")
one = lambda sql: db.execute(sql).fetchone()[0]
community = one("SELECT id FROM units WHERE id LIKE 'dh-xf%' AND kind = 'community'")
household = one("SELECT id FROM households WHERE grid LIKE 'dh-xf%' ORDER BY id LIMIT 1")
appeal = one("SELECT id FROM appeals WHERE grid LIKE 'dh-xf%' ORDER BY id LIMIT 1")
rules = (("^/u/", f'"path.id" = "{community}"'),
         ("^/h/", f'"path.id" = "{household}"'),
         ("^/a/", f'"path.id" = "{appeal}", "body.csrf" = "{sup}"'),
         ("^/admin/", f'"body.csrf" = "{adm}"'))
with open(f"{w}/schemathesis.toml", "w") as f:
    for regex, params in rules:
        f.write(f'[[operations]]\ninclude-path-regex = "{regex}"\nparameters = {{ {params} }}\n\n')
PY

# Two passes: a community secretary on everything but /admin, the administrator on /admin.
# One worker: Hypothesis names each filter by parsing its lambda's source with `ast.parse`,
# which CPython 3.11 does not do safely from two threads at once ("AST constructor recursion
# depth mismatch"): with --workers 2 schemathesis crashed on it twice in CI, on the photo
# endpoints, never on a server's answer.
st() {
    SCHEMATHESIS_HOOKS=st_hooks PYTHONPATH="$ROOT/scripts" \
    "$ST" --config-file "$W/schemathesis.toml" run docs/openapi.yaml --url "$BASE" --tls-verify "$W/ca.pem" \
        -H "Authorization: Bearer $TOKEN" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
        --phases examples,coverage,fuzzing --max-examples "${API_EXAMPLES:-100}" --seed 7 \
        --max-redirects 0 --workers 1 --no-color --suppress-health-check all \
        --report junit --report-dir "$BUILD/schemathesis" "$@"
}
# On a failure, the server's side of it (its log is gone with the temporary folder otherwise).
fail() { echo "schemathesis failed; the server's log ends:"; tail -40 "$W/serve.log"; exit 1; }
st -H "Cookie: ds_session=$SUP_SID" --exclude-path-regex '^/admin' || fail
st -H "Cookie: ds_session=$ADM_SID" --include-path-regex '^/admin' || fail
# The server must still be whole afterwards: healthy and still serving the session.
"${C[@]}" -o /dev/null "$BASE/healthz"
if grep -E '"level":"ERROR"|panicked' "$W/serve.log"; then echo "the server logged errors under schemathesis"; exit 1; fi
echo "schemathesis: no 5xx, every response as docs/openapi.yaml describes it"
