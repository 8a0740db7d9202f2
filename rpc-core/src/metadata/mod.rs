//! Reflection metadata: what a router serves, as `&'static` data the macro
//! emits and as owned data `discover()` decodes from a peer. One set of types
//! serves both through `Cow`. The type schemas (`schema`) are filled in when
//! a discover answer is made, from [`Router::schema`](crate::Router::schema),
//! and travel only to peers that agreed the `schemas` feature (`wire`).

mod wire;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::schema::{Definition, MethodSchema, RouterSchema};

pub(crate) use wire::{DiscoverAnswer, decode_described};

/// Describes one router: its name, docs and methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RouterInfo {
    /// Name of the router (the Rust type's name for macro-generated routers).
    pub name: Cow<'static, str>,
    /// Doc comment of the router.
    pub docs: Cow<'static, str>,
    /// Methods in declaration order; the index of a method here is the index
    /// [`Router::dispatch`](crate::Router::dispatch) receives.
    pub methods: Cow<'static, [MethodInfo]>,
    /// The named types (structs and enums) the methods' schemas refer to,
    /// sorted by name; empty when the router gave no schemas or the peer
    /// sent none.
    pub types: Vec<Definition>,
}

impl RouterInfo {
    /// Metadata of a router, usable in a `static`.
    pub const fn new(
        name: &'static str,
        docs: &'static str,
        methods: &'static [MethodInfo],
    ) -> Self {
        Self {
            name: Cow::Borrowed(name),
            docs: Cow::Borrowed(docs),
            methods: Cow::Borrowed(methods),
            types: Vec::new(),
        }
    }

    /// This metadata with `schema`'s types and method schemas filled in.
    pub(crate) fn with_schema(&self, schema: Option<&RouterSchema>) -> RouterInfo {
        let mut info = self.clone();
        if let Some(schema) = schema {
            info.types.clone_from(&schema.types);
            for (method, described) in info.methods.to_mut().iter_mut().zip(&schema.methods) {
                method.schema = Some(described.clone());
            }
        }
        info
    }

    /// The definition of a named type of this router's schemas.
    pub fn definition(&self, name: &str) -> Option<&Definition> {
        crate::schema::find_definition(&self.types, name)
    }
}

/// How a method is called. On the wire, the variant's index (a varint);
/// kinds may be added in later versions, so a kind this build does not know
/// decodes as [`MethodKind::Unknown`] instead of failing the whole
/// discover answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MethodKind {
    /// 0: request and reply.
    Call,
    /// 1: fire-and-forget: no reply is ever sent.
    Cast,
    /// 2: a stream: opened with `Open`, answered with items (server and
    /// bidirectional streams) or with one value (client streams).
    Stream,
    /// A kind added after this build, with its wire index.
    Unknown(u32),
}

const KIND_NAMES: [&str; 3] = ["Call", "Cast", "Stream"];

impl MethodKind {
    fn index(self) -> u32 {
        match self {
            MethodKind::Call => 0,
            MethodKind::Cast => 1,
            MethodKind::Stream => 2,
            MethodKind::Unknown(index) => index,
        }
    }
}

impl Serialize for MethodKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let index = self.index();
        let name = usize::try_from(index)
            .ok()
            .and_then(|i| KIND_NAMES.get(i))
            .copied()
            .unwrap_or("Unknown");
        serializer.serialize_unit_variant("MethodKind", index, name)
    }
}

impl<'de> Deserialize<'de> for MethodKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Kind;

        impl<'de> serde::de::Visitor<'de> for Kind {
            type Value = MethodKind;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a method kind")
            }

            fn visit_enum<A: serde::de::EnumAccess<'de>>(
                self,
                data: A,
            ) -> Result<MethodKind, A::Error> {
                use serde::de::VariantAccess;
                let (index, variant) = data.variant::<u32>()?;
                variant.unit_variant()?;
                Ok(match index {
                    0 => MethodKind::Call,
                    1 => MethodKind::Cast,
                    2 => MethodKind::Stream,
                    other => MethodKind::Unknown(other),
                })
            }
        }

        deserializer.deserialize_enum("MethodKind", &KIND_NAMES, Kind)
    }
}

