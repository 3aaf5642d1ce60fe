"""Checks that the README's "train on your own data" example is code that runs: every C# block in the README preceded by
a line <!-- consumer: NAME --> must equal, line for line (leading whitespace and using directives aside), the lines
between "// <NAME>" and "// </NAME>" in the consumer program that CI installs the packages into and runs.
Usage: python3 tools/check_readme_example.py tests/PackageConsumer/Program.cs README.md src/README.package.md"""
import re
import sys


def lines(text):
    return [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("using ")]


program = open(sys.argv[1], encoding="utf-8").read()
failed = False
for path in sys.argv[2:]:
    readme = open(path, encoding="utf-8").read()
    blocks = re.findall(r"<!-- consumer: (\w[\w-]*) -->\s*```csharp\n(.*?)```", readme, re.S)
    if not blocks:
        sys.exit(f"{path}: no block marked <!-- consumer: NAME --> (the example CI runs)")
    for name, code in blocks:
        m = re.search(rf"// <{re.escape(name)}>\n(.*?)// </{re.escape(name)}>", program, re.S)
        if not m:
            sys.exit(f"{sys.argv[1]}: no region '// <{name}>' … '// </{name}>'")
        want, have = lines(code), lines(m.group(1))
        if want == have:
            continue
        failed = True
        print(f"{path}: the block '{name}' differs from the consumer's region:", file=sys.stderr)
        for i, (a, b) in enumerate(zip(want + [""] * len(have), have + [""] * len(want))):
            if a != b:
                print(f"  line {i + 1}: README  {a!r}\n           program {b!r}", file=sys.stderr)
                break
sys.exit(1 if failed else 0)
