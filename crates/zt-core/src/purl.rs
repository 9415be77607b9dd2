//! Package URLs (purl, ECMA-427), the one package model below zt-deps and zt-vuln:
//! `pkg:type/namespace/name@version?qualifiers#subpath`. Parsing follows the specification's
//! algorithm (split from the right on `#`, `?`, `@`; percent-decoding per component; qualifier
//! keys lowercased and checked; empty qualifier values dropped), then applies the
//! type-specific normalisations (PyPI lowercases and maps `_` to `-`, several types lowercase
//! namespace and name). [`Purl::to_string`] gives the canonical form. [`pep503`] is the
//! Python package index's name normalisation, which identity comparisons of PyPI names use.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

/// A parsed package URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    /// The package type (`cargo`, `npm`, `pypi`, …), lowercase.
    pub ty: String,
    /// The namespace (`@scope`, a Maven group id, a Debian vendor), decoded.
    pub namespace: Option<String>,
    /// The name, decoded.
    pub name: String,
    /// The version, decoded.
    pub version: Option<String>,
    /// Qualifiers (`arch`, `distro`, …), keys lowercase, values decoded.
    pub qualifiers: BTreeMap<String, String>,
    /// A path inside the package, decoded.
    pub subpath: Option<String>,
}

/// A package URL that is not one: the input and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid package URL `{input}`: {reason}")]
pub struct PurlError {
    /// The text as given.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

impl crate::Diagnostic for PurlError {
    fn outcome(&self) -> crate::Outcome {
        crate::Outcome::InputError
    }

    fn help(&self) -> Option<String> {
        Some(
            "write the package as `pkg:TYPE/NAMESPACE/NAME@VERSION`, e.g. `pkg:cargo/serde@1.0.0`"
                .into(),
        )
    }
}

fn err(input: &str, reason: impl Into<String>) -> PurlError {
    PurlError {
        input: input.to_owned(),
        reason: reason.into(),
    }
}

fn decode(input: &str, s: &str) -> Result<String, PurlError> {
    // A `%` must start an escape: a stray one is not silently kept as a literal.
    let b = s.as_bytes();
    let hex = |i: usize| b.get(i).is_some_and(u8::is_ascii_hexdigit);
    if let Some(i) = (0..b.len()).find(|&i| b[i] == b'%' && !(hex(i + 1) && hex(i + 2))) {
        return Err(err(
            input,
            format!("`{s}` has a `%` at byte {i} that starts no escape"),
        ));
    }
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| err(input, format!("`{s}` does not percent-decode to UTF-8")))
}

fn valid_type(t: &str) -> bool {
    t.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-'))
}

