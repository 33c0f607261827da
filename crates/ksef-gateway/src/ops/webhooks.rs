//! Webhook subscriptions: where a tenant's events are posted, checked so a tenant cannot make the gateway call
//! into its own network or itself; signed after the Standard Webhooks convention; their delivery log.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ksef_store::{AttemptRecord, DeliveryRecord, EventKind, NewWebhook, WebhookChange, WebhookDeliveryState, WebhookRecord};

use super::{Context, OpError, Tenant, micros, now};
use crate::errors::ErrorCode;

/// Longest webhook URL.
pub const MAX_URL_CHARS: usize = 2_048;
/// Most webhooks per tenant.
pub const MAX_WEBHOOKS_PER_TENANT: usize = 20;
/// Longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// A signing secret's bounds in bytes, as Standard Webhooks gives them.
pub const SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;
/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Where webhooks may point and how long failing ones are retried (`[webhooks]`).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Private, loopback and link-local addresses allowed (tests, and receivers on the gateway's own network).
    pub allow_private: bool,
    /// The gateway's own listening addresses (and its embedded emulator's), refused whatever `allow_private` says.
    pub own: Vec<SocketAddr>,
    /// Longest wait for a receiver.
    pub timeout: std::time::Duration,
    /// Longest pause between attempts.
    pub max_backoff: std::time::Duration,
    /// A delivery not taken this long after its event fails.
    pub give_up_after: std::time::Duration,
    /// A webhook failing this long is disabled.
    pub disable_after: std::time::Duration,
    /// An invoice KSeF keeps processing (150) this long after it was recorded makes an `invoice.held` event.
    pub held_after: std::time::Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            allow_private: false,
            own: Vec::new(),
            timeout: std::time::Duration::from_secs(10),
            max_backoff: std::time::Duration::from_secs(3600),
            give_up_after: std::time::Duration::from_secs(3 * 24 * 3600),
            disable_after: std::time::Duration::from_secs(5 * 24 * 3600),
            held_after: std::time::Duration::from_secs(15 * 60),
        }
    }
}

impl Policy {
    /// Why the gateway may not connect to `addr`, if it may not.
    pub fn refuses(&self, addr: SocketAddr) -> Option<String> {
        let ip = canonical(addr.ip());
        let own = self.own.iter().any(|o| o.port() == addr.port() && (canonical(o.ip()) == ip || ip.is_loopback() || ip.is_unspecified() || o.ip().is_unspecified()));
        if own {
            return Some(format!("{addr} is the gateway itself"));
        }
        if !self.allow_private && !is_public(ip) {
            return Some(format!("{ip} is a private, loopback or otherwise internal address (allowed only with webhooks.allow_private_addresses)"));
        }
        None
    }
}

/// An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is judged as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `ip` is reachable on the public internet (not loopback, private, link-local, shared, documentation,
/// benchmarking, multicast, reserved or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (carrier-grade NAT)
                || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let [first, second, ..] = v6.segments();
            // IPv4-compatible (`::a.b.c.d`, deprecated): judged as the IPv4 address it carries.
            if v6.segments()[..6].iter().all(|s| *s == 0) && !v6.is_loopback() && !v6.is_unspecified() {
                return is_public(IpAddr::V4(std::net::Ipv4Addr::from(u32::try_from(u128::from(v6) & 0xffff_ffff).unwrap_or(0))));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
                || first == 0x2001 && second == 0x0db8 // documentation
                || first == 0x2001 && second == 0x0000 // Teredo, which tunnels to IPv4 addresses
                || first == 0x2002 // 6to4, which embeds IPv4 addresses
                || first == 0x0064 && second == 0xff9b) // NAT64, which reaches IPv4 addresses of any kind
        }
    }
}

/// A webhook as asked for.
#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    /// Where to post.
    pub url: Option<String>,
    /// Event types (`invoice.accepted`, …); `None` or `["*"]`: all.
    pub events: Option<Vec<String>>,
    /// A note.
    pub description: Option<String>,
    /// A Standard Webhooks secret (`whsec_` + base64 of 24–64 bytes); made when absent.
    pub secret: Option<String>,
    /// Enable or disable (changes only).
    pub enabled: Option<bool>,
}

/// A webhook and, when just made, its secret.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// As stored.
    pub record: WebhookRecord,
    /// The signing secret, given once: when the webhook is created.
    pub secret: Option<String>,
}

