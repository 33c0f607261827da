#!/usr/bin/env python3
"""Peer conformance driver: XAdES (certificate) authentication of the third-party client ksef-client 0.20.0
(PyPI, MIT; signs with python-xmlsec) against a KSeF emulator, then one FA(3) invoice through an online
session opened with that login, then the certificate / token / test-data / limits endpoints through the
same library.

Needs the ksef-client venv (../shared/conformance/setup.sh) plus python-xmlsec: `pip install "ksef-client[xml]==0.20.0"`.

Flow (each step prints PASS/FAIL/WARN; the first FAIL exits non-zero):

  cert      self-signed company-seal certificate for --nip (O, 2.5.4.97=VATPL-<nip>, CN, C=PL), --key rsa|ec
  auth      GET /security/public-key-certificates, POST /auth/challenge, AuthTokenRequest signed by ksef-client's
            sign_xades_enveloped, POST /auth/xades-signature -> 202, GET /auth/{ref} until 200 (QualifiedSeal),
            POST /auth/token/redeem, the same signed document again -> 400 21111 (challenge is single-use),
            GET /auth/sessions (the login is listed, isCurrent)
  invoice   POST /sessions/online, POST .../invoices, GET .../invoices/{ref} until 200, POST .../close -> 204,
            GET /sessions/{ref} until 200 + upo.pages, GET /sessions/{ref}/upo/{upoRef}, invoice UPO by ref / ksefNumber
  extras    (skip with --no-extras) GET /limits/context, /limits/subject, /rate-limits, /certificates/limits;
            GET /certificates/enrollments/data -> CSR -> POST /certificates/enrollments -> poll -> POST
            /certificates/retrieve + /certificates/query -> XAdES login with the KSeF certificate (InternalCertificate);
            POST /tokens -> poll Active -> GET /tokens -> login with that token -> DELETE /tokens/{ref};
            POST /testdata/person -> personal certificate (PNOPL-<pesel>) logs in to the person's NIP;
            a seal of another NIP gets 415 in --nip, POST /testdata/permissions, then 200; a certificate without
            NIP/PESEL logs in by certificateFingerprint after a Fingerprint grant;
            ?verifyCertificateChain=true: 200 with the KSeF certificate, 460 with the self-signed seal;
            POST /certificates/{serial}/revoke -> 204, then the revoked KSeF certificate gets 460;
            DELETE /auth/sessions/current -> 204, then the refresh token is refused

Usage:
  python peer_xades.py --base-url http://127.0.0.1:8080 --nip 5265877635 [--key ec] \\
      --resolve storage.ksef-emu.test=127.0.0.1

Exit codes: 0 all passed; 1 a step failed; 2 bad arguments / missing library.
The library is used through its public API only; nothing here is copied from it.
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
from typing import Any
from xml.etree import ElementTree as ET

from peer_common import (KSEF_NUMBER_RE, StepFailed, StepReporter, check_upo, fa3_invoice, name_attr, poll, require,
                         require_ref, resolve_arg)

try:
    import httpx
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID, ObjectIdentifier
    from ksef_client import KsefClient, KsefClientOptions
    from ksef_client import models as m
    from ksef_client.exceptions import KsefApiError, KsefHttpError
    from ksef_client.services.auth import build_auth_token_request_xml
    from ksef_client.services.crypto import sha256_base64
    from ksef_client.services.workflows import AuthCoordinator, OnlineSessionWorkflow
    from ksef_client.services.xades import XadesKeyPair, sign_xades_enveloped
except ImportError as exc:  # pragma: no cover - environment problem
    print(f"FAIL  setup: cannot import ksef-client ({exc}); run ../shared/conformance/setup.sh first", file=sys.stderr)
    sys.exit(2)
try:
    import xmlsec  # noqa: F401 - ksef-client's XAdES signer needs it (extra "xml")
except ImportError as exc:  # pragma: no cover - environment problem
    print(f"FAIL  setup: ksef-client's XAdES signer needs python-xmlsec ({exc}); "
          "pip install 'ksef-client[xml]==0.20.0'", file=sys.stderr)
    sys.exit(2)

DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
OID_ORG_ID = ObjectIdentifier("2.5.4.97")        # organizationIdentifier (seal: VATPL-<nip>)
OID_UNIQUE_ID = ObjectIdentifier("2.5.4.45")     # x500UniqueIdentifier
PENDING_INVOICE = {100, 150}
PENDING_SESSION = {100, 150, 170}
SIG_METHOD = {"rsa": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
              "ec": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"}


def enum_value(v: Any) -> Any:
    return getattr(v, "value", v)


def api_codes(body: Any) -> list[int]:
    """Error codes of a 4xx body: legacy ExceptionResponse or problem+json `errors[]`."""
    if not isinstance(body, dict):
        return []
    legacy = ((body.get("exception") or {}).get("exceptionDetailList")) or []
    problem = body.get("errors") or []
    return [e.get("exceptionCode", e.get("code")) for e in legacy + problem if isinstance(e, dict)]


class Reporter(StepReporter):
    def failure(self, exc: Exception, mark: int) -> tuple[str, list[str], bool]:
        if isinstance(exc, StepFailed):
            return str(exc), [], False
        if isinstance(exc, KsefApiError):
            body = json.dumps(exc.response_body, ensure_ascii=False)[:800] if exc.response_body is not None else ""
            msg = f"HTTP {exc.status_code} API error: {body}"
        elif isinstance(exc, KsefHttpError):
            kind = "connection error" if exc.status_code == 0 else f"HTTP {exc.status_code}"
            msg = f"{kind}: {exc}"
        else:  # the library raised on a malformed response, etc.
            msg = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/ksef_client/" in f.filename]
        return msg, [f"raised at: ksef_client/{f.filename.split('/ksef_client/', 1)[1]}:{f.lineno} "
                     f"in {f.name}: {(f.line or '').strip()}" for f in frames[-1:]], True


# --------------------------------------------------------------------------- identities and certificates

def nip_with_checksum(rng: random.Random, avoid: set[str]) -> str:
    """A NIP matching the XSD/OpenAPI pattern [1-9]((\\d[1-9])|([1-9]\\d))\\d{7} with a valid check digit."""
    while True:
        d = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(8)]
        c = sum(x * w for x, w in zip(d, (6, 5, 7, 2, 3, 4, 5, 6, 7))) % 11
        nip = "".join(map(str, d)) + str(c)
        if c != 10 and nip[1:3] != "00" and nip not in avoid:
            return nip


def pesel_with_checksum(rng: random.Random) -> str:
    """A PESEL of someone born 1950-1999 (month code as is), with a valid check digit."""
    born = dt.date(rng.randint(1950, 1999), rng.randint(1, 12), rng.randint(1, 28))
    head = f"{born:%y%m%d}{rng.randint(0, 9999):04d}"
    c = (10 - sum(int(x) * w for x, w in zip(head, (1, 3, 7, 9, 1, 3, 7, 9, 1, 3))) % 10) % 10
    return head + str(c)


def new_key(kind: str):
    return rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "rsa" \
        else ec.generate_private_key(ec.SECP256R1())


def self_signed(subject: x509.Name, kind: str) -> tuple[x509.Certificate, Any]:
    key = new_key(kind)
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=365))
            .sign(key, hashes.SHA256()))
    return cert, key


def seal_subject(nip: str, org: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(OID_ORG_ID, f"VATPL-{nip}"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"{org} pieczec"),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, "PL")])


def person_subject(pesel: str, given: str, surname: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.GIVEN_NAME, given),
                      x509.NameAttribute(NameOID.SURNAME, surname),
                      x509.NameAttribute(NameOID.SERIAL_NUMBER, f"PNOPL-{pesel}"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"{given} {surname}"),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, "PL")])


def key_pair(cert: x509.Certificate, key: Any) -> XadesKeyPair:
    return XadesKeyPair(
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        private_key_pem=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()).decode("ascii"))


# --------------------------------------------------------------------------- transport

class ResolveTransport(httpx.BaseTransport):
    """curl --resolve for httpx: requests to HOST go to ADDR[:PORT], Host header kept."""

    def __init__(self, mapping: dict[str, tuple[str, int | None]], verify: bool) -> None:
        self._inner, self._map = httpx.HTTPTransport(verify=verify), mapping

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = self._map.get(request.url.host.lower())
        if target is not None:
            request.url = request.url.copy_with(host=target[0], port=target[1] or request.url.port)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


# --------------------------------------------------------------------------- flow

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", required=True, help="emulator root, e.g. http://127.0.0.1:8080 (/v2 is appended unless present)")
    ap.add_argument("--nip", required=True, help="context NIP; the seal certificate is issued for it (owner) and it sells the invoice")
    ap.add_argument("--key", choices=["rsa", "ec"], default="rsa",
                    help="key of the generated certificates and of the CSR: RSA-2048 (rsa-sha256) or EC P-256 (ecdsa-sha256)")
    ap.add_argument("--schema", choices=["2.0", "2.1"], default="2.1",
                    help="AuthTokenRequest namespace version (ksef-client's default is 2.1)")
    ap.add_argument("--verify-chain", choices=["omit", "false"], default="omit",
                    help="send ?verifyCertificateChain=false, or leave it out (ksef-client's default)")
    ap.add_argument("--no-extras", action="store_true", help="stop after the invoice and UPO (skip certificates, tokens, test data, limits)")
    ap.add_argument("--resolve", action="append", default=[], metavar="HOST=ADDR[:PORT]", type=resolve_arg,
                    help="route requests for HOST to ADDR (URLs advertised under a DNS name)")
    ap.add_argument("--poll-interval", type=float, default=0.5)
    ap.add_argument("--max-attempts", type=int, default=120)
    ap.add_argument("--timeout", type=float, default=30.0, help="HTTP timeout, seconds")
    ap.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    ap.add_argument("-v", "--verbose", action="store_true", help="full tracebacks on failure")
    args = ap.parse_args(argv)  # argparse exits 2 on bad arguments

    rep = Reporter(args.verbose)
    options = KsefClientOptions(
        base_url=args.base_url, timeout_seconds=args.timeout, verify_ssl=not args.insecure,
        strict_presigned_url_validation=args.base_url.lower().startswith("https://"),
        allow_private_network_presigned_urls=True,
        system_warning_handler=lambda w: rep.warn(f"X-System-Warning: {w}"))
    client = KsefClient(options)
    if args.resolve:  # swap the library's httpx client for one whose transport honours --resolve
        http = client.http_client
        old = http._client  # noqa: SLF001 - test harness
        http._client = httpx.Client(timeout=options.timeout_seconds, follow_redirects=False,
                                    transport=ResolveTransport(dict(args.resolve), not args.insecure))
        old.close()
    verify_chain = False if args.verify_chain == "false" else None
    print(f"peer_xades: ksef-client XAdES ({args.key}, AuthTokenRequest {args.schema}) against "
          f"{options.normalized_base_url()} nip={args.nip}", flush=True)

    rng = random.Random(f"{args.nip}-{time.time_ns()}")
    flow_start = dt.datetime.now(dt.timezone.utc)
    buyer = nip_with_checksum(random.Random(args.nip), {args.nip})
    invoice_xml = fa3_invoice(args.nip, buyer, f"XADES/{flow_start:%Y%m%d%H%M%S}/{rng.randint(1000, 9999)}", dt.date.today(),
                              "peer_xades.py")
    invoice_hash = sha256_base64(invoice_xml)
    auth = AuthCoordinator(client.auth)

    def auth_status(ref: str, op_token: str, expect: int = 200):
        """Poll GET /auth/{ref} while 100; the final code must be `expect`."""
        seen: list[int] = []
        for _ in range(args.max_attempts):
            st = client.auth.get_auth_status(ref, op_token)
            if not seen or seen[-1] != st.status.code:
                seen.append(st.status.code)
            if st.status.code != 100:
                require(st.status.code == expect, f"auth status {st.status.code} {st.status.description!r} "
                        f"details={st.status.details!r}, expected {expect} (codes seen {seen})")
                return st, seen
            time.sleep(args.poll_interval)
        raise StepFailed(f"auth not finished after {args.max_attempts} polls (codes seen {seen})")

    def method_of(st) -> str:
        info = st.authentication_method_info
        return (f"{enum_value(st.authentication_method)} / "
                f"{enum_value(info.category) if info else None}:{info.code if info else None}")

    def expect_method(st, method: str, code: str) -> None:
        """`method`/`code` may list alternatives separated by '|' (same position = same alternative)."""
        pairs = list(zip(method.split("|"), code.split("|")))
        info = st.authentication_method_info
        got = (enum_value(st.authentication_method), info.code if info else None)
        require(got in pairs and info is not None and enum_value(info.category) == "XadesSignature",
                f"authenticationMethod {method_of(st)}, expected " + " or ".join(f"{a} / XadesSignature:{b}" for a, b in pairs))

    def xades_login(kp: XadesKeyPair, context_nip: str, method: str, code: str, chain: bool | None = None,
                    subject: str = "certificateSubject"):
        """One XAdES login through ksef-client's AuthCoordinator (challenge, sign, submit, poll, redeem)."""
        res = auth.authenticate_with_xades_key_pair(
            key_pair=kp, context_identifier_type="nip", context_identifier_value=context_nip,
            subject_identifier_type=subject,
            verify_certificate_chain=verify_chain if chain is None else chain,
            auth_request_schema_version=args.schema, poll_interval_seconds=args.poll_interval,
            max_attempts=args.max_attempts)
        require_ref(res.reference_number, "auth referenceNumber")
        require(bool(res.access_token) and bool(res.refresh_token), "missing access/refresh token")
        st = client.auth.get_auth_status(res.reference_number, res.authentication_token)
        expect_method(st, method, code)
        return res, f"ref={res.reference_number} {method_of(st)}"

    def failed_login(kp: XadesKeyPair, context_nip: str, chain: bool | None, expect: int):
        """challenge -> sign -> POST /auth/xades-signature (202) -> GET /auth/{ref} ends with `expect`."""
        ch2 = client.auth.get_challenge()
        xml = build_auth_token_request_xml(challenge=ch2.challenge, context_identifier_type="nip",
                                           context_identifier_value=context_nip, schema_version=args.schema)
        init2 = client.auth.submit_xades_auth_request(
            sign_xades_enveloped(xml, kp.certificate_pem, kp.private_key_pem), verify_certificate_chain=chain)
        require(init2 is not None, "empty 202 body")
        st, seen = auth_status(init2.reference_number, init2.authentication_token.token, expect=expect)
        return None, f"codes {seen} details={st.status.details}"

    # 1. certificate ----------------------------------------------------------------------------
    def make_cert():
        cert, key = self_signed(seal_subject(args.nip, "Sprzedawca Testowy Sp z o o"), args.key)
        return (cert, key_pair(cert, key)), (f"{cert.subject.rfc4514_string()}, "
                                            f"{'RSA-2048' if args.key == 'rsa' else 'EC P-256'}, serial {cert.serial_number:x}")

    seal_cert, seal_kp = rep.step(f"self-signed seal certificate (VATPL-{args.nip}, {args.key})", make_cert)

    def get_certs():
        certs = client.security.get_public_key_certificates()
        require(len(certs) > 0, "empty certificate list")
        tok = client.security.get_public_key_certificate(m.PublicKeyCertificateUsage.KSEFTOKENENCRYPTION)
        sym = client.security.get_public_key_certificate(m.PublicKeyCertificateUsage.SYMMETRICKEYENCRYPTION)
        return (tok, sym), f"{len(certs)} cert(s); token={tok.public_key_id} symmetric={sym.public_key_id}"

    tok_cert, sym_cert = rep.step("GET /security/public-key-certificates", get_certs)

    # 2. XAdES authentication, one request per step ------------------------------------------------
    def challenge():
        ch = client.auth.get_challenge()
        require_ref(ch.challenge, "challenge")
        return ch, f"challenge={ch.challenge} timestampMs={ch.timestamp_ms}"

    ch = rep.step("POST /auth/challenge", challenge)

    def sign():
        xml = build_auth_token_request_xml(challenge=ch.challenge, context_identifier_type="nip",
                                           context_identifier_value=args.nip, schema_version=args.schema)
        signed = sign_xades_enveloped(xml, seal_kp.certificate_pem, seal_kp.private_key_pem)
        root = ET.fromstring(signed.encode("utf-8"))
        sigs = root.findall(f".//{{{DSIG_NS}}}Signature")
        require(len(sigs) == 1, f"{len(sigs)} ds:Signature elements in the signed document")
        alg = sigs[0].find(f"{{{DSIG_NS}}}SignedInfo/{{{DSIG_NS}}}SignatureMethod").get("Algorithm")
        require(alg == SIG_METHOD[args.key], f"SignatureMethod {alg}, expected {SIG_METHOD[args.key]}")
        return signed, f"{len(signed)} bytes, root {root.tag}, SignatureMethod {alg.rsplit('#', 1)[1]}"

    signed_xml = rep.step(f"AuthTokenRequest {args.schema} signed by ksef-client sign_xades_enveloped", sign)

    def submit():
        init = client.auth.submit_xades_auth_request(signed_xml, verify_certificate_chain=verify_chain)
        require(init is not None, "empty 202 body")
        require_ref(init.reference_number, "auth referenceNumber")
        require(bool(init.authentication_token.token), "no authenticationToken.token")
        return init, f"ref={init.reference_number} authenticationToken validUntil={init.authentication_token.valid_until}"

    q = "" if verify_chain is None else "?verifyCertificateChain=false"
    init = rep.step(f"POST /auth/xades-signature{q} (application/xml) -> 202", submit)
    op_token = init.authentication_token.token

    def first_status():
        st, seen = auth_status(init.reference_number, op_token)
        expect_method(st, "QualifiedSeal", "xades.qualified-seal")
        return st, f"codes {seen} {method_of(st)}"

    rep.step("GET /auth/{ref} until 200 (QualifiedSeal / xades.qualified-seal)", first_status)

    def redeem():
        toks = client.auth.redeem_token(op_token)
        require(bool(toks.access_token.token) and bool(toks.refresh_token.token), "missing access/refresh token")
        return toks, f"accessToken validUntil={toks.access_token.valid_until}"

    tokens = rep.step("POST /auth/token/redeem", redeem)
    access = tokens.access_token.token

    def replay():
        try:
            again = client.auth.submit_xades_auth_request(signed_xml, verify_certificate_chain=verify_chain)
        except KsefApiError as exc:
            require(exc.status_code == 400 and 21111 in api_codes(exc.response_body),
                    f"HTTP {exc.status_code} {json.dumps(exc.response_body, ensure_ascii=False)[:300]}, "
                    "expected 400 with exceptionCode 21111")
            return None, "400 21111 (Nieprawidłowe wyzwanie autoryzacyjne)"
        raise StepFailed(f"the same signed challenge was accepted again: ref={getattr(again, 'reference_number', None)}")

    rep.step("POST /auth/xades-signature with the used challenge -> 400 21111", replay)

    def sessions_list():
        lst = client.auth.get_active_sessions(access_token=access)
        mine = [i for i in lst.items if i.reference_number == init.reference_number]
        require(len(mine) == 1, f"{init.reference_number} not among {[i.reference_number for i in lst.items]}")
        require(mine[0].is_current is True, f"isCurrent={mine[0].is_current!r} for the session in use")
        require(enum_value(mine[0].authentication_method) == "QualifiedSeal",
                f"authenticationMethod {enum_value(mine[0].authentication_method)}")
        return None, f"{len(lst.items)} session(s); current={init.reference_number} status={mine[0].status.code}"

    rep.step("GET /auth/sessions (the XAdES login is listed, isCurrent)", sessions_list)

    # 3. online session with the XAdES access token -------------------------------------------------
    workflow = OnlineSessionWorkflow(client.sessions)

    def open_session():
        h = workflow.open_session(form_code=m.FormCode(system_code="FA (3)", schema_version="1-0E", value="FA"),
                                  public_certificate=sym_cert.certificate, public_key_id=sym_cert.public_key_id,
                                  access_token=access)
        require_ref(h.session_reference_number, "session referenceNumber")
        return h, f"session={h.session_reference_number} validUntil={h.valid_until}"

    session = rep.step("POST /sessions/online (FA (3) 1-0E) -> 201", open_session)
    sref = session.session_reference_number

    def send():
        resp = session.send_invoice(invoice_xml)
        require_ref(resp.reference_number, "invoice referenceNumber")
        return resp, f"invoiceRef={resp.reference_number}"

    iref = rep.step("POST /sessions/online/{ref}/invoices -> 202", send).reference_number

    def invoice_status():
        st, seen = poll("invoice status", lambda: client.sessions.get_session_invoice_status(sref, iref, access_token=access),
                        PENDING_INVOICE, args.poll_interval, args.max_attempts)
        require(bool(st.ksef_number) and bool(KSEF_NUMBER_RE.match(st.ksef_number)), f"ksefNumber {st.ksef_number!r}")
        require(st.ksef_number.startswith(args.nip + "-"), f"ksefNumber {st.ksef_number!r} does not start with {args.nip}")
        require(st.invoice_hash == invoice_hash, f"invoiceHash {st.invoice_hash} != sent {invoice_hash}")
        return st.ksef_number, f"codes {seen} ksefNumber={st.ksef_number}"

    ksef_number = rep.step("GET /sessions/{ref}/invoices/{invRef} until 200", invoice_status)

    rep.step("POST /sessions/online/{ref}/close -> 204",
             lambda: (client.sessions.close_online_session(sref, access_token=access), ""))

    def session_status():
        st, seen = poll("session status", lambda: client.sessions.get_session_status(sref, access_token=access),
                        PENDING_SESSION, args.poll_interval, args.max_attempts,
                        done=lambda s: bool(s.upo and s.upo.pages))
        for pg in st.upo.pages:
            require_ref(pg.reference_number, "upo.pages[].referenceNumber")
        require(st.successful_invoice_count in (None, 1), f"successfulInvoiceCount={st.successful_invoice_count}")
        return st, f"codes {seen} upoPages={len(st.upo.pages)}"

    sstat = rep.step("GET /sessions/{ref} until 200 with upo.pages", session_status)

    def upo():
        sizes = []
        for page in sstat.upo.pages:
            xml = client.sessions.get_session_upo(sref, page.reference_number, access_token=access)
            check_upo(xml, ksef_number, f"session UPO page {page.reference_number}")
            sizes.append(len(xml))
        a = client.sessions.get_session_invoice_upo_by_ref(sref, iref, access_token=access)
        check_upo(a, ksef_number, "invoice UPO by reference")
        b = client.sessions.get_session_invoice_upo_by_ksef(sref, ksef_number, access_token=access)
        check_upo(b, ksef_number, "invoice UPO by ksefNumber")
        return None, f"session UPO {sizes} bytes; invoice UPO {len(a)} / {len(b)} bytes"

    rep.step("GET /sessions/{ref}/upo/{upoRef}, .../invoices/{invRef}/upo, .../invoices/ksef/{ksefNumber}/upo", upo)

    if args.no_extras:
        client.close()
        print(f"RESULT: PASS, {rep.n} steps, {rep.warnings} warning(s); ksefNumber={ksef_number}", flush=True)
        return 0

    # 4. limits ---------------------------------------------------------------------------------------
    def limits():
        ctx = client.limits.get_context_limits(access_token=access)
        for name, lim in (("onlineSession", ctx.online_session), ("batchSession", ctx.batch_session)):
            require(lim.max_invoices > 0 and lim.max_invoice_size_in_mb > 0, f"{name} limits {lim.to_dict()}")
        require(ctx.collective_identifier.max_invoices >= 2, f"collectiveIdentifier {ctx.collective_identifier.to_dict()}")
        subj = client.limits.get_subject_limits(access_token=access)
        rl = client.rate_limits.get_rate_limits(access_token=access)
        for f in rl.to_dict().values():
            require(all(isinstance(f.get(k), int) for k in ("perSecond", "perMinute", "perHour")), f"rate limit group {f}")
        return None, (f"context online maxInvoices={ctx.online_session.max_invoices}; subject {subj.to_dict()}; "
                      f"{len(rl.to_dict())} rate-limit groups, onlineSession {rl.online_session.to_dict()}")

    rep.step("GET /limits/context, /limits/subject, /rate-limits", limits)

    def cert_limits():
        lim = client.certificates.get_limits(access_token=access)
        for name, c in (("enrollment", lim.enrollment), ("certificate", lim.certificate)):
            require(0 <= c.remaining <= c.limit and c.limit > 0, f"{name} {c.to_dict()}")
        require(lim.can_request is True, f"canRequest={lim.can_request!r} with {lim.enrollment.remaining} enrollment(s) left")
        return lim, f"canRequest={lim.can_request} enrollment {lim.enrollment.to_dict()} certificate {lim.certificate.to_dict()}"

    lim_before = rep.step("GET /certificates/limits", cert_limits)

    # 5. KSeF certificate: enrollment data -> CSR -> enrollment -> retrieve -> XAdES login with it ----
    def enrollment_data():
        d = client.certificates.get_enrollment_data(access_token=access)
        subj = seal_cert.subject
        want = {"commonName": name_attr(subj, NameOID.COMMON_NAME), "countryName": name_attr(subj, NameOID.COUNTRY_NAME),
                "organizationName": name_attr(subj, NameOID.ORGANIZATION_NAME)}
        got = {"commonName": d.common_name, "countryName": d.country_name, "organizationName": d.organization_name}
        require(got == want, f"enrollment data {d.to_dict()} does not carry the login certificate's {want}")
        require(bool(d.organization_identifier) and args.nip in d.organization_identifier,
                f"organizationIdentifier {d.organization_identifier!r} does not carry NIP {args.nip}")
        require(d.given_name is None and d.surname is None, f"a seal has no givenName/surname: {d.to_dict()}")
        return d, json.dumps(d.to_dict(), ensure_ascii=False)

    edata = rep.step("GET /certificates/enrollments/data (matches the seal)", enrollment_data)

    csr_key = new_key(args.key)
    cert_name = f"peer xades {args.key} {rng.randint(1000, 9999)}"

    def enroll():
        attrs = [(NameOID.COMMON_NAME, edata.common_name), (NameOID.SURNAME, edata.surname),
                 (NameOID.GIVEN_NAME, edata.given_name), (NameOID.ORGANIZATION_NAME, edata.organization_name),
                 (OID_ORG_ID, edata.organization_identifier), (NameOID.COUNTRY_NAME, edata.country_name),
                 (NameOID.SERIAL_NUMBER, edata.serial_number), (OID_UNIQUE_ID, edata.unique_identifier)]
        subject = x509.Name([x509.NameAttribute(oid, v) for oid, v in attrs if v is not None])
        csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(csr_key, hashes.SHA256())
        req = m.EnrollCertificateRequest(certificate_name=cert_name, certificate_type=m.KsefCertificateType.AUTHENTICATION,
                                         csr=base64.b64encode(csr.public_bytes(serialization.Encoding.DER)).decode("ascii"))
        r = client.certificates.send_enrollment(req, access_token=access)
        require_ref(r.reference_number, "enrollment referenceNumber")
        return r, f"ref={r.reference_number} CSR subject {subject.rfc4514_string()}"

    enr = rep.step(f"POST /certificates/enrollments (Authentication, {args.key} CSR) -> 202", enroll)

    def enrollment_status():
        st, seen = poll("enrollment", lambda: client.certificates.get_enrollment_status(enr.reference_number, access_token=access),
                        {100}, args.poll_interval, args.max_attempts)
        require(bool(re.fullmatch(r"[0-9A-F]{16}", st.certificate_serial_number or "")),
                f"certificateSerialNumber {st.certificate_serial_number!r} is not 16 upper-case hex digits")
        return st.certificate_serial_number, f"codes {seen} certificateSerialNumber={st.certificate_serial_number}"

    serial = rep.step("GET /certificates/enrollments/{ref} until 200", enrollment_status)

    def retrieve():
        r = client.certificates.retrieve_certificate(m.RetrieveCertificatesRequest(certificate_serial_numbers=[serial]),
                                                     access_token=access)
        require(len(r.certificates) == 1, f"{len(r.certificates)} certificate(s) for one serial")
        item = r.certificates[0]
        require(item.certificate_serial_number == serial and item.certificate_name == cert_name
                and enum_value(item.certificate_type) == "Authentication", f"item {item.to_dict() | {'certificate': '…'}}")
        cert = x509.load_der_x509_certificate(base64.b64decode(item.certificate, validate=True))
        pub = serialization.PublicFormat.SubjectPublicKeyInfo
        require(cert.public_key().public_bytes(serialization.Encoding.DER, pub)
                == csr_key.public_key().public_bytes(serialization.Encoding.DER, pub), "certificate key is not the CSR key")
        require(f"{cert.serial_number:016X}" == serial, f"X.509 serial {cert.serial_number:016X} != {serial}")
        require(name_attr(cert.subject, OID_ORG_ID) == edata.organization_identifier,
                f"certificate subject {cert.subject.rfc4514_string()} lacks organizationIdentifier {edata.organization_identifier}")
        now = dt.datetime.now(dt.timezone.utc)
        require(cert.not_valid_before_utc <= now + dt.timedelta(minutes=5) and now < cert.not_valid_after_utc,
                f"validity {cert.not_valid_before_utc} .. {cert.not_valid_after_utc}")
        try:
            ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
            require(ku.digital_signature, "Authentication certificate without keyUsage digitalSignature")
        except x509.ExtensionNotFound:
            rep.warn("KSeF certificate has no keyUsage extension")
        q = client.certificates.query_certificates(m.QueryCertificatesRequest(certificate_serial_number=serial),
                                                   access_token=access)
        listed = [c for c in q.certificates if c.certificate_serial_number == serial]
        require(len(listed) == 1 and enum_value(listed[0].status) == "Active",
                f"POST /certificates/query: {[c.to_dict() for c in q.certificates]}")
        sid = listed[0].subject_identifier
        require(enum_value(sid.type) == "Nip" and sid.value == args.nip, f"subjectIdentifier {sid.to_dict()}")
        return cert, (f"issuer {cert.issuer.rfc4514_string()}, valid to {cert.not_valid_after_utc:%Y-%m-%d}; "
                      f"query: {enum_value(listed[0].status)} {sid.to_dict()}")

    ksef_cert = rep.step("POST /certificates/retrieve and /certificates/query", retrieve)

    def limits_after():
        lim = client.certificates.get_limits(access_token=access)
        require(lim.enrollment.remaining <= lim_before.enrollment.remaining - 1,
                f"enrollment.remaining {lim_before.enrollment.remaining} -> {lim.enrollment.remaining}, expected at least one less")
        return None, f"enrollment {lim_before.enrollment.remaining} -> {lim.enrollment.remaining} remaining"

    rep.step("GET /certificates/limits after the enrollment", limits_after)

    rep.step("XAdES login with the KSeF certificate, ?verifyCertificateChain=true (AuthCoordinator) -> InternalCertificate",
             lambda: xades_login(key_pair(ksef_cert, csr_key), args.nip, "InternalCertificate", "xades.ksef-certificate",
                                 chain=True))
    rep.step("XAdES login with the self-signed seal, ?verifyCertificateChain=true -> 460",
             lambda: failed_login(seal_kp, args.nip, True, 460))

    def revoke_cert():
        client.certificates.revoke_certificate(serial, m.RevokeCertificateRequest(
            revocation_reason=m.CertificateRevocationReason.SUPERSEDED), access_token=access)
        q = client.certificates.query_certificates(m.QueryCertificatesRequest(certificate_serial_number=serial),
                                                   access_token=access)
        status = [enum_value(c.status) for c in q.certificates if c.certificate_serial_number == serial]
        require(status in (["Revoked"], ["Blocked"]), f"status after revocation {status}")
        return None, f"status {status[0]}"

    rep.step("POST /certificates/{serial}/revoke -> 204, /certificates/query shows it revoked", revoke_cert)
    rep.step("XAdES login with the revoked KSeF certificate -> 460",
             lambda: failed_login(key_pair(ksef_cert, csr_key), args.nip, verify_chain, 460))

    # 6. KSeF token generated with the XAdES login -------------------------------------------------------
    def gen_token():
        req = m.GenerateTokenRequest(description=f"peer_xades {args.key} token {rng.randint(1000, 9999)}",
                                     permissions=[m.TokenPermissionType.INVOICEREAD, m.TokenPermissionType.INVOICEWRITE])
        r = client.tokens.generate_token(req, access_token=access)
        require_ref(r.reference_number, "token referenceNumber")
        require(bool(r.token), "no token")
        return (r, req.description), f"ref={r.reference_number}"

    gen, token_desc = rep.step("POST /tokens (InvoiceRead, InvoiceWrite) -> 202", gen_token)

    def token_active():
        seen: list[str] = []
        for _ in range(args.max_attempts):
            st = client.tokens.get_token_status(gen.reference_number, access_token=access)
            s = enum_value(st.status)
            if not seen or seen[-1] != s:
                seen.append(s)
            if s == "Active":
                break
            require(s == "Pending", f"token status {s} details={st.status_details!r} (seen {seen})")
            time.sleep(args.poll_interval)
        else:
            raise StepFailed(f"token not Active after {args.max_attempts} polls (seen {seen})")
        require(sorted(map(enum_value, st.requested_permissions)) == ["InvoiceRead", "InvoiceWrite"],
                f"requestedPermissions {st.requested_permissions}")
        require(enum_value(st.context_identifier.type) == "Nip" and st.context_identifier.value == args.nip,
                f"contextIdentifier {st.context_identifier.to_dict()}")
        require(st.description == token_desc, f"description {st.description!r}")
        lst = client.tokens.list_tokens(access_token=access, statuses=["Active"])
        require(any(t.reference_number == gen.reference_number for t in lst.tokens),
                f"GET /tokens?status=Active does not list {gen.reference_number}")
        return None, f"statuses {seen}; author {st.author_identifier.to_dict()}; listed among {len(lst.tokens)} active"

    rep.step("GET /tokens/{ref} until Active, GET /tokens?status=Active", token_active)

    def token_login():
        res = auth.authenticate_with_ksef_token(token=gen.token, public_certificate=tok_cert.certificate,
                                                public_key_id=tok_cert.public_key_id, context_identifier_type="nip",
                                                context_identifier_value=args.nip, poll_interval_seconds=args.poll_interval,
                                                max_attempts=args.max_attempts)
        st = client.auth.get_auth_status(res.reference_number, res.authentication_token)
        require(enum_value(st.authentication_method) == "Token", f"authenticationMethod {method_of(st)}")
        return None, f"ref={res.reference_number} {method_of(st)}"

    rep.step("POST /auth/ksef-token with the new token -> 200 (AuthCoordinator)", token_login)

    def revoke_token():
        client.tokens.revoke_token(gen.reference_number, access_token=access)
        st = client.tokens.get_token_status(gen.reference_number, access_token=access)
        require(enum_value(st.status) in ("Revoking", "Revoked"), f"status {enum_value(st.status)} after DELETE")
        return None, f"status {enum_value(st.status)}"

    rep.step("DELETE /tokens/{ref} -> 204", revoke_token)

    # 7. test data: a person (PESEL linked to a NIP) logs in with a personal certificate -----------------
    person_nip, person_pesel = nip_with_checksum(rng, {args.nip, buyer}), pesel_with_checksum(rng)

    def create_person():
        client.testdata.create_person(m.PersonCreateRequest(nip=person_nip, pesel=person_pesel, is_bailiff=False,
                                                            description="peer_xades test person"))
        return None, f"nip={person_nip} pesel={person_pesel}"

    rep.step("POST /testdata/person {nip, pesel, isBailiff: false}", create_person)

    def person_login():
        cert, key = self_signed(person_subject(person_pesel, "Jan", "Testowy"), args.key)
        return xades_login(key_pair(cert, key), person_nip, "QualifiedSignature", "xades.qualified-signature")

    rep.step(f"XAdES login of PNOPL-<pesel> in context {person_nip} -> 200 (QualifiedSignature)", person_login)

    # 8. test data: another NIP's seal in context --nip: 415 without permissions, 200 after the grant ----
    other_nip = nip_with_checksum(rng, {args.nip, buyer, person_nip})
    other_cert, other_key = self_signed(seal_subject(other_nip, "Biuro Rachunkowe Testowe"), args.key)
    other_kp = key_pair(other_cert, other_key)

    rep.step(f"XAdES login of VATPL-{other_nip} in context {args.nip} without permissions -> 415",
             lambda: failed_login(other_kp, args.nip, verify_chain, 415))

    def grant():
        req = m.TestDataPermissionsGrantRequest(
            context_identifier=m.TestDataContextIdentifier(type=m.TestDataContextIdentifierType.NIP, value=args.nip),
            authorized_identifier=m.TestDataAuthorizedIdentifier(type=m.TestDataAuthorizedIdentifierType.NIP, value=other_nip),
            permissions=[m.TestDataPermission(description="peer_xades biuro", permission_type=m.TestDataPermissionType.INVOICEREAD)])
        client.testdata.grant_permissions(req)
        return None, f"InvoiceRead for Nip {other_nip} in Nip {args.nip}"

    rep.step("POST /testdata/permissions", grant)
    rep.step(f"XAdES login of VATPL-{other_nip} in context {args.nip} after the grant -> 200",
             lambda: xades_login(other_kp, args.nip, "QualifiedSeal", "xades.qualified-seal"))

    # 9. test data: a certificate without NIP/PESEL, known only by its SHA-256 fingerprint -----------------
    fp_cert, fp_key = self_signed(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Kontrahent zagraniczny"),
                                             x509.NameAttribute(NameOID.COUNTRY_NAME, "DE")]), args.key)
    fingerprint = hashlib.sha256(fp_cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()

    def fingerprint_login():
        req = m.TestDataPermissionsGrantRequest(
            context_identifier=m.TestDataContextIdentifier(type=m.TestDataContextIdentifierType.NIP, value=args.nip),
            authorized_identifier=m.TestDataAuthorizedIdentifier(type=m.TestDataAuthorizedIdentifierType.FINGERPRINT,
                                                                 value=fingerprint),
            permissions=[m.TestDataPermission(description="peer_xades odcisk", permission_type=m.TestDataPermissionType.INVOICEREAD)])
        client.testdata.grant_permissions(req)
        # Whether a certificate known only by its fingerprint counts as a seal or a signature is not specified.
        res, summary = xades_login(key_pair(fp_cert, fp_key), args.nip, "QualifiedSeal|QualifiedSignature",
                                   "xades.qualified-seal|xades.qualified-signature", subject="certificateFingerprint")
        return res, f"Fingerprint {fingerprint[:16]}...; {summary}"

    rep.step("POST /testdata/permissions {Fingerprint}, XAdES login with SubjectIdentifierType certificateFingerprint -> 200",
             fingerprint_login)

    # 10. end the first login --------------------------------------------------------------------------
    def revoke_current():
        client.auth.revoke_current_session(access)
        try:
            client.auth.refresh_access_token(tokens.refresh_token.token)
        except KsefHttpError as exc:
            require(400 <= exc.status_code < 500, f"refresh after revocation: HTTP {exc.status_code}")
            return None, f"refresh afterwards -> HTTP {exc.status_code} {api_codes(exc.response_body)}"
        raise StepFailed("POST /auth/token/refresh still issues access tokens after DELETE /auth/sessions/current")

    rep.step("DELETE /auth/sessions/current -> 204, then the refresh token is refused", revoke_current)

    client.close()
    print(f"RESULT: PASS, {rep.n} steps, {rep.warnings} warning(s); ksefNumber={ksef_number}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
