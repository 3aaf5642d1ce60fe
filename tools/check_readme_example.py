"""The README's install commands and "train on your own data" example are what CI runs (tools/check-package.sh).

check PROGRAM FILE:NAME,NAME… …  Each named block must be in FILE, marked by a line <!-- consumer: NAME --> before its
    fence. A C# block must equal, line for line (indentation aside), the region "// <NAME>" … "// </NAME>" of PROGRAM,
    except its using directives, each of which must be one of PROGRAM's. Every marked block is checked, named or not.
print FILE NAME  Prints the block NAME of FILE (for a bash block: the commands CI runs).
Usage: python3 tools/check_readme_example.py check tests/PackageConsumer/Program.cs README.md:install,csv,images …"""
import re
import sys


def blocks(path):
    text = open(path, encoding="utf-8").read()
    return {name: (lang, code) for name, lang, code in
            re.findall(r"<!-- consumer: (\w[\w-]*) -->\s*```(\w+)\n(.*?)```", text, re.S)}


def strip(text):
    return [line.strip() for line in text.splitlines() if line.strip()]


def is_using(line):
    return re.fullmatch(r"using (static )?(\w+ = )?[\w.]+;", line) is not None


def check(program_path, specs):
    program = open(program_path, encoding="utf-8").read()
    usings = {line for line in strip(program) if is_using(line)}
    failed = []
    for spec in specs:
        path, _, names = spec.partition(":")
        found = blocks(path)
        failed += [f"{path}: no block marked <!-- consumer: {n} -->" for n in names.split(",") if n and n not in found]
        for name, (lang, code) in found.items():
            if lang != "csharp":
                continue
            m = re.search(rf"// <{re.escape(name)}>\n(.*?)// </{re.escape(name)}>", program, re.S)
            if not m:
                failed.append(f"{program_path}: no region '// <{name}>' … '// </{name}>' for {path}'s block")
                continue
            lines = strip(code)
            failed += [f"{path}, block '{name}': {u!r} is not among {program_path}'s using directives"
                       for u in lines if is_using(u) and u not in usings]
            want, have = [line for line in lines if not is_using(line)], strip(m.group(1))
            for i, (a, b) in enumerate(zip(want + [""] * len(have), have + [""] * len(want))):
                if a != b:
                    failed.append(f"{path}, block '{name}', line {i + 1}:\n  README  {a!r}\n  program {b!r}")
                    break
    for f in failed:
        print(f, file=sys.stderr)
    return 1 if failed else 0


if sys.argv[1:2] == ["print"] and len(sys.argv) == 4:
    found = blocks(sys.argv[2])
    if sys.argv[3] not in found:
        sys.exit(f"{sys.argv[2]}: no block marked <!-- consumer: {sys.argv[3]} -->")
    print(found[sys.argv[3]][1], end="")
elif sys.argv[1:2] == ["check"] and len(sys.argv) >= 4:
    sys.exit(check(sys.argv[2], sys.argv[3:]))
else:
    sys.exit(__doc__)
