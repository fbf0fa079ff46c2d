#!/usr/bin/env bash
# For a person with an NVIDIA GPU: does the service's GPU path really run the cuDNN kernel?
#
#   scripts/gpu_check.sh [bench.gpu_check options]   (or: make gpu-check GPU_CHECK_ARGS="...")
#   scripts/gpu_check.sh --print-requirements        # the GPU venv's pins; installs nothing
#
# What it checks and prints: bench/gpu_check.py (TensorFlow sees the GPU; the runner adopts the
# cuDNN function; the placement log puts CudnnRNN* on the GPU; outputs equal the CPU path within
# 1e-5; a throughput table for batches 1/64/256/1024, GPU vs CPU).
#
# Virtual environment: $GPU_VENV (default .venv-gpu), created on first use when `nvidia-smi -L`
# lists a GPU, from requirements/runtime.txt with `tensorflow-cpu==X` replaced by
# `tensorflow[and-cuda]==X` - the same rewrite as the Dockerfile's TF_VARIANT=gpu, so the CPU
# pins, the GPU image and this venv run the same TensorFlow (tests/unit/test_gpu_deploy.py checks
# that both rewrites give the same file). The CUDA/cuDNN wheels come from PyPI (several GB); the
# NVIDIA driver must already be installed. Re-installs only when the pins change.
# Without a GPU (no nvidia-smi, or it lists none) nothing is installed: the check runs in the CPU
# venv ($VENV, default .venv) when there is one and ends with "no GPU visible: skipped".
# Exit code: 0 = passed or skipped, 1 = a check failed (FAIL: ... says which), 2 = setup error.
set -euo pipefail
cd "$(dirname "$0")/.."

GPU_VENV=${GPU_VENV:-.venv-gpu}
CPU_VENV=${VENV:-.venv}
SKIPPED="no GPU visible: skipped"

gpu_requirements() { # stdout: requirements/runtime.txt with the GPU build of the pinned TensorFlow
  local tf_version
  tf_version=$(sed -n 's/^tensorflow-cpu==//p' requirements/runtime.txt)
  if [ -z "$tf_version" ]; then
    echo "no tensorflow-cpu pin in requirements/runtime.txt" >&2
    exit 2
  fi
  grep -v '^tensorflow-cpu==' requirements/runtime.txt
  echo "tensorflow[and-cuda]==${tf_version}"
}

if [ "${1:-}" = "--print-requirements" ]; then
  gpu_requirements
  exit 0
fi

gpu_listed() { command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; }

if gpu_listed; then
  nvidia-smi -L
  stamp="$GPU_VENV/.installed-$(gpu_requirements | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    if [ ! -x "$GPU_VENV/bin/python" ]; then
      py=$(scripts/find_python.sh "${PYTHON:-}")
      "$py" -m venv "$GPU_VENV"
    fi
    req=$(mktemp)
    trap 'rm -f "$req"' EXIT
    gpu_requirements >"$req"
    echo "installing the GPU TensorFlow into $GPU_VENV (tensorflow[and-cuda], several GB)"
    "$GPU_VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$req"
    touch "$stamp"
  fi
  python="$GPU_VENV/bin/python"
elif [ -x "$CPU_VENV/bin/python" ]; then
  python="$CPU_VENV/bin/python" # TensorFlow sees no GPU either: the check prints the skip line
else
  echo "nvidia-smi lists no GPU, and there is no $CPU_VENV to ask TensorFlow"
  echo "$SKIPPED"
  exit 0
fi
"$python" -m bench.gpu_check "$@"
