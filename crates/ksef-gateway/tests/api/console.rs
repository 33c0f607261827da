//! The operator's console and the admin API over HTTP: the operator key, tenants added, re-keyed and disabled,
//! the audit log; console sign-ins that see one tenant or all, escape every invoice value, refuse cross-site
//! forms, and expire.

use std::time::Duration;

use ksef_gateway::config::KsefSettings;
use serde_json::{Value, json};

use crate::helpers::{NIP, OTHER_NIP, TestApp, database_url, invoice, settings, spawn_app, spawn_with};

fn operator_key(app: &TestApp) -> String {
    app.app.operator_key().expect("a fresh setup makes an operator key").expose().to_owned()
}

/// A browser-like client: no redirects followed (the tests look at them), the console cookie kept by hand.
struct Browser {
    http: reqwest::Client,
    origin: String,
    cookie: String,
}

impl Browser {
    async fn sign_in(app: &TestApp, key: &str) -> Result<Browser, reqwest::Response> {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let origin = format!("http://{}", app.app.address());
        let response = http.post(format!("{origin}/console/sign-in")).header("origin", &origin).form(&[("key", key)]).send().await.unwrap();
        if response.status() != 303 {
            return Err(response);
        }
        let set = response.headers().get("set-cookie").expect("a sign-in sets its cookie").to_str().unwrap().to_owned();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
        let cookie = set.split(';').next().unwrap().to_owned();
        Ok(Browser { http, origin, cookie })
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.origin)).header("cookie", &self.cookie).send().await.unwrap()
    }

    async fn page(&self, path: &str) -> (u16, String) {
        let r = self.get(path).await;
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// The form token of the page at `path`.
    async fn csrf(&self, path: &str) -> String {
        let (_, body) = self.page(path).await;
        let at = body.find("name=\"csrf\" value=\"").expect("the page has a form") + "name=\"csrf\" value=\"".len();
        body[at..].split('"').next().unwrap().to_owned()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http.post(format!("{}{path}", self.origin)).header("cookie", &self.cookie).header("origin", &self.origin).form(form).send().await.unwrap()
    }
}

