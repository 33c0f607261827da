#!/usr/bin/env python3
"""Peer conformance driver for the KSeF 2.0 *batch* session: runs one batch end to end through the
third-party client ksef-client 0.20.0 (PyPI, MIT) against a base URL (our emulator or real KSeF TEST).

It builds --invoices distinct FA(3) invoices for the seller --nip (unique P_2 per run) plus, with
--with-bad-invoice (the default), one *.xml file that is not XML at all; packs them flat into a Zip
(or TarGz) with ksef-client's own packer; opens a batch session with the archive split into several
parts; PUTs the parts to the pre-signed URLs; closes; polls the session to 200; lists the session's
invoices (every good one 200 + ksefNumber + invoiceFileName, the bad one 430); downloads the
collective UPO page(s) and checks every good ksefNumber is in them. Each step prints PASS/WARN/FAIL;
the first FAIL prints the last HTTP exchange and exits 1.

Steps and the ksef-client calls behind them:
  local    build_zip / build_tar_gz (ksef_client.utils.zip_utils), FA(3) XSD pre-check (optional)
  certs    client.security.get_public_key_certificate(s)        GET  /security/public-key-certificates
  auth     client.auth.get_challenge / submit_ksef_token_auth / get_auth_status / redeem_token
  open     --part-size library: BatchSessionWorkflow.open_session (ksef-client's fixed 100 MB parts,
           so a small batch is ONE part);  --part-size auto|N (default auto = 3 parts):
           build_encryption_data + encrypt_batch_parts(max_part_size=N) + client.sessions.open_batch_session,
           then BatchSessionState.from_runtime + BatchSessionHandle.from_state  POST /sessions/batch -> 201
  upload   BatchSessionHandle.upload_parts (library) or BatchUploadHelper.upload_parts (auto|N)
           <method> <partUploadRequests[].url> with its headers, no Authorization -> 201
  status   handle.get_status()                                    GET  /sessions/{ref} -> 100 (before close)
  close    handle.close()                                         POST /sessions/batch/{ref}/close -> 204
  session  handle.get_status(), polled (100/150 pending)          GET  /sessions/{ref} until 200 + upo.pages
  invoices handle.list_invoices(page_size, continuation_token)    GET  /sessions/{ref}/invoices (all pages)
  failed   handle.list_failed_invoices(...)                       GET  /sessions/{ref}/invoices/failed
  upo      handle.get_upo(page.referenceNumber)                   GET  /sessions/{ref}/upo/{upoRef}
           client.http_client.request(GET, page.downloadUrl, skip_auth=True)  (pre-signed, no token)
  download client.invoices.get_invoice_bytes(ksefNumber)          GET  /invoices/ksef/{ksefNumber} (bytes equal)

Usage (from the repository root, with the emulator started with
--public-url http://storage.ksef-emu.test:{port}):
  /root/.cache/ksef-target/peerclients/bin/python scripts/peer_batch.py --base-url http://127.0.0.1:8080 \\
      --nip 5265877635 --token '<KSeF token>' --resolve storage.ksef-emu.test=127.0.0.1
  add e.g. --compression TarGz, --invoices 12 --page-size 10 (paging), --parallelism 3,
  --part-size library (single part, the pure workflow path), --no-with-bad-invoice.

Exit codes: 0 all passed; 1 a step failed; 2 bad arguments / missing library.
Only ksef-client's public API is used (plus swapping its httpx client for a recording transport that
honours --resolve); nothing is copied from it. Imports nothing from ../shared; the helpers it shares with the
other drivers are in scripts/peer_common.py.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import ipaddress
import json
import math
import random
import sys
import traceback
from typing import Any, Callable
from urllib.parse import urlparse
from xml.etree import ElementTree as ET

from peer_common import (KSEF_NUMBER_RE, Exchange, ExchangeLog, StepFailed, StepReporter, b64sha256,
                         buyer_nip_for, fa3_invoice, poll, require, require_ref, resolve_arg)

try:
    import httpx
    from ksef_client import KsefClient, KsefClientOptions
    from ksef_client import models as m
    from ksef_client.exceptions import KsefApiError, KsefHttpError
    from ksef_client.services.auth import build_ksef_token_auth_request, encrypt_ksef_token
    from ksef_client.services.batch import encrypt_batch_parts
    from ksef_client.services.crypto import build_encryption_data, sha256_base64
    from ksef_client.services.sessions import BatchSessionHandle, BatchSessionState
    from ksef_client.services.workflows import BatchSessionWorkflow, BatchUploadHelper
    from ksef_client.utils.zip_utils import build_tar_gz, build_zip, untar_gz_bytes_safe, unzip_bytes_safe
except ImportError as exc:  # pragma: no cover - environment problem
    print(f"FAIL  setup: cannot import ksef-client ({exc}); pip install ksef-client==0.20.0", file=sys.stderr)
    sys.exit(2)

FORM_CODE = m.FormCode(system_code="FA (3)", schema_version="1-0E", value="FA")
PENDING_AUTH = {100}
PENDING_BATCH = {100, 150}  # 100 started, 150 processing (spec §6; no 170 for batch)
MAX_PART = 100_000_000      # spec: part <= 100 MB before encryption
BAD_FILE = b"this is not XML: <Faktura><P_2>broken</Faktura\n"


# --------------------------------------------------------------------------- transport

class RecordingTransport(ExchangeLog, httpx.BaseTransport):
    """curl --resolve for httpx (requests to HOST go to ADDR[:PORT], Host header kept) that also
    records every exchange, so a FAIL can show what was sent and answered.

    ksef-client refuses pre-signed URLs on localhost/loopback (SSRF guard, any setting), so the
    emulator advertises part/UPO URLs under a DNS name; this maps the name back without /etc/hosts.
    """

    def __init__(self, mapping: dict[str, tuple[str, int | None]], verify: bool, verbose: bool) -> None:
        self._inner = httpx.HTTPTransport(verify=verify)
        self._map, self._verbose = mapping, verbose
        self.log: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        orig = str(request.url)
        target = self._map.get(request.url.host.lower())
        if target is not None:
            addr, port = target
            request.url = request.url.copy_with(host=addr, port=port if port else request.url.port)
        content = request.read() if request.method in ("PUT", "POST") else b""
        req_sha = b64sha256(content) if request.method == "PUT" else None
        try:
            resp = self._inner.handle_request(request)
            resp.read()
        except httpx.TransportError as exc:
            self.log.append(Exchange(request.method, orig, 0, str(exc).encode(), httpx.Headers(),
                                     req_headers=request.headers, req_size=len(content), req_sha=req_sha))
            raise
        self.log.append(Exchange(request.method, orig, resp.status_code, resp.content, resp.headers,
                                 req_headers=request.headers, req_size=len(content), req_sha=req_sha))
        if self._verbose:
            print(f"      > {request.method} {orig} -> {resp.status_code} ({len(resp.content)} bytes)", flush=True)
        return resp

    def close(self) -> None:
        self._inner.close()


def parse_resolve(values: list[str]) -> dict[str, tuple[str, int | None]]:
    out: dict[str, tuple[str, int | None]] = {}
    for v in values:
        try:
            host, target = resolve_arg(v)
        except ValueError:
            raise SystemExit(f"bad --resolve {v!r}; expected HOST=ADDR[:PORT]") from None
        out[host] = target
    return out


def is_loopback_host(url: str) -> bool:
    host = (urlparse(url).hostname or "").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


# --------------------------------------------------------------------------- reporting

class Reporter(StepReporter):
    def __init__(self, transport: RecordingTransport, verbose: bool) -> None:
        super().__init__(verbose, transport.log)

    def failure(self, exc: Exception, mark: int) -> tuple[str, list[str], bool]:
        if isinstance(exc, StepFailed):
            msg = str(exc)
        elif isinstance(exc, KsefApiError):
            body = json.dumps(exc.response_body, ensure_ascii=False)[:800] if exc.response_body is not None else ""
            msg = f"HTTP {exc.status_code} API error: {body}"
        elif isinstance(exc, KsefHttpError):
            kind = "connection error" if exc.status_code == 0 else f"HTTP {exc.status_code}"
            msg = f"{kind}: {exc}"
        else:  # ksef-client raised on a malformed response (TypeError = missing required field), URL guard...
            msg = "".join(traceback.format_exception_only(type(exc), exc)).strip().replace("\n", " | ")
        return msg, ([f"exchange: {self.log[-1].describe()}"] if len(self.log) > mark else []), True


# --------------------------------------------------------------------------- invoices

def nip_checksum_ok(nip: str) -> bool:
    w = [6, 5, 7, 2, 3, 4, 5, 6, 7]
    if len(nip) != 10 or not nip.isdigit():
        return False
    c = sum(int(d) * x for d, x in zip(nip[:9], w)) % 11
    return c != 10 and c == int(nip[9])


def xsd_precheck(xml: bytes, rep: Reporter) -> bool:
    """Validate against the FA(3) XSD shipped with ksef-client; False if the check is unavailable."""
    try:
        from ksef_client.documents.fa3.xml import validate_fa3_xml_xsd
    except Exception as exc:  # lxml missing or API changed
        rep.warn(f"local FA(3) XSD pre-check skipped ({type(exc).__name__}: {exc})")
        return False
    try:
        validate_fa3_xml_xsd(xml)
    except ImportError as exc:
        rep.warn(f"local FA(3) XSD pre-check skipped ({exc})")
        return False
    except Exception as exc:
        raise StepFailed(f"invoice does not validate against the FA(3) XSD shipped with ksef-client: {exc}")
    return True


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def upo_documents(xml: bytes, where: str) -> list[str]:
    """NumerKSeFDokumentu of every Dokument in a UPO (namespace-agnostic, spec §7)."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise StepFailed(f"{where}: not well-formed XML ({exc}): {xml[:200]!r}")
    out = []
    for el in root.iter():
        if local_name(el.tag) == "Dokument":
            nums = [c.text or "" for c in el if local_name(c.tag) == "NumerKSeFDokumentu"]
            require(len(nums) == 1, f"{where}: a Dokument without exactly one NumerKSeFDokumentu")
            out.append(nums[0].strip())
    return out


