//! CVSS v3.0, v3.1 and v4.0 scores and qualitative severity. Score arithmetic comes from the
//! `cvss` crate (FIRST's formulas; v4.0 with the macro-vector table and interpolation), which
//! agrees with every vector in `shared/testdata/cvss/`; zt adds the checks the crate leaves
//! out (every mandatory base metric present) and the severity scale used for triage.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// The qualitative severity rating (the same scale for v3.x and v4.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// 0.0
    None,
    /// 0.1–3.9
    Low,
    /// 4.0–6.9
    Medium,
    /// 7.0–8.9
    High,
    /// 9.0–10.0
    Critical,
}

impl Severity {
    /// The rating of a score.
    pub fn from_score(score: f64) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else if score > 0.0 {
            Severity::Low
        } else {
            Severity::None
        }
    }

    /// The name as CVSS writes it (`Critical`).
    pub fn name(self) -> &'static str {
        match self {
            Severity::None => "None",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Severity::None),
            "low" => Ok(Severity::Low),
            "medium" | "moderate" => Ok(Severity::Medium),
            "high" | "important" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(format!(
                "unknown severity `{s}` (none, low, medium, high, critical)"
            )),
        }
    }
}

/// A scored CVSS vector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CvssScore {
    /// `3.0`, `3.1` or `4.0`.
    pub version: &'static str,
    /// For v3.x the base score; for v4.0 the score from every metric the vector carries
    /// (CVSS-B, -BT, -BE or -BTE).
    pub score: f64,
    /// The rating of `score`.
    pub severity: Severity,
}

const V3_MANDATORY: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
const V4_MANDATORY: [&str; 11] = [
    "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
];

/// Scores a CVSS v3.0, v3.1 or v4.0 vector string.
pub fn score(vector: &str) -> Result<CvssScore, Error> {
    let bad = |reason: String| Error::Cvss {
        vector: vector.to_owned(),
        reason,
    };
    let (version, mandatory): (&'static str, &[&str]) = if vector.starts_with("CVSS:3.0/") {
        ("3.0", &V3_MANDATORY)
    } else if vector.starts_with("CVSS:3.1/") {
        ("3.1", &V3_MANDATORY)
    } else if vector.starts_with("CVSS:4.0/") {
        ("4.0", &V4_MANDATORY)
    } else {
        return Err(bad(
            "a vector must start with `CVSS:3.0/`, `CVSS:3.1/` or `CVSS:4.0/`".into(),
        ));
    };
    let mut seen: Vec<&str> = Vec::new();
    for part in vector.split('/').skip(1) {
        let Some((key, value)) = part.split_once(':') else {
            return Err(bad(format!("metric `{part}` has no `:`")));
        };
        if key.is_empty() || value.is_empty() {
            return Err(bad(format!("metric `{part}` is empty")));
        }
        if seen.contains(&key) {
            return Err(bad(format!("metric `{key}` appears twice")));
        }
        seen.push(key);
    }
    if let Some(missing) = mandatory.iter().find(|m| !seen.contains(m)) {
        return Err(bad(format!("mandatory base metric `{missing}` is missing")));
    }
    let score = if version == "4.0" {
        cvss::v4::Vector::from_str(vector)
            .map_err(|e| bad(e.to_string()))?
            .score()
            .value()
    } else {
        cvss::v3::Vector::from_str(vector)
            .map_err(|e| bad(e.to_string()))?
            .score()
            .value()
    };
    Ok(CvssScore {
        version,
        score,
        severity: Severity::from_score(score),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_and_rejects() {
        let s = score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap();
        assert_eq!((s.score, s.severity), (9.8, Severity::Critical));
        assert!(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H").is_err());
        assert!(score("AV:N/AC:L/Au:N/C:P/I:P/A:P").is_err());
        assert_eq!("moderate".parse::<Severity>(), Ok(Severity::Medium));
    }
}
