//! The sub-workflow edges between jobs (`job_calls`): written with each job's latest
//! version in its apply transaction, which refuses a version that would close a loop
//! of jobs starting each other. Writers are serialized, so two applies that would
//! together make a loop cannot both pass.

use crate::error::StoreError;
use crate::exec::{WriteTx, on_tx};
use orrery_core::spec::{SpecFormat, parse_job_spec};
use orrery_core::sub_workflow::{cycle_through, started_jobs};
use std::collections::BTreeMap;

/// The jobs a canonical spec starts; none when it does not parse (specs in store tests).
fn calls_of(canonical_spec: &str) -> Vec<String> {
    parse_job_spec(canonical_spec, SpecFormat::Json)
        .map(|spec| started_jobs(&spec))
        .unwrap_or_default()
}

/// Replaces `caller`'s edges with those of its new spec, or refuses with the loop it
/// would close.
pub(crate) async fn set_calls(
    tx: &mut WriteTx,
    project: &str,
    caller: &str,
    canonical_spec: &str,
) -> Result<(), StoreError> {
    let calls = calls_of(canonical_spec);
    if !calls.is_empty() {
        let edges: Vec<(String, String)> = on_tx!(tx, |conn| {
            sqlx::query_as("SELECT caller, callee FROM job_calls WHERE project = $1")
                .bind(project)
                .fetch_all(&mut *conn)
                .await?
        });
        let mut children: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (from, to) in edges.into_iter().filter(|(from, _)| from != caller) {
            children.entry(from).or_default().push(to);
        }
        children.insert(caller.to_owned(), calls.clone());
        for callee in &calls {
            if let Some(chain) = cycle_through(caller, callee, &children) {
                return Err(StoreError::SubWorkflowCycle { chain });
            }
        }
    }
    on_tx!(tx, |conn| {
        sqlx::query("DELETE FROM job_calls WHERE project = $1 AND caller = $2")
            .bind(project)
            .bind(caller)
            .execute(&mut *conn)
            .await?;
        for callee in &calls {
            sqlx::query("INSERT INTO job_calls (project, caller, callee) VALUES ($1, $2, $3)")
                .bind(project)
                .bind(caller)
                .bind(callee)
                .execute(&mut *conn)
                .await?;
        }
    });
    Ok(())
}

/// Forgets a deleted job's edges.
pub(crate) async fn forget_calls(
    tx: &mut WriteTx,
    project: &str,
    caller: &str,
) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        sqlx::query("DELETE FROM job_calls WHERE project = $1 AND caller = $2")
            .bind(project)
            .bind(caller)
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}
