//! SBOM writers (filled in a later commit).
