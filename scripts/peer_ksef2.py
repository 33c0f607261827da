#!/usr/bin/env python3
"""Peer conformance driver: runs one end-to-end KSeF 2.0 flow through the third-party client
ksef2 1.1.0 (PyPI, MIT; strict pydantic models of the official OpenAPI) against a KSeF emulator.

ksef2 has no settable base URL, so an httpx transport rewrites api-test.ksef.mf.gov.pl to --base-url
and applies --resolve HOST=ADDR[:PORT] to export part / UPO URLs. It records every exchange, so a
FAIL shows the request, the response and the ksef2 source line that raised. Steps: certs, challenge,
ksef-token, auth status, redeem (one with_token() call, reported per request), open FA (3) session,
send, poll until ksefNumber, invoice UPO (open), close, session until 200 + upo.pages, session UPO,
download by ksefNumber, export, poll, parts (ksef2 verifies, decrypts, unpacks, validates
_metadata.json; the driver checks the ksefNumber and the XML bytes).

Usage:  python peer_ksef2.py --base-url http://127.0.0.1:8080 --nip 5265877635 --token '<KSeF token>' \\
            --resolve storage.ksef-emu.test=127.0.0.1
Exit codes: 0 all passed; 1 a step failed; 2 bad arguments / missing library (needs Python >= 3.12).
Only ksef2's public API is used (ksef2, ksef2.models); nothing is copied from it.
"""
from __future__ import annotations

import argparse
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
from typing import Any, Callable
from xml.etree import ElementTree as ET

try:
    import httpx
    import ksef2
    from cryptography import x509
    from ksef2 import CertificateStore, Client, Environment, KSeFException
    from ksef2.models import FormSchema, InvoicesFilter
except ImportError as exc:  # pragma: no cover - environment problem
    print(f"FAIL  setup: cannot import ksef2 ({exc}); pip install ksef2==1.1.0 (Python >= 3.12)", file=sys.stderr)
    sys.exit(2)

KSEF_HOST = httpx.URL(Environment.TEST.base_url).host  # api-test.ksef.mf.gov.pl
FA3_NS = "http://crd.gov.pl/wzor/2025/06/25/13775/"
DATE_TYPES = {"PermanentStorage": "permanent_storage", "Invoicing": "invoicing_date", "Issue": "issue_date"}


@dataclass
class Exchange:
    """One HTTP exchange as ksef2 made it (URL before rewriting; status 0 = transport error)."""
    method: str
    url: str
    status: int
    body: bytes
    headers: httpx.Headers
    ms: float = 0.0

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def describe(self) -> str:
        body = self.body[:700].decode("utf-8", "replace").replace("\n", " ")
        return f"{self.method} {self.url} -> HTTP {self.status}; body: {body}"


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


# --------------------------------------------------------------------------- transport

class RedirectTransport(httpx.BaseTransport):
    """Send ksef2's api-test.ksef.mf.gov.pl requests to --base-url, apply --resolve (like curl,
    Host header kept) to every other host, and record every exchange."""

    def __init__(self, base_url: str, resolve: dict[str, tuple[str, int | None]], verify: bool, verbose: bool) -> None:
        b = httpx.URL(base_url)
        prefix = b.path.rstrip("/")
        self._api = (b.scheme, b.host, b.port, prefix[:-3] if prefix.endswith("/v2") else prefix)
        self._resolve, self._verbose = resolve, verbose
        self._inner = httpx.HTTPTransport(verify=verify)
        self.log: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        orig, host = request.url, request.url.host.lower()
        if host == KSEF_HOST:
            scheme, h, port, prefix = self._api
            request.url = orig.copy_with(scheme=scheme, host=h, port=port, path=prefix + orig.path)
            request.headers["Host"] = request.url.netloc.decode("ascii")
        elif host in self._resolve:
            addr, port = self._resolve[host]
            request.url = orig.copy_with(host=addr, port=port or orig.port)
        t0 = time.monotonic()
        try:
            resp = self._inner.handle_request(request)
            resp.read()
        except httpx.TransportError as exc:
            self.log.append(Exchange(request.method, str(orig), 0, str(exc).encode(), httpx.Headers()))
            raise
        self.log.append(Exchange(request.method, str(orig), resp.status_code, resp.content, resp.headers,
                                 (time.monotonic() - t0) * 1000))
        if self._verbose:
            print(f"      > {request.method} {orig} -> {resp.status_code} ({len(resp.content)} bytes)", flush=True)
        return resp

    def calls(self, since: int, method: str, path_re: str) -> list[Exchange]:
        rx = re.compile(path_re)
        return [e for e in self.log[since:] if e.method == method and rx.search(httpx.URL(e.url).path)]


