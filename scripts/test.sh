#!/usr/bin/env bash
# Runs every test of Doorstep. Installs what it lacks (JNA from Debian, a Kotlin compiler from
# npm) on a fresh Debian machine with Rust, Java 17 and Node. One target directory, one debug
# build, so that CI stays well inside its time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$ROOT/build
mkdir -p "$BUILD"

# Each step says when it began (seconds since the start): where a slow run spent its time.
step() { printf '\n==> %s (at %d s)\n' "$*" "$SECONDS"; }
# A test run builds once from scratch: incremental caches would only take disk (gigabytes).
export CARGO_INCREMENTAL=0

step "installing what is missing"
# From Debian: JNA (the Kotlin bindings on the JVM), OpenSSL's headers and pkg-config (SQLCipher,
# the phone store's encryption, links libcrypto), Chromium and a CJK font for the dashboard's
# browser test (Playwright drives the system Chromium; without the font, Chinese renders as
# boxes in its screenshots).
missing=()
[ -f /usr/share/java/jna.jar ] || missing+=(libjna-java)
[ -f /usr/include/openssl/crypto.h ] || missing+=(libssl-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
[ -x /usr/bin/chromium ] || missing+=(chromium)
fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" || missing+=(fonts-wqy-microhei)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${missing[@]}"
fi
# tree-sitter-swift, to parse the Swift sources (no Swift compiler on this machine).
if [ ! -d "$BUILD/pyswift/tree_sitter_swift" ]; then
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$BUILD/pyswift" \
        tree-sitter==0.26.1 tree-sitter-swift==0.7.4
fi
if [ ! -d "$BUILD/e2e/node_modules/playwright-core" ]; then
    npm install --silent --no-audit --no-fund --prefix "$BUILD/e2e" playwright-core@1
fi
KC=$BUILD/kotlinc/node_modules/kotlin-compiler
if [ ! -x "$KC/bin/kotlinc" ]; then
    npm install --silent --no-audit --no-fund --prefix "$BUILD/kotlinc" kotlin-compiler@2
fi
echo "jna: /usr/share/java/jna.jar; kotlinc: $("$KC/bin/kotlinc" -version 2>&1 | tail -1)"
# PostgreSQL (Debian's, installed if missing): a throwaway cluster on a loopback port for the
# tests of several server processes on one database; stopped and deleted when this script ends.
PIDS=()
cleanup() {
    [ ${#PIDS[@]} -eq 0 ] || kill "${PIDS[@]}" 2>/dev/null || true
    doorstep_pg_stop
}
trap cleanup EXIT
source scripts/postgres.sh
# The tests on PostgreSQL fail rather than skip when it is missing.
export DOORSTEP_REQUIRE_POSTGRES=1

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "Rust tests"
cargo test --workspace

step "the server's tests again, every server on PostgreSQL (docs/scaling.md)"
DOORSTEP_TEST_BACKEND=postgres cargo test -p doorstep-server --tests

step "bindings: build the library and generate Kotlin and Swift"
cargo build -p doorstep-ffi -p doorstep-bindgen --quiet
LIB=$ROOT/target/debug/libdoorstep_ffi.so
rm -rf "$BUILD/kotlin" "$BUILD/swift"
target/debug/uniffi-bindgen generate --library "$LIB" --language kotlin --no-format --out-dir "$BUILD/kotlin"
target/debug/uniffi-bindgen generate --library "$LIB" --language swift --no-format --out-dir "$BUILD/swift"
for f in DoorstepCore.swift DoorstepCoreFFI.h DoorstepCoreFFI.modulemap; do
    [ -s "$BUILD/swift/$f" ] || { echo "Swift binding $f was not generated"; exit 1; }
done
grep -q "public func openTask\|func openTask" "$BUILD/swift/DoorstepCore.swift" || { echo "Swift bindings lack the store API"; exit 1; }
echo "Swift bindings generated: $(ls "$BUILD/swift" | tr '\n' ' ')"

step "the phone library: the shipped build (phone profile, symbols split off) within its size budget"
# The bindings' test below runs on this build: what ships is what is tested on the JVM.
bash scripts/phone_size.sh

step "Kotlin bindings on the JVM, syncing with a real server on 127.0.0.1"
SRV=target/debug/doorstep-server
KTDATA=$(mktemp -d)
admin() { "$SRV" --log-format text admin --json --data "$KTDATA" "$@"; }
admin add-unit --kind street --id kts --name 测试街道 >/dev/null
admin add-unit --kind community --id ktc --name 测试社区 --parent kts >/dev/null
admin add-unit --kind grid --id KT --name 测试网格 --parent ktc >/dev/null
printf '楼栋,单元,室,户主,电话\n1,1,101,王秀英,13800000001\n1,1,102,李建国,\n1,1,201,张桂兰,\n1,1,202,刘志强,\n1,2,101,陈海燕,\n' > "$KTDATA/roll.csv"
admin import-households --grid KT --file "$KTDATA/roll.csv" >/dev/null
# A second grid with a liaison group for the shells' adapter (android/state).
admin add-unit --kind grid --id KS --name 状态网格 --parent ktc >/dev/null
# Where the Kotlin sync test moves a household to (no other check counts this grid).
admin add-unit --kind grid --id KM --name 迁入网格 --parent ktc >/dev/null
admin add-unit --kind group --id KS-L1 --name 一号联户组 --parent KS >/dev/null
printf '楼栋,单元,室,户主,电话,联户组,标签\n2,1,101,赵秀英,13800000011,KS-L1,独居老人\n2,1,102,钱建国,,KS-L1,\n2,1,201,孙桂兰,,KS-L1,\n2,1,202,李志强,,KS-L1,\n2,2,101,周海燕,,KS-L1,\n2,2,102,吴明,,KS-L1,\n' > "$KTDATA/roll-ks.csv"
admin import-households --grid KS --file "$KTDATA/roll-ks.csv" >/dev/null
person() { admin add-person --name "$1" --role "$2" --unit "$3" | sed -n 's/.*"id": "\(.*\)".*/\1/p'; }
P_GW=$(person 赵网格 grid-worker KS)
P_LEAD=$(person 孙联户 liaison-lead KS-L1)
P_SUP=$(person 周书记 supervisor ktc)
P1=$(admin add-person --name 王网格 --role grid-worker --unit KT | sed -n 's/.*"id": "\(.*\)".*/\1/p')
P2=$(admin add-person --name 李网格 --role grid-worker --unit KT | sed -n 's/.*"id": "\(.*\)".*/\1/p')
"$SRV" serve --data "$KTDATA" --listen 127.0.0.1:0 > "$KTDATA/serve.out" 2> "$KTDATA/serve.log" &
SRV_PID=$!
PIDS+=("$SRV_PID")
for _ in $(seq 50); do grep -q "listening on" "$KTDATA/serve.out" && break; sleep 0.1; done
export DOORSTEP_TEST_SERVER="http://$(sed -n 's/^listening on //p' "$KTDATA/serve.out")"
export DOORSTEP_TEST_LINK1=$(admin enroll --person "$P1" --server-url "$DOORSTEP_TEST_SERVER" | sed -n 's/.*"qr": "\(.*\)".*/\1/p')
export DOORSTEP_TEST_CODE2=$(admin enroll --person "$P2" | sed -n 's/.*"code": "\(.*\)".*/\1/p')
code_for() { admin enroll --person "$1" | sed -n 's/.*"code": "\(.*\)".*/\1/p'; }
export DOORSTEP_TEST_LINK_GW=$(admin enroll --person "$P_GW" --server-url "$DOORSTEP_TEST_SERVER" | sed -n 's/.*"qr": "\(.*\)".*/\1/p')
export DOORSTEP_TEST_CODE_LEAD=$(code_for "$P_LEAD")
export DOORSTEP_TEST_CODE_SUP=$(code_for "$P_SUP") DOORSTEP_TEST_CODE_SUP2=$(code_for "$P_SUP")
export DOORSTEP_TEST_ADMIN=$ROOT/$SRV DOORSTEP_TEST_DATA=$KTDATA DOORSTEP_TEST_SUP=$P_SUP
CP=/usr/share/java/jna.jar:$KC/lib/kotlinx-coroutines-core-jvm.jar
RUN_CP="$CP:$KC/lib/kotlin-stdlib.jar"
# One compile of the bindings, shared by the bindings' test and the shells' state holders.
"$KC/bin/kotlinc" -nowarn "$BUILD"/kotlin/app/doorstep/core/*.kt -cp "$CP" -d "$BUILD/core-bindings.jar"
"$KC/bin/kotlinc" -nowarn bindings/tests/kotlin/*.kt bindings/tests/kotlin/harness/*.kt \
    -cp "$CP:$BUILD/core-bindings.jar" -d "$BUILD/core-test.jar"
java -Djna.library.path="$ROOT/target/phone/shipped" -cp "$BUILD/core-test.jar:$BUILD/core-bindings.jar:$RUN_CP" CoreTestKt

step "the phones' adapter to the shared screens (android/state) on the JVM, with the real core and server"
"$KC/bin/kotlinc" -nowarn android/state/src/main/kotlin/app/doorstep/state/*.kt \
    android/state/src/test/kotlin/app/doorstep/state/*.kt bindings/tests/kotlin/harness/*.kt \
    -cp "$CP:$BUILD/core-bindings.jar" -d "$BUILD/state-test.jar"
java -Djna.library.path="$ROOT/target/debug" -cp "$BUILD/state-test.jar:$BUILD/core-bindings.jar:$RUN_CP" \
    app.doorstep.state.StateTestKt
kill $SRV_PID 2>/dev/null || true

step "the HTTP API against docs/openapi.yaml: schemathesis on a real server over HTTPS"
bash scripts/api_check.sh

step "soak: 500 phones syncing with a real server for one minute (the full run: docs/perf.md)"
cargo build -p doorstep-server --bins --examples --quiet
# One minute is mostly the caches filling (the 10-minute run in docs/perf.md shows memory level
# off after about 7 minutes), so this run allows 50 % growth: it catches a runaway, not a drift.
target/debug/examples/soak --phones 500 --seconds "${SOAK_SECONDS:-60}" --max-growth-pct 50

step "scale-out, small: phones through 1-3 server processes on one PostgreSQL (the full run: docs/scaling.md)"
target/debug/examples/scale --grids 4 --households 20 --phones 6 --seconds 4

step "peers benchmark, small: Doorstep, automerge-repo and PouchDB on loopback, a slow link and one cut (the full run: docs/perf.md)"
# The pinned npm packages of bench/peers; every sync's content is checked (nothing lost or
# applied twice) and any failure fails this step. Debug build: the figures are not the ones to
# quote.
[ -d bench/peers/node_modules ] || (cd bench/peers && npm install --no-audit --no-fund --loglevel=error)
PEERS_PROFILE=debug PEERS_LINKS=loopback,mobile,cuts PEERS_CUT_RUNS= PEERS_LOAD_GRIDS=10 PEERS_LOAD_HOUSEHOLDS=10 \
    PEERS_OUT="$BUILD/peers" node bench/peers/run.mjs > "$BUILD/peers.log" 2>&1 || { tail -60 "$BUILD/peers.log"; exit 1; }
grep -E "^\[" "$BUILD/peers.log"

step "the phone shells: what their compilers would check (no Android SDK, no Xcode here)"
# Swift: the generated bindings and the app parsed with tree-sitter-swift.
PYTHONPATH="$BUILD/pyswift" python3 scripts/swift_syntax.py "$BUILD/swift" ios
# Android: the Compose sources through kotlinc for syntax only (androidx is not on this machine,
# so unresolved references are expected; a syntax error is not).
"$KC/bin/kotlinc" -nowarn $(find android/app/src/main/kotlin -name '*.kt') \
    -cp "$CP:$BUILD/core-bindings.jar:$BUILD/state-test.jar" -d "$BUILD/app-syntax" > "$BUILD/app-syntax.log" 2>&1 || true
if grep -i "syntax error" "$BUILD/app-syntax.log"; then echo "syntax errors in android/app"; exit 1; fi
echo "android/app: $(find android/app/src/main/kotlin -name '*.kt' | wc -l) Kotlin files parsed, no syntax errors"
# Strings in both languages, Swift case lists against the generated enums.
python3 scripts/check_shells.py "$BUILD/swift/DoorstepCore.swift"

step "fuzzing: every target for a short, bounded run (nightly, cargo-fuzz, libFuzzer)"
# Long runs: docs/architecture.md, "Fuzzing". A crash stops the run with its input in
# fuzz/artifacts/<target>/; copy it to fuzz/regressions/<target>/ (replayed by every test run).
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
(cd fuzz && cargo +nightly fuzz build -O)
for t in protocol_decode core_import server_ingest rules_check; do
    # fuzz/corpus/<t> grows with what libFuzzer finds; fuzz/seeds/<t> holds real messages to start from.
    mkdir -p "fuzz/corpus/$t"
    (cd fuzz && cargo +nightly fuzz run -O "$t" "corpus/$t" "seeds/$t" -- -max_total_time="${FUZZ_SECONDS:-20}" \
        -rss_limit_mb=2048 -print_final_stats=1 2>&1 | grep -E "^Done|stat::number_of_executed_units|ERROR|panicked" || true)
    if [ -n "$(ls -A "fuzz/artifacts/$t" 2>/dev/null)" ]; then
        echo "fuzz target $t found a crash: fuzz/artifacts/$t/"; exit 1
    fi
done

step "dashboard in headless Chromium (Playwright) against a real demo server and a real phone"
cargo build -p doorstep-server --examples --quiet
E2E=$(mktemp -d)
"$SRV" demo --data "$E2E/data" --listen 127.0.0.1:0 --households 150 > "$E2E/demo.out" 2> "$E2E/demo.log" &
DEMO_PID=$!
PIDS+=("$DEMO_PID")
for _ in $(seq 600); do grep -q "督导台 dashboard:" "$E2E/demo.out" && break; sleep 0.5; done
grep -q "督导台 dashboard:" "$E2E/demo.out" || { cat "$E2E/demo.out" "$E2E/demo.log"; echo "the demo did not start"; exit 1; }
export DS_BASE="http://$(sed -n 's/^listening on //p' "$E2E/demo.out")"
export DS_PASSWORD=$(sed -n 's/.*密码 password: //p' "$E2E/demo.out")
export DS_PHONE=$ROOT/target/debug/examples/phone DS_TMP=$E2E DS_MODULES=$BUILD/e2e/node_modules
export DS_SHOTS=$BUILD/e2e/screenshots
node --test server/tests/e2e/
kill $DEMO_PID 2>/dev/null || true
echo "screenshots: $DS_SHOTS"

echo "disk: target $(du -sh target | cut -f1), fuzz/target $(du -sh fuzz/target | cut -f1)"
step "all tests passed"
