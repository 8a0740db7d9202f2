//! The hash of a method's schema: FNV-1a (64 bits) over a canonical
//! encoding, so that any change of shape or name a peer could notice
//! changes it, and docs do not.

use std::{collections::HashSet, hash::Hasher};

use serde::Serialize;

use super::{Definition, Field, MethodSchema, Shape, Type, VariantShape, find_definition};

impl MethodSchema {
    /// The hash of this method's types, `definitions` being the router's.
    ///
    /// FNV-1a 64 over, in order: the postcard encoding of `(params,
    /// returns, error, item, item_error, upload)`; then, for each named type
    /// these refer to, directly or through other definitions, in the order
    /// a depth-first walk first meets them, the postcard encoding of its
    /// `(name, shape)` with every doc comment left empty. A name with no
    /// definition is hashed as the name alone.
    pub fn compute_hash(&self, definitions: &[Definition]) -> u64 {
        let mut hasher = fnv::FnvHasher::default();
        let roots = (
            &self.params,
            &self.returns,
            &self.error,
            &self.item,
            &self.item_error,
            &self.upload,
        );
        feed(&mut hasher, &roots);
        let mut seen = HashSet::new();
        let mut order = Vec::new();
        let mut pending: Vec<&Type> = self
            .params
            .iter()
            .chain([&self.returns])
            .chain(self.error.iter())
            .chain(self.item.iter())
            .chain(self.item_error.iter())
            .chain(self.upload.iter())
            .collect();
        pending.reverse();
        // Depth-first: a stack of types still to look into.
        while let Some(ty) = pending.pop() {
            let mut found = Vec::new();
            names_in(ty, &mut found);
            for name in found.into_iter().rev() {
                if seen.insert(name) {
                    order.push(name);
                    if let Some(definition) = find_definition(definitions, name) {
                        let mut inner = Vec::new();
                        types_in(&definition.shape, &mut inner);
                        pending.extend(inner.into_iter().rev());
                    }
                }
            }
        }
        for name in order {
            match find_definition(definitions, name) {
                Some(definition) => feed(&mut hasher, &(name, without_docs(&definition.shape))),
                None => feed(&mut hasher, &name),
            }
        }
        hasher.finish()
    }
}

fn feed<T: Serialize>(hasher: &mut fnv::FnvHasher, value: &T) {
    // Plain data always encodes.
    if let Ok(bytes) = postcard::to_allocvec(value) {
        hasher.write(&bytes);
    }
}

/// The names a type refers to directly, in the order they are written.
fn names_in<'a>(ty: &'a Type, out: &mut Vec<&'a str>) {
    match ty {
        Type::Named(name) => out.push(name),
        Type::Option(inner) | Type::Seq(inner) | Type::Array { item: inner, .. } => {
            names_in(inner, out);
        }
        Type::Map { key, value } => {
            names_in(key, out);
            names_in(value, out);
        }
        Type::Tuple(items) => items.iter().for_each(|item| names_in(item, out)),
        _ => {}
    }
}

/// The types a definition holds, in order.
fn types_in<'a>(shape: &'a Shape, out: &mut Vec<&'a Type>) {
    let fields = |fields: &'a [Field], out: &mut Vec<&'a Type>| {
        out.extend(fields.iter().map(|field| &field.ty));
    };
    match shape {
        Shape::UnitStruct => {}
        Shape::Newtype(ty) => out.push(ty),
        Shape::TupleStruct(items) => out.extend(items),
        Shape::Struct(list) => fields(list, out),
        Shape::Enum(variants) => {
            for variant in variants {
                match &variant.shape {
                    VariantShape::Unit => {}
                    VariantShape::Newtype(ty) => out.push(ty),
                    VariantShape::Tuple(items) => out.extend(items),
                    VariantShape::Struct(list) => fields(list, out),
                }
            }
        }
    }
}

fn without_docs(shape: &Shape) -> Shape {
    let strip = |fields: &[Field]| {
        fields
            .iter()
            .map(|field| Field::new(field.name.clone(), "", field.ty.clone()))
            .collect()
    };
    match shape {
        Shape::Struct(fields) => Shape::Struct(strip(fields)),
        Shape::Enum(variants) => Shape::Enum(
            variants
                .iter()
                .map(|variant| {
                    let shape = match &variant.shape {
                        VariantShape::Struct(fields) => VariantShape::Struct(strip(fields)),
                        other => other.clone(),
                    };
                    super::Variant::new(variant.name.clone(), "", variant.index, shape)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{MethodTypes, RouterSchema, Types};

    fn point(docs: &str, y: &str) -> Definition {
        Definition {
            name: "Point".to_owned(),
            docs: docs.to_owned(),
            shape: Shape::Struct(vec![
                Field::new("x", docs, Type::I32),
                Field::new(y, docs, Type::I32),
            ]),
        }
    }

    fn method(params: Vec<Type>) -> MethodSchema {
        RouterSchema::new(
            Types::new(),
            vec![MethodTypes {
                params,
                ..MethodTypes::default()
            }],
        )
        .methods
        .remove(0)
    }

    #[test]
    fn docs_do_not_change_the_hash_and_shapes_and_names_do() {
        let schema = method(vec![Type::Named("Point".to_owned())]);
        let base = schema.compute_hash(&[point("", "y")]);
        assert_eq!(base, schema.compute_hash(&[point("Where it is.", "y")]));
        assert_ne!(base, schema.compute_hash(&[point("", "why")]));
        assert_ne!(
            base,
            method(vec![Type::Named("Point".to_owned()), Type::U8]).compute_hash(&[point("", "y")])
        );
        assert_ne!(method(vec![Type::I64]).hash, method(vec![Type::I32]).hash);
    }
}