def resolve_arg(v: str) -> tuple[str, tuple[str, int | None]]:
    """argparse type for --resolve HOST=ADDR[:PORT] (a ValueError makes argparse exit 2)."""
    host, sep, target = v.partition("=")
    addr, _, port = target.rpartition(":") if ":" in target else (target, "", "")
    if not sep or not host or not addr or (port and not port.isdigit()):
        raise ValueError(v)
    return host.lower(), (addr, int(port) if port else None)


def http_status(calls: list[Exchange], want: int, what: str) -> None:
    """The spec lists exactly one success status per call; ksef2 itself accepts any 2xx."""
    require(bool(calls), f"ksef2 made no {what} request")
    bad = next((e for e in calls if e.status != want), None)
    require(bad is None, f"{what}: HTTP {bad.status if bad else 0}, the spec says {want}", bad)


def status_codes(calls: list[Exchange]) -> list[int]:
    """status.code values seen while polling (consecutive duplicates collapsed)."""
    seen: list[int] = []
    for e in calls:
        j = e.json()
        code = (j.get("status") or {}).get("code") if isinstance(j, dict) else None
        if code is not None and (not seen or seen[-1] != code):
            seen.append(code)
    return seen


# --------------------------------------------------------------------------- reporting

def ksef2_frames(exc: BaseException | None) -> list[str]:
    """Innermost ksef2 source line of each exception in the chain: where ksef2 rejected it."""
    out: list[str] = []
    for _ in range(8):  # the exception, its cause, the cause's cause...
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/ksef2/" in f.filename] if exc else []
        loc = [f"ksef2/{f.filename.split('/ksef2/', 1)[1]}:{f.lineno} in {f.name}: {(f.line or '').strip()}"
               for f in frames[-1:]]
        out += [x for x in loc if x not in out]
        exc = (exc.__cause__ or exc.__context__) if exc else None
    return out


class Reporter:
    def __init__(self, transport: RedirectTransport, verbose: bool) -> None:
        self.tr, self.verbose, self.n, self.warnings = transport, verbose, 0, 0

    def step(self, name: str, fn: Callable[[], tuple[Any, str]], ms: float | None = None) -> Any:
        """Run fn, which returns (value, one-line summary); ms overrides the measured duration."""
        self.n += 1
        label, mark, t0 = f"[{self.n:02d}] {name}", len(self.tr.log), time.monotonic()
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

    def _fail(self, label: str, exc: Exception, mark: int, t0: float) -> None:
        msg, ex = str(exc), getattr(exc, "ex", None)
        if not isinstance(exc, StepFailed):
            msg = f"{type(exc).__name__}: {exc}".replace("\n", " | ")
            details = getattr(exc, "details", None)  # pydantic field errors / KSeF error details
            if isinstance(exc, KSeFException) and details and str(details) not in msg:
                msg += f" | details: {details}"
            if self.tr.log and (len(self.tr.log) > mark or isinstance(exc, KSeFException)):
                ex = self.tr.log[-1]
        print(f"FAIL  {label} ({(time.monotonic() - t0) * 1000:.0f} ms)  {msg}", flush=True)
        if ex is not None:
            print(f"      exchange: {ex.describe()}", flush=True)
        for loc in ksef2_frames(exc):
            print(f"      raised at: {loc}", flush=True)
        if self.verbose:
            traceback.print_exception(exc)
        print(f"RESULT: FAIL at step {self.n} ({label.split('] ', 1)[1]}); {self.n - 1} step(s) passed", flush=True)
        sys.exit(1)


