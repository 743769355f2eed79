#!/usr/bin/env bash
# Tests tools/measure_steps.py (the PyTorch step-time harness) on tiny shapes on the CPU.
#
#   tests/tools/test_measure_steps.sh PATH/TO/chronoscale SCRATCH_DIR
#
# Checks: a single-process sweep over the model variants (status, times, spread, carried
# columns, machine naming), the harness's parameter counts against `chronoscale estimate` (the
# measured rows and every variant combination), a 2-process gloo run under torch.distributed.run
# (DDP, ZeRO-1, FSDP: ok or "unsupported: ..."), and bad invocations (exit 2).
# Exit 0: pass; 77: skipped (no PyTorch in /usr/bin/python3); anything else: failure.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 PATH/TO/chronoscale SCRATCH_DIR" >&2
  exit 2
fi
CLI=$1
SCRATCH=$2
PY=/usr/bin/python3
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOL=$ROOT/tools/measure_steps.py

if ! "$PY" -c 'import torch' >/dev/null 2>&1; then
  echo "SKIP: $PY cannot import torch (install python3-torch to run this test)"
  exit 77
fi
if [[ ! -x $CLI ]]; then
  echo "FAIL: chronoscale CLI '$CLI' is not an executable file" >&2
  exit 1
fi
W=$SCRATCH/measure_steps
rm -rf "$W"
mkdir -p "$W"
START=$SECONDS

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Compares the `params` column of the ok rows of a runs CSV with chronoscale's count.
check_params() {
  local runs=$1 tag=$2
  "$PY" - "$runs" "$W/$tag.estimate.csv" <<'EOF'
import csv, sys
runs, out = sys.argv[1:3]
cols = ["d_model", "n_layers", "n_heads", "d_ff", "seq_len", "batch", "vocab", "n_kv_heads", "mlp",
        "norm", "positions", "tied", "bias", "checkpointing", "precision", "attention", "causal",
        "optimizer", "devices", "gpus_per_node", "sharding", "micro_batch", "grad_accum"]
rows = [r for r in csv.DictReader(open(runs, newline="")) if r["status"] == "ok"]
assert rows, f"{runs}: no ok rows"
with open(out, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(cols)
    for r in rows:
        w.writerow([r.get(c, "") for c in cols])
EOF
  "$CLI" estimate --shapes "$W/$tag.estimate.csv" --format json --hardware h200 \
    --out "$W/$tag.estimate.json" >"$W/$tag.estimate.log" 2>&1 \
    || fail "$tag: chronoscale estimate failed on the ok rows (see $W/$tag.estimate.log)"
  "$PY" - "$runs" "$W/$tag.estimate.json" <<'EOF' || fail "$tag: parameter counts differ"
import csv, json, sys
runs, est = sys.argv[1:3]
rows = [r for r in csv.DictReader(open(runs, newline="")) if r["status"] == "ok"]
results = json.load(open(est))["results"]
assert len(results) == len(rows), (len(results), len(rows))
bad = 0
for r, e in zip(rows, results):
    if int(r["params"]) != int(e["params"]):
        bad += 1
        print(f"  params mismatch: harness {r['params']}, chronoscale {e['params']:.0f}: "
              f"{ {k: v for k, v in r.items() if v and not k.endswith('_ms')} }", file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
  echo "ok: $tag: params agree with chronoscale on every ok row"
}

# ------------------------------------------------------------------ 1. single process
cat >"$W/shapes.csv" <<'EOF'
name,d_model,n_layers,n_heads,d_ff,seq_len,batch,vocab,n_kv_heads,mlp,norm,positions,tied,bias,checkpointing,attention,causal,precision,optimizer,grad_accum
base,32,1,4,128,16,4,64,,gelu,layernorm,learned,false,true,none,,,,,
swiglu_rms_rope,32,2,4,96,16,4,64,,swiglu,rmsnorm,rotary,false,true,none,,,,,
tied,32,1,4,128,16,4,128,,gelu,layernorm,learned,true,true,none,,,,,
nobias,32,1,4,128,16,4,64,,gelu,layernorm,learned,false,false,none,,,,,
gqa,64,1,4,128,16,4,64,2,silu,rms,rope,true,false,,,,,,
ckpt_full,32,2,4,128,16,4,64,,gelu,layernorm,learned,false,true,full,,,,,2
selective_naive,32,1,4,128,32,4,256,,gelu,layernorm,learned,false,true,selective,naive,false,fp32,sgd,
bad_heads,32,1,3,128,16,4,64,,gelu,layernorm,learned,false,true,none,,,,,
bad_value,32,1,4,128,16,4,64,,relu,layernorm,learned,false,true,none,,,,,
favor,32,1,4,128,16,4,64,,gelu,layernorm,learned,false,true,none,favor,,,,
EOF
"$PY" "$TOOL" --shapes "$W/shapes.csv" --out "$W/runs.csv" --device cpu --steps 4 --repeats 2 \
  --warmup 1 --threads 1 2>"$W/runs.log" || { cat "$W/runs.log" >&2; fail "single-process run"; }

"$PY" - "$W/shapes.csv" "$W/runs.csv" <<'EOF' || fail "single-process output"
import csv, os, socket, sys
import torch
shapes, runs = sys.argv[1:3]
extra = ["params", "fwd_ms", "bwd_ms", "opt_ms", "step_ms", "step_ms_p10", "step_ms_p90",
         "repeats", "peak_mem_gb", "status", "hardware", "device", "torch", "driver", "devices",
         "gpus_per_node", "sharding", "micro_batch", "grad_accum"]
with open(shapes, newline="") as f:
    in_header = next(csv.reader(f))
text = open(runs, newline="").read()
assert text.endswith("\n"), "the output does not end with a whole line"
rows = list(csv.reader(text.splitlines()))
header, rows = rows[0], rows[1:]
want = in_header + [c for c in extra if c not in in_header]
assert header == want, f"header {header}\n  expected {want}"
assert len(rows) == 10, f"{len(rows)} rows, expected 10"
assert all(len(r) == len(header) for r in rows), "a row has the wrong number of cells"
rows = [dict(zip(header, r)) for r in rows]
by = {r["name"]: r for r in rows}
assert [r["name"] for r in rows] == ["base", "swiglu_rms_rope", "tied", "nobias", "gqa",
                                     "ckpt_full", "selective_naive", "bad_heads", "bad_value",
                                     "favor"], "rows are not in input order"
host = "".join(chr(b).lower() if chr(b).isalnum() and b < 128 or chr(b) in "-_." else "-"
               for b in os.fsencode(socket.gethostname()))
model = "cpu"
for line in open("/proc/cpuinfo", "rb"):
    if line.startswith(b"model name"):
        model = line.rstrip(b"\n").split(b":", 1)[1].lstrip(b" \t").decode() or "cpu"
        break
for name in ["base", "swiglu_rms_rope", "tied", "nobias", "gqa", "ckpt_full", "selective_naive"]:
    r = by[name]
    assert r["status"] == "ok", f"{name}: status {r['status']!r}"
    t = {k: float(r[k]) for k in ["fwd_ms", "bwd_ms", "opt_ms", "step_ms", "step_ms_p10",
                                   "step_ms_p90"]}
    assert all(v > 0 for v in t.values()), f"{name}: times {t}"
    phases = t["fwd_ms"] + t["bwd_ms"] + t["opt_ms"]
    # The phases' medians need not add up to the step's median on a loaded shared CPU (one
    # preempted repeat moves a median of few), but they come from the same repeats: their sum
    # lies within the steps' own spread (p10..p90), with a margin for the timers' overhead.
    assert 0.5 * t["step_ms_p10"] <= phases <= 1.5 * t["step_ms_p90"], \
        f"{name}: fwd+bwd+opt = {phases:.3f} ms outside the steps' spread ({t})"
    assert t["step_ms_p10"] <= t["step_ms"] <= t["step_ms_p90"], f"{name}: spread {t}"
    assert r["repeats"] == "2", f"{name}: repeats {r['repeats']}"
    assert int(r["params"]) > 0
    assert r["peak_mem_gb"] == "", f"{name}: peak_mem_gb {r['peak_mem_gb']!r} on the CPU"
    assert r["hardware"] == host + "-cpu", (r["hardware"], host)
    assert r["device"] == model, (r["device"], model)
    assert r["torch"] == torch.__version__ and r["driver"] == "cpu"
    assert r["devices"] == "1" and r["gpus_per_node"] == "1" and r["sharding"] == "none"
    accum = 2 if name == "ckpt_full" else 1
    assert r["grad_accum"] == str(accum) and r["micro_batch"] == str(4 // accum), name
assert by["bad_heads"]["status"].startswith("bad shape:"), by["bad_heads"]["status"]
assert "n_heads" in by["bad_heads"]["status"]
assert by["bad_value"]["status"].startswith("bad shape:") and "relu" in by["bad_value"]["status"]
assert by["favor"]["status"].startswith("unsupported:"), by["favor"]["status"]
for name in ["bad_heads", "bad_value", "favor"]:
    assert by[name]["step_ms"] == "" and by[name]["fwd_ms"] == "", name
print("ok: single-process sweep: 7 rows ok, 2 bad shapes, 1 unsupported; header, order, names")
EOF
check_params "$W/runs.csv" single

# ------------------------------------------------------------------ 2. every variant's count
# The harness's model for each combination of the variants, counted without training.
"$PY" - "$TOOL" "$W/variants.csv" "$W/variants_params.txt" <<'EOF' || fail "variant models"
import csv, importlib.util, itertools, sys
tool, out_csv, out_params = sys.argv[1:4]
spec = importlib.util.spec_from_file_location("measure_steps", tool)
ms = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ms)
cols = ["d_model", "n_layers", "n_heads", "d_ff", "seq_len", "batch", "vocab", "n_kv_heads",
        "mlp", "norm", "positions", "tied", "bias"]
rows = []
for mlp, norm, pos, tied, bias, kv in itertools.product(
        ["gelu", "swiglu"], ["layernorm", "rmsnorm"], ["learned", "rotary"], ["false", "true"],
        ["true", "false"], ["", "1", "2"]):
    rows.append(["48", "2", "4", "80", "24", "2", "100", kv, mlp, norm, pos, tied, bias])
rows.append(["36", "1", "4", "50", "8", "2", "30", "", "swiglu", "rms", "rope", "", ""])  # odd dh
rows.append(["36", "3", "12", "20", "7", "1", "17", "3", "glu", "ln", "absolute", "yes", "no"])
with open(out_csv, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(cols)
    w.writerows(rows)
table = ms.read_table(out_csv)
with open(out_params, "w") as f:
    for i in range(len(table.rows)):
        s = ms.parse_row(table, i, 1)
        f.write(f"{sum(p.numel() for p in ms.GPT(s).parameters())}\n")
EOF
"$CLI" estimate --shapes "$W/variants.csv" --format json --hardware h200 \
  --out "$W/variants.json" >"$W/variants.log" 2>&1 || fail "chronoscale estimate on the variants"
"$PY" - "$W/variants.csv" "$W/variants_params.txt" "$W/variants.json" <<'EOF' \
  || fail "variant parameter counts differ"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
mine = [int(x) for x in open(sys.argv[2])]
theirs = [int(r["params"]) for r in json.load(open(sys.argv[3]))["results"]]
assert len(rows) == len(mine) == len(theirs), (len(rows), len(mine), len(theirs))
bad = [(r, a, b) for r, a, b in zip(rows, mine, theirs) if a != b]
for r, a, b in bad:
    print(f"  params mismatch: harness {a}, chronoscale {b}: {dict(r)}", file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
combos=$(($(wc -l <"$W/variants.csv") - 1))
echo "ok: variants: params agree with chronoscale on $combos combinations"

# ------------------------------------------------------------------ 3. two processes (gloo)
cat >"$W/dist.csv" <<'EOF'
d_model,n_layers,n_heads,d_ff,seq_len,batch,vocab,devices,sharding,grad_accum,checkpointing,mlp
32,1,4,128,16,4,64,2,none,,full,gelu
32,1,4,96,16,8,64,2,zero1,2,,swiglu
32,1,4,128,16,4,64,2,fsdp,,,
32,1,4,128,16,4,64,1,none,,,
EOF
# --redirects/--tee 1: torch 1.13's launcher cannot parse its own default "0" on Python 3.11.
timeout 100 "$PY" -m torch.distributed.run --standalone --nproc_per_node 2 --redirects 1 \
  --tee 1 --log_dir "$W/torchrun_logs" "$TOOL" --shapes "$W/dist.csv" --out "$W/dist_runs.csv" \
  --device cpu --steps 3 --repeats 1 --warmup 1 --threads 1 >"$W/dist.log" 2>&1 \
  || { cat "$W/dist.log" >&2; fail "2-process run (torch.distributed.run)"; }
"$PY" - "$W/dist_runs.csv" <<'EOF' || fail "2-process output"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 4, len(rows)
for r in rows[:2]:
    assert r["status"] == "ok", (r["sharding"], r["status"])
    assert all(float(r[k]) > 0 for k in ["fwd_ms", "bwd_ms", "opt_ms", "step_ms"]), r
    assert r["devices"] == "2" and r["gpus_per_node"] == "2", r
assert rows[0]["micro_batch"] == "2" and rows[1]["micro_batch"] == "2"
assert rows[1]["grad_accum"] == "2"
fsdp = rows[2]["status"]
assert fsdp == "ok" or fsdp.startswith("unsupported:"), fsdp
assert rows[3]["status"].startswith("skipped:"), rows[3]["status"]
print(f"ok: 2-process gloo run: ddp ok, zero1 ok, fsdp: {fsdp[:60]}")
EOF
check_params "$W/dist_runs.csv" dist

# ------------------------------------------------------------------ 4. bad invocations
expect_exit2() {
  local what=$1 pattern=$2
  shift 2
  local rc=0
  "$PY" "$TOOL" "$@" >"$W/bad.out" 2>"$W/bad.err" || rc=$?
  [[ $rc -eq 2 ]] || { cat "$W/bad.err" >&2; fail "$what: exit $rc, expected 2"; }
  grep -q -- "$pattern" "$W/bad.err" || { cat "$W/bad.err" >&2; fail "$what: no '$pattern'"; }
  echo "ok: $what: exit 2"
}
printf 'd_model,n_layers,n_heads,d_ff,seq_len,batch\n32,1,4,128,16,4\n' >"$W/novocab.csv"
expect_exit2 "missing shapes file" "$W/nope.csv" --shapes "$W/nope.csv" --out "$W/x.csv"
expect_exit2 "missing required column" "novocab.csv:1: missing required column 'vocab'" \
  --shapes "$W/novocab.csv" --out "$W/x.csv"
expect_exit2 "--steps 0" "steps" --shapes "$W/shapes.csv" --out "$W/x.csv" --steps 0

echo "PASS: measure_steps.py ($((SECONDS - START)) s)"
