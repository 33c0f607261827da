//! One certificate (XAdES) login against one KSeF-token login, end to end against the emulator on loopback
//! (challenge, signed request or encrypted token, status polled, tokens redeemed), with RSA-2048 and EC P-256
//! self-signed seals; and the signing and verification alone, in process.
//!
//! Run with `cargo bench -p ksef-client --bench login`. `KSEF_BENCH_LOGINS` sets the logins per kind
//! (default 100). Reference: the token login, measured in the same run; figures are medians and p90.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ksef_client::wire::{ContextIdentifier, ContextIdentifierType};
use ksef_client::xades::{AuthTokenRequest, Credential, SubjectIdentifierType, oid, x509};
use ksef_client::{ContextClient, Credentials, KsefClient, Polling};
use ksef_core::keys::PrivateKey;
use ksef_emulator::{EmulatorConfig, EmulatorServer};

const NIP: &str = "5265877635";

fn seal(key: PrivateKey) -> Arc<Credential> {
    let subject = [x509::attribute(oid::ORGANIZATION_IDENTIFIER, &format!("VATPL-{NIP}")), x509::attribute(oid::COMMON_NAME, "Firma")];
    Arc::new(Credential::new(x509::self_signed(&subject, &key, &[0x21; 8], 30).unwrap(), key).unwrap())
}

fn context() -> ContextIdentifier {
    ContextIdentifier { kind: ContextIdentifierType::Nip, value: NIP.to_owned() }
}

/// Median and p90 of `samples`.
fn summary(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (samples[samples.len() / 2], samples[samples.len() * 9 / 10])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn logins(base: &str, n: usize, credentials: impl Fn() -> Credentials) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        // A client of its own each time: a fresh login, nothing cached.
        let client = ContextClient::new(KsefClient::new(base).unwrap(), credentials())
            .with_polling(Polling { interval: Duration::from_millis(2), timeout: Duration::from_secs(30) });
        let started = Instant::now();
        client.access_token().await.expect("login");
        samples.push(started.elapsed());
    }
    samples
}

fn in_process(n: usize, credential: &Credential) -> (Vec<Duration>, Vec<Duration>) {
    let request = AuthTokenRequest {
        challenge: "20261204-CR-0000000000-0000000000-00".to_owned(),
        context: context(),
        subject_identifier_type: SubjectIdentifierType::CertificateSubject,
        allowed_ips: None,
    }
    .to_xml();
    let (mut signing, mut verifying) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let started = Instant::now();
        let signed = ksef_client::xades::sign(&request, credential, chrono::Utc::now()).unwrap();
        signing.push(started.elapsed());
        let started = Instant::now();
        ksef_client::xades::verify(signed.as_bytes()).unwrap();
        verifying.push(started.elapsed());
    }
    (signing, verifying)
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("KSEF_BENCH_LOGINS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let dir = tempfile::tempdir().unwrap();
    let server = EmulatorServer::bind("127.0.0.1:0".parse().unwrap(), EmulatorConfig::new(dir.path())).await.unwrap();
    let base = server.base_url();
    let token = server.emulator().issue_token(NIP, None).await.unwrap().token;
    let rsa = seal(PrivateKey::generate_rsa_2048().unwrap());
    let ec = seal(PrivateKey::generate_p256().unwrap());

    // Warm-up: connections, the emulator's caches, the database's pages.
    logins(&base, 5, || Credentials::token(context(), &token)).await;
    logins(&base, 5, || Credentials::certificate(context(), rsa.clone())).await;

    let token_logins = summary(logins(&base, n, || Credentials::token(context(), &token)).await);
    let rsa_logins = summary(logins(&base, n, || Credentials::certificate(context(), rsa.clone())).await);
    let ec_logins = summary(logins(&base, n, || Credentials::certificate(context(), ec.clone())).await);
    println!("login end to end against the emulator on loopback, {n} each (median / p90):");
    println!("  KSeF token (reference)       {:7.2} ms / {:7.2} ms", ms(token_logins.0), ms(token_logins.1));
    for (name, (median, p90)) in [("XAdES, RSA-2048 seal", rsa_logins), ("XAdES, EC P-256 seal", ec_logins)] {
        println!("  {name:<28} {:7.2} ms / {:7.2} ms   = {:.2}x the token login", ms(median), ms(p90), median.as_secs_f64() / token_logins.0.as_secs_f64());
    }
    println!("in process, {n} each (median): signing the AuthTokenRequest / verifying it (as the emulator does)");
    for (name, credential) in [("RSA-2048", &rsa), ("EC P-256", &ec)] {
        let (signing, verifying) = in_process(n, credential);
        let (sign, verify) = (summary(signing).0, summary(verifying).0);
        println!("  {name:<9} sign {:6.3} ms, verify {:6.3} ms: {:.0}% of the token login", ms(sign), ms(verify), 100.0 * (sign + verify).as_secs_f64() / token_logins.0.as_secs_f64());
    }
    server.shutdown().await.unwrap();
}
