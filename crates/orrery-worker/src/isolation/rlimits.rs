//! Resource limits set in each attempt's process: which values, decided before spawning.

use nix::sys::resource::{Resource, getrlimit, rlim_t};

/// The open-file limit for attempts: the configured value, capped at the worker's own
/// hard limit (only a privileged process could go above it, and the worker may not be).
pub(crate) fn nofile_limit(configured: u64) -> rlim_t {
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((_, hard)) => cap_at_hard(configured, hard),
        Err(error) => {
            tracing::debug!(%error, "cannot read the worker's open-file limit; using the configured one");
            configured
        }
    }
}

fn cap_at_hard(configured: u64, hard: rlim_t) -> rlim_t {
    configured.min(hard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configured_limit_is_capped_at_the_hard_limit() {
        assert_eq!(cap_at_hard(65_536, 1_048_576), 65_536);
        assert_eq!(cap_at_hard(65_536, 4096), 4096);
        assert_eq!(cap_at_hard(1000, nix::sys::resource::RLIM_INFINITY), 1000);
    }
}
