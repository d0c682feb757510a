#!/usr/bin/env python3
"""check_layers.py SRC_DIR [--rule cycles|conn|all] [--graph]

Reads the C sources of src/server and builds the file-level dependency
graph: module X (x.c and x.h) depends on module Y when one of X's files
includes "y.h", calls a function with Y's prefix (y_*: the rule "file
name = function prefix" makes the prefix name the file), or touches the
process state `srv` (server.c). A function passed by name as a callback
is not an edge: that is how a lower layer is meant to reach a higher one. Comments and string literals are
ignored, and so are struct members (a.y_field, p->y_hook()).

Two rules, reported separately:

  cycles  no cycle among the modules. Fails with one cycle printed, each
          edge with the line that makes it.
  conn    conn.c (the connection layer) names no session_* function and
          does not include session.h: it reaches the protocol through
          callbacks. Until the stream layer's conn.c is merged this rule
          is EXPECTED TO FAIL on the seam-server branch; the conn ->
          session edge is left out of the cycle rule so that the two
          failures are not confused.

Exit status: 0 when the rules asked for hold, 1 otherwise.
"""
import argparse
import os
import re
import sys

# Identifiers followed by '(' or used as values, not after '.' or '->'.
IDENT = re.compile(r"(?<![\w.>])([A-Za-z_]\w*)")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)\.h"', re.M)


def strip(text):
    """Blanks out comments, string and char literals, keeping newlines so
    that line numbers stay right."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def module_of(ident, modules):
    """The module whose prefix starts ident (longest wins), or None."""
    if ident == "srv":
        return "server"
    best = None
    for m in modules:
        if ident.startswith(m + "_") and (best is None or len(m) > len(best)):
            best = m
    return best


def build(src):
    """Returns (modules, edges) where edges maps (a, b) to the first
    evidence "file:line: what" of a depending on b."""
    files = sorted(f for f in os.listdir(src) if f.endswith((".c", ".h")))
    modules = sorted({f[:-2] for f in files})
    edges = {}
    for f in files:
        a = f[:-2]
        with open(os.path.join(src, f), encoding="utf-8") as fh:
            raw = fh.read()
        for m in INCLUDE.finditer(raw):
            b = os.path.basename(m.group(1))
            if b in modules and b != a:
                line = raw.count("\n", 0, m.start()) + 1
                edges.setdefault((a, b), f"{f}:{line}: includes {b}.h")
        text = strip(raw)
        # Preprocessor lines other than includes still name things
        # (macros calling functions), so they are scanned like code.
        for m in IDENT.finditer(text):
            ident = m.group(1)
            b = module_of(ident, modules)
            if b is None or b == a:
                continue
            # A call, or srv. A function only named (passed as a callback)
            # is the decoupling this checker wants, and other names
            # (types, fields, macros) come with an include anyway.
            if ident != "srv" and not text[m.end():].lstrip().startswith("("):
                continue
            line = text.count("\n", 0, m.start()) + 1
            kind = "uses" if ident == "srv" else "calls"
            edges.setdefault((a, b), f"{f}:{line}: {kind} {ident}")
    return modules, edges


def find_cycle(modules, edges):
    """One cycle as a list of modules [a, b, ..., a], or None."""
    succ = {m: sorted(b for (a, b) in edges if a == m) for m in modules}
    state = {m: 0 for m in modules}  # 0 new, 1 on the path, 2 done
    path = []

    def visit(m):
        state[m] = 1
        path.append(m)
        for b in succ[m]:
            if state[b] == 1:
                return path[path.index(b):] + [b]
            if state[b] == 0:
                found = visit(b)
                if found:
                    return found
        path.pop()
        state[m] = 2
        return None

    sys.setrecursionlimit(10000)
    for m in modules:
        if state[m] == 0:
            found = visit(m)
            if found:
                return found
    return None


def rule_conn(edges, src):
    """conn.c must not name session_* nor include session.h."""
    bad = []
    with open(os.path.join(src, "conn.c"), encoding="utf-8") as fh:
        raw = fh.read()
    text = strip(raw)
    for m in IDENT.finditer(text):
        if m.group(1).startswith("session_"):
            line = text.count("\n", 0, m.start()) + 1
            bad.append(f"conn.c:{line}: {m.group(1)}")
    for m in INCLUDE.finditer(raw):
        if os.path.basename(m.group(1)) == "session":
            line = raw.count("\n", 0, m.start()) + 1
            bad.append(f"conn.c:{line}: includes session.h")
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("--rule", choices=["cycles", "conn", "all"],
                    default="all")
    ap.add_argument("--graph", action="store_true",
                    help="print every edge with its evidence")
    args = ap.parse_args()
    modules, edges = build(args.src)
    if args.graph:
        for (a, b), why in sorted(edges.items()):
            print(f"{a} -> {b}    ({why})")
    ok = True
    if args.rule in ("cycles", "all"):
        # conn -> session belongs to the conn rule (see the docstring).
        graph = {e: w for e, w in edges.items() if e != ("conn", "session")}
        cycle = find_cycle(modules, graph)
        if cycle:
            ok = False
            print("FAIL [cycles]: the files of src/server call each other "
                  "in a cycle: " + " -> ".join(cycle))
            for a, b in zip(cycle, cycle[1:]):
                print(f"  {a} -> {b}: {graph[(a, b)]}")
        else:
            print(f"ok [cycles]: no cycle among {len(modules)} modules "
                  f"({len(graph)} edges)")
    if args.rule in ("conn", "all"):
        bad = rule_conn(edges, args.src)
        if bad:
            ok = False
            print("FAIL [conn] (expected until the stream layer's conn.c "
                  "with session callbacks is merged): src/server/conn.c "
                  "reaches the session layer directly:")
            for b in bad:
                print("  " + b)
        else:
            print("ok [conn]: conn.c knows nothing of sessions")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
