#!/usr/bin/env bash
# The fused engine's GPU check: the benchmark's 25-candidate x 5-fold stage where JAX sees an NVIDIA GPU.
# For a machine whose Python has JAX with CUDA, scikit-learn and pandas; packages it lacks may wait as
# wheels in .whl/ (keras, namex, optree, hydra-core, omegaconf, antlr4-python3-runtime, scikeras).
set -euo pipefail
cd "$(dirname "$0")/.."
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONUNBUFFERED=1 KERAS_BACKEND=jax  # the pipeline sets it too; the version line below needs it
nvidia-smi -L
python3 -c "import jax, keras, sklearn, pandas; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__, 'sklearn', sklearn.__version__, 'pandas', pandas.__version__)"
python3 benchmarks/run.py --only fused_gpu || echo "GPU run failed"
# The same stage on this machine's CPU cores, for comparison.
JAX_PLATFORMS=cpu python3 benchmarks/run.py --only fused_gpu || echo "CPU run failed"
if [ -n "${OUT:-}" ]; then cp benchmarks/results/*.jsonl "$OUT"/ || true; fi
