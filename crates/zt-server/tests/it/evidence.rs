//! The evidence API's OpenAPI document against the real router, over real HTTP: every
//! documented operation is routed (its reply is never the router's `no_such_route` or
//! `method_not_allowed`), and a path or method the document does not name is not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use zt_server::routes::evidence::Evidence;
use zt_server::{ServeOptions, Server};

fn start() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let ws = zt_core::Workspace::new(dir.path());
    let (log, _) = zt_sign::transparency::open_or_init_local(&ws.layout().log()).unwrap();
    let hub = zt_pipeline::hub::Hub::open(ws, Arc::new(log), &[]).unwrap();
    let evidence = Arc::new(Evidence::new(hub, None));
    let options = ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        workers: Some(1),
        blocking_threads: 4,
        allowed_hosts: Vec::new(),
        tls: None,
    };
    let server = Server::bind(
        &options,
        zt_server::routes::router_with(None, Some(evidence)),
    )
    .unwrap();
    let url = format!("http://{}", server.local_addr());
    std::thread::spawn(move || server.run_until(std::future::pending()).unwrap());
    (dir, url)
}

/// One request on its own connection: a refusal that does not read the body ends its
/// connection, which must not fail the next request of the test.
fn call(method: &str, url: &str) -> (u16, serde_json::Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections(0)
        .build()
        .into();
    let reply = match method {
        "get" => agent.get(url).call(),
        "post" => agent
            .post(url)
            .header("content-type", "application/json")
            .send(&b"{}"[..]),
        "put" => agent.put(url).send(&b"{}"[..]),
        "delete" => agent.delete(url).call(),
        other => panic!("{other}"),
    };
    let mut reply = reply.unwrap();
    let status = reply.status().as_u16();
    let body = reply.body_mut().read_to_vec().unwrap();
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

#[test]
fn every_documented_operation_is_routed_and_nothing_else_is() {
    let (_dir, url) = start();
    let (status, doc) = call("get", &format!("{url}/api/v1/openapi.json"));
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let digest = format!("sha256:{}", "ab".repeat(32));
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path.replace("{digest}", &digest);
        for method in ["get", "post", "put", "delete"] {
            let (status, body) = call(method, &format!("{url}{concrete}"));
            let routed = !matches!(
                body["detail"].as_str(),
                Some("no_such_route" | "method_not_allowed")
            );
            let documented = item.get(method).is_some();
            assert_eq!(
                routed, documented,
                "{method} {path}: status {status}, {body}"
            );
            operations += usize::from(documented);
        }
    }
    assert_eq!(operations, zt_server::routes::evidence::ROUTES.len());
    // Undocumented paths under the API are not routed.
    let (status, body) = call("get", &format!("{url}/api/v1/nothing"));
    assert_eq!(
        (status, body["detail"].as_str()),
        (404, Some("no_such_route"))
    );
}
