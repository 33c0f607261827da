#!/usr/bin/env python3
"""The operator's console in a real browser: Chromium driven by Playwright against a real `ksef-gateway serve`
on port 0 with its embedded emulator.

What a first-time operator does: sign in with the printed key, find the refused invoice and read why, open its
preview, drop an XML file and read its finding, add a tenant, sign in as that tenant and see it alone. Every
page is checked with axe-core (WCAG 2.1 AA, contrast included) and walked with the keyboard; an invoice whose
number holds a script must show it as text and run nothing.

Usage: console-browser.py --binary target/debug/ksef-gateway [--screenshots DIR] [--docs DIR]
  --screenshots: where page screenshots go when a check fails (default: console-screenshots/)
  --docs:        also write the three screenshots README's console section shows (dashboard, invoice, validation)

Needs: Python packages `playwright` and `axe-playwright-python` (for axe.min.js), and Chromium (Debian's
`chromium`, or CHROMIUM=/path).
"""

import argparse
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

from playwright.sync_api import sync_playwright, expect

NIP = "5265877635"


class Gateway:
    """`ksef-gateway serve` on port 0 in a fresh data folder, with what it printed."""

    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="ksef-console-")
        self.process = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(self.dir, "data")],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        printed = []
        deadline = time.time() + 120
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise SystemExit(f"serve exited early: {''.join(printed)}")
            printed.append(line)
            if "demo tenant:" in line:
                break
        text = "".join(printed)
        self.base = re.search(r"listening on (http://\S+)", text).group(1)
        self.console = re.search(r"Console: (http://\S+)", text).group(1)
        self.operator_key = re.search(r"(kgo_[A-Za-z0-9_-]+)", text).group(1)
        self.demo_key = re.search(r"API key (kgw_[A-Za-z0-9_-]+)", text).group(1)

    def api(self, method, path, body=None, key=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base}/api/v2{path}", data=data, method=method)
        request.add_header("Authorization", f"Bearer {key or self.demo_key}")
        if data is not None:
            request.add_header("content-type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stop(self):
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except Exception:
            os.killpg(self.process.pid, signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)


EXAMPLE = (Path(__file__).resolve().parent.parent / "examples" / "invoice.xml").read_text()


def invoice(number_xml, issue_date):
    """README's examples/invoice.xml with another number (given as XML text) and issue date."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        EXAMPLE.replace("<P_2>FV/EXAMPLE/1</P_2>", f"<P_2>{number_xml}</P_2>")
        .replace("<P_1>2026-11-25</P_1>", f"<P_1>{issue_date}</P_1>")
        .replace("<P_6>2026-11-25</P_6>", f"<P_6>{issue_date}</P_6>")
        .replace("<DataWytworzeniaFa>2026-11-25T09:00:00Z</DataWytworzeniaFa>", f"<DataWytworzeniaFa>{now}</DataWytworzeniaFa>")
    )


def today_in_poland():
    # Poland is UTC+1 or +2; an hour's error at midnight does not matter to these checks, a day's would.
    return (datetime.now(timezone.utc) + timedelta(hours=1)).date()


class Run:
    def __init__(self, page, axe_js, screenshots):
        self.page = page
        self.axe_js = axe_js
        self.screenshots = Path(screenshots)
        self.checked = []
        self.step = "start"

    def axe(self, name):
        """axe-core on the page as it is: WCAG 2.0/2.1 A and AA rules, colour contrast included; any violation fails."""
        # Evaluated through the DevTools protocol: the console's policy refuses inline scripts, rightly.
        if not self.page.evaluate("() => typeof window.axe === 'object'"):
            self.page.evaluate(self.axe_js + "\n;true")
        result = self.page.evaluate(
            """async () => await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } })"""
        )
        violations = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in result["violations"]
        ]
        if violations:
            raise AssertionError(f"axe on {name}: " + "; ".join(violations))
        self.checked.append((name, len(result["passes"])))

    def keyboard(self, name, must_reach):
        """(A page got with GET.) Tab from the top of the page: the skip link comes first, focus is always visible, and `must_reach` (a
        link or control's accessible text) is reached."""
        # Loaded afresh, so sequential focus starts at the top of the document.
        self.page.reload()
        self.page.keyboard.press("Tab")
        first = self.page.evaluate("() => document.activeElement.className")
        assert first == "skip", f"{name}: the first Tab lands on the skip link, not {first!r}"
        reached = False
        for _ in range(60):
            info = self.page.evaluate(
                """() => { const e = document.activeElement; const s = getComputedStyle(e);
                   return { text: (e.innerText || e.value || e.getAttribute('aria-label') || '').trim(), outline: s.outlineStyle, width: s.outlineWidth, tag: e.tagName }; }"""
            )
            if info["tag"] == "BODY":
                break
            assert info["outline"] != "none" and info["width"] != "0px", f"{name}: focus on {info} is not visible"
            if must_reach in info["text"]:
                reached = True
                break
            self.page.keyboard.press("Tab")
        assert reached, f"{name}: Tab never reached {must_reach!r}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--screenshots", default="console-screenshots")
    parser.add_argument("--docs")
    args = parser.parse_args()

    import axe_playwright_python

    axe_js = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("console-browser: no Chromium (apt-get install chromium, or set CHROMIUM)")

    gateway = Gateway(args.binary)
    started = time.time()
    try:
        # What the operator will look for: an invoice KSeF refused (dated tomorrow: 450), one accepted whose number
        # holds a script, and a few more.
        session = gateway.api("POST", "/ksefSessionOpenOnline", {"invoiceVersion": "v3"})["id"]
        today = today_in_poland()
        late = invoice("FV/2026/12/LATE", (today + timedelta(days=1)).isoformat())
        hostile = invoice("FV/&lt;script&gt;window.pwned=1&lt;/script&gt;/&lt;img src=x onerror=window.pwned=2&gt;", today.isoformat())
        sent = {}
        for name, xml in [("late", late), ("hostile", hostile)] + [(f"ok{n}", invoice(f"FV/2026/12/{n:03}", today.isoformat())) for n in range(1, 4)]:
            sent[name] = gateway.api("POST", "/ksefInvoiceSend", {"sessionId": session, "plain": {"invoice": base64.b64encode(xml.encode()).decode()}})["id"]
        deadline = time.time() + 60
        while True:
            states = {n: gateway.api("GET", f"/ksefInvoiceStatus/{i}")["invoices"][0]["delivery"]["state"] for n, i in sent.items()}
            if states["late"] == "rejected" and all(s == "accepted" for n, s in states.items() if n != "late"):
                break
            assert time.time() < deadline, f"KSeF's verdicts did not come: {states}"
            time.sleep(0.2)

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"])
            context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(15000)
            dialogs = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            run = Run(page, axe_js, args.screenshots)
            try:
                # 1. The printed address, then the sign-in page; English as the browser prefers.
                run.step = "sign-in"
                page.goto(gateway.console)
                expect(page).to_have_url(re.compile(r"/console/sign-in$"))
                run.axe("sign-in")
                run.keyboard("sign-in", "Sign in")
                page.get_by_label("Operator key or a tenant's API key").fill("kgo_wrong")
                page.keyboard.press("Enter")
                expect(page.get_by_role("alert")).to_contain_text("Unknown, revoked or disabled key")
                page.get_by_label("Operator key or a tenant's API key").fill(gateway.operator_key)
                page.get_by_role("button", name="Sign in").click()

                # 2. The dashboard: the refused invoice at the top, with KSeF's reason and what to do.
                run.step = "dashboard"
                expect(page).to_have_url(re.compile(r"/console/dashboard"))
                expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
                failure = page.locator("li.failure").filter(has_text="FV/2026/12/LATE")
                expect(failure).to_contain_text("450")
                expect(failure).to_contain_text("What to do")
                run.axe("dashboard")
                run.keyboard("dashboard", "Invoices")
                if args.docs:
                    page.screenshot(path=os.path.join(args.docs, "console-dashboard.png"), full_page=True)

                # 3. The refused invoice's page: why, the timeline, and its preview.
                run.step = "invoice"
                failure.get_by_role("link", name="FV/2026/12/LATE").click()
                expect(page.get_by_role("heading", level=1)).to_contain_text("FV/2026/12/LATE")
                expect(page.locator(".status")).to_contain_text("450")
                expect(page.locator(".status .details")).to_contain_text((today + timedelta(days=1)).isoformat())
                expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
                frame = page.frame_locator("iframe.preview")
                expect(frame.locator("body")).to_contain_text("FV/2026/12/LATE")
                run.axe("invoice")
                if args.docs:
                    page.screenshot(path=os.path.join(args.docs, "console-invoice.png"), full_page=True)
                with page.expect_download() as download:
                    page.get_by_role("link", name="PDF").click()
                pdf = download.value.path()
                assert Path(pdf).read_bytes()[:5] == b"%PDF-", "the PDF download is a PDF"

                # 4. The list: search, filter, and the invoice whose number holds HTML, shown as text.
                run.step = "invoices"
                page.get_by_role("navigation", name="Main").get_by_role("link", name="Invoices").click()
                page.get_by_label("Number, KSeF number, buyer's NIP or id").fill("script")
                page.get_by_role("button", name="Search").click()
                hostile_link = page.get_by_role("link", name="FV/<script>window.pwned=1</script>")
                expect(hostile_link).to_be_visible()
                run.axe("invoices")
                hostile_link.click()
                expect(page.get_by_role("heading", level=1)).to_contain_text("<script>window.pwned=1</script>")
                expect(page.frame_locator("iframe.preview").locator("body")).to_contain_text("<img src=x onerror=window.pwned=2>")
                pwned = page.evaluate("() => window.pwned")
                assert pwned is None and not dialogs, f"an invoice's text ran as script: {pwned} {dialogs}"
                page.get_by_role("navigation", name="Main").get_by_role("link", name="Invoices").click()
                page.get_by_label("State").select_option("accepted")
                page.get_by_role("button", name="Search").click()
                expect(page.locator("p.meta")).to_contain_text("of 4")
                page.get_by_label("State").select_option("")
                page.get_by_label("Number, KSeF number, buyer's NIP or id").fill("1111111111")
                page.get_by_role("button", name="Search").click()
                expect(page.locator("p.meta")).to_contain_text("of 5")

                # 5. Validation: a file dropped on the form, its finding listed with its line, the line marked.
                run.step = "validate"
                page.get_by_role("navigation", name="Main").get_by_role("link", name="Validate").click()
                broken = invoice("FV/2026/12/DROP", today.isoformat()).replace("<P_13_1>100.00</P_13_1>", "<P_13_1>sto</P_13_1>")
                bad_line = next(i for i, l in enumerate(broken.splitlines(), 1) if "<P_13_1>" in l)
                transfer = page.evaluate_handle(
                    """(xml) => { const t = new DataTransfer(); t.items.add(new File([xml], 'dropped.xml', { type: 'text/xml' })); return t; }""",
                    broken,
                )
                page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
                result = page.locator("section.result")
                expect(result.get_by_role("heading")).to_contain_text("dropped.xml")
                expect(result).to_contain_text("invalid")
                finding = result.locator("table.findings tr.error").first
                expect(finding).to_contain_text("P_13_1")
                expect(finding.get_by_role("link", name=str(bad_line))).to_be_visible()
                expect(page.locator(f"#f0-L{bad_line}")).to_have_class(re.compile(r"\bmark\b"))
                run.axe("validation result")
                if args.docs:
                    page.screenshot(path=os.path.join(args.docs, "console-validate.png"), full_page=True)
                # A valid file, chosen rather than dropped, and sent.
                good = Path(tempfile.mkdtemp()) / "good.xml"
                good.write_text(invoice("FV/2026/12/FROM-CONSOLE", today.isoformat()))
                page.get_by_label(re.compile("FA\\(2\\) or FA\\(3\\) XML files")).set_input_files(str(good))
                page.get_by_role("button", name="Check").click()
                expect(page.locator("section.result")).to_contain_text("valid")
                page.get_by_role("button", name="Send to KSeF").click()
                expect(page.get_by_role("heading", level=1)).to_contain_text("FV/2026/12/FROM-CONSOLE")

                # Received invoices and webhooks (none yet on a fresh setup): still pages to read with a screen reader.
                run.step = "received and webhooks"
                page.get_by_role("navigation", name="Main").get_by_role("link", name="Received").click()
                expect(page.get_by_role("heading", level=1)).to_have_text("Received invoices")
                run.axe("received")
                page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
                expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
                run.axe("webhooks")

                # 6. Tenants: add one, read its key once, and sign in as it: it sees itself alone.
                run.step = "tenants"
                page.get_by_role("navigation", name="Main").get_by_role("link", name="Tenants").click()
                run.axe("tenants")
                page.get_by_label("Name", exact=True).fill("Biuro Rachunkowe <Test>")
                page.get_by_label("NIP", exact=True).fill("7010002137")
                page.locator("#ksef_token").fill("a-token-for-the-emulator")
                page.get_by_role("button", name="Add", exact=True).click()
                key = page.locator("code.key").inner_text()
                assert key.startswith("kgw_"), key
                expect(page.get_by_role("link", name="Biuro Rachunkowe <Test>")).to_be_visible()
                page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
                expect(page.locator("tbody")).to_contain_text("tenant.add")
                run.axe("audit log")
                page.get_by_role("button", name="Sign out").click()
                expect(page).to_have_url(re.compile(r"/console/sign-in$"))
                page.get_by_label("Operator key or a tenant's API key").fill(key)
                page.get_by_role("button", name="Sign in").click()
                expect(page.locator("p.tenant")).to_contain_text("Biuro Rachunkowe <Test>")
                expect(page.get_by_role("link", name="Tenants")).to_have_count(0)
                page.goto(f"{gateway.console}/invoices/{sent['late']}")
                expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
                run.axe("not found")

                # 7. Polish, the default language for anyone whose browser does not prefer English.
                run.step = "polski"
                page.goto(f"{gateway.console}/dashboard")
                page.get_by_role("link", name="Polski").click()
                expect(page.get_by_role("heading", name="Pulpit")).to_be_visible()
                assert page.evaluate("() => document.documentElement.lang") == "pl"
                run.axe("pulpit (pl)")
            except Exception:
                run.screenshots.mkdir(parents=True, exist_ok=True)
                shot = run.screenshots / f"failed-{run.step}.png"
                page.screenshot(path=str(shot), full_page=True)
                (run.screenshots / f"failed-{run.step}.html").write_text(page.content())
                print(f"console-browser: FAILED at {run.step}; screenshot {shot}", file=sys.stderr)
                raise
            finally:
                browser.close()
        pages = ", ".join(f"{name} ({passes} rules passed)" for name, passes in run.checked)
        print(f"console-browser: PASS in {time.time() - started:.1f} s; axe-core found no violation on: {pages}")
    finally:
        gateway.stop()


if __name__ == "__main__":
    main()
