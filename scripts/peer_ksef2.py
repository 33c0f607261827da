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
import random
import sys
import time
import traceback
from typing import Callable

from peer_common import (Exchange, ExchangeLog, StepFailed, StepReporter, b64sha256, buyer_nip_for, check_upo,
                         fa3_invoice, require, require_ref, resolve_arg)

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
DATE_TYPES = {"PermanentStorage": "permanent_storage", "Invoicing": "invoicing_date", "Issue": "issue_date"}


# --------------------------------------------------------------------------- transport

class RedirectTransport(ExchangeLog, httpx.BaseTransport):
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
                                 ms=(time.monotonic() - t0) * 1000))
        if self._verbose:
            print(f"      > {request.method} {orig} -> {resp.status_code} ({len(resp.content)} bytes)", flush=True)
        return resp


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


class Reporter(StepReporter):
    def __init__(self, transport: RedirectTransport, verbose: bool) -> None:
        super().__init__(verbose, transport.log)

    def failure(self, exc: Exception, mark: int) -> tuple[str, list[str], bool]:
        msg, ex = str(exc), getattr(exc, "ex", None)
        if not isinstance(exc, StepFailed):
            msg = f"{type(exc).__name__}: {exc}".replace("\n", " | ")
            details = getattr(exc, "details", None)  # pydantic field errors / KSeF error details
            if isinstance(exc, KSeFException) and details and str(details) not in msg:
                msg += f" | details: {details}"
            if self.log and (len(self.log) > mark or isinstance(exc, KSeFException)):
                ex = self.log[-1]
        lines = [f"exchange: {ex.describe()}"] if ex is not None else []
        return msg, lines + [f"raised at: {loc}" for loc in ksef2_frames(exc)], True


def report_calls(rep: Reporter, tr: RedirectTransport, mark: int, err: Exception | None,
                 steps: list[tuple[str, str, str, int, Callable[[list[Exchange]], str] | None]]) -> list[list[Exchange]]:
    """Report the requests one ksef2 call made (tr.log[mark:]) as steps (label, method, path regex, the spec's
    HTTP status, summary of the matching exchanges or None for their status codes). If the call raised err,
    the step of the last request made FAILs with it. Returns the exchanges matched by each step."""
    groups = [tr.calls(mark, method, rx) for _, method, rx, _, _ in steps]
    last = tr.log[-1] if len(tr.log) > mark else None
    failing = next((i for i, g in enumerate(groups) if g and g[-1] is last), 0)
    for i, (label, _, _, want, summarize) in enumerate(steps):
        def step(i=i, want=want, summarize=summarize, label=label):
            if err is not None and i == failing:
                raise err
            http_status(groups[i], want, label.split(" (")[0].split(" until")[0].split(" ->")[0])
            return None, summarize(groups[i]) if summarize else f"codes {status_codes(groups[i])}"
        rep.step(label, step, ms=sum(e.ms for e in groups[i]))
    return groups


# --------------------------------------------------------------------------- invoice

def seller_invoice(seller: str, number: str, day: dt.date) -> bytes:
    """The FA(3) invoice this driver and peer_ksef2_xades.py send: seller `seller`, one line 100.00 net at 23%."""
    return fa3_invoice(seller, buyer_nip_for(seller), number, day, "peer_ksef2.py")


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
    invoice_xml = seller_invoice(args.nip, f"PEER2/{flow_start:%Y%m%d%H%M%S}/{random.randint(1000, 9999)}", dt.date.today())
    invoice_hash = b64sha256(invoice_xml)

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
    report_calls(rep, tr, mark, auth_err, [
        ("POST /auth/challenge", "POST", r"/auth/challenge$", 200,
         lambda g: f"challenge={(g[-1].json() or {}).get('challenge')} timestampMs={(g[-1].json() or {}).get('timestampMs')}"),
        ("POST /auth/ksef-token (RSA-OAEP-SHA256 of 'token|timestampMs') -> 202", "POST", r"/auth/ksef-token$", 202,
         lambda g: f"ref={(g[-1].json() or {}).get('referenceNumber')}"),
        ("GET /auth/{ref} until 200", "GET", r"/auth/(?!challenge$|ksef-token$|token/|sessions)[^/]+$", 200, None),
        ("POST /auth/token/redeem", "POST", r"/auth/token/redeem$", 200,
         lambda g: f"accessToken validUntil={((g[-1].json() or {}).get('accessToken') or {}).get('validUntil')}"),
    ])
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
