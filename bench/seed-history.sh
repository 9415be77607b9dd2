#!/usr/bin/env bash
# A seeded synthetic evidence history in a zt ledger's PostgreSQL schema (made by `zt serve
# --store postgres://…?schema=SCHEMA` first): N bundles recorded at FIRST_AT + i (i = 1..N),
# four predicate types in turn, 50 signing keys, four bundles per artifact digest and a commit
# for every 16th bundle. The same SEED gives the same digests. Used by bench/server.sh and
# bench/dashboard.sh.
# Usage: bench/seed-history.sh PG SCHEMA N SEED FIRST_AT
set -euo pipefail
[ $# -eq 5 ] || { echo "usage: $0 PG SCHEMA N SEED FIRST_AT" >&2; exit 2; }
pg=$1 schema=$2 n=$3 seed=$4 first=$5
psql -X -q -v ON_ERROR_STOP=1 "$pg" <<SQL
SET search_path TO $schema;
BEGIN;
INSERT INTO bundles (id, json, predicate_type, key_id, log_index, stage, recorded_at)
SELECT 'sha256:' || encode(sha256(('bundle-$seed-' || i)::bytea), 'hex'),
       '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","synthetic":' || i || '}',
       (ARRAY['https://slsa.dev/provenance/v1','https://cyclonedx.org/bom',
              'https://in-toto.io/attestation/test-result/v0.1',
              'https://zt.dev/attestation/vuln-scan/v1'])[1 + i % 4],
       encode(sha256(('key-$seed-' || (i % 50))::bytea), 'hex'),
       i, 'ci', $first + i
FROM generate_series(1, $n) AS i;
INSERT INTO bundle_subjects (digest, bundle_id)
SELECT 'sha256:' || encode(sha256(('artifact-$seed-' || (i / 4))::bytea), 'hex'),
       'sha256:' || encode(sha256(('bundle-$seed-' || i)::bytea), 'hex')
FROM generate_series(1, $n) AS i;
INSERT INTO bundle_commits (commit_id, bundle_id)
SELECT encode(sha256(('commit-$seed-' || (i / 16))::bytea), 'hex'),
       'sha256:' || encode(sha256(('bundle-$seed-' || i)::bytea), 'hex')
FROM generate_series(1, $n) AS i WHERE i % 4 = 1;
COMMIT;
ANALYZE bundles; ANALYZE bundle_subjects; ANALYZE bundle_commits;
SQL