async fn wait_state(app: &TestApp, key: &str, id: &str, state: &str) -> Value {
    for _ in 0..300 {
        let v: Value = app.get(&format!("/ksefInvoiceStatus/{id}"), key).await.json().await.unwrap();
        if v["invoices"][0]["delivery"]["state"] == state {
            return v["invoices"][0].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("invoice {id} never reached {state}");
}

#[tokio::test]
async fn the_operator_adds_rekeys_and_disables_tenants_and_every_action_is_audited() {
    let app = spawn_app().await;
    let operator = operator_key(&app);
    let admin = |path: &str| format!("{}/admin{path}", app.base);

    let (status, code, _) = TestApp::error(app.http.get(admin("/tenants")).bearer_auth(&app.api_key).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (401, "1906"), "a tenant's API key is not an operator key");
    let (status, code, _) = TestApp::error(app.http.get(admin("/tenants")).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (401, "1906"));

    let bad = app.http.post(admin("/tenants")).bearer_auth(&operator).json(&json!({ "name": "", "nip": "12", "ksefToken": " " })).send().await.unwrap();
    let (status, code, body) = TestApp::error(bad).await;
    assert_eq!((status, code.as_str()), (400, "1902"));
    let details = body["details"].as_str().unwrap();
    assert!(details.contains("name") && details.contains("nip") && details.contains("ksefToken"), "every problem at once: {details}");

    let emulator = app.app.emulator().unwrap();
    let token = emulator.emulator().issue_token(OTHER_NIP, None).await.unwrap().token;
    let added = app.http.post(admin("/tenants")).bearer_auth(&operator).json(&json!({ "name": "Biuro <b>", "nip": OTHER_NIP, "ksefToken": token })).send().await.unwrap();
    assert_eq!(added.status(), 201);
    let added: Value = added.json().await.unwrap();
    let id = added["tenant"]["id"].as_str().unwrap().to_owned();
    let first_key = added["apiKey"].as_str().unwrap().to_owned();
    assert_eq!(added["tenant"]["credential"]["kind"], "token");
    assert_eq!(app.get("/ksefSessionOpenOnline", &first_key).await.status(), 405, "the new key is accepted (GET is not the method)");

    let list: Value = app.http.get(admin("/tenants")).bearer_auth(&operator).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["tenants"].as_array().unwrap().len(), 2, "the demo tenant and the new one: {list}");
    let retried = app
        .http
        .post(admin("/tenants"))
        .bearer_auth(&operator)
        .header("idempotency-key", "k1")
        .json(&json!({ "name": "Third", "nip": "1111111111", "ksefToken": "t" }))
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 201, "an Idempotency-Key (a tenant's mechanism) does not get in the operator's way");
    let third = retried.json::<Value>().await.unwrap()["tenant"]["id"].as_str().unwrap().to_owned();

    let rotated: Value = app.http.post(admin(&format!("/tenants/{id}/apiKey"))).bearer_auth(&operator).send().await.unwrap().json().await.unwrap();
    let second_key = rotated["apiKey"].as_str().unwrap().to_owned();
    let (status, code, _) = TestApp::error(app.post("/ksefSessionOpenOnline", &first_key, &json!({ "invoiceVersion": "v3" })).await).await;
    assert_eq!((status, code.as_str()), (401, "1901"), "the old key is revoked at once");

    let disabled: Value = app.http.post(admin(&format!("/tenants/{id}/disable"))).bearer_auth(&operator).send().await.unwrap().json().await.unwrap();
    assert!(disabled["disabled"].is_string(), "{disabled}");
    let (status, code, _) = TestApp::error(app.post("/ksefSessionOpenOnline", &second_key, &json!({ "invoiceVersion": "v3" })).await).await;
    assert_eq!((status, code.as_str()), (401, "1901"), "a disabled tenant's key works no more");
    assert!(Browser::sign_in(&app, &second_key).await.is_err(), "nor does it sign in to the console");
    app.http.post(admin(&format!("/tenants/{id}/enable"))).bearer_auth(&operator).send().await.unwrap().error_for_status().unwrap();
    let session = app.post("/ksefSessionOpenOnline", &second_key, &json!({ "invoiceVersion": "v3" })).await;
    assert_eq!(session.status(), 200, "enabled again");

    let token = app.http.put(admin(&format!("/tenants/{id}/credential"))).bearer_auth(&operator).json(&json!({ "ksefToken": "x", "certificate": { "key": "y" } })).send().await.unwrap();
    assert_eq!(TestApp::error(token).await.1, "1902", "a token or a certificate, not both");
    let (status, code, _) = TestApp::error(app.http.post(admin("/tenants/nope/disable")).bearer_auth(&operator).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (404, "1601"));

    let audit: Value = app.http.get(admin("/audit")).bearer_auth(&operator).send().await.unwrap().json().await.unwrap();
    let actions: Vec<&str> = audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["tenant.enable", "tenant.disable", "tenant.rotate_api_key", "tenant.add", "tenant.add"], "newest first");
    assert_eq!(audit["entries"][3]["target"], third.as_str());
    let entry = &audit["entries"][4];
    assert_eq!(entry["target"], id.as_str());
    assert!(entry["actor"].as_str().unwrap().starts_with("operator kgo_"), "{entry}");
    let text = audit.to_string();
    assert!(!text.contains(&operator) && !text.contains(&first_key) && !text.contains(&second_key), "no secret in the audit log");
    let (status, code, _) = TestApp::error(app.http.get(admin("/audit?limit=0")).bearer_auth(&operator).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (400, "1902"));
}

