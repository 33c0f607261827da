//! The store on every available engine (SQLite always; PostgreSQL when TEST_DATABASE_URL is set).

use ksef_store::testing::fresh_stores;
use ksef_store::{
    DeliveryState, IdempotencyStart, InvoiceInsert, InvoiceStatusUpdate, KeyMode, NewInvoice, NewSession, NewTenant, OfflineCertificateRecord,
    SessionKind, SessionStatusUpdate, StatusChange, Store, StoredResponse,
};

async fn tenant(store: &Store, id: &str) {
    let t = NewTenant { id: id.into(), name: format!("Tenant {id}"), nip: "5265877635".into(), ksef_token_sealed: vec![1, 2, 3], created_at: 1 };
    store.insert_tenant(&t).await.unwrap();
}

async fn session(store: &Store, tenant_id: &str, id: &str) {
    let s = NewSession {
        id: id.into(),
        tenant_id: tenant_id.into(),
        invoice_version: "v3".into(),
        kind: SessionKind::Online,
        key_mode: KeyMode::Gateway,
        sealed_key: Some(vec![9; 60]),
        iv: Some(vec![0; 16]),
        encryption: Some("{}".into()),
        managed: false,
        created_at: 10,
    };
    store.insert_session(&s).await.unwrap();
    store.set_session_reference(id, &format!("20260101-SO-0000000000-0000000000-{id}")).await.unwrap();
}

fn invoice(id: &str, hash: &str) -> NewInvoice {
    NewInvoice {
        id: id.into(),
        tenant_id: "t1".into(),
        session_id: "s1".into(),
        invoice_hash: hash.into(),
        invoice_size: 100,
        payload: vec![7; 112],
        created_at: 20,
        lease_owner: Some("instance-a".into()),
        submission: None,
        buyer_nip: None,
    }
}

/// Tenants `t1` and `t2`, each with a session of its own (`st1`, `st2`).
async fn two_tenants(store: &Store) {
    for t in ["t1", "t2"] {
        tenant(store, t).await;
        session(store, t, &format!("s{t}")).await;
    }
}

/// [`invoice`] of tenant `t` (one of [`two_tenants`]), in its session.
fn invoice_of(t: &str, id: &str, hash: &str) -> NewInvoice {
    NewInvoice { tenant_id: t.into(), session_id: format!("s{t}"), ..invoice(id, hash) }
}

#[tokio::test]
async fn tenants_are_found_by_live_api_keys_only() {
    let (stores, _dir) = fresh_stores().await;
    for (engine, store) in stores {
        tenant(&store, "t1").await;
        store.insert_api_key("t1", "hash-1", "kgw_ab", 5).await.unwrap();
        assert_eq!(store.tenant_by_api_key("hash-1").await.unwrap().unwrap().id, "t1", "{engine}");
        assert!(store.tenant_by_api_key("hash-2").await.unwrap().is_none(), "{engine}");
        assert_eq!(store.revoke_api_keys("t1", 6).await.unwrap(), 1, "{engine}");
        assert!(store.tenant_by_api_key("hash-1").await.unwrap().is_none(), "{engine}: a revoked key finds nothing");
        assert_eq!(store.tenants().await.unwrap().len(), 1, "{engine}");
        assert_eq!(store.tenant("t1").await.unwrap().unwrap().ksef_token_sealed, vec![1, 2, 3], "{engine}");
    }
}

#[tokio::test]
async fn an_offline_certificate_is_kept_per_tenant_and_replaced_when_set_again() {
    let (stores, _dir) = fresh_stores().await;
    for (engine, store) in stores {
        tenant(&store, "t1").await;
        tenant(&store, "t2").await;
        let mut record = OfflineCertificateRecord {
            tenant_id: "t1".into(),
            certificate: vec![0x30, 1, 2],
            private_key_sealed: vec![9; 40],
            context_type: "Nip".into(),
            context_value: "5265877635".into(),
            created_at: 7,
        };
        store.set_offline_certificate(&record).await.unwrap();
        assert_eq!(store.offline_certificate("t1").await.unwrap().as_ref(), Some(&record), "{engine}");
        assert_eq!(store.offline_certificate("t2").await.unwrap(), None, "{engine}: another tenant has none");
        record.certificate = vec![0x30, 3];
        record.created_at = 8;
        store.set_offline_certificate(&record).await.unwrap();
        assert_eq!(store.offline_certificate("t1").await.unwrap(), Some(record), "{engine}: replaced");
    }
}

