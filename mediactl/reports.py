"""CI reports of a batch verb (upload, delete, download, verify, sync, resume): README "Round trip".

- `--report FILE` (`MEDIACTL_REPORT`): JUnit XML when FILE ends in `.xml` (one testcase per item, failures
  with their message, as GitLab and Jenkins read it), the summary as JSON when it ends in `.json`;
- under `GITHUB_ACTIONS=true`: a workflow annotation per failed item on stderr
  (`::error file=PATH,title=mediactl::MESSAGE`, escaped as GitHub's workflow-commands page says), and the
  summary appended to `$GITHUB_STEP_SUMMARY` as a Markdown table.

Around each batch verb (`resume` too: mediactl/resuming.py), `batch_reported` checks FILE's directory
before any request and starts the run's recorder (refused batches report too: a refusal is the report's one
`error`); the batch runner records each item's outcome (`record`), a dry run each row of its plan
(`record_plan`); the error boundary calls `publish` once, on every way out of the command. No typer or
rich here: this module is plain data in, files and lines out.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from mediactl.errors import LocalError, UsageError
from mediactl.runtime import reports_wanted

REPORT_SUFFIXES = (".xml", ".json")
# Statuses a result row may carry that make its item a failure in a report (verify: DESIGN 2b).
FAILING_STATUSES = frozenset({"differs", "missing"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # what XML 1.0 and a terminal cannot take


@dataclass
class ItemReport:
    """One item of a batch as a report shows it."""

    name: str
    status: str  # passed | failed | skipped | error (the batch was refused before it started, or interrupted)
    message: str = ""
    file: str | None = None  # the local file it concerns, when there is one
    code: int | None = None  # the exit code of a failure
    seconds: float = 0.0


@dataclass
class BatchReport:
    command: str  # "mediactl nationbuilder upload"
    items: list[ItemReport] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    elapsed: float = 0.0
    exit_code: int | None = None

    @property
    def provider(self) -> str | None:
        words = self.command.split()
        return words[1] if len(words) > 2 else None

    @property
    def verb(self) -> str:
        return self.command.split()[-1] if self.command else ""

    def totals(self) -> dict[str, int]:
        counts = {"total": len(self.items), "passed": 0, "failed": 0, "skipped": 0}
        for item in self.items:
            counts[item.status] = counts.get(item.status, 0) + 1
        return counts


def check_report_path(value: str | os.PathLike | None) -> Path | None:
    """The --report / MEDIACTL_REPORT value, refused (exit 2) unless it ends in .xml or .json."""
    if value is None or str(value) == "":
        return None
    path = Path(value)
    if path.suffix.lower() not in REPORT_SUFFIXES:
        raise UsageError(f"--report {value}: the file must end in .xml (JUnit XML) or .json (summary)")
    return path


def check_report_dir(path: Path) -> None:
    """The report's directory must be there and writable (exit 3 otherwise), decided before a batch sends
    anything: a CI job must not learn at the end, or never, that its report was not written."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise LocalError(f"--report {path}: the directory {directory} does not exist",
                         hint="create it first, or give a path in an existing directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise LocalError(f"--report {path}: the directory {directory} is not writable")


def clean(text: Any) -> str:
    """Server and file text with the characters XML and terminals cannot take removed."""
    return _CONTROL.sub("", str(text if text is not None else ""))


def item_report(name: str, result: Mapping | None, error: Any | None, *, file: str | None = None,
                seconds: float = 0.0) -> ItemReport:
    """An outcome of the batch runner as a report item: a failure, a skip, a difference or a pass."""
    if error is not None:
        return ItemReport(clean(name), "failed", clean(error.message), file, int(error.code), seconds)
    result = result or {}
    given = result.get("local")
    local: Mapping = given if isinstance(given, Mapping) else {}
    file = file or result.get("path") or local.get("path")
    status = result.get("status")
    if status in FAILING_STATUSES:
        why = result.get("why") or {"differs": "the provider holds other content",
                                    "missing": "not on the provider"}[status]
        return ItemReport(clean(name), "failed", clean(f"{status}: {why}"), file, 9, seconds)
    skipped = result.get("skipped")
    if skipped or status == "extra":
        reason = skipped if isinstance(skipped, str) else ("only on the provider" if status == "extra"
                                                           else "skipped")
        return ItemReport(clean(name), "skipped", clean(reason), file, None, seconds)
    message = result.get("action") or status or ""
    return ItemReport(clean(name), "passed", clean(message), file, None, seconds)


# -- JUnit XML and JSON ---------------------------------------------------------------------------------