#[tokio::test]
async fn the_operator_key_is_made_once_and_kept_in_a_private_file() {
    let app = spawn_app().await;
    let key = operator_key(&app);
    let file = app.dir.path().join("operator-key.json");
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(saved["operatorKey"], key.as_str());
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);

    // A restart on the same data finds the same key, and makes no other.
    let TestApp { app: running, dir, database_url, .. } = app;
    running.shutdown().await.unwrap();
    let again = spawn_with(settings(dir.path(), database_url.clone(), KsefSettings::default()), dir, database_url).await;
    assert_eq!(operator_key(&again), key);
    let count = again.app.ops().store.operator_key_count().await.unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn a_tenant_signed_in_to_the_console_sees_nothing_of_another_tenant() {
    let app = spawn_app().await;
    let other_key = app.add_tenant(OTHER_NIP).await;
    // The demo tenant's invoice: the other tenant must not reach it by any page.
    let session = app.open_session(&app.api_key).await;
    let id = app.send(&app.api_key, &session, &invoice(NIP, "FV/SECRET/1")).await;
    app.wait_invoice(&app.api_key, &id).await;
    let demo = app.app.ops().store.tenant_by_api_key(&ksef_gateway::ops::tenants::api_key_hash(&app.api_key)).await.unwrap().unwrap();

    let stranger = Browser::sign_in(&app, &other_key).await.expect("signs in");
    for path in [
        format!("/console/dashboard?tenant={}", demo.id),
        format!("/console/invoices?tenant={}", demo.id),
        format!("/console/validate?tenant={}", demo.id),
        format!("/console/received?tenant={}", demo.id),
        format!("/console/webhooks?tenant={}", demo.id),
        format!("/console/invoices/{id}"),
        format!("/console/invoices/{id}?tenant={}", demo.id),
        format!("/console/invoices/{id}/preview"),
        format!("/console/invoices/{id}/pdf"),
        format!("/console/invoices/{id}/xml"),
        format!("/console/invoices/{id}/upo"),
        "/console/tenants".to_owned(),
        "/console/audit".to_owned(),
    ] {
        let (status, body) = stranger.page(&path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.contains("FV/SECRET") && !body.contains("Demo") && !body.contains("hooks.example.com"), "{path} shows nothing of the other tenant");
    }
    let csrf = stranger.csrf("/console/dashboard").await;
    let retry = stranger.post(&format!("/console/invoices/{id}/retry"), &[("csrf", &csrf)]).await;
    assert_eq!(retry.status(), 404);
    // The demo tenant's webhook (straight into the store: this machine resolves no public name to check a URL by).
    let hook_id = "01a24600-0000-7000-8000-000000000001";
    let hook = ksef_store::NewWebhook {
        id: hook_id.to_owned(),
        tenant_id: demo.id.clone(),
        url: "https://hooks.example.com/private".to_owned(),
        kinds: None,
        description: None,
        secret_sealed: vec![0; 32],
        now: 1,
    };
    app.app.ops().store.insert_webhook(&hook).await.unwrap();
    let (_, owner_view) = Browser::sign_in(&app, &app.api_key).await.unwrap().page("/console/webhooks").await;
    assert!(owner_view.contains("hooks.example.com/private"), "the owner sees its webhook: {owner_view}");
    let redeliver = stranger.post(&format!("/console/webhooks/{hook_id}/deliveries/x/redeliver?tenant={}", demo.id), &[("csrf", &csrf)]).await;
    assert_eq!(redeliver.status(), 404);
    let redeliver = stranger.post(&format!("/console/webhooks/{hook_id}/deliveries/x/redeliver"), &[("csrf", &csrf)]).await;
    assert_eq!(redeliver.status(), 404, "another tenant's webhook does not exist for it");
    let (status, own) = stranger.page("/console/invoices").await;
    assert_eq!(status, 200);
    assert!(!own.contains("FV/SECRET"), "its own list holds none of the other's invoices");
    let (_, hooks) = stranger.page("/console/webhooks").await;
    assert!(!hooks.contains("hooks.example.com"), "its webhooks page lists none of the other's");
    let (_, board) = stranger.page("/console/dashboard").await;
    assert!(!board.contains("/console/tenants"), "a tenant has no tenants page in its navigation");

    // The operator sees both.
    let operator = Browser::sign_in(&app, &operator_key(&app)).await.unwrap();
    let (status, list) = operator.page(&format!("/console/invoices?tenant={}", demo.id)).await;
    assert_eq!(status, 200);
    assert!(list.contains("FV/SECRET/1"), "{list}");
    let (status, _) = operator.page(&format!("/console/invoices/{id}/preview?tenant={}", demo.id)).await;
    assert_eq!(status, 200);

    // Re-keying the tenant ends its sign-ins.
    let stranger_id = app.app.ops().store.tenant_by_api_key(&ksef_gateway::ops::tenants::api_key_hash(&other_key)).await.unwrap().unwrap().id;
    let rotated = app.http.post(format!("{}/admin/tenants/{stranger_id}/apiKey", app.base)).bearer_auth(operator_key(&app)).send().await.unwrap();
    assert_eq!(rotated.status(), 200);
    let after = stranger.get("/console/dashboard").await;
    assert_eq!(after.status(), 303, "a sign-in with a revoked key has ended");

    // Wrong keys sign in to nothing.
    for key in ["kgw_nope", "kgo_nope", "", &"x".repeat(500)] {
        let refused = Browser::sign_in(&app, key).await.err().expect("refused");
        assert_eq!(refused.status(), 401, "{key}");
    }
    let anonymous = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = anonymous.get(format!("http://{}/console/invoices/{id}/xml", app.app.address())).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (303, "/console/sign-in"));
    // Without a sign-in, no page and no action: every one is sent to the sign-in page and changes nothing.
    let origin = format!("http://{}", app.app.address());
    let tenants_before = app.app.ops().store.tenants().await.unwrap().len();
    for path in [
        "/console/dashboard".to_owned(),
        "/console/tenants".to_owned(),
        "/console/audit".to_owned(),
        format!("/console/invoices/{id}/preview"),
        format!("/console/received?tenant={}", demo.id),
        format!("/console/webhooks?tenant={}", demo.id),
    ] {
        let r = anonymous.get(format!("{origin}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 303, "{path}");
    }
    let form = [("csrf", "x"), ("name", "X"), ("nip", OTHER_NIP), ("ksef_token", "t"), ("xml", "eA")];
    for path in [
        "/console/tenants".to_owned(),
        format!("/console/tenants/{}/disable", demo.id),
        format!("/console/tenants/{}/rotate", demo.id),
        "/console/submit".to_owned(),
        format!("/console/invoices/{id}/retry"),
        format!("/console/webhooks/{hook_id}/deliveries/x/redeliver"),
        "/console/sign-out".to_owned(),
    ] {
        let r = anonymous.post(format!("{origin}{path}")).header("origin", &origin).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 303, "{path} without a sign-in");
    }
    assert_eq!(app.app.ops().store.tenants().await.unwrap().len(), tenants_before);
    assert!(app.app.ops().store.tenant(&demo.id).await.unwrap().unwrap().disabled_at.is_none());
    assert_eq!(app.get(&format!("/ksefInvoiceStatus/{id}"), &app.api_key).await.status(), 200, "the demo tenant's key still works");
}

