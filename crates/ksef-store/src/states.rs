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
    /// Where an invoice is on its way to KSeF.
    pub enum DeliveryState {
        /// Recorded; KSeF is being asked to take it.
        Sending = "sending",
        /// KSeF took it and gave its reference number; its status is KSeF's from here on.
        Sent = "sent",
        /// The send failed with an unknown outcome or KSeF unreachable; sending it again retries.
        SendFailed = "send_failed",
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

/// Reads an enum column by name, refusing a value the enum does not know.
pub(crate) fn column<T>(row: &sqlx::any::AnyRow, name: &str, parse: fn(&str) -> Option<T>) -> Result<T, sqlx::Error> {
    use sqlx::Row as _;
    let text: String = row.try_get(name)?;
    parse(&text).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: name.to_owned(),
        source: format!("unknown value '{text}'").into(),
    })
}
