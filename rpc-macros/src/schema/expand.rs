//! The `impl Schema` of a checked container. Every name goes through
//! `::rpc::__private` (or `#[schema(crate = "...")]`), so the impl compiles
//! under `#![no_implicit_prelude]`:
//!
//! ```text
//! impl<T> Schema for Page<T> where T: Schema {
//!     fn describe(types: &mut Types) -> Type {
//!         types.named::<Self>("docs", |types| Shape::Struct(vec![
//!             Field::new("items", "docs", <Vec<T> as Schema>::describe(types)),
//!         ]))
//!     }
//! }
//! ```
//!
//! A transparent struct or a `#[schema(as = T)]` container describes as
//! the inner type, with no definition of its own.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{LitStr, spanned::Spanned};

use super::{
    ast::{Container, Data, Field, Style, Variant},
    bounds,
};

/// Paths the generated code names things by.
struct Paths {
    /// `::rpc::__private::rpc_core::schema`.
    schema: TokenStream,
    /// `::rpc::__private`.
    private: TokenStream,
}

/// The impl of a container that passed every check.
pub(crate) fn impl_schema(container: &Container) -> TokenStream {
    let paths = Paths {
        schema: container.schema_path(),
        private: container.private_path(),
    };
    let (body, described) = body(container, &paths);
    impl_block(container, &paths.schema, &body, described)
}

/// What an invalid container gets next to its errors: an impl with the
/// right signature, so that uses of the type report nothing more.
pub(crate) fn placeholder(container: &Container) -> TokenStream {
    let schema = container.schema_path();
    let body = quote! {
        let _ = types;
        #schema::Type::Unit
    };
    impl_block(container, &schema, &body, Vec::new())
}

fn impl_block(
    container: &Container,
    schema: &TokenStream,
    body: &TokenStream,
    described: Vec<&syn::Type>,
) -> TokenStream {
    let ident = &container.ident;
    let generics = bounds::with_bounds(&container.generics, described, schema);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #schema::Schema for #ident #ty_generics #where_clause {
            fn describe(types: &mut #schema::Types) -> #schema::Type {
                #body
            }
        }
    }
}