def junit_xml(report: BatchReport) -> bytes:
    """JUnit XML in the shape GitLab, Jenkins and junitparser read: testsuites > testsuite > testcase."""
    totals = report.totals()
    attrs = {"tests": str(totals["total"]), "failures": str(totals["failed"]), "errors": str(totals.get("error", 0)),
             "skipped": str(totals["skipped"]), "time": f"{report.elapsed:.3f}"}
    root = ET.Element("testsuites", {"name": "mediactl", **attrs})
    suite = ET.SubElement(root, "testsuite", {
        "name": report.command, **attrs,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(report.started))})
    classname = ".".join(["mediactl", *report.command.split()[1:]])
    for item in report.items:
        case = ET.SubElement(suite, "testcase", {"classname": classname, "name": item.name,
                                                 "time": f"{item.seconds:.3f}"})
        if item.file:
            case.set("file", item.file)
        if item.status == "failed":
            failure = ET.SubElement(case, "failure", {"message": item.message,
                                                      "type": f"exit {item.code}" if item.code else "failure"})
            failure.text = item.message
        elif item.status == "error":
            error = ET.SubElement(case, "error", {"message": item.message, "type": f"exit {item.code}"})
            error.text = item.message
        elif item.status == "skipped":
            ET.SubElement(case, "skipped", {"message": item.message})
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def summary_json(report: BatchReport) -> dict:
    return {
        "command": report.command, "provider": report.provider, "verb": report.verb,
        "exit_code": report.exit_code, "elapsed": round(report.elapsed, 3), "totals": report.totals(),
        "items": [{"name": i.name, "status": i.status, "message": i.message, "file": i.file, "code": i.code}
                  for i in report.items],
    }


def write_report(path: Path, report: BatchReport) -> None:
    """Write the report atomically (a reader never sees half a file); a failure is a local error."""
    data = junit_xml(report) if path.suffix.lower() == ".xml" else \
        (json.dumps(summary_json(report), indent=2, ensure_ascii=False) + "\n").encode()
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise LocalError(f"{path}: cannot write the report: {exc.strerror or exc}") from None


