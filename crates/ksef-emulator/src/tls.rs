//! HTTPS for the emulator (some clients insist on https): a server certificate made at each start and issued by
//! a CA of the emulator's own, kept in the data directory so clients trust it once, or a certificate given;
//! and a listener that completes TLS handshakes apart from the accept loop, so a slow client stalls no one.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use ksef_core::keys::{pem_blocks, pem_encode};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::keys::write_private;

/// Where the emulator's TLS certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// Made at each start for the names the emulator answers to, issued by the emulator's TLS CA (made once,
    /// kept in `{data_dir}/tls/`; clients trust `ca.pem`).
    Generated,
    /// A certificate chain (PEM) and its private key (PEM or DER: PKCS#8, PKCS#1 or SEC 1).
    Files {
        /// The chain, leaf first.
        certificate: PathBuf,
        /// The leaf's key.
        key: PathBuf,
    },
}

/// A TLS configuration ready to serve, and the CA clients should trust when it was generated.
pub(crate) struct Prepared {
    pub(crate) config: Arc<rustls::ServerConfig>,
    pub(crate) ca_pem: Option<PathBuf>,
}

/// How long a client may take to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once.
const MAX_HANDSHAKES: usize = 256;
/// Handshakes completed but not yet taken by the server.
const BACKLOG: usize = 64;
/// Validity of the CA (made once) and of each server certificate (made at each start).
const CA_DAYS: i64 = 3650;
const SERVER_DAYS: i64 = 365;

/// Prepares TLS from `source`; a generated certificate names `names` (DNS names or IP addresses).
pub(crate) fn prepare(source: &TlsSource, data_dir: &Path, names: &[String]) -> anyhow::Result<Prepared> {
    let (chain, key, ca_pem) = match source {
        TlsSource::Generated => {
            let (chain, key, ca_pem) = generate(&data_dir.join("tls"), names)?;
            (chain, key, Some(ca_pem))
        }
        TlsSource::Files { certificate, key } => {
            let chain = read_chain(certificate)?;
            let key_bytes = std::fs::read(key).with_context(|| format!("failed to read {}", key.display()))?;
            (chain, read_key(&key_bytes).with_context(|| format!("{} holds no private key we can read", key.display()))?, None)
        }
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the TLS certificate and key do not go together")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Prepared { config: Arc::new(config), ca_pem })
}

fn read_chain(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let bytes = std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))?;
    let blocks = match std::str::from_utf8(&bytes) {
        Ok(text) if text.contains("-----BEGIN") => pem_blocks(text, "CERTIFICATE").with_context(|| format!("{} is not PEM we can read", path.display()))?,
        _ => vec![bytes],
    };
    anyhow::ensure!(!blocks.is_empty(), "{} holds no certificate", path.display());
    Ok(blocks.into_iter().map(CertificateDer::from).collect())
}

fn read_key(bytes: &[u8]) -> anyhow::Result<PrivateKeyDer<'static>> {
    if let Ok(text) = std::str::from_utf8(bytes)
        && text.contains("-----BEGIN")
    {
        for (label, make) in [
            ("PRIVATE KEY", (|d: Vec<u8>| PrivateKeyDer::Pkcs8(d.into())) as fn(Vec<u8>) -> PrivateKeyDer<'static>),
            ("RSA PRIVATE KEY", |d| PrivateKeyDer::Pkcs1(d.into())),
            ("EC PRIVATE KEY", |d| PrivateKeyDer::Sec1(d.into())),
        ] {
            if let Some(der) = pem_blocks(text, label)?.into_iter().next() {
                return Ok(make(der));
            }
        }
        anyhow::bail!("no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block");
    }
    PrivateKeyDer::try_from(bytes.to_vec()).map_err(|e| anyhow::anyhow!("{e}"))
}

fn ca_params() -> rcgen::CertificateParams {
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, "KSeF emulator TLS CA (ksef-gateway)");
    dn.push(rcgen::DnType::OrganizationName, "ksef-gateway");
    params.distinguished_name = dn;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    params
}

fn validity(params: &mut rcgen::CertificateParams, days: i64) {
    use chrono::Datelike as _;
    let day = |t: chrono::DateTime<chrono::Utc>| rcgen::date_time_ymd(t.year(), t.month() as u8, t.day() as u8);
    let now = chrono::Utc::now();
    params.not_before = day(now - chrono::Duration::days(1));
    params.not_after = day(now + chrono::Duration::days(days));
}

/// The CA from `dir` (made on first use) and a fresh server certificate for `names` issued by it.
fn generate(dir: &Path, names: &[String]) -> anyhow::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, PathBuf)> {
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let (key_path, cert_path, pem_path) = (dir.join("ca.key.der"), dir.join("ca.cert.der"), dir.join("ca.pem"));
    let (ca_key, ca_der) = match (std::fs::read(&key_path), std::fs::read(&cert_path)) {
        (Ok(key), Ok(cert)) => {
            let key = rcgen::KeyPair::try_from(key.as_slice()).with_context(|| format!("failed to read {}", key_path.display()))?;
            (key, cert)
        }
        _ => {
            let key = rcgen::KeyPair::generate().context("failed to generate the TLS CA key")?;
            let mut params = ca_params();
            validity(&mut params, CA_DAYS);
            let cert = params.self_signed(&key).context("failed to make the TLS CA certificate")?;
            write_private(&key_path, &key.serialize_der())?;
            write_private(&cert_path, cert.der())?;
            (key, cert.der().to_vec())
        }
    };
    // The CA's certificate is public: readable by clients that must trust it.
    std::fs::write(&pem_path, pem_encode("CERTIFICATE", &ca_der)).with_context(|| format!("failed to write {}", pem_path.display()))?;
    let issuer = rcgen::Issuer::new(ca_params(), ca_key);
    let mut params = rcgen::CertificateParams::new(names.to_vec()).context("a name the TLS certificate cannot hold")?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, names.first().map_or("localhost", String::as_str));
    params.distinguished_name = dn;
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature, rcgen::KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut params, SERVER_DAYS);
    let key = rcgen::KeyPair::generate().context("failed to generate the TLS key")?;
    let cert = params.signed_by(&key, &issuer).context("failed to issue the TLS certificate")?;
    let chain = vec![cert.der().clone(), CertificateDer::from(ca_der)];
    Ok((chain, PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())), pem_path))
}

/// Accepts TCP connections and hands over those whose TLS handshake completed.
pub(crate) struct TlsListener {
    incoming: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    acceptor: JoinHandle<()>,
}

impl TlsListener {
    pub(crate) fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, incoming) = mpsc::channel(BACKLOG);
        let acceptor = TlsAcceptor::from(config);
        let handshakes = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
        let acceptor = tokio::spawn(async move {
            loop {
                // A slot first: idle connections that never finish a handshake cannot pile up past the bound.
                let Ok(slot) = handshakes.clone().acquire_owned().await else { return };
                let (stream, remote) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::debug!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
                    drop(slot);
                    match handshake {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, remote)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%remote, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { incoming, local, acceptor })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(connection) => connection,
            // The acceptor ended (only when aborted): nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}
