//! Name rules for jobs, projects, tasks and environment variables; "did you mean".

/// Longest job, project or task name.
pub(super) const MAX_NAME_LEN: usize = 63;

/// Checks a job, project or task name: `[a-z0-9][a-z0-9._-]*`, at most 63 characters.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".to_owned());
    }
    let n_chars = name.chars().count();
    if n_chars > MAX_NAME_LEN {
        return Err(format!(
            "name is {n_chars} characters long; the limit is {MAX_NAME_LEN}"
        ));
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !starts_well || !name.chars().all(allowed) {
        return Err(format!(
            "invalid name {name:?}: use lowercase letters, digits, '.', '_' and '-', \
             starting with a letter or digit"
        ));
    }
    Ok(())
}

/// Checks an environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub(super) fn check_env_name(name: &str) -> Result<(), String> {
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !starts_well || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "invalid environment variable name {name:?}: use letters, digits and '_', \
             not starting with a digit"
        ));
    }
    Ok(())
}

/// The candidate closest to `word` within an edit distance of 2, if any.
pub(crate) fn suggest<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rule() {
        for good in ["etl", "etl-daily", "a.b_c-d", "0day", "x"] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        for bad in ["Etl", "-etl", ".x", "etl daily", "étl", "a/b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(check_name(&"a".repeat(63)), Ok(()));
        assert_eq!(
            check_name(&"a".repeat(64)),
            Err("name is 64 characters long; the limit is 63".to_owned())
        );
        assert_eq!(check_name(""), Err("must not be empty".to_owned()));
    }

    #[test]
    fn env_names_follow_the_rule() {
        for good in ["LANG", "_x", "PATH2", "lower_case"] {
            assert_eq!(check_env_name(good), Ok(()), "{good}");
        }
        for bad in ["", "2X", "A-B", "A B", "A=B"] {
            assert!(check_env_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn suggests_close_candidates_only() {
        let fields = ["script", "command", "depends_on"];
        assert_eq!(suggest("scirpt", fields), Some("script"));
        assert_eq!(suggest("comand", fields), Some("command"));
        assert_eq!(suggest("depends", fields), None);
        assert_eq!(suggest("zzz", fields), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
