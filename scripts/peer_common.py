"""Helpers shared by the peer conformance drivers in scripts/ (peer_batch.py, peer_xades.py, peer_ksef2.py,
peer_ksef2_xades.py): step checks, the PASS/WARN/FAIL step reporter, the record of an HTTP exchange, the
--resolve option, status polling, the FA(3) test invoice and the UPO check.

Standard library only: the ksef-client drivers run it on Python 3.11, the ksef2 ones on Python >= 3.12.
Run as `python scripts/X.py`, a driver finds it because scripts/ is then on sys.path.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import random
import re
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, NoReturn
from urllib.parse import urlparse
from xml.etree import ElementTree as ET

FA3_NS = "http://crd.gov.pl/wzor/2025/06/25/13775/"

# Formats from the OpenAPI spec (components.schemas).
KSEF_NUMBER_RE = re.compile(r"^([1-9](\d[1-9]|[1-9]\d)\d{7})-(20[2-9][0-9]|2[1-9]\d{2}|[3-9]\d{3})"
                            r"(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])-([0-9A-F]{6})-?([0-9A-F]{6})-([0-9A-F]{2})$")


# --------------------------------------------------------------------------- checks

class StepFailed(Exception):
    """A driver-side check failed; `ex` is the offending exchange, if any."""

    def __init__(self, msg: str, ex: Exchange | None = None) -> None:
        super().__init__(msg)
        self.ex = ex


def require(cond: bool, msg: str, ex: Exchange | None = None) -> None:
    if not cond:
        raise StepFailed(msg, ex)


def require_ref(value: str | None, what: str) -> None:
    """ReferenceNumber / Challenge: exactly 36 characters in the spec."""
    require(bool(value) and len(value) == 36, f"{what} {value!r} is not a 36-character reference number")


def b64sha256(data: bytes) -> str:
    """Base64 of the SHA-256 of data (the spec's invoiceHash, fileHash, x-ms-meta-hash)."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def name_attr(name: Any, oid: Any) -> str | None:
    """The first value of attribute `oid` in an X.509 name (cryptography's x509.Name), or None."""
    got = name.get_attributes_for_oid(oid)
    return str(got[0].value) if got else None


# --------------------------------------------------------------------------- exchanges

@dataclass
class Exchange:
    """One HTTP exchange as the library made it (URL before any rewriting; status 0 = transport error).
    headers / req_headers are the response / request headers (httpx.Headers); req_size and req_sha (Base64
    SHA-256) describe the request body where the transport records them."""
    method: str
    url: str
    status: int
    body: bytes
    headers: Any
    ms: float = 0.0
    req_headers: Any = None
    req_size: int = 0
    req_sha: str | None = None

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def describe(self) -> str:
        body = self.body[:700].decode("utf-8", "replace").replace("\n", " ")
        return f"{self.method} {self.url} -> HTTP {self.status}; body: {body}"


class ExchangeLog:
    """Mixin of a recording transport: `log` holds every exchange, oldest first."""
    log: list[Exchange]

    def calls(self, since: int, method: str, path_re: str = "") -> list[Exchange]:
        """The exchanges from log[since] on with this method and a URL path matching path_re."""
        rx = re.compile(path_re)
        return [e for e in self.log[since:] if e.method == method and rx.search(urlparse(e.url).path)]


def resolve_arg(v: str) -> tuple[str, tuple[str, int | None]]:
    """argparse type for --resolve HOST=ADDR[:PORT] (a ValueError makes argparse exit 2)."""
    host, sep, target = v.partition("=")
    addr, _, port = target.rpartition(":") if ":" in target else (target, "", "")
    if not sep or not host or not addr or (port and not port.isdigit()):
        raise ValueError(v)
    return host.lower(), (addr, int(port) if port else None)


# --------------------------------------------------------------------------- reporting

class StepReporter:
    """Numbers the steps and prints a PASS / WARN / FAIL line for each; the first FAIL prints
    `RESULT: FAIL ...` and exits 1. A driver subclasses it and overrides failure() to explain its
    library's exceptions. `log` is the recording transport's exchange list, if the driver has one."""

    def __init__(self, verbose: bool, log: list[Exchange] | None = None) -> None:
        self.verbose, self.log, self.n, self.warnings = verbose, [] if log is None else log, 0, 0

    def step(self, name: str, fn: Callable[[], tuple[Any, str]], ms: float | None = None) -> Any:
        """Run fn, which returns (value, one-line summary); any exception is this step's FAIL.
        ms overrides the measured duration."""
        self.n += 1
        label, mark, t0 = f"[{self.n:02d}] {name}", len(self.log), time.monotonic()
        try:
            value, summary = fn()
        except Exception as exc:  # noqa: BLE001 - every failure is reported the same way
            self._fail(label, exc, mark, t0)
        ms = (time.monotonic() - t0) * 1000 if ms is None else ms
        print(f"PASS  {label} ({ms:.0f} ms){'  ' + summary if summary else ''}", flush=True)
        return value

    def warn(self, msg: str) -> None:
        self.warnings += 1
        print(f"WARN        {msg}", flush=True)

    def failure(self, exc: Exception, mark: int) -> tuple[str, list[str], bool]:
        """For a step that raised exc: (the FAIL message, detail lines printed under it, whether --verbose
        prints the traceback). mark is len(log) before the step."""
        return str(exc), [], True

    def _fail(self, label: str, exc: Exception, mark: int, t0: float) -> NoReturn:
        msg, details, trace = self.failure(exc, mark)
        print(f"FAIL  {label} ({(time.monotonic() - t0) * 1000:.0f} ms)  {msg}", flush=True)
        for line in details:
            print(f"      {line}", flush=True)
        if trace and self.verbose:
            traceback.print_exception(exc)
        print(f"RESULT: FAIL at step {self.n} ({label.split('] ', 1)[1]}); {self.n - 1} step(s) passed", flush=True)
        sys.exit(1)


# --------------------------------------------------------------------------- polling

def poll(what: str, fetch: Callable[[], Any], pending: set[int], interval: float, attempts: int,
         done: Callable[[Any], bool] | None = None) -> tuple[Any, list[int]]:
    """Call fetch() every `interval` seconds until its status.code is 200 (and done(result), if given); a code
    in `pending` keeps polling, any other fails. Returns the last result and the codes seen (repeats collapsed)."""
    seen: list[int] = []
    for _ in range(attempts):
        last = fetch()
        code = last.status.code
        if not seen or seen[-1] != code:
            seen.append(code)
        if code == 200 and (done is None or done(last)):
            return last, seen
        if code != 200 and code not in pending:
            st = last.status
            raise StepFailed(f"{what}: terminal status {code} {getattr(st, 'description', '')!r} "
                             f"details={getattr(st, 'details', None)!r} (codes seen {seen})")
        time.sleep(interval)
    raise StepFailed(f"{what}: not finished after {attempts} polls (codes seen {seen})")


# --------------------------------------------------------------------------- invoice and UPO

def buyer_nip_for(seller: str) -> str:
    """A checksum-valid NIP different from the seller's (deterministic per seller)."""
    rng = random.Random(seller)
    while True:
        d = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(8)]
        c = sum(x * w for x, w in zip(d, (6, 5, 7, 2, 3, 4, 5, 6, 7))) % 11
        nip = "".join(map(str, d)) + str(c)
        if c != 10 and nip != seller:
            return nip


