//! Probes for the host capabilities isolation tests need; each says why one is missing,
//! for a visible skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Reports a skipped test on stderr.
pub fn skip(test: &str, reason: &str) {
    eprintln!("SKIPPED {test}: {reason}");
}

pub fn root_missing() -> Option<String> {
    (!nix::unistd::geteuid().is_root()).then(|| "the test needs root".to_owned())
}

/// Why attempts cannot get cgroups here: the worker needs root and a writable memory
/// hierarchy, v2 (at /sys/fs/cgroup, with the memory and cpu controllers) or v1 (at
/// /sys/fs/cgroup/memory). Standard mount points only; the worker itself reads the mounts.
pub fn cgroups_missing() -> Option<String> {
    if let Some(reason) = root_missing() {
        return Some(reason);
    }
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let group = |prefix: &str| {
        own.lines()
            .find_map(|line| line.strip_prefix(prefix))
            .map(|path| path.trim_start_matches('/').to_owned())
    };
    let unified_root = Path::new("/sys/fs/cgroup");
    let v2_dir = group("0::")
        .map(|path| unified_root.join(path))
        .filter(|dir| {
            std::fs::read_to_string(dir.join("cgroup.controllers")).is_ok_and(|listed| {
                let has = |name| listed.split_whitespace().any(|listed| listed == name);
                has("memory") && has("cpu")
            })
        });
    let v1_dir = own
        .lines()
        .find_map(|line| {
            let (_, rest) = line.split_once(':')?;
            let (controllers, path) = rest.split_once(':')?;
            controllers
                .split(',')
                .any(|name| name == "memory")
                .then(|| path.trim_start_matches('/').to_owned())
        })
        .map(|path| unified_root.join("memory").join(path));
    let Some(dir) = v2_dir.or(v1_dir) else {
        return Some(
            "no cgroup v2 with memory and cpu, and no cgroup v1 memory hierarchy".to_owned(),
        );
    };
    let probe = dir.join(format!("orrery-test-probe-{}", std::process::id()));
    match std::fs::create_dir(&probe) {
        Ok(()) => {
            let _ = std::fs::remove_dir(&probe);
            None
        }
        Err(error) => Some(format!(
            "cannot create a cgroup in {}: {error}",
            dir.display()
        )),
    }
}

/// Why `user` cannot be switched to here.
pub fn run_as_missing(user: &str) -> Option<String> {
    if let Some(reason) = root_missing() {
        return Some(reason);
    }
    match nix::unistd::User::from_name(user) {
        Ok(Some(_)) => None,
        _ => Some(format!("there is no user {user:?}")),
    }
}

/// Why bubblewrap cannot sandbox here: not installed, or the kernel refuses its
/// namespaces (as in some containers).
pub fn bwrap_missing() -> Option<String> {
    let probe = Command::new("bwrap")
        .args(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"])
        .args([
            "--tmpfs",
            "/tmp",
            "--unshare-net",
            "--die-with-parent",
            "true",
        ])
        .stdin(Stdio::null())
        .output();
    match probe {
        Ok(output) if output.status.success() => None,
        Ok(output) => Some(format!(
            "bwrap cannot create a sandbox here: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Err(error) => Some(format!("bubblewrap (bwrap) is not installed: {error}")),
    }
}

/// Every directory named `name` under /sys/fs/cgroup (a few levels deep).
pub fn cgroup_dirs_named(name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![(PathBuf::from("/sys/fs/cgroup"), 0)];
    while let Some((dir, depth)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
            if !is_dir {
                continue;
            }
            if entry.file_name() == name {
                found.push(entry.path());
            } else if depth < 6 {
                pending.push((entry.path(), depth + 1));
            }
        }
    }
    found
}
