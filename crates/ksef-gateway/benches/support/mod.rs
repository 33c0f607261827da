//! What the gateway's benchmarks share: the invoice they send.

/// A small valid FA(3) invoice of `seller` to 1111111111, numbered `number`, with one line.
pub fn invoice(seller: &str, number: &str) -> Vec<u8> {
    let today = ksef_client::wire::datetime::to_warsaw(chrono::Utc::now()).date_naive().to_string();
    ksef_fa::example::invoice(seller, "1111111111", number, &today, 1).into_bytes()
}
