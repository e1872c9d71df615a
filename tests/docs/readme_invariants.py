"""README.md's "Invariants and where they are proven" names only what exists.

Every `backticked` name in the table's proof column must be one of:
  - a ctest name or pattern (`Suite.Test`, `Suite.*`, with or without an instantiation prefix
    `Prefix/` and a parameter suffix `/param`), known to `ctest -N` in BUILD_DIR;
  - a pytest test (`test_...`), known to the Python suite's collection;
  - a path in the repository (`tests/fuzz/image_fuzz.cpp`);
  - a CLI command with options (`churn --save-images`), each option in `chiprt CMD --help`.
Every row must name at least one.

Usage: readme_invariants.py README BUILD_DIR CHIPRT CTEST [--plant NAME]
With --plant, NAME is added to the first row and the check must report exactly that name as
unknown: the test of the test.
"""

import ast
import fnmatch
import os
import re
import subprocess
import sys

HEADING = "## Invariants and where they are proven"


def table_rows(readme_text):
    section = readme_text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not line.startswith("|") or set(cells[0]) <= set("-: "):
            continue
        if cells[0] == "invariant":
            continue
        rows.append((cells[0], re.findall(r"`([^`]+)`", "|".join(cells[1:]))))
    return rows


def ctest_names(ctest, build_dir):
    listing = subprocess.run([ctest, "-N"], cwd=build_dir, capture_output=True, text=True,
                             check=True).stdout
    names = []
    for line in listing.splitlines():
        m = re.match(r"\s*Test\s+#\d+: (\S+)", line)
        if m:
            names.append(m.group(1))
    return names


def pytest_names(repo, build_dir):
    """Test function names from the collection when the Python package is built, else from the
    sources' syntax trees (sanitized builds have no Python package)."""
    package = os.path.join(build_dir, "python")
    if os.path.isdir(os.path.join(package, "chiprt")):
        env = dict(os.environ, PYTHONPATH=package,
                   CHIPRT_EXAMPLES=os.path.join(build_dir, "examples", "so"))
        out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                              "-p", "no:cacheprovider", os.path.join(repo, "python")],
                             cwd=repo, env=env, capture_output=True, text=True)
        if out.returncode == 0:
            return {re.sub(r"\[.*\]$", "", line.split("::")[-1])
                    for line in out.stdout.splitlines() if "::" in line}
        sys.stderr.write("pytest collection failed; reading the sources\n" + out.stdout[-2000:])
    names = set()
    for root, _, files in os.walk(os.path.join(repo, "python")):
        for f in files:
            if f.startswith("test_") and f.endswith(".py"):
                tree = ast.parse(open(os.path.join(root, f)).read())
                names |= {n.name for n in ast.walk(tree)
                          if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}
    return names


def name_forms(name):
    """The name as listed, and without its instantiation prefix and/or parameter suffix."""
    suite, _, rest = name.partition(".")
    prefix, _, bare_suite = suite.rpartition("/")
    bare_rest = rest.rpartition("/")[0] if "/" in rest else rest
    forms = {name, f"{suite}.{bare_rest}"}
    if prefix:
        forms |= {f"{bare_suite}.{rest}", f"{bare_suite}.{bare_rest}"}
    return forms


def known_ctest(pattern, names):
    return any(fnmatch.fnmatchcase(form, pattern) for n in names for form in name_forms(n))


def known_cli(token, chiprt):
    words = token.split()
    options = [w.split("=")[0] for w in words[1:] if w.startswith("--")]
    help_text = subprocess.run([chiprt, words[0], "--help"], capture_output=True,
                               text=True).stdout
    return bool(help_text) and all(re.search(re.escape(o) + r"\b", help_text) for o in options)


def unknown_names(rows, repo, ctests, pytests, chiprt):
    unknown = []
    for invariant, tokens in rows:
        if not tokens:
            unknown.append(f"{invariant}: names no test")
        for token in tokens:
            if " " in token:
                ok = known_cli(token, chiprt)
            elif token.startswith("test_"):
                ok = token in pytests
            elif "/" in token and os.path.exists(os.path.join(repo, token)):
                ok = True
            else:
                ok = "." in token and known_ctest(token, ctests)
            if not ok:
                unknown.append(f"{invariant}: `{token}`")
    return unknown


def main():
    readme, build_dir, chiprt, ctest = sys.argv[1:5]
    plant = sys.argv[6] if len(sys.argv) > 6 and sys.argv[5] == "--plant" else None
    repo = os.path.dirname(os.path.abspath(readme))
    rows = table_rows(open(readme).read())
    if not rows:
        print(f"no table under '{HEADING}'")
        return 1
    if plant:
        rows[0] = (rows[0][0], rows[0][1] + [plant])
    unknown = unknown_names(rows, repo, ctest_names(ctest, build_dir), pytest_names(repo, build_dir),
                            chiprt)
    for line in unknown:
        print("unknown:", line)
    if plant:
        planted_only = unknown == [f"{rows[0][0]}: `{plant}`"]
        print("the planted name was reported, alone" if planted_only
              else "FAIL: the planted name should be the one unknown")
        return 0 if planted_only else 1
    print(f"{sum(len(t) for _, t in rows)} names in {len(rows)} rows, all known" if not unknown
          else f"{len(unknown)} unknown")
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main())
