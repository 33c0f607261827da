#!/usr/bin/env python3
"""Peer conformance driver: XAdES (certificate) authentication of the third-party client ksef2 1.1.0 (PyPI, MIT;
strict pydantic models, signs with signxml) against a KSeF emulator: client.authentication.with_xades() with
ksef2's own test certificate (generate_test_certificate: a self-signed RSA-2048 seal for --nip), then one FA(3)
invoice through an online session of that login, then certificates / tokens / test data / limits through ksef2.

Like scripts/peer_ksef2.py (whose transport, reporter and invoice it reuses): ksef2 has no settable base URL, so
an httpx transport rewrites api-test.ksef.mf.gov.pl to --base-url, applies --resolve HOST=ADDR[:PORT], and records
every exchange, so a FAIL shows the request, the response and the ksef2 source line that raised.

Steps: test certificate (--key rsa: generate_test_certificate; --key ec: the same DN with an EC P-256 key, as ksef2's
helper is RSA-only), certs, with_xades() reported per request (challenge, xades-signature -> 202, auth status until
200 with QualifiedSeal, redeem), GET /auth/sessions, open FA (3) session, send, wait for ksefNumber, invoice UPO,
close, session until 200 + upo.pages, session UPO, download by ksefNumber; then (skip with --no-extras) limits,
certificate limits, enrollment data -> CSR -> enroll -> wait -> retrieve + list -> with_xades() with the KSeF
certificate (verify_chain=True, InternalCertificate; the self-signed one gets 460), revoke it (then 460); tokens.generate -> wait -> list -> with_token() -> revoke;
testdata.create_person -> with_xades() of a personal certificate (PNOPL-<pesel>) in the person's NIP; another NIP's
seal: 415 in --nip, testdata.grant_permissions, then 200; with_test_certificate(); sessions.terminate_current().

Usage:  python peer_ksef2_xades.py --base-url http://127.0.0.1:8080 --nip 5265877635 [--key ec] \\
            --resolve storage.ksef-emu.test=127.0.0.1
Exit codes: 0 all passed; 1 a step failed; 2 bad arguments / missing library (needs Python >= 3.12).
Only ksef2's public API is used (ksef2, ksef2.models, ksef2.xades, ksef2.testdata); nothing is copied from it.
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import random
import re
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import httpx
    import ksef2
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID, ObjectIdentifier
    from ksef2 import CertificateStore, Client, Environment, KSeFException
    from ksef2.models import FormSchema, Identifier, Permission, TokenListParams
    from ksef2.testdata import generate_nip, generate_pesel
    from ksef2.xades import generate_test_certificate
    from peer_common import StepFailed, b64sha256, check_upo, name_attr, require, require_ref, resolve_arg
    from peer_ksef2 import (KSEF_HOST, Exchange, RedirectTransport, Reporter, http_status, report_calls,
                            seller_invoice, status_codes)
except ImportError as exc:  # pragma: no cover - environment problem
    print(f"FAIL  setup: cannot import ksef2 / scripts/peer_ksef2.py ({exc}); pip install ksef2==1.1.0 (Python >= 3.12)",
          file=sys.stderr)
    sys.exit(2)

OID_ORG_ID = ObjectIdentifier("2.5.4.97")
OID_UNIQUE_ID = ObjectIdentifier("2.5.4.45")
AUTH_STATUS_PATH = r"/auth/(?!challenge$|ksef-token$|xades-signature$|token/|sessions)[^/]+$"


def ec_seal_like(template: x509.Certificate) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """generate_test_certificate's DN and validity, but an EC P-256 key (ecdsa-with-SHA256)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(template.subject).issuer_name(template.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=365))
            .sign(key, hashes.SHA256()))
    return cert, key


