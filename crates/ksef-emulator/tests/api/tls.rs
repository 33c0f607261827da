//! HTTPS: the emulator makes a certificate its own CA vouches for (the CA kept across restarts), hands out
//! https URLs, and serves a certificate given instead.

use ksef_emulator::{EmulatorConfig, EmulatorServer, TlsSource};
use serde_json::Value;

async fn start(dir: &std::path::Path, configure: impl FnOnce(&mut EmulatorConfig)) -> EmulatorServer {
    let mut config = EmulatorConfig::new(dir);
    configure(&mut config);
    EmulatorServer::bind("127.0.0.1:0".parse().unwrap(), config).await.expect("emulator starts")
}

fn trusting(ca_pem: &[u8]) -> reqwest::Client {
    reqwest::Client::builder().add_root_certificate(reqwest::Certificate::from_pem(ca_pem).unwrap()).build().unwrap()
}

async fn certificates(http: &reqwest::Client, base: &str) -> reqwest::Result<Vec<Value>> {
    http.get(format!("{base}/v2/security/public-key-certificates")).send().await?.error_for_status()?.json().await
}

#[tokio::test]
async fn with_tls_the_emulator_serves_https_under_a_ca_it_keeps_and_hands_out_https_urls() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), |c| c.tls = Some(TlsSource::Generated)).await;
    let base = server.base_url();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    assert!(server.emulator().public_url().starts_with("https://"), "handed-out URLs are https too");
    let ca_path = server.tls_ca().expect("a generated certificate names its CA").to_path_buf();
    let ca = std::fs::read(&ca_path).unwrap();
    assert!(certificates(&trusting(&ca), &base).await.unwrap().len() >= 2);
    // A client that does not trust the CA is refused; plain HTTP gets no answer.
    assert!(certificates(&reqwest::Client::new(), &base).await.is_err());
    assert!(certificates(&reqwest::Client::new(), &base.replace("https://", "http://")).await.is_err());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("tls/ca.key.der")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the CA key is private");
    }
    server.shutdown().await.unwrap();

    // After a restart the same CA vouches for the new certificate.
    let server = start(dir.path(), |c| c.tls = Some(TlsSource::Generated)).await;
    assert_eq!(std::fs::read(server.tls_ca().unwrap()).unwrap(), ca);
    assert!(certificates(&trusting(&ca), &server.base_url()).await.is_ok());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_given_certificate_and_key_are_served_and_a_mismatched_pair_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let path = |name: &str| files.path().join(name);
    let (certificate, key, other_key) = (path("server.pem"), path("server.key"), path("other.key"));
    let p = |name: &str| path(name).to_str().unwrap().to_owned();
    let openssl = |args: &[&str]| assert!(std::process::Command::new("openssl").args(args).status().expect("openssl runs").success(), "{args:?}");
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    // A CA of the operator's, and a server certificate it issued (webpki takes no self-signed leaf).
    openssl(&[&["req", "-x509"][..], &ec, &["-keyout", &p("ca.key"), "-out", &p("ca.pem"), "-days", "2", "-subj", "/CN=Operator CA"]].concat());
    openssl(&[&["req"][..], &ec, &["-keyout", &p("server.key"), "-out", &p("server.csr"), "-subj", "/CN=localhost"]].concat());
    std::fs::write(path("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
    openssl(&["x509", "-req", "-in", &p("server.csr"), "-CA", &p("ca.pem"), "-CAkey", &p("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", &p("san.ext"), "-out", &p("server.pem")]);
    openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", &p("other.key")]);

    let given = TlsSource::Files { certificate: certificate.clone(), key: key.clone() };
    let server = start(dir.path(), |c| c.tls = Some(given)).await;
    assert!(server.tls_ca().is_none());
    let ca = std::fs::read(path("ca.pem")).unwrap();
    certificates(&trusting(&ca), &server.base_url()).await.unwrap();
    server.shutdown().await.unwrap();

    let mut config = EmulatorConfig::new(dir.path());
    config.tls = Some(TlsSource::Files { certificate, key: other_key });
    let refused = EmulatorServer::bind("127.0.0.1:0".parse().unwrap(), config).await.unwrap_err();
    assert!(format!("{refused:#}").contains("do not go together"), "{refused:#}");
}