#[tokio::test]
async fn an_invoice_whose_fields_hold_html_is_shown_as_text() {
    let app = spawn_app().await;
    let session = app.open_session(&app.api_key).await;
    let number = "FV/<script>alert(1)</script>/\"'&";
    let xml = String::from_utf8(invoice(NIP, "NUMBER")).unwrap().replace("<P_2>NUMBER</P_2>", "<P_2>FV/&lt;script&gt;alert(1)&lt;/script&gt;/&quot;&apos;&amp;</P_2>");
    let id = app.send(&app.api_key, &session, xml.as_bytes()).await;
    let done = app.wait_invoice(&app.api_key, &id).await;
    assert_eq!(done["invoiceNumber"], number, "KSeF took the number as text");

    let browser = Browser::sign_in(&app, &app.api_key).await.unwrap();
    for path in [format!("/console/invoices/{id}"), "/console/invoices".to_owned(), format!("/console/invoices?q={}", "%3Cscript")] {
        let (status, body) = browser.page(&path).await;
        assert_eq!(status, 200, "{path}");
        assert!(!body.contains("<script>alert"), "{path}: the number is escaped");
        assert!(body.contains("FV/&lt;script&gt;alert(1)&lt;/script&gt;/"), "{path}: and shown: {body}");
    }
    let preview = browser.get(&format!("/console/invoices/{id}/preview")).await;
    assert_eq!(preview.status(), 200);
    let csp = preview.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("sandbox") && csp.contains("default-src 'none'"), "the preview runs no script: {csp}");
    let body = preview.text().await.unwrap();
    assert!(!body.contains("<script>alert"), "the visualization escapes it too");
}