# -- GitHub Actions -------------------------------------------------------------------------------------


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's toolkit does (`%`, CR, LF)."""
    return clean_keep_lines(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as data, plus `:` and `,`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def clean_keep_lines(text: str) -> str:
    return re.sub(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]", "", str(text))


def annotation(item: ItemReport, cwd: str | None = None) -> str:
    """`::error file=PATH,title=mediactl::MESSAGE` for one failed item (PATH relative to the workspace)."""
    props = []
    if item.file:
        props.append(f"file={escape_property(_relative(item.file, cwd))}")
    props.append("title=mediactl")
    message = item.message if item.message.startswith(item.name) else f"{item.name}: {item.message}"
    return f"::error {','.join(props)}::{escape_data(message)}"


def _relative(path: str, cwd: str | None) -> str:
    base = cwd or os.getcwd()
    try:
        rel = os.path.relpath(path, base)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _cell(text: Any) -> str:
    """A Markdown table cell: GitHub renders HTML in the step summary, so `&`, `<`, `>` are entities (a name
    like `a<i>.png` stays text), and `|` is escaped so it cannot split the cell."""
    text = clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def step_summary_markdown(report: BatchReport) -> str:
    """The summary as GitHub renders it on the run's page: totals, then a table of the items."""
    totals = report.totals()
    lines = [f"### `{_cell(report.command)}`", "",
             f"{totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped "
             f"of {totals['total']} in {report.elapsed:.1f}s (exit {report.exit_code})", "",
             "| item | status | message |", "| --- | --- | --- |"]
    lines += [f"| {_cell(i.name)} | {i.status} | {_cell(i.message)} |" for i in report.items]
    return "\n".join(lines) + "\n\n"


def publish(report: BatchReport, *, report_file: Path | None, stderr, env: Mapping[str, str]) -> None:
    """Everything a CI system reads from one batch: the report file, annotations, the step summary."""
    if report_file is not None:
        write_report(report_file, report)
    if env.get("GITHUB_ACTIONS") != "true":
        return
    cwd = env.get("GITHUB_WORKSPACE")
    for item in report.items:
        if item.status in ("failed", "error"):
            print(annotation(item, cwd), file=stderr, flush=True)
    summary = env.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write(step_summary_markdown(report))
        except OSError as exc:
            raise LocalError(f"{summary}: cannot append the step summary: {exc.strerror or exc}") from None


# -- collecting a run's outcomes -------------------------------------------------------------------------


class RunRecorder:
    """The items of the batch verb being run, as the batch runner finishes them. An item run again (the
    second pass of a batch) keeps its last outcome."""

    def __init__(self, command: str) -> None:
        self.report = BatchReport(command)
        self._index: dict[Any, int] = {}
        self._t0 = time.monotonic()

    def add(self, key: Any, item: ItemReport) -> None:
        if key in self._index:
            self.report.items[self._index[key]] = item
        else:
            self._index[key] = len(self.report.items)
            self.report.items.append(item)

    def finish(self, exit_code: int) -> BatchReport:
        self.report.elapsed = time.monotonic() - self._t0
        self.report.exit_code = exit_code
        return self.report


wanted = reports_wanted  # whether this run reports at all (mediactl/runtime.py, so callers need not import this)


def record(rt, key: Any, name: str, result: Mapping | None, error: Any | None, *, command: str,
           file: str | None = None, seconds: float = 0.0) -> None:
    """Keep one finished item of the running batch, when a report is wanted (the batch runner's hook)."""
    if not wanted(rt.options.report, rt.env):
        return
    if rt.recorder is None:
        words = command.split()
        rt.recorder = RunRecorder(" ".join(["mediactl", *words[1:]]))
    rt.recorder.add(key, item_report(name, result, error, file=file, seconds=seconds))


BATCH_VERBS = frozenset({"upload", "delete", "download", "verify", "sync", "resume"})


@contextmanager
def batch_reported(rt, command: str):
    """Around a batch verb (`command`: "mediactl PROVIDER VERB"): when a report is wanted, check the report's
    directory before anything is sent, start the run's recorder (so a dry run, or a batch with no items,
    still writes its report) and record a refusal before the first item (a missing file, --max-delete, a
    read-only journal) as the report's one error, which the error boundary then publishes with its annotation."""
    from mediactl.errors import MediactlError

    if not wanted(rt.options.report, rt.env):
        yield
        return
    if rt.options.report is not None:
        check_report_dir(rt.options.report)
    if rt.recorder is None:
        rt.recorder = RunRecorder(command)
    try:
        yield
    except MediactlError as exc:
        if rt.recorder is not None and not rt.recorder.report.items:
            record_refusal(rt, exc)
        raise
    except Exception as exc:  # a local problem the error boundary makes exit 3 (a read-only journal)
        from mediactl.localfs import local_error

        local = local_error(exc, rt)
        if local is not None and rt.recorder is not None and not rt.recorder.report.items:
            record_refusal(rt, local)
        raise


def planned_report(name: str, action: str, why: str = "", *, file: str | None = None) -> ItemReport:
    """One row of a dry run's plan as a report item: what would be done passes with the action as its
    message (as `sync --dry-run`'s rows do: "create", "upload", "delete"); what would be skipped or refused is
    skipped, with why (a dry run exits 0 whatever its plan says, so its report has no failure either)."""
    if action in ("skip", "refuse"):
        label = "would be refused" if action == "refuse" else "would be skipped"
        return ItemReport(clean(name), "skipped", clean(f"{label}: {why}" if why else label), file)
    return ItemReport(clean(name), "passed", clean(action), file)


def record_plan(rt, rows: list[tuple[str, str, str, str | None]]) -> None:
    """A dry run's plan as the report's testcases, one per (name, action, why, file) row, when a report is
    being kept (`batch_reported` started the recorder around the verb)."""
    recorder = rt.recorder
    if recorder is None:
        return
    for index, (name, action, why, file) in enumerate(rows):
        recorder.add(("planned", index), planned_report(name, action, why, file=file))


def record_skipped(rt, key: Any, name: str, why: str, *, file: str | None = None) -> None:
    """An item the batch leaves alone before it starts (resume: a live run owns it), when a report is kept."""
    if rt.recorder is not None:
        rt.recorder.add(key, ItemReport(clean(name), "skipped", clean(why), file))


def record_interrupted(rt, key: Any, name: str, why: str, code: int, *, file: str | None = None) -> None:
    """An item in flight when the batch was interrupted: an error (neither passed nor failed: `resume` will
    tell), when a report is kept."""
    if rt.recorder is not None:
        rt.recorder.add(key, ItemReport(clean(name), "error", clean(why), file, code))


def record_refusal(rt, error: Any) -> None:
    """A refusal of the whole batch (not of one item) as the report's error, when a report is being kept."""
    recorder = rt.recorder
    if recorder is not None:
        recorder.add("refused", ItemReport(clean(recorder.report.command), "error", clean(error.message), None,
                                           int(error.code)))


def publish_run(rt, exit_code: int) -> int | None:
    """At the end of the command (the error boundary): publish what the batch recorded. Returns an exit
    code when the report itself could not be written (3), else None."""
    recorder, rt.recorder = rt.recorder, None
    if recorder is None:
        return None
    try:
        publish(recorder.finish(exit_code), report_file=rt.options.report, stderr=rt.stderr, env=rt.env)
    except LocalError as exc:
        rt.error(exc.message)
        return int(exc.code)
    return None
