//! Events, webhook deliveries and received invoices on every available engine (SQLite always; PostgreSQL when
//! TEST_DATABASE_URL is set).

use ksef_store::testing::fresh_stores;
use ksef_store::{AttemptOutcome, AttemptRecord, EventKind, NewReceived, NewTenant, NewWebhook, ReceivedFilter, Store, WebhookDeliveryState};

async fn tenant(store: &Store, id: &str) {
    let t = NewTenant { id: id.into(), name: format!("Tenant {id}"), nip: "5265877635".into(), ksef_token_sealed: vec![1], created_at: 1 };
    store.insert_tenant(&t).await.unwrap();
}

async fn webhook(store: &Store, tenant: &str, id: &str, kinds: Option<Vec<EventKind>>) {
    let w = NewWebhook { id: id.into(), tenant_id: tenant.into(), url: "https://example.com/hook".into(), kinds, description: None, secret_sealed: vec![1], now: 1 };
    store.insert_webhook(&w).await.unwrap();
}

fn outcome(attempt: i64, at: i64, delivered: bool, retry_at: Option<i64>) -> AttemptOutcome {
    outcome_of("me", attempt, at, delivered, retry_at)
}

fn outcome_of(owner: &str, attempt: i64, at: i64, delivered: bool, retry_at: Option<i64>) -> AttemptOutcome {
    AttemptOutcome {
        attempt: AttemptRecord { attempt, at, status: Some(if delivered { 204 } else { 503 }), error: (!delivered).then(|| "answered 503".into()), duration_ms: 3 },
        delivered,
        retry_at,
        others_wait_until: (!delivered).then_some(at + 10_000_000),
        lease_owner: owner.into(),
    }
}

#[tokio::test]
async fn events_are_numbered_per_tenant_in_commit_order_once_per_subject_even_when_recorded_at_once() {
    let (stores, _dir) = fresh_stores().await;
    for (engine, store) in stores {
        tenant(&store, "t1").await;
        tenant(&store, "t2").await;
        // Sixteen recorders at once, each recording the same subject twice.
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let first = store.record_event("t1", EventKind::InvoiceAccepted, &format!("inv-{i}"), None, 100 + i, None).await.unwrap();
                    let again = store.record_event("t1", EventKind::InvoiceAccepted, &format!("inv-{i}"), None, 200 + i, None).await.unwrap();
                    (first.is_some(), again.is_none())
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), (true, true), "{engine}: recorded once");
        }
        store.record_event("t2", EventKind::InvoiceRejected, "x", None, 1, None).await.unwrap().unwrap();
        assert_eq!(store.last_event_seq("t1").await.unwrap(), 16, "{engine}");
        let all = store.events_after("t1", 0, i64::MAX, None, 100).await.unwrap();
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=16).collect::<Vec<_>>(), "{engine}: numbered without gaps or doubles");
        assert_eq!(store.events_after("t2", 0, i64::MAX, None, 100).await.unwrap().len(), 1, "{engine}: another tenant's are apart");
        let page = store.events_after("t1", 10, i64::MAX, None, 3).await.unwrap();
        assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![11, 12, 13]);
        assert_eq!(store.events_after("t1", 10, 12, None, 100).await.unwrap().len(), 2, "{engine}: up to the bound");
        assert!(store.events_after("t1", 0, i64::MAX, Some(&[EventKind::InvoiceRejected]), 100).await.unwrap().is_empty(), "{engine}");
    }
}

