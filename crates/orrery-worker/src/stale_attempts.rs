//! Cleaning up after a worker that died with attempts running: their processes
//! (which run in their own process groups, so they survive the worker) are found by
//! the `$ORRERY_OUTPUT` path in their environment and killed, and their directories
//! removed. Without this, the retry of a lost attempt would run beside the original.

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};

/// Kills every process left by attempts under `work_dir` and removes their
/// directories. Returns how many processes were killed. Must run before any new
/// attempt starts in `work_dir`.
pub(crate) fn reap_stale_attempts(work_dir: &Path) -> usize {
    let stale_dirs = stale_attempt_dirs(work_dir);
    if stale_dirs.is_empty() {
        return 0;
    }
    let markers: Vec<Vec<u8>> = stale_dirs
        .iter()
        .map(|dir| {
            let mut marker = b"ORRERY_OUTPUT=".to_vec();
            marker.extend_from_slice(dir.join("output").as_os_str().as_encoded_bytes());
            marker
        })
        .collect();
    let stale = processes_with_env(&markers);
    for pid in &stale {
        // The whole group first (children of the task), then the process itself in
        // case it had left the group.
        let _ = killpg(*pid, Signal::SIGKILL);
        let _ = kill(*pid, Signal::SIGKILL);
    }
    let killed = stale.len();
    for dir in &stale_dirs {
        if let Err(error) = std::fs::remove_dir_all(dir) {
            tracing::warn!(path = %dir.display(), %error, "cannot remove a stale attempt directory");
        }
    }
    if killed > 0 {
        tracing::warn!(
            killed,
            "killed processes left by attempts of an earlier worker life"
        );
    }
    killed
}

fn stale_attempt_dirs(work_dir: &Path) -> Vec<PathBuf> {
    let Ok(work_dir) = std::path::absolute(work_dir) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(&work_dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("attempt-"))
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect()
}

/// Pids whose environment holds one of `markers` (a whole `KEY=value` entry).
fn processes_with_env(markers: &[Vec<u8>]) -> Vec<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let own = std::process::id();
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != own)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                environ
                    .split(|b| *b == 0)
                    .any(|entry| markers.iter().any(|m| m == entry))
            })
        })
        .filter_map(|pid| i32::try_from(pid).ok().map(Pid::from_raw))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[test]
    fn processes_of_stale_attempts_are_killed_and_their_dirs_removed() {
        let work = tempfile::tempdir().expect("tempdir");
        let attempt = work.path().join("attempt-7-1-abc");
        std::fs::create_dir_all(&attempt).expect("mkdir");
        let output = attempt.join("output");
        std::fs::write(&output, "").expect("touch");
        let mut child = std::process::Command::new("sleep")
            .arg("300")
            .env("ORRERY_OUTPUT", &output)
            .process_group(0)
            .spawn()
            .expect("spawn sleep");
        // A process that exists for a while has its environment readable; wait for that
        // rather than race the exec.
        let environ = format!("/proc/{}/environ", child.id());
        for _ in 0..200 {
            if std::fs::read(&environ).is_ok_and(|e| e.windows(13).any(|w| w == b"ORRERY_OUTPUT")) {
                break;
            }
            std::hint::spin_loop();
            let _ = std::process::Command::new("true").status();
        }
        let unrelated_dir = work.path().join("keep");
        std::fs::create_dir_all(&unrelated_dir).expect("mkdir");

        assert_eq!(reap_stale_attempts(work.path()), 1);
        let status = child.wait().expect("wait");
        assert!(!status.success(), "sleep was killed");
        assert!(!attempt.exists());
        assert!(unrelated_dir.exists());
    }

    #[test]
    fn nothing_to_do_without_stale_dirs() {
        let work = tempfile::tempdir().expect("tempdir");
        assert_eq!(reap_stale_attempts(work.path()), 0);
        assert_eq!(reap_stale_attempts(&work.path().join("missing")), 0);
    }
}
