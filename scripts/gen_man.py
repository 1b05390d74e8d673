"""Write a man page for mediactl and one for every subcommand, from the same command tree (and so the same
help text) that `--help` prints and tests/test_help_and_completions.py walks.

    python scripts/gen_man.py man/      # then: man -l man/mediactl.1

Pages are named like click-man's (mediactl-otherpage-upload.1). SOURCE_DATE_EPOCH, when set, dates them.
The top page (mediactl.1) also has EXIT STATUS (from mediactl.errors.ExitCode), ENVIRONMENT (every
MEDIACTL_* variable: the options' env vars, the providers' settings, and any other name the code reads)
and FILES; each command's page has EXIT STATUS and points to the top page for the rest. The output
directory (`man/`) is generated: git ignores it.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
import time
from pathlib import Path

import mediactl
from mediactl import __version__
from mediactl.cli import app
from mediactl.config import CONFIG_FILE, CREDENTIALS_FILE, env_name
from mediactl.errors import ExitCode
from mediactl.registry import PROVIDERS
from mediactl.typer_compat import CommandDoc, walk_commands

PROG = "mediactl"

# What each exit code means (README "Exit codes"); a code added to ExitCode without a line here is still
# listed, under its name.
EXIT_MEANINGS = {
    "OK": "success",
    "INTERNAL": "unexpected internal error (a bug: please report it)",
    "USAGE": "usage error, or a refused confirmation",
    "LOCAL": "local problem: missing setting or credential, unreadable file, bad config file, invalid input file",
    "AUTH": "the provider refused the credentials (401/403)",
    "NOT_FOUND": "not found (404)",
    "REJECTED": "the provider rejected the request (400/409/413/422, S3 policy errors)",
    "TRANSIENT": "transient failure that outlasted the retries: 429, 5xx, timeout, connection failure",
    "PARTIAL": "partial: a batch where some items failed and others succeeded",
    "VERIFY_DIFFERENCES": "verify found differences",
    "INTERRUPTED": "interrupted (Ctrl-C)",
}
# Variables the code reads itself (not through an option's envvar or a provider setting): what they do.
# A name found in the source without a line here is still listed.
ENV_MEANINGS = {
    "MEDIACTL_DATA_DIR": "Where the upload journal, pending forms and spooled stdin live (default: the "
                         "platform's user data directory, e.g. ~/.local/share/mediactl).",
    "MEDIACTL_PROGRESS_INTERVAL": "Seconds between progress lines when stderr is not a terminal (default 10).",
    "MEDIACTL_SANDBOX_S3_ACCESS_KEY": "Access key of the real S3 endpoint of `sandbox serve --s3-endpoint`.",
    "MEDIACTL_SANDBOX_S3_SECRET_KEY": "Secret key of the real S3 endpoint of `sandbox serve --s3-endpoint`.",
}
_ENV_NAME = re.compile(r"(?<![A-Za-z0-9_])MEDIACTL_[A-Z0-9]+(?:_[A-Z0-9]+)*")
_ENV_MENTION = re.compile(r"\s*\(env MEDIACTL_[^)]*\)")


def roff(text: str) -> str:
    """Text safe in a roff line: backslashes and hyphens escaped, no line read as a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + line if line.startswith((".", "'")) else line for line in text.splitlines())


def paragraphs(text: str) -> list[str]:
    """The help text's paragraphs, each on one line (roff fills them)."""
    blocks = inspect.cleandoc(text).split("\n\n")
    return [" ".join(line.strip() for line in block.splitlines()) for block in blocks if block.strip()]


def page(command: CommandDoc, children: list[CommandDoc], date: str) -> str:
    words = (PROG, *command.path)
    name = "-".join(words)
    title = " ".join(words)
    lines = [f'.TH "{name.upper()}" "1" "{date}" "{PROG} {__version__}" "{PROG} manual"',
             ".SH NAME", f"{roff(name)} \\- {roff(command.short_help)}",
             ".SH SYNOPSIS", f".B {roff(title)}", roff(command.usage.removeprefix(title).strip()),
             ".SH DESCRIPTION"]
    for i, text in enumerate(paragraphs(command.help) + paragraphs(command.epilog)):
        lines.extend([".PP"] if i else [])
        lines.append(roff(text))
    for heading, is_option in (("ARGUMENTS", False), ("OPTIONS", True)):
        params = [p for p in command.params if p.is_option == is_option]
        if params:
            lines.append(f".SH {heading}")
            for param in params:
                lines.extend([".TP", f"\\fB{roff(param.label)}\\fR", roff(" ".join(param.details.split()))])
    if children:
        lines.append(".SH COMMANDS")
        for child in children:
            lines.extend([".TP", f"\\fB{roff(child.path[-1])}\\fR", roff(child.short_help),
                          f"See \\fB{roff('-'.join((PROG, *child.path)))}\\fR(1)."])
    lines.extend(exit_status())
    if command.path:
        lines.extend([".SH SEE ALSO", f"\\fB{PROG}\\fR(1) for the ENVIRONMENT and FILES."])
    return "\n".join(lines) + "\n"


