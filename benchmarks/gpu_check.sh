#!/usr/bin/env bash
# One call on a machine with a CUDA device: the CUDA tests, then the GPU benchmark.
# (Written and checked on a CPU-only machine: the tests skip there and the benchmark exits 2.)
#
#   bash benchmarks/gpu_check.sh            # from the repository root
#
# Needs the project's virtual environment (.venv) with a CUDA build of torch.
set -u
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
nvidia-smi --query-gpu=name,memory.total,utilization.gpu --format=csv || true
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
status=0
# the tests that exercise CUDA paths (they skip without a device)
$PY -m pytest -q -p no:cacheprovider -rs \
    tests/test_train.py::test_cuda_training_keeps_compact_data_on_the_device \
    tests/test_predict.py::test_cuda_predict_matches_the_cpu \
    tests/test_snv_shortcut.py::test_shortcut_on_cuda_matches_the_cpu || status=1
$PY benchmarks/bench_gpu.py --seconds 20 || status=1
exit $status