def fa3_invoice(seller: str, buyer: str, number: str, day: dt.date, system_info: str, net: int = 100,
                item: str = "Usluga testowa") -> bytes:
    """Minimal FA(3) VAT invoice P_2 = `number` of `day` from `seller` to `buyer`: one line `item`,
    `net` PLN net at 23%; <SystemInfo> names the driver."""
    created = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    vat = net * 23 / 100
    party = "<DaneIdentyfikacyjne><NIP>{}</NIP><Nazwa>{}</Nazwa></DaneIdentyfikacyjne>" \
            "<Adres><KodKraju>PL</KodKraju><AdresL1>{}</AdresL1></Adres>"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Faktura xmlns="{FA3_NS}">
  <Naglowek><KodFormularza kodSystemowy="FA (3)" wersjaSchemy="1-0E">FA</KodFormularza>
    <WariantFormularza>3</WariantFormularza><DataWytworzeniaFa>{created}</DataWytworzeniaFa>
    <SystemInfo>{system_info}</SystemInfo></Naglowek>
  <Podmiot1>{party.format(seller, "Sprzedawca Testowy Sp. z o.o.", "ul. Testowa 1, 00-001 Warszawa")}</Podmiot1>
  <Podmiot2>{party.format(buyer, "Nabywca Testowy S.A.", "ul. Przykladowa 2, 30-001 Krakow")}<JST>2</JST><GV>2</GV></Podmiot2>
  <Fa><KodWaluty>PLN</KodWaluty><P_1>{day}</P_1><P_2>{number}</P_2><P_6>{day}</P_6>
    <P_13_1>{net:.2f}</P_13_1><P_14_1>{vat:.2f}</P_14_1><P_15>{net + vat:.2f}</P_15>
    <Adnotacje><P_16>2</P_16><P_17>2</P_17><P_18>2</P_18><P_18A>2</P_18A><Zwolnienie><P_19N>1</P_19N></Zwolnienie>
      <NoweSrodkiTransportu><P_22N>1</P_22N></NoweSrodkiTransportu><P_23>2</P_23><PMarzy><P_PMarzyN>1</P_PMarzyN></PMarzy></Adnotacje>
    <RodzajFaktury>VAT</RodzajFaktury>
    <FaWiersz><NrWierszaFa>1</NrWierszaFa><P_7>{item}</P_7><P_8A>szt.</P_8A><P_8B>1</P_8B>
      <P_9A>{net:.2f}</P_9A><P_11>{net:.2f}</P_11><P_12>23</P_12></FaWiersz></Fa>
</Faktura>
""".encode("utf-8")


def check_upo(xml: bytes, ksef_number: str, where: str) -> None:
    """A UPO is well-formed XML and mentions ksef_number."""
    try:
        ET.fromstring(xml)
    except ET.ParseError as exc:
        raise StepFailed(f"{where}: not well-formed XML ({exc}): {xml[:200]!r}")
    require(ksef_number.encode() in xml, f"{where}: UPO does not mention ksefNumber {ksef_number}")
