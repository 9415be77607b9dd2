//! A build record's facts read straight from its JSON text ([`super::BuildFacts::from_json`]):
//! only the fields the watch uses are kept, the rest of the document is checked and dropped,
//! never built into a `serde_json::Value`. Each field is taken as `Value::pointer` and
//! `Value::as_str` / `as_u64` / `as_array` would take it from the parsed document: a field of
//! another type reads as absent, a key given twice counts once with its last value, and text
//! that is not JSON (as `serde_json::from_str::<Value>` judges it: every string and number of
//! the document is parsed, not only skipped) is an error.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Any JSON value, parsed as `Value` would parse it (so that what `Value` refuses is
/// refused) and dropped.
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_unit<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_none<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Skip, D::Error> {
        Skip::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

/// Defines a visitor for one lenient JSON type: the value when the JSON has the expected
/// type (given by the listed `visit_*` methods), `Default` otherwise, its contents skipped.
macro_rules! lenient {
    ($name:ident, $visitor:ident, $what:literal, { $($visit:item)* }) => {
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any($visitor)
            }
        }

        struct $visitor;

        impl<'de> Visitor<'de> for $visitor {
            type Value = $name;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str($what)
            }

            $($visit)*

            fn visit_bool<E>(self, _: bool) -> Result<$name, E> {
                Ok($name::default())
            }

            fn visit_unit<E>(self) -> Result<$name, E> {
                Ok($name::default())
            }

            fn visit_none<E>(self) -> Result<$name, E> {
                Ok($name::default())
            }
        }
    };
}

/// A string (`Value::as_str`); anything else reads as `None`.
#[derive(Default)]
pub(super) struct Str(pub(super) Option<String>);

