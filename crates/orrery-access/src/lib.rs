//! Who may do what: projects' roles, the actions the API offers and the one question
//! every route asks, `decide(principal, action, project)`, answered by pure rules;
//! password hashing for local users; OpenID Connect sign-in; and sealing secret values
//! at rest.

mod action;
mod decide;
mod oidc;
mod password;
mod principal;
mod role;
mod secrets;

pub use action::{Action, Needs};
pub use decide::{Denied, decide};
pub use oidc::{
    OidcError, OidcProvider, OidcSettings, PendingLogin, SsoIdentity, constant_time_eq,
    new_pkce_verifier, pkce_challenge,
};
pub use password::{PasswordError, hash_password, verify_password};
pub use principal::{Principal, PrincipalKind};
pub use role::Role;
pub use secrets::{Keyring, Sealed, SecretError, SecretKey};
