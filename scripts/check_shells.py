#!/usr/bin/env python3
"""Checks what the phone shells' compilers would check and this machine cannot run (no Android
SDK, no Xcode): every string a screen names exists in both languages with the same
placeholders, and the Swift case lists match the generated bindings' enums.

Usage: check_shells.py GENERATED_SWIFT_BINDINGS
"""

import html
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
problems = []


def android():
    res = ROOT / "android/app/src/main/res"
    langs = {}
    for folder in ("values", "values-en"):
        text = (res / folder / "strings.xml").read_text(encoding="utf-8")
        langs[folder] = {
            m.group(1): html.unescape(m.group(2))
            for m in re.finditer(r'<string name="([a-z_0-9]+)">(.*?)</string>', text)
        }
    zh, en = langs["values"], langs["values-en"]
    for k in sorted(set(zh) ^ set(en)):
        problems.append(f"android: string {k} is in one language only")
    for k in sorted(set(zh) & set(en)):
        if sorted(re.findall(r"%\d\$[ds]", zh[k])) != sorted(re.findall(r"%\d\$[ds]", en[k])):
            problems.append(f"android: string {k} has different placeholders in zh-CN and English")
    used = set()
    for f in (ROOT / "android/app/src/main").rglob("*.kt"):
        used |= set(re.findall(r"R\.string\.([a-z_0-9]+)", f.read_text(encoding="utf-8")))
    for k in sorted(used - set(zh)):
        problems.append(f"android: R.string.{k} is used but not defined")
    for k in sorted(set(zh) - used - {"app_name"}):
        problems.append(f"android: string {k} is defined but never used")
    return len(zh)


def ios(bindings):
    res = ROOT / "ios/Doorstep/Resources"
    langs = {}
    for lang in ("zh-Hans", "en"):
        text = (res / f"{lang}.lproj/Localizable.strings").read_text(encoding="utf-8")
        langs[lang] = dict(re.findall(r'^"([^"]+)" = "((?:[^"\\]|\\.)*)";$', text, re.M))
    zh, en = langs["zh-Hans"], langs["en"]
    for k in sorted(set(zh) ^ set(en)):
        problems.append(f"ios: key {k} is in one language only")
    spec = re.compile(r"%(?:llu|lld|ld|lu|u|d|@)")
    for k in sorted(set(zh) & set(en)):
        if spec.findall(zh[k]) != spec.findall(en[k]):
            problems.append(f"ios: key {k} has different format specifiers in zh-Hans and English")
    src = "\n".join(f.read_text(encoding="utf-8") for f in (ROOT / "ios/Doorstep/Sources").glob("*.swift"))
    # Keys are dotted lower-case literals: "sync.now", "household.record_visit".
    # (SF Symbols names, `systemImage: "list.bullet"`, are not keys.)
    used = set(re.findall(r'(?<!systemImage: )"([a-z]+\.[a-z_.]+|not_on_phones)"', src))
    # Problem kinds' words: "problem.<kind>" (camelCase, as the generated enum's cases).
    used |= set(re.findall(r'"(problem\.\w+)"', src))
    ignore = {"app.doorstep", "app.doorstep.sync", "app.doorstep.db", "app.doorstep.network", "doorstep.db"}
    for k in sorted(used - set(zh) - ignore):
        if not k.startswith("app.doorstep"):
            problems.append(f"ios: key {k} is used but not in Localizable.strings")

    gen = Path(bindings).read_text(encoding="utf-8")
    # Every kind of problem the core names has words (the switch a Swift compiler would check).
    words = re.search(r"extension ScreenProblem \{(.*?)\n\}", src, re.S).group(1)
    body = re.search(r"public enum ProblemKind\b[^{]*\{(.*?)\n\}", gen, re.S).group(1)
    for c in re.findall(r"^\s*case (`?\w+`?)", body, re.M):
        if f"case .{c.strip('`')}" not in words:
            problems.append(f"ios: ScreenProblem.text has no words for ProblemKind.{c}")

    # CaseLists.swift must list every case of the generated enums, in order.
    lists = (ROOT / "ios/Doorstep/Sources/CaseLists.swift").read_text(encoding="utf-8")
    for name, listed in re.findall(r"extension (\w+): CaseIterable \{.*?allCases: \[\w+\] \{\s*\[(.*?)\]", lists, re.S):
        body = re.search(rf"public enum {name}\b[^{{]*\{{(.*?)\n\}}", gen, re.S).group(1)
        cases = re.findall(r"^\s*case (\w+)", body, re.M)
        mine = [c.strip().lstrip(".") for c in listed.split(",") if c.strip()]
        if cases != mine:
            problems.append(f"ios: CaseLists.swift lists {mine} for {name}, the bindings have {cases}")
    return len(zh)


def main(argv):
    if len(argv) != 2:
        print(__doc__)
        return 2
    n_android = android()
    n_ios = ios(argv[1])
    for p in problems:
        print(p)
    print(f"android: {n_android} strings in zh-CN and English; ios: {n_ios} keys in zh-Hans and English; "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
