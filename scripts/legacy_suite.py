"""Run legacy torchtext's own data/vocab test suites on textcls, with only their imports changed.

The suites are torchtext v0.11.2 ``test/legacy/`` (``torchtext.legacy.data``) and v0.8.1 ``test/data/`` +
``test/test_vocab.py`` (``torchtext.data``). They are read from a git repository of ``pytorch/text`` (a clone or a
bare mirror) at those tags, written to a temporary folder, their imports rewritten (``torchtext.legacy.data`` →
``textcls.data``, ``torchtext.vocab`` → ``textcls.vocab``, ``torchtext.datasets`` → ``textcls.datasets``, ...), and
run with pytest. Nothing else in them is changed. The script prints one table row per test file and the failures.

    python scripts/legacy_suite.py --torchtext PATH_TO_PYTORCH_TEXT_GIT [--keep DIR]

Needs ``expecttest`` and ``parameterized`` (torchtext's test base class imports them; ``./dev.sh`` installs both).
Tests that download data (Penn Treebank, WikiText-2, pretrained vectors) cannot pass offline; the table says which
failed and why, and the README's compatibility section lists what is deliberately different.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

SUITES = {
    "v0.11.2": ["test/legacy/data", "test/legacy/test_vocab.py"],
    "v0.8.1": ["test/data", "test/test_vocab.py"],
}
SUPPORT = ["test/__init__.py", "test/legacy/__init__.py", "test/common", "test/asset"]  # those a tag lacks are skipped

# (pattern, replacement) applied in order to every extracted .py file: the import change a user would make
IMPORT_REWRITES = [
    (r"torchtext\.legacy\.data", "textcls.data"),
    (r"torchtext\.legacy\.datasets", "textcls.datasets"),
    (r"torchtext\.legacy\.vocab", "textcls.vocab"),
    (r"from torchtext\.legacy import", "from textcls import"),
    (r"from torchtext import", "from textcls import"),
    (r"torchtext\.data", "textcls.data"),
    (r"torchtext\.vocab", "textcls.vocab"),
    (r"torchtext\.datasets", "textcls.datasets"),
    (r"torchtext\.utils", "textcls.utils"),
    (r"^import torchtext$", "import textcls as torchtext"),
]


def extract(repo: Path, tag: str, paths: list[str], target: Path) -> None:
    """Write ``paths`` of ``repo`` at ``tag`` under ``target`` (``git archive``; works on bare mirrors)."""
    present = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "--name-only", tag, *paths], capture_output=True, text=True, check=True
    ).stdout.split()
    archive = subprocess.run(["git", "-C", str(repo), "archive", tag, *present], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    (target / "test" / "__init__.py").touch()


def rewrite_imports(root: Path) -> int:
    """Apply :data:`IMPORT_REWRITES` to every ``.py`` file under ``root``; return the number of lines changed."""
    changed = 0
    for path in root.rglob("*.py"):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        out = []
        for line in lines:
            new = line
            for pattern, replacement in IMPORT_REWRITES:
                new = re.sub(pattern, replacement, new, flags=re.M)
            changed += new != line
            out.append(new)
        path.write_text("".join(out), encoding="utf-8")
    return changed


def run_suite(root: Path, paths: list[str]) -> list[tuple[str, str, str]]:
    """Run pytest on ``paths`` inside ``root``; return ``(file, test, outcome + short reason)`` per test."""
    report = root / "junit.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--rootdir={root}",
         "--continue-on-collection-errors", f"--junitxml={report}", *paths],
        cwd=root, capture_output=True, text=True,
    )  # fmt: skip
    results = []
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        name = case.get("name", "")
        module = case.get("classname", "").split(".")
        if module and module[-1][:1].isupper():  # a unittest class: the file is the module above it
            module = module[:-1]
        file = "/".join(module) + ".py" if module != [""] else case.get("name", "").replace(".", "/") + ".py"
        outcome, reason = "passed", ""
        for kind in ("failure", "error", "skipped"):
            node = case.find(kind)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[kind]
                reason = (node.get("message") or "").splitlines()[0][:110] if node.get("message") else ""
                break
        results.append((file, name, f"{outcome}\t{reason}"))
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torchtext", type=Path, required=True, help="a git repository of pytorch/text")
    parser.add_argument("--keep", type=Path, help="write the rewritten suites here instead of a temporary folder")
    args = parser.parse_args(argv)
    base = args.keep or Path(tempfile.mkdtemp(prefix="legacy-suite-"))
    totals = Counter()
    failures = []
    print("| torchtext | file | passed | failed | errors | skipped |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for tag, paths in SUITES.items():
        root = base / tag
        root.mkdir(parents=True, exist_ok=True)
        extract(args.torchtext, tag, paths + SUPPORT, root)
        rewrite_imports(root)
        per_file: dict[str, Counter] = {}
        for file, name, result in run_suite(root, paths):
            outcome, reason = result.split("\t", 1)
            per_file.setdefault(file, Counter())[outcome] += 1
            totals[outcome] += 1
            if outcome in ("failed", "error"):
                failures.append(f"{tag} {file}::{name}: {reason}")
        for file, counts in sorted(per_file.items()):
            cells = [counts[outcome] for outcome in ("passed", "failed", "error", "skipped")]
            print(f"| {tag} | {file} | " + " | ".join(map(str, cells)) + " |")
    print(
        f"\nTotal: {totals['passed']} passed, {totals['failed']} failed, {totals['error']} errors, "
        f"{totals['skipped']} skipped (suites written to {base})"
    )
    if failures:
        print("\nNot passing:")
        print("\n".join(f"- {line}" for line in failures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
