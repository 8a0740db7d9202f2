//! `--type`: a type in Rust syntax (`Option<(i64, String)>`, `[u8; 4]`,
//! `HashMap<String, i64>`, `Tick`), parsed with syn and mapped to the
//! schema [`Type`] it has on the wire. Named types are the server's, as its
//! discover answer lists them.

use rpc_core::schema::{Definition, Type, find_definition};
use syn::{GenericArgument, PathArguments};

/// Parses `text` as a Rust type; `types` are the named types it may refer
/// to, sorted by name.
pub(crate) fn parse(text: &str, types: &[Definition]) -> Result<Type, String> {
    let ty = syn::parse_str::<syn::Type>(text)
        .map_err(|err| format!("`{text}` is not a Rust type: {err}"))?;
    map(&ty, types)
}

fn map(ty: &syn::Type, types: &[Definition]) -> Result<Type, String> {
    match ty {
        syn::Type::Paren(inner) => map(&inner.elem, types),
        syn::Type::Group(inner) => map(&inner.elem, types),
        syn::Type::Reference(reference) => map(&reference.elem, types),
        syn::Type::Tuple(tuple) if tuple.elems.is_empty() => Ok(Type::Unit),
        syn::Type::Tuple(tuple) => tuple
            .elems
            .iter()
            .map(|elem| map(elem, types))
            .collect::<Result<_, _>>()
            .map(Type::Tuple),
        syn::Type::Slice(slice) => Ok(Type::Seq(Box::new(map(&slice.elem, types)?))),
        syn::Type::Array(array) => {
            let len = match &array.len {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Int(len),
                    ..
                }) => len.base10_parse::<u32>().map_err(|err| err.to_string())?,
                _ => return Err(format!("the length of `{}` is not a number", written(ty))),
            };
            Ok(Type::Array {
                item: Box::new(map(&array.elem, types)?),
                len,
            })
        }
        syn::Type::Path(path) if path.qself.is_none() => map_path(&path.path, types),
        _ => Err(format!(
            "`{}` has no wire type: write a type such as `String`, `Vec<u8>` or a named type of the server",
            written(ty)
        )),
    }
}

fn map_path(path: &syn::Path, types: &[Definition]) -> Result<Type, String> {
    // A type of the server's first: its `Bytes` or `Tick` is what it says.
    let text = written_path(path);
    let last = path.segments.last().ok_or("an empty path")?;
    let short = written_segment(last);
    for name in [&short, &text] {
        if find_definition(types, name).is_some() {
            return Ok(Type::Named(name.clone()));
        }
    }
    let args = type_args(&last.arguments);
    let arg = |index: usize| -> Result<Type, String> {
        let ty = args
            .get(index)
            .ok_or_else(|| format!("`{short}` lacks a type argument"))?;
        map(ty, types)
    };
    let primitive = match last.ident.to_string().as_str() {
        "bool" => Type::Bool,
        "i8" => Type::I8,
        "i16" => Type::I16,
        "i32" => Type::I32,
        "i64" | "isize" => Type::I64,
        "i128" => Type::I128,
        "u8" => Type::U8,
        "u16" => Type::U16,
        "u32" => Type::U32,
        "u64" | "usize" => Type::U64,
        "u128" => Type::U128,
        "f32" => Type::F32,
        "f64" => Type::F64,
        "char" => Type::Char,
        "String" | "str" => Type::String,
        "Bytes" | "ByteBuf" => Type::Bytes,
        "Option" => Type::Option(Box::new(arg(0)?)),
        "Vec" | "VecDeque" | "LinkedList" | "HashSet" | "BTreeSet" | "BinaryHeap" => {
            Type::Seq(Box::new(arg(0)?))
        }
        // `Map` as the library writes a map type (`Type`'s `Display`).
        "HashMap" | "BTreeMap" | "Map" => Type::Map {
            key: Box::new(arg(0)?),
            value: Box::new(arg(1)?),
        },
        "Box" | "Arc" | "Rc" | "Cow" => arg(0)?,
        _ => return Err(unknown_type(&short, types)),
    };
    Ok(primitive)
}

/// The type arguments of a path segment (lifetimes left out).
fn type_args(arguments: &PathArguments) -> Vec<&syn::Type> {
    let PathArguments::AngleBracketed(args) = arguments else {
        return Vec::new();
    };
    args.args
        .iter()
        .filter_map(|arg| match arg {
            GenericArgument::Type(ty) => Some(ty),
            _ => None,
        })
        .collect()
}

fn unknown_type(name: &str, types: &[Definition]) -> String {
    if types.is_empty() {
        format!("unknown type `{name}`, and the server lists no named types")
    } else {
        let known: Vec<&str> = types.iter().map(|d| d.name.as_str()).collect();
        format!(
            "unknown type `{name}`; the server's named types are: {}",
            known.join(", ")
        )
    }
}