def exit_status() -> list[str]:
    lines = [".SH EXIT STATUS"]
    for code in ExitCode:
        meaning = EXIT_MEANINGS.get(code.name, code.name.replace("_", " ").lower())
        lines.extend([".TP", f"\\fB{int(code)}\\fR", roff(meaning)])
    return lines


def environment(commands: list[CommandDoc]) -> list[str]:
    """Every MEDIACTL_* variable: those the code reads itself (ENV_MEANINGS), the options' (their help),
    the providers' settings (MEDIACTL_<PROVIDER>_<SETTING>), and any other name in mediactl's source."""
    found = dict(ENV_MEANINGS)
    for command in commands:
        for param in command.params:
            flag = max(re.findall(r"--?[A-Za-z][\w-]*", param.label), key=len, default=param.label)
            where = f" of {PROG} {' '.join(command.path)}" if command.path else ""
            for name in _ENV_NAME.findall(param.details):
                found.setdefault(name, f"{_ENV_MENTION.sub('', param.help).strip()} Same as {flag}{where}.")
    for spec in PROVIDERS.values():
        for setting in spec.settings:
            found.setdefault(env_name(spec.name, setting.name),
                             f"{spec.title}: {setting.help} (setting {spec.name}.{setting.name}"
                             f"{', a secret' if setting.secret else ''}).")
    for source in sorted(Path(mediactl.__file__).parent.rglob("*.py")):
        for name in _ENV_NAME.findall(source.read_text(encoding="utf-8")):
            found.setdefault(name, "See the README.")
    lines = [".SH ENVIRONMENT", "Precedence, highest first: a command-line option, the environment, the "
             "profile in config.toml / credentials.toml, the default."]
    for name in sorted(found):
        lines.extend([".TP", f"\\fB{roff(name)}\\fR", roff(found[name])])
    lines.extend([".TP", "\\fBNO_COLOR\\fR", "Set (to anything): no colours or styles."])
    return lines


def files() -> list[str]:
    return [".SH FILES",
            ".TP", f"\\fI$MEDIACTL_CONFIG_DIR/{CONFIG_FILE}\\fR",
            "Settings per profile (`mediactl config set`), mode 0644.",
            ".TP", f"\\fI$MEDIACTL_CONFIG_DIR/{CREDENTIALS_FILE}\\fR",
            "Secret settings (API keys, tokens), mode 0600; never logged or printed.",
            ".TP", "\\fI$MEDIACTL_DATA_DIR/journal.sqlite3\\fR",
            roff("The upload journal (SQLite, WAL): `history`, `resume`, --skip-existing; kept small with "
                 "`mediactl history prune`."),
            ".TP", "\\fI$MEDIACTL_DATA_DIR/pending/\\fR",
            "Other Page's presigned forms a resume needs, mode 0600, removed when the upload completes.",
            ".TP", "\\fI$MEDIACTL_DATA_DIR/spool/\\fR",
            "Copies of stdin uploads, mode 0600, for as long as the run (or its resume) needs them."]


def main(target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    date = time.strftime("%Y-%m-%d", time.gmtime(int(os.environ.get("SOURCE_DATE_EPOCH", time.time()))))
    commands = list(walk_commands(app, PROG))
    written = []
    for command in commands:
        children = [c for c in commands if len(c.path) == len(command.path) + 1 and c.path[:-1] == command.path]
        path = target / ("-".join((PROG, *command.path)) + ".1")
        text = page(command, children, date)
        if not command.path:
            text += "\n".join([*environment(commands), *files()]) + "\n"
        path.write_text(text)
        written.append(path)
    return sorted(written)


if __name__ == "__main__":
    pages = main(Path(sys.argv[1] if len(sys.argv) > 1 else "man"))
    print(f"wrote {len(pages)} man pages")
