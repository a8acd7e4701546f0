//! The leader's store: the scheduler's writes (committing its changes, recording
//! fires, timers, worker rows and log lines) exist only on this handle, and the only
//! way to get one is to win the scheduler lease ([`crate::Claim::into_leader`]). Every
//! write transaction through it first checks that the lease still names its holder at
//! its epoch, so a deposed leader's writes are refused with `StoreError::Fenced`.
//! It reads through the scheduler's view ([`SchedulerReads`]).

use crate::lease::Fence;
use crate::store::Store;
use crate::views::SchedulerReads;

/// A store handle fenced with a won lease.
#[derive(Clone, Debug)]
pub struct LeaderStore {
    /// Always fenced.
    pub(crate) store: Store,
    /// The same handle, for the scheduler's reads.
    reads: SchedulerReads,
}

impl LeaderStore {
    pub(crate) fn new(store: &Store, fence: Fence) -> Self {
        let store = store.fenced(fence);
        Self {
            reads: SchedulerReads::of(store.clone()),
            store,
        }
    }

    /// Creates a child run of a sub-workflow task (see [`Store::create_run`]), fenced
    /// like the leader's other writes.
    pub async fn create_child_run(
        &self,
        new: &crate::NewRun<'_>,
    ) -> Result<orrery_core::ids::RunId, crate::StoreError> {
        self.store.create_run(new).await
    }

    /// The epoch of the lease this leader won.
    pub fn epoch(&self) -> i64 {
        self.store.fence.as_ref().map_or(0, |fence| fence.epoch)
    }
}

impl std::ops::Deref for LeaderStore {
    type Target = SchedulerReads;

    fn deref(&self) -> &SchedulerReads {
        &self.reads
    }
}
