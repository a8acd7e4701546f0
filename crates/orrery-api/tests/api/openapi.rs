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