#[tokio::test]
async fn an_event_is_queued_for_each_webhook_taking_its_kind_and_a_failing_receiver_gets_one_probe() {
    let (stores, _dir) = fresh_stores().await;
    for (engine, store) in stores {
        tenant(&store, "t1").await;
        webhook(&store, "t1", "all", None).await;
        webhook(&store, "t1", "received", Some(vec![EventKind::InvoiceReceived])).await;
        for i in 0..3 {
            store.record_event("t1", EventKind::InvoiceAccepted, &format!("inv-{i}"), None, 10, None).await.unwrap();
        }
        // Two claim at once: no delivery is handed out twice.
        let none = std::collections::HashMap::new();
        let (a, b) = tokio::join!(store.claim_due_deliveries(20, 1_000, 10, 4, &none, "me"), store.claim_due_deliveries(20, 1_000, 10, 4, &none, "me"));
        // (A busy webhook is skipped.)
        assert!(store.claim_due_deliveries(20, 1_000, 10, 4, &std::collections::HashMap::from([("all".to_owned(), 4)]), "me").await.unwrap().is_empty(), "{engine}");
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.len() + b.len(), 3, "{engine}: three deliveries, to the webhook taking every kind only");
        assert!(a.iter().chain(&b).all(|d| d.webhook_id == "all"));
        // Leased: not claimed again before the lease ends.
        assert!(store.claim_due_deliveries(30, 1_000, 10, 4, &std::collections::HashMap::new(), "me").await.unwrap().is_empty(), "{engine}");
        let claimed: Vec<_> = a.into_iter().chain(b).collect();
        // The receiver fails: the webhook is failing, and only a probe is claimed when its time comes.
        for (i, d) in claimed.iter().enumerate() {
            // Their own retries: the first soon, the others much later.
            let retry = if i == 0 { 20_000_000 } else { 90_000_000 };
            let failing = store.record_delivery_attempt("all", &d.event.id, &outcome(1, 40, false, Some(retry))).await.unwrap();
            assert_eq!(failing, (Some(40), false), "{engine}");
        }
        assert!(store.claim_due_deliveries(60, 2_000, 10, 4, &std::collections::HashMap::new(), "me").await.unwrap().is_empty(), "{engine}: before any retry");
        let probe = store.claim_due_deliveries(20_000_001, 50_000_000, 10, 4, &std::collections::HashMap::new(), "me").await.unwrap();
        assert_eq!(probe.len(), 1, "{engine}: one probe");
        // It succeeds: the receiver is back, and the others are due at once, whatever their own backoff said.
        assert_eq!(store.record_delivery_attempt("all", &probe[0].event.id, &outcome(2, 20_000_100, true, None)).await.unwrap(), (None, true));
        assert!(store.claim_due_deliveries(20_000_200, 60_000_000, 10, 4, &std::collections::HashMap::new(), "me").await.unwrap().is_empty(), "{engine}: still in backoff");
        assert_eq!(store.hasten_deliveries("all", 20_000_200).await.unwrap(), 2, "{engine}");
        let rest = store.claim_due_deliveries(20_000_200, 60_000_000, 10, 4, &std::collections::HashMap::new(), "me").await.unwrap();
        assert_eq!(rest.len(), 2, "{engine}");
        let log = store.deliveries("t1", "all", Some(WebhookDeliveryState::Delivered), None, 10).await.unwrap();
        assert_eq!(log.len(), 1, "{engine}");
        assert_eq!(store.delivery_attempts("all", &probe[0].event.id).await.unwrap().len(), 2, "{engine}");
        // A redelivery makes a delivered one pending again, counted afresh.
        assert!(store.redeliver("t1", "all", &probe[0].event.id, 20_000_300).await.unwrap());
        assert!(!store.redeliver("t2", "all", &probe[0].event.id, 20_000_300).await.unwrap(), "{engine}: another tenant's");
        let again = store.delivery("t1", "all", &probe[0].event.id).await.unwrap().unwrap();
        assert_eq!((again.state, again.attempts), (WebhookDeliveryState::Pending, 0), "{engine}");
        for d in &rest {
            store.record_delivery_attempt("all", &d.event.id, &outcome(1, 20_000_400, true, None)).await.unwrap();
        }
        // Old history goes; what is still pending and received invoices' events stay.
        store.record_event("t1", EventKind::InvoiceReceived, "kept", None, 10, None).await.unwrap().unwrap();
        assert!(store.prune_events(100_000_000, 100_000_000).await.unwrap() > 0, "{engine}");
        let mut left: Vec<String> = store.events_after("t1", 0, i64::MAX, None, 100).await.unwrap().into_iter().map(|e| e.subject).collect();
        left.sort();
        // The redelivered event is pending again, and "kept" is a received invoice's: the two delivered ones went.
        let mut expected = vec!["kept".to_owned(), probe[0].event.subject.clone()];
        expected.sort();
        assert_eq!(left, expected, "{engine}");
        assert!(store.delete_webhook("t1", "all").await.unwrap());
        assert!(store.deliveries("t1", "all", None, None, 10).await.unwrap().is_empty(), "{engine}");
    }
}

