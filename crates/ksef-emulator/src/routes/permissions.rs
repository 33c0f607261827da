//! Permissions (`/v2/permissions/*`): what an accounting office needs. A context's owner (or anyone with
//! `CredentialsManage` there) grants persons and entities invoice and credential permissions, an entity
//! passes delegable ones to its people (indirect grants), grants are revoked and queried, and each change is an
//! operation whose status is read back. Grants take effect at the next login in the context.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ksef_core::ids::{ReferenceKind, ReferenceNumber};
use ksef_wire::TokenPermission as P;
use ksef_wire::codes::permission;
use ksef_wire::credentials::SubjectIdentifierType;
use ksef_wire::permissions::{
    CheckAttachmentPermissionStatusResponse, EntityPermissionsGrantRequest, IndirectPermissionsGrantRequest, PermissionItem,
    PermissionState, PermissionType, PermissionsOperationResponse, PermissionsOperationStatusResponse, PermissionsQueryResponse,
    PersonPermissionsGrantRequest, PersonPermissionsQueryRequest, TargetIdentifierType, TypedIdentifier,
};

use crate::error::EmuError;
use crate::extract::{Caller, KsefJson, KsefPath, QueryPairs, reference};
use crate::permissions::context_nip;
use crate::routes::tokens::caller_subject;
use crate::state::AppState;
use crate::store::{PermissionRow, StoredStatus, SubjectKey};

/// Permissions needed to grant and revoke.
const MANAGE: &[P] = &[P::CredentialsManage];
/// Permissions needed to read grants.
const READ: &[P] = &[P::CredentialsManage, P::CredentialsRead];

fn check_description(description: &str) -> Result<(), EmuError> {
    if (5..=256).contains(&description.chars().count()) {
        Ok(())
    } else {
        Err(EmuError::validation(["description musi mieć od 5 do 256 znaków.".to_owned()]))
    }
}

fn subject_key(kind: SubjectIdentifierType, value: &str) -> Result<SubjectKey, EmuError> {
    let ok = match kind {
        SubjectIdentifierType::Nip => value.len() == 10 && value.bytes().all(|b| b.is_ascii_digit()),
        SubjectIdentifierType::Pesel => value.len() == 11 && value.bytes().all(|b| b.is_ascii_digit()),
        SubjectIdentifierType::Fingerprint => (10..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_hexdigit()),
    };
    if !ok {
        return Err(EmuError::validation([format!("'{value}' nie jest poprawnym identyfikatorem typu {}.", kind.as_str())]));
    }
    let value = if kind == SubjectIdentifierType::Fingerprint { value.to_ascii_uppercase() } else { value.to_owned() };
    Ok((kind.as_str().to_owned(), value))
}

struct Grant<'a> {
    kind: &'a str,
    subject: SubjectKey,
    permission: PermissionType,
    can_delegate: bool,
    target: Option<(String, Option<String>)>,
    description: &'a str,
}

/// Records `grants` in the caller's context, or only the operation's refusal when `refusal` is given.
async fn record(
    state: &AppState,
    caller: &Caller,
    grants: Vec<Grant<'_>>,
    refusal: Option<StoredStatus>,
) -> Result<(StatusCode, Json<PermissionsOperationResponse>), EmuError> {
    let now = state.now();
    let reference = ReferenceNumber::generate(ReferenceKind::PermissionOperation, now.date_naive()).to_string();
    match refusal {
        Some(status) => state.db.record_permission_operation(&reference, &caller.context.value, &status, now).await?,
        None => {
            let author = caller_subject(state, caller).await?;
            let rows: Vec<PermissionRow> = grants
                .into_iter()
                .map(|g| PermissionRow {
                    id: permission_id(),
                    kind: g.kind.to_owned(),
                    context_type: caller.context.kind.as_str().to_owned(),
                    context_value: caller.context.value.clone(),
                    subject: g.subject,
                    permission: g.permission.as_str().to_owned(),
                    can_delegate: g.can_delegate,
                    target: g.target,
                    description: g.description.to_owned(),
                    author: author.clone(),
                    created_at: now,
                })
                .collect();
            state.db.grant(&reference, &rows, &permission::DONE.into(), now).await?;
        }
    }
    Ok((StatusCode::ACCEPTED, Json(PermissionsOperationResponse { reference_number: reference })))
}