/// Describes one method of a router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MethodInfo {
    /// Wire name, unique among every router mounted on one side.
    pub name: Cow<'static, str>,
    /// How it is called.
    pub kind: MethodKind,
    /// Wire parameters in order (injected context parameters are not listed).
    pub params: Cow<'static, [ParamInfo]>,
    /// Rust type name of the value a call returns (`()` for casts).
    pub returns: Cow<'static, str>,
    /// Doc comment of the method.
    pub docs: Cow<'static, str>,
    /// Server-side deadline in milliseconds, if the method sets one.
    pub timeout_ms: Option<u64>,
    /// The types of its arguments, answers, errors and stream items, with
    /// their hash; `None` when the router gave no schemas (a hand-written
    /// [`Router`](crate::Router) may not) or the peer sent none.
    pub schema: Option<MethodSchema>,
}

impl MethodInfo {
    /// Metadata of a method, usable in a `static`.
    pub const fn new(
        name: &'static str,
        kind: MethodKind,
        params: &'static [ParamInfo],
        returns: &'static str,
        docs: &'static str,
        timeout_ms: Option<u64>,
    ) -> Self {
        Self {
            name: Cow::Borrowed(name),
            kind,
            params: Cow::Borrowed(params),
            returns: Cow::Borrowed(returns),
            docs: Cow::Borrowed(docs),
            timeout_ms,
            schema: None,
        }
    }

    /// The method as Rust would declare it, from its schema when it has
    /// one (`add(a: i64, b: i64) -> Result<i64, DivError>`,
    /// `ticks(every_ms: u64) -> Stream<Item = Tick>`), else from the type
    /// names as written in the source.
    pub fn signature(&self) -> String {
        let Some(schema) = &self.schema else {
            let params: Vec<String> = self
                .params
                .iter()
                .map(|param| format!("{}: {}", param.name, param.ty))
                .collect();
            return format!("{}({}) -> {}", self.name, params.join(", "), self.returns);
        };
        let mut params: Vec<String> = self
            .params
            .iter()
            .zip(&schema.params)
            .map(|(param, ty)| format!("{}: {ty}", param.name))
            .collect();
        if let (Some(upload), Some(param)) = (&schema.upload, self.params.last()) {
            params.push(format!("{}: Incoming<{upload}>", param.name));
        }
        let answer = match (&schema.item, &schema.item_error) {
            (Some(item), Some(err)) => format!("Stream<Item = Result<{item}, {err}>>"),
            (Some(item), None) => format!("Stream<Item = {item}>"),
            (None, _) => schema.returns.to_string(),
        };
        let returns = match &schema.error {
            Some(err) => format!("Result<{answer}, {err}>"),
            None => answer,
        };
        format!("{}({}) -> {returns}", self.name, params.join(", "))
    }
}

/// Describes one wire parameter of a method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ParamInfo {
    /// Parameter name as written in the source.
    pub name: Cow<'static, str>,
    /// Rust type as written in the source.
    pub ty: Cow<'static, str>,
}

impl ParamInfo {
    /// Metadata of a parameter, usable in a `static`.
    pub const fn new(name: &'static str, ty: &'static str) -> Self {
        Self {
            name: Cow::Borrowed(name),
            ty: Cow::Borrowed(ty),
        }
    }
}

/// A router compiled into this program, registered with `inventory` by the
/// `#[rpc::router]` macro.
#[derive(Debug)]
pub struct RegisteredRouter {
    info: &'static RouterInfo,
}

impl RegisteredRouter {
    /// Wraps a router's metadata for registration.
    pub const fn new(info: &'static RouterInfo) -> Self {
        Self { info }
    }

    /// The router's metadata.
    pub fn info(&self) -> &'static RouterInfo {
        self.info
    }
}

inventory::collect!(RegisteredRouter);

/// Every router compiled into this program, mounted or not, in no
/// particular order.
pub fn routers() -> impl Iterator<Item = &'static RouterInfo> {
    inventory::iter::<RegisteredRouter>
        .into_iter()
        .map(RegisteredRouter::info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_keep_their_wire_index_and_unknown_ones_decode() {
        for kind in [MethodKind::Call, MethodKind::Cast, MethodKind::Stream] {
            let bytes = postcard::to_allocvec(&kind).unwrap();
            assert_eq!(bytes, [u8::try_from(kind.index()).unwrap()]);
            assert_eq!(postcard::from_bytes::<MethodKind>(&bytes).unwrap(), kind);
        }
        let newer: MethodKind = postcard::from_bytes(&[7]).unwrap();
        assert_eq!(newer, MethodKind::Unknown(7));
        assert_eq!(postcard::to_allocvec(&newer).unwrap(), [7]);
    }
}
