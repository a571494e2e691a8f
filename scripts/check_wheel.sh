#!/usr/bin/env bash
# The wheel check (.ci/run runs it after the tests; ./dev.sh wheel runs it alone):
#   1. build the wheel with `pip wheel --no-deps` from a clean copy of the source (a stale build/ folder would
#      put deleted files into it);
#   2. install it into a fresh virtual environment, not editable, its dependencies pinned by constraints.txt;
#   3. in a folder outside the repository (so nothing imports the source tree), check that the installed package
#      finds every model's defaults (package data), train a bag model on a small generated file, and predict.
# Exits non-zero on any failure. The fresh environment downloads nothing here but installs torch (GBs): minutes.
#
#   scripts/check_wheel.sh [PYTHON]    PYTHON builds the wheel and the environment (default: python3)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${1:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/textcls-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
quiet_pip() {  # this machine's empty local index folders give a warning per package: hide only those
    "$@" --quiet --disable-pip-version-check 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
}

mkdir "$work/src" "$work/try"
cp -R "$repo/pyproject.toml" "$repo/README.md" "$repo/textcls" "$work/src/"
find "$work/src" -name __pycache__ -prune -exec rm -rf {} +
echo "check_wheel: building the wheel" >&2
quiet_pip "$python" -m pip wheel --no-deps -w "$work/dist" "$work/src"
wheel=$(ls "$work"/dist/textcls-*.whl)
echo "check_wheel: installing $(basename "$wheel") into a fresh virtual environment" >&2
"$python" -m venv "$work/venv"
quiet_pip "$work/venv/bin/python" -m pip install -c "$repo/constraints.txt" "$wheel"

cd "$work/try"
"$work/venv/bin/python" - "$repo" <<'EOF'
"""The installed package, not the source tree, with every model's defaults; then a small training file."""
import csv
import random
import sys
from pathlib import Path

import textcls
from textcls import config
from textcls.image.job import resolve_config
from textcls.models import available_models

repo = Path(sys.argv[1])
assert repo not in Path(textcls.__file__).resolve().parents, f"imported the source tree: {textcls.__file__}"
shipped = sorted(p.relative_to(config.CONFIG_DIR) for p in config.CONFIG_DIR.rglob("*.yaml"))
source = sorted(p.relative_to(repo / "textcls" / "configs") for p in (repo / "textcls" / "configs").rglob("*.yaml"))
assert shipped == source, f"the wheel ships {shipped}, the source has {source}"
for name in sorted(p.stem for p in config.CONFIG_DIR.glob("*.yaml")):
    assert name in available_models(), f"configs/{name}.yaml names no registered model"
    assert config.resolve(name)["model"] == name
assert config.resolve("bag")["training"]["optimizer"] == "adagrad"  # from configs/bag.yaml
assert resolve_config("lenet")["training"]["scheduler"] == "cosine"  # from configs/image/defaults.yaml

rng = random.Random(0)
words = {"sports": "match goal team score player coach win league".split(),
         "business": "market stock bank profit shares trade economy price".split()}
with open("train.csv", "w", newline="", encoding="utf-8") as handle:
    writer = csv.writer(handle)
    writer.writerow(["text", "label"])
    for _ in range(200):
        label = rng.choice(sorted(words))
        writer.writerow([" ".join(rng.choice(words[label]) for _ in range(8)), label])
print(f"check_wheel: {textcls.__file__} finds {', '.join(map(str, shipped))}")
EOF
"$work/venv/bin/textcls" train train.csv --model bag --epochs 1 --device cpu --threads 1 --output run
for name in config.yaml model.pt vocab.json metrics.json; do
    [[ -f "run/$name" ]] || { echo "check_wheel: run/$name is missing" >&2; exit 1; }
done
"$work/venv/bin/textcls" predict run "the team won the match"
echo "check_wheel: ok (the wheel installs, finds its configs, trains and predicts)" >&2
