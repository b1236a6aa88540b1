#!/usr/bin/env python3
"""Runs README.md's walkthrough as a newcomer would, and checks what it prints.

The walkthrough is the first ```sh block after the line `<!-- walkthrough`. Its lines run in order
in an empty folder (which holds only a link to the repository's `examples/`), each with bash;
`cd DIR` moves the following lines, and `alias cmms=…` is replaced by the binary under test.
A comment may state what the command prints: every "double-quoted" fragment must appear in its
output (stdout and stderr), and `(exit N)` names the exit code expected (0 otherwise).

Usage: walkthrough.py README CMMS_BINARY   (exit 0 when every command printed what the README says)
"""

import os
import re
import shlex
import subprocess
import sys
import tempfile

MARK = "<!-- walkthrough"


def walkthrough(readme):
    """The commands of the walkthrough block: (line number, command, comment)."""
    lines = open(readme, encoding="utf-8").read().split("\n")
    try:
        start = next(i for i, l in enumerate(lines) if l.startswith(MARK))
        fence = next(i for i in range(start, len(lines)) if lines[i].startswith("```sh"))
        end = next(i for i in range(fence + 1, len(lines)) if lines[i].startswith("```"))
    except StopIteration:
        sys.exit(f"{readme}: no `{MARK}` line followed by a ```sh block")
    steps = []
    for n in range(fence + 1, end):
        line = lines[n]
        if not line.strip():
            continue
        # A comment starts at " # " (no walkthrough command has a # of its own).
        command, _, comment = line.partition(" # ")
        steps.append((n + 1, command.strip(), comment.strip()))
    return steps


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    readme, binary = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    repo = os.path.dirname(readme)
    if not os.access(binary, os.X_OK):
        sys.exit(f"walkthrough: {binary} is not an executable (build it first)")
    steps = walkthrough(readme)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="cmms-readme-") as root:
        os.symlink(os.path.join(repo, "examples"), os.path.join(root, "examples"))
        cwd = root
        env = dict(os.environ, NO_COLOR="1")
        for var in ("CMMS_DATABASE_URL", "CMMS_CONFIG", "CMMS_LOG", "CMMS_LOG_FORMAT", "RUST_LOG"):
            env.pop(var, None)
        prelude = f"cmms() {{ {shlex.quote(binary)} \"$@\"; }}\n"
        for lineno, command, comment in steps:
            if command.startswith("alias cmms="):
                continue
            script = command
            # `cd DIR` (alone or ending a `&&` chain) moves the following commands.
            cd = re.search(r"(?:^|&&)\s*cd\s+(\S+)\s*$", command)
            out = subprocess.run(
                ["bash", "-c", prelude + script],
                cwd=cwd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            want_exit = int(m.group(1)) if (m := re.search(r"\(exit (\d+)\)", comment)) else 0
            expected = re.findall(r'"([^"]+)"', comment)
            missing = [e for e in expected if e not in out.stdout]
            ok = out.returncode == want_exit and not missing
            print(f"{'ok  ' if ok else 'FAIL'} README.md:{lineno}: {command}")
            if not ok:
                failures += 1
                if out.returncode != want_exit:
                    print(f"     exit code {out.returncode}, the README says {want_exit}")
                for e in missing:
                    print(f"     missing from the output: {e!r}")
                print("     output:\n" + "\n".join("       " + l for l in out.stdout.splitlines()))
            if cd and out.returncode == 0:
                cwd = os.path.normpath(os.path.join(cwd, cd.group(1)))
    checked = sum(1 for s in steps if not s[1].startswith("alias "))
    if failures:
        sys.exit(f"walkthrough: {failures} of {checked} commands differ from README.md")
    print(f"walkthrough: all {checked} commands of README.md ran as it says")


if __name__ == "__main__":
    main()
