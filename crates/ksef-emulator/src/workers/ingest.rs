//! Group commit of received invoices: concurrent sends queue here, and one task writes whatever has queued
//! in a single SQLite transaction, then answers each sender. Every send is still durable before its 202.

use tokio::sync::{mpsc, oneshot};

use crate::store::Db;
use crate::store::NewInvoice;
use crate::store::invoices::AddRefused;

/// Most invoices written in one transaction (each up to 3 MB, held in memory until written).
const MAX_GROUP: usize = 64;

type Reply = oneshot::Sender<Result<Result<i32, AddRefused>, String>>;

/// The sending side of the queue; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Ingest {
    queue: mpsc::Sender<(NewInvoice, Reply)>,
}

impl Ingest {
    /// Starts the writer task for `db`.
    pub(crate) fn start(db: Db, max_invoices_per_session: i32) -> (Ingest, tokio::task::JoinHandle<()>) {
        let (queue, rx) = mpsc::channel(2 * MAX_GROUP);
        (Ingest { queue }, tokio::spawn(write_groups(db, rx, max_invoices_per_session)))
    }

    /// Records `invoice`; the answer is its ordinal in the session, or why the session refused it.
    pub(crate) async fn add(&self, invoice: NewInvoice) -> anyhow::Result<Result<i32, AddRefused>> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((invoice, reply)).await.map_err(|_| anyhow::anyhow!("the invoice writer has stopped"))?;
        answer.await.map_err(|_| anyhow::anyhow!("the invoice writer dropped a send"))?.map_err(|e| anyhow::anyhow!(e))
    }
}

async fn write_groups(db: Db, mut rx: mpsc::Receiver<(NewInvoice, Reply)>, max_invoices: i32) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
        let (invoices, replies): (Vec<NewInvoice>, Vec<Reply>) = group.drain(..).unzip();
        match db.add_invoices(&invoices, max_invoices).await {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            Err(err) => {
                // Nothing of the group was committed; every sender learns it, none gets a 202.
                tracing::error!(error = ?err, invoices = invoices.len(), "failed to record received invoices");
                for reply in replies {
                    let _ = reply.send(Err(format!("failed to record the invoice: {err}")));
                }
            }
        }
    }
}
