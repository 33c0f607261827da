//! The digest and signature algorithms KSeF accepts, named as XML-DSig names them (URIs) and as X.509 does
//! (object identifiers), and checking a signature with a `SubjectPublicKeyInfo`.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use ksef_core::der::{self, OID, SEQUENCE};

/// A digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// SHA-1 (verification only).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Digest {
    /// The digest of an XML-DSig `DigestMethod` URI.
    pub fn from_uri(uri: &str) -> Option<Digest> {
        Some(match uri {
            "http://www.w3.org/2000/09/xmldsig#sha1" => Digest::Sha1,
            "http://www.w3.org/2001/04/xmlenc#sha256" => Digest::Sha256,
            "http://www.w3.org/2001/04/xmldsig-more#sha384" => Digest::Sha384,
            "http://www.w3.org/2001/04/xmlenc#sha512" => Digest::Sha512,
            _ => return None,
        })
    }

    /// Its XML-DSig URI.
    pub fn uri(self) -> &'static str {
        match self {
            Digest::Sha1 => "http://www.w3.org/2000/09/xmldsig#sha1",
            Digest::Sha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
            Digest::Sha384 => "http://www.w3.org/2001/04/xmldsig-more#sha384",
            Digest::Sha512 => "http://www.w3.org/2001/04/xmlenc#sha512",
        }
    }

    /// The digest of a hash algorithm's object identifier.
    pub fn from_oid(oid: &str) -> Option<Digest> {
        Some(match oid {
            "1.3.14.3.2.26" => Digest::Sha1,
            "2.16.840.1.101.3.4.2.1" => Digest::Sha256,
            "2.16.840.1.101.3.4.2.2" => Digest::Sha384,
            "2.16.840.1.101.3.4.2.3" => Digest::Sha512,
            _ => return None,
        })
    }

    /// `data`'s digest.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let algorithm = match self {
            Digest::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Digest::Sha256 => &digest::SHA256,
            Digest::Sha384 => &digest::SHA384,
            Digest::Sha512 => &digest::SHA512,
        };
        digest::digest(algorithm, data).as_ref().to_vec()
    }
}

/// A signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    /// RSASSA-PKCS1-v1_5.
    RsaPkcs1(Digest),
    /// RSASSA-PSS with MGF1 of the same digest and a salt of the digest's length.
    RsaPss(Digest),
    /// ECDSA (P-256 or P-384).
    Ecdsa(Digest),
}

impl Signature {
    /// The algorithm of an XML-DSig `SignatureMethod` URI.
    pub fn from_uri(uri: &str) -> Option<Signature> {
        use Digest::*;
        Some(match uri {
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => Signature::RsaPkcs1(Sha1),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => Signature::RsaPkcs1(Sha256),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => Signature::RsaPkcs1(Sha384),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => Signature::RsaPkcs1(Sha512),
            "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1" => Signature::RsaPss(Sha256),
            "http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1" => Signature::RsaPss(Sha384),
            "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1" => Signature::RsaPss(Sha512),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" => Signature::Ecdsa(Sha256),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384" => Signature::Ecdsa(Sha384),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512" => Signature::Ecdsa(Sha512),
            _ => return None,
        })
    }

    /// Its XML-DSig URI.
    pub fn uri(self) -> &'static str {
        use Digest::*;
        match self {
            Signature::RsaPkcs1(Sha1) => "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            Signature::RsaPkcs1(Sha256) => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            Signature::RsaPkcs1(Sha384) => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
            Signature::RsaPkcs1(Sha512) => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
            Signature::RsaPss(Sha1) => "http://www.w3.org/2007/05/xmldsig-more#sha1-rsa-MGF1",
            Signature::RsaPss(Sha256) => "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1",
            Signature::RsaPss(Sha384) => "http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1",
            Signature::RsaPss(Sha512) => "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1",
            Signature::Ecdsa(Sha1) => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1",
            Signature::Ecdsa(Sha256) => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
            Signature::Ecdsa(Sha384) => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
            Signature::Ecdsa(Sha512) => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
        }
    }

    /// The algorithm of an X.509 `AlgorithmIdentifier` (DER, the whole element).
    pub fn from_algorithm_identifier(der_bytes: &[u8]) -> Option<Signature> {
        use Digest::*;
        let (seq, _) = der::expect(der_bytes, SEQUENCE, "AlgorithmIdentifier").ok()?;
        let (oid, params) = der::expect(seq.content, OID, "algorithm").ok()?;
        Some(match der::oid_text(oid.content).ok()?.as_str() {
            "1.2.840.113549.1.1.5" => Signature::RsaPkcs1(Sha1),
            "1.2.840.113549.1.1.11" => Signature::RsaPkcs1(Sha256),
            "1.2.840.113549.1.1.12" => Signature::RsaPkcs1(Sha384),
            "1.2.840.113549.1.1.13" => Signature::RsaPkcs1(Sha512),
            "1.2.840.10045.4.3.2" => Signature::Ecdsa(Sha256),
            "1.2.840.10045.4.3.3" => Signature::Ecdsa(Sha384),
            "1.2.840.10045.4.3.4" => Signature::Ecdsa(Sha512),
            "1.2.840.113549.1.1.10" => Signature::RsaPss(pss_hash(params).unwrap_or(Sha1)),
            _ => return None,
        })
    }

    /// Checks `signature` over `message` with the key of `spki` (DER `SubjectPublicKeyInfo`). ECDSA signatures
    /// are `r‖s` when `ecdsa_fixed` (XML-DSig), DER otherwise (X.509). RSA keys under 2048 bits never verify.
    pub fn verify(self, spki: &[u8], message: &[u8], signature: &[u8], ecdsa_fixed: bool) -> bool {
        use Digest::*;
        let candidates: Vec<&'static dyn VerificationAlgorithm> = match self {
            Signature::RsaPkcs1(Sha1) => vec![&signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY],
            Signature::RsaPkcs1(Sha256) => vec![&signature::RSA_PKCS1_2048_8192_SHA256],
            Signature::RsaPkcs1(Sha384) => vec![&signature::RSA_PKCS1_2048_8192_SHA384],
            Signature::RsaPkcs1(Sha512) => vec![&signature::RSA_PKCS1_2048_8192_SHA512],
            Signature::RsaPss(Sha256) => vec![&signature::RSA_PSS_2048_8192_SHA256],
            Signature::RsaPss(Sha384) => vec![&signature::RSA_PSS_2048_8192_SHA384],
            Signature::RsaPss(Sha512) => vec![&signature::RSA_PSS_2048_8192_SHA512],
            Signature::Ecdsa(Sha1) => vec![&signature::ECDSA_P256_SHA1_ASN1],
            Signature::Ecdsa(Sha256) => vec![&signature::ECDSA_P256_SHA256_ASN1, &signature::ECDSA_P384_SHA256_ASN1],
            Signature::Ecdsa(Sha384) => vec![&signature::ECDSA_P384_SHA384_ASN1, &signature::ECDSA_P256_SHA384_ASN1],
            Signature::Ecdsa(Sha512) => vec![&signature::ECDSA_P256_SHA512_ASN1, &signature::ECDSA_P384_SHA512_ASN1],
            // SHA-1 with PSS: nothing KSeF's clients make.
            Signature::RsaPss(Sha1) => Vec::new(),
        };
        // XML-DSig writes ECDSA as `r‖s`; the verifiers take DER, which serves every curve and digest pairing.
        let der_signature;
        let signature = match self {
            Signature::Ecdsa(_) if ecdsa_fixed => match fixed_to_der(signature) {
                Some(der) => {
                    der_signature = der;
                    &der_signature[..]
                }
                None => return false,
            },
            _ => signature,
        };
        candidates.into_iter().any(|alg| UnparsedPublicKey::new(alg, spki).verify(message, signature).is_ok())
    }
}

