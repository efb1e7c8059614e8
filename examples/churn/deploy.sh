#!/usr/bin/env bash
# deploy.sh ENV — the deploy stages' command (a stand-in target).
#
# sluice's `kind: deploy` checks the environment's rules, runs this script and
# records the deployment; serving the model from an image comes with sluice's
# image stages. Until then this script deploys NOTHING itself: it checks that a
# trained model is there, says which model it deploys to ENV, and writes a record
# of that to deployments/ENV.json in the current directory (the run's
# workspace), with "deployed": false.
#
# Environment: MODEL_PATH (default model.pkl), METRICS_PATH (default
# metrics.json), MODEL_NAME (default churn), PYTHON (default /usr/bin/python3),
# COMMIT_SHA (default: git rev-parse HEAD, if this is a git checkout).
set -euo pipefail

usage() { echo "usage: $0 ENV   (e.g. staging, production)" >&2; exit 2; }
[ $# -eq 1 ] || usage
env_name=$1
[[ $env_name =~ ^[a-z][a-z0-9-]*$ ]] || { echo "deploy.sh: bad environment name '$env_name'" >&2; exit 2; }

model=${MODEL_PATH:-model.pkl}
metrics=${METRICS_PATH:-metrics.json}
name=${MODEL_NAME:-churn}
python=${PYTHON:-/usr/bin/python3}
[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || { echo "deploy.sh: bad model name '$name'" >&2; exit 2; }

if [ ! -f "$model" ]; then
  echo "deploy.sh: no model at $model (run the train stage first)" >&2
  exit 1
fi
sha=$(sha256sum "$model" | cut -d' ' -f1)
f1=null
if [ -f "$metrics" ]; then
  f1=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("f1", "null"))' "$metrics")
fi
commit=${COMMIT_SHA:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
[[ $commit =~ ^[0-9a-f]+$|^unknown$ ]] || { echo "deploy.sh: bad COMMIT_SHA '$commit'" >&2; exit 2; }
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)

mkdir -p deployments
record=deployments/$env_name.json
cat > "$record.tmp" <<JSON
{
  "environment": "$env_name",
  "model_name": "$name",
  "model_sha256": "$sha",
  "f1": $f1,
  "commit": "$commit",
  "recorded_at": "$now",
  "deployed": false,
  "note": "deploy.sh is a placeholder: nothing was deployed"
}
JSON
mv "$record.tmp" "$record"

echo "deploy.sh: would deploy $name (model sha256 ${sha:0:12}, f1 $f1) to $env_name"
echo "deploy.sh: nothing was served (a stand-in target); wrote $record"
