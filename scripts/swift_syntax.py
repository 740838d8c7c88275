#!/usr/bin/env python3
"""Parses Swift sources with tree-sitter-swift and fails on any syntax error.

There is no Swift compiler on the CI machine (no Xcode, and swift.org toolchains cannot be
fetched), so this is the check that keeps a syntax error in ios/ or in the generated Swift
bindings from landing unseen. It is a parser, not a type checker: a wrong type or a missing
method is only found by Xcode (docs/mobile.md says what was verified where).

Lines of conditional compilation (`#if`, `#elseif`, `#else`, `#endif`) are blanked first: both
branches are kept and parsed, which tree-sitter-swift cannot do across an attribute, as the
generated bindings write (`#if swift(>=5.8)` around `@_documentation`). And the closure
`{ () }` (returning the empty tuple), which uniffi writes for a foreign trait's method with no
result and tree-sitter-swift cannot parse, is read as the empty closure `{ }`, which means the
same.

Usage: swift_syntax.py FILE_OR_DIR...   (needs tree-sitter and tree-sitter-swift on sys.path)
"""

import os
import re
import sys

import tree_sitter_swift
from tree_sitter import Language, Parser

DIRECTIVE = re.compile(r"^\s*#(if|elseif|else|endif)\b")


def swift_files(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                for n in sorted(names):
                    if n.endswith(".swift"):
                        yield os.path.join(root, n)
        else:
            yield p


def errors(parser, path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    text = "\n".join("" if DIRECTIVE.match(line) else line for line in lines)
    text = text.replace("= { () }", "= { }")
    tree = parser.parse(text.encode("utf-8"))
    found = []

    def walk(node):
        if node.is_error or node.is_missing:
            found.append(node)
            return
        if node.has_error:
            for child in node.children:
                walk(child)

    walk(tree.root_node)
    for node in found:
        row, col = node.start_point
        what = f"missing {node.type}" if node.is_missing else "syntax error"
        source = lines[row].strip() if row < len(lines) else ""
        yield f"{path}:{row + 1}:{col + 1}: {what}: {source[:100]}"


def main(argv):
    parser = Parser(Language(tree_sitter_swift.language()))
    files = list(swift_files(argv[1:]))
    if not files:
        print("no Swift files given", file=sys.stderr)
        return 2
    bad = [e for f in files for e in errors(parser, f)]
    for e in bad:
        print(e)
    print(f"{len(files)} Swift files parsed, {len(bad)} syntax errors")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