#[tokio::test]
async fn a_session_keeps_its_reference_status_and_upo() {
    let (stores, _dir) = fresh_stores().await;
    for (engine, store) in stores {
        tenant(&store, "t1").await;
        session(&store, "t1", "s1").await;
        let fresh = store.session("s1").await.unwrap().unwrap();
        assert_eq!((fresh.status, fresh.sealed_key.map(|k| k.len())), (None, Some(60)), "{engine}");
        let status = SessionStatusUpdate {
            code: 200,
            description: "Sesja przetworzona".into(),
            details: vec!["a".into()],
            invoice_count: Some(2),
            successful_count: Some(1),
            failed_count: Some(1),
        };
        store.update_session_status("s1", &status).await.unwrap();
        assert!(store.request_session_close("s1", 30).await.unwrap(), "{engine}");
        assert!(!store.request_session_close("s1", 31).await.unwrap(), "{engine}: closed once");
        store.set_session_upo("s1", b"<Potwierdzenie/>", 1).await.unwrap();
        let s = store.session("s1").await.unwrap().unwrap();
        assert_eq!(s.status, Some(status), "{engine}");
        assert_eq!((s.closed_at, s.upo.as_deref()), (Some(30), Some(&b"<Potwierdzenie/>"[..])), "{engine}");
        assert!(store.session("nope").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn the_same_invoice_hash_in_a_session_is_recorded_once() {
    let (stores, _dir) = fresh_stores().await;
    for (engine, store) in stores {
        tenant(&store, "t1").await;
        session(&store, "t1", "s1").await;
        assert_eq!(store.insert_invoice(&invoice("i1", "h1")).await.unwrap(), InvoiceInsert::Inserted, "{engine}");
        match store.insert_invoice(&invoice("i2", "h1")).await.unwrap() {
            InvoiceInsert::Existing(existing) => assert_eq!(existing.id, "i1", "{engine}"),
            other => panic!("{engine}: {other:?}"),
        }
        assert_eq!(store.insert_invoice(&invoice("i3", "h2")).await.unwrap(), InvoiceInsert::Inserted, "{engine}");
        let ids: Vec<String> = store.session_invoices("s1").await.unwrap().into_iter().map(|i| i.id).collect();
        assert_eq!(ids, ["i1", "i3"], "{engine}");
    }
}

fn accepted(now: i64) -> StatusChange {
    StatusChange {
        state: DeliveryState::Accepted,
        status: InvoiceStatusUpdate {
            code: 200,
            description: "Sukces".into(),
            details: vec![],
            extensions: Some(r#"{"a":"b"}"#.into()),
            ordinal: Some(1),
            invoice_number: Some("FV/1".into()),
            ksef_number: Some("5265877635-20250826-0100001AF629-AF".into()),
            acquisition_date: Some(now),
            permanent_storage_date: Some(now + 1),
            invoicing_mode: Some("Offline".into()),
        },
        original_ksef_number: None,
        next_poll_at: None,
        reference: None,
    }
}

#[tokio::test]
async fn an_invoice_goes_from_sending_through_the_queue_to_sent_and_accepted() {
    let (stores, _dir) = fresh_stores().await;
    for (engine, store) in stores {
        tenant(&store, "t1").await;
        session(&store, "t1", "s1").await;
        store.insert_invoice(&invoice("i1", "h1")).await.unwrap();
        let recorded = store.invoice("i1").await.unwrap().unwrap();
        assert_eq!((recorded.state, recorded.attempts, recorded.lease_owner.as_deref()), (DeliveryState::Sending, 1, Some("instance-a")), "{engine}");
        assert!(recorded.ksef_session.is_some(), "{engine}: the KSeF session it goes into is recorded with it");
        store.requeue_invoice("i1", "KSeF unreachable", 100, 21, true).await.unwrap();
        let queued = store.invoice("i1").await.unwrap().unwrap();
        assert_eq!((queued.state, queued.payload.is_some(), queued.send_error.as_deref()), (DeliveryState::Queued, true, Some("KSeF unreachable")), "{engine}");
        assert!(queued.verify_first, "{engine}: an uncertain attempt is looked for before the next");
        assert!(store.claim_queued_invoices("instance-b", 99, 10, 10).await.unwrap().is_empty(), "{engine}: not due before its time");
        let claimed = store.claim_queued_invoices("instance-b", 100, 10, 10).await.unwrap();
        assert_eq!(claimed.len(), 1, "{engine}");
        assert_eq!((claimed[0].state, claimed[0].attempts, claimed[0].lease_owner.as_deref()), (DeliveryState::Sending, 2, Some("instance-b")), "{engine}");
        assert!(store.claim_queued_invoices("instance-c", 200, 10, 10).await.unwrap().is_empty(), "{engine}: claimed once");
        store.mark_invoice_sent("i1", "20260101-SO-0000000000-0000000000-01", "20260101-EE-0000000000-0000000000-00", 23, 50).await.unwrap();
        let sent = store.invoice("i1").await.unwrap().unwrap();
        assert_eq!((sent.state, sent.send_error, sent.lease_owner), (DeliveryState::Sent, None, None), "{engine}");
        assert!(sent.payload.is_some(), "{engine}: kept until KSeF's verdict, so a rejected invoice can be shown");
        assert!(!sent.verify_first, "{engine}");
        assert!(store.claim_due_polls(49, 1000, 10).await.unwrap().is_empty(), "{engine}");
        let polled = store.claim_due_polls(50, 1000, 10).await.unwrap();
        assert_eq!(polled.iter().map(|r| (r.id.as_str(), r.ksef_reference.is_some(), r.payload.is_some())).collect::<Vec<_>>(), [("i1", true, false)], "{engine}: a poll is claimed without the invoice's bytes");
        assert!(store.claim_due_polls(60, 1000, 10).await.unwrap().is_empty(), "{engine}: held by the first poller");
        store.update_invoice_statuses(vec![("i1".to_owned(), accepted(1_700_000_000_000_000))], 24).await.unwrap();
        let done = store.invoice("i1").await.unwrap().unwrap();
        assert_eq!(done.state, DeliveryState::Accepted, "{engine}");
        assert_eq!(done.payload, None, "{engine}: dropped once KSeF holds it for good");
        assert_eq!(done.status, Some(accepted(1_700_000_000_000_000).status), "{engine}");
        assert!(store.claim_due_polls(2000, 3000, 10).await.unwrap().is_empty(), "{engine}: a final invoice is not polled");
        store.delete_refused_invoice("i1").await.unwrap();
        assert!(store.invoice("i1").await.unwrap().is_some(), "{engine}: a sent invoice is never deleted");
    }
}

#[tokio::test]
async fn verdicts_recorded_together_each_get_one_event_numbered_per_tenant() {
    let (stores, _dir) = fresh_stores().await;
    for (engine, store) in stores {
        two_tenants(&store).await;
        for (id, t) in [("i1", "t1"), ("i2", "t1"), ("i3", "t2"), ("i4", "t1")] {
            store.insert_invoice(&invoice_of(t, id, &format!("h{id}"))).await.unwrap();
        }
        let rejected = StatusChange { state: DeliveryState::Rejected, ..accepted(30) };
        let pending = StatusChange { state: DeliveryState::Sent, next_poll_at: Some(99), ..accepted(30) };
        let changes = vec![("i1".to_owned(), accepted(30)), ("i3".to_owned(), accepted(30)), ("i2".to_owned(), rejected.clone()), ("i4".to_owned(), pending)];
        store.update_invoice_statuses(changes, 31).await.unwrap();
        let of = |events: Vec<ksef_store::EventRecord>| events.into_iter().map(|e| (e.seq, e.kind.as_str(), e.subject)).collect::<Vec<_>>();
        let t1 = of(store.events_after("t1", 0, i64::MAX, None, 10).await.unwrap());
        assert_eq!(t1, [(1, "invoice.accepted", "i1".to_owned()), (2, "invoice.rejected", "i2".to_owned())], "{engine}: none for the invoice still in KSeF");
        assert_eq!(of(store.events_after("t2", 0, i64::MAX, None, 10).await.unwrap()), [(1, "invoice.accepted", "i3".to_owned())], "{engine}");
        // Told again (a poll that raced another instance's): no second event.
        store.update_invoice_statuses(vec![("i1".to_owned(), accepted(30)), ("i2".to_owned(), rejected)], 32).await.unwrap();
        assert_eq!(store.last_event_seq("t1").await.unwrap(), 2, "{engine}");
        assert_eq!(store.invoice("i4").await.unwrap().unwrap().state, DeliveryState::Sent, "{engine}");
    }
}

#[tokio::test]
async fn two_instances_recording_verdicts_of_the_same_tenants_at_once_both_commit() {
    let (stores, _dir) = fresh_stores().await;
    for (engine, store) in stores {
        two_tenants(&store).await;
        for round in 0..30 {
            for (id, t) in [("a", "t1"), ("b", "t2"), ("c", "t2"), ("d", "t1")] {
                let id = format!("{id}{round}");
                store.insert_invoice(&invoice_of(t, &id, &id)).await.unwrap();
            }
            // The two writes name the tenants in opposite orders.
            let one = store.update_invoice_statuses(vec![(format!("a{round}"), accepted(30)), (format!("b{round}"), accepted(30))], 31);
            let other = store.update_invoice_statuses(vec![(format!("c{round}"), accepted(30)), (format!("d{round}"), accepted(30))], 31);
            let (one, other) = tokio::join!(one, other);
            assert!(one.is_ok() && other.is_ok(), "{engine}, round {round}: {one:?} {other:?}");
        }
        assert_eq!((store.last_event_seq("t1").await.unwrap(), store.last_event_seq("t2").await.unwrap()), (60, 60), "{engine}");
    }
}

#[tokio::test]
async fn two_instances_claiming_at_once_never_claim_the_same_invoice() {
    let (stores, _dir) = fresh_stores().await;
    for (engine, store) in stores {
        tenant(&store, "t1").await;
        session(&store, "t1", "s1").await;
        for n in 0..200 {
            store.insert_invoice(&invoice(&format!("i{n}"), &format!("h{n}"))).await.unwrap();
            store.requeue_invoice(&format!("i{n}"), "later", 0, 1, false).await.unwrap();
        }
        let claimers = (0..4).map(|k| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = store.claim_queued_invoices(&format!("instance-{k}"), 10, 7, 100).await.unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|r| r.id));
                }
            })
        });
        let mut all = Vec::new();
        for claimer in claimers {
            all.extend(claimer.await.unwrap());
        }
        let unique: std::collections::BTreeSet<_> = all.iter().cloned().collect();
        assert_eq!((all.len(), unique.len()), (200, 200), "{engine}: each invoice claimed exactly once");
    }
}

