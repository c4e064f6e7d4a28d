"""Drives Podium's simulated PJLink projector with an independent client: the PyPI
package `aiopjlink2` (pinned in tests/run). Run by devices/tests/pjlink_pypi.rs, which
owns the simulator and checks its state after the client is done. Prints one JSON line.

Usage: aiopjlink_client.py HOST PORT PASSWORD
"""

import asyncio
import json
import sys

from aiopjlink import PJLink, PJLinkERR2, PJLinkPassword, Sources


async def main():
    host, port, password = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    out = {}
    link = PJLink(address=host, port=port, password=password, timeout=5)
    out["power_before"] = str((await link.power.get()).name)
    await link.power.turn_on()
    out["power_after"] = str((await link.power.get()).name)
    await link.sources.set(Sources.Mode.DIGITAL, 2)
    mode, index = await link.sources.get()
    out["input"] = f"{mode.value}{index}"
    out["inputs"] = [f"{m.value}{i}" for m, i in await link.sources.available()]
    out["name"] = await link.info.projector_name()
    out["class"] = str((await link.info.pjlink_class()).value)
    try:
        await link.sources.set(Sources.Mode.NETWORK, 9)
        out["bad_input"] = "accepted"
    except PJLinkERR2:
        out["bad_input"] = "ERR2"
    wrong = PJLink(address=host, port=port, password=password + "x", timeout=5)
    try:
        await wrong.power.get()
        out["wrong_password"] = "accepted"
    except PJLinkPassword:
        out["wrong_password"] = "refused"
    print(json.dumps(out), flush=True)


asyncio.run(main())
