"""The `ishibashi` command: serve, worker, demo, seed-demo, and every Django management command."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

USAGE = """usage: ishibashi COMMAND [options]

  serve       run the web app under gunicorn (--host, --port, --workers, --threads);
              on the internet, only behind the reverse proxy of deploy/README.md
  worker      run deadline sweeps and background tasks (--once, --interval)
  demo        migrate, load the demo marketplace, run web + worker (Ctrl-C stops both)
  seed-demo   load the demo marketplace into the configured database (idempotent)
  sweep       run every deadline sweep once
  rebuild-reputation  recount the reliability counters and ratings; exit 1 if any differ (--fix)
  …           any Django management command: migrate, createsuperuser, shell, …
"""


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ishibashi.config.settings")
    import django

    django.setup()


# A Unix socket's path must fit in sun_path (108 bytes on Linux).
SOCKET_PATH_MAX = 100


def _control_socket_args(port: int) -> list[str]:
    """gunicorn's control socket, one per instance (its default is one per user, shared by
    every server that user starts); none if the var folder's path is too long for a socket."""
    from django.conf import settings

    path = settings.VAR_DIR / "run" / f"gunicorn-{port}.ctl"
    if len(str(path)) > SOCKET_PATH_MAX:
        return ["--no-control-socket"]
    path.parent.mkdir(parents=True, exist_ok=True)
    return ["--control-socket", str(path)]


# django-ninja's source maps and the Redoc viewer the API does not use: 7 MB that whitenoise
# would compress twice (gzip, brotli) at every production start, for nothing.
STATIC_NOT_SERVED = ["*.map", "redoc.standalone.js"]


def _serve_command(*, host: str, port: int, workers: int, threads: int) -> list[str]:
    """gunicorn with threaded workers: a connection waits for its request in a thread of its
    own, so one slow client holds one thread, not a whole worker (issue #11). A client that
    trickles its headers still holds its thread; only the reverse proxy, which reads whole
    requests before passing them on, takes that away (deploy/nginx.conf)."""
    return [
        sys.executable, "-m", "gunicorn", "ishibashi.config.wsgi:application",
        "--bind", f"{host}:{port}",
        "--workers", str(workers),
        "--worker-class", "gthread",
        "--threads", str(threads),
        "--access-logfile", "-",
        "--graceful-timeout", "10",
        "--timeout", "60",
        *_control_socket_args(port),
        *_forwarded_args(),
    ]  # fmt: skip


def _forwarded_args() -> list[str]:
    """With no trusted proxy (ISHIBASHI_TRUSTED_PROXY_COUNT=0), gunicorn believes nobody's
    X-Forwarded-Proto either; its default believes any process on loopback."""
    from django.conf import settings

    return [] if settings.TRUSTED_PROXY_COUNT > 0 else ["--forwarded-allow-ips", ""]


def _serve_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ishibashi serve")
    parser.add_argument("--host", default=os.environ.get("ISHIBASHI_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    # Each thread may hold a database connection: workers × threads of them at most.
    parser.add_argument(
        "--threads", type=int, default=int(os.environ.get("ISHIBASHI_WEB_THREADS", "4"))
    )
    return parser.parse_args(argv)


def _deploy_check_or_refuse() -> None:
    """Production starts only when `check --deploy --fail-level WARNING` passes.

    Its notices (ishibashi.I001, I002) are printed; a warning or an error is one line on stderr
    through main() (ImproperlyConfigured), naming each problem, and exit code 2.
    """
    from django.core import checks
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    try:
        call_command("check", deploy=True, fail_level="WARNING")
    except SystemCheckError:
        from django.conf import settings

        problems = [
            f"{message.id}: {str(message.msg).split('. ')[0].rstrip('.')}"
            for message in checks.run_checks(include_deployment_checks=True)
            if message.level >= checks.WARNING and message.id not in settings.SILENCED_SYSTEM_CHECKS
        ]
        raise ImproperlyConfigured(
            "refusing to start in production, `ishibashi check --deploy` found: "
            + "; ".join(problems)
            + " (see deploy/README.md)"
        ) from None


def serve(argv: Sequence[str]) -> int:
    args = _serve_args(argv)
    _setup_django()
    from django.conf import settings
    from django.core.management import call_command

    # System checks refuse unsafe configurations (e.g. the sandbox payment provider in
    # production, plain HTTP without the opt-out) before the server takes a request.
    if settings.IS_PRODUCTION:
        _deploy_check_or_refuse()
        call_command(
            "collectstatic", interactive=False, verbosity=0, ignore_patterns=STATIC_NOT_SERVED
        )
    else:
        call_command("check")
    command = _serve_command(
        host=args.host, port=args.port, workers=args.workers, threads=args.threads
    )
    os.execv(sys.executable, command)
    return 0  # not reached: execv replaces this process


def demo(argv: Sequence[str]) -> int:
    args = _serve_args(argv)
    _setup_django()
    from django.core.management import call_command

    from ishibashi.operations.demo import DEMO_PASSWORD, demo_refused_in_production, seed_demo

    demo_refused_in_production()  # before migrating anything
    call_command("migrate", interactive=False, verbosity=0)
    users = seed_demo()
    children = [
        subprocess.Popen(
            _serve_command(
                host=args.host, port=args.port, workers=args.workers, threads=args.threads
            )
        ),
        subprocess.Popen([sys.executable, "-m", "ishibashi.config.cli", "worker"]),
    ]
    host = "localhost" if args.host in {"127.0.0.1", "0.0.0.0"} else args.host  # noqa: S104
    print(f"\n  石橋 Ishibashi demo: http://{host}:{args.port}/\n", flush=True)
    print(f"  Demo log-ins (password: {DEMO_PASSWORD}):", flush=True)
    for user in users:
        print(f"    {user.email:<24} {user.display_name}", flush=True)
    print("\n  Ctrl-C stops the web server and the worker.\n", flush=True)
    return _wait_for(children)


def _wait_for(children: list[subprocess.Popen[bytes]]) -> int:
    """Run until Ctrl-C, SIGTERM or one child dies; then stop every child and wait for it."""
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    # Ctrl-C reaches the whole process group: the children stop themselves, and so do we.
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    while not stopping:
        ended = [child for child in children if child.poll() is not None]
        if ended:
            time.sleep(0.5)  # a child may have seen the Ctrl-C a moment before this process
            if not stopping:
                exit_code = ended[0].returncode or 1
                print(f"ishibashi demo: a process exited ({exit_code}); stopping.", flush=True)
            break
        time.sleep(0.3)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    return exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; a configuration that cannot run is one line on stderr and exit code 2."""
    from django.core.exceptions import ImproperlyConfigured

    try:
        return _run(list(sys.argv[1:] if argv is None else argv))
    except ImproperlyConfigured as error:
        print(f"ishibashi: {error}", file=sys.stderr, flush=True)
        return 2


def _run(args: list[str]) -> int:
    if not args or args[0] in {"-h", "--help", "help"}:
        print(USAGE)
        return 0
    command, rest = args[0], args[1:]
    if command == "serve":
        return serve(rest)
    if command == "demo":
        return demo(rest)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ishibashi.config.settings")
    from django.core.management import execute_from_command_line

    # ishibashi seed-demo → manage.py seed_demo; Django's own names pass through unchanged.
    execute_from_command_line(["ishibashi", command.replace("-", "_"), *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main())
