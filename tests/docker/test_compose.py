"""docker/compose.yaml and docker/Dockerfile, checked against the code: every command the
containers run exists in the CLI (with its options) or is a file of the repository; the web
workers run no scheduler and one scheduler process does; migrations run before either;
the image is slim, runs as a non-root user, has a health check on /healthz and builds the
npm assets in a build stage."""

from __future__ import annotations

import ast
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from engine.settings import PROJECT_ROOT
from web.cli import main

DOCKER = PROJECT_ROOT / "docker"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dockerfile() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def commands_of(command: list[str]) -> list[list[str]]:
    """A container's command as the programs it runs (``sh -c "a && b"`` gives two)."""
    if command[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in command[2].split("&&")]
    return [command]


def resolve_irpm(args: list[str]) -> click.Command:
    """The ``irpm`` command ``args`` name, its options and arguments parsed as the CLI
    would (a ``click.UsageError`` if it has no such command or option)."""
    command: click.Command = main
    ctx = click.Context(main, info_name="irpm")
    rest = list(args)
    while isinstance(command, click.Group) and rest and rest[0] in command.commands:
        name = rest.pop(0)
        command = command.commands[name]
        ctx = click.Context(command, info_name=name, parent=ctx)
    command.parse_args(ctx, rest)
    return command


def check_program(argv: list[str]) -> None:
    program, *args = argv
    if program == "irpm":
        resolve_irpm(args)
    elif program == "gunicorn":
        config = args[args.index("--config") + 1]
        assert (PROJECT_ROOT / config).is_file(), config
        module, attribute = args[-1].split(":")
        source = PROJECT_ROOT / (module.replace(".", "/") + ".py")
        assigned = {target.id for node in ast.parse(source.read_text(encoding="utf-8")).body
                    if isinstance(node, ast.Assign) for target in node.targets
                    if isinstance(target, ast.Name)}
        assert attribute in assigned, f"{source} defines no {attribute}"
    else:
        raise AssertionError(f"unexpected program in a container command: {argv}")


def test_every_container_command_exists(compose: dict[str, Any]) -> None:
    seen = set()
    for name, service in compose["services"].items():
        if "command" not in service:
            continue
        for argv in commands_of(service["command"]):
            check_program(argv)
            seen.add((name, argv[0], tuple(argv[1:3])))
        healthcheck = service.get("healthcheck", {})
        if healthcheck.get("test", ["NONE"])[0] == "CMD":
            check_program(healthcheck["test"][1:])
    assert ("migrate", "irpm", ("db", "upgrade")) in seen
    assert ("scheduler", "irpm", ("scheduler",)) in seen
    assert {name for name, program, _ in seen if program == "gunicorn"} == {"web"}


def test_the_checker_refuses_what_the_cli_lacks() -> None:
    with pytest.raises(click.UsageError):
        resolve_irpm(["scheduler", "--no-such-option"])
    with pytest.raises(click.UsageError):
        resolve_irpm(["db", "upgrade", "--nope"])
    assert resolve_irpm(["scheduler", "status", "--require-leader"]).name == "status"
    with pytest.raises(AssertionError):
        check_program(["gunicorn", "--config", "docker/gunicorn.conf.py", "web.wsgi:nothing"])


def test_the_topology(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"db", "migrate", "web", "scheduler"}
    assert services["db"]["image"].startswith("postgres:")
    web, scheduler, migrate = services["web"], services["scheduler"], services["migrate"]
    assert web["environment"]["IRPM_SCHEDULER"] == "off"  # web workers run no scheduler
    for service in (web, scheduler, migrate):
        url = service["environment"]["IRPM_DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://") and "@db:5432/" in url
        assert service["image"] == "irpm:latest"
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    for service in (web, scheduler):  # migrations run before the app starts
        assert service["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert "replicas" not in str(scheduler.get("deploy", {}))
    workers = re.fullmatch(r"\$\{IRPM_WEB_WORKERS:-(\d+)\}", web["environment"]["IRPM_WEB_WORKERS"])
    assert workers and int(workers[1]) >= 2  # several gunicorn workers


def test_every_required_variable_is_in_the_example_env(compose: dict[str, Any]) -> None:
    text = (DOCKER / "compose.yaml").read_text(encoding="utf-8")
    required = set(re.findall(r"\$\{(\w+):\?", text))
    example = {line.split("=", 1)[0] for line in
               (DOCKER / "env.example").read_text(encoding="utf-8").splitlines()
               if "=" in line and not line.startswith("#")}
    assert required and required <= example, required - example
    ignored = (PROJECT_ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "docker/.env" in ignored


def test_gunicorn_runs_several_threaded_workers_without_preloading() -> None:
    settings: dict[str, Any] = {}
    exec(compile((DOCKER / "gunicorn.conf.py").read_text(encoding="utf-8"),
                 "gunicorn.conf.py", "exec"), settings)
    assert settings["workers"] >= 2 and settings["bind"].endswith(":8000")
    assert not settings.get("preload_app")


def test_the_image(dockerfile: list[str]) -> None:
    stages = [line.split()[1] for line in dockerfile if line.startswith("FROM ")]
    assert stages[0].startswith("node:") and "AS assets" in dockerfile[0]
    final = stages[-1]
    assert final.startswith("python:3.11-slim"), final  # the Python the project tests on
    assets = dockerfile[:next(i for i, line in enumerate(dockerfile[1:], 1)
                              if line.startswith("FROM "))]
    assert any("make web/static/vendor/.copied" in line for line in assets)
    last_stage = dockerfile[max(i for i, line in enumerate(dockerfile)
                                if line.startswith("FROM ")):]
    users = [line.split()[1] for line in last_stage if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), users
    assert any(line.startswith("COPY --from=assets") and "web/static/vendor" in line
               for line in last_stage)
    [health] = [line for line in last_stage if line.startswith("HEALTHCHECK ")]
    assert "/healthz" in health and "127.0.0.1:8000" in health
    assert "EXPOSE 8000" in last_stage
    cmd = next(line for line in last_stage if line.startswith("CMD "))
    assert ast.literal_eval(cmd[4:]) == yaml.safe_load(
        (DOCKER / "compose.yaml").read_text(encoding="utf-8"))["services"]["web"]["command"]
    assert any("IRPM_SCHEDULER=off" in line for line in last_stage)


def test_what_the_image_copies_exists(dockerfile: list[str]) -> None:
    for line in dockerfile:
        if not line.startswith("COPY ") or "--from=" in line:
            continue
        *sources, _target = line.split()[1:]
        for source in sources:
            assert (PROJECT_ROOT / source).exists(), source


def test_the_assets_target_exists_in_the_makefile() -> None:
    done = subprocess.run(["make", "-n", "web/static/vendor/.copied"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_the_docker_context_leaves_out_local_state() -> None:
    ignored = set((PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".git", ".venv", "node_modules", "instance", "docker/.env"} <= ignored
    assert not (Path(DOCKER) / ".env").exists() or "docker/.env" in ignored
