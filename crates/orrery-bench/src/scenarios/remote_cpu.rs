//! CPU per task in `remote-workers`: the server (this process, with the harness's light
//! polling), the worker processes, and the task processes the workers waited for.

use crate::cpu_ticks::CpuTicks;
use crate::worker_processes::WorkerProcesses;

/// The clock ticks of this process and of the worker processes at one instant.
#[derive(Clone, Copy, Debug)]
pub(super) struct CpuReading {
    server: CpuTicks,
    workers: CpuTicks,
}

/// CPU milliseconds per task of a run, by where they were spent.
#[derive(Clone, Copy, Debug)]
pub(super) struct CpuPerTask {
    pub(super) server_ms: f64,
    /// The worker processes themselves, without their children.
    pub(super) worker_ms: f64,
    /// The task processes (children of the workers).
    pub(super) task_ms: f64,
}

impl CpuReading {
    /// `None` off Linux, or when a worker process has already been reaped.
    pub(super) fn now(workers: &WorkerProcesses) -> Option<Self> {
        Some(Self {
            server: CpuTicks::of_self()?,
            workers: workers.cpu_ticks()?,
        })
    }

    /// The CPU used since `earlier`, divided among `n_tasks` tasks.
    pub(super) fn per_task_since(
        self,
        earlier: Self,
        n_tasks: u32,
        ticks_per_second: u64,
    ) -> CpuPerTask {
        let per_task_ms = |ticks: u64| {
            ticks as f64 * 1000.0 / ticks_per_second as f64 / f64::from(n_tasks.max(1))
        };
        let server = self.server.since(earlier.server);
        let workers = self.workers.since(earlier.workers);
        CpuPerTask {
            server_ms: per_task_ms(server.own),
            worker_ms: per_task_ms(workers.own),
            task_ms: per_task_ms(workers.children),
        }
    }
}
