#!/usr/bin/env python3
"""Measure transformer training step times with PyTorch, for chronoscale's fit-time.

What it measures
----------------
For every row of a shapes CSV it builds the reference decoder that chronoscale's op list
accounts for (core/include/chronoscale/workload_impl.h; parameter count = ModelShape::Params()),
trains it on synthetic random tokens (fixed seed) and times whole optimizer steps:

  fwd_ms   forward passes of the step: embeddings, blocks, final norm, LM head and the
           cross-entropy on fp32 logits (summed over the grad_accum micro-steps)
  bwd_ms   backward passes (summed over micro-steps; includes DDP's gradient all-reduce, which
           overlaps the backward, and FSDP's gathers and reduce-scatters)
  opt_ms   optimizer step + zero_grad(set_to_none=True) (ZeRO-1: includes the parameter
           broadcast; fp16: includes the loss-scaler's unscale and inf check)
  step_ms  the whole step, first forward to end of zero_grad

On a GPU the phases are timed with CUDA events on the current stream; on the CPU with
time.perf_counter() (CPU ops are synchronous). Under torch.distributed every step starts after a
barrier so the ranks start together; each rank times its own phases and, per step, the maximum
over ranks of each phase is taken (all_reduce MAX), so a step is as slow as its slowest rank.
Rank 0 reports.

Interleaving and spread: W warm-up steps, then N timed steps, make one "pass" over a shape.
There are R passes, interleaved: pass 1 measures every shape, then pass 2 measures every shape
again, and so on, so slow drifts (clocks, thermals, other jobs) spread over all shapes instead of
biasing the last ones. The model, optimizer and data are rebuilt for every pass (same seed). Per
shape the report is the median over all N x R timed steps of each phase, and the spread of
step_ms: step_ms_p10 and step_ms_p90 are the 10th and 90th percentiles (linear interpolation)
when there are at least 10 timed steps, and the minimum and maximum when there are fewer.

The model (one row)
-------------------
GPT-style decoder as in tests/data/measure.py: token embedding, learned position table
(seq_len x d_model, absent with positions=rotary), n_layers pre-norm blocks, final norm, LM head
(Linear without bias; tied=true reuses the token embedding). A block is
  norm1 -> fused qkv Linear (d_model -> d_model + 2 kv, kv = n_kv_heads * head size)
        -> [rotary on q and k] -> attention core -> proj Linear (d_model -> d_model) -> residual
  norm2 -> MLP -> residual
MLP gelu: fc (d_model -> d_ff), GELU, out (d_ff -> d_model); swiglu: gate and up (d_model ->
d_ff each), silu(gate) * up, down (d_ff -> d_model). Norms: LayerNorm (weight, + bias unless
bias=false) or RMSNorm (weight only). bias=false drops every Linear bias and the LayerNorm
biases (as chronoscale counts them). Attention: flash uses F.scaled_dot_product_attention where
this torch has it (torch >= 2.0) and the explicit softmax(QK^T/sqrt(dh)) V otherwise; naive
always uses the explicit form; the random-feature kinds (favor, dark, ...) are not implemented
(status "unsupported: ..."). GQA repeats the kv heads for the attention core. Checkpointing:
full = torch.utils.checkpoint around each block, selective = around the attention core only.
Precision: bf16/fp16 = torch.autocast with fp32 master weights (fp16 with a GradScaler; fp16 on
the CPU only where this torch's CPU autocast supports it), fp32 (TF32 off), tf32 (TF32 matmuls on
CUDA; the same as fp32 on the CPU), fp64 (model in float64). Optimizer: adamw (AdamW, fused on
CUDA where available) or sgd (SGD with momentum 0.9).

Parallel layouts: data parallel only. sharding none/ddp (DistributedDataParallel when more than
one process), zero1 (ZeroRedundancyOptimizer over AdamW/SGD, gradients all-reduced by DDP),
zero2/shard_grad_op, zero3/fsdp/full_shard and hybrid/hybrid_shard (FullyShardedDataParallel,
one unit per block, where this torch can import FSDP: status "unsupported: ..." otherwise).
tp or pp > 1 is "unsupported: ...". `batch` is the GLOBAL batch: each process runs
batch / (devices x grad_accum) sequences per micro-step. devices (default: the world size) must
equal the number of processes, otherwise the row is "skipped: ..." (measure it in another run).

Input (--shapes): the columns chronoscale's runs reader takes (core/src/step_runs.cpp).
  required  d_model, n_layers, n_heads, d_ff, seq_len, batch, vocab
  optional  n_kv_heads, mlp (gelu|swiglu; mlp, silu, glu), norm (layernorm|rmsnorm; ln, rms),
            positions (learned|rotary; absolute, rope), tied, bias, causal (true/false, 1/0,
            yes/no), checkpointing (none|selective|full; true/false), precision
            (bf16|fp16|fp32|tf32|fp64), attention (flash|naive|softmax; favor..., dark...:
            unsupported), optimizer (adamw|adam|sgd), devices, gpus_per_node (ignored: the run's
            own is written), tp, pp, sharding, micro_batch, grad_accum, features (ignored)
Every other column is carried through to the output unchanged.

Output (--out): the runs CSV chronoscale's fit-time reads. Every input column (in order), then
these (a column of the same name in the input is overwritten):
  params         sum of numel() of the model's parameters (equals chronoscale's Params())
  fwd_ms, bwd_ms, opt_ms, step_ms   medians over all timed steps (ms)
  step_ms_p10, step_ms_p90          p10/p90 of step_ms, or min/max below 10 timed steps
  repeats        passes that measured the shape
  peak_mem_gb    CUDA: max over passes and ranks of torch.cuda.max_memory_allocated() in GiB
                 (2^30 bytes); CPU: left empty (the process RSS peak is not per shape)
  status         ok | oom | bad shape: ... | unsupported: ... | skipped: ... |
                 error: ExceptionName: message
  hardware       CUDA: sanitize(GPU name) + "-measured"; CPU: sanitize(hostname) + "-cpu", the
                 names chronoscale bench gives its profiles (sanitize = core/bench/src/bench.cpp
                 SanitizeName: every byte but ASCII letters, digits, '-', '_', '.' becomes '-',
                 letters lower-cased); --hardware NAME overrides it
  device         GPU name, or the CPU model from /proc/cpuinfo "model name" (as bench reads it)
  torch          torch.__version__
  driver         CUDA: "cuda <torch.version.cuda>" plus "; driver <version>" where obtainable
                 (ROCm: "hip <version>"); CPU: "cpu"
  devices, gpus_per_node, sharding, micro_batch, grad_accum
                 the layout actually run (world size, processes per node, the row's sharding
                 text or "none", resolved micro-batch and gradient-accumulation steps)
A row's line is written (and flushed) as soon as its final result is known, in input order.

Usage
-----
  python3 tools/measure_steps.py --shapes shapes.csv --out runs.csv [--device cpu|cuda]
      [--steps N] [--repeats R] [--warmup W] [--threads T] [--hardware NAME] [--seed S]

One node, K GPUs (NCCL; gloo with --device cpu):
  torchrun --standalone --nproc_per_node K tools/measure_steps.py --shapes s.csv --out runs.csv
  (or python3 -m torch.distributed.run ...; Debian's torch 1.13 on Python 3.11 also needs
  `--redirects 1 --tee 1`: its launcher cannot parse its own default "0" there)

Slurm, several nodes (one torchrun per node, K GPUs each; rows with devices = nodes x K):
  srun --nodes 2 --ntasks-per-node 1 torchrun --nnodes 2 --nproc_per_node 8 \\
      --rdzv_id $SLURM_JOB_ID --rdzv_backend c10d \\
      --rdzv_endpoint $(scontrol show hostnames $SLURM_JOB_NODELIST | head -n1):29500 \\
      tools/measure_steps.py --shapes s.csv --out runs.csv

On the CPU each process uses --threads threads (default: os.cpu_count() / processes, at
least 1); on a machine shared with other busy processes, fewer threads (even 1) give much
steadier times, because OpenMP threads that wait for a descheduled sibling spin.

Only rank 0 writes the output and prints progress (one line per measured shape and pass, to
stderr). Errors and OOMs are agreed between ranks after each shape. A failure on some ranks only
(mid-collective) cannot be recovered: the process-group timeout (--timeout) ends the run, and
the rows written so far stay in the output.

Exit status: 0 when the sweep ran (whatever the rows' statuses), 2 for a bad invocation (bad
option, missing/unreadable shapes file, missing required column, unwritable output), 1 when
PyTorch cannot be imported.
"""