#[tokio::test]
async fn a_tenants_backlog_does_not_hold_up_another_tenants_invoice() {
    let (stores, _dir) = fresh_stores().await;
    for (engine, store) in stores {
        tenant(&store, "t1").await;
        tenant(&store, "t2").await;
        session(&store, "t1", "s1").await;
        session(&store, "t2", "s2").await;
        for n in 0..50 {
            store.insert_invoice(&NewInvoice { created_at: n, ..invoice(&format!("a{n}"), &format!("h{n}")) }).await.unwrap();
            store.requeue_invoice(&format!("a{n}"), "later", 0, 1, false).await.unwrap();
        }
        let late = NewInvoice { tenant_id: "t2".into(), session_id: "s2".into(), created_at: 100, ..invoice("b0", "hb") };
        store.insert_invoice(&late).await.unwrap();
        store.requeue_invoice("b0", "later", 0, 1, false).await.unwrap();
        let claimed: Vec<String> = store.claim_queued_invoices("i", 10, 10, 5).await.unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(claimed.len(), 6, "{engine}: five of the first tenant's, and the other's one: {claimed:?}");
        assert!(claimed.contains(&"b0".to_owned()), "{engine}");
    }
}

#[tokio::test]
async fn sends_held_by_a_silent_instance_are_orphans_and_adopted_once() {
    let (stores, _dir) = fresh_stores().await;
    for (engine, store) in stores {
        tenant(&store, "t1").await;
        session(&store, "t1", "s1").await;
        store.heartbeat("instance-a", 1_000).await.unwrap();
        store.insert_invoice(&invoice("i1", "h1")).await.unwrap();
        assert!(store.orphaned_sends(900, 10).await.unwrap().is_empty(), "{engine}: its owner is alive");
        let orphans = store.orphaned_sends(1_001, 10).await.unwrap();
        assert_eq!(orphans.len(), 1, "{engine}: its owner fell silent");
        assert!(store.adopt_orphan("i1", Some("instance-a"), "instance-b", 2_000).await.unwrap(), "{engine}");
        assert!(!store.adopt_orphan("i1", Some("instance-a"), "instance-c", 2_000).await.unwrap(), "{engine}: adopted once");
    }
}