def person_cert(pesel: str, kind: str) -> tuple[x509.Certificate, Any]:
    """Self-signed personal certificate: givenName, surname, serialNumber PNOPL-<pesel>, CN, C (KSeF docs)."""
    if kind == "ec":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        _, key = generate_test_certificate(generate_nip())  # ksef2's RSA-2048 key; its certificate is not used
    name = x509.Name([x509.NameAttribute(NameOID.GIVEN_NAME, "Anna"), x509.NameAttribute(NameOID.SURNAME, "Testowa"),
                      x509.NameAttribute(NameOID.SERIAL_NUMBER, f"PNOPL-{pesel}"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Anna Testowa"), x509.NameAttribute(NameOID.COUNTRY_NAME, "PL")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=365))
            .sign(key, hashes.SHA256()))
    return cert, key


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", required=True, help="emulator root, e.g. http://127.0.0.1:8080 (a trailing /v2 is ignored)")
    ap.add_argument("--nip", required=True, help="context NIP (checksum-valid; ksef2 checks it); the test certificate is issued for it")
    ap.add_argument("--key", choices=["rsa", "ec"], default="rsa",
                    help="rsa: ksef2's generate_test_certificate; ec: the same DN with an EC P-256 key")
    ap.add_argument("--no-extras", action="store_true", help="stop after the invoice (skip certificates, tokens, test data, limits)")
    ap.add_argument("--resolve", action="append", default=[], metavar="HOST=ADDR[:PORT]", type=resolve_arg,
                    help="route requests for HOST to ADDR (UPO / export URLs advertised under a DNS name)")
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
    print(f"peer_ksef2_xades: ksef2 {ksef2.__version__} with_xades ({args.key}) against {args.base_url} "
          f"(as {KSEF_HOST}) nip={args.nip}", flush=True)
    if ksef2.__version__ != "1.1.0":
        rep.warn(f"this driver was written for ksef2 1.1.0, found {ksef2.__version__}")

    rng = random.Random(f"{args.nip}-{time.time_ns()}")
    flow_start = dt.datetime.now(dt.timezone.utc)
    invoice_xml = seller_invoice(args.nip, f"XADES2/{flow_start:%Y%m%d%H%M%S}/{rng.randint(1000, 9999)}", dt.date.today())
    invoice_hash = b64sha256(invoice_xml)

    def last_auth_status(mark: int) -> Exchange:
        got = tr.calls(mark, "GET", AUTH_STATUS_PATH)
        require(bool(got), "ksef2 made no GET /auth/{ref} request")
        return got[-1]

    def expect_method(ex: Exchange, method: str, code: str) -> str:
        j = ex.json() or {}
        info = j.get("authenticationMethodInfo") or {}
        got = f"{j.get('authenticationMethod')} / {info.get('category')}:{info.get('code')}"
        require(j.get("authenticationMethod") == method and info.get("category") == "XadesSignature"
                and info.get("code") == code, f"authenticationMethod {got}, expected {method} / XadesSignature:{code}", ex)
        return got

    def login(method: str, code: str, **kw) -> tuple[Any, str]:
        """One with_xades() call (challenge, sign, submit, poll, redeem); checks the final auth status."""
        m = len(tr.log)
        auth = client.authentication.with_xades(timeout=budget, poll_interval=every, **kw)
        http_status(tr.calls(m, "POST", r"/auth/xades-signature$"), 202, "POST /auth/xades-signature")
        ref = (tr.calls(m, "POST", r"/auth/xades-signature$")[-1].json() or {}).get("referenceNumber")
        return auth, f"ref={ref} {expect_method(last_auth_status(m), method, code)}"

    def refused_login(expect: int, **kw) -> tuple[None, str]:
        m = len(tr.log)
        try:
            client.authentication.with_xades(timeout=budget, poll_interval=every, **kw)
        except KSeFException as exc:
            ex = last_auth_status(m)
            code = ((ex.json() or {}).get("status") or {}).get("code")
            require(code == expect, f"{type(exc).__name__}: {exc}; auth status {code}, expected {expect}", ex)
            return None, f"{type(exc).__name__}; status {(ex.json() or {}).get('status')}"
        raise StepFailed(f"with_xades() succeeded; expected auth status {expect}", tr.log[-1] if tr.log else None)

    # 1. test certificate and the public-key certificates ------------------------------------------------
    def make_cert():
        cert, key = generate_test_certificate(args.nip)
        if args.key == "ec":
            cert, key = ec_seal_like(cert)
        require(name_attr(cert.subject, OID_ORG_ID) == f"VATPL-{args.nip}", f"subject {cert.subject.rfc4514_string()}")
        return (cert, key), f"{cert.subject.rfc4514_string()}, {type(key).__name__.lstrip('_')}"
    seal_cert, seal_key = rep.step(f"generate_test_certificate({args.nip})" + (" with an EC P-256 key" if args.key == "ec" else ""),
                                   make_cert)

    def certs():
        got = client.encryption.get_certificates()
        require(len(got) > 0, "empty certificate list")
        store.load(got)
        tok, sym = store.get_valid("ksef_token_encryption"), store.get_valid("symmetric_key_encryption")
        return None, f"{len(got)} cert(s); token={tok.public_key_id} symmetric={sym.public_key_id}"
    rep.step("GET /security/public-key-certificates", certs)

    # 2. with_xades(): one call, each request it made is reported as a step ------------------------------
    mark, auth, auth_err = len(tr.log), None, None
    try:
        auth = client.authentication.with_xades(nip=args.nip, cert=seal_cert, private_key=seal_key,
                                                timeout=budget, poll_interval=every)
    except Exception as exc:  # noqa: BLE001
        auth_err = exc
    auth_steps = [
        ("POST /auth/challenge", "POST", r"/auth/challenge$", 200,
         lambda g: f"challenge={(g[-1].json() or {}).get('challenge')}"),
        ("POST /auth/xades-signature?verifyCertificateChain=false (signxml XAdES) -> 202", "POST", r"/auth/xades-signature$", 202,
         lambda g: f"ref={(g[-1].json() or {}).get('referenceNumber')}"),
        ("GET /auth/{ref} until 200 (QualifiedSeal / xades.qualified-seal)", "GET", AUTH_STATUS_PATH, 200,
         lambda g: f"codes {status_codes(g)} {expect_method(g[-1], 'QualifiedSeal', 'xades.qualified-seal')}"),
        ("POST /auth/token/redeem", "POST", r"/auth/token/redeem$", 200,
         lambda g: f"accessToken validUntil={((g[-1].json() or {}).get('accessToken') or {}).get('validUntil')}"),
    ]
    groups = report_calls(rep, tr, mark, auth_err, auth_steps)
    assert auth is not None
    auth_ref = (groups[1][-1].json() or {}).get("referenceNumber")

    def sessions_list():
        items = auth.sessions.list().first_page()
        mine = [s for s in items if s.reference_number == auth_ref]
        require(len(mine) == 1, f"{auth_ref} not among {[s.reference_number for s in items]}", tr.log[-1])
        require(mine[0].is_current is True, f"isCurrent={mine[0].is_current!r} for the session in use", tr.log[-1])
        require(mine[0].authentication_method == "qualified_seal", f"authentication_method {mine[0].authentication_method}")
        return None, f"{len(items)} session(s); current={auth_ref} {mine[0].authentication_method_code}"
    rep.step("GET /auth/sessions (the XAdES login is listed, isCurrent)", sessions_list)

    # 3. online session with the XAdES access token ------------------------------------------------------
    def open_session():
        m = len(tr.log)
        s = auth.online_session(form_code=FormSchema.FA3)
        http_status(tr.calls(m, "POST", r"/sessions/online$"), 201, "POST /sessions/online")
        require_ref(s.reference_number, "session referenceNumber")
        return s, f"session={s.reference_number}"
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
        st = submission.wait(timeout=budget, poll_interval=every)
        require(st.status.code == 200, f"status {st.status.code} {st.status.description!r} with ksefNumber set")
        require(st.ksef_number.startswith(args.nip + "-"), f"ksefNumber {st.ksef_number!r} does not start with {args.nip}")
        require(st.invoice_hash == invoice_hash, f"invoiceHash {st.invoice_hash} != sent {invoice_hash}")
        return st.ksef_number, f"codes {status_codes(tr.calls(m, 'GET', r'/invoices/[^/]+$'))} ksefNumber={st.ksef_number}"
    ksef_number = rep.step("GET /sessions/{ref}/invoices/{invRef} until ksefNumber", invoice_status)

    def invoice_upo():
        check_upo(a := submission.download_upo(), ksef_number, "invoice UPO by reference")
        check_upo(b := session.download_invoice_upo(ksef_number=ksef_number), ksef_number, "invoice UPO by ksefNumber")
        return None, f"{len(a)} / {len(b)} bytes"
    rep.step("GET /sessions/{ref}/invoices/{invRef}/upo and .../invoices/ksef/{ksefNumber}/upo", invoice_upo)

    def close():
        m = len(tr.log)
        session.close()
        http_status(tr.calls(m, "POST", r"/close$"), 204, "POST /sessions/online/{ref}/close")
        return None, ""
    rep.step("POST /sessions/online/{ref}/close -> 204", close)

    def session_status():
        m = len(tr.log)
        st = session.wait(timeout=budget, poll_interval=every)
        codes = status_codes(tr.calls(m, "GET", r"/sessions/[^/]+$"))
        require(st.status.code == 200, f"terminal status {st.status.code} {st.status.description!r} (codes {codes})")
        require(st.upo is not None and len(st.upo.pages) > 0, "status 200 but no upo.pages", tr.log[-1])
        return st, f"codes {codes} upoPages={len(st.upo.pages)}"
    sstat = rep.step("GET /sessions/{ref} until 200 with upo.pages", session_status)

    def session_upo():
        pages = session.download_upo()
        require(len(pages) == len(sstat.upo.pages), f"{len(pages)} page(s) downloaded, {len(sstat.upo.pages)} listed")
        for i, xml in enumerate(pages):
            check_upo(xml, ksef_number, f"session UPO page {i + 1}")
        return None, f"{len(pages)} page(s), {[len(p) for p in pages]} bytes"
    rep.step("GET /sessions/{ref}/upo/{upoRef}", session_upo)

    def download():
        got = auth.invoices.download(ksef_number)
        require(got == invoice_xml, f"downloaded {len(got)} bytes differ from the {len(invoice_xml)} bytes sent", tr.log[-1])
        return None, f"{len(got)} bytes, identical"
    rep.step("GET /invoices/ksef/{ksefNumber}", download)

    if args.no_extras:
        client.close()
        http.close()
        print(f"RESULT: PASS, {rep.n} steps, {rep.warnings} warning(s); ksefNumber={ksef_number}", flush=True)
        return 0

    # 4. limits -------------------------------------------------------------------------------------------
    def limits():
        ctx = auth.limits.get_context_limits()
        require(ctx.online_session.max_invoices > 0 and ctx.collective_identifier.max_invoices >= 2, f"{ctx}")
        subj = auth.limits.get_subject_limits()
        rl = auth.limits.get_api_rate_limits()
        return None, (f"online maxInvoices={ctx.online_session.max_invoices}; subject {subj.model_dump()}; "
                      f"onlineSession {rl.online_session.model_dump()}")
    rep.step("GET /limits/context, /limits/subject, /rate-limits", limits)

    def cert_limits():
        lim = auth.certificates.get_limits()
        require(lim.can_request and 0 <= lim.enrollment_remaining <= lim.enrollment_limit
                and 0 <= lim.certificate_remaining <= lim.certificate_limit, f"{lim}", tr.log[-1])
        return lim, (f"canRequest={lim.can_request} enrollment {lim.enrollment_remaining}/{lim.enrollment_limit} "
                     f"certificate {lim.certificate_remaining}/{lim.certificate_limit}")
    lim_before = rep.step("GET /certificates/limits", cert_limits)

    # 5. KSeF certificate ---------------------------------------------------------------------------------
    def enrollment_data():
        d = auth.certificates.get_enrollment_data()
        want = (name_attr(seal_cert.subject, NameOID.COMMON_NAME), name_attr(seal_cert.subject, NameOID.COUNTRY_NAME),
                name_attr(seal_cert.subject, NameOID.ORGANIZATION_NAME))
        require((d.common_name, d.iso_country_code, d.organization_name) == want,
                f"enrollment data {d.model_dump()} does not carry the login certificate's CN, C, O {want}", tr.log[-1])
        require(args.nip in (d.organization_identifier or ""), f"organizationIdentifier {d.organization_identifier!r}", tr.log[-1])
        return d, f"{d.model_dump(exclude_none=True)}"
    edata = rep.step("GET /certificates/enrollments/data (matches the test certificate)", enrollment_data)

    csr_key = ec.generate_private_key(ec.SECP256R1()) if args.key == "ec" else generate_test_certificate(args.nip)[1]
    cert_name = f"peer ksef2 xades {args.key} {rng.randint(1000, 9999)}"

    def enroll():
        pairs = [(NameOID.COMMON_NAME, edata.common_name), (NameOID.SURNAME, edata.surname), (NameOID.GIVEN_NAME, edata.name),
                 (NameOID.ORGANIZATION_NAME, edata.organization_name), (OID_ORG_ID, edata.organization_identifier),
                 (NameOID.COUNTRY_NAME, edata.iso_country_code), (NameOID.SERIAL_NUMBER, edata.serial_number),
                 (OID_UNIQUE_ID, edata.unique_identifier)]
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(o, v) for o, v in pairs if v is not None]))
               .sign(csr_key, hashes.SHA256()))
        m = len(tr.log)
        h = auth.certificates.enroll(certificate_name=cert_name, certificate_type="authentication",
                                     csr=base64.b64encode(csr.public_bytes(serialization.Encoding.DER)).decode("ascii"))
        http_status(tr.calls(m, "POST", r"/certificates/enrollments$"), 202, "POST /certificates/enrollments")
        require_ref(h.reference_number, "enrollment referenceNumber")
        st = h.wait(timeout=budget, poll_interval=every)
        require(bool(re.fullmatch(r"[0-9A-F]{16}", st.certificate_serial_number or "")),
                f"certificateSerialNumber {st.certificate_serial_number!r}", tr.log[-1])
        return st.certificate_serial_number, f"ref={h.reference_number} serial={st.certificate_serial_number}"
    serial = rep.step(f"POST /certificates/enrollments ({args.key} CSR) -> 202, GET .../enrollments/{{ref}} until 200", enroll)

    def retrieve():
        got = auth.certificates.retrieve(certificate_serial_numbers=[serial]).certificates
        require(len(got) == 1 and got[0].serial_number == serial and got[0].name == cert_name
                and got[0].certificate_type == "authentication", f"{[c.model_dump() for c in got]}", tr.log[-1])
        cert = x509.load_der_x509_certificate(base64.b64decode(got[0].base64_encoded_certificate, validate=True))
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        require(cert.public_key().public_bytes(serialization.Encoding.DER, spki)
                == csr_key.public_key().public_bytes(serialization.Encoding.DER, spki), "certificate key is not the CSR key")
        listed = auth.certificates.list(certificate_serial_number=serial).first_page()
        require(len(listed) == 1 and listed[0].status == "active" and listed[0].subject_identifier.value == args.nip,
                f"POST /certificates/query: {[c.model_dump() for c in listed]}", tr.log[-1])
        lim = auth.certificates.get_limits()
        require(lim.enrollment_remaining <= lim_before.enrollment_remaining - 1,
                f"enrollment remaining {lim_before.enrollment_remaining} -> {lim.enrollment_remaining}, expected at least one less")
        return cert, f"issuer {cert.issuer.rfc4514_string()}; listed {listed[0].status} {listed[0].subject_identifier.model_dump()}"
    ksef_cert = rep.step("POST /certificates/retrieve, /certificates/query, GET /certificates/limits", retrieve)

    rep.step("with_xades(KSeF certificate, verify_chain=True) -> 200 InternalCertificate",
             lambda: login("InternalCertificate", "xades.ksef-certificate", nip=args.nip, cert=ksef_cert,
                           private_key=csr_key, verify_chain=True))
    rep.step("with_xades(test certificate, verify_chain=True) -> 460 (self-signed)",
             lambda: refused_login(460, nip=args.nip, cert=seal_cert, private_key=seal_key, verify_chain=True))

    def revoke_cert():
        m = len(tr.log)
        auth.certificates.revoke(certificate_serial_number=serial, reason="superseded")
        http_status(tr.calls(m, "POST", r"/revoke$"), 204, "POST /certificates/{serial}/revoke")
        listed = auth.certificates.list(certificate_serial_number=serial).first_page()
        require([c.status for c in listed] in (["revoked"], ["blocked"]), f"status after revocation {[c.status for c in listed]}",
                tr.log[-1])
        _, summary = refused_login(460, nip=args.nip, cert=ksef_cert, private_key=csr_key)
        return None, f"{listed[0].status}; login: {summary}"
    rep.step("POST /certificates/{serial}/revoke -> 204, query shows it revoked, with_xades() with it -> 460", revoke_cert)

    # 6. KSeF token ---------------------------------------------------------------------------------------
    def token():
        m = len(tr.log)
        gen = auth.tokens.generate(permissions=["invoice_read", "invoice_write"],
                                   description=f"peer_ksef2_xades {args.key} {rng.randint(1000, 9999)}")
        http_status(tr.calls(m, "POST", r"/tokens$"), 202, "POST /tokens")
        secret = gen.token
        st = gen.wait(timeout=budget, poll_interval=every)
        require(st.status == "active", f"status {st.status}")
        listed = [t for t in auth.tokens.list(params=TokenListParams(status=["active"])) if t.reference_number == gen.reference_number]
        require(len(listed) == 1 and sorted(listed[0].requested_permissions) == ["invoice_read", "invoice_write"],
                f"GET /tokens?status=Active: {[t.model_dump() for t in listed]}", tr.log[-1])
        m = len(tr.log)
        client.authentication.with_token(ksef_token=secret, nip=args.nip, timeout=budget, poll_interval=every)
        j = last_auth_status(m).json() or {}
        require(j.get("authenticationMethod") == "Token", f"token login: authenticationMethod {j.get('authenticationMethod')}")
        m = len(tr.log)
        auth.tokens.revoke(reference_number=gen.reference_number)
        http_status(tr.calls(m, "DELETE", r"/tokens/[^/]+$"), 204, "DELETE /tokens/{ref}")
        after = auth.tokens.get_status(reference_number=gen.reference_number).status
        require(after in ("revoking", "revoked"), f"status {after} after DELETE")
        return None, f"ref={gen.reference_number} active, with_token() ok, then {after}"
    rep.step("POST /tokens -> wait Active -> GET /tokens -> with_token() -> DELETE /tokens/{ref}", token)

    # 7. test data ----------------------------------------------------------------------------------------
    person_nip, pesel = generate_nip(rng), generate_pesel(rng=rng)

    def person():
        client.testdata.create_person(nip=person_nip, pesel=pesel, description="peer_ksef2_xades person")
        http_status(tr.calls(len(tr.log) - 1, "POST", r"/testdata/person$"), 200, "POST /testdata/person")
        cert, key = person_cert(pesel, args.key)
        _, summary = login("QualifiedSignature", "xades.qualified-signature", nip=person_nip, cert=cert, private_key=key)
        return None, f"nip={person_nip} pesel={pesel}; {summary}"
    rep.step("testdata.create_person -> with_xades(PNOPL-<pesel> certificate) in the person's NIP -> 200", person)

    other_nip = generate_nip(rng)
    other_cert, other_key = generate_test_certificate(other_nip)
    if args.key == "ec":
        other_cert, other_key = ec_seal_like(other_cert)
    rep.step(f"with_xades(test certificate of {other_nip}) in {args.nip} without permissions -> 415",
             lambda: refused_login(415, nip=args.nip, cert=other_cert, private_key=other_key))

    def grant():
        client.testdata.grant_permissions(permissions=[Permission(type="invoice_read", description="peer_ksef2_xades biuro")],
                                          grant_to=Identifier(type="nip", value=other_nip),
                                          in_context_of=Identifier(type="nip", value=args.nip))
        http_status(tr.calls(len(tr.log) - 1, "POST", r"/testdata/permissions$"), 200, "POST /testdata/permissions")
        _, summary = login("QualifiedSeal", "xades.qualified-seal", nip=args.nip, cert=other_cert, private_key=other_key)
        return None, summary
    rep.step(f"testdata.grant_permissions(invoice_read to {other_nip}) -> with_xades() in {args.nip} -> 200", grant)

    def one_call():
        m = len(tr.log)
        client.authentication.with_test_certificate(nip=args.nip, timeout=budget, poll_interval=every)
        return None, expect_method(last_auth_status(m), "QualifiedSeal", "xades.qualified-seal")
    rep.step("with_test_certificate() -> 200", one_call)

    def terminate():
        m = len(tr.log)
        auth.sessions.terminate_current()
        http_status(tr.calls(m, "DELETE", r"/auth/sessions/current$"), 204, "DELETE /auth/sessions/current")
        return None, ""
    rep.step("DELETE /auth/sessions/current -> 204", terminate)

    client.close()
    http.close()
    print(f"RESULT: PASS, {rep.n} steps, {rep.warnings} warning(s); ksefNumber={ksef_number}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
