//! Turning a task of a run into a fully rendered assignment for a worker.

use super::active_run::{ActiveRun, Slot};
use orrery_core::spec::{DispatchMode, IsolationMode, JobSpec, TaskKind};
use orrery_core::template::{TemplateContext, render};
use orrery_proto::{
    Assignment, ExecSpec, HttpRequest, Isolation, PythonSource, Resources, Shard, TaskRef,
};
use orrery_store::records::RunRecord;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Settings that shape rendered assignments.
#[derive(Clone, Debug)]
pub(crate) struct RenderOptions {
    pub(crate) default_timezone: chrono_tz::Tz,
    pub(crate) python_interpreter: String,
    pub(crate) max_http_body_bytes: usize,
}

/// Everything a task's assignment is rendered from, owned, so that rendering (user
/// templates, bounded by fuel) runs on the blocking pool rather than the driver's loop.
pub(crate) struct AssignmentInputs {
    spec: Arc<JobSpec>,
    slot: Slot,
    task_ref: TaskRef,
    task_name: String,
    context: TemplateContext,
    run: RunRecord,
    params: serde_json::Map<String, serde_json::Value>,
    shard: Option<Shard>,
    options: RenderOptions,
    /// Why the task's secrets could not be given to it (unknown, or not decryptable):
    /// the attempt fails with this instead of rendering.
    secret_failure: Option<String>,
}

/// Gathers what `slot` of `run` renders from; fails when the task or its fan-out item
/// is unknown.
pub(crate) fn assignment_inputs(
    run: &ActiveRun,
    slot: Slot,
    task_ref: TaskRef,
    options: &RenderOptions,
) -> Result<AssignmentInputs, String> {
    let idx = slot.idx;
    let spec = run
        .spec
        .tasks
        .get(idx)
        .ok_or_else(|| format!("task #{idx} is not in the job's spec"))?;
    let mut context = template_context(run, idx, task_ref.attempt, options);
    let task_name = run
        .record(slot)
        .map_or_else(|| spec.name.clone(), |t| t.task_name.clone());
    if let Some(map) = slot.map {
        context.index = Some(map);
        context.item = Some(
            run.fanout_items
                .get(&idx)
                .and_then(|items| items.get(map as usize))
                .cloned()
                .ok_or_else(|| format!("item {map} of fan-out task {:?} is unknown", spec.name))?,
        );
        context.task_name.clone_from(&task_name);
    }
    let broadcast = spec.dispatch == DispatchMode::Broadcast;
    let shard = slot.map.filter(|_| broadcast).map(|index| Shard {
        index,
        total: run
            .mapped
            .get(&idx)
            .map_or(0, |m| u32::try_from(m.len()).unwrap_or(u32::MAX)),
    });
    Ok(AssignmentInputs {
        spec: run.spec.clone(),
        slot,
        task_ref,
        task_name,
        context,
        run: run.record.clone(),
        params: run.params.clone(),
        shard,
        options: options.clone(),
        secret_failure: None,
    })
}

impl AssignmentInputs {
    /// Whether any field of the task holds template markup. One that does not renders
    /// to itself, cheaply enough for the driver's own thread.
    pub(crate) fn has_templates(&self) -> bool {
        self.spec.tasks.get(self.slot.idx).is_some_and(|spec| {
            spec.templated_fields()
                .into_iter()
                .any(|(_, text)| orrery_core::template::is_template(text))
        })
    }

    /// The project and the names of the secrets the task's templates read.
    pub(crate) fn secrets_wanted(&self) -> Option<(&str, BTreeSet<String>)> {
        let names = self.spec.tasks.get(self.slot.idx)?.secret_names();
        (!names.is_empty()).then_some((self.run.project.as_str(), names))
    }

    /// Gives the task the values of its secrets, or the reason it cannot have them.
    pub(crate) fn provide_secrets(&mut self, secrets: Result<BTreeMap<String, String>, String>) {
        match secrets {
            Ok(values) => self.context.secrets = values,
            Err(reason) => self.secret_failure = Some(reason),
        }
    }

    /// Renders the task's templates; the error names the field and never shows a
    /// secret's value.
    pub(crate) fn render(&self) -> Result<Assignment, String> {
        if let Some(reason) = &self.secret_failure {
            return Err(reason.clone());
        }
        let mask = mask_of(&self.context.secrets);
        self.render_unmasked()
            .map(|mut assignment| {
                assignment.mask.clone_from(&mask);
                assignment
            })
            .map_err(|error| orrery_core::mask::mask(&error, &mask))
    }

