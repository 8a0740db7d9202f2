//! Procedural macros of the `rpc` crate. This crate is an implementation
//! detail: depend on `rpc`, whose re-exports carry the documentation.
//!
//! # Layout
//!
//! - `ast`: the typed model of an `#[rpc::router]` impl block or an
//!   `#[rpc::service]` trait, parsed from syn's tree, streams included;
//!   `attr` parses the `#[rpc::call(..)]` (`cast`, `stream`) options, and
//!   `options` those of `#[rpc::router(..)]` and `#[rpc::service(..)]`.
//! - `check`: cross-cutting checks on the model (the item's shape,
//!   receivers, async-ness, generics, wire types, duplicate names), all
//!   errors reported together.
//! - `expand`: code generation, one module per output: `dispatch` (the
//!   `Router` impl), `client` (the typed stub), `metadata` (statics and
//!   `inventory` registration), `bounds` (trait checks that point at the
//!   user's types), `service` (a service's trait and its generic router).
//! - `schema`: `#[derive(Schema)]`, its own parse, check and expand
//!   passes over a struct or an enum and its serde attributes.
//! - `errors`: the error accumulator the passes share.

mod ast;
mod attr;
mod check;
mod errors;
mod expand;
mod names;
mod options;
mod schema;

use proc_macro::TokenStream;

/// Turns an inherent impl block into a router; see the `rpc` crate.
#[proc_macro_attribute]
pub fn router(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::router(args.into(), input.into()).into()
}

/// Turns a trait into a service: a client stub, and a router serving any
/// implementation; see the `rpc` crate.
#[proc_macro_attribute]
pub fn service(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::service(args.into(), input.into()).into()
}

/// Marks a router method that answers; see the `rpc` crate.
#[proc_macro_attribute]
pub fn call(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::misplaced(attr::Kind::Call, args.into(), input.into()).into()
}

/// Marks a router method that never answers; see the `rpc` crate.
#[proc_macro_attribute]
pub fn cast(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::misplaced(attr::Kind::Cast, args.into(), input.into()).into()
}

/// Marks a router method that streams answers, uploads or both; see the
/// `rpc` crate.
#[proc_macro_attribute]
pub fn stream(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::misplaced(attr::Kind::Stream, args.into(), input.into()).into()
}

/// Describes a struct's or an enum's wire shape, reading its serde
/// attributes; see the `rpc` crate.
#[proc_macro_derive(Schema, attributes(schema))]
pub fn derive_schema(input: TokenStream) -> TokenStream {
    schema::derive(input.into()).into()
}