#[tokio::test]
async fn a_closed_session_takes_no_invoice_and_is_closed_in_ksef_only_once_its_invoices_are_in() {
    let (stores, _dir) = fresh_stores().await;
    for (engine, store) in stores {
        tenant(&store, "t1").await;
        session(&store, "t1", "s1").await;
        store.insert_invoice(&invoice("i1", "h1")).await.unwrap();
        assert!(store.request_session_close("s1", 30).await.unwrap());
        assert_eq!(store.insert_invoice(&invoice("i2", "h2")).await.unwrap(), InvoiceInsert::SessionClosed, "{engine}");
        assert!(matches!(store.insert_invoice(&invoice("i3", "h1")).await.unwrap(), InvoiceInsert::Existing(_)), "{engine}: a resend is answered");
        assert!(store.session_has_undelivered("s1").await.unwrap());
        assert!(store.claim_due_closes(40, 50, 10).await.unwrap().is_empty(), "{engine}: an invoice is still on its way");
        store.mark_invoice_sent("i1", "r", "20260101-EE-0000000000-0000000000-00", 41, 42).await.unwrap();
        assert_eq!(store.claim_due_closes(43, 80, 10).await.unwrap().len(), 1, "{engine}");
        assert!(store.claim_due_closes(44, 80, 10).await.unwrap().is_empty(), "{engine}: held");
        store.mark_session_ksef_closed("s1", 45).await.unwrap();
        assert_eq!(store.claim_due_upos(100, 101, 0, 10).await.unwrap().len(), 1, "{engine}: its UPO is due");
        let s = store.session("s1").await.unwrap().unwrap();
        assert!(store.continue_session("s1", s.ksef_reference.as_deref().unwrap(), "NEW").await.unwrap(), "{engine}");
        assert!(!store.continue_session("s1", "OLD", "NEWER").await.unwrap(), "{engine}: moved on once");
        assert_eq!(store.session("s1").await.unwrap().unwrap().ksef_closed_at, None, "{engine}: the new KSeF session is open");
    }
}