/// Checks `url`'s form and where its host resolves to, adding every problem to `problems`.
pub async fn check_url(policy: &Policy, text: &str, problems: &mut Vec<String>) -> Option<url::Url> {
    if text.chars().count() > MAX_URL_CHARS {
        problems.push(format!("`url` is longer than {MAX_URL_CHARS} characters"));
        return None;
    }
    let parsed = match url::Url::parse(text) {
        Ok(u) => u,
        Err(e) => {
            problems.push(format!("`url` is not a URL: {e}"));
            return None;
        }
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        problems.push(format!("`url` must be http or https, not {}", parsed.scheme()));
        return None;
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        problems.push("`url` must not carry a user name or password (the signature authenticates the gateway)".to_owned());
    }
    if parsed.fragment().is_some() {
        problems.push("`url` must not have a fragment".to_owned());
    }
    let Some(host) = parsed.host_str() else {
        problems.push("`url` has no host".to_owned());
        return None;
    };
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        _ => match tokio::time::timeout(std::time::Duration::from_secs(5), tokio::net::lookup_host((host, port))).await {
            Ok(Ok(found)) => found.collect(),
            Ok(Err(e)) => {
                problems.push(format!("`url`'s host {host} does not resolve: {e}"));
                return None;
            }
            Err(_) => {
                problems.push(format!("`url`'s host {host} did not resolve within 5 s"));
                return None;
            }
        },
    };
    for addr in &addrs {
        if let Some(why) = policy.refuses(*addr) {
            problems.push(format!("`url` may not point at {host}: {why}"));
            return None;
        }
    }
    Some(parsed)
}

/// Reads the event types asked for; `None`: all.
fn parse_kinds(events: Option<&[String]>, problems: &mut Vec<String>) -> Option<Vec<EventKind>> {
    let events = events?;
    if events.iter().any(|e| e == "*") {
        return None;
    }
    let mut kinds = Vec::new();
    for e in events {
        match EventKind::parse(e) {
            Some(k) if !kinds.contains(&k) => kinds.push(k),
            Some(_) => {}
            None => problems.push(format!(
                "`events`: unknown event type `{}` (known: {})",
                crate::telemetry::loggable(e),
                EventKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
            )),
        }
    }
    if events.is_empty() {
        problems.push("`events` is empty (omit it, or give [\"*\"], for every type)".to_owned());
    }
    Some(kinds)
}

/// Reads a Standard Webhooks secret into its key bytes.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, String> {
    let body = secret.strip_prefix(SECRET_PREFIX).ok_or_else(|| format!("`secret` must start with {SECRET_PREFIX}"))?;
    let key = ksef_core::crypto::b64_decode(body).map_err(|_| format!("`secret` must be {SECRET_PREFIX} followed by base64"))?;
    if !SECRET_BYTES.contains(&key.len()) {
        return Err(format!("`secret` holds {} bytes; it must hold {} to {}", key.len(), SECRET_BYTES.start(), SECRET_BYTES.end()));
    }
    Ok(key)
}

fn refused(problems: Vec<String>) -> OpError {
    OpError::refused(ErrorCode::WebhookInvalid, problems.join("; "))
}

/// The webhook's id sealed with its secret, so a sealed secret cannot be moved to another webhook.
fn seal_secret(ctx: &Context, id: &str, secret: &str) -> Vec<u8> {
    ctx.master_key.seal(id, secret.as_bytes())
}

/// The signing secret of `webhook`.
pub(crate) fn open_secret(ctx: &Context, webhook: &WebhookRecord) -> anyhow::Result<Vec<u8>> {
    let secret = String::from_utf8(ctx.master_key.open(&webhook.id, &webhook.secret_sealed)?)?;
    secret_key(&secret).map_err(|e| anyhow::anyhow!("webhook {}: {e}", webhook.id))
}

