//! The worker fleet: sessions by id and by worker, and where each assigned attempt
//! lives.

use super::active_run::Slot;
use super::session::Session;
use orrery_core::ids::{RunId, TaskInstanceId};
use std::collections::HashMap;

/// Workers and the attempts they hold.
pub(crate) struct Fleet {
    /// Workers by session id; a session outlives its links.
    pub(crate) sessions: HashMap<u64, Session>,
    /// Session ids by the workers' stable ids.
    pub(crate) session_ids: HashMap<String, u64>,
    pub(crate) next_session: u64,
    /// Where each assigned attempt lives: run, task index and worker session.
    pub(crate) assigned: HashMap<TaskInstanceId, (RunId, Slot, u64)>,
    /// The last fence issued to an assignment.
    pub(crate) last_fence: u64,
}

impl Fleet {
    pub(crate) fn new(first_fence: u64) -> Self {
        Self {
            sessions: HashMap::new(),
            session_ids: HashMap::new(),
            next_session: 1,
            assigned: HashMap::new(),
            last_fence: first_fence,
        }
    }

    /// A fence no earlier assignment carried.
    pub(crate) fn issue_fence(&mut self) -> u64 {
        self.last_fence += 1;
        self.last_fence
    }

    /// A new session id.
    pub(crate) fn new_session_id(&mut self) -> u64 {
        let id = self.next_session;
        self.next_session += 1;
        id
    }
}
