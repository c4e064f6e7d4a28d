#!/usr/bin/env python3
"""Fails if a Rust source file imports, directly or through others, a file that imports it back.

Reads every crate of the workspace (its `src/`), resolves each `use crate::…`, `use super::…`,
`use self::…` and inline `crate::a::b::Name` path to the file that defines the name
(following `pub use` re-exports), and looks for strongly connected components in the
resulting file graph. A module's own `mod child;` declaration and its `pub use` re-exports
(its facade) are not imports; code under `#[cfg(test)]` is left out (tests may reach anywhere). Prints each circle with the names
that tie it, and exits 1 if there is one.

Usage: python3 tests/module_cycles.py [CRATE_SRC_DIR ...]   (tests/run runs it)
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = ["firmware-host/src", "firmware-host/floor/src", "devices/src"]
ITEM = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+|const\s+|unsafe\s+)*"
    r"(?:fn|struct|enum|trait|type|const|static|union|mod|macro_rules!)\s+([A-Za-z_][A-Za-z0-9_]*)",
    re.M,
)
USE = re.compile(r"^\s*(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.M)
INLINE = re.compile(r"\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)")


def strip(text: str) -> str:
    """Source without comments, string literals and `#[cfg(test)]` items."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'r#*"(?:.|\n)*?"#*', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]", text):
        if m.start() < i:
            continue
        out.append(text[i : m.start()])
        j = m.end()
        # Skip the next item: up to its `;` or its balanced `{…}` block.
        depth = 0
        while j < len(text):
            c = text[j]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    j += 1
                    break
            elif c == ";" and depth == 0:
                j += 1
                break
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def expand(tree: str) -> list[str]:
    """`a::{b, c::{d, e as f}}` -> ['a::b', 'a::c::d', 'a::c::e']; `a::*` is skipped."""
    tree = re.sub(r"\s*(::|[{},])\s*", r"\1", " ".join(tree.split()))
    brace = tree.find("{")
    if brace < 0:
        path = tree.split(" as ")[0].strip()
        return [] if not path or path.endswith("*") else [path]
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    parts, depth, cur = [], 0, ""
    for c in inner:
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += c == "{"
        depth -= c == "}"
        cur += c
    parts.append(cur)
    result = []
    for part in filter(None, parts):
        for p in expand(part):
            result.append(prefix + p if p != "self" else prefix.rstrip(":"))
    return result


class Crate:
    def __init__(self, src: Path):
        self.src = src
        self.files: dict[tuple, Path] = {}  # module path -> file
        for f in sorted(src.rglob("*.rs")):
            rel = f.relative_to(src)
            if rel.parts[0] == "bin":
                continue
            parts = list(rel.with_suffix("").parts)
            if parts in (["lib"], ["main"]):
                parts = []
            elif parts[-1] == "mod":
                parts = parts[:-1]
            self.files.setdefault(tuple(parts), f)
        self.code = {m: strip(f.read_text()) for m, f in self.files.items()}
        self.items = {m: set(ITEM.findall(c)) for m, c in self.code.items()}
        # Re-exports: module -> {name: full path it refers to}
        self.reexports: dict[tuple, dict[str, list[str]]] = {}
        for m, c in self.code.items():
            names = {}
            for vis, tree in USE.findall(c):
                if not vis:
                    continue
                for path in expand(tree):
                    segs = self.absolute(m, path.split("::"))
                    if segs:
                        names[segs[-1]] = segs
            self.reexports[m] = names

    def absolute(self, module: tuple, segs: list[str]):
        """A path as segments from the crate root, or None for other crates."""
        if not segs:
            return None
        if segs[0] == "crate":
            return segs[1:]
        base = list(module)
        if segs[0] in ("self", "super"):
            while segs and segs[0] in ("self", "super"):
                if segs[0] == "super":
                    base = base[:-1]
                segs = segs[1:]
            return base + segs
        # A path relative to the current module (a child module's name).
        if tuple(base + [segs[0]]) in self.files:
            return base + segs
        return None

    def definer(self, segs: list[str], depth=0):
        """The module (file) that defines the item a path names."""
        if depth > 20:
            return None
        for cut in range(len(segs), -1, -1):
            module = tuple(segs[:cut])
            if module in self.files:
                rest = segs[cut:]
                if not rest:
                    return module
                name = rest[0]
                if name in self.items[module]:
                    return module
                target = self.reexports[module].get(name)
                if target and target[:cut] != list(module) or (target and len(target) > cut + 1):
                    return self.definer(target + rest[1:], depth + 1) or module
                return module
        return None

    def edges(self):
        graph: dict[tuple, dict[tuple, set]] = {m: {} for m in self.files}
        for m, c in self.code.items():
            # A `pub use` re-export is a module's facade, not a use of the item: callers are
            # resolved through it to the file that defines the item.
            paths = []
            for vis, tree in USE.findall(c):
                if not vis:
                    paths += expand(tree)
            body = re.sub(r"pub\(in [^)]*\)", "pub", USE.sub("", c))
            paths += INLINE.findall(body)
            for path in paths:
                segs = self.absolute(m, path.split("::"))
                if segs is None:
                    continue
                target = self.definer(segs)
                if target is None or target == m:
                    continue
                graph[m].setdefault(target, set()).add(segs[-1])
        return graph


def circles(graph):
    index, low, stack, on, result, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(component)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return result


def main() -> int:
    dirs = sys.argv[1:] or CRATES
    found = 0
    for d in dirs:
        crate = Crate(ROOT / d)
        graph = crate.edges()
        for component in circles(graph):
            found += 1
            members = set(component)
            print(f"circle in {d}: " + ", ".join(str(crate.files[m].relative_to(ROOT)) for m in sorted(component)))
            for m in sorted(component):
                for target, names in sorted(graph[m].items()):
                    if target in members:
                        src, dst = crate.files[m].relative_to(ROOT), crate.files[target].relative_to(ROOT)
                        print(f"  {src} -> {dst}: {', '.join(sorted(names))}")
        if not found:
            print(f"ok: {d}: {len(crate.files)} files, no circle")
    if found:
        print(f"{found} circle(s): no module may import one that imports it back", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
