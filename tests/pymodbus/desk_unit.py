#!/usr/bin/env python3
"""A Podium desk unit played by pymodbus: an independent Modbus RTU server on a serial
port (a pseudo-terminal in the tests), so Podium's master is proven against code nobody
on this project wrote.

    python3 tests/pymodbus/desk_unit.py --port /dev/pts/7 --unit 7 [--parity N --stopbits 2]

Memory follows devices/docs/desk-unit-register-map.md (version 2) for a delegate unit:
discrete inputs 0-15 (keys; 7 the presence key; 11 "credential waiting"), coils 0-10
(relay, lamps, vote lamps), holding registers 0-9 (display) and 40-45 (the credential:
sequence, kind, badge UID or PIN digits; reading them clears input 11). No power-up flag,
no watchdog.

Control: JSON lines on stdin, one JSON line answered on stdout for each:
    {"press": 0}            hold discrete input 0 (the request key) down
    {"release": 0}          let it go
    {"badge": "04A1B2C3"}   put a badge on the reader (hex UID, up to 8 bytes)
    {"remove_badge": true}  take it off
    {"pin": "4711"}         enter a PIN
    {"state": true}         report
Every answer is {"coils": [11 booleans], "registers": [10 integers], "input_reads": N,
"credential_waiting": bool, "credential_reads": N}, read from pymodbus's own memory. The
first line printed is {"ready": true} once the port is open.
"""

import argparse
import asyncio
import json
import sys

from pymodbus import FramerType
from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import DataType, SimData, SimDevice

INPUTS, COILS, REGISTERS = 16, 11, 10
CREDENTIAL_WAITING = 11  # discrete input
CREDENTIAL = 40  # holding registers 40-45
KIND_REMOVED, KIND_BADGE, KIND_PIN = 0, 1, 2


class Unit:
    """The keys we hold down, and references into pymodbus's memory."""

    def __init__(self):
        self.pressed = set()
        self.coil_registers = None
        self.holding_registers = None
        self.input_reads = 0
        # The credential on offer: [sequence, kind, 4 identifier registers] or None.
        self.sequence = 0
        self.credential = None
        self.credential_reads = 0

    def offer(self, kind, identifier):
        """A new credential: numbered, waiting until the master reads it."""
        self.sequence = (self.sequence + 1) & 0xFFFF
        padded = bytes(identifier[:8]).ljust(8, b"\0")
        words = [padded[i] << 8 | padded[i + 1] for i in range(0, 8, 2)]
        self.credential = [self.sequence, kind, *words]

    async def action(self, function_code, start_address, address, count, registers, set_values):
        """Called by pymodbus on every access, with the block's live registers."""
        if function_code == 2:
            # Discrete inputs: 16 bits packed into register 0 of the block, bit 0 first.
            waiting = {CREDENTIAL_WAITING} if self.credential is not None else set()
            registers[0] = sum(1 << i for i in self.pressed | waiting)
            self.input_reads += 1
        elif function_code == 3 and address < CREDENTIAL + 6 and address + count > CREDENTIAL:
            # The credential is read: hand it over and clear "credential waiting".
            offered = self.credential or [self.sequence, KIND_REMOVED, 0, 0, 0, 0]
            for i, value in enumerate(offered):
                registers[CREDENTIAL - start_address + i] = value
            self.credential = None
            self.credential_reads += 1
            self.holding_registers = registers
        elif function_code in (1, 5, 15):
            self.coil_registers = registers
        elif function_code in (3, 6, 16):
            self.holding_registers = registers
        return None

    def report(self):
        coils = [False] * COILS
        if self.coil_registers is not None:
            word = self.coil_registers[0]
            coils = [bool(word >> i & 1) for i in range(COILS)]
        registers = [0] * REGISTERS
        if self.holding_registers is not None:
            registers = list(self.holding_registers[:REGISTERS])
        return {
            "coils": coils,
            "registers": registers,
            "input_reads": self.input_reads,
            "credential_waiting": self.credential is not None,
            "credential_reads": self.credential_reads,
        }


def say(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def control(unit):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        try:
            command = json.loads(line)
        except json.JSONDecodeError as error:
            say({"error": str(error)})
            continue
        if "press" in command:
            unit.pressed.add(int(command["press"]))
        if "release" in command:
            unit.pressed.discard(int(command["release"]))
        if "badge" in command:
            unit.offer(KIND_BADGE, bytes.fromhex(command["badge"]))
        if "remove_badge" in command:
            unit.offer(KIND_REMOVED, b"")
        if "pin" in command:
            unit.offer(KIND_PIN, command["pin"].encode("ascii"))
        say(unit.report())


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", required=True)
    parser.add_argument("--unit", type=int, required=True)
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--parity", choices=["N", "E", "O"], default="E")
    parser.add_argument("--stopbits", type=int, choices=[1, 2], default=1)
    args = parser.parse_args()

    unit = Unit()
    device = SimDevice(
        id=args.unit,
        simdata=(
            [SimData(0, count=COILS, values=False, datatype=DataType.BITS)],
            [SimData(0, count=INPUTS, values=False, datatype=DataType.BITS)],
            [
                SimData(0, count=REGISTERS, values=0, datatype=DataType.REGISTERS),
                SimData(CREDENTIAL, count=6, values=0, datatype=DataType.REGISTERS),
            ],
            [SimData(0, count=1, values=0, datatype=DataType.REGISTERS)],
        ),
        action=unit.action,
    )

    def connected(up):
        if up:
            say({"ready": True})

    server = ModbusSerialServer(
        [device],
        framer=FramerType.RTU,
        port=args.port,
        baudrate=args.baud,
        parity=args.parity,
        stopbits=args.stopbits,
        bytesize=8,
        ignore_missing_devices=True,
        trace_connect=connected,
    )
    control_task = asyncio.create_task(control(unit))
    serve_task = asyncio.create_task(server.serve_forever())
    # Stop when the test closes our stdin (or the server fails).
    await asyncio.wait([control_task, serve_task], return_when=asyncio.FIRST_COMPLETED)
    await server.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
