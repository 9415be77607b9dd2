#!/usr/bin/env bash
# A seeded synthetic evidence history in a zt ledger's PostgreSQL schema (made by `zt serve
# --store postgres://…?schema=SCHEMA` first): N bundles recorded at FIRST_AT + i (i = 1..N),
# four predicate types in turn, 50 signing keys, four bundles per artifact digest and a commit
# for every 16th bundle. Every vulnerability-scan bundle is indexed as a scan of one of 2,000
# SBOMs with three findings (one critical in seven, one waived in five), so the latest scans
# hold ~2,000 × 3 findings as a real organisation's would. Every provenance bundle has its
# build record (the artifact as output; rebuilt one time in two, reproducible when rebuilt
# nineteen times in twenty; behaviour recorded; numbered after the builds already recorded, as
# zt numbers them). The same SEED gives the same digests. Used by bench/server.sh and
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
INSERT INTO builds (id, record, recorded_at, reproducible, setup_ms, duration_ms, seq)
SELECT 'build-$seed-' || i,
       '{"buildDefinition":{"buildType":"https://zt.dev/build/v1","internalParameters":{"synthetic":' || i || '}}}',
       $first + i,
       CASE WHEN i % 8 = 0 THEN (i % 160) <> 0 END, 8 + i % 5, 400 + i % 300,
       (SELECT COALESCE(MAX(seq), 0) FROM builds) + i / 4
FROM generate_series(1, $n) AS i WHERE i % 4 = 0;
INSERT INTO build_outputs (digest, build_id)
SELECT 'sha256:' || encode(sha256(('artifact-$seed-' || (i / 4))::bytea), 'hex'), 'build-$seed-' || i
FROM generate_series(1, $n) AS i WHERE i % 4 = 0;
INSERT INTO scan_findings (bundle_id, advisory, package, severity, waived)
SELECT 'sha256:' || encode(sha256(('bundle-$seed-' || i)::bytea), 'hex'),
       'CVE-2026-' || ((i * 7 + j) % 997), 'pkg:npm/p' || ((i + j) % 311) || '@1',
       CASE WHEN (i + j) % 7 = 0 THEN 'critical' ELSE 'high' END, (i + j) % 5 = 0
FROM generate_series(1, $n) AS i, generate_series(1, 3) AS j WHERE i % 4 = 3;
INSERT INTO latest_scans (sbom, bundle_id, recorded_at)
SELECT DISTINCT ON (sbom) sbom, id, at FROM (
  SELECT 'repo-' || ((i / 4) % 2000) || '/sbom.cdx.json' AS sbom,
         'sha256:' || encode(sha256(('bundle-$seed-' || i)::bytea), 'hex') AS id, $first + i AS at
  FROM generate_series(1, $n) AS i WHERE i % 4 = 3) s
ORDER BY sbom, at DESC
ON CONFLICT (sbom) DO UPDATE SET bundle_id = excluded.bundle_id, recorded_at = excluded.recorded_at
WHERE excluded.recorded_at > latest_scans.recorded_at;
COMMIT;
ANALYZE bundles; ANALYZE bundle_subjects; ANALYZE bundle_commits; ANALYZE scan_findings; ANALYZE latest_scans; ANALYZE builds; ANALYZE build_outputs;
SQL