/// Creates a webhook for `tenant`, every problem reported at once.
pub async fn create(ctx: &Context, tenant: &Tenant, input: WebhookInput) -> Result<Webhook, OpError> {
    let mut problems = Vec::new();
    let url = match input.url.as_deref() {
        Some(url) => check_url(&ctx.webhooks, url, &mut problems).await,
        None => {
            problems.push("`url` is required".to_owned());
            None
        }
    };
    let kinds = parse_kinds(input.events.as_deref(), &mut problems);
    if input.description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS) {
        problems.push(format!("`description` is longer than {MAX_DESCRIPTION_CHARS} characters"));
    }
    let secret = match input.secret {
        Some(s) => match secret_key(&s) {
            Ok(_) => s,
            Err(e) => {
                problems.push(e);
                String::new()
            }
        },
        None => format!("{SECRET_PREFIX}{}", ksef_core::crypto::b64(&ksef_core::crypto::random_array::<32>())),
    };
    let existing = ctx.store.webhooks(&tenant.id).await.map_err(OpError::store(ErrorCode::Internal))?;
    if existing.len() >= MAX_WEBHOOKS_PER_TENANT {
        problems.push(format!("the tenant has {MAX_WEBHOOKS_PER_TENANT} webhooks already; delete one first"));
    }
    let Some(url) = url.filter(|_| problems.is_empty()) else {
        return Err(refused(problems));
    };
    let id = format!("wh_{}", uuid::Uuid::now_v7().simple());
    let record = NewWebhook {
        id: id.clone(),
        tenant_id: tenant.id.clone(),
        url: url.to_string(),
        kinds,
        description: input.description,
        secret_sealed: seal_secret(ctx, &id, &secret),
        now: micros(now()),
    };
    ctx.store.insert_webhook(&record).await.map_err(OpError::store(ErrorCode::Internal))?;
    Ok(Webhook { record: get(ctx, tenant, &id).await?, secret: Some(secret) })
}

/// The tenant's webhooks.
pub async fn list(ctx: &Context, tenant: &Tenant) -> Result<Vec<WebhookRecord>, OpError> {
    ctx.store.webhooks(&tenant.id).await.map_err(OpError::store(ErrorCode::Internal))
}

/// The tenant's webhook `id` (another tenant's does not exist).
pub async fn get(ctx: &Context, tenant: &Tenant, id: &str) -> Result<WebhookRecord, OpError> {
    ctx.store
        .webhook(&tenant.id, id)
        .await
        .map_err(OpError::store(ErrorCode::Internal))?
        .ok_or_else(|| OpError::refused(ErrorCode::WebhookUnknown, format!("no webhook {}", crate::telemetry::loggable(id))))
}

/// Changes a webhook: its URL, events, description, secret, or whether it is enabled (enabling ends its failure
/// run; deliveries given up while it failed can be redelivered).
pub async fn update(ctx: &Context, tenant: &Tenant, id: &str, input: WebhookInput) -> Result<WebhookRecord, OpError> {
    get(ctx, tenant, id).await?;
    let mut problems = Vec::new();
    let url = match input.url.as_deref() {
        Some(url) => check_url(&ctx.webhooks, url, &mut problems).await.map(|u| u.to_string()),
        None => None,
    };
    let kinds = input.events.as_deref().map(|e| parse_kinds(Some(e), &mut problems));
    if input.description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS) {
        problems.push(format!("`description` is longer than {MAX_DESCRIPTION_CHARS} characters"));
    }
    if input.secret.is_some() {
        problems.push("`secret` cannot be changed; create a new webhook and delete this one".to_owned());
    }
    if !problems.is_empty() {
        return Err(refused(problems));
    }
    let change = WebhookChange {
        url,
        kinds,
        description: input.description,
        enabled: input.enabled.map(|on| (on, (!on).then(|| "disabled by the tenant".to_owned()))),
    };
    ctx.store.update_webhook(&tenant.id, id, &change, micros(now())).await.map_err(OpError::store(ErrorCode::Internal))?;
    get(ctx, tenant, id).await
}

/// Deletes a webhook and its delivery log.
pub async fn delete(ctx: &Context, tenant: &Tenant, id: &str) -> Result<(), OpError> {
    if !ctx.store.delete_webhook(&tenant.id, id).await.map_err(OpError::store(ErrorCode::Internal))? {
        return Err(OpError::refused(ErrorCode::WebhookUnknown, format!("no webhook {}", crate::telemetry::loggable(id))));
    }
    Ok(())
}

/// Sends a `webhook.test` event to this webhook only; answers the event's id.
pub async fn test(ctx: &Context, tenant: &Tenant, id: &str) -> Result<String, OpError> {
    let webhook = get(ctx, tenant, id).await?;
    if !webhook.enabled {
        return Err(OpError::conflict(ErrorCode::WebhookInvalid, "the webhook is disabled; enable it first"));
    }
    let subject = uuid::Uuid::now_v7().to_string();
    let event = ctx
        .store
        .record_event(&tenant.id, EventKind::WebhookTest, &subject, None, micros(now()), Some(id))
        .await
        .map_err(OpError::store(ErrorCode::Internal))?
        .ok_or_else(|| anyhow::anyhow!("a fresh test event was found recorded already"))?;
    ctx.wake_webhooks();
    Ok(event.id)
}

