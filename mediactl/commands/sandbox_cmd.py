"""`mediactl sandbox`: serve the local emulator of the four APIs, or run the end-to-end demo on it."""

import json
import os
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from mediactl import runtime
from mediactl.errors import UsageError
from mediactl.helptexts import GROUP_HELP
from mediactl.typer_compat import parameter_source

app = typer.Typer(
    add_completion=False,
    help=GROUP_HELP["sandbox"],
    no_args_is_help=True,
)


def _options(data_dir, fail_rate, drop_rate, latency_ms, rate_limit, seed, ofauth_part_size, form_ttl,
             page_size, ofauth_legacy_init, s3_endpoint=None, s3_bucket=None, s3_region="us-east-1"):
    from mediactl.sandbox.core import Faults, Options

    for name, rate in (("--fail-rate", fail_rate), ("--drop-rate", drop_rate)):
        if not 0 <= rate <= 1:
            raise UsageError(f"{name} must be between 0 and 1")
    return Options(
        data_dir=data_dir,
        faults=Faults(fail_rate=fail_rate, drop_rate=drop_rate, latency_ms=latency_ms, rate_limit=rate_limit,
                      seed=seed),
        ofauth_part_size=ofauth_part_size, form_ttl=form_ttl, page_size=page_size,
        ofauth_legacy_init=ofauth_legacy_init, external_s3=_external_s3(s3_endpoint, s3_bucket, s3_region),
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
    s3_endpoint: Annotated[str | None, typer.Option(
        "--s3-endpoint", help="Sign Other Page forms for this real S3 endpoint instead of the sandbox's own "
                              "(keys from MEDIACTL_SANDBOX_S3_ACCESS_KEY / _SECRET_KEY).")] = None,
    s3_bucket: Annotated[str | None, typer.Option("--s3-bucket", help="Bucket on --s3-endpoint.")] = None,
    s3_region: Annotated[str, typer.Option("--s3-region", help="Region to sign for on --s3-endpoint.")]
        = "us-east-1",
) -> None:
    """Serve the emulator and print the `export MEDIACTL_...=` lines that point mediactl at it.

    The lines are flushed at once so a script can read them while the sandbox runs; Ctrl-C stops it.

    Examples: mediactl sandbox serve  ·  eval "$(mediactl sandbox serve --port 8080 & sleep 1)"
    """
    from mediactl.http import is_loopback
    from mediactl.sandbox.core import RunningSandbox, Sandbox

    rt = runtime.current()
    explicit = parameter_source(ctx, "host") == "commandline"
    host = host or "127.0.0.1"
    if not is_loopback(host) and not explicit:
        raise UsageError(f"refusing to serve the sandbox on non-loopback address {host} from the environment",
                         hint="pass --host explicitly if you mean it")
    if not is_loopback(host):
        rt.warn(f"the sandbox on {host} is reachable from other machines; its credentials are printed below")
    options = _options(data_dir, fail_rate, drop_rate, latency_ms, rate_limit, seed, ofauth_part_size,
                       form_ttl, page_size, ofauth_legacy_init, s3_endpoint, s3_bucket, s3_region)
    log = (lambda line: print(line, file=rt.stderr, flush=True)) if rt.verbose else None
    try:
        running = RunningSandbox(Sandbox(options), host=host, port=port, log=log)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    env = running.sandbox.env_settings()
    if rt.machine_output:
        rt.stdout.write(json.dumps({"base_url": running.sandbox.base_url, "env": env}) + "\n")
    else:
        for key, value in env.items():
            rt.stdout.write(f"export {key}={value}\n")
    rt.stdout.flush()
    rt.info(f"sandbox serving on {running.sandbox.base_url} (Ctrl-C to stop)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    running.start()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
    rt.info("sandbox stopped")


@app.command("demo")
def demo(
    keep: Annotated[bool, typer.Option("--keep", help="Keep the demo's files and sandbox data.")] = False,
) -> None:
    """Run upload → list → show → delete/complete on all four providers against a fresh in-process sandbox.

    Needs no network and no configuration; exits 0 only if every step succeeded.

    Example: mediactl sandbox demo
    """
    from mediactl.sandbox.demo import run_demo

    run_demo(runtime.current(), keep=keep)

