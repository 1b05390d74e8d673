"""`mediactl sandbox`: serve the local emulator of the four APIs, or run the end-to-end demo on it."""

import json
import os
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from mediactl.app.context import AppContext
from mediactl.errors import UsageError
from mediactl.helptexts import GROUP_HELP
from mediactl.sandbox.instance import write_private
from mediactl.typer_compat import parameter_source

app = typer.Typer(
    add_completion=False,
    help=GROUP_HELP["sandbox"],
    no_args_is_help=True,
)


def _options(data_dir, fail_rate, drop_rate, latency_ms, rate_limit, seed, ofauth_part_size, form_ttl,
             page_size, ofauth_legacy_init, s3_endpoint=None, s3_bucket=None, s3_region="us-east-1",
             ofauth_already_completed=409, strict=False, sites=(), pages=()):
    from mediactl.sandbox.core import Faults, Options

    for name, rate in (("--fail-rate", fail_rate), ("--drop-rate", drop_rate)):
        if not 0 <= rate <= 1:
            raise UsageError(f"{name} must be between 0 and 1")
    if ofauth_already_completed not in (409, 400):
        raise UsageError("--ofauth-already-completed must be 409 or 400")
    for page in pages or ():
        if page.count("/") > 1 or not all(page.split("/")):
            raise UsageError(f"--page {page!r}: give PAGE or SITE/PAGE")
    return Options(
        data_dir=data_dir,
        faults=Faults(fail_rate=fail_rate, drop_rate=drop_rate, latency_ms=latency_ms, rate_limit=rate_limit,
                      seed=seed),
        ofauth_part_size=ofauth_part_size, form_ttl=form_ttl, page_size=page_size,
        ofauth_legacy_init=ofauth_legacy_init, external_s3=_external_s3(s3_endpoint, s3_bucket, s3_region),
        ofauth_already_completed=ofauth_already_completed, strict=strict,
        nationbuilder_sites=list(sites or ()), nationbuilder_pages=list(pages or ()),
    )


