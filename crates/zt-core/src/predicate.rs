//! Every predicate type URI zt reads or emits, in one place.

/// SLSA provenance v1.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// in-toto test results v0.1.
pub const TEST_RESULT_V01: &str = "https://in-toto.io/attestation/test-result/v0.1";
/// CycloneDX SBOM (any 1.x version).
pub const CYCLONEDX: &str = "https://cyclonedx.org/bom";
/// SPDX 2.3 SBOM.
pub const SPDX_23: &str = "https://spdx.dev/Document/v2.3";
/// OpenVEX v0.2.0.
pub const OPENVEX: &str = "https://openvex.dev/ns/v0.2.0";
/// zt's vulnerability scan result.
pub const ZT_VULN_SCAN_V1: &str = "https://zt.dev/attestation/vuln-scan/v1";
/// zt's source verification result (commit signatures and secret scan).
pub const ZT_SOURCE_V1: &str = "https://zt.dev/attestation/source/v1";
/// zt's commit-signature verification of a git commit and its history (`zt source verify`).
pub const ZT_SOURCE_VERIFICATION_V1: &str = "https://zt.dev/attestation/source-verification/v1";
/// zt's dependency intake decision.
pub const ZT_INTAKE_V1: &str = "https://zt.dev/attestation/dependency-intake/v1";
/// zt's reproducibility verdict (rebuild and compare).
pub const ZT_REPRODUCIBLE_V1: &str = "https://zt.dev/attestation/reproducible/v1";
/// zt's dependency request and approval records.
pub const ZT_DEPENDENCY_REQUEST_V1: &str = "https://zt.dev/attestation/dependency-request/v1";
/// zt's key revocation: the revoked key is the subject (`sha256` = its key id), logged so that
/// the log position of the revocation is authenticated.
pub const ZT_KEY_REVOCATION_V1: &str = "https://zt.dev/attestation/key-revocation/v1";

/// zt's line and branch coverage of the tests (from lcov or Cobertura reports).
pub const ZT_COVERAGE_V1: &str = "https://zt.dev/attestation/coverage/v1";

/// All predicate types zt knows, for listings and validation of trust configuration.
pub const ALL: &[&str] = &[
    SLSA_PROVENANCE_V1,
    TEST_RESULT_V01,
    CYCLONEDX,
    SPDX_23,
    OPENVEX,
    ZT_VULN_SCAN_V1,
    ZT_SOURCE_V1,
    ZT_SOURCE_VERIFICATION_V1,
    ZT_INTAKE_V1,
    ZT_REPRODUCIBLE_V1,
    ZT_DEPENDENCY_REQUEST_V1,
    ZT_COVERAGE_V1,
    ZT_KEY_REVOCATION_V1,
];