# --------------------------------------------------------------------------- arguments

def part_size_arg(v: str) -> str | int:
    if v in ("auto", "library"):
        return v
    if not v.isdigit() or not 0 < int(v) <= MAX_PART:
        raise argparse.ArgumentTypeError(f"expected auto, library or 1..{MAX_PART}, got {v!r}")
    return int(v)


# --------------------------------------------------------------------------- flow

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", required=True, help="API root, e.g. http://127.0.0.1:8080 (/v2 is appended unless present)")
    ap.add_argument("--nip", required=True, help="context NIP (also the seller NIP of the generated invoices)")
    ap.add_argument("--token", required=True, help="KSeF token for that NIP")
    ap.add_argument("--invoices", type=int, default=3, help="number of good FA(3) invoices in the batch (default 3)")
    ap.add_argument("--with-bad-invoice", action=argparse.BooleanOptionalAction, default=True,
                    help="add one *.xml file that is not XML (expected: invoice status 430, session still 200)")
    ap.add_argument("--compression", choices=["Zip", "TarGz"], default="Zip", help="batchFile.compressionType")
    ap.add_argument("--part-size", type=part_size_arg, default="auto", metavar="auto|library|BYTES",
                    help="plaintext part size: auto = split the archive into 3 parts (default); BYTES = that size; "
                         "library = BatchSessionWorkflow.open_session with ksef-client's fixed 100 MB (one part)")
    ap.add_argument("--parallelism", type=int, default=1, help="concurrent part PUTs (ksef-client thread pool)")
    ap.add_argument("--page-size", type=int, default=10, help="pageSize for the invoice listings (spec: 10..1000)")
    ap.add_argument("--poll-interval", type=float, default=0.5)
    ap.add_argument("--max-attempts", type=int, default=120)
    ap.add_argument("--timeout", type=float, default=30.0, help="HTTP timeout, seconds")
    ap.add_argument("--resolve", action="append", default=[], metavar="HOST=ADDR[:PORT]",
                    help="route requests for HOST to ADDR (pre-signed part / UPO URLs advertised under a DNS name)")
    ap.add_argument("--skip-xsd", action="store_true", help="skip the local FA(3) XSD pre-check")
    ap.add_argument("--skip-download", action="store_true", help="skip GET /invoices/ksef/{ksefNumber} at the end")
    ap.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every HTTP exchange and full tracebacks")
    args = ap.parse_args(argv)  # argparse exits 2 on bad arguments
    if not 1 <= args.invoices <= 10_000 - int(args.with_bad_invoice):
        ap.error("--invoices must be 1..10000 (with the bad file, 1..9999)")
    if args.parallelism < 1:
        ap.error("--parallelism must be >= 1")
    if not 10 <= args.page_size <= 1000:
        ap.error("--page-size must be 10..1000")

    resolve = parse_resolve(args.resolve)
    tr = RecordingTransport(resolve, verify=not args.insecure, verbose=args.verbose)
    rep = Reporter(tr, args.verbose)
    if not nip_checksum_ok(args.nip):
        rep.warn(f"NIP {args.nip} has an invalid checksum; real KSeF would reject it")

    options = KsefClientOptions(
        base_url=args.base_url,
        timeout_seconds=args.timeout,
        verify_ssl=not args.insecure,
        # An emulator serves pre-signed URLs over plain http; real KSeF uses https blobs.
        strict_presigned_url_validation=args.base_url.lower().startswith("https://"),
        allow_private_network_presigned_urls=True,
        system_warning_handler=lambda w: rep.warn(f"X-System-Warning: {w}"),
    )
    client = KsefClient(options)
    # Swap the library's httpx client for one with the recording / --resolve transport (same settings).
    http = client.http_client
    old = http._client  # noqa: SLF001 - test harness
    http._client = httpx.Client(timeout=options.timeout_seconds, follow_redirects=False, transport=tr)
    old.close()
    print(f"peer_batch: ksef-client against {options.normalized_base_url()} nip={args.nip} invoices={args.invoices}"
          f"{'+1 bad' if args.with_bad_invoice else ''} compression={args.compression} part-size={args.part_size}",
          flush=True)

    # 0. local: invoices and archive ---------------------------------------------------------
    run_id = f"{dt.datetime.now(dt.timezone.utc):%Y%m%d%H%M%S}-{random.randint(1000, 9999)}"
    today, buyer = dt.date.today(), buyer_nip_for(args.nip)
    good: dict[str, tuple[str, bytes]] = {}  # file name -> (P_2, xml)
    for i in range(1, args.invoices + 1):
        number = f"PEER-BATCH/{run_id}/{i}"
        good[f"invoice-{i:03d}.xml"] = (number, fa3_invoice(args.nip, buyer, number, today, "ksef-emulator peer_batch.py",
                                                            net=100 + i, item="Usluga testowa (batch)"))
    bad_name = f"invoice-{args.invoices + 1:03d}-not-xml.xml" if args.with_bad_invoice else None
    files: dict[str, bytes] = {}
    for idx, (name, (_, xml)) in enumerate(good.items()):
        files[name] = xml
        if bad_name and idx == 0:  # the bad file goes second: processing must go on after it
            files[bad_name] = BAD_FILE

    if not args.skip_xsd:
        def xsd():
            checked = sum(xsd_precheck(xml, rep) for _, xml in good.values())
            if bad_name:
                try:
                    ET.fromstring(BAD_FILE)
                    raise StepFailed("the bad file parses as XML")
                except ET.ParseError:
                    pass
            return None, f"{checked}/{len(good)} invoice(s) valid" + (f"; {bad_name} is not well-formed" if bad_name else "")
        rep.step("local FA(3) XSD pre-check of the invoices", xsd)

    compression = m.CompressionType(args.compression)

    def pack():
        archive = build_zip(files) if compression is m.CompressionType.ZIP else build_tar_gz(files)
        back = unzip_bytes_safe(archive) if compression is m.CompressionType.ZIP else untar_gz_bytes_safe(archive)
        require(back == files, f"archive round trip differs: {sorted(back)} vs {sorted(files)}")
        require(all("/" not in n and n.endswith(".xml") for n in back), f"archive is not flat *.xml: {sorted(back)}")
        return archive, f"{len(files)} file(s) {list(files)} -> {args.compression} {len(archive)} bytes"
    archive = rep.step(f"local: pack {args.compression} (ksef_client.utils.zip_utils)", pack)
    if args.part_size == "library":
        part_size = None
    elif args.part_size == "auto":
        part_size = max(1, math.ceil(len(archive) / 3))
    else:
        part_size = int(args.part_size)

    # 1. public key certificates -------------------------------------------------------------
    def get_certs():
        certs = client.security.get_public_key_certificates()
        require(len(certs) > 0, "empty certificate list")
        tok = client.security.get_public_key_certificate(m.PublicKeyCertificateUsage.KSEFTOKENENCRYPTION)
        sym = client.security.get_public_key_certificate(m.PublicKeyCertificateUsage.SYMMETRICKEYENCRYPTION)
        for c in (tok, sym):
            require(bool(c.public_key_id), f"certificate {c.certificate_id} has no publicKeyId")
        return (tok, sym), f"{len(certs)} cert(s); token={tok.public_key_id} symmetric={sym.public_key_id}"
    tok_cert, sym_cert = rep.step("GET /security/public-key-certificates", get_certs)

    # 2. authentication with the KSeF token (as peer_flow.py) --------------------------------
    def challenge():
        ch = client.auth.get_challenge()
        require_ref(ch.challenge, "challenge")
        require(isinstance(ch.timestamp_ms, int) and ch.timestamp_ms > 0, f"bad timestampMs {ch.timestamp_ms!r}")
        return ch, f"challenge={ch.challenge} timestampMs={ch.timestamp_ms}"
    ch = rep.step("POST /auth/challenge", challenge)

    def ksef_token_auth():
        enc = encrypt_ksef_token(public_certificate=tok_cert.certificate, token=args.token,
                                 timestamp_ms=ch.timestamp_ms, method="rsa")
        req = build_ksef_token_auth_request(challenge=ch.challenge, context_identifier_type="nip",
                                            context_identifier_value=args.nip, encrypted_token_base64=enc,
                                            public_key_id=tok_cert.public_key_id)
        init = client.auth.submit_ksef_token_auth(req)
        require(init is not None, "empty 202 body")
        require_ref(init.reference_number, "auth referenceNumber")
        require(bool(init.authentication_token.token), "no authenticationToken.token")
        return init, f"ref={init.reference_number}"
    init = rep.step("POST /auth/ksef-token (RSA-OAEP-SHA256 of 'token|timestampMs') -> 202", ksef_token_auth)
    auth_token = init.authentication_token.token

    def auth_status():
        st, seen = poll("auth status", lambda: client.auth.get_auth_status(init.reference_number, auth_token),
                        PENDING_AUTH, args.poll_interval, args.max_attempts)
        return st, f"codes {seen}"
    rep.step("GET /auth/{ref} until 200", auth_status)

    def redeem():
        toks = client.auth.redeem_token(auth_token)
        require(bool(toks.access_token.token), "missing accessToken")
        return toks.access_token.token, f"accessToken validUntil={toks.access_token.valid_until}"
    access = rep.step("POST /auth/token/redeem", redeem)

    # 3. open the batch session --------------------------------------------------------------
    uploader = BatchUploadHelper(client.http_client)
    encrypted_parts: list[bytes] = []  # only for the auto|N path; the workflow keeps its own

    def open_session():
        mark = len(tr.log)
        if part_size is None:  # the library's own one-call path (parts of at most 100 MB)
            wf = BatchSessionWorkflow(client.sessions, client.http_client)
            handle = wf.open_session(form_code=FORM_CODE,
                                     zip_bytes=archive if compression is m.CompressionType.ZIP else None,
                                     archive_bytes=archive if compression is m.CompressionType.TARGZ else None,
                                     compression_type=compression, public_certificate=sym_cert.certificate,
                                     public_key_id=sym_cert.public_key_id, access_token=access)
        else:  # what BatchSessionWorkflow.open_session does, with a smaller max_part_size
            enc = build_encryption_data(sym_cert.certificate, public_key_id=sym_cert.public_key_id)
            parts, info = encrypt_batch_parts(archive, enc.key, enc.iv, max_part_size=part_size)
            info = dataclasses.replace(info, compression_type=compression)
            resp = client.sessions.open_batch_session(
                m.OpenBatchSessionRequest(form_code=FORM_CODE, batch_file=info, encryption=enc.encryption_info),
                access_token=access)
            state = BatchSessionState.from_runtime(reference_number=resp.reference_number, form_code=FORM_CODE,
                                                   batch_file=info, part_upload_requests=resp.part_upload_requests,
                                                   encryption_data=enc, upo_v43=False, offline_mode=None)
            handle = BatchSessionHandle.from_state(state, sessions_client=client.sessions, uploader=uploader,
                                                   access_token=access)
            encrypted_parts.extend(parts)
        posts = tr.calls(mark, "POST", r"/sessions/batch$")
        require(len(posts) == 1 and posts[0].status == 201, "POST /sessions/batch: expected one 201")
        require_ref(handle.reference_number, "batch session referenceNumber")
        if "-SB-" not in handle.reference_number:
            rep.warn(f"batch session referenceNumber {handle.reference_number} has no -SB- (real KSeF's batch marker)")
        bf, reqs = handle.batch_file, handle.part_upload_requests
        require(bf.file_size == len(archive) and bf.file_hash == b64sha256(archive), "batchFile size/hash != archive")
        ordinals = sorted(r.ordinal_number for r in reqs)
        require(ordinals == [p.ordinal_number for p in bf.file_parts],
                f"partUploadRequests ordinals {ordinals} != fileParts {[p.ordinal_number for p in bf.file_parts]}")
        for r in reqs:
            require(r.method.upper() == "PUT", f"part {r.ordinal_number}: method {r.method!r}, expected PUT")
            require(r.url.startswith(("http://", "https://")), f"part {r.ordinal_number}: url {r.url!r} is not absolute")
            require(not is_loopback_host(r.url),
                    f"part {r.ordinal_number}: url {r.url} is on localhost/loopback; ksef-client refuses such "
                    "pre-signed URLs. Advertise them under a DNS name (--public-url) and pass --resolve NAME=127.0.0.1")
            hdrs = {k.lower(): v for k, v in (r.headers or {}).items()}
            require(all(isinstance(v, str) for v in hdrs.values()), f"part {r.ordinal_number}: non-string header value {hdrs}")
            require(hdrs.get("x-ms-blob-type") == "BlockBlob", f"part {r.ordinal_number}: headers {r.headers}, "
                    "expected x-ms-blob-type: BlockBlob")
            require("authorization" not in hdrs, f"part {r.ordinal_number}: headers carry Authorization")
        hosts = sorted({urlparse(r.url).netloc for r in reqs})
        return handle, (f"session={handle.reference_number} parts={len(reqs)} sizes={[p.file_size for p in bf.file_parts]} "
                        f"archive={bf.file_size} B hosts={hosts}")
    open_label = ("BatchSessionWorkflow.open_session" if part_size is None
                  else f"encrypt_batch_parts(max_part_size={part_size}) + open_batch_session")
    session = rep.step(f"POST /sessions/batch ({args.compression}, {open_label}) -> 201", open_session)
    sref = session.reference_number
    n_parts = len(session.part_upload_requests)
    if n_parts < 2 and part_size is not None:
        rep.warn(f"the archive went in {n_parts} part; multi-part upload not exercised")

    # 4. upload ------------------------------------------------------------------------------
    def upload():
        mark = len(tr.log)
        try:
            if part_size is None:
                session.upload_parts(parallelism=args.parallelism)
            else:
                uploader.upload_parts(session.part_upload_requests, encrypted_parts, parallelism=args.parallelism)
        except KsefHttpError as exc:
            if exc.status_code != 0:
                raise
            hosts = sorted({urlparse(r.url).hostname or "" for r in session.part_upload_requests} - set(resolve))
            raise StepFailed(f"connection error: {exc}" + (f"; map the part host with --resolve {hosts[0]}=127.0.0.1"
                                                          if hosts else ""))
        by_url = {str(httpx.URL(r.url)): r for r in session.part_upload_requests}
        puts = [e for e in tr.log[mark:] if e.url in by_url]
        require(len(puts) == n_parts, f"{len(puts)} upload request(s) made, {n_parts} part(s) declared")
        declared = {p.ordinal_number: p for p in session.batch_file.file_parts}
        codes = []
        for e in sorted(puts, key=lambda x: by_url[x.url].ordinal_number):
            o = by_url[e.url].ordinal_number
            codes.append(e.status)
            require("authorization" not in e.req_headers, f"part {o}: PUT carried an Authorization header")
            require(e.req_headers.get("x-ms-blob-type") == "BlockBlob", f"part {o}: PUT without x-ms-blob-type")
            require(e.req_size == declared[o].file_size and e.req_sha == declared[o].file_hash,
                    f"part {o}: sent {e.req_size} B, declared {declared[o].file_size} B (or hash differs)")
            if e.status != 201:  # ksef-client accepts 200 or 201; the spec documents 201
                rep.warn(f"part {o}: PUT answered {e.status}, the spec says 201")
        tally = ", ".join(f"{c} x{codes.count(c)}" for c in sorted(set(codes)))
        return None, f"{len(puts)} {session.part_upload_requests[0].method}(s) -> {tally}, parallelism={args.parallelism}"
    rep.step("PUT parts to partUploadRequests[].url (no Authorization) -> 201", upload)

    def before_close():
        st = session.get_status()
        require(st.status.code == 100, f"status {st.status.code} {st.status.description!r}, expected 100 before close")
        require(not (st.upo and st.upo.pages), "upo.pages present before close")
        return None, f"status 100 {st.status.description!r}"
    rep.step("GET /sessions/{ref} before close -> 100", before_close)

    def close():
        mark = len(tr.log)
        session.close()
        closes = tr.calls(mark, "POST", r"/sessions/batch/[^/]+/close$")
        require([e.status for e in closes] == [204], f"close answered {[e.status for e in closes]}, expected [204]")
        return None, ""
    rep.step("POST /sessions/batch/{ref}/close -> 204", close)

    # 5. processing --------------------------------------------------------------------------
    bad = 1 if bad_name else 0

    def session_status():
        st, seen = poll("session status", session.get_status, PENDING_BATCH, args.poll_interval, args.max_attempts,
                        done=lambda s: bool(s.upo and s.upo.pages))
        for pg in st.upo.pages:
            require_ref(pg.reference_number, "upo.pages[].referenceNumber")
        require(st.successful_invoice_count == args.invoices,
                f"successfulInvoiceCount={st.successful_invoice_count}, expected {args.invoices}")
        if bad:
            require(st.failed_invoice_count == 1, f"failedInvoiceCount={st.failed_invoice_count}, expected 1")
        else:
            require(st.failed_invoice_count in (None, 0), f"failedInvoiceCount={st.failed_invoice_count}, expected 0")
        require(st.invoice_count in (None, args.invoices + bad),
                f"invoiceCount={st.invoice_count}, expected {args.invoices + bad}")
        if st.invoice_count is None:
            rep.warn("session status has no invoiceCount")
        return st, (f"codes {seen} invoiceCount={st.invoice_count} successful={st.successful_invoice_count} "
                    f"failed={st.failed_invoice_count} upoPages={len(st.upo.pages)}")
    sstat = rep.step("GET /sessions/{ref} until 200 with upo.pages", session_status)

    def list_all(fetch: Callable[..., Any]) -> tuple[list[Any], int]:
        out, token, pages, seen_tokens = [], None, 0, set()
        while True:
            page = fetch(page_size=args.page_size, continuation_token=token)
            pages += 1
            require(len(page.invoices) <= args.page_size, f"page of {len(page.invoices)} > pageSize {args.page_size}")
            out.extend(page.invoices)
            token = page.continuation_token
            if not token:
                return out, pages
            require(token not in seen_tokens and pages < 1000, "continuationToken repeats")
            seen_tokens.add(token)

    ksef_numbers: dict[str, str] = {}  # file name -> ksefNumber

    def invoices():
        got, pages = list_all(session.list_invoices)
        require(len(got) == args.invoices + bad, f"{len(got)} invoice(s) listed, expected {args.invoices + bad}")
        for inv in got:  # spec-required fields (ksef-client's model leaves them optional)
            for fld in ("ordinal_number", "reference_number", "invoice_hash", "invoicing_date"):
                require(getattr(inv, fld) is not None, f"invoice {inv.invoice_file_name}: no {fld}")
            require_ref(inv.reference_number, f"invoice {inv.invoice_file_name} referenceNumber")
        require(len({i.ordinal_number for i in got}) == len(got), "ordinalNumber repeats")
        require(len({i.reference_number for i in got}) == len(got), "referenceNumber repeats")
        by_name = {i.invoice_file_name: i for i in got}
        require(set(by_name) == set(files), f"invoiceFileName values {sorted(map(str, by_name))} != archive {sorted(files)}")
        for name, (number, xml) in good.items():
            inv = by_name[name]
            require(inv.status.code == 200, f"{name}: status {inv.status.code} {inv.status.description!r} "
                                            f"details={inv.status.details}")
            require(bool(inv.ksef_number) and bool(KSEF_NUMBER_RE.match(inv.ksef_number)),
                    f"{name}: ksefNumber {inv.ksef_number!r} missing or not in the spec format")
            require(inv.ksef_number.startswith(args.nip + "-"), f"{name}: ksefNumber {inv.ksef_number} not for NIP {args.nip}")
            require(inv.invoice_hash == sha256_base64(xml), f"{name}: invoiceHash {inv.invoice_hash} != SHA-256 of the file")
            if inv.invoice_number is None:
                rep.warn(f"{name}: no invoiceNumber")
            else:
                require(inv.invoice_number == number, f"{name}: invoiceNumber {inv.invoice_number!r} != P_2 {number!r}")
            require(inv.acquisition_date is not None, f"{name}: status 200 but no acquisitionDate")
            ksef_numbers[name] = inv.ksef_number
        require(len(set(ksef_numbers.values())) == len(ksef_numbers), "ksefNumber repeats")
        note = ""
        if bad_name:
            inv = by_name[bad_name]
            require(400 <= inv.status.code < 500, f"{bad_name}: status {inv.status.code} {inv.status.description!r}, "
                                                  "expected 430 (a 4xx failure)")
            require(not inv.ksef_number, f"{bad_name}: failed but has ksefNumber {inv.ksef_number}")
            if inv.status.code != 430:
                rep.warn(f"{bad_name}: status {inv.status.code} {inv.status.description!r}; the spec's code for an "
                         "invalid XML file is 430")
            if inv.invoice_hash != sha256_base64(BAD_FILE):
                rep.warn(f"{bad_name}: invoiceHash {inv.invoice_hash} != SHA-256 of the file")
            note = f"; {bad_name}: {inv.status.code} {inv.status.description!r} details={inv.status.details}"
        return got, f"{len(got)} invoice(s) in {pages} page(s){note}"
    rep.step("GET /sessions/{ref}/invoices (all pages): good 200 + ksefNumber + invoiceFileName", invoices)

    def failed():
        got, pages = list_all(session.list_failed_invoices)
        names = sorted(str(i.invoice_file_name) for i in got)
        require(names == ([bad_name] if bad_name else []), f"failed invoices {names}, expected {[bad_name] if bad_name else []}")
        return None, f"{len(got)} failed invoice(s) {names}"
    rep.step("GET /sessions/{ref}/invoices/failed", failed)

    # 6. collective UPO ----------------------------------------------------------------------
    upo_pages: list[bytes] = []

    def session_upo():
        listed: list[str] = []
        for pg in sstat.upo.pages:
            mark = len(tr.log)
            xml = session.get_upo(pg.reference_number)
            where = f"UPO page {pg.reference_number}"
            require(len(xml) > 0, f"{where}: empty body")
            docs = upo_documents(xml, where)
            listed.extend(docs)
            h = tr.log[-1].headers.get("x-ms-meta-hash") if len(tr.log) > mark else None
            if h is None:
                rep.warn(f"{where}: no x-ms-meta-hash header (the spec lists it)")
            else:
                require(h == b64sha256(xml), f"{where}: x-ms-meta-hash does not match the body")
            upo_pages.append(xml)
        for name, num in ksef_numbers.items():
            require(any(num.encode() in x for x in upo_pages), f"{name}: ksefNumber {num} is in no UPO page")
        require(sorted(listed) == sorted(ksef_numbers.values()),
                f"UPO Dokument/NumerKSeFDokumentu {sorted(listed)} != the good invoices' {sorted(ksef_numbers.values())}")
        return None, f"{len(upo_pages)} page(s) {[len(x) for x in upo_pages]} bytes, {len(listed)} Dokument(s)"
    rep.step("GET /sessions/{ref}/upo/{upoRef}: every good ksefNumber listed", session_upo)

    def upo_download_url():
        for pg, xml in zip(sstat.upo.pages, upo_pages):
            require(not is_loopback_host(pg.download_url),
                    f"downloadUrl {pg.download_url} is on loopback; ksef-client refuses it (use a DNS name + --resolve)")
            r = client.http_client.request("GET", pg.download_url, headers={"Accept": "application/xml"}, skip_auth=True)
            require(r.content == xml, f"downloadUrl of {pg.reference_number}: {len(r.content)} bytes, differ from the "
                                      f"{len(xml)} bytes of /upo/{{upoRef}}")
        return None, f"{len(upo_pages)} page(s) identical"
    rep.step("GET upo.pages[].downloadUrl (pre-signed, no Authorization)", upo_download_url)

    # 7. the invoices themselves -------------------------------------------------------------
    if not args.skip_download:
        def download():
            for name, num in ksef_numbers.items():
                got = client.invoices.get_invoice_bytes(num, access_token=access)
                require(got.content == good[name][1], f"{name} ({num}): downloaded {len(got.content)} bytes differ "
                                                      f"from the {len(good[name][1])} bytes in the archive")
            return None, f"{len(ksef_numbers)} invoice(s) identical"
        rep.step("GET /invoices/ksef/{ksefNumber} for every good invoice", download)

    client.close()
    shown = sorted(ksef_numbers.values())
    print(f"RESULT: PASS, {rep.n} steps, {rep.warnings} warning(s); session={sref} parts={n_parts} "
          f"ksefNumbers={shown[:3]}{f' (+{len(shown) - 3} more)' if len(shown) > 3 else ''}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
