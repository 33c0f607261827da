//! The admin API (ours): tenants and their credentials, and the audit log, for the operator's key alone.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use super::AppState;
use super::dto::admin::{
    AddTenantRequest, AddedTenantResponse, AdminTenant, AdminTenantList, ApiKeyResponse, AuditPage, AuditQuery, CertificateCredential, CredentialRequest,
};
use super::error::ApiError;
use super::extract::{ApiJson, OperatorAuth, RequestBody};
use crate::errors::ErrorCode;
use crate::ops::admin::{self, NewCredential};
use crate::ops::credentials::CertificateInput;

impl RequestBody for AddTenantRequest {
    const MALFORMED: ErrorCode = ErrorCode::RequestInvalid;
}

impl RequestBody for CredentialRequest {
    const MALFORMED: ErrorCode = ErrorCode::RequestInvalid;
}

/// A certificate's key in bytes: PEM as given, anything else base64 (a PKCS#12 file).
fn key_bytes(c: &CertificateCredential) -> Result<Vec<u8>, ApiError> {
    let key = c.key.trim();
    if key.starts_with("-----BEGIN") { Ok(key.as_bytes().to_vec()) } else { super::b64_field("certificate.key", key) }
}

/// A credential as a request gives it, read: a token, or a certificate's bytes.
enum Given<'a> {
    Token(&'a str),
    Certificate { key: Vec<u8>, certificate: Option<Vec<u8>>, password: Option<&'a str> },
}

impl<'a> Given<'a> {
    /// Exactly one of a token and a certificate, with the certificate's key read, or 1902.
    fn read(token: Option<&'a str>, certificate: Option<&'a CertificateCredential>) -> Result<Given<'a>, ApiError> {
        match (token, certificate) {
            (Some(token), None) => Ok(Given::Token(token)),
            (None, Some(c)) => Ok(Given::Certificate {
                key: key_bytes(c)?,
                certificate: c.certificate.as_ref().map(|p| p.trim().as_bytes().to_vec()),
                password: c.password.as_deref(),
            }),
            _ => Err(ApiError::refused(ErrorCode::RequestInvalid, "give exactly one of `ksefToken` and `certificate`")),
        }
    }

    fn credential(&self) -> NewCredential<'_> {
        match self {
            Given::Token(token) => NewCredential::Token(token),
            Given::Certificate { key, certificate, password } => {
                NewCredential::Certificate(CertificateInput { certificate: certificate.as_deref(), key, password: *password })
            }
        }
    }
}

/// Every tenant (ours).
#[utoipa::path(get, path = "/api/v2/admin/tenants", tag = "Admin", security(("operator_key" = [])),
    responses((status = 200, body = AdminTenantList), (status = 401, description = "1906", body = super::dto::Error)))]
pub async fn list_tenants(State(state): State<AppState>, OperatorAuth(_operator): OperatorAuth) -> Result<Json<AdminTenantList>, ApiError> {
    let tenants = admin::list_tenants(&state.ops).await?;
    Ok(Json(AdminTenantList { tenants: tenants.into_iter().map(Into::into).collect() }))
}

/// Adds a tenant with a KSeF token or a certificate; its API key is in the answer, once (ours).
#[utoipa::path(post, path = "/api/v2/admin/tenants", tag = "Admin", security(("operator_key" = [])), request_body = AddTenantRequest,
    responses((status = 201, body = AddedTenantResponse), (status = 400, description = "1902", body = super::dto::Error), (status = 401, description = "1906", body = super::dto::Error)))]
pub async fn add_tenant(
    State(state): State<AppState>,
    OperatorAuth(actor): OperatorAuth,
    ApiJson(body): ApiJson<AddTenantRequest>,
) -> Result<(StatusCode, Json<AddedTenantResponse>), ApiError> {
    let given = Given::read(body.ksef_token.as_deref(), body.certificate.as_ref())?;
    let added = admin::add_tenant(&state.ops, &actor, &body.name, &body.nip, given.credential()).await?;
    let tenant = admin::tenant(&state.ops, &added.tenant.id).await?;
    Ok((StatusCode::CREATED, Json(AddedTenantResponse { tenant: tenant.into(), api_key: added.api_key.expose().to_owned() })))
}

