//! The evidence API as an OpenAPI 3.1 document, served at `GET /api/v1/openapi.json`.
//! `tests` below hold it to the routes the router really serves ([`super::evidence::ROUTES`]).

use serde_json::{Value, json};

fn problem_responses(codes: &[u16]) -> Value {
    let mut map = serde_json::Map::new();
    for code in codes {
        map.insert(
            code.to_string(),
            json!({
                "description": "Refused: an RFC 9457 problem; `detail` is the reason code.",
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
            }),
        );
    }
    Value::Object(map)
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

fn query_param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

/// The document.
pub fn document() -> Value {
    let digest = json!({"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "zt evidence API",
            "version": "1",
            "description": "zt serve as the organisation's evidence hub: upload Sigstore bundles, query evidence, ask for a policy decision, trace a digest. See docs/server.md.",
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API token (`ztk_…`, roles read/upload/admin) or a CI job's OIDC ID token."}
            },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string", "description": "A stable reason code."},
                        "reason": {"type": "string", "description": "What is wrong."},
                        "fix": {"type": "string", "description": "How to fix it."}
                    }
                },
                "Receipt": {
                    "type": "object",
                    "required": ["id", "log_index", "uploaded_by", "uploaded_at", "created"],
                    "properties": {
                        "id": digest,
                        "log_index": {"type": "integer", "description": "Index of the upload's access record in the server's log."},
                        "uploaded_by": {"type": "string"},
                        "uploaded_at": {"type": "integer"},
                        "created": {"type": "boolean", "description": "False when the bundle was uploaded before (the first receipt)."}
                    }
                },
                "Page": {
                    "type": "object",
                    "required": ["items"],
                    "properties": {
                        "items": {"type": "array", "items": {"type": "object", "properties": {
                            "id": digest,
                            "subjects": {"type": "array", "items": digest},
                            "predicate_type": {"type": "string"},
                            "key_id": {"type": "string"},
                            "recorded_at": {"type": "integer"},
                            "bundle": {"type": "object", "description": "The Sigstore bundle as uploaded."}
                        }}},
                        "next_cursor": {"type": "string", "description": "Pass as `cursor` for the next page; absent on the last."}
                    }
                },
                "Judgement": {
                    "type": "object",
                    "required": ["digest", "stage", "allow", "deny"],
                    "properties": {
                        "artifact": {"type": "string"},
                        "digest": digest,
                        "stage": {"enum": ["ci", "publish", "deploy"]},
                        "allow": {"type": "boolean"},
                        "deny": {"type": "array", "items": {"type": "object", "properties": {
                            "id": {"type": "string"}, "message": {"type": "string"},
                            "remediation": {"type": "string"}, "doc": {"type": "string"}
                        }}},
                        "evidence": {"type": "array", "items": {"type": "object"}},
                        "rejected": {"type": "array", "items": {"type": "object"}}
                    }
                },
                "Trace": {
                    "type": "object",
                    "required": ["digest", "builds", "commits", "dependencies", "signers", "decisions", "rejected", "intake", "deployments"],
                    "properties": {
                        "digest": digest,
                        "builds": {"type": "array", "items": {"type": "object"}},
                        "commits": {"type": "array", "items": {"type": "object"}},
                        "dependencies": {"type": "array", "items": {"type": "object"}},
                        "signers": {"type": "array", "items": {"type": "object"}},
                        "decisions": {"type": "array", "items": {"type": "object"}},
                        "rejected": {"type": "array", "items": {"type": "object"}},
                        "intake": {"type": "array", "items": {"type": "object",
                            "required": ["purl", "verdict", "bundle", "subject", "recorded_at"],
                            "properties": {
                                "purl": {"type": "string"},
                                "subject": digest,
                                "verdict": {"type": "string", "enum": ["admitted", "held", "rejected"]},
                                "bundle": {"type": "string"},
                                "recorded_at": {"type": "string", "format": "date-time"}
                            }}},
                        "deployments": {"type": "array", "items": {"type": "object",
                            "required": ["at", "allowed", "operation", "object"],
                            "properties": {
                                "at": {"type": "string", "format": "date-time"},
                                "allowed": {"type": "boolean"},
                                "operation": {"type": "string"},
                                "object": {"type": "string"},
                                "log_index": {"type": "integer", "minimum": 0}
                            }}}
                    }
                }
            }
        },
        "security": [{"bearer": []}, {}],
        "paths": {
            "/api/v1/bundles": {"post": {
                "operationId": "uploadBundle",
                "summary": "Upload a Sigstore bundle: verified against the server's trust, logged, stored. Idempotent.",
                "requestBody": {"required": true, "content": {"application/vnd.dev.sigstore.bundle.v0.3+json": {"schema": {"type": "object"}}, "application/json": {"schema": {"type": "object"}}}},
                "responses": merge(json!({
                    "201": {"description": "Stored now.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Receipt"}}}},
                    "200": {"description": "Uploaded before: the first receipt.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Receipt"}}}}
                }), problem_responses(&[400, 401, 403, 413, 422, 500]))
            }},
            "/api/v1/evidence": {"get": {
                "operationId": "queryEvidence",
                "summary": "Evidence by subject, predicate type, key, commit and time, oldest first, keyset-paged.",
                "parameters": [
                    query_param("subject", "Subject digest.", digest.clone()),
                    query_param("predicateType", "Predicate type URI.", json!({"type": "string"})),
                    query_param("key", "Signer key id (hex SHA-256 of the SPKI).", json!({"type": "string"})),
                    query_param("commit", "A git commit the statement names.", json!({"type": "string", "pattern": "^[0-9a-fA-F]{40,64}$"})),
                    query_param("since", "Recorded at or after (Unix seconds or RFC 3339).", json!({"type": "string"})),
                    query_param("until", "Recorded before (Unix seconds or RFC 3339).", json!({"type": "string"})),
                    query_param("cursor", "The previous page's `next_cursor`.", json!({"type": "string"})),
                    query_param("limit", "Page size.", json!({"type": "integer", "minimum": 1, "maximum": zt_store::MAX_PAGE, "default": 100}))
                ],
                "responses": merge(json!({
                    "200": {"description": "One page.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}}
                }), problem_responses(&[400, 401, 403, 500]))
            }},
            "/api/v1/decide": {"post": {
                "operationId": "decide",
                "summary": "The policy decision for a digest at a stage: the judgement `zt verify sha256:… --stage S` prints.",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": false, "required": ["digest", "stage"],
                    "properties": {"digest": digest.clone(), "stage": {"enum": ["ci", "publish", "deploy"]}}
                }}}},
                "responses": merge(json!({
                    "200": {"description": "Allow, or every deny with rule, reason and fix.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Judgement"}}}}
                }), problem_responses(&[400, 401, 403, 413, 500]))
            }},
            "/api/v1/trace/{digest}": {"get": {
                "operationId": "trace",
                "summary": "Where a digest came from: builds, commits and their verdicts, dependencies, signers, decisions.",
                "parameters": [{"name": "digest", "in": "path", "required": true, "schema": digest.clone()}],
                "responses": merge(json!({
                    "200": {"description": "The trace.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Trace"}}}}
                }), problem_responses(&[400, 401, 403, 500]))
            }},
            "/api/v1/tokens": {"post": {
                "operationId": "createToken",
                "summary": "Create an API token (admin only). The token is in this reply only; the server keeps its hash.",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": false, "required": ["role"],
                    "properties": {"role": {"enum": ["read", "upload", "admin"]}, "name": {"type": "string"}}
                }}}},
                "responses": merge(json!({
                    "201": {"description": "Created.", "content": {"application/json": {"schema": {"type": "object", "properties": {
                        "token": {"type": "string"}, "id": {"type": "string"}, "role": {"type": "string"}, "name": {"type": "string"}
                    }}}}}
                }), problem_responses(&[400, 401, 403, 500]))
            }},
            "/api/v1/openapi.json": {"get": {
                "operationId": "openapi",
                "summary": "This document.",
                "security": [{}],
                "responses": {"200": {"description": "OpenAPI 3.1.", "content": {"application/json": {"schema": {"type": "object"}}}}}
            }}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every documented (method, path) is in the route table the router is built from, and
    /// every routed one is documented. (`tests/it/evidence.rs` also calls each documented
    /// operation on the real server and checks that it is routed.)
    #[test]
    fn document_and_route_table_agree() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.push((method.clone(), path.clone()));
            }
        }
        documented.sort();
        let mut routed: Vec<(String, String)> = super::super::evidence::ROUTES
            .iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        routed.sort();
        assert_eq!(documented, routed);
        // Every `$ref` resolves.
        let text = doc.to_string();
        for r in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = r.split('"').next().unwrap();
            assert!(doc["components"]["schemas"].get(name).is_some(), "{name}");
        }
    }
}
