//! Who may do what: projects' roles, the actions the API offers and the one question
//! every route asks, `decide(principal, action, project)`, answered by pure rules;
//! and password hashing for local users.

mod action;
mod decide;
mod password;
mod principal;
mod role;

pub use action::{Action, Needs};
pub use decide::{Denied, decide};
pub use password::{PasswordError, hash_password, verify_password};
pub use principal::{Principal, PrincipalKind};
pub use role::Role;
