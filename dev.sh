#!/usr/bin/env bash
# The project's set-up-and-run script: every command first creates or refreshes the virtual environment
# (.venv, or $TEXTCLS_VENV) from pyproject.toml + constraints.txt, then runs.
#
#   ./dev.sh main [ARGS...]    the main job on the real default dataset (../shared/data), or textcls ARGS
#   ./dev.sh test [ARGS...]    ruff, then the whole test suite (pytest ARGS; test files in parallel workers)
#   ./dev.sh bench NAME [ARGS] scripts/bench_NAME.py
#   ./dev.sh textcls ARGS...   any textcls command inside the environment
#   ./dev.sh wheel             scripts/check_wheel.sh: the built wheel, installed in a fresh venv, trains
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

VENV=${TEXTCLS_VENV:-.venv}
DATA=${TEXTCLS_DATA:-../shared/data}

ensure_venv() {
    local stamp="$VENV/.textcls-installed" want
    want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
    if [[ ! -x "$VENV/bin/python" ]]; then
        echo "dev.sh: creating $VENV" >&2
        python3 -m venv "$VENV"
    fi
    if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
        echo "dev.sh: installing textcls and its dependencies into $VENV (first time: a few minutes)" >&2
        # pip prints a warning per package for this machine's empty local index folders; hide only those
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,bench]' \
            2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
        echo "$want" > "$stamp"
    fi
}

main_job() {
    if [[ $# -gt 0 ]]; then
        exec "$VENV/bin/textcls" "$@"
    fi
    local book="$DATA/ag_news/packt_newsclassification" glove="$DATA/glove/glove.6B.50d.top100k.txt.gz"
    if [[ ! -f "$book/train.csv.gz" || ! -f "$glove" ]]; then
        echo "dev.sh: the default data ($book, $glove) is missing; pass your own: ./dev.sh main train FILE.csv" >&2
        exit 2
    fi
    # the book's AG News split; ';' in its text became a column separator, so the overflow is merged back
    exec "$VENV/bin/textcls" train "$book/train.csv.gz" --valid "$book/valid.csv.gz" --test "$book/test.csv.gz" \
        --extra-fields merge --merge-sep ';' --model bilstm --vectors "$glove"
}

command=${1:-}
[[ $# -gt 0 ]] && shift
case "$command" in
    main) ensure_venv; main_job "$@" ;;
    test)
        ensure_venv
        "$VENV/bin/ruff" check textcls tests scripts
        # test files in parallel worker processes, one per core up to 4 (a file stays in one worker, so its
        # module fixtures run once); -n 0 runs everything in this process
        "$VENV/bin/python" -m pytest -n auto --maxprocesses 4 --dist loadfile "$@"
        ;;
    bench)
        ensure_venv
        name=${1:?usage: ./dev.sh bench NAME [ARGS]}; shift
        exec "$VENV/bin/python" "scripts/bench_$name.py" "$@"
        ;;
    textcls) ensure_venv; exec "$VENV/bin/textcls" "$@" ;;
    wheel) exec scripts/check_wheel.sh ;;
    *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