# --------------------------------------------------------------------------- invoice

def buyer_nip_for(seller: str) -> str:
    """A checksum-valid NIP different from the seller's (deterministic per seller)."""
    rng = random.Random(seller)
    while True:
        d = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(8)]
        c = sum(x * w for x, w in zip(d, (6, 5, 7, 2, 3, 4, 5, 6, 7))) % 11
        nip = "".join(map(str, d)) + str(c)
        if c != 10 and nip != seller:
            return nip


def fa3_invoice(seller: str, number: str, day: dt.date) -> bytes:
    """Minimal FA(3) VAT invoice: seller = `seller`, one line 100.00 net at 23%."""
    created = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    party = "<DaneIdentyfikacyjne><NIP>{}</NIP><Nazwa>{}</Nazwa></DaneIdentyfikacyjne>" \
            "<Adres><KodKraju>PL</KodKraju><AdresL1>{}</AdresL1></Adres>"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Faktura xmlns="{FA3_NS}">
  <Naglowek><KodFormularza kodSystemowy="FA (3)" wersjaSchemy="1-0E">FA</KodFormularza>
    <WariantFormularza>3</WariantFormularza><DataWytworzeniaFa>{created}</DataWytworzeniaFa>
    <SystemInfo>peer_ksef2.py</SystemInfo></Naglowek>
  <Podmiot1>{party.format(seller, "Sprzedawca Testowy Sp. z o.o.", "ul. Testowa 1, 00-001 Warszawa")}</Podmiot1>
  <Podmiot2>{party.format(buyer_nip_for(seller), "Nabywca Testowy S.A.", "ul. Przykladowa 2, 30-001 Krakow")}<JST>2</JST><GV>2</GV></Podmiot2>
  <Fa><KodWaluty>PLN</KodWaluty><P_1>{day}</P_1><P_2>{number}</P_2><P_6>{day}</P_6>
    <P_13_1>100.00</P_13_1><P_14_1>23.00</P_14_1><P_15>123.00</P_15>
    <Adnotacje><P_16>2</P_16><P_17>2</P_17><P_18>2</P_18><P_18A>2</P_18A><Zwolnienie><P_19N>1</P_19N></Zwolnienie>
      <NoweSrodkiTransportu><P_22N>1</P_22N></NoweSrodkiTransportu><P_23>2</P_23><PMarzy><P_PMarzyN>1</P_PMarzyN></PMarzy></Adnotacje>
    <RodzajFaktury>VAT</RodzajFaktury>
    <FaWiersz><NrWierszaFa>1</NrWierszaFa><P_7>Usluga testowa</P_7><P_8A>szt.</P_8A><P_8B>1</P_8B>
      <P_9A>100.00</P_9A><P_11>100.00</P_11><P_12>23</P_12></FaWiersz></Fa>