#[tokio::test]
async fn a_rejected_invoice_is_found_with_its_reason_a_fix_and_its_content() {
    let app = spawn_app().await;
    let session = app.open_session(&app.api_key).await;
    // Dated tomorrow: KSeF refuses it (450).
    let tomorrow = (ksef_client::wire::datetime::to_warsaw(chrono::Utc::now()).date_naive() + chrono::Days::new(1)).to_string();
    let xml = ksef_fa::example::invoice(NIP, OTHER_NIP, "FV/LATE/1", &tomorrow, 1);
    let id = app.send(&app.api_key, &session, xml.as_bytes()).await;
    wait_state(&app, &app.api_key, &id, "rejected").await;

    let browser = Browser::sign_in(&app, &app.api_key).await.unwrap();
    let (status, board) = browser.page("/console/dashboard").await;
    assert_eq!(status, 200);
    let failures = &board[board.find("id=\"failures\"").expect("a failures section")..];
    assert!(failures.contains("FV/LATE/1") && failures.contains("450"), "the failure is at the top with KSeF's code: {failures}");
    assert!(failures.contains("Co zrobić"), "and a fix (Polish by default)");
    let (_, page) = browser.page(&format!("/console/invoices/{id}")).await;
    assert!(page.contains(&tomorrow), "KSeF's detail names the date: {page}");
    let xml_back = browser.get(&format!("/console/invoices/{id}/xml")).await;
    assert_eq!(xml_back.status(), 200);
    assert_eq!(xml_back.bytes().await.unwrap(), xml.as_bytes(), "the rejected invoice's content is kept to be shown");
    let (status, preview) = browser.page(&format!("/console/invoices/{id}/preview")).await;
    assert_eq!(status, 200);
    assert!(preview.contains("FV/LATE/1"));
    let (status, _) = browser.page(&format!("/console/invoices?state=rejected&q=late&from={tomorrow}")).await;
    assert_eq!(status, 200);
    let (_, found) = browser.page("/console/invoices?state=rejected&q=late").await;
    assert!(found.contains("FV/LATE/1"), "found by state and part of its number, case-insensitive");
    let (_, by_buyer) = browser.page(&format!("/console/invoices?q={OTHER_NIP}")).await;
    assert!(by_buyer.contains("FV/LATE/1"), "found by its buyer's NIP");
    let (_, none) = browser.page("/console/invoices?state=accepted&q=late").await;
    assert!(!none.contains("FV/LATE/1"));
    let (status, bad) = browser.page("/console/invoices?page=abc").await;
    assert_eq!(status, 400, "a malformed query is an error page, not a plain-text rejection");
    assert!(bad.contains("1902") && bad.contains("<html"), "{bad}");
    let (status, bad) = browser.page("/console/invoices?state=nope&from=yesterday").await;
    assert_eq!(status, 400);
    assert!(bad.contains("state") && bad.contains("from"), "every problem with the filter: {bad}");
}

