"""Real processes for the scheduler and topology tests: ``irpm`` commands and gunicorn as
subprocesses with their output in a log file, always stopped (bounded) at the end."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from engine.settings import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited ({self.popen.returncode}) before "
                                     f"'{text}':\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no '{text}' within {timeout} s:\n"
                                     f"{self.output()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; the exit status."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        return self.popen.returncode

    def kill(self) -> None:
        """kill -9: no clean-up of any kind."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(5)


@dataclass
class Processes:
    tmp: Path
    env: dict[str, str]
    started: list[Proc] = field(default_factory=list)

    def spawn(self, name: str, argv: list[str], **env: str) -> Proc:
        log = self.tmp / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(argv, cwd=PROJECT_ROOT, env={**self.env, **env},
                                     stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        proc = Proc(name, popen, log)
        self.started.append(proc)
        return proc

    #: This interpreter (the project's virtual environment).
    python = (sys.executable,)

    def irpm(self, name: str, *args: str, **env: str) -> Proc:
        return self.spawn(name, [*self.python, "-m", "web.cli", *args], **env)


@pytest.fixture
def processes(tmp_path: Path, database_url: str) -> Iterator[Processes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRPM_")}
    env.update(IRPM_DATABASE_URL=database_url, PYTHONUNBUFFERED="1",
               IRPM_SCHEDULER_STANDBY_POLL="0.2", IRPM_SCHEDULER_CARDS_EVERY="0",
               IRPM_SCHEDULER_MAIL_EVERY="0", PYTHONPATH=str(PROJECT_ROOT))
    found = Processes(tmp_path, env)
    yield found
    for proc in reversed(found.started):
        proc.stop(15)
