//! `#[derive(Schema)]` names everything by absolute paths: it compiles
//! without the prelude, with serde attributes, generics and a renamed
//! crate path.

#![no_implicit_prelude]

extern crate rpc as my_rpc;

/// A tree.
#[derive(::serde::Serialize, ::rpc::Schema)]
#[allow(dead_code)] // reason: only described
enum Tree<T> {
    /// A leaf.
    Leaf(T),
    Node {
        #[serde(rename = "kids")]
        children: ::std::vec::Vec<Tree<T>>,
    },
    Empty,
}

#[derive(::rpc::Schema)]
#[schema(crate = "my_rpc")]
#[allow(dead_code)] // reason: only described
struct Pair(u8, ::std::string::String);

#[derive(::rpc::Schema)]
struct Unit;

fn main() {
    let mut types = ::rpc::schema::Types::new();
    types.describe::<Tree<Pair>>();
    types.describe::<Unit>();
}
