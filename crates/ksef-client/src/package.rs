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
    /// The latest plain bytes, held back until the next arrive or the part's hashes are checked, so that a part
    /// failing its check never reaches the caller whole.
    held: Vec<u8>,
}

impl Current {
    async fn open(client: &KsefClient, part: InvoicePackagePart, key: &AesKey, iv: &Iv) -> Result<Current, KsefError> {
        let download = client.stream_presigned(&part.url).await?;
        Ok(Current {
            part,
            body: download.body,
            decryptor: CbcDecryptor::new(key, iv),
            encrypted_hash: Sha256::default(),
            plain_hash: Sha256::default(),
            held: Vec::new(),
        })
    }
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
/// export's) and checked against `encryptedPartHash` and `partHash`. The first part's download starts before
/// this returns, so an expired or missing package is an error here rather than in the stream. A mismatch ends
/// the stream with [`KsefError::HashMismatch`] before the part's last bytes are yielded.
pub async fn decrypted_package(client: KsefClient, parts: Vec<InvoicePackagePart>, key: AesKey, iv: Iv) -> Result<PackageStream, KsefError> {
    let mut parts: VecDeque<InvoicePackagePart> = {
        let mut parts = parts;
        parts.sort_by_key(|p| p.ordinal_number);
        parts.into()
    };
    let current = match parts.pop_front() {
        Some(first) => Some(Current::open(&client, first, &key, &iv).await?),
        None => None,
    };
    let state = State { client, key, iv, parts, current, failed: false };
    Ok(Box::pin(futures_util::stream::unfold(state, |mut state| async move {
        let item = next(&mut state).await?;
        state.failed = item.is_err();
        Some((item, state))
    })))
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
                match Current::open(&state.client, part, &state.key, &state.iv).await {
                    Ok(opened) => state.current.insert(opened),
                    Err(err) => return Some(Err(err)),
                }
            }
        };
        match current.body.next().await {
            Some(Ok(chunk)) => {
                current.encrypted_hash.update(&chunk);
                let mut plain = Vec::with_capacity(chunk.len());
                current.decryptor.update(&chunk, &mut plain);
                current.plain_hash.update(&plain);
                if plain.is_empty() {
                    continue;
                }
                let ready = std::mem::replace(&mut current.held, plain);
                if !ready.is_empty() {
                    return Some(Ok(Bytes::from(ready)));
                }
            }
            Some(Err(err)) => return Some(Err(err)),
            None => {
                let Current { part, decryptor, encrypted_hash, mut plain_hash, mut held, .. } = state.current.take()?;
                let mut tail = Vec::new();
                if let Err(err) = decryptor.finish(&mut tail) {
                    return Some(Err(err.into()));
                }
                plain_hash.update(&tail);
                let checks = [(part.encrypted_part_hash, encrypted_hash.finish()), (part.part_hash, plain_hash.finish())];
                for (expected, actual) in checks {
                    let actual = b64(&actual);
                    if expected != actual {
                        return Some(Err(KsefError::HashMismatch { expected, actual }));
                    }
                }
                held.extend_from_slice(&tail);
                if !held.is_empty() {
                    return Some(Ok(Bytes::from(held)));
                }
            }
        }
    }
}