/// `ty` written as `std::any::type_name` writes types, which is how the
/// server names its generic types (`Page<(i64, String)>`).
fn written(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Paren(inner) => written(&inner.elem),
        syn::Type::Group(inner) => written(&inner.elem),
        syn::Type::Reference(reference) => format!("&{}", written(&reference.elem)),
        syn::Type::Tuple(tuple) => {
            let elems: Vec<String> = tuple.elems.iter().map(written).collect();
            if elems.len() == 1 {
                format!("({},)", elems[0])
            } else {
                format!("({})", elems.join(", "))
            }
        }
        syn::Type::Slice(slice) => format!("[{}]", written(&slice.elem)),
        syn::Type::Array(array) => match &array.len {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(len),
                ..
            }) => format!("[{}; {}]", written(&array.elem), len.base10_digits()),
            _ => format!("[{}; _]", written(&array.elem)),
        },
        syn::Type::Path(path) => path
            .path
            .segments
            .last()
            .map(written_segment)
            .unwrap_or_default(),
        _ => "_".to_owned(),
    }
}

fn written_path(path: &syn::Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(written_segment).collect();
    segments.join("::")
}

fn written_segment(segment: &syn::PathSegment) -> String {
    let args = type_args(&segment.arguments);
    if args.is_empty() {
        segment.ident.to_string()
    } else {
        let args: Vec<String> = args.into_iter().map(written).collect();
        format!("{}<{}>", segment.ident, args.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use rpc_core::schema::Shape;

    use super::*;

    fn named(name: &str) -> Definition {
        let mut types: Vec<Definition> = serde_json::from_value(serde_json::json!([
            {"name": name, "docs": "", "shape": "UnitStruct"}
        ]))
        .unwrap();
        let definition = types.pop().unwrap();
        assert_eq!(definition.shape, Shape::UnitStruct);
        definition
    }

    fn boxed(ty: Type) -> Box<Type> {
        Box::new(ty)
    }

    #[test]
    fn primitives_and_strings() {
        assert_eq!(parse("String", &[]).unwrap(), Type::String);
        assert_eq!(parse("&str", &[]).unwrap(), Type::String);
        assert_eq!(parse("i64", &[]).unwrap(), Type::I64);
        assert_eq!(parse("usize", &[]).unwrap(), Type::U64);
        assert_eq!(parse("()", &[]).unwrap(), Type::Unit);
        assert_eq!(parse("bytes::Bytes", &[]).unwrap(), Type::Bytes);
    }

    #[test]
    fn containers_nest() {
        assert_eq!(parse("Vec<u8>", &[]).unwrap(), Type::Seq(boxed(Type::U8)));
        assert_eq!(
            parse("Option<(i64, String)>", &[]).unwrap(),
            Type::Option(boxed(Type::Tuple(vec![Type::I64, Type::String])))
        );
        assert_eq!(
            parse("[u8; 4]", &[]).unwrap(),
            Type::Array {
                item: boxed(Type::U8),
                len: 4
            }
        );
        assert_eq!(
            parse("std::collections::HashMap<String, i64>", &[]).unwrap(),
            Type::Map {
                key: boxed(Type::String),
                value: boxed(Type::I64)
            }
        );
        assert_eq!(
            parse("Box<Vec<Option<bool>>>", &[]).unwrap(),
            Type::Seq(boxed(Type::Option(boxed(Type::Bool))))
        );
    }

    #[test]
    fn named_types_are_the_servers() {
        let types = [named("Page<(i64, String)>"), named("Tick")];
        let mut sorted = types.to_vec();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(
            parse("Vec<Tick>", &sorted).unwrap(),
            Type::Seq(boxed(Type::Named("Tick".to_owned())))
        );
        assert_eq!(
            parse("app::Page<(i64, String)>", &sorted).unwrap(),
            Type::Named("Page<(i64, String)>".to_owned())
        );
        let unknown = parse("Tock", &sorted).unwrap_err();
        assert!(unknown.contains("unknown type `Tock`"), "{unknown}");
        assert!(unknown.contains("Tick"), "{unknown}");
    }

    #[test]
    fn a_named_type_of_the_server_wins_over_a_std_name() {
        let types = [named("Bytes")];
        assert_eq!(
            parse("Bytes", &types).unwrap(),
            Type::Named("Bytes".to_owned())
        );
    }

    #[test]
    fn what_is_not_a_wire_type_is_refused() {
        assert!(parse("Vec<", &[]).unwrap_err().contains("not a Rust type"));
        assert!(parse("fn(u8)", &[]).unwrap_err().contains("no wire type"));
        assert!(parse("[u8; N]", &[]).unwrap_err().contains("not a number"));
        assert!(
            parse("Option", &[])
                .unwrap_err()
                .contains("lacks a type argument")
        );
    }
}
