//! Leader election: every scheduler node claims the `scheduler` lease in the store
//! every `lease_renew_interval`. The holder runs a driver (a *term*) over a store
//! handle fenced with its epoch; the others stand by. A term ends when the node loses
//! the lease, cannot renew it within its TTL, or its driver finds itself fenced; a new
//! term rebuilds all hot state from the store.

use super::clock_offset::CorrectedClock;
use super::driver::Driver;
use super::handle::{Leadership, NewConnection, SchedulerConfig};
use super::nodes::NodeReporter;
use crate::error::SchedulerError;
use orrery_core::clock::Clock;
use orrery_store::{Claim, LeaderStore, Store};
use std::sync::Arc;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

pub use orrery_store::SCHEDULER_LEASE;

/// One leadership term: a running driver and the way to reach and stop it.
struct Term {
    epoch: i64,
    connect: mpsc::UnboundedSender<NewConnection>,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), SchedulerError>>,
}

impl Term {
    async fn end(self) {
        self.stop.send_replace(true);
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, epoch = self.epoch, "the term ended with an error")
            }
            Err(error) => tracing::error!(%error, epoch = self.epoch, "the term's driver panicked"),
        }
    }
}

/// Everything the elector needs; it runs until `shutdown` turns true.
pub(crate) struct Elector {
    pub(crate) store: Store,
    pub(crate) clock: Arc<CorrectedClock>,
    pub(crate) config: SchedulerConfig,
    pub(crate) wake: Arc<Notify>,
    /// Runs this process's API hands over; shared by every term's driver.
    pub(crate) handoff: Arc<super::handoff::Handoff>,
    pub(crate) connections: mpsc::UnboundedReceiver<NewConnection>,
    pub(crate) leadership: watch::Sender<Leadership>,
    pub(crate) nodes: NodeReporter,
}

impl Elector {
    pub(crate) async fn run(
        mut self,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), SchedulerError> {
        let holder = self.config.node.holder.clone();
        let mut tick = tokio::time::interval(self.config.lease_renew_interval);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut term: Option<Term> = None;
        let mut last_renewed: Option<Instant> = None;
        loop {
            let term_ended = async {
                match term.as_mut() {
                    Some(term) => (&mut term.task).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
                Some(connection) = self.connections.recv() => match &term {
                    Some(term) => {
                        let _ = term.connect.send(connection);
                    }
                    // A standby takes no workers: dropping the connection closes it,
                    // and the worker tries the next scheduler address.
                    None => drop(connection),
                },
                ended = term_ended => {
                    if let Some(ended_term) = term.take() {
                        match ended {
                            Ok(Err(SchedulerError::Deposed)) => {
                                tracing::warn!(epoch = ended_term.epoch, "deposed: another node holds the lease");
                            }
                            // The process is stopping: the driver ended as asked.
                            Ok(Ok(())) if *shutdown.borrow() => break,
                            Ok(Ok(())) => {
                                tracing::info!(epoch = ended_term.epoch, "the scheduler driver stopped");
                            }
                            other => tracing::error!(?other, epoch = ended_term.epoch, "the scheduler driver stopped"),
                        }
                        self.publish(false, None, ended_term.epoch);
                        // Leave the lease to others for a round before claiming again.
                        last_renewed = None;
                        tokio::time::sleep(self.config.lease_renew_interval).await;
                    }
                }
                _ = tick.tick() => {
                    self.nodes.report(term.is_some()).await;
                    let sent = self.clock.raw_now();
                    let claimed = self.store.claim_lease(SCHEDULER_LEASE, &holder, self.config.lease_ttl).await;
                    if let Ok(lease) = &claimed && self.config.correct_clock_offset {
                        self.clock.observe(sent, lease.db_now, self.clock.raw_now());
                    }
                    match claimed {
                        Ok(claim) if claim.held_by(&holder) => {
                            let epoch = claim.epoch;
                            last_renewed = Some(Instant::now());
                            if term.as_ref().is_none_or(|t| t.epoch != epoch) {
                                if let Some(old) = term.take() {
                                    old.end().await;
                                }
                                if let Some(leader) = claim.into_leader() {
                                    tracing::info!(epoch, node = %self.config.node.name, "leader: starting a term");
                                    metrics::counter!("orrery_leader_terms_total").increment(1);
                                    term = Some(self.start_term(leader, shutdown.clone()));
                                }
                            }
                            self.publish(true, Some(holder.clone()), epoch);
                        }
                        Ok(Claim { lease, .. }) => {
                            if let Some(old) = term.take() {
                                tracing::warn!(holder = %lease.holder, epoch = lease.epoch, "lost the lease; standing by");
                                old.end().await;
                            }
                            self.publish(false, Some(lease.holder), lease.epoch);
                        }
                        Err(error) => {
                            tracing::warn!(%error, "cannot claim the scheduler lease");
                            let expired = last_renewed
                                .is_none_or(|at| at.elapsed() >= self.config.lease_ttl);
                            if expired && let Some(old) = term.take() {
                                tracing::warn!("cannot confirm leadership within the lease TTL; standing by");
                                let epoch = old.epoch;
                                old.end().await;
                                self.publish(false, None, epoch);
                            }
                        }
                    }
                }
            }
        }
        if let Some(term) = term.take() {
            term.end().await;
            if let Err(error) = self.store.release_lease(SCHEDULER_LEASE, &holder).await {
                tracing::warn!(%error, "cannot release the scheduler lease");
            }
        }
        self.nodes.leave().await;
        Ok(())
    }

    fn start_term(&self, leader: LeaderStore, shutdown: watch::Receiver<bool>) -> Term {
        let epoch = leader.epoch();
        let (connect, connections) = mpsc::unbounded_channel();
        let (stop, mut stop_rx) = watch::channel(false);
        let mut outer = shutdown;
        // The term stops with the process or when the elector ends it.
        let (term_stop, term_rx) = watch::channel(false);
        tokio::spawn(async move {
            tokio::select! {
                _ = outer.wait_for(|s| *s) => {}
                _ = stop_rx.wait_for(|s| *s) => {}
            }
            term_stop.send_replace(true);
        });
        let clock: Arc<dyn Clock> = self.clock.clone();
        // The alert loop routes and delivers for this term only: its writes are
        // fenced like the driver's.
        let alerts = orrery_alerts::AlertLoopConfig {
            external_url: self.config.external_url.clone(),
            keyring: self.config.keyring.clone(),
            pass_interval: self.config.alert_pass_interval,
            node: self.config.node.holder.clone(),
        };
        tokio::spawn(orrery_alerts::run_alert_loop(
            leader.clone(),
            clock.clone(),
            alerts,
            term_rx.clone(),
        ));
        let driver = Driver::new(
            leader,
            clock,
            self.config.clone(),
            self.wake.clone(),
            self.handoff.clone(),
            connections,
        );
        Term {
            epoch,
            connect,
            stop,
            task: tokio::spawn(driver.run(term_rx)),
        }
    }

    fn publish(&self, leader: bool, holder: Option<String>, epoch: i64) {
        self.leadership.send_if_modified(|current| {
            let next = Leadership {
                leader,
                holder,
                epoch,
            };
            let changed = *current != next;
            *current = next;
            changed
        });
    }
}