/// A page of the webhook's delivery log, newest first.
pub async fn deliveries(
    ctx: &Context,
    tenant: &Tenant,
    id: &str,
    state: Option<WebhookDeliveryState>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<DeliveryRecord>, OpError> {
    get(ctx, tenant, id).await?;
    ctx.store.deliveries(&tenant.id, id, state, before, limit).await.map_err(OpError::store(ErrorCode::Internal))
}

/// One delivery with its attempts.
pub async fn delivery(ctx: &Context, tenant: &Tenant, id: &str, event_id: &str) -> Result<(DeliveryRecord, Vec<AttemptRecord>), OpError> {
    get(ctx, tenant, id).await?;
    let delivery = ctx
        .store
        .delivery(&tenant.id, id, event_id)
        .await
        .map_err(OpError::store(ErrorCode::Internal))?
        .ok_or_else(|| OpError::refused(ErrorCode::WebhookUnknown, format!("webhook {id} has no delivery of {}", crate::telemetry::loggable(event_id))))?;
    let attempts = ctx.store.delivery_attempts(id, event_id).await.map_err(OpError::store(ErrorCode::Internal))?;
    Ok((delivery, attempts))
}

/// Sends an event to the webhook again (with the same `webhook-id`), whatever became of earlier attempts.
pub async fn redeliver(ctx: &Context, tenant: &Tenant, id: &str, event_id: &str) -> Result<(), OpError> {
    let webhook = get(ctx, tenant, id).await?;
    if !webhook.enabled {
        return Err(OpError::conflict(ErrorCode::WebhookInvalid, "the webhook is disabled; enable it first"));
    }
    if !ctx.store.redeliver(&tenant.id, id, event_id, micros(now())).await.map_err(OpError::store(ErrorCode::Internal))? {
        return Err(OpError::refused(ErrorCode::WebhookUnknown, format!("the tenant has no event {}", crate::telemetry::loggable(event_id))));
    }
    ctx.wake_webhooks();
    Ok(())
}

/// The Standard Webhooks signature of a message: `v1,` and base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut message = Vec::with_capacity(id.len() + body.len() + 24);
    message.extend_from_slice(id.as_bytes());
    message.push(b'.');
    message.extend_from_slice(timestamp.to_string().as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    format!("v1,{}", ksef_core::crypto::b64(&ksef_core::crypto::hmac_sha256(key, &message)))
}

tokio::task_local! {
    /// The port a webhook request is about to connect to, for [`GuardedResolver`] (DNS names no port).
    pub(crate) static CONNECT_PORT: u16;
}

/// A resolver for webhook requests that drops every address the policy refuses (with the port the request
/// connects to), so a name that resolved to a public address when the webhook was made cannot later lead the
/// gateway into its own network or to itself. Without a known port nothing is resolved.
#[derive(Debug, Clone)]
pub(crate) struct GuardedResolver(pub Arc<Policy>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        let port = CONNECT_PORT.try_with(|p| *p).ok();
        Box::pin(async move {
            // Without the port the own-address check cannot be made: nothing is resolved (fail closed).
            let port = port.ok_or("a webhook request resolved outside its port's scope")?;
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port)).await?.collect();
            let allowed: Vec<SocketAddr> = found.into_iter().filter(|a| policy.refuses(*a).is_none()).collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves only to addresses webhooks may not reach").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_not_public() {
        for ip in [
            "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fe80::1", "fd00::1",
            "::ffff:127.0.0.1", "::127.0.0.1", "::10.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::", "2001:0:4136:e378::1", "fec0::1", "255.255.255.255", "224.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn the_gateway_itself_is_refused_even_where_private_addresses_are_allowed() {
        let policy = Policy { allow_private: true, own: vec!["0.0.0.0:8080".parse().unwrap()], ..Policy::default() };
        assert!(policy.refuses("127.0.0.1:8080".parse().unwrap()).is_some());
        assert!(policy.refuses("[::ffff:127.0.0.1]:8080".parse().unwrap()).is_some());
        assert!(policy.refuses("127.0.0.1:9000".parse().unwrap()).is_none());
        let strict = Policy::default();
        assert!(strict.refuses("127.0.0.1:9000".parse().unwrap()).is_some());
        assert!(strict.refuses("8.8.8.8:443".parse().unwrap()).is_none());
    }

    #[test]
    fn secrets_follow_the_standard_webhooks_form() {
        assert!(secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
        assert!(secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(secret_key("whsec_c2hvcnQ=").unwrap_err().contains("5 bytes"));
        assert!(secret_key("whsec_not base64!").is_err());
    }

    #[test]
    fn the_signature_matches_the_standard_webhooks_example() {
        // The example in the Standard Webhooks specification.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
