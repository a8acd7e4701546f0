//! Placement decisions: slots, resources, groups, labels, pins and affinity.

use super::*;

fn worker(worker: u64, free_slots: u32) -> WorkerOffer {
    WorkerOffer {
        worker,
        group: "default".to_owned(),
        labels: BTreeMap::new(),
        free_slots,
        free_cpu_millis: None,
        total_cpu_millis: None,
        free_memory_bytes: None,
        total_memory_bytes: None,
        free_gpus: 0,
        total_gpus: 0,
        stable_id: format!("w{worker}"),
    }
}

fn plain() -> TaskNeeds {
    TaskNeeds {
        group: "default".to_owned(),
        ..TaskNeeds::default()
    }
}

fn placed(decisions: &[Placement]) -> Vec<Option<u64>> {
    decisions
        .iter()
        .map(|d| match d {
            Placement::Place(w) => Some(*w),
            Placement::Busy { .. } | Placement::Unplaceable(_) => None,
        })
        .collect()
}

#[test]
fn never_exceeds_free_slots_and_keeps_fifo() {
    let tasks = vec![plain(); 10];
    let mut workers = [worker(1, 2), worker(2, 3)];
    let decisions = placed(&place_tasks(&tasks, &mut workers));
    assert_eq!(decisions.iter().filter(|d| **d == Some(1)).count(), 2);
    assert_eq!(decisions.iter().filter(|d| **d == Some(2)).count(), 3);
    assert!(
        decisions[..5].iter().all(Option::is_some),
        "the oldest go first"
    );
    assert!(decisions[5..].iter().all(Option::is_none));
}

#[test]
fn spreads_to_the_least_loaded_worker() {
    let mut workers = [worker(1, 1), worker(2, 4)];
    assert_eq!(place_tasks(&[plain()], &mut workers), [Placement::Place(2)]);
}

#[test]
fn groups_and_labels_select_workers() {
    let mut gpu = worker(2, 4);
    gpu.group = "gpu".to_owned();
    gpu.labels.insert("zone".to_owned(), "a".to_owned());
    let mut workers = [worker(1, 4), gpu];
    let mut wants_gpu_group = plain();
    wants_gpu_group.group = "gpu".to_owned();
    wants_gpu_group
        .labels
        .insert("zone".to_owned(), "a".to_owned());
    let mut wrong_zone = wants_gpu_group.clone();
    wrong_zone.labels.insert("zone".to_owned(), "b".to_owned());
    let decisions = place_tasks(&[wants_gpu_group, plain(), wrong_zone], &mut workers);
    assert_eq!(decisions[0], Placement::Place(2));
    assert_eq!(decisions[1], Placement::Place(1));
    assert_eq!(
        decisions[2],
        Placement::Unplaceable("no worker in group \"gpu\" has labels zone=b".to_owned())
    );
}

#[test]
fn a_task_no_worker_can_ever_fit_says_why() {
    let mut gpu = worker(1, 4);
    gpu.group = "gpu".to_owned();
    let mut workers = [gpu];
    let mut needs_gpu = plain();
    needs_gpu.group = "gpu".to_owned();
    needs_gpu.gpus = 1;
    assert_eq!(
        place_tasks(&[needs_gpu], &mut workers),
        [Placement::Unplaceable(
            "no worker in group \"gpu\" has 1 GPU".to_owned()
        )]
    );
    let mut nobody = plain();
    nobody.group = "etl".to_owned();
    assert_eq!(
        place_tasks(&[nobody], &mut workers),
        [Placement::Unplaceable(
            "no worker in group \"etl\" is connected".to_owned()
        )]
    );
}

#[test]
fn a_big_task_waits_without_blocking_smaller_ones() {
    let mut w = worker(1, 4);
    w.free_memory_bytes = Some(1 << 30);
    w.total_memory_bytes = Some(4 << 30);
    let mut workers = [w];
    let mut big = plain();
    big.memory_bytes = Some(2 << 30);
    let mut small = plain();
    small.memory_bytes = Some(512 << 20);
    let decisions = place_tasks(&[big, small.clone(), small.clone(), small], &mut workers);
    assert_eq!(
        decisions[0],
        Placement::Busy { matching: 1 },
        "it fits the worker, just not now"
    );
    assert_eq!(
        placed(&decisions[1..]),
        [Some(1), Some(1), None],
        "two halves of the free GiB fit, the third waits"
    );
}

#[test]
fn resources_are_reserved_across_decisions() {
    let mut w = worker(1, 8);
    w.free_cpu_millis = Some(2000);
    w.total_cpu_millis = Some(2000);
    let mut workers = [w];
    let mut one_cpu = plain();
    one_cpu.cpu_millis = Some(1000);
    let decisions = placed(&place_tasks(&vec![one_cpu; 3], &mut workers));
    assert_eq!(decisions, [Some(1), Some(1), None]);
}

#[test]
fn pinned_tasks_go_only_to_their_worker() {
    let mut workers = [worker(1, 4), worker(2, 4)];
    let mut pinned = plain();
    pinned.pinned = Some("w1".to_owned());
    assert_eq!(placed(&place_tasks(&[pinned], &mut workers)), [Some(1)]);
}

#[test]
fn an_affinity_key_sticks_to_one_worker() {
    let mut workers = [worker(1, 100), worker(2, 100), worker(3, 100)];
    let mut keyed = plain();
    keyed.affinity_key = Some("tenant-7".to_owned());
    let decisions = placed(&place_tasks(&vec![keyed.clone(); 20], &mut workers));
    let first = decisions[0];
    assert!(decisions.iter().all(|d| *d == first), "{decisions:?}");
    // Another key may land elsewhere, but each key stays put.
    let keys: Vec<Option<u64>> = (0..30)
        .map(|i| {
            let mut t = plain();
            t.affinity_key = Some(format!("tenant-{i}"));
            placed(&place_tasks(&[t], &mut workers))[0]
        })
        .collect();
    assert!(keys.iter().any(|w| *w != first), "keys spread over workers");
}

#[test]
fn no_worker_no_placement() {
    assert!(matches!(
        place_tasks(&[plain()], &mut [])[0],
        Placement::Unplaceable(_)
    ));
    assert_eq!(
        place_tasks(&[plain()], &mut [worker(1, 0)])[0],
        Placement::Busy { matching: 1 }
    );
}
