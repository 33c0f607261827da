//! `ksef-gateway webhooks`: a tenant's webhooks through the gateway's API: list, add, test, see the delivery log,
//! redeliver (one event, or every failed one), remove.

use std::process::ExitCode;

use anyhow::Context as _;
use reqwest::Method;
use serde_json::{Value, json};

use super::remote::gateway::GatewayRemote;
use crate::api::dto::events::{Webhook, WebhookDelivery, WebhookDeliveryPage, WebhookList, WebhookTestResponse};

/// Arguments of `ksef-gateway webhooks`.
#[derive(Debug, clap::Args)]
pub(crate) struct WebhooksArgs {
    /// The gateway's base URL (e.g. http://127.0.0.1:8080).
    #[arg(long)]
    gateway: String,
    /// The tenant's API key; `-` reads it from standard input (keeps it out of the process list).
    #[arg(long, env = "KSEF_GATEWAY_API_KEY", hide_env_values = true)]
    api_key: String,
    #[command(subcommand)]
    command: WebhooksCommand,
}

/// What to do.
#[derive(Debug, clap::Subcommand)]
enum WebhooksCommand {
    /// The tenant's webhooks, one per line: id, state, URL, event types.
    List,
    /// Subscribe a URL; prints the webhook's id and its signing secret (shown only now).
    Add {
        /// Where events are posted (http or https).
        #[arg(long)]
        url: String,
        /// Event types, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
        /// A note.
        #[arg(long)]
        description: Option<String>,
    },
    /// Post a `webhook.test` event to the webhook, wait for its delivery and print how it went.
    Test {
        /// The webhook's id.
        id: String,
    },
    /// The webhook's delivery log, newest first: event, type, state, attempts, last status or error.
    Deliveries {
        /// The webhook's id.
        id: String,
        /// Only `pending`, `delivered` or `failed` ones.
        #[arg(long)]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Send events again, with their own `webhook-id`: the events named, or with `--failed` every failed one.
    Redeliver {
        /// The webhook's id.
        id: String,
        /// Event ids.
        events: Vec<String>,
        /// Every delivery of the webhook that failed.
        #[arg(long)]
        failed: bool,
    },
    /// Enable a webhook (after the gateway disabled it) or disable it.
    Enable {
        /// The webhook's id.
        id: String,
        /// Disable instead.
        #[arg(long)]
        off: bool,
    },
    /// Delete a webhook and its delivery log.
    Remove {
        /// The webhook's id.
        id: String,
    },
}

pub(crate) async fn run(args: WebhooksArgs) -> anyhow::Result<ExitCode> {
    let api_key = super::tenant::token(&args.api_key)?;
    let gateway = GatewayRemote::new(&args.gateway, api_key)?;
    match args.command {
        WebhooksCommand::List => {
            let list: WebhookList = gateway.call(Method::GET, "webhooks", None, "listing the webhooks").await?;
            for w in list.webhooks {
                let state = if w.enabled { "enabled".to_owned() } else { format!("disabled ({})", w.disabled_reason.unwrap_or_default()) };
                let failing = w.failing_since.map(|f| format!(" failing since {f}")).unwrap_or_default();
                println!("{}\t{state}{failing}\t{}\t{}", w.id, w.url, w.events.join(","));
            }
        }
        WebhooksCommand::Add { url, events, description } => {
            let mut body = json!({ "url": url, "description": description });
            if !events.is_empty() {
                body["events"] = json!(events);
            }
            let made: Webhook = gateway.call(Method::POST, "webhooks", Some(&body), "adding the webhook").await?;
            println!("{}", made.id);
            eprintln!("signing secret (shown only now; verify requests with it as Standard Webhooks says):");
            println!("{}", made.secret.context("the gateway gave no secret")?);
        }
        WebhooksCommand::Test { id } => {
            let test: WebhookTestResponse = gateway.call(Method::POST, &format!("webhooks/{id}/test"), Some(&json!({})), "sending a test event").await?;
            let path = format!("webhooks/{id}/deliveries/{}", test.event_id);
            let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
            loop {
                let d: WebhookDelivery = gateway.call(Method::GET, &path, None, "reading the test's delivery").await?;
                let last = d.attempt_log.as_ref().and_then(|a| a.last().cloned());
                match (d.state.as_str(), last) {
                    ("delivered", Some(a)) => {
                        println!("delivered: the receiver answered {} in {} ms", a.status.unwrap_or_default(), a.duration_ms);
                        return Ok(ExitCode::SUCCESS);
                    }
                    (_, Some(a)) if std::time::Instant::now() > until || d.state == "failed" => {
                        println!("not delivered: {}", a.error.unwrap_or_else(|| format!("answered {}", a.status.unwrap_or_default())));
                        return Ok(ExitCode::FAILURE);
                    }
                    (_, Some(a)) => {
                        eprintln!("attempt {} failed ({}); retrying", a.attempt, a.error.unwrap_or_default());
                    }
                    _ if std::time::Instant::now() > until => {
                        println!("not attempted within 30 s");
                        return Ok(ExitCode::FAILURE);
                    }
                    _ => {}
                }
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
        }
        WebhooksCommand::Deliveries { id, state, limit } => {
            let mut path = format!("webhooks/{id}/deliveries?limit={limit}");
            if let Some(state) = state {
                path.push_str(&format!("&state={state}"));
            }
            let page: WebhookDeliveryPage = gateway.call(Method::GET, &path, None, "reading the delivery log").await?;
            for d in page.deliveries {
                let last = d.last_error.clone().or_else(|| d.last_status.map(|s| s.to_string())).unwrap_or_default();
                println!("{}\t{}\t{}\t{}\t{} attempt(s)\t{last}", d.event_timestamp.to_rfc3339(), d.event_id, d.kind, d.state, d.attempts);
            }
        }
        WebhooksCommand::Redeliver { id, events, failed } => {
            let mut events = events;
            if failed {
                let page: WebhookDeliveryPage =
                    gateway.call(Method::GET, &format!("webhooks/{id}/deliveries?state=failed&limit=500"), None, "reading the failed deliveries").await?;
                events.extend(page.deliveries.into_iter().map(|d| d.event_id));
            }
            anyhow::ensure!(!events.is_empty(), "name the events to redeliver, or give --failed");
            for event in &events {
                let _: Value = gateway
                    .call(Method::POST, &format!("webhooks/{id}/deliveries/{event}/redeliver"), Some(&json!({})), &format!("redelivering {event}"))
                    .await?;
            }
            println!("{} event(s) queued for delivery again", events.len());
        }
        WebhooksCommand::Enable { id, off } => {
            let w: Webhook = gateway.call(Method::PATCH, &format!("webhooks/{id}"), Some(&json!({ "enabled": !off })), "changing the webhook").await?;
            println!("{}\t{}", w.id, if w.enabled { "enabled" } else { "disabled" });
        }
        WebhooksCommand::Remove { id } => {
            let _: Value = gateway.call(Method::DELETE, &format!("webhooks/{id}"), None, "removing the webhook").await?;
            println!("removed {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
