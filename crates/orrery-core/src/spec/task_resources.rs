//! Validation of a task's `resources:`: CPU, memory and GPUs.

use super::fields::{Problems, child, optional};
use super::placement::ResourceRequest;
use super::quantity::{parse_cpu_millis, parse_memory};
use serde_json::{Number, Value};

const RESOURCE_FIELDS: &[&str] = &["cpu", "memory", "gpu"];

/// Most CPU a task may ask for: 1024 cores, in millicores.
const MAX_CPU_MILLIS: u32 = 1024 * 1000;

/// Most GPUs a task may ask for.
const MAX_GPUS: i64 = 1024;

/// Reads the `resources:` mapping at `path`; `None` when it is not a mapping.
pub(super) fn read_resources(
    value: &Value,
    path: &str,
    problems: &mut Problems,
) -> Option<ResourceRequest> {
    let Value::Object(map) = value else {
        problems.wrong_type(
            path,
            "a mapping such as {cpu: 2, memory: 4Gi, gpu: 1}",
            value,
        );
        return None;
    };
    problems.unknown_fields(map, path, RESOURCE_FIELDS);
    let cpu_millis =
        optional(map, "cpu").and_then(|value| read_cpu(value, &child(path, "cpu"), problems));
    let memory_bytes = optional(map, "memory")
        .and_then(|value| read_memory(value, &child(path, "memory"), problems));
    let gpus = optional(map, "gpu")
        .and_then(|value| problems.integer(value, &child(path, "gpu"), 0, MAX_GPUS))
        .and_then(|gpus| u32::try_from(gpus).ok())
        .unwrap_or(0);
    Some(ResourceRequest {
        cpu_millis,
        memory_bytes,
        gpus,
    })
}

/// CPU as a number of cores (`2`, `0.5`) or a string (`"500m"`, `"2"`), in millicores.
fn read_cpu(value: &Value, path: &str, problems: &mut Problems) -> Option<u32> {
    let (millis, found) = match value {
        Value::String(text) => (parse_cpu_millis(text), format!("{text:?}")),
        Value::Number(number) => (cpu_millis_of_number(number), number.to_string()),
        other => {
            problems.wrong_type(
                path,
                "a number of cores or a string of millicores such as \"500m\"",
                other,
            );
            return None;
        }
    };
    let millis = millis
        .map_err(|message| problems.push(path, message))
        .ok()?;
    if millis == 0 {
        problems.push(
            path,
            format!("must be more than 0, found {found} (leave cpu out to ask for none)"),
        );
        return None;
    }
    if millis > MAX_CPU_MILLIS {
        problems.push(
            path,
            format!("must be at most 1024 cores (\"{MAX_CPU_MILLIS}m\"), found {found}"),
        );
        return None;
    }
    Some(millis)
}

/// Millicores of a number of cores. A negative number reads as 0 and one beyond `u32`
/// millicores as `u32::MAX`, both refused by the caller's range check.
fn cpu_millis_of_number(number: &Number) -> Result<u32, String> {
    if let Some(cores) = number.as_u64() {
        return Ok(cores
            .checked_mul(1000)
            .and_then(|millis| u32::try_from(millis).ok())
            .unwrap_or(u32::MAX));
    }
    match number.as_f64() {
        Some(cores) if cores <= 0.0 => Ok(0),
        Some(cores) if cores > f64::from(u32::MAX / 1000) => Ok(u32::MAX),
        // Rust writes a float in full without an exponent (1e-7 as "0.0000001"), in
        // its shortest exact form, so the decimal reading sees what the spec wrote.
        Some(cores) => parse_cpu_millis(&cores.to_string()),
        None => Err(format!("expected a number of cores, found {number}")),
    }
}

/// Memory as a size string (`"1Gi"`, `"512M"`) or a whole number of bytes.
fn read_memory(value: &Value, path: &str, problems: &mut Problems) -> Option<u64> {
    let (bytes, found) = match value {
        Value::String(text) => (parse_memory(text), format!("{text:?}")),
        Value::Number(number) => (memory_bytes_of_number(number), number.to_string()),
        other => {
            problems.wrong_type(
                path,
                "a size such as \"512Mi\" or \"2G\", or a number of bytes",
                other,
            );
            return None;
        }
    };
    let bytes = bytes.map_err(|message| problems.push(path, message)).ok()?;
    if bytes == 0 {
        problems.push(
            path,
            format!("must be more than 0, found {found} (leave memory out to ask for none)"),
        );
        return None;
    }
    Some(bytes)
}

/// Bytes of a plain number. A negative number reads as 0, refused by the caller.
fn memory_bytes_of_number(number: &Number) -> Result<u64, String> {
    if let Some(bytes) = number.as_u64() {
        return Ok(bytes);
    }
    match number.as_f64() {
        Some(bytes) if bytes <= 0.0 => Ok(0),
        Some(bytes) => parse_memory(&bytes.to_string()),
        None => Err(format!("expected a number of bytes, found {number}")),
    }
}