/// A permission id: 36 characters, as KSeF's.
pub(crate) fn permission_id() -> String {
    let b: [u8; 16] = ksef_core::crypto::random_array();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// Whether the caller's context may hand out enforcement permissions.
async fn enforcement_context(state: &AppState, caller: &Caller) -> Result<bool, EmuError> {
    let Some(nip) = context_nip(&caller.context) else { return Ok(false) };
    let subject = state.db.test_subject_type(nip).await?;
    Ok(subject.as_deref() == Some("EnforcementAuthority") || caller.permissions.iter().any(|p| p == P::EnforcementOperations.as_str()))
}

/// `POST /v2/permissions/persons/grants` → 202.
pub(crate) async fn grant_persons(
    State(state): State<AppState>,
    caller: Caller,
    KsefJson(req): KsefJson<PersonPermissionsGrantRequest>,
) -> Result<(StatusCode, Json<PermissionsOperationResponse>), EmuError> {
    caller.require_any(MANAGE)?;
    check_description(&req.description)?;
    let subject = subject_key(req.subject_identifier.kind, &req.subject_identifier.value)?;
    if req.permissions.is_empty() || req.permissions.contains(&PermissionType::VatUeManage) {
        return Err(EmuError::validation(["permissions musi zawierać od jednego uprawnienia osoby (bez VatUeManage).".to_owned()]));
    }
    let refusal = (req.permissions.contains(&PermissionType::EnforcementOperations) && !enforcement_context(&state, &caller).await?)
        .then(|| StoredStatus::from(permission::WRONG_ROLE));
    let grants = req
        .permissions
        .iter()
        .map(|p| Grant { kind: "person", subject: subject.clone(), permission: *p, can_delegate: false, target: None, description: &req.description })
        .collect();
    record(&state, &caller, grants, refusal).await
}

/// `POST /v2/permissions/entities/grants` → 202: invoice permissions for another company (an accounting office).
pub(crate) async fn grant_entities(
    State(state): State<AppState>,
    caller: Caller,
    KsefJson(req): KsefJson<EntityPermissionsGrantRequest>,
) -> Result<(StatusCode, Json<PermissionsOperationResponse>), EmuError> {
    caller.require_any(MANAGE)?;
    check_description(&req.description)?;
    if req.subject_identifier.kind != SubjectIdentifierType::Nip {
        return Err(EmuError::validation(["Uprawnienia podmiotowe nadaje się podmiotowi o identyfikatorze Nip.".to_owned()]));
    }
    let subject = subject_key(SubjectIdentifierType::Nip, &req.subject_identifier.value)?;
    let allowed = [PermissionType::InvoiceWrite, PermissionType::InvoiceRead, PermissionType::CollectiveIdentifierManage];
    if req.permissions.is_empty() || req.permissions.iter().any(|p| !allowed.contains(&p.kind)) {
        return Err(EmuError::validation(["Podmiotowi nadaje się InvoiceWrite, InvoiceRead lub CollectiveIdentifierManage.".to_owned()]));
    }
    let grants = req
        .permissions
        .iter()
        .map(|p| Grant {
            kind: "entity",
            subject: subject.clone(),
            permission: p.kind,
            can_delegate: p.can_delegate == Some(true),
            target: None,
            description: &req.description,
        })
        .collect();
    record(&state, &caller, grants, None).await
}

/// `POST /v2/permissions/indirect/grants` → 202: the caller's company passes its clients' delegable permissions
/// to one of its people, for one client or all of them.
pub(crate) async fn grant_indirect(
    State(state): State<AppState>,
    caller: Caller,
    KsefJson(req): KsefJson<IndirectPermissionsGrantRequest>,
) -> Result<(StatusCode, Json<PermissionsOperationResponse>), EmuError> {
    caller.require_any(MANAGE)?;
    check_description(&req.description)?;
    let subject = subject_key(req.subject_identifier.kind, &req.subject_identifier.value)?;
    if req.permissions.is_empty() || req.permissions.iter().any(|p| !matches!(p, PermissionType::InvoiceWrite | PermissionType::InvoiceRead)) {
        return Err(EmuError::validation(["Pośrednio nadaje się InvoiceWrite lub InvoiceRead.".to_owned()]));
    }
    let target = match &req.target_identifier {
        None => ("AllPartners".to_owned(), None),
        Some(t) if t.kind == TargetIdentifierType::AllPartners => ("AllPartners".to_owned(), None),
        Some(t) => (
            t.kind.as_str().to_owned(),
            Some(t.value.clone().ok_or_else(|| EmuError::validation(["targetIdentifier.value jest wymagane.".to_owned()]))?),
        ),
    };
    // A selective grant needs that client's delegable grant of each permission to the caller's company.
    let mut refusal = None;
    if let Some(client) = &target.1 {
        let delegable = state.db.entity_grants_to(&caller.context.value).await?;
        let ok = req.permissions.iter().all(|p| delegable.iter().any(|g| &g.context_value == client && g.can_delegate && g.permission == p.as_str()));
        if !ok {
            refusal = Some(StoredStatus::from(permission::NOT_ALLOWED_FOR_RELATION));
        }
    }
    let grants = req
        .permissions
        .iter()
        .map(|p| Grant {
            kind: "indirect",
            subject: subject.clone(),
            permission: *p,
            can_delegate: false,
            target: Some(target.clone()),
            description: &req.description,
        })
        .collect();
    record(&state, &caller, grants, refusal).await
}

/// `DELETE /v2/permissions/common/grants/{permissionId}` → 202.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    KsefPath(id): KsefPath<String>,
) -> Result<(StatusCode, Json<PermissionsOperationResponse>), EmuError> {
    caller.require_any(&[P::CredentialsManage, P::SubunitManage])?;
    let grant = state
        .db
        .permission(&id)
        .await?
        .filter(|g| g.context_value == caller.context.value && g.kind != "testdata")
        .ok_or_else(|| EmuError::validation([format!("Uprawnienie {id} nie istnieje w bieżącym kontekście.")]))?;
    let now = state.now();
    let reference = ReferenceNumber::generate(ReferenceKind::PermissionOperation, now.date_naive()).to_string();
    state.db.revoke_permission(&grant.id, &reference, &permission::DONE.into(), now).await?;
    Ok((StatusCode::ACCEPTED, Json(PermissionsOperationResponse { reference_number: reference })))
}