def _external_s3(endpoint: str | None, bucket: str | None, region: str) -> dict | None:
    if not endpoint:
        return None
    access, secret = os.environ.get("MEDIACTL_SANDBOX_S3_ACCESS_KEY"), os.environ.get("MEDIACTL_SANDBOX_S3_SECRET_KEY")
    if not bucket or not access or not secret:
        raise UsageError("--s3-endpoint needs --s3-bucket and MEDIACTL_SANDBOX_S3_ACCESS_KEY / "
                         "MEDIACTL_SANDBOX_S3_SECRET_KEY in the environment")
    return {"endpoint": endpoint, "bucket": bucket, "region": region, "access_key": access, "secret_key": secret}


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(
        "--host", envvar="MEDIACTL_SANDBOX_HOST",
        help="Address to bind (default 127.0.0.1); a non-loopback one must be given with --host itself.",
        show_default=False)] = None,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port; 0 picks a free one.")] = 0,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", file_okay=False, help="Keep state and uploaded files here, across restarts.")] = None,
    fail_rate: Annotated[float, typer.Option(
        "--fail-rate", help="Share of requests answered with an injected 5xx or 429 (0..1).")] = 0.0,
    drop_rate: Annotated[float, typer.Option(
        "--drop-rate", help="Share of requests whose connection is closed mid-request (0..1).")] = 0.0,
    latency_ms: Annotated[int, typer.Option("--latency-ms", min=0, help="Added latency per request.")] = 0,
    rate_limit: Annotated[float, typer.Option(
        "--rate-limit", min=0, help="Requests per second before 429 with Retry-After (0 = none).")] = 0,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed for the fault draws (reproducible runs).")] = None,
    ofauth_part_size: Annotated[int, typer.Option(
        "--ofauth-part-size", min=1, help="OFAuth part size in bytes; larger files get a multipart plan.")]
        = 5 * 1024 * 1024,
    form_ttl: Annotated[int, typer.Option(
        "--form-ttl", min=1, help="Seconds an Other Page presigned form stays valid.")] = 3600,
    page_size: Annotated[int, typer.Option("--page-size", min=1, help="BitBadges search page size.")] = 10,
    ofauth_legacy_init: Annotated[bool, typer.Option(
        "--ofauth-legacy-init", help="Answer OFAuth init with the plan in headers only, like older API versions.")]
        = False,
    ofauth_already_completed: Annotated[int, typer.Option(
        "--ofauth-already-completed", metavar="409|400",
        help="Status of OFAuth's \"Upload already completed\" answer: 409 {message, code} or, as some API "
             "versions send it, 400 {error, code, details}.")] = 409,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Unknown NationBuilder sites and pages answer 404, as the real API does, instead of "
                         "being made on first use (the default site \"sandbox\" and --site/--page exist).")]
        = False,
    sites: Annotated[list[str] | None, typer.Option(
        "--site", metavar="SLUG", help="A NationBuilder site that exists (repeatable; for --strict).")] = None,
    pages: Annotated[list[str] | None, typer.Option(
        "--page", metavar="[SITE/]SLUG", help="A NationBuilder page that exists, on the default site unless "
                                              "SITE/ is given (repeatable; for --strict).")] = None,
    s3_endpoint: Annotated[str | None, typer.Option(
        "--s3-endpoint", help="Sign Other Page forms for this real S3 endpoint instead of the sandbox's own "
                              "(keys from MEDIACTL_SANDBOX_S3_ACCESS_KEY / _SECRET_KEY).")] = None,
    s3_bucket: Annotated[str | None, typer.Option("--s3-bucket", help="Bucket on --s3-endpoint.")] = None,
    s3_region: Annotated[str, typer.Option("--s3-region", help="Region to sign for on --s3-endpoint.")]
        = "us-east-1",
    background: Annotated[bool, typer.Option(
        "--background", help="Start the sandbox as a background process, print the exports, write --pid-file "
                             "and return; stop it with kill \"$(cat PIDFILE)\".")] = False,
    pid_file: Annotated[Path | None, typer.Option(
        "--pid-file", dir_okay=False, help="Write the server's pid here while it runs (default with "
                                           "--background: sandbox.pid in the data dir).")] = None,
    env_file: Annotated[Path | None, typer.Option(
        "--env-file", dir_okay=False, help="Also write the export lines to this file (mode 0600) once the "
                                           "sandbox listens, for `. FILE` in other shells.")] = None,
) -> None:
    """Serve the emulator and print the `export MEDIACTL_...=` lines that point mediactl at it.

    In the foreground the lines are flushed at once so a script can read them while the sandbox runs;
    Ctrl-C (or SIGTERM, SIGHUP) stops it and removes its --env-file. --background returns as soon as it
    listens. `mediactl sandbox env` prints the lines again; the sandbox's own URL shows a dashboard.

    Examples: eval "$(mediactl sandbox serve --background --pid-file sandbox.pid)" ... kill "$(cat sandbox.pid)"
    ·  mediactl sandbox serve --port 8080 --env-file sandbox.env
    """
    from mediactl.http import is_loopback
    from mediactl.sandbox.core import RunningSandbox, Sandbox

    rt = AppContext.of(ctx)
    explicit = parameter_source(ctx, "host") == "commandline"
    host = host or "127.0.0.1"
    if not is_loopback(host) and not explicit:
        raise UsageError(f"refusing to serve the sandbox on non-loopback address {host} from the environment",
                         hint="pass --host explicitly if you mean it")
    options = _options(data_dir, fail_rate, drop_rate, latency_ms, rate_limit, seed, ofauth_part_size,
                       form_ttl, page_size, ofauth_legacy_init, s3_endpoint, s3_bucket, s3_region,
                       ofauth_already_completed, strict, sites, pages)
    if background:
        base_url = _serve_in_background(ctx, rt, (pid_file or rt.data_dir / "sandbox.pid").absolute())
        if not is_loopback(host):  # the server's own stderr is its log: say it here
            from urllib.parse import urlsplit

            _warn_reachable(rt, host, urlsplit(base_url).port or 0, base_url)
        return
    _refuse_if_running(pid_file)
    log = (lambda line: print(line, file=rt.stderr, flush=True)) if rt.verbose else None
    try:
        running = RunningSandbox(Sandbox(options), host=host, port=port, log=log)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    base_url, env = running.sandbox.base_url, running.sandbox.env_settings()
    if not is_loopback(host):
        _warn_reachable(rt, host, running.port, base_url)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGHUP):  # CI cancel, `kill`, a closed terminal: stop cleanly
        signal.signal(signum, lambda *_: stop.set())
    running.start()
    try:
        if env_file:
            write_private(env_file, _export_lines(env))
        if pid_file:
            write_private(pid_file, f"{os.getpid()}\n")
        _publish(rt, base_url, env, data_dir)
        _print_env(rt, base_url, env)
        rt.info(f"sandbox serving on {base_url} (dashboard: {base_url}/; Ctrl-C to stop)")
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
        for path in (pid_file, env_file):  # the env file holds the sandbox's credentials: never left behind
            if path:
                path.unlink(missing_ok=True)
        _withdraw(rt)
    rt.info("sandbox stopped")


