//! The OpenAPI document lists the worker, cluster and token routes with their schemas.

#[test]
fn workers_cluster_and_tokens_are_in_the_openapi_document() {
    let document = serde_json::to_value(orrery_api::openapi_document()).expect("serialize");
    for (path, method) in [
        ("/api/v1/workers", "get"),
        ("/api/v1/workers/{name}/drain", "post"),
        ("/api/v1/cluster", "get"),
        ("/api/v1/tokens", "post"),
    ] {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    for schema in [
        "WorkerInfo",
        "ClusterStatus",
        "ClusterNode",
        "LeaseInfo",
        "NodeState",
        "CreateTokenRequest",
        "CreatedToken",
    ] {
        assert!(
            document["components"]["schemas"][schema].is_object(),
            "schema {schema} missing"
        );
    }
}

/// Every path parameter is in its path's template and every template variable is
/// declared as one; query parameters are declared `in: query`.
#[test]
fn path_parameters_match_their_templates() {
    let document = serde_json::to_value(orrery_api::openapi_document()).expect("serialize");
    let paths = document["paths"].as_object().expect("paths");
    for (template, operations) in paths {
        let variables: Vec<&str> = template
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split('}').next())
            .collect();
        for (method, operation) in operations.as_object().expect("operations") {
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let declared: Vec<&str> = parameters
                .iter()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str())
                .collect();
            for name in &declared {
                assert!(
                    variables.contains(name),
                    "{method} {template}: path parameter {name:?} is not in the template"
                );
            }
            for variable in &variables {
                assert!(
                    declared.contains(variable),
                    "{method} {template}: {{{variable}}} is not declared as a path parameter"
                );
            }
        }
    }
}

/// The document passes an OpenAPI validator (PyPI `openapi-spec-validator`, which
/// `scripts/test` installs).
#[test]
fn the_document_is_valid_openapi() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output();
    if !probe.is_ok_and(|out| out.status.success()) {
        eprintln!("SKIPPED: python3 with openapi-spec-validator is not installed here");
        return;
    }
    let document = serde_json::to_string(&orrery_api::openapi_document()).expect("serialize");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, document).expect("write");
    let out = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&path)
        .output()
        .expect("run the validator");
    assert!(
        out.status.success(),
        "the OpenAPI document is invalid:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