    fn render_unmasked(&self) -> Result<Assignment, String> {
        let Self {
            spec,
            slot,
            task_ref,
            task_name,
            context,
            run,
            params,
            shard,
            options,
            secret_failure: _,
        } = self;
        let (slot, task_ref, shard) = (*slot, *task_ref, *shard);
        let idx = slot.idx;
        let spec = spec
            .tasks
            .get(idx)
            .ok_or_else(|| format!("task #{idx} is not in the job's spec"))?;
        let field = |name: &str, text: &str| {
            render(text, context)
                .map_err(|e| format!("cannot render {name} of task {:?}: {e}", spec.name))
        };
        let exec = match &spec.kind {
            TaskKind::Shell { script } => ExecSpec::Shell {
                script: field("script", script)?,
            },
            TaskKind::Command { command } => ExecSpec::Command {
                argv: command
                    .iter()
                    .enumerate()
                    .map(|(k, arg)| field(&format!("command[{k}]"), arg))
                    .collect::<Result<_, _>>()?,
            },
            TaskKind::Noop => ExecSpec::Noop,
            TaskKind::Branch { script } => ExecSpec::Shell {
                script: field("script", script)?,
            },
            TaskKind::Python { script, file } => ExecSpec::Python {
                interpreter: options.python_interpreter.clone(),
                source: match (script, file) {
                    (Some(script), _) => PythonSource::Inline(field("script", script)?),
                    (None, Some(file)) => PythonSource::File(field("file", file)?),
                    (None, None) => {
                        return Err(format!(
                            "python task {:?} has neither script nor file",
                            spec.name
                        ));
                    }
                },
                params_json: serde_json::Value::Object(params.clone()).to_string(),
            },
            TaskKind::Http {
                method,
                url,
                headers,
                body,
                expect_status,
                expect_json,
            } => ExecSpec::Http(HttpRequest {
                method: method.clone(),
                url: field("url", url)?,
                headers: headers
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), field(&format!("headers.{k}"), v)?)))
                    .collect::<Result<_, String>>()?,
                body: body.as_deref().map(|b| field("body", b)).transpose()?,
                expect_status: expect_status.clone(),
                expect_json: expect_json
                    .as_ref()
                    .map(|e| (e.path.clone(), e.equals.clone())),
                max_body_bytes: options.max_http_body_bytes,
            }),
            // Sub-workflows never reach a worker: the driver runs them as child runs.
            TaskKind::Job { job, .. } => {
                return Err(format!(
                    "task {:?} starts job {job:?}; it is not a worker task",
                    spec.name
                ));
            }
        };
        let mut env = BTreeMap::new();
        // Every param, readable without a template: the safe way for a script to use
        // a value it must not interpolate into shell code.
        for (name, value) in params {
            let text = match value {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            env.insert(orrery_core::spec::param_env_name(name), text);
        }
        for (key, value) in &spec.env {
            env.insert(key.clone(), field(&format!("env.{key}"), value)?);
        }
        env.insert("ORRERY_RUN_ID".to_owned(), run.id.to_string());
        env.insert("ORRERY_PROJECT".to_owned(), run.project.clone());
        env.insert("ORRERY_JOB".to_owned(), run.job_name.clone());
        env.insert("ORRERY_JOB_VERSION".to_owned(), run.job_version.to_string());
        env.insert("ORRERY_TASK".to_owned(), task_name.clone());
        if let Some(map) = slot.map {
            env.insert("ORRERY_MAP_INDEX".to_owned(), map.to_string());
        }
        if let Some(shard) = shard {
            env.insert("ORRERY_SHARD_INDEX".to_owned(), shard.index.to_string());
            env.insert("ORRERY_SHARD_TOTAL".to_owned(), shard.total.to_string());
        }
        env.insert("ORRERY_ATTEMPT".to_owned(), task_ref.attempt.to_string());
        if let Some(logical_date) = context.logical_date {
            env.insert("ORRERY_LOGICAL_DATE".to_owned(), logical_date.to_rfc3339());
            if let Some(scheduled_at) = run.scheduled_at {
                let local = scheduled_at.with_timezone(&logical_date.timezone());
                env.insert("ORRERY_SCHEDULED_AT".to_owned(), local.to_rfc3339());
            }
        }
        let working_dir = spec
            .working_dir
            .as_deref()
            .map(|dir| field("working_dir", dir))
            .transpose()?;
        Ok(Assignment {
            task: task_ref,
            run_id: run.id,
            job_name: run.job_name.clone(),
            task_name: task_name.clone(),
            exec,
            env,
            working_dir,
            timeout: spec.timeout.map(|t| t.0),
            // Set by the dispatcher from what placement reserved.
            resources: Resources::default(),
            isolation: Isolation {
                sandbox: spec.isolation == IsolationMode::Sandbox,
                network: spec.network,
                run_as: spec.run_as.clone(),
            },
            shard,
            // Set when sent, for a run made ahead of its fire time.
            start_delay: None,
            mask: Vec::new(),
        })
    }
}