/// `GET /v2/permissions/operations/{referenceNumber}`.
pub(crate) async fn operation_status(
    State(state): State<AppState>,
    caller: Caller,
    KsefPath(operation): KsefPath<String>,
) -> Result<Json<PermissionsOperationStatusResponse>, EmuError> {
    reference(&operation)?;
    // Another context's operation does not exist for this caller.
    let (status, _) = state
        .db
        .permission_operation(&operation, &caller.context.value)
        .await?
        .ok_or_else(|| EmuError::validation([format!("Operacja {operation} nie istnieje.")]))?;
    Ok(Json(PermissionsOperationStatusResponse { status: status.to_wire() }))
}

fn typed(kind: &str, value: Option<String>) -> TypedIdentifier {
    TypedIdentifier { kind: kind.to_owned(), value }
}

fn item(g: PermissionRow) -> Option<PermissionItem> {
    Some(PermissionItem {
        id: g.id,
        authorized_identifier: Some(typed(&g.subject.0, Some(g.subject.1))),
        context_identifier: Some(typed(&g.context_type, Some(g.context_value))),
        target_identifier: g.target.map(|(kind, value)| typed(&kind, value)),
        author_identifier: Some(g.author.map_or_else(|| typed("System", None), |(kind, value)| typed(&kind, Some(value)))),
        permission_scope: PermissionType::parse(&g.permission)?,
        description: g.description,
        permission_state: Some(PermissionState::Active),
        start_date: g.created_at,
        can_delegate: g.can_delegate,
    })
}

