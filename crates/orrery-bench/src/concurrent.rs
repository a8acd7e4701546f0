//! Doing many requests with a fixed number in flight, stopping early when a time budget
//! runs out.

use anyhow::Context;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Calls `call` on each item, `in_flight` calls at a time, in item order. No call
/// starts once `budget` has passed; every call started is finished. Results come back
/// in no particular order, one per item called.
pub(crate) async fn map_concurrent<T, R, F, Fut>(
    items: Vec<T>,
    in_flight: u32,
    budget: Duration,
    call: F,
) -> anyhow::Result<Vec<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<R>> + Send,
{
    let started = Instant::now();
    let queue = Arc::new(Mutex::new(items.into_iter()));
    let call = Arc::new(call);
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..in_flight.max(1) {
        let queue = queue.clone();
        let call = call.clone();
        callers.spawn(async move {
            let mut results = Vec::new();
            while started.elapsed() < budget {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some(item) = next else { break };
                results.push(call(item).await?);
            }
            anyhow::Ok(results)
        });
    }
    let mut all = Vec::new();
    while let Some(joined) = callers.join_next().await {
        all.extend(joined.context("join a concurrent caller")??);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_every_item_once() {
        let mut doubled = map_concurrent(
            (0..100).collect(),
            4,
            Duration::from_secs(60),
            |i| async move { anyhow::Ok(i * 2) },
        )
        .await
        .expect("no call fails");
        doubled.sort();
        assert_eq!(doubled, (0..100).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn starts_nothing_after_the_budget() {
        let called = map_concurrent((0..100).collect(), 4, Duration::ZERO, |i: u32| async move {
            anyhow::Ok(i)
        })
        .await
        .expect("no call fails");
        assert!(called.is_empty());
    }
}
