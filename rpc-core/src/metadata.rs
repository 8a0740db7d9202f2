//! Reflection metadata: what a router serves, as `&'static` data the macro
//! emits and as owned data `discover()` decodes from a peer. One set of types
//! serves both through `Cow`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

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
        }
    }
}

/// How a method is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MethodKind {
    /// Request and reply.
    Call,
    /// Fire-and-forget: no reply is ever sent.
    Cast,
    /// A stream: opened with `Open`, answered with items (server and
    /// bidirectional streams) or with one value (client streams).
    Stream,
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
        }
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
