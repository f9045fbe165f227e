"""Run a command against a throwaway PostgreSQL cluster.

    python tests/pgtmp.py -- pytest -q

initdb's a cluster in a temporary directory, starts it on a free loopback port, creates a
database, runs the command with IRPM_TEST_DATABASE_URL pointing at it, then stops the
server and deletes the directory — whatever the command's outcome. PostgreSQL refuses to run
as root, so under root the server runs as the ``postgres`` system user (created if missing).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _pg(tool: str) -> str:
    found = shutil.which(tool)
    if found:
        return found
    for bin_dir in PG_BIN_DIRS:
        if (bin_dir / tool).exists():
            return str(bin_dir / tool)
    raise SystemExit(f"pgtmp: {tool} not found; install PostgreSQL (apt-get install postgresql)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_user() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "irpmpg"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "irpmpg"], check=True)
    return "irpmpg"


def _as(user: str | None, argv: list[str]) -> list[str]:
    return ["runuser", "-u", user, "--", *argv] if user else argv


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1:]
    if not argv:
        print(__doc__)
        return 2
    user = _server_user()
    workdir = Path(tempfile.mkdtemp(prefix="irpm-pg-"))
    data, sockets = workdir / "data", workdir / "sock"
    sockets.mkdir()
    if user:
        uid, gid = pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid
        for path in (workdir, sockets):
            os.chown(path, uid, gid)
    port = _free_port()
    quiet = {"stdout": subprocess.DEVNULL}
    try:
        subprocess.run(_as(user, [_pg("initdb"), "-D", str(data), "-U", "irpm", "-A", "trust",
                                  "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
                       check=True, **quiet)
        options = (f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        subprocess.run(_as(user, [_pg("pg_ctl"), "-D", str(data), "-o", options, "-w",
                                  "-l", str(workdir / "server.log"), "start"]),
                       check=True, **quiet)
        subprocess.run([_pg("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "irpm",
                        "irpm_test"], check=True)
        url = f"postgresql+psycopg://irpm@127.0.0.1:{port}/irpm_test"
        print(f"pgtmp: PostgreSQL on 127.0.0.1:{port} ({workdir})", flush=True)
        env = dict(os.environ, IRPM_TEST_DATABASE_URL=url, IRPM_TEST_PG_ADMIN_URL=url)
        return subprocess.run(argv, env=env).returncode
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(_as(user, [_pg("pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                                      "stop"]), **quiet)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
