//! The leader's store: the scheduler's writes (committing its changes, recording
//! fires, timers, worker rows and log lines) exist only on this handle, and the only
//! way to get one is to win the scheduler lease ([`crate::Claim::into_leader`]). Every
//! write transaction through it first checks that the lease still names its holder at
//! its epoch, so a deposed leader's writes are refused with `StoreError::Fenced`.
//! It reads like any store.

use crate::lease::Fence;
use crate::store::Store;

/// A store handle fenced with a won lease.
#[derive(Clone, Debug)]
pub struct LeaderStore {
    /// Always fenced.
    store: Store,
}

impl LeaderStore {
    pub(crate) fn new(store: &Store, fence: Fence) -> Self {
        Self {
            store: store.fenced(fence),
        }
    }

    /// The epoch of the lease this leader won.
    pub fn epoch(&self) -> i64 {
        self.store.fence.as_ref().map_or(0, |fence| fence.epoch)
    }
}

impl std::ops::Deref for LeaderStore {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}
