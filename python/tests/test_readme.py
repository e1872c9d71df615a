"""README.md's Python snippet, verbatim, in a fresh interpreter: it must run as printed."""
import os
import re
import subprocess
import sys

from helpers import EXAMPLES_SO

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")


def test_the_readme_python_snippet_runs(tmp_path):
    text = open(README).read()
    section = text[text.index("\n## Python and pytest\n"):]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "..." not in snippet  # nothing elided
    env = dict(os.environ, CHIPRT_EXAMPLES=EXAMPLES_SO)
    done = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