fn page(items: Vec<PermissionItem>, params: &crate::extract::Pairs) -> Result<Json<PermissionsQueryResponse>, EmuError> {
    let size = params.page_size(10, 10..=100)?;
    let offset = params.page_offset()?;
    let start = usize::try_from(offset * size).unwrap_or(usize::MAX).min(items.len());
    let end = (start + size as usize).min(items.len());
    Ok(Json(PermissionsQueryResponse { has_more: end < items.len(), permissions: items[start..end].to_vec() }))
}

fn optional_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, EmuError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| EmuError::validation([format!("Nieprawidłowa treść JSON: {e}")]))
}

/// `POST /v2/permissions/query/persons/grants`: the grants made in the caller's context.
pub(crate) async fn query_persons(
    State(state): State<AppState>,
    caller: Caller,
    QueryPairs(params): QueryPairs,
    body: axum::body::Bytes,
) -> Result<Json<PermissionsQueryResponse>, EmuError> {
    caller.require_any(&[P::CredentialsManage, P::CredentialsRead, P::SubunitManage])?;
    let filter: PersonPermissionsQueryRequest = optional_body(&body)?;
    let items: Vec<PermissionItem> = state
        .db
        .context_permissions(&caller.context.value)
        .await?
        .into_iter()
        .filter(|g| g.kind != "entity")
        .filter(|g| filter.authorized_identifier.as_ref().is_none_or(|a| a.kind.as_str() == g.subject.0 && a.value.eq_ignore_ascii_case(&g.subject.1)))
        .filter(|g| filter.permission_types.as_ref().is_none_or(|t| t.iter().any(|p| p.as_str() == g.permission)))
        .filter_map(item)
        .collect();
    page(items, &params)
}

/// `POST /v2/permissions/query/personal/grants`: what the caller's subject holds, in every context.
pub(crate) async fn query_personal(
    State(state): State<AppState>,
    caller: Caller,
    QueryPairs(params): QueryPairs,
) -> Result<Json<PermissionsQueryResponse>, EmuError> {
    let subject = caller_subject(&state, &caller).await?;
    let items = match subject {
        Some(s) => state.db.permissions_of(&[s]).await?.into_iter().filter_map(item).collect(),
        None => Vec::new(),
    };
    page(items, &params)
}

/// `POST /v2/permissions/query/entities/grants`: invoice permissions other contexts granted to the caller's
/// company.
pub(crate) async fn query_entities(
    State(state): State<AppState>,
    caller: Caller,
    QueryPairs(params): QueryPairs,
) -> Result<Json<PermissionsQueryResponse>, EmuError> {
    caller.require_any(READ)?;
    let nip = context_nip(&caller.context).unwrap_or_default().to_owned();
    let items = state.db.entity_grants_to(&nip).await?.into_iter().filter_map(item).collect();
    page(items, &params)
}

/// `GET /v2/permissions/attachments/status`: whether the context may send invoices with attachments.
pub(crate) async fn attachment_status(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<CheckAttachmentPermissionStatusResponse>, EmuError> {
    caller.require_any(READ)?;
    let nip = context_nip(&caller.context).unwrap_or_default();
    let consent = state.db.attachment_consent(nip).await?;
    let today = state.now().date_naive();
    Ok(Json(CheckAttachmentPermissionStatusResponse {
        is_attachment_allowed: Some(matches!(consent, Some(end) if end.is_none_or(|d| d >= today))),
        revoked_date: consent.flatten(),
    }))
}
