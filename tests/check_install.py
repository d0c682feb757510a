#!/usr/bin/env python3
"""`meson install --destdir` lays out parley as a package would: the two
programs, parley(1) and parleyd(8), and parleyd.service; the man pages
name every option that --help lists, and the unit starts the installed
parleyd with its data under its StateDirectory.

usage: check_install.py MESON BUILD_DIR"""
import os
import re
import subprocess
import sys
import tempfile


def find(root, name):
    for d, _, files in os.walk(root):
        if name in files:
            return os.path.join(d, name)
    return None


def options_of(prog):
    out = subprocess.run([prog, "--help"], capture_output=True, text=True,
                         timeout=30).stdout
    return sorted(set(re.findall(r"(--[a-z][a-z0-9-]*)", out)))


def main():
    meson, build = sys.argv[1], sys.argv[2]
    fails = []
    with tempfile.TemporaryDirectory() as dest:
        p = subprocess.run([meson, "install", "-C", build, "--destdir", dest,
                            "--no-rebuild", "--quiet"],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            print("FAIL: meson install:\n" + p.stdout + p.stderr)
            return 1
        want = {"parley": "bin", "parleyd": "bin", "parley.1": "man1",
                "parleyd.8": "man8", "parleyd.service": "system"}
        found = {}
        for name, folder in want.items():
            path = find(dest, name)
            if not path:
                fails.append("not installed: " + name)
                continue
            if os.path.basename(os.path.dirname(path)) != folder:
                fails.append("%s installed in %s, not .../%s" %
                             (name, os.path.dirname(path), folder))
            found[name] = path
            print("installed", os.path.relpath(path, dest))
        for prog, page in (("parley", "parley.1"), ("parleyd", "parleyd.8")):
            if prog not in found or page not in found:
                continue
            text = open(found[page]).read().replace("\\-", "-")
            for opt in options_of(found[prog]):
                if opt not in text:
                    fails.append("%s does not document %s" % (page, opt))
        if "parleyd.service" in found:
            unit = open(found["parleyd.service"]).read()
            m = re.search(r"^ExecStart=(\S+)", unit, re.M)
            if not m or not m.group(1).endswith("/bin/parleyd"):
                fails.append("ExecStart does not run the installed parleyd")
            for key in ("StateDirectory=parley", "DynamicUser=yes",
                        "StandardInput=null", "${STATE_DIRECTORY}"):
                if key not in unit:
                    fails.append("parleyd.service lacks " + key)
    for f in fails:
        print("FAIL:", f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