import argparse
import contextlib
import csv
import datetime
import gc
import io
import math
import os
import socket
import statistics
import subprocess
import sys
import time
import traceback
import warnings

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as _e:  # pragma: no cover - depends on the interpreter
    print(f"measure_steps.py: PyTorch is not importable by {sys.executable}: {_e}",
          file=sys.stderr)
    sys.exit(1)

PROG = "measure_steps.py"

REQUIRED = ["d_model", "n_layers", "n_heads", "d_ff", "seq_len", "batch", "vocab"]
OUTPUT_COLUMNS = ["params", "fwd_ms", "bwd_ms", "opt_ms", "step_ms", "step_ms_p10", "step_ms_p90",
                  "repeats", "peak_mem_gb", "status", "hardware", "device", "torch", "driver",
                  "devices", "gpus_per_node", "sharding", "micro_batch", "grad_accum"]

# Names accepted by chronoscale (core/src/types.cpp), lower-cased.
PRECISIONS = {"fp64": "fp64", "fp32": "fp32", "tf32": "tf32", "bf16": "bf16", "fp16": "fp16",
              "float64": "fp64", "float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}
ATTENTION = {"flash": "flash", "naive": "naive", "softmax": "naive", "favor": "favor",
             "favor-orth": "favor", "favor-hyp": "favor", "optimal": "favor",
             "performer": "favor", "dark": "dark", "darkformer": "dark"}
MLP = {"gelu": "gelu", "mlp": "gelu", "swiglu": "swiglu", "silu": "swiglu", "glu": "swiglu"}
NORM = {"layernorm": "layernorm", "ln": "layernorm", "rmsnorm": "rmsnorm", "rms": "rmsnorm"}
POSITIONS = {"learned": "learned", "absolute": "learned", "rotary": "rotary", "rope": "rotary"}
OPTIMIZERS = {"adamw": "adamw", "adam": "adamw", "sgd": "sgd"}
CHECKPOINTING = {"none": "none", "selective": "selective", "full": "full", "true": "full",
                 "1": "full", "yes": "full", "false": "none", "0": "none", "no": "none",
                 "uniform": "full", "block": "full"}
SHARDINGS = {"none": "none", "ddp": "none", "zero1": "zero1", "zero2": "zero2",
             "zero3": "zero3", "fsdp": "zero3", "hybrid": "hybrid", "hsdp": "hybrid",
             "zero0": "none", "no_shard": "none", "shard_grad_op": "zero2",
             "full_shard": "zero3", "hybrid_shard": "hybrid", "zero-0": "none",
             "zero-1": "zero1", "zero-2": "zero2", "zero-3": "zero3"}


class UsageError(Exception):
    """A bad invocation or input file: exit status 2."""


class RowStatus(Exception):
    """A row that is not measured; the message is its full status text."""


def fail_usage(message):
    print(f"{PROG}: {message}", file=sys.stderr)
    sys.exit(2)


# ----------------------------------------------------------------------------- naming

def sanitize_name(text):
    """core/bench/src/bench.cpp SanitizeName, byte by byte ("C" locale isalnum/tolower)."""
    raw = text if isinstance(text, bytes) else os.fsencode(text)
    out = []
    for b in raw:
        ch = chr(b)
        if b < 128 and (ch.isalnum() or ch in "-_."):
            out.append(ch.lower())
        else:
            out.append("-")
    return "".join(out)


def cpu_model():
    """The CPU model as chronoscale bench reads it (core/bench/src/system.cpp QuerySystem)."""
    try:
        with open("/proc/cpuinfo", "rb") as f:
            for line in f:
                line = line.rstrip(b"\n")
                if line.startswith(b"model name"):
                    colon = line.find(b":")
                    if colon < 0:
                        break
                    value = line[colon + 1:].lstrip(b" \t")
                    if value:
                        return value.decode("utf-8", "replace")
                    break
    except OSError:
        pass
    return "cpu"


def cuda_driver_text():
    parts = []
    if getattr(torch.version, "hip", None):
        parts.append(f"hip {torch.version.hip}")
    elif torch.version.cuda:
        parts.append(f"cuda {torch.version.cuda}")
    driver = None
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        if out.returncode == 0 and out.stdout.strip():
            driver = out.stdout.strip().splitlines()[0].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    if driver is None:
        get = getattr(torch._C, "_cuda_getDriverVersion", None)
        if get is not None:
            try:
                v = int(get())
                driver = f"{v // 1000}.{(v % 1000) // 10} (CUDA API)"
            except Exception:  # noqa: BLE001 - best effort only
                driver = None
    if driver:
        parts.append(f"driver {driver}")
    return "; ".join(parts) if parts else "cuda"


# ----------------------------------------------------------------------------- input

class Table:
    def __init__(self, path, header, rows, lines):
        self.path, self.header, self.rows, self.lines = path, header, rows, lines


def read_table(path):
    """Reads the shapes CSV; UsageError for an unusable file (the whole run stops)."""
    try:
        with open(path, "r", newline="", encoding="utf-8-sig") as f:
            text = f.read()
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder; expected a shapes CSV file")
    except FileNotFoundError:
        raise UsageError(f"{path}: cannot read the shapes file (no such file)")
    except OSError as e:
        raise UsageError(f"{path}: cannot read the shapes file ({e.strerror or e})")
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: not a UTF-8 text file ({e.reason} at byte {e.start})")
    reader = csv.reader(io.StringIO(text))
    records, lines = [], []
    prev = 0
    try:
        for rec in reader:
            start, prev = prev + 1, reader.line_num
            if not rec or (len(rec) == 1 and not rec[0].strip()):
                continue  # blank line
            records.append(rec)
            lines.append(start)
    except csv.Error as e:
        raise UsageError(f"{path}:{reader.line_num}: {e}")
    if not records:
        raise UsageError(f"{path}: the file is empty; expected a header line and rows")
    header = [h.strip() for h in records[0]]
    for c, name in enumerate(header):
        if not name:
            raise UsageError(f"{path}:{lines[0]}:{c + 1}: empty column name in the header")
        if name in header[:c]:
            raise UsageError(f"{path}:{lines[0]}:{c + 1}: column '{name}' appears twice "
                             f"(columns {header.index(name) + 1} and {c + 1})")
    for name in REQUIRED:
        if name not in header:
            raise UsageError(f"{path}:{lines[0]}: missing required column '{name}' (the header "
                             f"has: {', '.join(header)}; required: {', '.join(REQUIRED)})")
    if len(records) == 1:
        raise UsageError(f"{path}: a header but no data rows")
    return Table(path, header, records[1:], lines[1:])


class Spec:
    """One row's shape and layout, validated as chronoscale's ShapeFromRow/LayoutFromRow do."""


class RowReader:
    def __init__(self, table, index):
        self.t, self.i = table, index
        self.cells = table.rows[index]
        self.line = table.lines[index]

    def where(self, name):
        col = self.t.header.index(name) + 1
        return f"line {self.line}, column {col} '{name}'"

    def text(self, name):
        if name not in self.t.header:
            return ""
        return self.cells[self.t.header.index(name)].strip()

    def bad(self, name, why):
        return RowStatus(f"bad shape: {self.where(name)}: {why}")

    def integer(self, name, lo, hi, default=None):
        text = self.text(name)
        if not text:
            if default is not None:
                return default
            raise self.bad(name, "expected a number, found an empty cell")
        try:
            v = float(text)
        except ValueError:
            raise self.bad(name, f"expected a number, found '{text}'")
        if not math.isfinite(v):
            raise self.bad(name, f"expected a finite number, found '{text}'")
        if v != math.floor(v):
            raise self.bad(name, f"expected a whole number, found '{text}'")
        if v < lo or v > hi:
            raise self.bad(name, f"{text} is out of range; expected a whole number in [{lo}, {hi}]")
        return int(v)

    def enum(self, name, table, default, expected):
        text = self.text(name)
        if not text:
            return default
        v = table.get(text.lower())
        if v is None:
            raise self.bad(name, f"unknown value '{text}'; expected {expected}")
        return v

    def boolean(self, name, empty):
        text = self.text(name)
        if not text:
            return empty
        v = text.lower()
        if v in ("1", "true", "yes"):
            return True
        if v in ("0", "false", "no"):
            return False
        raise self.bad(name, f"expected 0/1 or true/false, found '{text}'")


def parse_row(table, index, world):
    """A Spec, or RowStatus with the row's status (bad shape / skipped / unsupported)."""
    r = RowReader(table, index)
    if len(r.cells) != len(table.header):
        raise RowStatus(f"bad shape: line {r.line}: {len(r.cells)} cells, but the header has "
                        f"{len(table.header)} columns")
    s = Spec()
    s.line = r.line
    s.d_model = r.integer("d_model", 1, 1 << 20)
    s.n_layers = r.integer("n_layers", 1, 100000)
    s.n_heads = r.integer("n_heads", 1, 1 << 20)
    s.d_ff = r.integer("d_ff", 1, 1 << 22)
    s.seq_len = r.integer("seq_len", 1, 1 << 24)
    s.batch = r.integer("batch", 1, 1 << 24)
    s.vocab = r.integer("vocab", 1, 1 << 27)
    s.n_kv_heads = r.integer("n_kv_heads", 0, 1 << 20, default=0)
    s.attention = r.enum("attention", ATTENTION, "flash", "flash, naive, favor or dark")
    s.mlp = r.enum("mlp", MLP, "gelu", "gelu or swiglu")
    s.norm = r.enum("norm", NORM, "layernorm", "layernorm or rmsnorm")
    s.positions = r.enum("positions", POSITIONS, "learned", "learned or rotary")
    s.precision = r.enum("precision", PRECISIONS, "bf16", "bf16, fp16, tf32, fp32 or fp64")
    s.optimizer = r.enum("optimizer", OPTIMIZERS, "adamw", "adamw or sgd")
    s.tied = r.boolean("tied", False)
    s.bias = r.boolean("bias", True)
    s.checkpointing = r.enum("checkpointing", CHECKPOINTING, "none",
                             "none, selective or full (or true/false)")
    s.causal = r.boolean("causal", True)
    # Variants chronoscale prices (real models' configs) that this reference model does not
    # build yet: a row that sets one is not measured rather than measured as something else.
    for column in ("head_dim", "sliding_window", "experts", "experts_per_token", "shared_ff",
                   "dense_layers", "dense_ff", "max_positions"):
        if r.integer(column, 0, 1 << 24, default=0):
            raise RowStatus(f"unsupported: line {r.line}: column '{column}' is set; the harness "
                            "builds dense, full-attention models with head size d_model / n_heads")
    for column in ("qkv_bias", "out_bias", "mlp_bias", "norm_bias"):
        if r.text(column) and r.boolean(column, s.bias) != s.bias:
            raise RowStatus(f"unsupported: line {r.line}: column '{column}' differs from 'bias'; "
                            "the harness sets every bias together")
    for column in ("lm_head_bias", "post_norms", "shared_gate"):
        if r.boolean(column, False):
            raise RowStatus(f"unsupported: line {r.line}: column '{column}' is set")
    if (r.text("block") or "sequential").lower() != "sequential":
        raise RowStatus(f"unsupported: line {r.line}: block '{r.text('block')}'; the harness "
                        "builds sequential blocks")
    # ModelShape::Validate
    if s.n_heads > s.d_model:
        raise r.bad("n_heads", f"{s.n_heads} is more heads than d_model {s.d_model}")
    if s.d_model % s.n_heads:
        raise r.bad("n_heads", f"n_heads {s.n_heads} does not divide d_model {s.d_model}")
    if s.n_kv_heads:
        if s.n_kv_heads > s.n_heads:
            raise r.bad("n_kv_heads", f"{s.n_kv_heads} is more than n_heads {s.n_heads}")
        if s.n_heads % s.n_kv_heads:
            raise r.bad("n_kv_heads",
                        f"n_kv_heads {s.n_kv_heads} does not divide n_heads {s.n_heads}")
    if s.attention in ("favor", "dark"):
        s.features = r.integer("features", 1, 1 << 20, default=256)
    s.kv_heads = s.n_kv_heads or s.n_heads
    # LayoutFromRow
    s.devices = r.integer("devices", 1, 1 << 24, default=world)
    s.tp = r.integer("tp", 1, 1 << 24, default=1)
    s.pp = r.integer("pp", 1, 1 << 24, default=1)
    s.sharding = r.enum("sharding", SHARDINGS, "none", "none, zero1, zero2, zero3 (fsdp) or hybrid")
    s.sharding_text = r.text("sharding") or "none"
    micro = r.integer("micro_batch", 1, 1 << 24, default=0)
    accum = r.integer("grad_accum", 1, 1 << 24, default=0)
    if s.devices % (s.tp * s.pp):
        raise r.bad("devices", f"devices {s.devices} is not a multiple of tp x pp = "
                    f"{s.tp * s.pp}")
    dp = s.devices // (s.tp * s.pp)

    def split(whole, part, what, column):
        if whole % part:
            raise r.bad(column, f"batch {s.batch} (global, sequences) does not split into dp {dp} "
                        f"x {what}; expected batch = micro_batch x grad_accum x dp")
        return whole // part

    if micro == 0 and accum == 0:
        s.grad_accum, s.micro_batch = 1, split(s.batch, dp, "whole micro-batches", "batch")
    elif accum == 0:
        s.micro_batch = micro
        s.grad_accum = split(s.batch, dp * micro, "micro_batch", "micro_batch")
    elif micro == 0:
        s.grad_accum = accum
        s.micro_batch = split(s.batch, dp * accum, "grad_accum", "grad_accum")
    else:
        s.micro_batch, s.grad_accum = micro, accum
    if s.micro_batch * s.grad_accum * dp != s.batch:
        raise r.bad("batch", f"micro_batch {s.micro_batch} x grad_accum {s.grad_accum} x dp {dp} "
                    f"= {s.micro_batch * s.grad_accum * dp} sequences, but the global batch is "
                    f"{s.batch}")
    # What this harness (and this run) can do.
    if s.devices != world:
        raise RowStatus(f"skipped: devices {s.devices}, but this run has {world} process(es); "
                        f"measure it under torchrun --nproc_per_node/--nnodes giving "
                        f"{s.devices}")
    if s.tp > 1 or s.pp > 1:
        raise RowStatus(f"unsupported: tensor/pipeline parallelism (tp {s.tp}, pp {s.pp}) is not "
                        f"implemented by this harness (data parallel only)")
    if s.attention in ("favor", "dark"):
        raise RowStatus(f"unsupported: random-feature attention '{r.text('attention')}' is not "
                        f"implemented by this harness (flash or naive only)")
    return s


def describe(s):
    extra = [s.mlp, s.norm, s.positions]
    if s.kv_heads != s.n_heads:
        extra.append(f"kv{s.kv_heads}")
    if s.tied:
        extra.append("tied")
    if not s.bias:
        extra.append("nobias")
    if s.checkpointing != "none":
        extra.append(f"ckpt-{s.checkpointing}")
    extra += [s.attention, s.precision, s.optimizer]
    return (f"d{s.d_model} L{s.n_layers} h{s.n_heads} ff{s.d_ff} seq{s.seq_len} b{s.batch} "
            f"V{s.vocab} [{','.join(extra)}] {s.devices}x{s.sharding} mb{s.micro_batch} "
            f"ga{s.grad_accum}")


# ----------------------------------------------------------------------------- model

def _torch_version():
    try:
        parts = torch.__version__.split("+")[0].split(".")
        return int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()) or 0)
    except (ValueError, IndexError):
        return (0, 0)


