//! The forms regorus 0.14's `number.rs` uses, erased as Verus erases them outside verification:
//! items keep their meaning, specifications and proof blocks (which hold Verus-only syntax such
//! as `==>`, `forall|i: int|`, `by (nonlinear_arith)`) vanish. A macro that kept any of it would
//! not compile here; one that dropped or changed an item would fail an assertion.
#![allow(missing_docs)]

use std::cmp::Ordering;
use vstd::prelude::*;

#[verus_verify]
const SAFE_INTEGER: f64 = 9_007_199_254_740_992.0;

#[verus_verify]
#[verus_verify(external_derive)]
#[derive(Clone, Debug, PartialEq)]
enum Number {
    Int(i64),
    Float(f64),
}

#[verus_verify]
impl Number {
    #[verus_spec(result =>
        ensures
            result@ == NumberView::Integer(value as int),
    )]
    fn from_i128(value: i128) -> Self {
        proof! {
            assert(forall|i: int| 0 <= i < 5 ==> i * i >= 0) by (nonlinear_arith);
            lemma_integer_cmp_values(value as int, 0int);
        }
        match i64::try_from(value) {
            Ok(i) => Number::Int(i),
            Err(_) => Number::Float(value as f64),
        }
    }

    #[verus_verify(external_body)]
    #[verus_spec(ensures true)]
    fn as_f64(&self) -> f64 {
        proof_with!(Ghost(0int));
        match self {
            Number::Int(i) => *i as f64,
            Number::Float(f) => *f,
        }
    }
}

#[verus_spec(result =>
    requires lhs@ < i64::MAX,
    ensures result == lhs.cmp(&rhs),
)]
fn compare(lhs: i64, rhs: i64) -> Ordering {
    proof_decl! {
        let ghost g: int = lhs as int;
    }
    lhs.cmp(&rhs)
}

#[test]
fn annotated_items_keep_their_meaning() {
    assert_eq!(SAFE_INTEGER, 2f64.powi(53));
    assert_eq!(Number::from_i128(-7), Number::Int(-7));
    assert_eq!(Number::from_i128(i128::MAX).as_f64(), i128::MAX as f64);
    assert_eq!(Number::Int(3).clone().as_f64(), 3.0);
    assert_eq!(compare(1, 2), Ordering::Less);
}

fn only_proof() -> u8 {
    proof! {
        return 1;
    }
    0
}

#[test]
fn proof_blocks_expand_to_nothing() {
    // Kept, the block would return 1.
    assert_eq!(only_proof(), 0);
}
