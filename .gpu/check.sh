#!/usr/bin/env bash
# The GPU checks (evo/device_check.py) on a machine with a GPU, in one call, from the
# repository root. Python packages that machine lacks travel as wheels in .gpu/wheels
# (made here by .gpu/wheels.sh). Output: JSON lines, also in $OUT/device_check.jsonl.
set -uo pipefail
if compgen -G ".gpu/wheels/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .gpu/wheels/*.whl || exit
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -m evo.device_check "$@" 2>&1 | tee "${OUT:-.}/device_check.jsonl"
