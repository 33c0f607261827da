#!/usr/bin/env python3
"""Reads the emulator's Latarnia with PyPI ksef-client's own Latarnia client (client.lighthouse), while the
emulator-only /emulator/v1/lighthouse scripts what it announces: a failure's start and end, and a planned
maintenance ahead. Checks that the third-party client reads every state and message as the Ministry's Latarnia
would give them.

    python scripts/peer_lighthouse.py --base-url http://127.0.0.1:8090

Prints one line per step and exits non-zero on the first step that fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import urllib.request

from ksef_client import KsefClient, KsefClientOptions


def emulator(base: str, method: str, path: str, body: dict | None = None) -> dict:
    """Calls the emulator's own API (not KSeF)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}/emulator/v1{path}", data=data, method=method,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
        return json.loads(text) if text else {}


def value(enum_or_text) -> str:
    return getattr(enum_or_text, "value", enum_or_text)


def step(name: str, ok: bool, detail: object = "") -> None:
    print(f"lighthouse: {'PASS' if ok else 'FAIL'} {name} {detail if not ok else ''}".rstrip())
    if not ok:
        sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True, help="the emulator's root (it serves the Latarnia there)")
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    client = KsefClient(KsefClientOptions(base_url=base, base_lighthouse_url=base))
    emulator(base, "DELETE", "/lighthouse")

    status = client.lighthouse.get_status()
    step("an empty Latarnia reads AVAILABLE", value(status.status) == "AVAILABLE" and not status.messages, status)

    start = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=3)).isoformat()
    failure = emulator(base, "POST", "/lighthouse", {"category": "FAILURE", "start": start, "title": "Awaria KSeF"})
    status = client.lighthouse.get_status()
    messages = status.messages or []
    step("a failure under way reads FAILURE with its message", value(status.status) == "FAILURE" and len(messages) == 1
         and messages[0].event_id == failure["eventId"] and value(messages[0].type) == "FAILURE_START"
         and messages[0].title == "Awaria KSeF" and messages[0].end is None, status)

    ended = emulator(base, "POST", f"/lighthouse/{failure['eventId']}/end", {})
    status = client.lighthouse.get_status()
    step("once it ends KSeF reads AVAILABLE again", value(status.status) == "AVAILABLE" and not status.messages, status)
    listed = client.lighthouse.get_messages()
    kinds = [(m.event_id, value(m.type)) for m in listed]
    step("the messages hold the failure's start and end", (failure["eventId"], "FAILURE_START") in kinds
         and (failure["eventId"], "FAILURE_END") in kinds, kinds)
    end = next(m for m in listed if value(m.type) == "FAILURE_END")
    step("the end carries when it ended", end.end is not None and dt.datetime.fromisoformat(end.end.replace("Z", "+00:00"))
         == dt.datetime.fromisoformat(ended["end"].replace("Z", "+00:00")), end)

    ahead = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)
    maintenance = emulator(base, "POST", "/lighthouse", {"category": "MAINTENANCE", "start": ahead.isoformat(),
                                                          "end": (ahead + dt.timedelta(hours=4)).isoformat()})
    status = client.lighthouse.get_status()
    listed = client.lighthouse.get_messages()
    announced = [m for m in listed if m.event_id == maintenance["eventId"]]
    step("a maintenance ahead is listed, not yet in force", value(status.status) == "AVAILABLE" and len(announced) == 1
         and value(announced[0].type) == "MAINTENANCE_ANNOUNCEMENT" and value(announced[0].category) == "MAINTENANCE"
         and announced[0].end is not None, (status, announced))
    emulator(base, "DELETE", "/lighthouse")
    print("lighthouse: all steps passed")


if __name__ == "__main__":
    main()