/// One tenant (ours).
#[utoipa::path(get, path = "/api/v2/admin/tenants/{tenantId}", tag = "Admin", security(("operator_key" = [])),
    params(("tenantId" = String, Path, description = "The tenant's id")),
    responses((status = 200, body = AdminTenant), (status = 404, description = "1601", body = super::dto::Error)))]
pub async fn get_tenant(State(state): State<AppState>, OperatorAuth(_operator): OperatorAuth, Path(id): Path<String>) -> Result<Json<AdminTenant>, ApiError> {
    Ok(Json(admin::tenant(&state.ops, &id).await?.into()))
}

/// Disables a tenant: its API keys and console sign-ins stop working; what it already sent is still delivered (ours).
#[utoipa::path(post, path = "/api/v2/admin/tenants/{tenantId}/disable", tag = "Admin", security(("operator_key" = [])),
    params(("tenantId" = String, Path, description = "The tenant's id")),
    responses((status = 200, body = AdminTenant), (status = 404, description = "1601", body = super::dto::Error)))]
pub async fn disable_tenant(State(state): State<AppState>, OperatorAuth(actor): OperatorAuth, Path(id): Path<String>) -> Result<Json<AdminTenant>, ApiError> {
    let tenant = admin::set_disabled(&state.ops, &actor, &id, true).await?;
    state.api_keys.forget_tenant(&id);
    Ok(Json(tenant.into()))
}

/// Enables a disabled tenant again (ours).
#[utoipa::path(post, path = "/api/v2/admin/tenants/{tenantId}/enable", tag = "Admin", security(("operator_key" = [])),
    params(("tenantId" = String, Path, description = "The tenant's id")),
    responses((status = 200, body = AdminTenant), (status = 404, description = "1601", body = super::dto::Error)))]
pub async fn enable_tenant(State(state): State<AppState>, OperatorAuth(actor): OperatorAuth, Path(id): Path<String>) -> Result<Json<AdminTenant>, ApiError> {
    Ok(Json(admin::set_disabled(&state.ops, &actor, &id, false).await?.into()))
}

/// Revokes a tenant's API keys and issues a new one, shown once (ours).
#[utoipa::path(post, path = "/api/v2/admin/tenants/{tenantId}/apiKey", tag = "Admin", security(("operator_key" = [])),
    params(("tenantId" = String, Path, description = "The tenant's id")),
    responses((status = 200, body = ApiKeyResponse), (status = 404, description = "1601", body = super::dto::Error)))]
pub async fn rotate_api_key(State(state): State<AppState>, OperatorAuth(actor): OperatorAuth, Path(id): Path<String>) -> Result<Json<ApiKeyResponse>, ApiError> {
    let key = admin::rotate_api_key(&state.ops, &actor, &id).await?;
    state.api_keys.forget_tenant(&id);
    Ok(Json(ApiKeyResponse { api_key: key.expose().to_owned() }))
}

/// Sets a tenant's KSeF credential: a token, or a certificate with its key (sealed at rest, never shown again) (ours).
#[utoipa::path(put, path = "/api/v2/admin/tenants/{tenantId}/credential", tag = "Admin", security(("operator_key" = [])),
    params(("tenantId" = String, Path, description = "The tenant's id")), request_body = CredentialRequest,
    responses((status = 200, body = AdminTenant), (status = 400, description = "1902", body = super::dto::Error), (status = 404, description = "1601", body = super::dto::Error)))]
pub async fn set_credential(
    State(state): State<AppState>,
    OperatorAuth(actor): OperatorAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CredentialRequest>,
) -> Result<Json<AdminTenant>, ApiError> {
    let given = Given::read(body.ksef_token.as_deref(), body.certificate.as_ref())?;
    Ok(Json(admin::set_credential(&state.ops, &actor, &id, given.credential()).await?.into()))
}

/// The audit log, newest first (ours).
#[utoipa::path(get, path = "/api/v2/admin/audit", tag = "Admin", security(("operator_key" = [])), params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, description = "1902", body = super::dto::Error)))]
pub async fn audit(
    State(state): State<AppState>,
    OperatorAuth(_operator): OperatorAuth,
    params: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::refused(ErrorCode::RequestInvalid, format!("query parameters: {e}")))?;
    let entries = admin::audit_log(&state.ops, params.before.as_deref(), params.limit.unwrap_or(100)).await?;
    Ok(Json(AuditPage { entries: entries.into_iter().map(Into::into).collect() }))
}
