#!/usr/bin/env bash
# chronoscale-gui's own arguments (issue 16/18): --session reaches the app (Qt takes -session for
# X11 session management), and two sessions with different budgets give different best shapes in
# the window's state (--export-plan writes it); --screenshot and --export-plan exit non-zero,
# writing nothing, when the session cannot be read or planned; without a display --help and
# --version work and the window says why it cannot open.
#   tests/gui/test_gui_args.sh PATH/TO/chronoscale-gui SCRATCH_DIR
set -euo pipefail
GUI=$1
W=$2/gui_args
rm -rf "$W"
mkdir -p "$W"
export QT_QPA_PLATFORM=offscreen
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
cat > "$W/s.json" <<'JSON'
{"schema_version": 1, "tool": "chronoscale", "kind": "planning_session",
 "inputs": {"hardware": "h200", "hours": 72, "devices": 1}}
JSON
"$GUI" --session "$W/s.json" --screenshot "$W/good.png" > "$W/good.log" 2>&1 \
  || { cat "$W/good.log" >&2; fail "a good session with --screenshot"; }
[[ -s $W/good.png ]] || fail "no screenshot written"
# The window's state from the command line: two sessions with different budgets plan different
# best shapes (--export-plan writes the window's plan, as File > Export plan).
for h in 2 2000; do
  cat > "$W/h$h.json" <<JSON
{"schema_version": 1, "tool": "chronoscale", "kind": "planning_session",
 "inputs": {"hardware": "h100-sxm", "hours": $h, "devices": 1}}
JSON
  "$GUI" --session "$W/h$h.json" --export-plan "$W/plan$h.json" > "$W/plan$h.log" 2>&1 \
    || { cat "$W/plan$h.log" >&2; fail "--export-plan for a $h h session"; }
done
best() {  # d_model x n_layers of the plan's best shape, and its hours
  python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); b=p["best"]; print(b["d_model"], b["n_layers"], "%g" % p["inputs"]["hours"])' "$1"
}
read -r d2 n2 h2 < <(best "$W/plan2.json")
read -r d2000 n2000 h2000 < <(best "$W/plan2000.json")
[[ $h2 == 2 && $h2000 == 2000 ]] || fail "the plans are not the sessions' budgets ($h2, $h2000)"
[[ "$d2 x $n2" != "$d2000 x $n2000" ]] || fail "2 h and 2000 h give the same best shape $d2 x $n2"
(( d2000 * n2000 > d2 * n2 )) || fail "more time did not give a bigger model ($d2 x $n2, $d2000 x $n2000)"
# A session whose inputs cannot be planned: exit 2, naming the input in the window's words.
cat > "$W/unplannable.json" <<'JSON'
{"schema_version": 1, "tool": "chronoscale", "kind": "planning_session",
 "inputs": {"hardware": "h100-sxm", "hours": 24, "devices": 6, "gpus_per_node": 4}}
JSON
set +e
"$GUI" --session "$W/unplannable.json" --export-plan "$W/unplannable_plan.json" > "$W/unplannable.log" 2>&1
rc=$?
set -e
[[ $rc -eq 2 ]] || fail "an unplannable session: exit $rc, expected 2"
[[ ! -e $W/unplannable_plan.json ]] || fail "an unplannable session still wrote a plan"
grep -q "Devices" "$W/unplannable.log" || fail "the message does not name the Devices input"

printf '[[[' > "$W/bad.json"
set +e
"$GUI" --session "$W/bad.json" --screenshot "$W/bad.png" > "$W/bad.log" 2>&1
rc=$?
"$GUI" --screenshot "$W/none.png" --session "$W/missing.json" > "$W/missing.log" 2>&1
rc_missing=$?
set -e
[[ $rc -eq 2 ]] || fail "a broken session: exit $rc, expected 2"
[[ ! -e $W/bad.png ]] || fail "a broken session still wrote a screenshot"
grep -q "bad.json" "$W/bad.log" || fail "the message does not name the session file"
[[ $rc_missing -eq 2 ]] || fail "a missing session: exit $rc_missing, expected 2"
grep -q "missing.json" "$W/missing.log" || fail "the message does not name the missing file"

# Without any display: --help and --version print and exit 0; the window itself exits 1 with a
# message (it used to abort in the platform plugin); --screenshot renders off screen.
nodisplay() { env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM "$GUI" "$@"; }
nodisplay --help > "$W/help.log" 2>&1 || fail "--help without a display: exit $?"
grep -q -- "--screenshot" "$W/help.log" || fail "--help does not list --screenshot"
nodisplay --version > "$W/version.log" 2>&1 || fail "--version without a display: exit $?"
grep -q "chronoscale-gui" "$W/version.log" || fail "--version prints no name"
set +e
nodisplay > "$W/window.log" 2>&1
rc_window=$?
set -e
[[ $rc_window -eq 1 ]] || fail "the window without a display: exit $rc_window, expected 1"
grep -q "no display" "$W/window.log" || fail "no message for the missing display"
nodisplay --screenshot "$W/headless.png" > "$W/headless.log" 2>&1 \
  || { cat "$W/headless.log" >&2; fail "--screenshot without a display"; }
[[ -s $W/headless.png ]] || fail "no headless screenshot written"
echo "PASS"