/// An ECDSA signature `r‖s` (two halves of equal length) as a DER `Ecdsa-Sig-Value`.
fn fixed_to_der(signature: &[u8]) -> Option<Vec<u8>> {
    if signature.is_empty() || !signature.len().is_multiple_of(2) || signature.len() > 132 {
        return None;
    }
    let (r, s) = signature.split_at(signature.len() / 2);
    Some(der::write::sequence(&[&der::write::unsigned(r), &der::write::unsigned(s)]))
}

/// The hash of RSASSA-PSS parameters (`[0] hashAlgorithm`; absent means SHA-1).
fn pss_hash(params: &[u8]) -> Option<Digest> {
    let (seq, _) = der::expect(params, SEQUENCE, "RSASSA-PSS-params").ok()?;
    for field in der::elements(seq.content).ok()? {
        if field.tag == der::CONTEXT_0 {
            let (alg, _) = der::expect(field.content, SEQUENCE, "hashAlgorithm").ok()?;
            let (oid, _) = der::expect(alg.content, OID, "hash").ok()?;
            return Digest::from_oid(&der::oid_text(oid.content).ok()?);
        }
    }
    Some(Digest::Sha1)
}

/// The kind and size of a public key, from its DER `SubjectPublicKeyInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKeyKind {
    /// RSA with a modulus of this many bits.
    Rsa(usize),
    /// EC on P-256.
    EcP256,
    /// EC on P-384.
    EcP384,
    /// Anything else.
    Other,
}

impl PublicKeyKind {
    /// Reads the kind of `spki`.
    pub fn of(spki: &[u8]) -> PublicKeyKind {
        Self::read(spki).unwrap_or(PublicKeyKind::Other)
    }

    fn read(spki: &[u8]) -> Option<PublicKeyKind> {
        let (seq, _) = der::expect(spki, SEQUENCE, "SubjectPublicKeyInfo").ok()?;
        let (alg, rest) = der::expect(seq.content, SEQUENCE, "algorithm").ok()?;
        let (oid, params) = der::expect(alg.content, OID, "algorithm").ok()?;
        match der::oid_text(oid.content).ok()?.as_str() {
            "1.2.840.113549.1.1.1" => {
                let (bits, _) = der::expect(rest, der::BIT_STRING, "subjectPublicKey").ok()?;
                let (key, _) = der::expect(bits.content.get(1..)?, SEQUENCE, "RSAPublicKey").ok()?;
                let (modulus, _) = der::expect(key.content, der::INTEGER, "modulus").ok()?;
                let magnitude: Vec<u8> = modulus.content.iter().copied().skip_while(|b| *b == 0).collect();
                let bits = magnitude.first().map_or(0, |b| 8 * magnitude.len() - b.leading_zeros() as usize);
                Some(PublicKeyKind::Rsa(bits))
            }
            "1.2.840.10045.2.1" => {
                let (curve, _) = der::expect(params, OID, "namedCurve").ok()?;
                Some(match der::oid_text(curve.content).ok()?.as_str() {
                    "1.2.840.10045.3.1.7" => PublicKeyKind::EcP256,
                    "1.3.132.0.34" => PublicKeyKind::EcP384,
                    _ => PublicKeyKind::Other,
                })
            }
            _ => Some(PublicKeyKind::Other),
        }
    }
}
