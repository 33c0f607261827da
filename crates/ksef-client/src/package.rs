//! Export packages: each part downloaded from its pre-signed URL, checked against both of its hashes and
//! decrypted as it arrives, so a package of any size passes through in bounded memory.

use std::collections::VecDeque;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use ksef_core::crypto::{AesKey, CbcDecryptor, Iv, Sha256, b64};
use ksef_wire::invoices::InvoicePackagePart;

use crate::error::KsefError;
use crate::http::KsefClient;

/// Plain bytes of a package, in order.
pub type PackageStream = Pin<Box<dyn Stream<Item = Result<Bytes, KsefError>> + Send>>;

struct Current {
    part: InvoicePackagePart,
    body: Pin<Box<dyn Stream<Item = Result<Bytes, KsefError>> + Send>>,
    decryptor: CbcDecryptor,
    encrypted_hash: Sha256,
    plain_hash: Sha256,
}

struct State {
    client: KsefClient,
    key: AesKey,
    iv: Iv,
    parts: VecDeque<InvoicePackagePart>,
    current: Option<Current>,
    failed: bool,
}

/// The plain archive of a package: its parts, by ordinal number, each decrypted with `key` and `iv` (the
/// export's) and checked against `encryptedPartHash` and `partHash`. A mismatch ends the stream with
/// [`KsefError::HashMismatch`]; the bytes before it must then be discarded.
pub fn decrypted_package(client: KsefClient, parts: Vec<InvoicePackagePart>, key: AesKey, iv: Iv) -> PackageStream {
    let mut parts = parts;
    parts.sort_by_key(|p| p.ordinal_number);
    let state = State { client, key, iv, parts: parts.into(), current: None, failed: false };
    Box::pin(futures_util::stream::unfold(state, |mut state| async move {
        let item = next(&mut state).await?;
        state.failed = item.is_err();
        Some((item, state))
    }))
}

async fn next(state: &mut State) -> Option<Result<Bytes, KsefError>> {
    if state.failed {
        return None;
    }
    loop {
        let current = match &mut state.current {
            Some(current) => current,
            None => {
                let part = state.parts.pop_front()?;
                let download = match state.client.stream_presigned(&part.url).await {
                    Ok(d) => d,
                    Err(err) => return Some(Err(err)),
                };
                state.current.insert(Current {
                    part,
                    body: download.body,
                    decryptor: CbcDecryptor::new(&state.key, &state.iv),
                    encrypted_hash: Sha256::default(),
                    plain_hash: Sha256::default(),
                })
            }
        };
        let mut plain = Vec::new();
        match current.body.next().await {
            Some(Ok(chunk)) => {
                current.encrypted_hash.update(&chunk);
                plain.reserve(chunk.len());
                current.decryptor.update(&chunk, &mut plain);
                current.plain_hash.update(&plain);
            }
            Some(Err(err)) => return Some(Err(err)),
            None => {
                let Current { part, decryptor, encrypted_hash, mut plain_hash, .. } = state.current.take()?;
                if let Err(err) = decryptor.finish(&mut plain) {
                    return Some(Err(err.into()));
                }
                plain_hash.update(&plain);
                let checks = [(part.encrypted_part_hash, encrypted_hash.finish()), (part.part_hash, plain_hash.finish())];
                for (expected, actual) in checks {
                    let actual = b64(&actual);
                    if expected != actual {
                        return Some(Err(KsefError::HashMismatch { expected, actual }));
                    }
                }
            }
        }
        if !plain.is_empty() {
            return Some(Ok(Bytes::from(plain)));
        }
    }
}
