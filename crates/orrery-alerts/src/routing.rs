//! The leader's routing state: one router per applied `AlertRoute` (project and
//! name), rebuilt when its document changes (keeping the groups that still exist), and
//! the alerts firing in every project.

use crate::alert::Alert;
use crate::group::{Notification, Router};
use crate::route_spec::router_config;
use crate::silence::Silence;
use crate::snapshot::RouterSnapshot;
use chrono::{DateTime, Utc};
use orrery_core::spec::{SpecDocument, SpecFormat, parse_document};
use orrery_store::AlertConfigRecord;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which router: (project, route name).
pub(crate) type RouterId = (String, String);

/// What the alert loop saves with each pass (the `alert_router` row's state).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct SavedRouting {
    /// Each router's groups, keyed `project/name`.
    pub(crate) routers: BTreeMap<String, RouterSnapshot>,
}

/// One applied route document and its router.
struct Routed {
    spec: String,
    router: Router,
}

/// Every project's routers.
#[derive(Default)]
pub(crate) struct Routing {
    routers: BTreeMap<RouterId, Routed>,
    /// Saved groups of routers not built yet (their document comes with the first
    /// config read).
    pending_restore: BTreeMap<String, RouterSnapshot>,
}

fn saved_key(id: &RouterId) -> String {
    format!("{}/{}", id.0, id.1)
}

impl Routing {
    /// Routing that will take back `saved` groups as their routers are built.
    pub(crate) fn restoring(saved: SavedRouting) -> Self {
        Routing {
            routers: BTreeMap::new(),
            pending_restore: saved.routers,
        }
    }

    /// Brings the routers in line with the applied documents: new ones are built,
    /// changed ones rebuilt (their groups carried over where their routes remain),
    /// removed ones dropped. `firing` alerts are taken into a router built anew.
    pub(crate) fn update(
        &mut self,
        configs: &[AlertConfigRecord],
        firing: &BTreeMap<(String, String), Alert>,
        now: DateTime<Utc>,
    ) {
        let mut seen = Vec::new();
        for config in configs.iter().filter(|c| c.kind == "AlertRoute") {
            let id: RouterId = (config.project.clone(), config.name.clone());
            seen.push(id.clone());
            if self
                .routers
                .get(&id)
                .is_some_and(|routed| routed.spec == config.spec)
            {
                continue;
            }
            let spec = match parse_document(&config.spec, SpecFormat::Json) {
                Ok(SpecDocument::AlertRoute(spec)) => spec,
                Ok(_) | Err(_) => {
                    tracing::error!(project = %id.0, route = %id.1, "a stored alert route does not read back; it is skipped");
                    continue;
                }
            };
            let (route, inhibit) = router_config(&spec);
            let mut router = Router::new(route, inhibit);
            let previous = self
                .routers
                .remove(&id)
                .map(|old| old.router.snapshot())
                .or_else(|| self.pending_restore.remove(&saved_key(&id)));
            match previous {
                Some(snapshot) => router.restore(snapshot, now),
                None => {
                    for ((project, _), alert) in firing {
                        if *project == id.0 {
                            router.ingest(alert, now);
                        }
                    }
                }
            }
            self.routers.insert(
                id,
                Routed {
                    spec: config.spec.clone(),
                    router,
                },
            );
        }
        self.routers.retain(|id, _| seen.contains(id));
    }

    /// Takes an alert of `project` into each of its routers.
    pub(crate) fn ingest(&mut self, project: &str, alert: &Alert, now: DateTime<Utc>) {
        for ((router_project, _), routed) in &mut self.routers {
            if router_project == project {
                routed.router.ingest(alert, now);
            }
        }
    }

    /// The notifications due at `now`, with the router each came from.
    pub(crate) fn flush(
        &mut self,
        silences: &BTreeMap<String, Vec<Silence>>,
        now: DateTime<Utc>,
    ) -> Vec<(RouterId, Notification)> {
        let none = Vec::new();
        let mut out = Vec::new();
        for (id, routed) in &mut self.routers {
            let muted = silences.get(&id.0).unwrap_or(&none);
            for notification in routed.router.flush(muted, now) {
                out.push((id.clone(), notification));
            }
        }
        out
    }

    /// When the next group is due.
    pub(crate) fn next_flush(&self) -> Option<DateTime<Utc>> {
        self.routers
            .values()
            .filter_map(|routed| routed.router.next_flush())
            .min()
    }

    /// The state to save.
    pub(crate) fn saved(&self) -> SavedRouting {
        let mut routers: BTreeMap<String, RouterSnapshot> = self
            .routers
            .iter()
            .map(|(id, routed)| (saved_key(id), routed.router.snapshot()))
            .collect();
        // Groups of routers whose document could not be read yet are kept.
        for (key, snapshot) in &self.pending_restore {
            routers
                .entry(key.clone())
                .or_insert_with(|| snapshot.clone());
        }
        SavedRouting { routers }
    }
}
