"""The local stack's supervisor process (`stenograph up` starts it, `stenograph down` stops it first).

It looks at every service twice a second; one that is gone is started again after its backoff
(compose/local/supervision.py), and what it knows is written to supervisor.json in the state
directory for `stenograph status`. Services it restarts are its children: it reaps them and
knows how they exited; those `up` started are only seen to be gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from stenograph.compose.local.supervision import ServiceRecord, Supervision, last_error

POLL_S = 0.5
RECORD_FILE = "supervisor.json"


def record_path(state_dir: Path) -> Path:
    return state_dir / RECORD_FILE


def read_records(state_dir: Path) -> dict[str, ServiceRecord]:
    try:
        data: dict[str, Any] = json.loads(record_path(state_dir).read_text())
    except (OSError, ValueError):
        return {}
    return {name: ServiceRecord.from_json(rec) for name, rec in data.get("services", {}).items()}


def _write(state_dir: Path, text: str) -> None:
    path = record_path(state_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)  # readers never see half a file


def _exit_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def supervise() -> None:
    """Supervise the stack in the environment's settings until SIGTERM."""
    from stenograph.compose.local.stack import StackConfig, restartable, services

    cfg = StackConfig.from_env()
    sup = Supervision(records=read_records(cfg.state_dir))
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    exits: dict[int, str] = {}  # pid → how a child of ours ended
    pids: dict[str, int] = {}
    written = ""
    while not stopping:
        with contextlib.suppress(ChildProcessError):
            while (reaped := os.waitpid(-1, os.WNOHANG))[0]:
                exits[reaped[0]] = _exit_status(reaped[1])
        now = time.time()
        for svc in services(cfg):
            pid = svc.pid()
            if pid is not None:
                pids[svc.name] = pid
            elif sup.record(svc.name).started_at is not None:
                gone = pids.pop(svc.name, None)
                sup.crashed(svc.name, now, last_error(svc.tail(40).splitlines(),
                                                      exits.pop(gone, None) if gone else None))
            if sup.observe(svc.name, pid is not None, now):
                pids[svc.name] = restartable(cfg, svc).start()
                sup.started(svc.name, now)
        if (text := json.dumps({"pid": os.getpid(), "services": sup.to_json()}, indent=1)) != written:
            _write(cfg.state_dir, text)  # on a change only: not a disk write twice a second
            written = text
        time.sleep(POLL_S)
