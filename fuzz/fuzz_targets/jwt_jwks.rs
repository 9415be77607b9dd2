//! The secrets broker's JOSE reader never panics: compact JWS parsing, JWKS parsing, and
//! verification of any parsed token under any parsed key, whatever the bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // The first byte splits the input into a token and a JWKS.
    let (cut, rest) = match data.split_first() {
        Some((c, r)) => (*c as usize, r),
        None => return,
    };
    let (token, jwks) = rest.split_at(cut.min(rest.len()) * rest.len() / 256);
    if let Ok(jws) = zt_secrets::jose::Jws::parse(token) {
        let _ = jws.check_times(1_700_000_000);
        let _ = jws.audience_matches(&["zt".to_string()]);
        if let Ok(set) = zt_secrets::jose::Jwks::parse(jwks) {
            for key in &set.keys {
                let _ = jws.verify(key);
            }
        }
    }
    let _ = zt_secrets::jose::Jwks::parse(data);
    let _ = zt_secrets::binding::Binding::parse(&String::from_utf8_lossy(data));
});