#[tokio::test]
async fn a_received_invoice_is_stored_once_with_its_event_and_the_position_moves_with_it() {
    let (stores, _dir) = fresh_stores().await;
    for (engine, store) in stores {
        tenant(&store, "t1").await;
        assert!(!store.ensure_sync("t1", "subject2", 5, 5).await.unwrap());
        assert!(store.ensure_sync("t1", "subject2", 9, 9).await.unwrap(), "{engine}: set up once");
        let received = |n: &str, gross: i64| NewReceived {
            ksef_number: n.into(),
            subject: "subject2".into(),
            seller_nip: "5265877635".into(),
            seller_name: None,
            invoice_number: format!("FV/{n}"),
            issue_date: "2026-01-02".into(),
            gross_amount: Some(format!("{}.{:02}", gross / 100, gross % 100)),
            gross_cents: Some(gross),
            currency: Some("PLN".into()),
            invoice_hash: "h".into(),
            permanent_storage_date: 7,
            metadata: "{}".into(),
            xml: b"<Faktura/>".to_vec(),
        };
        let first = [received("A", 12_300), received("B", 500)];
        assert_eq!(store.insert_received("t1", &first, 10, Some(("subject2", 100))).await.unwrap(), 2);
        // The same package again (a truncated window's repeat): nothing new, nothing told twice.
        assert_eq!(store.insert_received("t1", &first, 11, Some(("subject2", 100))).await.unwrap(), 0, "{engine}");
        assert_eq!(store.events_after("t1", 0, i64::MAX, None, 10).await.unwrap().len(), 2, "{engine}");
        assert_eq!(store.syncs("t1").await.unwrap()[0].next_from, 100, "{engine}");
        let filter = ReceivedFilter { min_gross_cents: Some(1_000), limit: 10, ..ReceivedFilter::default() };
        let big = store.received_invoices("t1", &filter).await.unwrap();
        assert_eq!(big.iter().map(|r| r.ksef_number.as_str()).collect::<Vec<_>>(), vec!["A"], "{engine}");
        assert_eq!(store.received_invoice("t1", "B").await.unwrap().unwrap().xml.as_deref(), Some(&b"<Faktura/>"[..]));
        assert!(store.received_invoice("t2", "B").await.unwrap().is_none(), "{engine}");
        // A claimed sync is not claimed again until it is finished.
        assert_eq!(store.claim_due_syncs(50, 500, 5).await.unwrap().len(), 1, "{engine}");
        assert!(store.claim_due_syncs(60, 500, 5).await.unwrap().is_empty(), "{engine}");
        store.finish_sync("t1", "subject2", 70, None, 60).await.unwrap();
        assert_eq!(store.claim_due_syncs(80, 500, 5).await.unwrap().len(), 1, "{engine}");
    }
}

#[tokio::test]
async fn only_the_claims_own_attempt_records_an_outcome_and_a_redelivery_during_it_is_not_lost() {
    let (stores, _dir) = fresh_stores().await;
    for (engine, store) in stores {
        tenant(&store, "t1").await;
        webhook(&store, "t1", "w", None).await;
        let event = store.record_event("t1", EventKind::InvoiceAccepted, "inv", None, 10, None).await.unwrap().unwrap();
        let claimed = store.claim_due_deliveries(20, 1_000, 10, 4, &std::collections::HashMap::new(), "a").await.unwrap();
        assert_eq!(claimed[0].lease_owner.as_deref(), Some("a"), "{engine}");
        // A redelivery asked for while "a" posts it: the lease stays, the delivery is queued again once "a" is done.
        assert!(store.redeliver("t1", "w", &event.id, 30).await.unwrap());
        assert!(store.claim_due_deliveries(40, 2_000, 10, 4, &std::collections::HashMap::new(), "b").await.unwrap().is_empty(), "{engine}: still leased to a");
        store.record_delivery_attempt("w", &event.id, &outcome_of("a", 1, 50, true, None)).await.unwrap();
        let d = store.delivery("t1", "w", &event.id).await.unwrap().unwrap();
        assert_eq!((d.state, d.attempts), (WebhookDeliveryState::Pending, 0), "{engine}: queued again, not marked delivered");
        // Its lease ran out and "c" took it over: a late outcome of "b" changes nothing.
        let again = store.claim_due_deliveries(3_100, 4_000, 10, 4, &std::collections::HashMap::new(), "b").await.unwrap();
        assert_eq!(again.len(), 1, "{engine}");
        let taken_over = store.claim_due_deliveries(5_000, 9_000, 10, 4, &std::collections::HashMap::new(), "c").await.unwrap();
        assert_eq!(taken_over.len(), 1, "{engine}: the lease of b ran out");
        store.record_delivery_attempt("w", &event.id, &outcome_of("b", 1, 5_100, false, Some(99_000))).await.unwrap();
        store.record_delivery_attempt("w", &event.id, &outcome_of("c", 1, 5_200, true, None)).await.unwrap();
        let d = store.delivery("t1", "w", &event.id).await.unwrap().unwrap();
        assert_eq!(d.state, WebhookDeliveryState::Delivered, "{engine}");
        assert_eq!(store.delivery_attempts("w", &event.id).await.unwrap().len(), 3, "{engine}: every attempt is in the log");
    }
}
