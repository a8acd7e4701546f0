//! Remote workers: real `orrery worker` processes connected over gRPC to a server
//! without an embedded worker. Placement by group, labels and resources; failover
//! after kill -9; a paused worker's late result rejected; cancel reaching a remote
//! process; broadcast; authentication.

mod control;
mod failover;
mod harness;
mod placement;
mod security;
