//! The environment an attempt's process starts from: the worker's own variables, scrubbed
//! down to the allowed names, with a `PATH` always present.

use std::collections::BTreeMap;
use std::ffi::OsString;

/// The `PATH` attempts get when the worker's own is missing or not allowed.
pub(crate) const DEFAULT_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The variables named in `allow` that the worker has, plus `PATH`.
///
/// This reads the process environment on purpose, per attempt: `env_allow` names
/// variables to pass through from wherever the worker was started, and the worker never
/// changes its own environment, so reading it here is the same as reading it at start.
pub(crate) fn inherited(allow: &[String]) -> BTreeMap<OsString, OsString> {
    inherited_from(allow, |name| std::env::var_os(name))
}

fn inherited_from(
    allow: &[String],
    lookup: impl Fn(&str) -> Option<OsString>,
) -> BTreeMap<OsString, OsString> {
    let mut inherited: BTreeMap<OsString, OsString> = allow
        .iter()
        .filter_map(|name| Some((OsString::from(name), lookup(name)?)))
        .collect();
    inherited
        .entry(OsString::from("PATH"))
        .or_insert_with(|| OsString::from(DEFAULT_PATH));
    inherited
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| (*name).to_owned()).collect()
    }

    fn lookup(name: &str) -> Option<OsString> {
        match name {
            "PATH" => Some("/opt/bin:/usr/bin".into()),
            "HOME" => Some("/home/worker".into()),
            "SECRET" => Some("hunter2".into()),
            _ => None,
        }
    }

    fn pairs(env: &BTreeMap<OsString, OsString>) -> Vec<(String, String)> {
        env.iter()
            .map(|(key, value)| (key.to_string_lossy().into(), value.to_string_lossy().into()))
            .collect()
    }

    #[test]
    fn only_allowed_variables_the_worker_has_are_passed() {
        let env = inherited_from(&names(&["PATH", "HOME", "LANG"]), lookup);
        assert_eq!(
            pairs(&env),
            [
                ("HOME".to_owned(), "/home/worker".to_owned()),
                ("PATH".to_owned(), "/opt/bin:/usr/bin".to_owned()),
            ]
        );
    }

    #[test]
    fn path_falls_back_to_the_default_when_missing_or_not_allowed() {
        let env = inherited_from(&names(&["HOME"]), lookup);
        assert_eq!(env.get(&OsString::from("PATH")), Some(&DEFAULT_PATH.into()));
        let env = inherited_from(&names(&["PATH"]), |_| None);
        assert_eq!(pairs(&env), [("PATH".to_owned(), DEFAULT_PATH.to_owned())]);
    }
}