#[tokio::test]
async fn an_idempotency_key_runs_once_then_replays_until_it_expires() {
    let (stores, _dir) = fresh_stores().await;
    for (engine, store) in stores {
        tenant(&store, "t1").await;
        assert_eq!(store.begin_idempotent("t1", "k", "req-a", 1, 0).await.unwrap(), IdempotencyStart::Run, "{engine}");
        assert_eq!(store.begin_idempotent("t1", "k", "req-a", 2, 0).await.unwrap(), IdempotencyStart::InProgress, "{engine}");
        assert_eq!(store.begin_idempotent("t1", "k", "req-b", 2, 0).await.unwrap(), IdempotencyStart::Mismatch, "{engine}");
        let response = StoredResponse { status: 201, content_type: "application/json".into(), body: Some(b"{}".to_vec()) };
        store.finish_idempotent("t1", "k", &response).await.unwrap();
        assert_eq!(store.begin_idempotent("t1", "k", "req-a", 3, 0).await.unwrap(), IdempotencyStart::Replay(response), "{engine}");
        assert_eq!(store.begin_idempotent("t1", "other", "req-a", 3, 0).await.unwrap(), IdempotencyStart::Run, "{engine}");
        store.abandon_idempotent("t1", "other").await.unwrap();
        assert_eq!(store.begin_idempotent("t1", "other", "req-a", 4, 0).await.unwrap(), IdempotencyStart::Run, "{engine}: released");
        // An answer too large to keep: a repeat runs again.
        let large = StoredResponse { status: 200, content_type: "application/pdf".into(), body: None };
        store.finish_idempotent("t1", "other", &large).await.unwrap();
        assert_eq!(store.begin_idempotent("t1", "other", "req-a", 5, 0).await.unwrap(), IdempotencyStart::Rerun, "{engine}");
        // Expired: the key is free again, for any request; and purged keys are gone.
        assert_eq!(store.begin_idempotent("t1", "k", "req-b", 10, 5).await.unwrap(), IdempotencyStart::Run, "{engine}: expired");
        assert_eq!(store.purge_idempotency(6).await.unwrap(), 1, "{engine}: `other` (used at 4) purged, `k` (10) kept");
    }
}