HAVE_SDPA = hasattr(F, "scaled_dot_product_attention")
SDPA_GQA = HAVE_SDPA and _torch_version() >= (2, 5)


def _checkpoint(fn, *args):
    import torch.utils.checkpoint as cp
    try:
        return cp.checkpoint(fn, *args, use_reentrant=False)
    except TypeError:  # a torch without non-reentrant checkpointing
        return cp.checkpoint(fn, *args)


class Norm(nn.Module):
    """LayerNorm (weight, + bias when bias=True) or RMSNorm (weight only)."""

    def __init__(self, d, kind, bias, eps=1e-5):
        super().__init__()
        self.kind, self.eps, self.d = kind, eps, d
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d)) if kind == "layernorm" and bias else None

    def forward(self, x):
        if self.kind == "layernorm":
            return F.layer_norm(x, (self.d,), self.weight, self.bias, self.eps)
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def attention_core(q, k, v, mask, causal, explicit):
    """q (B, h, L, dh); k, v (B, kv, L, dh). Returns (B, h, L, dh)."""
    rep = q.shape[1] // k.shape[1]
    if not explicit:
        if rep > 1 and SDPA_GQA:
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)
        if rep > 1:
            k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    if rep > 1:
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
    s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    if causal:
        s = s.masked_fill(mask, float("-inf"))
    return s.softmax(-1) @ v


