#!/usr/bin/env python3
"""The live streams' frames against the API description (schemathesis cannot read a stream
that never ends): the event stream's `snapshot` and `floor` frames against the `Snapshot` and
`Event` schemas, the log stream's `log` frames against `LogLine`.

Usage: tests/api/sse_frames.py BASE_URL   (tests/api/schemathesis runs it against the demo,
which trusts loopback as the chair and has the technician login technik/technik)
"""

import json
import sys
import urllib.error
import urllib.request

import jsonschema

BASE = sys.argv[1].rstrip("/")


def get_json(path):
    with urllib.request.urlopen(BASE + path, timeout=10) as response:
        return json.load(response)


def post(path, body, headers=None):
    request = urllib.request.Request(
        BASE + path, data=json.dumps(body).encode(), method="POST",
        headers={"content-type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        # A refused command is an answer too; the check below needs only the events.
        return error.code, error.headers, error.read()


def frames(path, headers=None, want=3):
    """The first `want` frames of a stream as (event, data) pairs."""
    request = urllib.request.Request(BASE + path, headers={"accept": "text/event-stream", **(headers or {})})
    out, event, data = [], None, []
    with urllib.request.urlopen(request, timeout=10) as response:
        for raw in response:
            line = raw.decode().rstrip("\n")
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif line == "" and event is not None:
                out.append((event, json.loads("\n".join(data))))
                event, data = None, []
                if len(out) == want:
                    return out
    return out


def validator(spec, name):
    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    return jsonschema.Draft202012Validator(schema)


def check(spec, name, value, where):
    errors = sorted(validator(spec, name).iter_errors(value), key=str)
    if errors:
        print(f"{where}: does not match {name}:", file=sys.stderr)
        for error in errors[:10]:
            print(f"  at {list(error.absolute_path)}: {error.message}", file=sys.stderr)
        return 1
    print(f"ok: {where} matches {name}")
    return 0


def main():
    spec = get_json("/api/v1/openapi.json")
    failures = 0
    # Changes while the stream is read: a request, a grant, then the snapshot and the two events.
    post("/api/v1/commands", {"command": "clear_requests"})
    post("/api/v1/commands", {"command": "stop_all"})
    seq = get_json("/api/v1/state")["floor"]["seq"]
    post("/api/v1/commands", {"command": "request", "station": {"seat": 12}})
    post("/api/v1/commands", {"command": "grant", "station": {"seat": 12}})
    stream = frames(f"/api/v1/events?since={seq}", want=2) + frames("/api/v1/events", want=1)
    kinds = [event for event, _ in stream]
    if kinds.count("floor") < 2 or "snapshot" not in kinds:
        print(f"event stream: expected floor events and a snapshot, got {kinds}", file=sys.stderr)
        failures += 1
    for event, data in stream:
        name = {"snapshot": "Snapshot", "floor": "Event"}.get(event)
        if name is None:
            print(f"event stream: undocumented event type `{event}`", file=sys.stderr)
            failures += 1
            continue
        failures += check(spec, name, data, f"event stream `{event}` frame")
    # The log stream is for technicians.
    _, headers, _ = post("/api/v1/login", {"user": "technik", "password": "technik"})
    cookie = headers["set-cookie"].split(";")[0]
    for event, data in frames("/api/v1/log", headers={"cookie": cookie}, want=2):
        if event != "log":
            print(f"log stream: undocumented event type `{event}`", file=sys.stderr)
            failures += 1
            continue
        failures += check(spec, "LogLine", data, "log stream `log` frame")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