/// The body of `describe`, and the types it describes (for the bounds).
fn body<'a>(container: &'a Container, paths: &Paths) -> (TokenStream, Vec<&'a syn::Type>) {
    if let Some(as_type) = &container.attrs.as_type {
        return (describe(as_type, &paths.schema), vec![as_type]);
    }
    if container.attrs.transparent.is_some()
        && let Data::Struct(_, fields) = &container.data
        && let Some(field) = fields.iter().find(|field| !field.attrs.skipped())
    {
        let ty = described_type(field);
        return (describe(ty, &paths.schema), vec![ty]);
    }
    let schema = &paths.schema;
    let (shape, described) = match &container.data {
        Data::Struct(style, fields) => struct_shape(*style, fields, paths),
        Data::Enum(variants) => enum_shape(variants, paths),
        // Refused by the checks; never expanded.
        Data::Union(_) => (quote!(#schema::Shape::UnitStruct), Vec::new()),
    };
    let docs = LitStr::new(&container.attrs.docs, container.ident.span());
    // The closure's table is unused when nothing inside is described.
    let param = if described.is_empty() {
        quote!(_)
    } else {
        quote!(types)
    };
    (
        quote!(types.named::<Self>(#docs, |#param| #shape)),
        described,
    )
}

/// `<Ty as Schema>::describe(types)`, spanned at the user's type so that
/// a type missing `Schema` is reported there.
fn describe(ty: &syn::Type, schema: &TokenStream) -> TokenStream {
    let call = quote_spanned!(ty.span()=> <#ty as #schema::Schema>::describe);
    quote!(#call(types))
}

/// The type a field is described as: its own, or `#[schema(as = ..)]`'s.
fn described_type(field: &Field) -> &syn::Type {
    field.attrs.as_type.as_ref().unwrap_or(&field.ty)
}

fn struct_shape<'a>(
    style: Style,
    fields: &'a [Field],
    paths: &Paths,
) -> (TokenStream, Vec<&'a syn::Type>) {
    let Paths { schema, private } = paths;
    let (content, described) = content(style, fields, paths);
    let shape = match (style, content) {
        (Style::Unit, _) => quote!(#schema::Shape::UnitStruct),
        (Style::Newtype, Content::One(ty)) => quote!(#schema::Shape::Newtype(#ty)),
        (Style::Struct, Content::Many(items)) => {
            let list = list(private, &items);
            quote!(#schema::Shape::Struct(#list))
        }
        (_, Content::Many(items)) => {
            let list = list(private, &items);
            quote!(#schema::Shape::TupleStruct(#list))
        }
        (_, Content::One(ty)) => {
            let list = list(private, &[ty]);
            quote!(#schema::Shape::TupleStruct(#list))
        }
    };
    (shape, described)
}

fn enum_shape<'a>(variants: &'a [Variant], paths: &Paths) -> (TokenStream, Vec<&'a syn::Type>) {
    let Paths { schema, private } = paths;
    let mut described = Vec::new();
    let mut items = Vec::new();
    for variant in variants.iter().filter(|variant| !variant.attrs.skipped()) {
        let shape = if let Some(as_type) = &variant.attrs.as_type {
            described.push(as_type);
            let ty = describe(as_type, schema);
            quote!(#schema::VariantShape::Newtype(#ty))
        } else {
            let (content, inner) = content(variant.style, &variant.fields, paths);
            described.extend(inner);
            match (variant.style, content) {
                (Style::Unit, _) => quote!(#schema::VariantShape::Unit),
                (Style::Newtype, Content::One(ty)) => quote!(#schema::VariantShape::Newtype(#ty)),
                (Style::Struct, Content::Many(items)) => {
                    let list = list(private, &items);
                    quote!(#schema::VariantShape::Struct(#list))
                }
                (_, Content::Many(items)) => {
                    let list = list(private, &items);
                    quote!(#schema::VariantShape::Tuple(#list))
                }
                (_, Content::One(ty)) => {
                    let list = list(private, &[ty]);
                    quote!(#schema::VariantShape::Tuple(#list))
                }
            }
        };
        let name = LitStr::new(&variant.name, variant.ident.span());
        let docs = LitStr::new(&variant.attrs.docs, variant.ident.span());
        let index = variant.index;
        items.push(quote!(#schema::Variant::new(#name, #docs, #index, #shape)));
    }
    let list = list(private, &items);
    (quote!(#schema::Shape::Enum(#list)), described)
}

/// A `Vec` of `items`, built with `<[_]>::into_vec`: an inherent method, so
/// it needs no prelude in the user's module, and prettyplease formats it
/// (it leaves a `vec![..]` as written).
fn list(private: &TokenStream, items: &[TokenStream]) -> TokenStream {
    quote!(<[_]>::into_vec(#private::Box::new([#(#items),*])))
}

/// The described fields of a struct or a variant.
enum Content {
    /// A newtype's one field.
    One(TokenStream),
    /// `Field::new(..)`s of named fields, types of unnamed ones.
    Many(Vec<TokenStream>),
}

fn content<'a>(style: Style, fields: &'a [Field], paths: &Paths) -> (Content, Vec<&'a syn::Type>) {
    let schema = &paths.schema;
    let fields: Vec<&Field> = fields
        .iter()
        .filter(|field| !field.attrs.skipped())
        .collect();
    let described: Vec<&syn::Type> = fields.iter().map(|field| described_type(field)).collect();
    let content = match (style, fields.as_slice()) {
        (Style::Newtype, [field]) => Content::One(describe(described_type(field), schema)),
        (Style::Struct, _) => Content::Many(
            fields
                .iter()
                .map(|field| {
                    let name = LitStr::new(&field.name, field.span);
                    let docs = LitStr::new(&field.attrs.docs, field.span);
                    let ty = describe(described_type(field), schema);
                    quote!(#schema::Field::new(#name, #docs, #ty))
                })
                .collect(),
        ),
        _ => Content::Many(
            fields
                .iter()
                .map(|field| describe(described_type(field), schema))
                .collect(),
        ),
    };
    (content, described)
}
