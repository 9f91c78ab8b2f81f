#!/bin/bash
# How docs/mlflow-orderings.png was made: two orderings (a multirun with tracking=mlflow) into a fresh MLflow
# store, the MLflow UI, and a headless Chromium (apt install chromium) screenshot of the runs' comparison.
#   bash docs/mlflow-screenshot.sh        (from the repository, after make test has built .venv)
set -e
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
PY=$ROOT/.venv/bin/python
cd "$WORK"
PYTHONPATH=$ROOT $PY -m pipeline -m order=default,architecture_first tracking=mlflow search.engine=fused search.seed=0 \
    model.epochs=20 hydra.sweep.dir="$WORK/sweep" > run.log 2>&1
PYTHONPATH=$ROOT $PY - "$WORK" <<'PY' > ids.txt
import sys, mlflow
client = mlflow.MlflowClient(f"sqlite:///{sys.argv[1]}/mlruns/mlflow.db")
experiment = client.get_experiment_by_name("breast_cancer")
jobs = [r for r in client.search_runs([experiment.experiment_id]) if r.data.tags.get("mlflow.parentRunId") and "order" in r.data.params]
print(experiment.experiment_id, " ".join(r.info.run_id for r in jobs))
PY
"$ROOT/.venv/bin/mlflow" ui --backend-store-uri "sqlite:///$WORK/mlruns/mlflow.db" --port 5055 > ui.log 2>&1 &
UI=$!
for _ in $(seq 60); do curl -s http://127.0.0.1:5055 > /dev/null && break; sleep 1; done
read -r EXPERIMENT A B < ids.txt
chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1500,1300 --virtual-time-budget=20000 \
    --screenshot="$ROOT/docs/mlflow-orderings.png" \
    "http://127.0.0.1:5055/#/compare-runs?runs=%5B%22$A%22,%22$B%22%5D&experiments=%5B%22$EXPERIMENT%22%5D" > chrome.log 2>&1
kill $UI
echo "$ROOT/docs/mlflow-orderings.png"
