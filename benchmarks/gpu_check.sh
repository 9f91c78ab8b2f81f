#!/usr/bin/env bash
# The fused engine's GPU check: the benchmark's 25-candidate x 5-fold stage where JAX sees an NVIDIA GPU.
# For a machine whose Python has JAX with CUDA, scikit-learn and pandas; packages it lacks may wait as
# wheels in .whl/ (keras, namex, optree, hydra-core, omegaconf, antlr4-python3-runtime, scikeras), fetched
# where pip works, e.g. for Python 3.12:
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 -d .whl keras==3.15.1 namex optree hydra-core omegaconf scikeras
#   pip wheel --no-deps -w .whl antlr4-python3-runtime==4.9.3
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