fn valid_qualifier_key(k: &str) -> bool {
    k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

impl FromStr for Purl {
    type Err = PurlError;

    fn from_str(input: &str) -> Result<Self, PurlError> {
        let (rest, subpath) = match input.rsplit_once('#') {
            Some((r, s)) => {
                let segs: Vec<String> = s
                    .trim_matches('/')
                    .split('/')
                    .map(|p| decode(input, p))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter()
                    .filter(|p| !p.is_empty() && p != "." && p != "..")
                    .collect();
                (r, (!segs.is_empty()).then(|| segs.join("/")))
            }
            None => (input, None),
        };
        let (rest, qualifiers) = match rest.rsplit_once('?') {
            Some((r, q)) => {
                let mut map = BTreeMap::new();
                for pair in q.split('&').filter(|p| !p.is_empty()) {
                    let (k, v) = pair
                        .split_once('=')
                        .ok_or_else(|| err(input, format!("qualifier `{pair}` has no `=`")))?;
                    let k = k.to_ascii_lowercase();
                    if !valid_qualifier_key(&k) {
                        return Err(err(input, format!("invalid qualifier key `{k}`")));
                    }
                    let v = decode(input, v)?;
                    if v.is_empty() {
                        continue;
                    }
                    if map.insert(k.clone(), v).is_some() {
                        return Err(err(input, format!("qualifier `{k}` appears twice")));
                    }
                }
                (r, map)
            }
            None => (rest, BTreeMap::new()),
        };
        let (scheme, rest) = rest
            .split_once(':')
            .ok_or_else(|| err(input, "missing the `pkg:` scheme"))?;
        if !scheme.eq_ignore_ascii_case("pkg") {
            return Err(err(
                input,
                format!("the scheme must be `pkg`, not `{scheme}`"),
            ));
        }
        let rest = rest.trim_start_matches('/');
        let (ty, rest) = rest
            .split_once('/')
            .ok_or_else(|| err(input, "missing the type or the name"))?;
        let ty = ty.to_ascii_lowercase();
        if !valid_type(&ty) {
            return Err(err(input, format!("invalid type `{ty}`")));
        }
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let at = rest
            .get(last_slash..)
            .and_then(|tail| tail.rfind('@'))
            .map(|i| i + last_slash);
        let (rest, version) = match at {
            Some(i) => {
                let v = rest.get(i + 1..).unwrap_or_default();
                (
                    rest.get(..i).unwrap_or_default(),
                    if v.is_empty() {
                        None
                    } else {
                        Some(decode(input, v)?)
                    },
                )
            }
            None => (rest, None),
        };
        let (namespace, name) = match rest.rsplit_once('/') {
            Some((ns, n)) => (Some(ns), n),
            None => (None, rest),
        };
        let name = decode(input, name)?;
        if name.is_empty() {
            return Err(err(input, "the name is empty"));
        }
        let namespace = match namespace {
            Some(ns) => {
                let segs: Vec<String> = ns
                    .split('/')
                    .filter(|p| !p.is_empty())
                    .map(|p| decode(input, p))
                    .collect::<Result<_, _>>()?;
                if segs.iter().any(|s| s.contains('/')) {
                    return Err(err(input, "a namespace segment may not contain `/`"));
                }
                (!segs.is_empty()).then(|| segs.join("/"))
            }
            None => None,
        };
        let (namespace, name) = match (ty.as_str(), namespace) {
            // git: the namespace is the host, the name the repository path
            ("git", Some(ns)) if ns.contains('/') => {
                let (host, path) = ns.split_once('/').unwrap_or((&ns, ""));
                (Some(host.to_owned()), format!("{path}/{name}"))
            }
            (_, ns) => (ns, name),
        };
        let mut purl = Purl {
            ty,
            namespace,
            name,
            version,
            qualifiers,
            subpath,
        };
        purl.normalize().map_err(|r| err(input, r))?;
        Ok(purl)
    }
}

impl Purl {
    /// Parses strictly (ECMA-427's required rules): unlike [`str::parse`], which normalises
    /// common problems, qualifier keys must already be lowercase.
    pub fn parse_strict(input: &str) -> Result<Purl, PurlError> {
        if let Some((_, q)) = input.split('#').next().unwrap_or(input).rsplit_once('?')
            && let Some(k) = q
                .split('&')
                .filter_map(|p| p.split('=').next())
                .find(|k| k.chars().any(|c| c.is_ascii_uppercase()))
        {
            return Err(err(input, format!("qualifier key `{k}` is not lowercase")));
        }
        input.parse()
    }

    /// Builds a purl from components (as the `build` conformance tests do), normalising and
    /// validating them like a parse.
    pub fn from_parts(
        ty: &str,
        namespace: Option<&str>,
        name: &str,
        version: Option<&str>,
        qualifiers: BTreeMap<String, String>,
        subpath: Option<&str>,
    ) -> Result<Purl, PurlError> {
        let shown = format!(
            "{ty}/{}{name}",
            namespace.map(|n| format!("{n}/")).unwrap_or_default()
        );
        let ty = ty.to_ascii_lowercase();
        if !valid_type(&ty) {
            return Err(err(&shown, format!("invalid type `{ty}`")));
        }
        if name.is_empty() {
            return Err(err(&shown, "the name is empty"));
        }
        let mut q = BTreeMap::new();
        for (k, v) in qualifiers {
            let k = k.to_ascii_lowercase();
            if !valid_qualifier_key(&k) {
                return Err(err(&shown, format!("invalid qualifier key `{k}`")));
            }
            if !v.is_empty() {
                q.insert(k, v);
            }
        }
        let mut purl = Purl {
            ty,
            namespace: namespace
                .map(|n| n.trim_matches('/').to_owned())
                .filter(|n| !n.is_empty()),
            name: name.to_owned(),
            version: version.map(str::to_owned),
            qualifiers: q,
            subpath: subpath
                .map(|s| s.trim_matches('/').to_owned())
                .filter(|s| !s.is_empty()),
        };
        purl.normalize().map_err(|r| err(&shown, r))?;
        Ok(purl)
    }

    /// Type-specific normalisation and required-component checks.
    fn normalize(&mut self) -> Result<(), String> {
        let lower_ns = |p: &mut Purl| p.namespace = p.namespace.as_ref().map(|n| n.to_lowercase());
        match self.ty.as_str() {
            "pypi" => self.name = self.name.to_lowercase().replace('_', "-"),
            "alpm" | "apk" | "bitbucket" | "brew" | "composer" | "deb" | "git" | "github"
            | "hex" => {
                self.name = self.name.to_lowercase();
                lower_ns(self);
            }
            "qpkg" | "rpm" => lower_ns(self),
            "bitnami" | "pub" | "luarocks" | "oci" => self.name = self.name.to_lowercase(),
            "huggingface" => self.version = self.version.as_ref().map(|v| v.to_lowercase()),
            "mlflow"
                if self
                    .qualifiers
                    .get("repository_url")
                    .is_some_and(|u| u.contains("azuredatabricks.net")) =>
            {
                self.name = self.name.to_lowercase();
            }
            _ => {}
        }
        let needs_ns = ["maven", "swift", "vscode-extension"];
        let no_ns = ["otp", "vcpkg", "julia", "chrome-extension"];
        if needs_ns.contains(&self.ty.as_str()) && self.namespace.is_none() {
            return Err(format!("a {} purl needs a namespace", self.ty));
        }
        if no_ns.contains(&self.ty.as_str()) && self.namespace.is_some() {
            return Err(format!("a {} purl has no namespace", self.ty));
        }
        if matches!(self.ty.as_str(), "swift" | "cran") && self.version.is_none() {
            return Err(format!("a {} purl needs a version", self.ty));
        }
        if self.ty == "cpan" && self.name.contains("::") {
            return Err("a cpan purl names a distribution (`URI-PackageURL`), not a module (`URI::PackageURL`)".into());
        }
        if self.ty == "julia" && !self.qualifiers.contains_key("uuid") {
            return Err("a julia purl needs a `uuid` qualifier".into());
        }
        if self.ty == "chrome-extension" {
            if self.name.len() != 32 || !self.name.bytes().all(|c| (b'a'..=b'p').contains(&c)) {
                return Err("a chrome-extension id is 32 letters a-p".into());
            }
            if let Some(v) = &self.version {
                let parts: Vec<&str> = v.split('.').collect();
                if parts.len() > 4
                    || !parts
                        .iter()
                        .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
                {
                    return Err(
                        "a chrome-extension version is one to four dot-separated numbers".into(),
                    );
                }
            }
        }
        Ok(())
    }

    /// The package name as the OSV ecosystem writes it: `@scope/name` for npm, `group:artifact`
    /// for Maven, `namespace/name` for Go and Packagist, the bare name otherwise.
    pub fn osv_name(&self) -> String {
        match (self.ty.as_str(), &self.namespace) {
            ("maven", Some(ns)) => format!("{ns}:{}", self.name),
            ("npm" | "golang" | "composer", Some(ns)) => format!("{ns}/{}", self.name),
            _ => self.name.clone(),
        }
    }
}

/// Characters percent-encoded in purl components: everything but unreserved characters and
/// `:` (which the specification leaves as is).
const COMPONENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'!')
    .add(b'"')
    .add(b'#')
    .add(b'$')
    .add(b'%')
    .add(b'&')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b'*')
    .add(b'+')
    .add(b',')
    .add(b'/')
    .add(b';')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