#[tokio::test]
async fn console_forms_refuse_cross_site_requests_and_sign_ins_expire() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = database_url().await;
    let mut s = settings(dir.path(), database_url.clone(), KsefSettings::default());
    s.console.session_secs = 2;
    let app = spawn_with(s, dir, database_url).await;
    let operator = Browser::sign_in(&app, &operator_key(&app)).await.unwrap();
    let csrf = operator.csrf("/console/tenants").await;
    let form = [("csrf", csrf.as_str()), ("name", "X"), ("nip", OTHER_NIP), ("ksef_token", "t")];

    let no_token = operator.post("/console/tenants", &[("name", "X"), ("nip", OTHER_NIP), ("ksef_token", "t")]).await;
    assert_eq!(no_token.status(), 403, "a form without the sign-in's token");
    let wrong = operator.post("/console/tenants", &[("csrf", "forged"), ("name", "X"), ("nip", OTHER_NIP), ("ksef_token", "t")]).await;
    assert_eq!(wrong.status(), 403);
    let cross = operator
        .http
        .post(format!("{}/console/tenants", operator.origin))
        .header("cookie", &operator.cookie)
        .header("origin", "http://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403, "a form from another origin");
    let fetched = operator.http.post(format!("{}/console/tenants", operator.origin)).header("cookie", &operator.cookie).header("sec-fetch-site", "cross-site").form(&form).send().await.unwrap();
    assert_eq!(fetched.status(), 403, "a request the browser marks cross-site");
    assert_eq!(app.app.ops().store.tenants().await.unwrap().len(), 1, "none of them added a tenant");

    let added = operator.post("/console/tenants", &form).await;
    assert_eq!(added.status(), 200);
    let body = added.text().await.unwrap();
    assert!(body.contains("kgw_"), "the new key is shown once");
    assert_eq!(app.app.ops().store.tenants().await.unwrap().len(), 2);

    tokio::time::sleep(Duration::from_millis(2500)).await;
    let ended = operator.get("/console/dashboard").await;
    assert_eq!((ended.status().as_u16(), ended.headers()["location"].to_str().unwrap()), (303, "/console/sign-in?ended=1"), "the sign-in expired");
    let late = operator.post("/console/tenants", &form).await;
    assert_eq!(late.status(), 303, "an expired sign-in changes nothing");
    assert_eq!(app.app.ops().store.tenants().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_dropped_file_is_checked_with_its_lines_marked_and_a_valid_one_is_sent() {
    let app = spawn_app().await;
    let browser = Browser::sign_in(&app, &app.api_key).await.unwrap();
    let csrf = browser.csrf("/console/validate").await;
    let good = String::from_utf8(invoice(NIP, "FV/DROP/1")).unwrap();
    let bad = good.replace("<P_2>FV/DROP/1</P_2>", "<P_2>FV/DROP/1</P_2><Nonsense>1</Nonsense>");
    let line = bad.lines().position(|l| l.contains("<Nonsense>")).unwrap() + 1;
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part("files", reqwest::multipart::Part::bytes(bad.into_bytes()).file_name("bad.xml"))
        .part("files", reqwest::multipart::Part::bytes(good.clone().into_bytes()).file_name("good.xml"));
    let r = browser.http.post(format!("{}/console/validate", browser.origin)).header("cookie", &browser.cookie).header("origin", &browser.origin).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("bad.xml") && body.contains("good.xml"));
    assert!(body.contains(&format!("href=\"#f0-L{line}\"")), "the finding links to its line {line}");
    assert!(body.contains(&format!("id=\"f0-L{line}\" class=\"line mark\"")), "and the line is marked");
    assert_eq!(body.matches("name=\"xml\"").count(), 1, "only the valid file can be sent");

    let garbled = browser.post("/console/submit", &[("csrf", &csrf), ("xml", "not base64!")]).await;
    assert_eq!(garbled.status(), 400);
    // The page carries the file's exact bytes (base64url), as the browser posts them back.
    let carried = ksef_core::crypto::b64url(good.as_bytes());
    assert!(body.contains(&carried), "the valid file's bytes are in its form");
    let sent = browser.post("/console/submit", &[("csrf", &csrf), ("xml", &carried)]).await;
    assert_eq!(sent.status(), 303);
    let location = sent.headers()["location"].to_str().unwrap().to_owned();
    let id = location.trim_start_matches("/console/invoices/").split('?').next().unwrap().to_owned();
    let accepted = wait_state(&app, &app.api_key, &id, "accepted").await;
    assert_eq!(accepted["invoiceNumber"], "FV/DROP/1");
    let audit = app.app.ops().store.audit_log(None, 10).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "console.submit" && e.target.as_deref() == Some(id.as_str())), "{audit:?}");
}