def rotate(x, cos, sin):
    """Rotary embedding (rotate-half form) on the first 2*(dh//2) features of x (B, h, L, dh)."""
    half = cos.shape[-1]
    x1, x2, rest = x[..., :half], x[..., half:2 * half], x[..., 2 * half:]
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    out = torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)
    return torch.cat([out, rest], dim=-1) if rest.shape[-1] else out


class Block(nn.Module):
    def __init__(self, s):
        super().__init__()
        d, f = s.d_model, s.d_ff
        self.h, self.kvh, self.dh = s.n_heads, s.kv_heads, s.d_model // s.n_heads
        self.kv = self.kvh * self.dh
        self.causal, self.ckpt = s.causal, s.checkpointing
        self.explicit = s.attention == "naive" or not HAVE_SDPA
        self.rotary, self.swiglu = s.positions == "rotary", s.mlp == "swiglu"
        self.norm1 = Norm(d, s.norm, s.bias)
        self.qkv = nn.Linear(d, d + 2 * self.kv, bias=s.bias)
        self.proj = nn.Linear(d, d, bias=s.bias)
        self.norm2 = Norm(d, s.norm, s.bias)
        if self.swiglu:
            self.gate = nn.Linear(d, f, bias=s.bias)
            self.up = nn.Linear(d, f, bias=s.bias)
            self.down = nn.Linear(f, d, bias=s.bias)
        else:
            self.fc = nn.Linear(d, f, bias=s.bias)
            self.out = nn.Linear(f, d, bias=s.bias)

    def _forward(self, x, cos, sin, mask):
        B, L, D = x.shape
        q, k, v = self.qkv(self.norm1(x)).split([D, self.kv, self.kv], dim=-1)
        q = q.view(B, L, self.h, self.dh).transpose(1, 2)
        k = k.view(B, L, self.kvh, self.dh).transpose(1, 2)
        v = v.view(B, L, self.kvh, self.dh).transpose(1, 2)
        if self.rotary:
            q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        if self.ckpt == "selective" and torch.is_grad_enabled():
            a = _checkpoint(attention_core, q, k, v, mask, self.causal, self.explicit)
        else:
            a = attention_core(q, k, v, mask, self.causal, self.explicit)
        x = x + self.proj(a.transpose(1, 2).reshape(B, L, D))
        h = self.norm2(x)
        if self.swiglu:
            h = self.down(F.silu(self.gate(h)) * self.up(h))
        else:
            h = self.out(F.gelu(self.fc(h)))
        return x + h

    def forward(self, x, cos=None, sin=None, mask=None):
        if self.ckpt == "full" and torch.is_grad_enabled():
            return _checkpoint(self._forward, x, cos, sin, mask)
        return self._forward(x, cos, sin, mask)


