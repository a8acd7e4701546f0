//! Secret handlers: a project's editors set and delete its secrets, its members list
//! their names. A value is sealed before it is stored and never answered.

use crate::access::{authorize, project_not_found};
use crate::auth::Actor;
use crate::error::ApiError;
use crate::run_control::json_body;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use orrery_access::{Action, Principal};
use orrery_client::types::{SecretInfo, SetSecretRequest};
use orrery_store::SealedSecret;
use orrery_store::records::SecretRecord;

/// Largest secret value.
const MAX_VALUE_BYTES: usize = 64 * 1024;

/// A project's secrets: names, versions, who set them and when; never values.
#[utoipa::path(get, path = "/api/v1/projects/{name}/secrets", params(("name" = String, Path)),
    responses((status = 200, body = [SecretInfo]), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn list_secrets(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(project): Path<String>,
) -> Result<Json<Vec<SecretInfo>>, ApiError> {
    authorize(&principal, Action::SecretList, Some(&project), || {
        project_not_found(&project)
    })?;
    let secrets = state.reads.list_secrets(&project).await?;
    Ok(Json(secrets.into_iter().map(info).collect()))
}

/// Sets a secret: a new one, or a new version of one.
#[utoipa::path(put, path = "/api/v1/projects/{name}/secrets/{secret}", params(("name" = String, Path), ("secret" = String, Path)),
    request_body = SetSecretRequest,
    responses((status = 200, body = SecretInfo), (status = 400, body = orrery_client::types::Problem),
        (status = 403, body = orrery_client::types::Problem), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn set_secret(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path((project, name)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SecretInfo>, ApiError> {
    authorize(&principal, Action::SecretSet, Some(&project), || {
        project_not_found(&project)
    })?;
    crate::access::require_project(&state, &project).await?;
    orrery_core::spec::check_secret_name(&name)
        .map_err(|message| ApiError::invalid_field("name", message))?;
    let request: SetSecretRequest =
        json_body(&state, body)?.ok_or_else(|| ApiError::invalid_field("value", "required"))?;
    if request.value.is_empty() || request.value.len() > MAX_VALUE_BYTES {
        return Err(ApiError::invalid_field(
            "value",
            format!("1 to {MAX_VALUE_BYTES} bytes"),
        ));
    }
    let keyring = state.secrets.as_ref().ok_or_else(|| {
        ApiError::Unavailable("this server has no secret key to seal secrets with".to_owned())
    })?;
    let sealed = keyring
        .seal(&project, &name, &request.value)
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    let record = state
        .intents
        .set_secret(
            &project,
            &name,
            &SealedSecret {
                key_id: sealed.key_id,
                nonce: sealed.nonce,
                ciphertext: sealed.ciphertext,
            },
            &actor.0,
            state.clock.now(),
        )
        .await?;
    Ok(Json(info(record)))
}

/// Deletes a secret; jobs that read it fail until it is set again.
#[utoipa::path(delete, path = "/api/v1/projects/{name}/secrets/{secret}", params(("name" = String, Path), ("secret" = String, Path)),
    responses((status = 204), (status = 403, body = orrery_client::types::Problem), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn delete_secret(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path((project, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    authorize(&principal, Action::SecretSet, Some(&project), || {
        project_not_found(&project)
    })?;
    if state
        .intents
        .delete_secret(&project, &name, &actor.0, state.clock.now())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound {
            what: format!("secret {name:?} in project {project:?}"),
        })
    }
}

/// Re-seals every secret under this server's current key (a cluster admin only): the
/// last step of a key rotation, after every server runs with the new key as
/// `--secret-key-file` and the old one as `--previous-secret-key-file`. The key itself
/// never travels over the API.
#[utoipa::path(post, path = "/api/v1/secrets/rotate-key",
    responses((status = 200, body = orrery_client::types::SecretRotation),
        (status = 403, body = orrery_client::types::Problem)))]
pub(crate) async fn rotate_key(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<orrery_client::types::SecretRotation>, ApiError> {
    crate::access::authorize_cluster(&principal, Action::SecretRotate)?;
    let keyring = state
        .secrets
        .clone()
        .ok_or_else(|| ApiError::Unavailable("this server has no secret key".to_owned()))?;
    let reseal = |project: &str, name: &str, sealed: &SealedSecret| {
        let old = orrery_access::Sealed {
            key_id: sealed.key_id.clone(),
            nonce: sealed.nonce.clone(),
            ciphertext: sealed.ciphertext.clone(),
        };
        let value = keyring
            .open(project, name, &old)
            .map_err(|error| error.to_string())?;
        let fresh = keyring
            .seal(project, name, &value)
            .map_err(|error| error.to_string())?;
        Ok(SealedSecret {
            key_id: fresh.key_id,
            nonce: fresh.nonce,
            ciphertext: fresh.ciphertext,
        })
    };
    let outcome = state
        .intents
        .reseal_secrets(keyring.current_id(), reseal, &actor.0, state.clock.now())
        .await?;
    Ok(Json(orrery_client::types::SecretRotation {
        key_id: keyring.current_id().to_owned(),
        resealed: outcome.resealed,
        current: outcome.current,
        failed: outcome
            .failed
            .into_iter()
            .map(|(project, name, reason)| {
                crate::validate::field_error(&format!("{project}/{name}"), reason)
            })
            .collect(),
    }))
}

/// Every secret a spec names must exist in its project; each missing one is named
/// with the field that reads it.
pub(crate) async fn check_secrets_exist(
    state: &AppState,
    spec: &orrery_core::spec::JobSpec,
) -> Result<(), ApiError> {
    let references = orrery_core::spec::secret_references(spec);
    if references.is_empty() {
        return Ok(());
    }
    let existing: Vec<String> = state
        .reads
        .list_secrets(&spec.project)
        .await?
        .into_iter()
        .map(|s| s.name)
        .collect();
    let errors: Vec<_> = references
        .into_iter()
        .filter(|r| !existing.contains(&r.name))
        .map(|r| {
            crate::validate::field_error(
                &r.path,
                format!(
                    "secret {:?} does not exist in project {:?}; set it with `orrery secret set {} --project {}`",
                    r.name, spec.project, r.name, spec.project
                ),
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_fields(errors))
    }
}

fn info(record: SecretRecord) -> SecretInfo {
    SecretInfo {
        project: record.project,
        name: record.name,
        version: record.version,
        updated_by: record.updated_by,
        updated_at: record.updated_at,
    }
}