#[tokio::test]
async fn a_lost_operator_key_is_replaced_on_the_server_and_the_old_one_stops_working_at_once() {
    let app = spawn_app().await;
    let old = operator_key(&app);
    let signed_in = Browser::sign_in(&app, &old).await.unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_ksef-gateway"));
    command.args(["operator-key", "rotate", "--data-dir", app.dir.path().to_str().unwrap()]);
    if let Some(url) = &app.database_url {
        command.env("KSEF_GATEWAY_DATABASE_URL", url);
    }
    let output = command.output().await.unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let new = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(new.starts_with("kgo_") && new != old, "{new}");
    let saved: Value = serde_json::from_slice(&std::fs::read(app.dir.path().join("operator-key.json")).unwrap()).unwrap();
    assert_eq!(saved["operatorKey"], new.as_str());

    let admin = format!("{}/admin/tenants", app.base);
    let (status, code, _) = TestApp::error(app.http.get(&admin).bearer_auth(&old).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (401, "1906"), "the old key is revoked");
    assert_eq!(app.http.get(&admin).bearer_auth(&new).send().await.unwrap().status(), 200);
    assert_eq!(signed_in.get("/console/tenants").await.status(), 303, "a sign-in with the old key has ended");
    let audit: Value = app.http.get(format!("{}/admin/audit", app.base)).bearer_auth(&new).send().await.unwrap().json().await.unwrap();
    assert_eq!(audit["entries"][0]["action"], "operator.rotate_key", "{audit}");
}

#[tokio::test]
async fn the_operator_uploads_a_tenants_certificate_in_the_console() {
    let app = spawn_app().await;
    let operator = Browser::sign_in(&app, &operator_key(&app)).await.unwrap();
    let demo = app.app.ops().store.tenant_by_api_key(&ksef_gateway::ops::tenants::api_key_hash(&app.api_key)).await.unwrap().unwrap();
    let csrf = operator.csrf("/console/tenants").await;
    let (certificate, key) = crate::credentials::input(&crate::credentials::seal(NIP, 0x71));
    let upload = |csrf: String, key: Vec<u8>| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf)
            .part("certificate", reqwest::multipart::Part::bytes(certificate.clone()).file_name("seal.cer"))
            .part("key", reqwest::multipart::Part::bytes(key).file_name("seal.key"))
    };
    let url = format!("{}/console/tenants/{}/certificate", operator.origin, demo.id);
    let post = |form| operator.http.post(&url).header("cookie", &operator.cookie).header("origin", &operator.origin).multipart(form).send();

    let forged = post(upload("forged".into(), key.clone())).await.unwrap();
    assert_eq!(forged.status(), 403);
    let wrong = post(upload(csrf.clone(), b"not a key".to_vec())).await.unwrap();
    assert_eq!(wrong.status(), 400, "a file that is no key is refused with its reason");
    let set = post(upload(csrf, key)).await.unwrap();
    assert_eq!(set.status(), 200);
    let page = set.text().await.unwrap();
    assert!(page.contains("certificate") && page.contains("wygasa"), "the tenants page (Polish by default) shows it and its expiry");
    let summary = ksef_gateway::ops::admin::tenant(app.app.ops(), &demo.id).await.unwrap();
    assert_eq!(summary.credential.map(|c| c.kind.as_str()), Some("certificate"));
}
