#!/usr/bin/env bash
# Here, with the project's virtual environment active: download the wheels of the packages
# the GPU machine's image lacks (its python3 is 3.12; it holds torch, numba, numpy, yaml,
# networkx, tqdm, psutil, but not pydantic), at the versions installed here.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf wheels && mkdir wheels
for pkg in pydantic pydantic-core annotated-types typing-inspection typing-extensions; do
  version=$(python -c "import importlib.metadata as m; print(m.version('$pkg'))")
  python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d wheels "$pkg==$version"
done
ls wheels
