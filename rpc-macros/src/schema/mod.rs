//! `#[derive(Schema)]`: the wire shape of a struct or an enum, read from
//! the same `#[serde(..)]` attributes serde reads.
//!
//! - `attr`: the serde and `#[schema(..)]` attributes of one item; `case`
//!   serde's `rename_all` rules.
//! - `ast`: the typed model, names as serde writes them.
//! - `check`: what a schema cannot describe, every error reported at once.
//! - `bounds`: `T: Schema` for the type parameters the fields use.
//! - `expand`: the `impl Schema`.

mod ast;
mod attr;
mod bounds;
mod case;
mod check;
mod expand;

use proc_macro2::TokenStream;
use syn::DeriveInput;

use crate::errors::Errors;

/// Parse, check, then expand; on errors, the errors and a placeholder impl,
/// so that code using the type reports nothing more.
pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let input = match syn::parse2::<DeriveInput>(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let container = ast::Container::parse(input, &mut errors);
    check::container(&container, &mut errors);
    if errors.is_empty() {
        expand::impl_schema(&container)
    } else {
        let placeholder = expand::placeholder(&container);
        let errors = errors.into_compile_errors();
        quote::quote!(#placeholder #errors)
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    /// The derive on `item`, formatted.
    fn expand(item: TokenStream) -> String {
        let tokens = derive(item);
        match syn::parse2::<syn::File>(tokens.clone()) {
            Ok(file) => prettyplease::unparse(&file),
            Err(error) => panic!("expansion does not parse ({error}): {tokens}"),
        }
    }

    /// The error messages of the derive on `item`.
    fn messages(item: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        let container = ast::Container::parse(syn::parse2(item).unwrap(), &mut errors);
        check::container(&container, &mut errors);
        errors.into_messages()
    }

    /// Named fields with docs, a rename, `rename_all`, a skipped field and
    /// a field described through `#[schema(as)]`.
    #[test]
    fn struct_with_serde_attributes() {
        insta::assert_snapshot!(expand(quote! {
            /// A user.
            #[serde(rename_all = "camelCase", deny_unknown_fields)]
            struct User {
                /// Their id.
                user_id: u64,
                #[serde(rename = "displayName", default)]
                name: String,
                #[serde(skip)]
                cache: Cache,
                #[serde(with = "serde_bytes")]
                #[schema(as = rpc::schema::RawBytes)]
                avatar: Vec<u8>,
            }
        }));
    }

    /// Every variant form, a skipped last variant, `rename_all` on the
    /// variants and `rename_all_fields` on the struct variants' fields.
    #[test]
    fn enum_of_every_variant_form() {
        insta::assert_snapshot!(expand(quote! {
            /// A shape.
            #[serde(rename_all = "snake_case", rename_all_fields = "camelCase")]
            enum Shape {
                /// Nothing.
                Empty,
                Circle(f64),
                Rect(f64, f64),
                Polygon { corner_points: Vec<(f64, f64)> },
                #[serde(skip)]
                Cached(Handle),
            }
        }));
    }

    /// Bounds on the type parameters the fields use, kept where clauses, a
    /// renamed crate; a unit struct; a tuple struct; a transparent struct.
    #[test]
    fn generics_crate_and_struct_forms() {
        let generic = expand(quote! {
            #[schema(crate = "my_lib::rpc")]
            struct Page<'a, T, M: Marker> where T: Clone {
                items: Vec<T>,
                cursor: Option<&'a str>,
                marker: PhantomData<M>,
            }
        });
        let unit = expand(quote!(
            struct Ping;
        ));
        let tuple = expand(quote!(
            struct Pair(i64, #[serde(skip)] u8, String);
        ));
        let transparent = expand(quote! {
            #[serde(transparent)]
            struct Meters<T> { value: T, #[serde(skip)] unit: Unit }
        });
        insta::assert_snapshot!(format!("{generic}\n{unit}\n{tuple}\n{transparent}"));
    }

    /// The errors and a placeholder impl.
    #[test]
    fn invalid_container() {
        insta::assert_snapshot!(expand(quote! {
            #[serde(tag = "type")]
            enum Event { Joined { id: u64 } }
        }));
    }

    #[test]
    fn every_refusal_says_what_to_write() {
        let found = messages(quote! {
            #[serde(tag = "t", content = "c", into = "Raw")]
            enum Bad {
                #[serde(skip)]
                Hidden,
                #[serde(untagged)]
                Loose(u8),
                Fields {
                    #[serde(flatten)]
                    extra: Extra,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    maybe: Option<u8>,
                    #[serde(skip_deserializing)]
                    one_way: u8,
                    #[serde(serialize_with = "write")]
                    custom: Custom,
                    #[serde(with = "serde_bytes")]
                    #[schema(as = rpc::schema::RawBytes)]
                    fine: Vec<u8>,
                },
                Newtype(#[serde(skip)] u8),
            }
        });
        let expected = [
            "postcard needs externally tagged enums: it writes the variant's index before its content; remove #[serde(tag)]",
            "postcard needs externally tagged enums: it writes the variant's index before its content; remove #[serde(tag, content)]",
            "#[serde(into)] writes the value with code the schema cannot see: add #[schema(as = T)] to the type, T being the type it converts through",
            "postcard needs externally tagged enums: it writes the variant's index before its content; remove #[serde(untagged)]",
            "postcard cannot encode #[serde(flatten)]: it makes serde write a map of unknown length; remove `flatten` and keep the struct as a field of its own",
            "postcard writes fields by position without names, so a field serde leaves out of some values shifts the rest: remove #[serde(skip_serializing_if)], or skip the field always with #[serde(skip)]",
            "postcard writes fields by position without names, so a field skipped one way only shifts the rest: skip it both ways with #[serde(skip)]",
            "#[serde(serialize_with)] writes the value with code the schema cannot see: add #[schema(as = T)] to the field, T being a type that serializes the same way (#[schema(as = rpc::schema::RawBytes)] for serde_bytes)",
            "serde does not skip the only field of a newtype: remove #[serde(skip)], or make it a unit",
            "serde writes a variant's declared position but reads its position among the variants it does not skip, so the variants after `Hidden` would come back as others: move the skipped variant after the last one that is not skipped",
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn transparent_needs_one_field_and_unions_are_refused() {
        assert_eq!(
            messages(quote!(
                #[serde(transparent)]
                struct Two(u8, u8);
            )),
            ["#[serde(transparent)] needs exactly one field that is not skipped"]
        );
        let union = messages(quote!(union Bits { a: u8, b: i8 }));
        assert!(
            union[0].contains("serde has no encoding for a union"),
            "{union:?}"
        );
    }

    #[test]
    fn as_on_the_container_excuses_its_conversions() {
        assert!(
            messages(quote! {
                #[serde(into = "String", try_from = "String")]
                #[schema(as = String)]
                struct Email(Inner);
            })
            .is_empty()
        );
    }
}
