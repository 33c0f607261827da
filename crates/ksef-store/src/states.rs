//! The states and modes the store keeps in text columns, as enums: each column's values are said once here.

/// Declares an enum kept as text, with its column values.
macro_rules! stored_enum {
    ($(#[$doc:meta])* pub enum $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// As stored.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// Reads [`Self::as_str`]'s form.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

stored_enum! {
    /// Whether a session takes invoices one by one or as one package.
    pub enum SessionKind {
        /// Invoices sent one by one through the gateway.
        Online = "online",
        /// A package uploaded in parts; KSeF lists its invoices by file name.
        Batch = "batch",
    }
}

stored_enum! {
    /// Who holds the AES key of a session or a search.
    pub enum KeyMode {
        /// The caller: the gateway passes ciphertext through and never sees the key.
        Caller = "caller",
        /// The gateway: the key is sealed under the master key, and the gateway encrypts and decrypts.
        Gateway = "gateway",
    }
}

stored_enum! {
    /// Where an invoice is on its way to KSeF. Recorded means delivered eventually: from `queued` on, delivery
    /// is the gateway's job, whoever asked and whatever KSeF does meanwhile.
    pub enum DeliveryState {
        /// Recorded and waiting for a send (new, or after a failed attempt, from `next_attempt_at`).
        Queued = "queued",
        /// An instance (`lease_owner`) is asking KSeF to take it; if that instance dies, the outcome is unknown
        /// until KSeF's list of the session's invoices is read.
        Sending = "sending",
        /// KSeF took it and gave its reference number; its status is polled until final.
        Sent = "sent",
        /// KSeF accepted it (200) and gave its KSeF number.
        Accepted = "accepted",
        /// KSeF refused it, or refused the request carrying it (KSeF's status or error says why).
        Rejected = "rejected",
        /// KSeF found it a duplicate (440) of an invoice it already holds: `original_ksef_number` is its number.
        Duplicate = "duplicate",
    }
}

impl DeliveryState {
    /// Whether KSeF's verdict is in (nothing more will happen to the invoice).
    pub fn is_final(self) -> bool {
        matches!(self, DeliveryState::Accepted | DeliveryState::Rejected | DeliveryState::Duplicate)
    }
}

stored_enum! {
    /// What authenticates a tenant in KSeF.
    pub enum CredentialKind {
        /// A KSeF token (valid until KSeF withdraws tokens; see the README).
        Token = "token",
        /// A certificate with its private key: a KSeF certificate or a qualified signature or seal (XAdES).
        Certificate = "certificate",
    }
}

stored_enum! {
    /// What an event says happened. The text is the event's `type` in webhooks and the events list.
    pub enum EventKind {
        /// KSeF accepted an invoice and gave its KSeF number.
        InvoiceAccepted = "invoice.accepted",
        /// KSeF refused an invoice.
        InvoiceRejected = "invoice.rejected",
        /// KSeF found an invoice a duplicate of one it holds (its original's KSeF number is known).
        InvoiceDuplicate = "invoice.duplicate",
        /// An invoice has waited in KSeF's processing (status 150) longer than the configured threshold.
        InvoiceHeld = "invoice.held",
        /// A session's collective UPO is in.
        SessionUpoReady = "session.upo_ready",
        /// Another party's invoice to the tenant arrived from KSeF.
        InvoiceReceived = "invoice.received",
        /// An offline invoice's deadline to reach KSeF is near and KSeF has not taken it yet.
        OfflineDeadlineNear = "offline.deadline_near",
        /// The tenant's KSeF credential expires soon.
        CredentialExpiring = "credential.expiring",
        /// KSeF's announced state changed (the Ministry's Latarnia, or the operator).
        KsefStatus = "ksef.status",
        /// A test event, sent to one webhook on request.
        WebhookTest = "webhook.test",
    }
}

impl EventKind {
    /// Every kind, in the order documented.
    pub const ALL: [EventKind; 10] = [
        EventKind::InvoiceAccepted,
        EventKind::InvoiceRejected,
        EventKind::InvoiceDuplicate,
        EventKind::InvoiceHeld,
        EventKind::SessionUpoReady,
        EventKind::InvoiceReceived,
        EventKind::OfflineDeadlineNear,
        EventKind::CredentialExpiring,
        EventKind::KsefStatus,
        EventKind::WebhookTest,
    ];

    /// The event an invoice reaching `state` makes, if any.
    pub fn of_delivery(state: DeliveryState) -> Option<EventKind> {
        match state {
            DeliveryState::Accepted => Some(EventKind::InvoiceAccepted),
            DeliveryState::Rejected => Some(EventKind::InvoiceRejected),
            DeliveryState::Duplicate => Some(EventKind::InvoiceDuplicate),
            _ => None,
        }
    }
}

stored_enum! {
    /// Where one event's delivery to one webhook is.
    pub enum WebhookDeliveryState {
        /// Not delivered yet: due at `next_attempt_at`.
        Pending = "pending",
        /// The receiver answered 2xx.
        Delivered = "delivered",
        /// Every attempt failed; only a redelivery sends it again.
        Failed = "failed",
    }
}

/// Reads an enum column by name, refusing a value the enum does not know.
pub(crate) fn column<T>(row: &sqlx::any::AnyRow, name: &str, parse: fn(&str) -> Option<T>) -> Result<T, sqlx::Error> {
    use sqlx::Row as _;
    let text: String = row.try_get(name)?;
    parse(&text).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: name.to_owned(),
        source: format!("unknown value '{text}'").into(),
    })
}
