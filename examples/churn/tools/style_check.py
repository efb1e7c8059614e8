"""A small, dependency-free style check for the example's Python files.

    /usr/bin/python3 tools/style_check.py [--max-line 100] [PATH...]

Reports tabs in indentation, trailing whitespace, lines longer than
--max-line, a missing final newline, and unused imports found by the ast
module (names imported but never used, except in __init__.py). Exit 1 when
anything is reported. It stands in for flake8, which the example does not
require; the pipeline runs it with allow_failure: style never blocks a model.
"""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

DEFAULT_PATHS = ["churn", "service", "tests", "tools", "data"]


def unused_imports(tree: ast.AST) -> list[tuple[int, str]]:
    imported: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                imported[(a.asname or a.name).split(".")[0]] = node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for a in node.names:
                imported[a.asname or a.name] = node.lineno
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    used |= {n.value.id for n in ast.walk(tree)
             if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}
    return sorted((line, name) for name, line in imported.items() if name not in used)


def check(path: Path, max_line: int) -> list[str]:
    text = path.read_text()
    problems = []
    for i, line in enumerate(text.splitlines(), 1):
        if line.startswith("\t") or line.lstrip(" ").startswith("\t"):
            problems.append(f"{path}:{i}: tab in indentation")
        if line != line.rstrip():
            problems.append(f"{path}:{i}: trailing whitespace")
        if len(line) > max_line:
            problems.append(f"{path}:{i}: line is {len(line)} characters (max {max_line})")
    if text and not text.endswith("\n"):
        problems.append(f"{path}: no newline at end of file")
    if path.name != "__init__.py":
        try:
            tree = ast.parse(text, str(path))
        except SyntaxError as e:
            return problems + [f"{path}:{e.lineno}: syntax error: {e.msg}"]
        for line, name in unused_imports(tree):
            problems.append(f"{path}:{line}: '{name}' imported but unused")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Style check for Python sources.")
    ap.add_argument("--max-line", type=int, default=100)
    ap.add_argument("paths", nargs="*", default=DEFAULT_PATHS)
    args = ap.parse_args(argv)
    files: list[Path] = []
    for p in map(Path, args.paths):
        files += sorted(p.rglob("*.py")) if p.is_dir() else [p]
    problems = [msg for f in files for msg in check(f, args.max_line)]
    for msg in problems:
        print(msg)
    print(f"style: {len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