def _export_lines(env: dict[str, str]) -> str:
    return "".join(f"export {key}={value}\n" for key, value in env.items())


def _publish(rt, base_url: str, env: dict[str, str], state_dir: Path | None) -> None:
    """Record this sandbox for `sandbox env` / `sandbox status`; a data dir we cannot write only warns."""
    from mediactl.sandbox import instance

    try:
        other = instance.publish(rt.data_dir, base_url, env, state_dir)
    except OSError as exc:
        rt.warn(f"cannot record the sandbox in {rt.data_dir} ({exc.strerror}): `mediactl sandbox env` will not "
                "find it")
        return
    if other is not None:
        _warn_other(rt, other)


def _warn_other(rt, other) -> None:
    rt.warn(f"another sandbox (pid {other.pid}, {other.base_url}) already runs for the data dir "
            f"{rt.data_dir}: `mediactl sandbox env` and `status` show that one")


def _withdraw(rt) -> None:
    from mediactl.sandbox import instance

    try:
        instance.withdraw(rt.data_dir)
    except OSError:
        pass


def _print_env(rt, base_url: str, env: dict[str, str]) -> None:
    if rt.machine_output:
        rt.stdout.write(json.dumps({"base_url": base_url, "env": env}) + "\n")
    else:
        rt.stdout.write(_export_lines(env))
    rt.stdout.flush()


def _warn_reachable(rt, host: str, port: int, base_url: str) -> None:
    """Other machines can reach a non-loopback bind, but mediactl sends no secret over plain http to a
    non-loopback host: from elsewhere, a tunnel makes the sandbox loopback again."""
    from mediactl.sandbox.core import local_address

    tunnel = f"ssh -N -L {port}:{local_address(host)}:{port} THIS_MACHINE"
    if local_address(host) != host:
        rt.warn(f"the sandbox listens on every interface ({host}); the exports use {base_url} for this machine. "
                f"mediactl refuses plain http to other hosts, so from another machine run `{tunnel}` there "
                f"and use the same exports")
    else:
        rt.warn(f"the sandbox on {host} is reachable from other machines, and its credentials are printed "
                f"below; mediactl refuses plain http to a non-loopback host, so use it through a tunnel "
                f"(`{tunnel}`, then base URLs on 127.0.0.1:{port})")


def _serve_in_background(ctx: typer.Context, rt, pid_file: Path) -> str:
    """Run this same `serve` in a new session (Ctrl-C in the shell does not stop it), its stdout a pipe
    read for the first line only, so `eval "$(...)"` returns; its stderr goes to a log beside the pid file."""
    import subprocess
    import sys

    _refuse_if_running(pid_file)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    log_path = pid_file.with_suffix(".log")
    args = [sys.executable, "-m", "mediactl", *["-v"] * rt.verbose, "-o", "json", "sandbox", "serve",
            *_serve_args(ctx), "--pid-file", str(pid_file)]
    with open(log_path, "ab") as log:
        child = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                                 start_new_session=True, text=True)
    assert child.stdout is not None  # stdout=PIPE
    with child.stdout:
        line = child.stdout.readline()
    if not line:
        child.wait()
        raise UsageError(f"the sandbox did not start (exit {child.returncode}); see {log_path}")
    started = json.loads(line)
    # The server has recorded itself before printing that line, or found another sandbox's record for this
    # data dir and left it alone, saying so in its log only: say it here too
    from mediactl.sandbox import instance

    recorded = instance.find(rt.data_dir)
    if recorded is not None and recorded.pid != child.pid:
        _warn_other(rt, recorded)
    _print_env(rt, started["base_url"], started["env"])
    rt.info(f"sandbox serving on {started['base_url']} in the background (pid {child.pid}, log {log_path}); "
            f"stop it with: kill \"$(cat {pid_file})\"")
    return started["base_url"]


