#![allow(clippy::unwrap_used, clippy::print_stdout)]
//! temporary
fn main() {
    let p = std::env::args().nth(1).unwrap();
    let f = std::env::args().nth(2).unwrap();
    let fmt = if f == "pnpm" { zt_deps::lockfile::Format::PnpmLock } else { zt_deps::lockfile::Format::YarnLock };
    let (_, pk) = zt_deps::read_lockfile_as(std::path::Path::new(&p), fmt).unwrap();
    for x in pk { println!("{} line={:?} dev={} src={:?} hashes={:?} deps={:?}", x.purl, x.line, x.dev, x.source, x.hashes.iter().map(|h| format!("{}:{}", h.algorithm, &h.value[..12.min(h.value.len())])).collect::<Vec<_>>(), x.dependencies); }
}