#[tokio::test]
async fn a_query_keeps_its_range_key_and_export_reference() {
    let (stores, _dir) = fresh_stores().await;
    for (engine, store) in stores {
        tenant(&store, "t1").await;
        let q = ksef_store::QueryRecord {
            id: "q1".into(),
            tenant_id: "t1".into(),
            ksef_reference: None,
            subject_type: "Subject2".into(),
            range_from: 1,
            range_to: None,
            key_mode: KeyMode::Gateway,
            sealed_key: Some(vec![5; 60]),
            iv: Some(vec![0; 16]),
            created_at: 2,
        };
        store.insert_query(&q).await.unwrap();
        assert_eq!(store.query("q1").await.unwrap().unwrap(), q, "{engine}");
        store.set_query_reference("q1", "20260101-EH-0000000000-0000000000-00").await.unwrap();
        store.delete_unstarted_query("q1").await.unwrap();
        let started = store.query("q1").await.unwrap().expect("a started query is kept");
        assert_eq!(started.ksef_reference.as_deref(), Some("20260101-EH-0000000000-0000000000-00"), "{engine}");
        assert!(store.query("q2").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn a_rate_budget_gives_each_window_its_allowance_and_says_when_the_next_place_frees() {
    let (stores, _dir) = fresh_stores().await;
    const S: i64 = 1_000_000;
    let windows = [(S, 3), (60 * S, 5)];
    for (engine, store) in stores {
        let t0 = 1_000 * S;
        for i in 0..3 {
            assert_eq!(store.take_rate_slot("ctx-a", "invoiceSend", t0 + i * 100_000, &windows).await.unwrap(), Ok(()), "{engine}");
        }
        let wait = store.take_rate_slot("ctx-a", "invoiceSend", t0 + 300_000, &windows).await.unwrap();
        assert_eq!(wait, Err(700_000), "{engine}: the fourth in a second waits for the first to leave it");
        assert_eq!(store.take_rate_slot("ctx-b", "invoiceSend", t0, &windows).await.unwrap(), Ok(()), "{engine}: another context has its own");
        assert_eq!(store.take_rate_slot("ctx-a", "invoiceStatus", t0, &windows).await.unwrap(), Ok(()), "{engine}: another group too");
        for at in [t0 + S, t0 + S + 100_000] {
            assert_eq!(store.take_rate_slot("ctx-a", "invoiceSend", at, &windows).await.unwrap(), Ok(()), "{engine}");
        }
        let wait = store.take_rate_slot("ctx-a", "invoiceSend", t0 + 2 * S, &windows).await.unwrap();
        assert_eq!(wait, Err(58 * S), "{engine}: the minute's five are spent until the first leaves it");
        assert_eq!(store.take_rate_slot("ctx-a", "invoiceSend", t0 + 60 * S, &windows).await.unwrap(), Ok(()), "{engine}");
    }
}

#[tokio::test]
async fn instances_taking_from_one_rate_budget_at_once_never_exceed_it() {
    let (stores, _dir) = fresh_stores().await;
    for (engine, store) in stores {
        let now = 5_000_000_000;
        let takers = (0..24).map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.take_rate_slot("ctx", "invoiceSend", now, &[(1_000_000, 10), (60_000_000, 30)]).await.unwrap() })
        });
        let mut taken = 0;
        for taker in takers {
            taken += usize::from(taker.await.unwrap().is_ok());
        }
        assert_eq!(taken, 10, "{engine}: exactly the second's ten places were taken");
    }
}

