//! Pinning checks (placeholder filled in a later commit).
