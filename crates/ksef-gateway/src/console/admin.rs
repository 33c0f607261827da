//! The operator's pages: tenants (added, disabled, re-keyed, given a token or a certificate) and the audit log.
//! A tenant signed in sees none of them (404).

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::extract::{Form, Query, Signed, Upload, text_field};
use super::pages;
use crate::api::AppState;
use crate::errors::ErrorCode;
use crate::ops::credentials::CertificateInput;
use crate::ops::{OpError, admin};

/// The tenants page again after a change, with a new API key to show once, if one was issued.
async fn tenants_after(state: &AppState, signed: &Signed, shown: Option<&pages::Shown>) -> Response {
    match admin::list_tenants(&state.ops).await {
        Ok(list) => pages::tenants(signed, &list, shown),
        Err(err) => signed.failure(err),
    }
}

pub(super) async fn tenants(State(state): State<AppState>, signed: Signed) -> Response {
    if let Err(refused) = signed.operator_only() {
        return *refused;
    }
    tenants_after(&state, &signed, None).await
}

#[derive(Deserialize)]
pub(super) struct AddTenantForm {
    #[serde(default)]
    csrf: String,
    name: String,
    nip: String,
    ksef_token: String,
}

pub(super) async fn add_tenant(State(state): State<AppState>, signed: Signed, Form(form): Form<AddTenantForm>) -> Response {
    if let Err(refused) = signed.operator_only().and_then(|()| signed.check(&form.csrf)) {
        return *refused;
    }
    match admin::add_tenant(&state.ops, &signed.viewer.actor, &form.name, &form.nip, admin::NewCredential::Token(&form.ksef_token)).await {
        Ok(added) => {
            let shown = pages::Shown { tenant_id: added.tenant.id.clone(), api_key: added.api_key.expose().to_owned() };
            tenants_after(&state, &signed, Some(&shown)).await
        }
        Err(err) => signed.failure(err),
    }
}

#[derive(Deserialize)]
pub(super) struct TenantActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ksef_token: String,
}

pub(super) async fn tenant_action(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<TenantActionForm>,
) -> Response {
    if let Err(refused) = signed.operator_only().and_then(|()| signed.check(&form.csrf)) {
        return *refused;
    }
    let actor = &signed.viewer.actor;
    let mut shown = None;
    let result = match action.as_str() {
        "disable" => admin::set_disabled(&state.ops, actor, &id, true).await.map(drop),
        "enable" => admin::set_disabled(&state.ops, actor, &id, false).await.map(drop),
        "rotate" => admin::rotate_api_key(&state.ops, actor, &id).await.map(|key| {
            shown = Some(pages::Shown { tenant_id: id.clone(), api_key: key.expose().to_owned() });
        }),
        "token" => admin::set_credential(&state.ops, actor, &id, admin::NewCredential::Token(&form.ksef_token)).await.map(drop),
        _ => Err(OpError::refused(ErrorCode::RequestInvalid, format!("unknown action `{action}`"))),
    };
    state.api_keys.forget_tenant(&id);
    match result {
        Ok(()) => tenants_after(&state, &signed, shown.as_ref()).await,
        Err(err) => signed.failure(err),
    }
}

/// Sets a tenant's certificate and key from uploaded files (PEM or DER; a PKCS#12 file as the key, with its
/// password).
pub(super) async fn tenant_certificate(State(state): State<AppState>, signed: Signed, Path(id): Path<String>, upload: Upload) -> Response {
    if let Err(refused) = signed.operator_only() {
        return *refused;
    }
    let fields = match upload.fields(2).await {
        Ok(fields) => fields,
        Err(refused) => return refused,
    };
    if let Err(refused) = signed.check(&text_field(&fields, "csrf").unwrap_or_default()) {
        return *refused;
    }
    let file = |name: &str| fields.iter().find(|(n, _, _)| n == name).map(|(_, _, b)| b.to_vec());
    let (certificate, password) = (file("certificate"), text_field(&fields, "password"));
    let Some(key) = file("key") else {
        return signed.failure(OpError::refused(ErrorCode::RequestInvalid, "choose the private key's file (or a PKCS#12 file)"));
    };
    let input = CertificateInput { certificate: certificate.as_deref(), key: &key, password: password.as_deref() };
    match admin::set_credential(&state.ops, &signed.viewer.actor, &id, admin::NewCredential::Certificate(input)).await {
        Ok(_) => {
            state.api_keys.forget_tenant(&id);
            tenants_after(&state, &signed, None).await
        }
        Err(err) => signed.failure(err),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct AuditQuery {
    before: Option<String>,
}

pub(super) async fn audit(State(state): State<AppState>, signed: Signed, Query(q): Query<AuditQuery>) -> Response {
    if let Err(refused) = signed.operator_only() {
        return *refused;
    }
    match admin::audit_log(&state.ops, q.before.as_deref().filter(|b| b.len() <= 64), pages::AUDIT_PAGE as i64).await {
        Ok(entries) => pages::audit(&signed, &entries),
        Err(err) => signed.failure(err),
    }
}