impl fmt::Display for Purl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let enc = |s: &str| utf8_percent_encode(s, COMPONENT).to_string();
        write!(f, "pkg:{}/", self.ty)?;
        if let Some(ns) = &self.namespace {
            let segs: Vec<String> = ns.split('/').map(enc).collect();
            write!(f, "{}/", segs.join("/"))?;
        }
        if self.ty == "git" {
            let segs: Vec<String> = self.name.split('/').map(enc).collect();
            f.write_str(&segs.join("/"))?;
        } else {
            f.write_str(&enc(&self.name))?;
        }
        if let Some(v) = &self.version {
            write!(f, "@{}", enc(v))?;
        }
        if !self.qualifiers.is_empty() {
            let q: Vec<String> = self
                .qualifiers
                .iter()
                .map(|(k, v)| format!("{k}={}", enc(v)))
                .collect();
            write!(f, "?{}", q.join("&"))?;
        }
        if let Some(s) = &self.subpath {
            let segs: Vec<String> = s.split('/').map(enc).collect();
            write!(f, "#{}", segs.join("/"))?;
        }
        Ok(())
    }
}

/// The PEP 503 normalised name of a Python package: lower case, runs of `-`, `_` and `.`
/// replaced by one `-`, surrounding whitespace dropped. Two names are the same project when
/// their normalised forms are equal.
pub fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_scope_and_pypi_names() {
        let p: Purl = "pkg:npm/%40angular/core@1.0.0".parse().unwrap();
        assert_eq!(p.namespace.as_deref(), Some("@angular"));
        assert_eq!(p.osv_name(), "@angular/core");
        assert_eq!(p.to_string(), "pkg:npm/%40angular/core@1.0.0");
        let p: Purl = "pkg:pypi/Django_Rest@3.0".parse().unwrap();
        assert_eq!(p.name, "django-rest");
        assert!("serde@1.0".parse::<Purl>().is_err());
    }

    #[test]
    fn pep503_names() {
        assert_eq!(pep503("Zope.Interface"), "zope-interface");
        assert_eq!(pep503(" 3Web__Py "), "3web-py");
        assert_eq!(pep503("a-_.b"), "a-b");
        assert_eq!(pep503("requests"), "requests");
    }
}
