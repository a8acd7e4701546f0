//! Cleaning up after a worker that died with attempts running: their processes
//! (which run in their own process groups, so they survive the worker) are found by
//! the `$ORRERY_OUTPUT` path in their environment and killed, and their output files
//! removed. Without this, the retry of a lost attempt would run beside the original.

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};

/// What an earlier worker life left of one attempt in the work dir.
#[derive(Debug, PartialEq, Eq)]
enum StaleAttempt {
    /// `attempt-…`: the output file itself.
    File(PathBuf),
    /// `attempt-…/`: a directory holding `output`, as workers before the one-file
    /// layout made them.
    Dir(PathBuf),
}

impl StaleAttempt {
    /// The `$ORRERY_OUTPUT` value its processes were started with.
    fn output_path(&self) -> PathBuf {
        match self {
            StaleAttempt::File(path) => path.clone(),
            StaleAttempt::Dir(dir) => dir.join("output"),
        }
    }

    fn remove(&self) -> std::io::Result<()> {
        match self {
            StaleAttempt::File(path) => std::fs::remove_file(path),
            StaleAttempt::Dir(dir) => std::fs::remove_dir_all(dir),
        }
    }
}

/// Kills every process left by attempts under `work_dir` and removes their output
/// files. Returns how many processes were killed. Must run before any new attempt
/// starts in `work_dir`.
pub(crate) fn reap_stale_attempts(work_dir: &Path) -> usize {
    let stale_attempts = stale_attempts(work_dir);
    if stale_attempts.is_empty() {
        return 0;
    }
    let markers: Vec<Vec<u8>> = stale_attempts
        .iter()
        .map(|attempt| {
            let mut marker = b"ORRERY_OUTPUT=".to_vec();
            marker.extend_from_slice(attempt.output_path().as_os_str().as_encoded_bytes());
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
    for attempt in &stale_attempts {
        if let Err(error) = attempt.remove() {
            tracing::warn!(?attempt, %error, "cannot remove what a stale attempt left");
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

fn stale_attempts(work_dir: &Path) -> Vec<StaleAttempt> {
    let Ok(work_dir) = std::path::absolute(work_dir) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(&work_dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("attempt-"))
        .filter_map(|entry| {
            let file_type = entry.file_type().ok()?;
            if file_type.is_file() {
                Some(StaleAttempt::File(entry.path()))
            } else if file_type.is_dir() {
                Some(StaleAttempt::Dir(entry.path()))
            } else {
                None
            }
        })
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

    /// A `sleep` in its own process group with `ORRERY_OUTPUT` set to `output`, once its
    /// environment is readable (a process that exists for a while has it; wait for that
    /// rather than race the exec).
    fn sleeping_attempt(output: &Path) -> std::process::Child {
        let child = std::process::Command::new("sleep")
            .arg("300")
            .env("ORRERY_OUTPUT", output)
            .process_group(0)
            .spawn()
            .expect("spawn sleep");
        let environ = format!("/proc/{}/environ", child.id());
        for _ in 0..200 {
            if std::fs::read(&environ).is_ok_and(|e| e.windows(13).any(|w| w == b"ORRERY_OUTPUT")) {
                break;
            }
            std::hint::spin_loop();
            let _ = std::process::Command::new("true").status();
        }
        child
    }

    #[test]
    fn processes_of_stale_attempts_are_killed_and_their_files_removed() {
        let work = tempfile::tempdir().expect("tempdir");
        let output = work.path().join("attempt-7-1-abc");
        std::fs::write(&output, "").expect("touch");
        // The layout of workers before the one-file layout: a directory per attempt.
        let old_dir = work.path().join("attempt-8-1-def");
        std::fs::create_dir_all(&old_dir).expect("mkdir");
        let old_output = old_dir.join("output");
        std::fs::write(&old_output, "").expect("touch");
        let mut children = [sleeping_attempt(&output), sleeping_attempt(&old_output)];
        let unrelated_dir = work.path().join("keep");
        std::fs::create_dir_all(&unrelated_dir).expect("mkdir");
        let unrelated_file = work.path().join("worker-id");
        std::fs::write(&unrelated_file, "w-1").expect("write");

        assert_eq!(reap_stale_attempts(work.path()), 2);
        for child in &mut children {
            let status = child.wait().expect("wait");
            assert!(!status.success(), "sleep was killed");
        }
        assert!(!output.exists());
        assert!(!old_dir.exists());
        assert!(unrelated_dir.exists());
        assert!(unrelated_file.exists());
    }

    #[test]
    fn nothing_to_do_without_stale_attempts() {
        let work = tempfile::tempdir().expect("tempdir");
        assert_eq!(reap_stale_attempts(work.path()), 0);
        assert_eq!(reap_stale_attempts(&work.path().join("missing")), 0);
    }
}
