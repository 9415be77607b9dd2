//! The erasing forms of Verus's annotation macros, as `verus_builtin_macros` expands them when
//! the verifier is not running (`cfg_erase()` is `EraseGhost::EraseAll`): specifications and
//! verifier attributes leave their item unchanged, proof code expands to nothing. See
//! `crates/vstd/src/lib.rs` for why zt builds these instead of Verus's crates.
#![forbid(unsafe_code)]

use proc_macro::TokenStream;

/// `#[verus_verify(...)]`: verifier options (`external_body`, `external_derive`, …) on an item;
/// the item is unchanged outside verification.
#[proc_macro_attribute]
pub fn verus_verify(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// `#[verus_spec(...)]`: a function's or loop's `requires`/`ensures`/`invariant`; the item is
/// unchanged outside verification.
#[proc_macro_attribute]
pub fn verus_spec(_spec: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// `proof! { ... }`: a block of ghost code, erased.
#[proc_macro]
pub fn proof(_ghost: TokenStream) -> TokenStream {
    TokenStream::new()
}

/// `proof_with!(...)`: ghost arguments for the next call, erased.
#[proc_macro]
pub fn proof_with(_ghost: TokenStream) -> TokenStream {
    TokenStream::new()
}

/// `proof_decl! { ... }`: ghost declarations, erased.
#[proc_macro]
pub fn proof_decl(_ghost: TokenStream) -> TokenStream {
    TokenStream::new()
}
