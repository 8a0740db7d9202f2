//! The [`Schema`] trait and [`Types`], the table of named types a
//! description fills.

use std::collections::{BTreeMap, HashMap};

use super::{Definition, Shape, Type};

/// A type whose wire shape is known at compile time.
///
/// `#[derive(rpc::Schema)]` implements it for structs and enums, reading the
/// same `#[serde(...)]` attributes serde does; the library implements it for
/// the standard library's types. Every parameter, return, error and stream
/// item type of an `#[rpc::router]` method needs it, so that `discover()`
/// can say what the method takes and gives.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no wire schema",
    label = "`{Self}` does not implement `rpc::Schema`",
    note = "add `#[derive(rpc::Schema)]` to the type's definition, next to `Serialize` and `Deserialize`",
    note = "for a type of another crate, wrap it in a type of yours with `#[serde(with = ..)]` and `#[schema(as = ..)]`"
)]
pub trait Schema {
    /// The shape of `Self`. A struct or an enum defines itself in `types`
    /// (through [`Types::named`]) and returns a [`Type::Named`] reference.
    fn describe(types: &mut Types) -> Type;
}

/// The named types met while describing: one [`Definition`] each.
///
/// A named type is defined once, the first time it is met; meeting it again,
/// inside its own fields too, gives a reference to it, which is how
/// recursive types end.
#[derive(Debug, Default)]
pub struct Types {
    /// Display name -> definition (`None` while its fields are described).
    by_name: BTreeMap<String, Option<Definition>>,
    /// `std::any::type_name` -> display name.
    by_identity: HashMap<&'static str, String>,
}

impl Types {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Describes `T`.
    pub fn describe<T: Schema + ?Sized>(&mut self) -> Type {
        T::describe(self)
    }

    /// A reference to the named type `T`, defined by `define` the first
    /// time. Its name is `T`'s without module paths (`Page<Item>`); when
    /// another type already has that name, the full path.
    pub fn named<T: ?Sized>(
        &mut self,
        docs: &str,
        define: impl FnOnce(&mut Types) -> Shape,
    ) -> Type {
        let identity = std::any::type_name::<T>();
        if let Some(name) = self.by_identity.get(identity) {
            return Type::Named(name.clone());
        }
        let short = short_name(identity);
        let name = if self.by_name.contains_key(&short) {
            identity.to_owned()
        } else {
            short
        };
        self.by_identity.insert(identity, name.clone());
        self.by_name.insert(name.clone(), None);
        let shape = define(self);
        self.by_name.insert(
            name.clone(),
            Some(Definition {
                name: name.clone(),
                docs: docs.to_owned(),
                shape,
            }),
        );
        Type::Named(name)
    }

    /// The definitions, sorted by name.
    pub(crate) fn into_definitions(self) -> Vec<Definition> {
        self.by_name.into_values().flatten().collect()
    }
}

/// `full` without module paths: `alloc::vec::Vec<app::Point>` ->
/// `Vec<Point>`.
fn short_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    // Where the path being written began: a `::` cuts back to it.
    let mut path_start = 0;
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            out.truncate(path_start);
            continue;
        }
        out.push(c);
        if !(c.is_alphanumeric() || c == '_') {
            path_start = out.len();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Field, RouterSchema};

    #[test]
    fn short_names_drop_module_paths_at_every_depth() {
        assert_eq!(short_name("app::Point"), "Point");
        assert_eq!(short_name("alloc::vec::Vec<app::geo::Point>"), "Vec<Point>");
        assert_eq!(
            short_name("app::Page<(i64, alloc::string::String)>"),
            "Page<(i64, String)>"
        );
        assert_eq!(short_name("u8"), "u8");
    }

    struct List;

    impl Schema for List {
        fn describe(types: &mut Types) -> Type {
            types.named::<Self>("A list.", |types| {
                Shape::Struct(vec![
                    Field::new("value", "", Type::I64),
                    Field::new("next", "", Type::Option(Box::new(types.describe::<List>()))),
                ])
            })
        }
    }

    #[test]
    fn a_recursive_type_is_defined_once_and_refers_to_itself() {
        let mut types = Types::new();
        assert_eq!(types.describe::<List>(), Type::Named("List".to_owned()));
        assert_eq!(types.describe::<List>(), Type::Named("List".to_owned()));
        let schema = RouterSchema::new(types, Vec::new());
        assert_eq!(schema.types.len(), 1);
        let Shape::Struct(fields) = &schema.types[0].shape else {
            panic!("not a struct: {:?}", schema.types[0]);
        };
        assert_eq!(
            fields[1].ty,
            Type::Option(Box::new(Type::Named("List".to_owned())))
        );
    }

    mod other {
        pub(super) struct List;
    }

    impl Schema for other::List {
        fn describe(types: &mut Types) -> Type {
            types.named::<Self>("", |_| Shape::UnitStruct)
        }
    }

    #[test]
    fn two_types_of_one_name_are_told_apart_by_their_paths() {
        let mut types = Types::new();
        let first = types.describe::<List>();
        let second = types.describe::<other::List>();
        assert_eq!(first, Type::Named("List".to_owned()));
        assert_eq!(
            second,
            Type::Named(std::any::type_name::<other::List>().to_owned())
        );
        assert_eq!(types.into_definitions().len(), 2);
    }
}