/// What the worker hides in the task's output: each secret value given to it.
fn mask_of(secrets: &BTreeMap<String, String>) -> Vec<String> {
    let mut mask: Vec<String> = secrets.values().cloned().collect();
    mask.sort();
    mask.dedup();
    mask
}

/// Outputs of the tasks in `upstream`, by name.
fn upstream_outputs(
    run: &ActiveRun,
    upstream: &BTreeSet<usize>,
) -> BTreeMap<String, BTreeMap<String, String>> {
    upstream
        .iter()
        .filter_map(|idx| run.tasks.get(*idx))
        .map(|task| (task.task_name.clone(), task.outputs.clone()))
        .collect()
}

/// Outputs of the mapped instances of the fan-out tasks in `upstream`, in index order,
/// by the fan-out task's name.
fn upstream_mapped_outputs(
    run: &ActiveRun,
    upstream: &BTreeSet<usize>,
) -> BTreeMap<String, Vec<BTreeMap<String, String>>> {
    upstream
        .iter()
        .filter_map(|idx| {
            let instances = run.mapped.get(idx)?;
            let name = run.tasks.get(*idx)?.task_name.clone();
            let mut ordered: Vec<&orrery_store::records::TaskRecord> = instances.iter().collect();
            ordered.sort_by_key(|t| t.map_index);
            Some((
                name,
                ordered.into_iter().map(|t| t.outputs.clone()).collect(),
            ))
        })
        .collect()
}

/// States of the tasks in `upstream`, by name.
fn upstream_states(run: &ActiveRun, upstream: &BTreeSet<usize>) -> BTreeMap<String, String> {
    upstream
        .iter()
        .filter_map(|idx| run.tasks.get(*idx))
        .map(|task| (task.task_name.clone(), task.state.as_str().to_owned()))
        .collect()
}

/// What the task's templates and conditions can see.
pub(crate) fn template_context(
    run: &ActiveRun,
    idx: usize,
    attempt: u32,
    options: &RenderOptions,
) -> TemplateContext {
    // A manual run's logical date is when it was started. Dates are shown in the
    // schedule's zone, so `{{ logical_date | date }}` is the local date.
    let zone = run
        .spec
        .schedule
        .as_ref()
        .and_then(|s| s.timezone)
        .unwrap_or(options.default_timezone);
    let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&zone).fixed_offset();
    let logical_date = local(run.record.logical_date.unwrap_or(run.record.created_at));
    // Only tasks upstream of this one are visible, so a template cannot race with
    // tasks that run beside it.
    let upstream = run.dag.ancestors(idx);
    TemplateContext {
        params: run.params.clone(),
        run_id: run.record.id.0,
        job_name: run.record.job_name.clone(),
        task_name: run
            .spec
            .tasks
            .get(idx)
            .map(|t| t.name.clone())
            .unwrap_or_default(),
        attempt,
        upstream_outputs: upstream_outputs(run, &upstream),
        upstream_states: upstream_states(run, &upstream),
        upstream_mapped_outputs: upstream_mapped_outputs(run, &upstream),
        item: None,
        index: None,
        logical_date: Some(logical_date),
        data_interval_start: run.record.data_interval_start.map(local),
        data_interval_end: run.record.data_interval_end.map(local),
        // Filled by the driver, from the store, for the secrets the task reads.
        secrets: BTreeMap::new(),
    }
}
