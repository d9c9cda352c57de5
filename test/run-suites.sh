#!/usr/bin/env bash
# `npm test`'s runner: as root, every test file of the Bun, Deno and Node suites as a job of
# its own, three at a time, each in kernel namespaces of its own; without root (or with
# IPCL_TEST_PARALLEL=0), the three suites one after the other.
#
# Why namespaces: every test file ends with a leak check that compares what the kernel shows
# — /dev/shm, POSIX queues, System V objects, FIFOs and sockets under /tmp, abstract unix
# names, bound ports, live descendants (test/support/system-state.ts) — with what it showed
# before, whatever the names. Two files sharing those would each see, and remove, the
# other's objects. In its own IPC, mount (a private /dev/shm, /tmp and /run/netns), PID and
# network namespace, a file sees only what it made, and its leak check still fails on
# anything it leaves. The package test keeps the machine's network: it installs from the
# npm registry.
#
# Why files, three at a time, longest first: the suites are CPU-bound — a fourth job on two
# CPUs only slows the others — and whole suites side by side left one CPU idle while the
# last suite finished alone; files from a queue keep both busy to the end.
#
# A line says each file's result and time as it ends; a failed file's output is printed
# whole (IPCL_TEST_LOGS=all prints every file's; IPCL_TEST_ONLY=REGEX runs only the
# matching files, IPCL_TEST_REPEAT=N each N times). Ctrl-C (or a file running past
# IPCL_FILE_TIMEOUT seconds, default 1200) stops every job: killing a namespace's first
# process ends every process in it. Without root, or where unshare cannot make the
# namespaces, or with IPCL_TEST_PARALLEL=0, the three suites run one after the other in the
# machine's own namespaces.
set -uo pipefail
cd "$(dirname "$0")/.."

run_serial() {
  if [ -n "${IPCL_TEST_ONLY:-}${IPCL_TEST_REPEAT:-}" ]; then
    echo "run-suites: IPCL_TEST_ONLY and IPCL_TEST_REPEAT pick jobs, which need root and namespaces (and not IPCL_TEST_PARALLEL=0)"
    exit 2
  fi
  for s in test:bun test:deno test:node:built; do npm run --silent "$s" || exit $?; done
  exit 0
}

# Namespaces need root (and util-linux's unshare with --kill-child, and iproute2 for loopback).
if [ "${IPCL_TEST_PARALLEL:-}" = 0 ]; then run_serial; fi
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! unshare --ipc --mount --pid --net --fork --mount-proc --kill-child true 2>/dev/null; then
  echo "run-suites: not root, or no namespaces here: the suites run one after the other (as root: every file isolated, three at a time)"
  run_serial
fi

