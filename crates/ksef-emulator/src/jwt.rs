//! HS256 JSON Web Tokens for the three tokens KSeF hands out: operation, access and refresh.
//!
//! KSeF's clients treat these tokens as opaque apart from `exp`, so the claims are ours; they mirror the
//! names of KSeF's own (`typ`, `arn`, `cit`, `civ`, `per`).

use chrono::{DateTime, Utc};
use ksef_core::crypto::{b64url, b64url_decode, hmac_sha256, hmac_sha256_verify, random_array};
use serde::{Deserialize, Serialize};

/// Which of the three tokens this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[expect(clippy::enum_variant_names, reason = "the names are the values of KSeF's own token-type claim")]
pub(crate) enum TokenType {
    /// Polls the authentication status and redeems the other two.
    OperationToken,
    /// Authorizes protected calls in a context.
    ContextToken,
    /// Obtains new access tokens.
    RefreshToken,
}

/// The claims of every emulator token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub(crate) typ: TokenType,
    /// The authentication operation's reference number.
    pub(crate) arn: String,
    /// Context identifier type.
    pub(crate) cit: String,
    /// Context identifier value.
    pub(crate) civ: String,
    /// Permissions.
    pub(crate) per: Vec<String>,
    pub(crate) iat: i64,
    pub(crate) exp: i64,
    pub(crate) jti: String,
    pub(crate) iss: String,
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

impl Claims {
    pub(crate) fn new(
        typ: TokenType,
        arn: &str,
        context: &ksef_wire::ContextIdentifier,
        permissions: &[String],
        issued: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Claims {
        Claims {
            typ,
            arn: arn.to_owned(),
            cit: context.kind.as_str().to_owned(),
            civ: context.value.clone(),
            per: permissions.to_vec(),
            iat: issued.timestamp(),
            exp: expires.timestamp(),
            jti: b64url(&random_array::<12>()),
            iss: "ksef-emulator".to_owned(),
        }
    }
}

/// Signs `claims` into a compact JWT.
pub(crate) fn issue(secret: &[u8], claims: &Claims) -> String {
    let payload = serde_json::to_vec(claims).expect("claims serialize");
    let signing_input = format!("{}.{}", b64url(HEADER.as_bytes()), b64url(&payload));
    let sig = hmac_sha256(secret, signing_input.as_bytes());
    format!("{signing_input}.{}", b64url(&sig))
}

/// Checks a JWT's signature and expiry, and returns its claims.
pub(crate) fn verify(secret: &[u8], token: &str, now: DateTime<Utc>) -> Result<Claims, &'static str> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err("not a JWT");
    };
    let sig = b64url_decode(sig).map_err(|_| "bad signature encoding")?;
    let signing_input = &token[..header.len() + 1 + payload.len()];
    if !hmac_sha256_verify(secret, signing_input.as_bytes(), &sig) {
        return Err("bad signature");
    }
    let claims: Claims =
        serde_json::from_slice(&b64url_decode(payload).map_err(|_| "bad payload encoding")?).map_err(|_| "bad claims")?;
    if claims.exp <= now.timestamp() {
        return Err("expired");
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(now: DateTime<Utc>) -> Claims {
        let ctx = ksef_wire::ContextIdentifier { kind: ksef_wire::ContextIdentifierType::Nip, value: "5265877635".into() };
        Claims::new(TokenType::ContextToken, "20260101-AU-0000000000-0000000000-00", &ctx, &["InvoiceWrite".into()], now, now + chrono::Duration::minutes(15))
    }

    #[test]
    fn a_token_verifies_until_it_expires() {
        let now = Utc::now();
        let token = issue(b"secret", &sample(now));
        assert_eq!(verify(b"secret", &token, now).unwrap().civ, "5265877635");
        assert_eq!(verify(b"secret", &token, now + chrono::Duration::minutes(16)).unwrap_err(), "expired");
    }

    #[test]
    fn a_token_signed_with_another_secret_or_altered_is_refused() {
        let now = Utc::now();
        let token = issue(b"secret", &sample(now));
        assert_eq!(verify(b"other", &token, now).unwrap_err(), "bad signature");
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = b64url(br#"{"typ":"ContextToken"}"#);
        parts[1] = &forged;
        assert!(verify(b"secret", &parts.join("."), now).is_err());
        assert_eq!(verify(b"secret", "a.b", now).unwrap_err(), "not a JWT");
    }
}