lenient!(Str, StrVisitor, "a string", {
    fn visit_str<E>(self, v: &str) -> Result<Str, E> {
        Ok(Str(Some(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Str, E> {
        Ok(Str(Some(v)))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Str, E> {
        Ok(Str(None))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Str, E> {
        Ok(Str(None))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Str, E> {
        Ok(Str(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Str, A::Error> {
        SkipVisitor.visit_seq(seq).map(|_| Str(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Str, A::Error> {
        SkipVisitor.visit_map(map).map(|_| Str(None))
    }
});

/// A non-negative integer (`Value::as_u64`); anything else (a negative number, a float)
/// reads as `None`.
#[derive(Default)]
pub(super) struct U64(pub(super) Option<u64>);

lenient!(U64, U64Visitor, "a non-negative integer", {
    fn visit_u64<E>(self, v: u64) -> Result<U64, E> {
        Ok(U64(Some(v)))
    }

    // `Value` keeps a non-negative i64 as a positive integer (`as_u64` gives it).
    fn visit_i64<E>(self, v: i64) -> Result<U64, E> {
        Ok(U64(u64::try_from(v).ok()))
    }

    fn visit_f64<E>(self, _: f64) -> Result<U64, E> {
        Ok(U64(None))
    }

    fn visit_str<E>(self, _: &str) -> Result<U64, E> {
        Ok(U64(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<U64, A::Error> {
        SkipVisitor.visit_seq(seq).map(|_| U64(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<U64, A::Error> {
        SkipVisitor.visit_map(map).map(|_| U64(None))
    }
});

/// An array (`Value::as_array`), each element read as `T`; anything else reads as empty.
pub(super) struct List<T>(pub(super) Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ListVisitor(PhantomData))
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = List<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(x) = seq.next_element()? {
            out.push(x);
        }
        Ok(List(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<List<T>, A::Error> {
        SkipVisitor.visit_map(map).map(|_| List::default())
    }

    fn visit_bool<E>(self, _: bool) -> Result<List<T>, E> {
        Ok(List::default())
    }

    fn visit_i64<E>(self, _: i64) -> Result<List<T>, E> {
        Ok(List::default())
    }

    fn visit_u64<E>(self, _: u64) -> Result<List<T>, E> {
        Ok(List::default())
    }

    fn visit_f64<E>(self, _: f64) -> Result<List<T>, E> {
        Ok(List::default())
    }

    fn visit_str<E>(self, _: &str) -> Result<List<T>, E> {
        Ok(List::default())
    }

    fn visit_unit<E>(self) -> Result<List<T>, E> {
        Ok(List::default())
    }

    fn visit_none<E>(self) -> Result<List<T>, E> {
        Ok(List::default())
    }
}

/// The members of an object the watch reads: their keys, and how each is read.
pub(super) trait Fields: Default {
    /// The keys, in the order [`Fields::read`] numbers them.
    const KEYS: &'static [&'static str];

    /// Reads the value of key `KEYS[i]` from `map` (a later value of the same key replaces
    /// an earlier one, as in a parsed document).
    fn read<'de, A: MapAccess<'de>>(&mut self, i: usize, map: &mut A) -> Result<(), A::Error>;
}

/// An object (`Value::get` on each of `T`'s keys); anything else reads as `T::default()`.
#[derive(Default)]
pub(super) struct Obj<T>(pub(super) T);

impl<'de, T: Fields> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ObjVisitor(PhantomData))
    }
}

struct ObjVisitor<T>(PhantomData<T>);

impl<'de, T: Fields> Visitor<'de> for ObjVisitor<T> {
    type Value = Obj<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Obj<T>, A::Error> {
        let mut out = T::default();
        while let Some(key) = map.next_key_seed(Key(T::KEYS))? {
            match key {
                Some(i) => out.read(i, &mut map)?,
                None => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(Obj(out))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Obj<T>, A::Error> {
        SkipVisitor.visit_seq(seq).map(|_| Obj(T::default()))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Obj<T>, E> {
        Ok(Obj(T::default()))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Obj<T>, E> {
        Ok(Obj(T::default()))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Obj<T>, E> {
        Ok(Obj(T::default()))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Obj<T>, E> {
        Ok(Obj(T::default()))
    }

    fn visit_str<E>(self, _: &str) -> Result<Obj<T>, E> {
        Ok(Obj(T::default()))
    }

    fn visit_unit<E>(self) -> Result<Obj<T>, E> {
        Ok(Obj(T::default()))
    }

    fn visit_none<E>(self) -> Result<Obj<T>, E> {
        Ok(Obj(T::default()))
    }
}

/// An object key: its place in the keys read, `None` for any other key.
struct Key(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|k| *k == v))
    }
}

/// Declares the objects of a build record the watch reads: `Name { field: Type = "key", … }`.
macro_rules! fields {
    ($(#[$doc:meta] $name:ident { $($field:ident: $ty:ty = $key:literal),* $(,)? })*) => {$(
        #[$doc]
        #[derive(Default)]
        pub(super) struct $name {
            $(pub(super) $field: $ty,)*
        }

        impl Fields for $name {
            const KEYS: &'static [&'static str] = &[$($key),*];

            fn read<'de, A: MapAccess<'de>>(
                &mut self,
                i: usize,
                map: &mut A,
            ) -> Result<(), A::Error> {
                let mut n = 0;
                $(
                    if i == n {
                        self.$field = map.next_value()?;
                        return Ok(());
                    }
                    n += 1;
                )*
                let _ = n;
                map.next_value::<Skip>().map(|_| ())
            }
        }
    )*};
}

fields! {
    /// The record: the provenance predicate with the `ztWatch` object.
    Record {
        build_definition: Obj<BuildDefinition> = "buildDefinition",
        zt_watch: Obj<ZtWatch> = "ztWatch",
    }
    /// `buildDefinition`.
    BuildDefinition {
        external: Obj<External> = "externalParameters",
        internal: Obj<Internal> = "internalParameters",
        dependencies: List<Obj<Dependency>> = "resolvedDependencies",
    }
    /// `buildDefinition.externalParameters`.
    External {
        command: List<Str> = "command",
        source: Str = "source",
    }
    /// `buildDefinition.internalParameters`.
    Internal {
        behaviour: Obj<Behaviour> = "behaviour",
    }
    /// The sandbox's behaviour record.
    Behaviour {
        duration_ms: U64 = "durationMs",
        executed: List<Obj<Executed>> = "executed",
        network: List<Obj<Connection>> = "network",
        writes: List<Str> = "writes",
    }
    /// One program executed.
    Executed {
        path: Str = "path",
        digest: Str = "digest",
    }
    /// One network attempt.
    Connection {
        address: Str = "address",
        port: U64 = "port",
        program: Str = "program",
    }
    /// One resolved dependency.
    Dependency {
        uri: Str = "uri",
        name: Str = "name",
    }
    /// The `ztWatch` object.
    ZtWatch {
        repository: Str = "repository",
        signer_key: Str = "signerKey",
        commit: Str = "commit",
        author: Str = "author",
        committer: Str = "committer",
        commit_key: Str = "commitKey",
        recorded_ns: U64 = "recordedNs",
    }
}

/// The record's fields the watch reads, from its JSON text.
pub(super) fn record(text: &str) -> Result<Record, serde_json::Error> {
    serde_json::from_str::<Obj<Record>>(text).map(|r| r.0)
}