# The jobs: RUNTIME:FILE. Bun runs every test/*.test.ts; Deno and Node the files their npm
# scripts list (package.json, which stays the one list).
listed() { node -e 'const s = require("./package.json").scripts[process.argv[1]]; console.log(s.split(/\s+/).filter((w) => /\.test\.[jt]s$/.test(w)).join("\n"))' "$1"; }
jobs=()
for f in test/*.test.ts; do jobs+=("bun:$f"); done
for f in $(listed test:deno); do jobs+=("deno:$f"); done
for f in $(listed test:node:built); do jobs+=("node:$f"); done
# IPCL_TEST_ONLY=REGEX: only the jobs whose RUNTIME:FILE matches (grep -E), e.g. 'conversation'
# or '^deno:.*stop' — a few files, each isolated as in the whole run
if [ -n "${IPCL_TEST_ONLY:-}" ]; then
  mapfile -t jobs < <(printf '%s\n' "${jobs[@]}" | grep -E -- "$IPCL_TEST_ONLY")
  [ ${#jobs[@]} -gt 0 ] || { echo "run-suites: no test file matches IPCL_TEST_ONLY=$IPCL_TEST_ONLY"; exit 2; }
fi

# Longest first, by seconds measured alone on one machine (2026-12-04); a file not named
# here counts 1 s. Only the order depends on these: a wrong figure packs the jobs less well.
declare -A weight=(
  [node:dist/test/conformance.test.js]=216 [deno:test/conformance.test.ts]=191 [bun:test/conformance.test.ts]=119
  [bun:test/bench.test.ts]=93 [bun:test/node-package.test.ts]=45 [bun:test/cross-runtime.test.ts]=38
  [node:dist/test/cross-runtime.test.js]=38 [node:dist/test/stop.test.js]=38 [bun:test/examples.test.ts]=36
  [bun:test/cli-serve.test.ts]=34 [node:dist/test/nats.test.js]=31 [bun:test/soak-short.test.ts]=30
  [deno:test/stop.test.ts]=28 [deno:test/nats.test.ts]=26 [bun:test/nats.test.ts]=25
  [node:dist/test/conversation.test.js]=24 [deno:test/leaks.test.ts]=21 [deno:test/conversation.test.ts]=18
  [bun:test/conversation.test.ts]=18 [bun:test/peer-death.test.ts]=14 [bun:test/leaks.test.ts]=14
  [node:dist/test/leaks.test.js]=14 [node:dist/test/async-exit.test.js]=13 [deno:test/cross-runtime.test.ts]=12
  [bun:test/stop.test.ts]=12 [bun:test/wire.test.ts]=12
)
mapfile -t queue < <(for j in "${jobs[@]}"; do echo "${weight[$j]:-1} $j"; done | sort -s -k1,1nr | cut -d' ' -f2)
# IPCL_TEST_REPEAT=N: every job N times (to look for a race under load); each run is a job of its own
repeat=${IPCL_TEST_REPEAT:-1}
if [ "$repeat" -gt 1 ]; then
  mapfile -t queue < <(for ((r = 1; r <= repeat; r++)); do printf "%s#$r\n" "${queue[@]}"; done)
fi
# Files that bound how long something takes run last, one at a time, with nothing beside
# them: test/stop.test.ts bounds a stop at 1 s, and beside the soak and the examples a
# runtime's own exit took 1.0-1.5 s (CI once, and one of three repeats here), where alone,
# even beside two busy loops, it takes 5-46 ms.
alone_re='(^|/)stop\.test\.[jt]s(#|$)'
mapfile -t queue < <({ printf '%s\n' "${queue[@]}" | grep -vE -- "$alone_re"; printf '%s\n' "${queue[@]}" | grep -E -- "$alone_re"; } | grep -v '^$')
is_alone() { [[ $1 =~ $alone_re ]]; }
network_job=bun:test/node-package.test.ts # keeps the machine's network (its npm install)
at_once=3

# The command of a job.
command_of() {
  local job=${1%#*}
  local runtime=${job%%:*} file=${job#*:}
  case $runtime in
    bun) echo "bun test --timeout 60000 $file" ;;
    deno) echo "NO_COLOR=1 deno test --no-check --allow-all --quiet $file" ;;
    node) echo "node --test --test-concurrency=1 --test-reporter=dot $file" ;;
  esac
}

# Inside a job's namespaces (bash stays PID 1, reaping orphans, rather than exec the runner:
# a runtime as PID 1 would neither reap them nor take default signal actions).
# shellcheck disable=SC2016
setup='
  set -e
  here=$PWD
  mount -t tmpfs -o mode=1777 ipcl-suite-shm /dev/shm
  mount -t tmpfs -o mode=1777 ipcl-suite-tmp /tmp
  # a checkout under /tmp (as CI clones it) is hidden now: bind it back at its own path
  # through the working directory, which still holds it
  if [ ! -e "$here/package.json" ]; then mkdir -p "$here" && mount --no-canonicalize --bind . "$here" && cd "$here"; fi
  mkdir -p /run/netns && mount -t tmpfs -o mode=755 ipcl-suite-netns /run/netns
  ip link set lo up
  unset XDG_RUNTIME_DIR # the registry and socket directories under the private /tmp
  set +e
  eval "$1"
  exit $?
'

logs=$(mktemp -d "${TMPDIR:-/tmp}/ipc-lab-suites.XXXXXX")
declare -A pid=() started=() overran=()
stop_all() {
  for j in "${!pid[@]}"; do kill -KILL "${pid[$j]}" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$logs"
}
trap 'echo "run-suites: interrupted, every job stopped"; stop_all; exit 130' INT TERM
trap 'stop_all' EXIT

log_of() { echo "$logs/$(echo "$1" | tr '/:#' '___').log"; }

# A passed file's counts, from its runner's summary ("12 pass", "ok | 12 passed", "ℹ pass 12"; none from Node's dot reporter).
counts_of() { grep -hE '^ *[0-9]+ (pass|skip|todo)$|^ok \| |^ℹ (pass|skipped|todo) ' "$(log_of "$1")" | sed 's/^ *//' | tr -s ' ' | paste -sd ',' | sed 's/,/, /g'; }