#[tokio::test]
async fn a_long_queue_of_submits_is_claimed_into_one_batch_and_given_back_if_ksef_did_not_take_it() {
    let (stores, _dir) = fresh_stores().await;
    for (engine, store) in stores {
        tenant(&store, "t1").await;
        let managed = NewSession {
            id: "m1".into(),
            tenant_id: "t1".into(),
            invoice_version: "v3".into(),
            kind: SessionKind::Online,
            key_mode: KeyMode::Gateway,
            sealed_key: Some(vec![9; 60]),
            iv: Some(vec![0; 16]),
            encryption: None,
            managed: true,
            created_at: 10,
        };
        store.insert_session(&managed).await.unwrap();
        for n in 0..5 {
            let new = NewInvoice { session_id: "m1".into(), lease_owner: None, created_at: 20 + n, ..invoice(&format!("i{n}"), &format!("h{n}")) };
            store.insert_invoice(&new).await.unwrap();
        }
        assert!(store.batch_queues(6).await.unwrap().is_empty(), "{engine}: five are not six");
        let queues = store.batch_queues(5).await.unwrap();
        assert_eq!(queues.len(), 1, "{engine}");
        assert_eq!((queues[0].invoice_version.as_str(), queues[0].offline, queues[0].count), ("v3", false, 5), "{engine}");
        // At most four, and at most 350 bytes (100 each): three.
        let claimed = store.claim_batch("instance-a", "b1", &queues[0], 100, 4, 350).await.unwrap();
        assert_eq!(claimed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), vec!["i0", "i1", "i2"], "{engine}: the oldest");
        assert!(claimed.iter().all(|r| r.state == DeliveryState::Sending && r.batch_session.as_deref() == Some("b1")), "{engine}");
        assert_eq!(store.set_batch_reference("b1", "20260101-SB-X").await.unwrap(), 3, "{engine}");
        for id in ["b1", "b2"] {
            store.insert_session(&NewSession { id: id.into(), kind: SessionKind::Batch, managed: false, ..managed.clone() }).await.unwrap();
        }
        // Sent, and its close asked for in the same transaction: a poll never sees the one without the other.
        assert_eq!(store.mark_batch_sent("b1", 200, 300, 3).await.unwrap(), 3, "{engine}");
        assert_eq!(store.session("b1").await.unwrap().unwrap().closed_at, Some(200), "{engine}: all three still the batch's, so closed");
        assert_eq!(store.unbatch("b1", Some("i1"), "not in KSeF's list", 400, 400, true).await.unwrap(), 1, "{engine}");
        let given_back = store.invoice("i1").await.unwrap().unwrap();
        assert_eq!((given_back.state, given_back.batch_session.as_deref()), (DeliveryState::Queued, None), "{engine}");
        // Back in the queue to go online: no batch takes it again, but the two never claimed are still batchable.
        let queues = store.batch_queues(1).await.unwrap();
        assert_eq!(queues.iter().map(|q| q.count).sum::<i64>(), 2, "{engine}: {queues:?}");
        // A batch some of whose invoices were taken over meanwhile is marked but not closed: KSeF cancels it.
        let claimed = store.claim_batch("instance-a", "b2", &queues[0], 500, 4, 1000).await.unwrap();
        assert_eq!(claimed.len(), 2, "{engine}");
        assert_eq!(store.mark_batch_sent("b2", 600, 700, 3).await.unwrap(), 2, "{engine}");
        assert_eq!(store.session("b2").await.unwrap().unwrap().closed_at, None, "{engine}: not all its claimed invoices, so not closed");
    }
}

#[tokio::test]
async fn full_durability_syncs_every_commit_and_fast_only_at_checkpoints_on_each_engine() {
    use ksef_store::{DatabaseUrl, Durability};
    let dir = tempfile::tempdir().unwrap();
    let mut urls = vec![("sqlite", DatabaseUrl::sqlite_file(&dir.path().join("durable.sqlite")))];
    if let Some(url) = ksef_store::testing::fresh_postgres_url().await {
        urls.push(("postgres", url));
    }
    for (engine, url) in urls {
        let full = Store::open(&url).await.unwrap();
        let expected_full = if engine == "sqlite" { "synchronous = 2" } else { "synchronous_commit = on" };
        assert_eq!(full.durability_in_force().await.unwrap(), expected_full, "{engine}: the default survives a power cut");
        full.close().await;
        let fast = Store::open_with(&url, Durability::Fast).await.unwrap();
        let expected_fast = if engine == "sqlite" { "synchronous = 1" } else { "synchronous_commit = off" };
        assert_eq!(fast.durability_in_force().await.unwrap(), expected_fast, "{engine}");
    }
}
