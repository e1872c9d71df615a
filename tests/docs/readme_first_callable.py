"""Runs README.md's "Write your first callable" as a reader would: its orch.c and kernel.c, then
its shell recipe verbatim, in a fresh folder outside the repository, with the CLI under test
first on PATH. Checks y = 2 * x and that the log lines look as the README says they do.

Usage: readme_first_callable.py README.md DIR_OF_CHIPRT
"""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np


def section(readme, title):
    start = readme.index("\n## " + title + "\n")
    end = readme.find("\n## ", start + 1)
    return readme[start:end if end >= 0 else len(readme)]


def blocks(text, language):
    return re.findall(r"```%s\n(.*?)```" % language, text, re.S)


def main():
    readme_path, cli_dir = sys.argv[1], sys.argv[2]
    readme = open(readme_path).read()
    text = section(readme, "Write your first callable")
    sources = {}
    for name in ("orch.c", "kernel.c"):  # each block follows a line "`NAME`:"
        after = text[text.index("`%s`:" % name):]
        sources[name] = blocks(after, "c")[0]
    (recipe,) = blocks(text, "sh")
    with tempfile.TemporaryDirectory(prefix="chiprt-readme-") as folder:
        for name, source in sources.items():
            with open(os.path.join(folder, name), "w") as f:
                f.write(source)
        env = dict(os.environ, PATH=cli_dir + os.pathsep + os.environ.get("PATH", ""))
        env.pop("CHIPRT_LOG_LEVEL", None)
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", recipe], cwd=folder, env=env,
                              capture_output=True, text=True)
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        if done.returncode != 0:
            sys.exit("the README's recipe failed (exit %d)" % done.returncode)
        x = np.load(os.path.join(folder, "x.npy"))
        y = np.load(os.path.join(folder, "y.npy"))
        if not np.array_equal(y, 2 * x):
            sys.exit("y.npy is not 2 * x")
        left = sorted(set(os.listdir(folder)) - {"orch.c", "kernel.c", "orch.so", "kernel.so",
                                                "double.chipimg", "x.npy", "y.npy"})
        if left:
            sys.exit("the recipe left files it does not name: %s" % left)
    # The log-line formats the README states, with N standing for a number.
    formats = re.findall(r"`(\[callable [^`]*\] submitted)`", text)
    if len(formats) != 2:
        sys.exit("the README states %d log-line formats, expected 2 (tmr, hbg)" % len(formats))
    for fmt in formats:
        pattern = re.escape(fmt).replace("N", r"\d+")
        if not re.search(r"\] \[info\] %s$" % pattern, done.stderr, re.M):
            sys.exit("no log line on stderr matches the README's %r" % fmt)
    if "[callable" in done.stdout:
        sys.exit("log lines reached stdout")
    print("README recipe ok:", ", ".join(formats))


if __name__ == "__main__":
    main()