class GPT(nn.Module):
    def __init__(self, s):
        super().__init__()
        d, L = s.d_model, s.seq_len
        self.tok = nn.Embedding(s.vocab, d)
        self.pos = nn.Embedding(L, d) if s.positions == "learned" else None
        self.blocks = nn.ModuleList([Block(s) for _ in range(s.n_layers)])
        self.norm = Norm(d, s.norm, s.bias)
        self.head = None if s.tied else nn.Linear(d, s.vocab, bias=False)
        self.rotary = s.positions == "rotary"
        self.half = (d // s.n_heads) // 2
        self.mask = s.causal and (s.attention == "naive" or not HAVE_SDPA)
        # Rotary tables and the causal mask are plain tensors made on first use, not buffers:
        # DDP would broadcast buffers (and gloo cannot broadcast bool tensors).
        self._cache = {}

    def _tables(self, L, device):
        key = (L, str(device))
        if key not in self._cache:
            cos = sin = mask = None
            if self.rotary:
                inv = 1.0 / (10000.0 ** (torch.arange(0, self.half, device=device,
                                                      dtype=torch.float32) / max(self.half, 1)))
                ang = torch.arange(L, device=device, dtype=torch.float32)[:, None] * inv[None, :]
                cos, sin = ang.cos(), ang.sin()
            if self.mask:
                mask = torch.ones(L, L, dtype=torch.bool, device=device).triu(1)
            self._cache = {key: (cos, sin, mask)}
        return self._cache[key]

    def forward(self, idx):
        L = idx.shape[1]
        cos, sin, mask = self._tables(L, idx.device)
        x = self.tok(idx)
        if self.pos is not None:
            x = x + self.pos(torch.arange(L, device=idx.device))
        for b in self.blocks:
            x = b(x, cos, sin, mask)
        x = self.norm(x)
        return F.linear(x, self.tok.weight) if self.head is None else self.head(x)


# ----------------------------------------------------------------------------- running

class Context:
    pass


def is_oom(e):
    if isinstance(e, MemoryError):
        return True
    cls = getattr(torch.cuda, "OutOfMemoryError", None)
    if cls is not None and isinstance(e, cls):
        return True
    text = str(e).lower()
    return isinstance(e, RuntimeError) and ("out of memory" in text or
                                            "can't allocate memory" in text)


def error_status(e):
    msg = " ".join(str(e).split())
    if len(msg) > 300:
        msg = msg[:297] + "..."
    return f"error: {type(e).__name__}: {msg}"


_FSDP = None


def fsdp_api():
    """(FSDP class, ShardingStrategy, error text): FSDP is imported on first use only."""
    global _FSDP
    if _FSDP is None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from torch.distributed.fsdp import FullyShardedDataParallel, ShardingStrategy
            _FSDP = (FullyShardedDataParallel, ShardingStrategy, None)
        except Exception as e:  # noqa: BLE001 - e.g. torch 1.13 on Python 3.11: ValueError
            msg = " ".join(str(e).split())
            _FSDP = (None, None, f"{type(e).__name__}: {msg[:200]}")
    return _FSDP


def ensure_group(ctx):
    """A process group for ZeRO/FSDP; a one-process group when not started by torchrun."""
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group(ctx.backend, store=dist.HashStore(), rank=0, world_size=1)


def autocast_context(ctx, s):
    if s.precision not in ("bf16", "fp16"):
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if s.precision == "bf16" else torch.float16
    return torch.autocast(ctx.device_type, dtype=dtype)


def check_precision(ctx, s):
    if ctx.device_type == "cuda":
        if s.precision == "bf16" and not torch.cuda.is_bf16_supported():
            raise RowStatus("unsupported: bf16 on this GPU")
        torch.backends.cuda.matmul.allow_tf32 = s.precision == "tf32"
        torch.backends.cudnn.allow_tf32 = s.precision == "tf32"
        return
    if s.precision in ("bf16", "fp16"):
        want = torch.bfloat16 if s.precision == "bf16" else torch.float16
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with autocast_context(ctx, s):
                    on = torch.is_autocast_cpu_enabled()
                    dtype = torch.get_autocast_cpu_dtype()
        except (RuntimeError, ValueError, TypeError):  # torch 1.13: "only support Bfloat16"
            on, dtype = False, None
        if not on or dtype != want:
            raise RowStatus(f"unsupported: {s.precision} autocast on the CPU in torch "
                            f"{torch.__version__}")


def make_optimizer(ctx, s, params, zero):
    if s.optimizer == "adamw":
        cls, kw = torch.optim.AdamW, dict(lr=1e-4, weight_decay=0.1)
    else:
        cls, kw = torch.optim.SGD, dict(lr=1e-3, momentum=0.9)
    params = list(params)
    tries = [dict(kw)]
    if ctx.device_type == "cuda":
        tries = [dict(kw, fused=True), dict(kw, foreach=True), dict(kw)]
    last = None
    for extra in tries:
        try:
            if zero:
                from torch.distributed.optim import ZeroRedundancyOptimizer
                return ZeroRedundancyOptimizer(params, optimizer_class=cls, **extra)
            return cls(params, **extra)
        except (TypeError, ValueError, RuntimeError) as e:  # fused/foreach not available here
            if is_oom(e):
                raise
            last = e
    raise last


def wrap_model(ctx, s, model):
    """DDP / FSDP wrapping for the row's sharding. Returns (model, fsdp?)."""
    if s.sharding in ("zero2", "zero3", "hybrid"):
        fsdp, strategy, err = fsdp_api()
        if fsdp is None:
            raise RowStatus(f"unsupported: FSDP not importable in this torch "
                            f"({torch.__version__}: {err})")
        name = {"zero2": "SHARD_GRAD_OP", "zero3": "FULL_SHARD", "hybrid": "HYBRID_SHARD"}
        if not hasattr(strategy, name[s.sharding]):
            raise RowStatus(f"unsupported: FSDP ShardingStrategy.{name[s.sharding]} is not in "
                            f"torch {torch.__version__}")
        ensure_group(ctx)
        try:
            import functools
            from torch.distributed.fsdp.wrap import transformer_auto_wrap_policy
            kw = dict(sharding_strategy=getattr(strategy, name[s.sharding]),
                      auto_wrap_policy=functools.partial(transformer_auto_wrap_policy,
                                                         transformer_layer_cls={Block}))
            if ctx.device_type == "cuda":
                kw["device_id"] = ctx.device
            return fsdp(model, **kw), True
        except Exception as e:  # noqa: BLE001
            if is_oom(e):
                raise
            raise RowStatus(f"unsupported: FSDP on {ctx.device_type} in torch "
                            f"{torch.__version__} ({type(e).__name__}: "
                            f"{' '.join(str(e).split())[:200]})")
    if s.sharding == "zero1":
        ensure_group(ctx)
    if ctx.world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP
        ids = [ctx.device] if ctx.device_type == "cuda" else None
        return DDP(model, device_ids=ids, broadcast_buffers=False), False
    return model, False


class StepTimer:
    """Marks on CUDA events (GPU) or perf_counter (CPU); durations in ms between marks."""

    def __init__(self, cuda):
        self.cuda, self.marks = cuda, []

    def mark(self):
        if self.cuda:
            e = torch.cuda.Event(enable_timing=True)
            e.record()
            self.marks.append(e)
        else:
            self.marks.append(time.perf_counter())

    def between(self, a, b):
        if self.cuda:
            return self.marks[a].elapsed_time(self.marks[b])
        return (self.marks[b] - self.marks[a]) * 1e3

    def finish(self):
        if self.cuda:
            self.marks[-1].synchronize()


def measure_once(ctx, s, info):
    """One pass over one shape: warm-up then timed steps. Returns a list of [fwd, bwd, opt, step]
    per timed step (this rank's) and the peak memory in bytes (CUDA) or None."""
    cuda = ctx.device_type == "cuda"
    check_precision(ctx, s)
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(ctx.device)
    torch.manual_seed(ctx.seed)
    if hasattr(torch.device, "__enter__"):  # build on the device directly (torch >= 2.0)
        with torch.device(ctx.device):
            model = GPT(s)
    else:
        model = GPT(s).to(ctx.device)
    if s.precision == "fp64":
        model = model.double()
    info["params"] = sum(p.numel() for p in model.parameters())
    model.train()
    model, sharded = wrap_model(ctx, s, model)
    opt = make_optimizer(ctx, s, model.parameters(), zero=s.sharding == "zero1")
    scaler = None
    if s.precision == "fp16" and cuda:
        if sharded:
            from torch.distributed.fsdp.sharded_grad_scaler import ShardedGradScaler
            scaler = ShardedGradScaler()
        else:
            scaler = torch.cuda.amp.GradScaler()
    gen = torch.Generator().manual_seed(ctx.seed * 1000003 + ctx.rank + 1)
    idx = torch.randint(0, s.vocab, (s.micro_batch, s.seq_len), generator=gen).to(ctx.device)
    tgt = torch.randint(0, s.vocab, (s.micro_batch, s.seq_len), generator=gen).to(ctx.device)
    V = s.vocab
    accum = s.grad_accum

    def step():
        if ctx.distributed:
            ctx.dist.barrier()
        if cuda:
            torch.cuda.synchronize(ctx.device)
        t = StepTimer(cuda)
        t.mark()
        fwd_marks = []
        for i in range(accum):
            last = i == accum - 1
            sync = model.no_sync() if (not last and hasattr(model, "no_sync")) else \
                contextlib.nullcontext()
            with sync:
                a = len(t.marks) - 1
                with autocast_context(ctx, s):
                    logits = model(idx)
                if logits.dtype != torch.float64:
                    logits = logits.float()  # the loss on fp32 logits, as in measure.py
                loss = F.cross_entropy(logits.view(-1, V), tgt.view(-1))
                if accum > 1:
                    loss = loss / accum
                t.mark()
                b = len(t.marks) - 1
                (scaler.scale(loss) if scaler is not None else loss).backward()
                t.mark()
                fwd_marks.append((a, b, len(t.marks) - 1))
                del logits, loss
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        opt.zero_grad(set_to_none=True)
        t.mark()
        t.finish()
        fwd = sum(t.between(a, b) for a, b, _ in fwd_marks)
        bwd = sum(t.between(b, c) for _, b, c in fwd_marks)
        optim = t.between(fwd_marks[-1][2], len(t.marks) - 1)
        return [fwd, bwd, optim, t.between(0, len(t.marks) - 1)]

    samples = []
    for i in range(ctx.warmup + ctx.steps):
        x = step()
        if i >= ctx.warmup:
            samples.append(x)
    peak = torch.cuda.max_memory_allocated(ctx.device) if cuda else None
    return samples, peak  # the model, optimizer and data go with this frame


def cleanup(ctx):
    gc.collect()
    if ctx.device_type == "cuda":
        torch.cuda.empty_cache()


def agree(ctx, status):
    """The combined status of all ranks: 'ok' only when every rank says ok."""
    if not ctx.distributed:
        return status
    got = [None] * ctx.world
    ctx.dist.all_gather_object(got, status)
    for rank, st in enumerate(got):
        if st != "ok":
            if rank == 0 or st == "oom":
                return st
            return f"{st} (rank {rank})"
    return "ok"


def reduce_max(ctx, values):
    if not ctx.distributed:
        return values
    dev = ctx.device if ctx.device_type == "cuda" else "cpu"
    t = torch.tensor(values, dtype=torch.float64, device=dev)
    ctx.dist.all_reduce(t, op=ctx.dist.ReduceOp.MAX)
    return t.cpu().tolist()


def run_pass(ctx, s):
    """Measures one shape once on every rank. Returns (status, samples, peak, params)."""
    info = {}
    samples, peak, status = None, None, "ok"
    try:
        samples, peak = measure_once(ctx, s, info)
    except RowStatus as e:
        status = str(e)
    except Exception as e:  # noqa: BLE001 - every failure becomes the row's status
        status = "oom" if is_oom(e) else error_status(e)
        if status != "oom":  # the whole traceback, for the person reading the log
            print(f"{PROG}: rank {ctx.rank}: line {s.line}: "
                  f"{''.join(traceback.format_exception(type(e), e, e.__traceback__))}",
                  file=sys.stderr, flush=True)
    cleanup(ctx)
    status = agree(ctx, status)
    if status != "ok":
        return status, None, None, info.get("params")
    n = len(samples)
    flat = reduce_max(ctx, [x for row in samples for x in row] +
                      [float(peak) if peak is not None else 0.0])
    samples = [flat[4 * i:4 * i + 4] for i in range(n)]
    return "ok", samples, (flat[-1] if peak is not None else None), info.get("params")


def quantile(xs, q):
    s = sorted(xs)
    pos = (len(s) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def fmt_ms(x):
    return f"{x:.4f}"


class Row:
    def __init__(self, cells):
        self.cells = cells
        self.spec = None
        self.status = None  # final status, or None while still being measured
        self.samples = []
        self.peak = None
        self.params = None
        self.passes = 0


def output_row(ctx, table, header, row):
    values = dict(zip(table.header, row.cells))
    s = row.spec
    out = {k: "" for k in OUTPUT_COLUMNS}
    for k in ("devices", "gpus_per_node", "sharding", "micro_batch", "grad_accum"):
        out[k] = values.get(k, "")
    out.update(status=row.status, hardware=ctx.hardware, device=ctx.device_name,
               torch=torch.__version__, driver=ctx.driver)
    if row.params is not None:
        out["params"] = str(row.params)
    if s is not None:
        out.update(devices=str(s.devices), gpus_per_node=str(ctx.local_world),
                   sharding=s.sharding_text, micro_batch=str(s.micro_batch),
                   grad_accum=str(s.grad_accum))
    if row.status == "ok" and row.samples:
        cols = list(zip(*row.samples))
        for name, xs in zip(("fwd_ms", "bwd_ms", "opt_ms", "step_ms"), cols):
            out[name] = fmt_ms(statistics.median(xs))
        steps = cols[3]
        if len(steps) >= 10:  # percentiles; below 10 samples the extremes instead
            lo, hi = quantile(steps, 0.1), quantile(steps, 0.9)
        else:
            lo, hi = min(steps), max(steps)
        out.update(step_ms_p10=fmt_ms(lo), step_ms_p90=fmt_ms(hi), repeats=str(row.passes))
        if row.peak is not None:
            out["peak_mem_gb"] = f"{row.peak / 2 ** 30:.3f}"
    values.update(out)
    return [values.get(k, "") for k in header]


def positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, found '{text}'")
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, found '{text}'")
    return v


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog=PROG, description="Measure training step times (forward, backward, optimizer) of "
        "the shapes in a CSV with PyTorch and write chronoscale's runs CSV. See the docstring of "
        "tools/measure_steps.py for the columns and multi-GPU use (torchrun, Slurm).")
    p.add_argument("--shapes", required=True, help="input shapes CSV")
    p.add_argument("--out", required=True, help="output runs CSV (rank 0 writes it)")
    p.add_argument("--device", choices=["cpu", "cuda"], default=None,
                   help="default: cuda when available, else cpu")
    p.add_argument("--steps", type=positive_int, default=10, help="timed steps per pass (10)")
    p.add_argument("--repeats", type=positive_int, default=3,
                   help="interleaved passes over all shapes (3)")
    p.add_argument("--warmup", type=positive_int, default=3, help="warm-up steps per pass (3)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="CPU threads per process (default: cpu_count / processes, at least 1)")
    p.add_argument("--hardware", default=None, help="the hardware column (default: as bench "
                   "names this machine)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights and tokens (0)")
    p.add_argument("--timeout", type=positive_int, default=1800,
                   help="process-group timeout in seconds under torchrun (1800)")
    return p.parse_args(argv)


def setup(args):
    ctx = Context()
    ctx.steps, ctx.warmup, ctx.seed = args.steps, args.warmup, args.seed
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda, but torch.cuda.is_available() is False here")
    ctx.device_type = device
    env = os.environ
    ctx.distributed = all(k in env for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"))
    ctx.rank, ctx.world, ctx.local_world = 0, 1, 1
    ctx.backend = "nccl" if device == "cuda" else "gloo"
    ctx.dist = None
    local_rank = int(env.get("LOCAL_RANK", "0"))
    if device == "cuda":
        torch.cuda.set_device(local_rank)
        ctx.device = torch.device("cuda", local_rank)
    else:
        ctx.device = torch.device("cpu")
    if ctx.distributed:
        import torch.distributed as dist
        if not dist.is_available():
            raise UsageError("started by torchrun, but torch.distributed is not available")
        env.setdefault("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1")
        env.setdefault("NCCL_ASYNC_ERROR_HANDLING", "1")
        dist.init_process_group(ctx.backend,
                                timeout=datetime.timedelta(seconds=args.timeout))
        ctx.dist = dist
        ctx.rank, ctx.world = dist.get_rank(), dist.get_world_size()
        ctx.local_world = int(env.get("LOCAL_WORLD_SIZE", str(ctx.world)))
    if device == "cpu":
        torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 1) // ctx.world))
    elif args.threads:
        torch.set_num_threads(args.threads)
    if device == "cuda":
        ctx.device_name = torch.cuda.get_device_name(ctx.device)
        ctx.hardware = sanitize_name(ctx.device_name) + "-measured"
        ctx.driver = cuda_driver_text() if ctx.rank == 0 else ""
    else:
        ctx.device_name = cpu_model()
        ctx.hardware = sanitize_name(os.fsencode(socket.gethostname())[:255]) + "-cpu"
        ctx.driver = "cpu"
    if args.hardware:
        ctx.hardware = args.hardware
    return ctx


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        table = read_table(args.shapes)
    except UsageError as e:
        fail_usage(str(e))
    try:
        ctx = setup(args)
    except UsageError as e:
        fail_usage(str(e))
    header = list(table.header) + [c for c in OUTPUT_COLUMNS if c not in table.header]
    out, problem = None, None
    if ctx.rank == 0:
        try:
            out = open(args.out, "w", newline="", encoding="utf-8")
        except OSError as e:
            problem = f"{args.out}: cannot write the output ({e.strerror or e})"
    if ctx.distributed:  # every rank stops when rank 0 cannot write
        box = [problem]
        ctx.dist.broadcast_object_list(box, src=0)
        problem = box[0]
    if problem:
        if ctx.distributed:
            ctx.dist.destroy_process_group()
        fail_usage(problem)

    def write(cells):
        if out is None:
            return
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(cells)
        out.write(buf.getvalue())  # one whole line at a time
        out.flush()

    def log(msg):
        if ctx.rank == 0:
            print(f"{PROG}: {msg}", file=sys.stderr, flush=True)

    write(header)
    rows = []
    for i in range(len(table.rows)):
        row = Row(table.rows[i])
        try:
            row.spec = parse_row(table, i, ctx.world)
        except RowStatus as e:
            row.status = str(e)
        rows.append(row)
    written = 0

    def flush_ready():
        nonlocal written
        while written < len(rows) and rows[written].status is not None:
            width = len(table.header)
            r = rows[written]
            r.cells = (list(r.cells) + [""] * width)[:width]
            write(output_row(ctx, table, header, r))
            written += 1

    todo = sum(r.status is None for r in rows)
    log(f"{len(rows)} row(s), {todo} to measure on {ctx.device_name} ({ctx.hardware}), "
        f"{ctx.world} process(es) x {torch.get_num_threads()} thread(s), torch "
        f"{torch.__version__}; {args.repeats} pass(es) x "
        f"({args.warmup} warm-up + {args.steps} timed steps)")
    for line, r in zip(table.lines, rows):
        if r.status is not None:
            log(f"line {line}: {r.status}")
    flush_ready()
    for p in range(args.repeats):
        for i, r in enumerate(rows):
            if r.status is not None:
                continue
            t0 = time.perf_counter()
            status, samples, peak, params = run_pass(ctx, r.spec)
            r.params = params if params is not None else r.params
            if status != "ok":
                r.status = status
            else:
                r.samples += samples
                r.passes += 1
                if peak is not None:
                    r.peak = peak if r.peak is None else max(r.peak, peak)
                if p == args.repeats - 1:
                    r.status = "ok"
            if status == "ok":
                med = statistics.median(x[3] for x in samples)
                what = f"step {med:.3f} ms"
            else:
                what = status
            log(f"pass {p + 1}/{args.repeats} line {r.spec.line} {describe(r.spec)}: {what} "
                f"({time.perf_counter() - t0:.1f} s)")
            flush_ready()
    flush_ready()
    if out is not None:
        out.close()
    ok = sum(r.status == "ok" for r in rows)
    log(f"wrote {args.out}: {ok} of {len(rows)} row(s) ok")
    if ctx.distributed:
        ctx.dist.barrier()
        ctx.dist.destroy_process_group()
        # Everything is written. torch 1.13's gloo threads can abort the interpreter's teardown
        # ("terminate called without an active exception", SIGABRT) on a rank at exit: leave
        # without that teardown, so a finished run exits 0.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
