#!/usr/bin/env python3
"""Checks the manual pages against what the code accepts, so that later work keeps
them true. Usage: check_man.py HOTPATCH MAN_DIR CLI_MD PATCH_H
Prints one line per problem and exits 1 if there is any.

- hotpatch(1): every subcommand of `hotpatch --help` has a subsection (a .SS heading
  that starts with its name) and appears in SYNOPSIS; every option of a subcommand's
  --help is named in that subcommand's subsection (or is a global option); every
  global option is named in OPTIONS or SELECTING PROCESSES; every exit code of
  docs/cli.md's table is an item of EXIT STATUS.
- hotpatch-agent(8): every option of `hotpatch agent --help` is an item of OPTIONS.
- hotpatch-patch(5): every public macro of <hotpatch/patch.h> is an item of MACROS:
  every #define but the include guard and internal helpers, whose names end in "_".
"""
import os
import re
import subprocess
import sys

problems = []


def problem(text):
    problems.append(text)
    print("MISSING: " + text)


def help_of(hotpatch, *words):
    out = subprocess.run([hotpatch, *words, "--help"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"`hotpatch {' '.join(words)} --help` failed ({out.returncode}): {out.stderr.strip()}")
    return out.stdout


def parse_help(text):
    """CLI11's help: ({option names}, [subcommands])."""
    options, subcommands, section = set(), [], None
    for line in text.splitlines():
        if re.match(r"^\S.*:$", line):
            section = line[:-1]
            continue
        m = re.match(r"^  (\S+)", line)
        if not m:
            continue
        if section == "Options":
            for name in m.group(1).split(","):
                if name.startswith("-"):
                    options.add(name)
        elif section == "Subcommands":
            subcommands.append(m.group(1))
    return options, subcommands


def render(page):
    env = dict(os.environ, MANWIDTH="250", LC_ALL="C.UTF-8", MAN_KEEP_FORMATTING="0")
    out = subprocess.run(["man", "-l", "-E", "UTF-8", page], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"man -l {page} failed: {out.stderr.strip()}")
    text = re.sub(r".\x08", "", out.stdout)  # overstrike bold/underline, if any
    return text.replace("\u2010", "-").replace("\u2212", "-")


def sections(text):
    """{SECTION NAME: text}."""
    result, name = {}, None
    for line in text.splitlines():
        if re.match(r"^[A-Z][A-Z ]+$", line):
            name = line.strip()
            result[name] = ""
        elif name:
            result[name] += line + "\n"
    return result


def subsections(text):
    """[(heading lines, body)]: consecutive headings share the body after them."""
    blocks, headings, body = [], [], []
    for line in text.splitlines():
        if re.match(r"^ {3}\S", line):
            if body:
                blocks.append((headings, "\n".join(body)))
                headings, body = [], []
            headings.append(line.strip())
        elif headings:
            body.append(line)
    if headings:
        blocks.append((headings, "\n".join(body)))
    return blocks


def tagged_items(text):
    """The tags of .TP items: lines indented 7, the first word."""
    return {m.group(1) for m in re.finditer(r"^ {7}(\S+)", text, re.M)}


def names_option(text, option):
    return re.search(r"(?<![\w-])" + re.escape(option) + r"(?![\w-])", text) is not None


def main():
    hotpatch, man_dir, cli_md, patch_h = sys.argv[1:5]

    # hotpatch(1)
    page = sections(render(os.path.join(man_dir, "hotpatch.1")))
    for needed in ("SYNOPSIS", "COMMANDS", "OPTIONS", "EXIT STATUS"):
        if needed not in page:
            sys.exit(f"hotpatch.1 has no {needed} section")
    global_options, subcommands = parse_help(help_of(hotpatch))
    if not subcommands:
        sys.exit("`hotpatch --help` lists no subcommands (has its format changed?)")
    global_text = page["OPTIONS"] + page.get("SELECTING PROCESSES", "")
    for option in sorted(global_options):
        if not names_option(global_text, option):
            problem(f"hotpatch(1): global option {option} is not in OPTIONS or SELECTING PROCESSES")
    blocks = subsections(page["COMMANDS"])
    for sub in subcommands:
        if not re.search(r"(?<![\w-])" + re.escape(sub) + r"(?![\w-])", page["SYNOPSIS"]):
            problem(f"hotpatch(1): subcommand {sub} is not in SYNOPSIS")
        block = next((b for b in blocks if any(h.split()[0] == sub for h in b[0])), None)
        if block is None:
            problem(f"hotpatch(1): subcommand {sub} has no subsection in COMMANDS (.SS \"{sub} ...\")")
            continue
        text = "\n".join(block[0]) + "\n" + block[1]
        options, _ = parse_help(help_of(hotpatch, sub))
        for option in sorted(options - global_options - {"-h", "--help", "--json"}):
            if not names_option(text, option):
                problem(f"hotpatch(1): option {option} of `{sub}` is not named in its subsection")
    exit_codes = set(re.findall(r"^\| (\d+) \|", open(cli_md).read(), re.M))
    if not exit_codes:
        sys.exit(f"{cli_md}: no exit code table found")
    documented = tagged_items(page["EXIT STATUS"])
    for code in sorted(exit_codes, key=int):
        if code not in documented:
            problem(f"hotpatch(1): exit status {code} (docs/cli.md) is not in EXIT STATUS")

    # hotpatch-agent(8)
    if "agent" in subcommands:
        agent_page = sections(render(os.path.join(man_dir, "hotpatch-agent.8")))
        agent_options, _ = parse_help(help_of(hotpatch, "agent"))
        items = agent_page.get("OPTIONS", "")
        for option in sorted(agent_options - {"-h", "--help", "--json"}):
            if not re.search(r"^ {7}(\S+, )?" + re.escape(option) + r"(?![\w-])", items, re.M):
                problem(f"hotpatch-agent(8): option {option} of `hotpatch agent` is not an item of OPTIONS")

    # hotpatch-patch(5)
    header = re.sub(r"\\\n", " ", open(patch_h).read())
    # Every macro the header defines is public, but for two rules (no list of names):
    # the include guard (the first #ifndef NAME / #define NAME pair) and internal
    # helpers, whose names end in "_" (HOTPATCH_RECORD_, HOTPATCH_CALLBACK_, ...).
    guard = re.search(r"^#ifndef (\w+)\s*\n#define \1\s*$", header, re.M)
    macros = sorted({name for name in re.findall(r"^\s*#\s*define\s+(\w+)", header, re.M)
                     if not name.endswith("_") and not (guard and name == guard.group(1))})
    if len(macros) < 5:
        sys.exit(f"{patch_h}: found only {macros}: has the header's form changed?")
    patch_page = sections(render(os.path.join(man_dir, "hotpatch-patch.5")))
    described = {re.sub(r"\(.*", "", t) for t in tagged_items(patch_page.get("MACROS", ""))}
    for macro in macros:
        if macro not in described:
            problem(f"hotpatch-patch(5): macro {macro} of <hotpatch/patch.h> is not an item of MACROS")

    print(f"checked {len(subcommands)} subcommands, {len(global_options)} global options, "
          f"{len(exit_codes)} exit codes, {len(macros)} macros")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
