//! `GET /auth/whoami`: who the request's token stands for and its role in each
//! project, so a user can see why something is refused.

use axum::{Extension, Json};
use orrery_access::{Principal, PrincipalKind};
use orrery_client::types::WhoAmI;
use std::collections::BTreeMap;

/// The caller and its roles.
#[utoipa::path(get, path = "/api/v1/auth/whoami", responses((status = 200, body = WhoAmI)))]
pub(crate) async fn whoami(Extension(principal): Extension<Principal>) -> Json<WhoAmI> {
    let (kind, roles): (&str, BTreeMap<String, String>) = match &principal.kind {
        PrincipalKind::ClusterAdmin => ("cluster_admin", BTreeMap::new()),
        PrincipalKind::User { roles, .. } => (
            "user",
            roles
                .iter()
                .map(|(project, role)| (project.clone(), role.as_str().to_owned()))
                .collect(),
        ),
        PrincipalKind::Service { project, role } => (
            "service",
            BTreeMap::from([(project.clone(), role.as_str().to_owned())]),
        ),
        PrincipalKind::ClusterEditor => ("cluster_editor", BTreeMap::new()),
    };
    Json(WhoAmI {
        actor: principal.actor.clone(),
        kind: kind.to_owned(),
        cluster_admin: principal.is_cluster_admin(),
        roles,
    })
}
