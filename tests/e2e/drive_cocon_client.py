"""Drives Podium's CoCon API with cocon-client (PyPI; an independent async CoCon client,
github.com/3P-Technologies/cocon_client), for tests/e2e/cocon_api.rs.

Usage: drive_cocon_client.py HOST PORT
Prints one JSON line per notification ({"event": ...}) and per command result
({"result": ..., "command": ...}). Reads commands from stdin, one per line:
  SetState <On|Off|Request|Toggle> <seat>     Microphone/SetState
  Send <path> [k=v ...]                       any other CoCon command
  quit                                        leaves (raises inside the client's block, as
                                              its author advises for a prompt stop)
"""
import asyncio
import json
import logging
import sys

# cocon-client configures DEBUG logging on import when nothing else did.
logging.basicConfig(level=logging.WARNING)
from cocon_client import CoConClient, Config, Model  # noqa: E402


class Quit(Exception):
    pass


def emit(record):
    print(json.dumps(record), flush=True)


async def on_notification(data):
    emit({"event": data})


async def main(host, port):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    config = Config(max_retries=3, session_timeout=5.0)
    try:
        async with CoConClient(host, port=port, handler=on_notification, config=config) as client:
            # 0.2.5 has no public "connected" signal; its connection id is set on Connect.
            while not client._connection_id:
                await asyncio.sleep(0.02)
            emit({"subscribed": await client.subscribe([Model.MICROPHONE])})
            while True:
                line = (await reader.readline()).decode().strip()
                if not line or line == "quit":
                    raise Quit()
                words = line.split()
                if words[0] == "SetState":
                    path, params = "Microphone/SetState", {"State": words[1], "SeatNr": words[2]}
                else:
                    path, params = words[1], dict(w.split("=", 1) for w in words[2:])
                emit({"command": line, "result": await client.send(path, params)})
    except Quit:
        pass


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