</Faktura>
""".encode("utf-8")


def check_upo(xml: bytes, ksef_number: str, where: str) -> None:
    try:
        ET.fromstring(xml)
    except ET.ParseError as exc:
        raise StepFailed(f"{where}: not well-formed XML ({exc}): {xml[:200]!r}")
    require(ksef_number.encode() in xml, f"{where}: UPO does not mention ksefNumber {ksef_number}")


# --------------------------------------------------------------------------- flow

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", required=True, help="emulator root, e.g. http://127.0.0.1:8080 (a trailing /v2 is ignored)")
    ap.add_argument("--nip", required=True, help="context NIP (also the seller NIP of the generated invoice)")
    ap.add_argument("--token", required=True, help="KSeF token for that NIP")
    ap.add_argument("--resolve", action="append", default=[], metavar="HOST=ADDR[:PORT]", type=resolve_arg,
                    help="route requests for HOST to ADDR (export part / UPO URLs advertised under a DNS name)")
    ap.add_argument("--compression", choices=["default", "Zip", "TarGz"], default="default")
    ap.add_argument("--date-type", choices=sorted(DATE_TYPES), default="PermanentStorage")
    ap.add_argument("--poll-interval", type=float, default=0.5)
    ap.add_argument("--max-attempts", type=int, default=120, help="poll budget = poll-interval * max-attempts")
    ap.add_argument("--timeout", type=float, default=30.0, help="HTTP timeout, seconds")
    ap.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every HTTP exchange and full tracebacks")
    args = ap.parse_args(argv)  # argparse exits 2 on bad arguments
    if not args.base_url.lower().startswith(("http://", "https://")):
        ap.error("--base-url must start with http:// or https://")

    tr = RedirectTransport(args.base_url, dict(args.resolve), verify=not args.insecure, verbose=args.verbose)
    rep = Reporter(tr, args.verbose)
    budget, every = args.poll_interval * args.max_attempts, args.poll_interval
    store = CertificateStore()
    http = httpx.Client(transport=tr, timeout=args.timeout)  # no base_url: ksef2 binds it to Environment.TEST
    client = Client(Environment.TEST, http_client=http, certificate_store=store)
    print(f"peer_ksef2: ksef2 {ksef2.__version__} against {args.base_url} (as {KSEF_HOST}) nip={args.nip}", flush=True)
    if ksef2.__version__ != "1.1.0":
        rep.warn(f"this driver was written for ksef2 1.1.0, found {ksef2.__version__}")

    flow_start = dt.datetime.now(dt.timezone.utc)
    invoice_xml = fa3_invoice(args.nip, f"PEER2/{flow_start:%Y%m%d%H%M%S}/{random.randint(1000, 9999)}", dt.date.today())
    invoice_hash = base64.b64encode(hashlib.sha256(invoice_xml).digest()).decode()

    # 1. certificates, loaded into the store that with_token()/online_session()/export() then use
    def certs():
        got = client.encryption.get_certificates()
        require(len(got) > 0, "empty certificate list")
        for c in got:
            x509.load_der_x509_certificate(base64.b64decode(c.certificate, validate=True))  # Base64 DER only
        store.load(got)
        tok, sym = store.get_valid("ksef_token_encryption"), store.get_valid("symmetric_key_encryption")
        return None, f"{len(got)} cert(s); token={tok.public_key_id} symmetric={sym.public_key_id}"
    rep.step("GET /security/public-key-certificates", certs)

    # 2. authentication: one with_token() call; each request it made is reported as a step, and the
    # step of the last request before ksef2 raised is the one that FAILs.
    mark, auth, auth_err = len(tr.log), None, None
    try:
        auth = client.authentication.with_token(ksef_token=args.token, nip=args.nip, timeout=budget, poll_interval=every)
    except Exception as exc:  # noqa: BLE001
        auth_err = exc
    auth_steps = [
        ("POST /auth/challenge", "POST", r"/auth/challenge$", 200,
         lambda j: f"challenge={j.get('challenge')} timestampMs={j.get('timestampMs')}"),
        ("POST /auth/ksef-token (RSA-OAEP-SHA256 of 'token|timestampMs') -> 202", "POST", r"/auth/ksef-token$", 202,
         lambda j: f"ref={j.get('referenceNumber')}"),
        ("GET /auth/{ref} until 200", "GET", r"/auth/(?!challenge$|ksef-token$|token/|sessions)[^/]+$", 200, None),
        ("POST /auth/token/redeem", "POST", r"/auth/token/redeem$", 200,
         lambda j: f"accessToken validUntil={(j.get('accessToken') or {}).get('validUntil')}"),
    ]
    groups = [tr.calls(mark, method, rx) for _, method, rx, _, _ in auth_steps]
    last = tr.log[-1] if len(tr.log) > mark else None
    failing = next((i for i, g in enumerate(groups) if g and g[-1] is last), 0)
    for i, (label, _, _, want, summarize) in enumerate(auth_steps):
        def auth_step(i=i, want=want, summarize=summarize, label=label):
            if auth_err is not None and i == failing:
                raise auth_err
            http_status(groups[i], want, label.split(" (")[0].split(" until")[0])
            return None, (summarize(groups[i][-1].json() or {}) if summarize else f"codes {status_codes(groups[i])}")
        rep.step(label, auth_step, ms=sum(e.ms for e in groups[i]))
    assert auth is not None

    # 3. online session
    def open_session():
        m = len(tr.log)
        s = auth.online_session(form_code=FormSchema.FA3)
        http_status(tr.calls(m, "POST", r"/sessions/online$"), 201, "POST /sessions/online")
        require_ref(s.reference_number, "session referenceNumber")
        return s, f"session={s.reference_number} validUntil={s.resume_state().valid_until}"
    session = rep.step("POST /sessions/online (FA (3) 1-0E) -> 201", open_session)

    def send():
        m = len(tr.log)
        sub = session.send_invoice(invoice_xml)
        http_status(tr.calls(m, "POST", r"/invoices$"), 202, "POST /sessions/online/{ref}/invoices")
        require_ref(sub.reference_number, "invoice referenceNumber")
        return sub, f"invoiceRef={sub.reference_number}"
    submission = rep.step("POST /sessions/online/{ref}/invoices (AES-256-CBC) -> 202", send)

    def invoice_status():
        m = len(tr.log)
        st = submission.wait(timeout=budget, poll_interval=every)  # ksef2 polls until ksefNumber is set
        require(st.status.code == 200, f"status {st.status.code} {st.status.description!r} with ksefNumber set")
        require(st.ksef_number.startswith(args.nip + "-"), f"ksefNumber {st.ksef_number!r} does not start with the seller NIP {args.nip}")
        require(st.invoice_hash == invoice_hash, f"invoiceHash {st.invoice_hash} != sent {invoice_hash}")
        codes = status_codes(tr.calls(m, "GET", r"/invoices/[^/]+$"))
        return st.ksef_number, f"codes {codes} ksefNumber={st.ksef_number}"
    ksef_number = rep.step("GET /sessions/{ref}/invoices/{invRef} until ksefNumber", invoice_status)

    def invoice_upo():
        check_upo(a := submission.download_upo(), ksef_number, "invoice UPO by reference")
        check_upo(b := session.download_invoice_upo(ksef_number=ksef_number), ksef_number, "invoice UPO by ksefNumber")
        return None, f"{len(a)} / {len(b)} bytes"
    rep.step("GET /sessions/{ref}/invoices/{invRef}/upo and .../invoices/ksef/{ksefNumber}/upo (session open)", invoice_upo)

    def close():
        m = len(tr.log)
        session.close()
        http_status(tr.calls(m, "POST", r"/close$"), 204, "POST /sessions/online/{ref}/close")
        return None, ""
    rep.step("POST /sessions/online/{ref}/close -> 204", close)

    def session_status():
        m = len(tr.log)
        st = session.wait(timeout=budget, poll_interval=every)  # ksef2 polls while code < 200
        codes = status_codes(tr.calls(m, "GET", r"/sessions/[^/]+$"))
        require(st.status.code == 200, f"terminal status {st.status.code} {st.status.description!r} (codes {codes})")
        require(st.upo is not None and len(st.upo.pages) > 0, "status 200 but no upo.pages", tr.log[-1])
        for pg in st.upo.pages:
            require_ref(pg.reference_number, "upo.pages[].referenceNumber")
        require(st.invoice_count in (None, 1), f"invoiceCount={st.invoice_count}, expected 1")
        require(st.successful_invoice_count in (None, 1), f"successfulInvoiceCount={st.successful_invoice_count}, expected 1")
        return st, f"codes {codes} upoPages={len(st.upo.pages)}"
    sstat = rep.step("GET /sessions/{ref} until 200 with upo.pages", session_status)

    def session_upo():
        pages = session.download_upo()  # GET /sessions/{ref}/upo/{page.referenceNumber}
        require(len(pages) == len(sstat.upo.pages), f"{len(pages)} page(s) downloaded, {len(sstat.upo.pages)} listed")
        for i, xml in enumerate(pages):
            check_upo(xml, ksef_number, f"session UPO page {i + 1}")
        for pg, xml in zip(sstat.upo.pages, pages):  # extra: the pre-signed downloadUrl (ksef2 never uses it)
            r = http.get(str(pg.download_url))  # no Authorization; host mapped by --resolve
            if r.status_code != 200 or r.content != xml:
                rep.warn(f"UPO downloadUrl {pg.download_url}: HTTP {r.status_code}, body differs={r.content != xml}")
        return None, f"{len(pages)} page(s), {[len(p) for p in pages]} bytes"
    rep.step("GET /sessions/{ref}/upo/{upoRef}", session_upo)

    # 4. download by KSeF number
    def download():
        got = auth.invoices.download(ksef_number)
        require(got == invoice_xml, f"downloaded {len(got)} bytes differ from the {len(invoice_xml)} bytes sent", tr.log[-1])
        h = tr.log[-1].headers.get("x-ms-meta-hash")  # optional in the spec; must match when present
        require(h in (None, invoice_hash), f"x-ms-meta-hash {h} != SHA-256 of the invoice {invoice_hash}", tr.log[-1])
        if h is None:
            rep.warn("GET /invoices/ksef: no x-ms-meta-hash header (the spec lists it)")
        return None, f"{len(got)} bytes, identical"
    rep.step("GET /invoices/ksef/{ksefNumber}", download)

    # 5. export (role seller = Subject1)
    def start_export():
        m = len(tr.log)
        filters = InvoicesFilter(role="seller", date_type=DATE_TYPES[args.date_type],
                                 date_from=flow_start - dt.timedelta(minutes=10))
        job = auth.invoices.export(filters, compression_type=None if args.compression == "default" else args.compression)
        http_status(tr.calls(m, "POST", r"/invoices/exports$"), 201, "POST /invoices/exports")
        require_ref(job.reference_number, "export referenceNumber")
        return job, f"export={job.reference_number}"
    job = rep.step(f"POST /invoices/exports ({args.date_type}, from = start - 10 min) -> 201", start_export)

    def export_status():
        m, deadline = len(tr.log), time.monotonic() + budget
        while (st := job.get_status()).status.code < 200:  # ksef2's rule (ExportJob): pending while < 200
            require(time.monotonic() < deadline, f"export not finished after {budget:.0f}s", tr.log[-1])
            time.sleep(every)
        codes = status_codes(tr.calls(m, "GET", r"/invoices/exports/[^/]+$"))
        require(st.status.code == 200, f"terminal status {st.status.code} {st.status.description!r} (codes {codes})")
        p = st.package
        require(p is not None, "status 200 but no package", tr.log[-1])
        require(p.invoice_count >= 1 and len(p.parts) >= 1, f"invoiceCount={p.invoice_count} parts={len(p.parts)}")
        return p, (f"codes {codes} invoiceCount={p.invoice_count} parts={len(p.parts)} "
                   f"compression={p.compression_type} truncated={p.is_truncated}")
    package = rep.step("GET /invoices/exports/{ref} until 200", export_status)

    def parts():
        result = job.wait(timeout=budget, poll_interval=every)  # download, verify sizes/hashes, decrypt, join
        meta = result.metadata  # every _metadata.json entry validated as a full InvoiceMetadata
        require(meta is not None, "package has no _metadata.json")
        require(any(x.ksef_number == ksef_number for x in meta), f"_metadata.json has no entry with ksefNumber {ksef_number}")
        files = dict(result.invoices())
        require(ksef_number in files, f"package has no {ksef_number}.xml (files: {sorted(files)[:5]})")
        require(files[ksef_number] == invoice_xml, f"{ksef_number}.xml differs from the invoice sent")
        hosts = sorted({httpx.URL(str(pt.url)).host for pt in package.parts})
        return None, (f"{len(package.parts)} part(s) from {hosts}, {len(result.archive)} bytes archive, "
                      f"{len(files)} xml file(s), _metadata.json lists {len(meta)}; {ksef_number}.xml identical")
    rep.step("GET part URLs -> verify sizes/hashes -> AES-256-CBC decrypt -> unpack -> _metadata.json", parts)

    client.close()
    http.close()
    print(f"RESULT: PASS, {rep.n} steps, {rep.warnings} warning(s); ksefNumber={ksef_number}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