start_next() {
  local job=${queue[0]}
  queue=("${queue[@]:1}")
  local ns=(--ipc --mount --pid --fork --mount-proc --kill-child)
  [ "${job%#*}" = "$network_job" ] || ns+=(--net)
  unshare "${ns[@]}" bash -c "$setup" "ipcl-test" "$(command_of "$job")" >"$(log_of "$job")" 2>&1 &
  pid[$job]=$!
  started[$job]=$SECONDS
}

total=${#queue[@]}
ended=0
echo "run-suites: $total test files (Bun, Deno, Node), ${at_once} at a time, each in namespaces of its own, the stop tests last and alone (IPCL_TEST_PARALLEL=0: one suite after the other)"
limit=${IPCL_FILE_TIMEOUT:-1200}
status=0
failed=()
while [ ${#queue[@]} -gt 0 ] || [ ${#pid[@]} -gt 0 ]; do
  while [ ${#queue[@]} -gt 0 ] && [ ${#pid[@]} -lt $at_once ]; do
    # a file that runs alone starts once every other has ended, and nothing starts beside it
    if is_alone "${queue[0]}"; then [ ${#pid[@]} -eq 0 ] && start_next; break; fi
    start_next
  done
  sleep 60 &
  tick=$!
  wait -n -p done_pid "${pid[@]}" "$tick"
  rc=$?
  if [ "${done_pid:-}" = "$tick" ]; then
    # a minute passed: say what is still running, and stop a file past its time
    line=""
    for j in "${!pid[@]}"; do
      line+=" $j ($((SECONDS - started[$j])) s)"
      if [ $((SECONDS - started[$j])) -gt "$limit" ]; then
        overran[$j]=1
        kill -KILL "${pid[$j]}" 2>/dev/null
      fi
    done
    echo "run-suites: $((SECONDS / 60)) min, $ended of $total done; running:$line"
    continue
  fi
  kill "$tick" 2>/dev/null
  wait "$tick" 2>/dev/null
  for j in "${!pid[@]}"; do
    [ "${pid[$j]}" = "${done_pid:-}" ] || continue
    took=$((SECONDS - started[$j]))
    unset "pid[$j]"
    ended=$((ended + 1))
    if [ -n "${overran[$j]:-}" ]; then
      echo "run-suites: $j STOPPED after ${took} s, past IPCL_FILE_TIMEOUT=${limit} (a hang); its output so far:"
    elif [ $rc != 0 ]; then
      echo "run-suites: $j FAILED (exit $rc) in ${took} s; its output:"
    else
      counts=$(counts_of "$j")
      echo "run-suites: $j passed in ${took} s${counts:+ ($counts)}"
    fi
    if [ $rc != 0 ] || [ "${IPCL_TEST_LOGS:-}" = all ]; then
      sed 's/^/    /' "$(log_of "$j")"
    fi
    if [ $rc != 0 ]; then
      status=$rc
      failed+=("$j")
    fi
  done
  unset done_pid
done

echo
# a runner that went wrong must not pass: every file ran to its end
if [ $ended != "$total" ]; then
  echo "run-suites: only $ended of $total files ran to their end"
  [ $status != 0 ] || status=1
fi
if [ $status = 0 ]; then echo "run-suites: all $total test files passed in ${SECONDS} s"; else echo "run-suites: failed: ${failed[*]} (${SECONDS} s)"; fi
exit $status