def _serve_args(ctx: typer.Context) -> list[str]:
    """This command's options as given (long forms), less --background and --pid-file."""
    args: list[str] = []
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if param.name in ("background", "pid_file") or not param.opts or value is None or value == param.default:
            continue
        flag = max(param.opts, key=len)
        if getattr(param, "is_flag", False):
            args.append(flag)
        elif isinstance(value, list | tuple):  # a repeatable option: once per value
            args += [part for item in value for part in (flag, str(item))]
        else:
            args += [flag, str(value.absolute() if isinstance(value, Path) else value)]
    return args


def _refuse_if_running(pid_file: Path | None) -> None:
    if pid_file is None:
        return
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):  # no file, no such process (a stale file): go ahead
        return
    raise UsageError(f"a sandbox already runs with pid {pid} ({pid_file})", hint=f'stop it: kill "$(cat {pid_file})"')


def _running(rt):
    """The sandbox running for this data dir, or exit 3 saying there is none."""
    from mediactl.errors import LocalError
    from mediactl.sandbox import instance

    found = instance.find(rt.data_dir)
    if found is None:
        raise LocalError(f"no sandbox runs for the data dir {rt.data_dir}",
                         hint="start one: eval \"$(mediactl sandbox serve --background)\" (the same "
                              "MEDIACTL_DATA_DIR as here)")
    return found


@app.command("env")
def env_command(ctx: typer.Context) -> None:
    """Print the `export MEDIACTL_...=` lines of the sandbox running for this data dir, as `serve` printed them.

    For a second shell or a later CI step: no restart needed. Exit 3 when no sandbox runs for this data
    dir (MEDIACTL_DATA_DIR). With -o json: {"base_url", "env"}, as `serve -o json`.

    Example: eval "$(mediactl sandbox env)"
    """
    rt = AppContext.of(ctx)
    found = _running(rt)
    _print_env(rt, found.base_url.rstrip("/"), found.env)


@app.command("status")
def status_command(ctx: typer.Context) -> None:
    """Say whether a sandbox runs for this data dir, and its URL and pid.

    Exit 0 when one runs, 3 when none does. With -o json: {"running", "url", "pid", "data_dir",
    "started_at", "dashboard"} (no credentials: `sandbox env` prints those).

    Example: mediactl -o json sandbox status
    """
    import datetime as dt

    from mediactl.errors import ExitCode
    from mediactl.sandbox import instance

    rt = AppContext.of(ctx)
    found = instance.find(rt.data_dir)
    row: dict[str, Any] = {"running": False, "url": None, "pid": None, "data_dir": str(rt.data_dir),
                           "started_at": None, "dashboard": None}
    if found is not None:
        started = dt.datetime.fromtimestamp(found.started_at, dt.UTC).isoformat(timespec="seconds")
        row.update(running=True, url=found.base_url, pid=found.pid, started_at=started,
                   dashboard=found.base_url + "/")
    if rt.machine_output:
        rt.stdout.write(json.dumps(row) + "\n")
    elif found is not None:
        rt.stdout.write(f"running\t{found.base_url}\tpid {found.pid}\n")
    else:
        rt.stdout.write(f"not running\t(data dir {rt.data_dir})\n")
    rt.stdout.flush()
    if found is None:
        raise typer.Exit(int(ExitCode.LOCAL))


@app.command("demo")
def demo(
    ctx: typer.Context,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the demo's files and sandbox data.")] = False,
) -> None:
    """Run upload → list → show → delete/complete on all four providers against a fresh in-process sandbox.

    Needs no network and no configuration; exits 0 only if every step succeeded.

    Example: mediactl sandbox demo
    """
    from mediactl.sandbox.demo import run_demo

    run_demo(AppContext.of(ctx), keep=keep)

