"""Drives Podium's simulated VISCA camera with an independent client: the PyPI package
`visca-over-ip` (pinned in tests/run). Run by devices/tests/visca_pypi.rs, which owns the
simulator: each step waits for a line on stdin, then prints one JSON line with its result,
so the Rust side can change the simulator between steps and check what the camera did.

Usage: visca_over_ip_client.py HOST PORT
"""

import json
import sys

from visca_over_ip import Camera
from visca_over_ip.exceptions import ViscaException


def step(name, action):
    if not sys.stdin.readline():
        sys.exit("stdin closed")
    try:
        action()
        result = {"step": name, "ok": True}
    except ViscaException as exc:
        result = {"step": name, "ok": False, "status": exc.status_code, "description": exc.description}
    print(json.dumps(result), flush=True)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    # The constructor sends RESET and IF_Clear.
    camera = Camera(host, port)
    # Fail fast on errors instead of retrying five times.
    camera.num_retries = 1
    print(json.dumps({"step": "connected", "ok": True}), flush=True)
    step("recall 3", lambda: camera.recall_preset(3))
    step("recall 4 while not executable", lambda: camera.recall_preset(4))
    step("recall 0x70, no such preset", lambda: camera.recall_preset(0x70))
    step("recall 5 while the buffer is full", lambda: camera.recall_preset(5))
    step("home", camera.pantilt_home)
    step("save 9", lambda: camera.save_preset(9))
    camera.close_connection()


if __name__ == "__main__":
    main()
