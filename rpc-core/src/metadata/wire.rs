//! The two encodings of a discover answer: the plain one of protocol
//! version 2 (names, kinds, parameters, types as source text, docs), and
//! the one with type schemas for peers that agreed the `schemas` feature,
//! which appends `types` to every router and `schema` to every method.

use std::borrow::Cow;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{MethodInfo, MethodKind, ParamInfo, RouterInfo};
use crate::{
    codec::{self, CodecError},
    protocol::Features,
};

/// A side's discover answer, encoded once when its routers are mounted.
#[derive(Debug, Clone, Default)]
pub(crate) struct DiscoverAnswer {
    plain: Bytes,
    with_schemas: Bytes,
}

impl DiscoverAnswer {
    pub(crate) fn new(routers: &[RouterInfo]) -> Self {
        let plain: Vec<PlainRouter<'_>> = routers.iter().map(PlainRouter::from).collect();
        Self {
            plain: encode(&plain),
            with_schemas: encode(&routers),
        }
    }

    /// The answer for a peer with `features`.
    pub(crate) fn for_features(&self, features: Features) -> &Bytes {
        if features.schemas {
            &self.with_schemas
        } else {
            &self.plain
        }
    }
}

fn encode<T: Serialize>(value: &T) -> Bytes {
    // Plain data always encodes.
    Bytes::from(postcard::to_allocvec(value).unwrap_or_default())
}

/// Decodes a peer's discover answer, in the encoding `features` agreed.
pub(crate) fn decode_described(
    payload: &[u8],
    features: Features,
) -> Result<Vec<RouterInfo>, CodecError> {
    if features.schemas {
        codec::decode_value(payload)
    } else {
        let plain: Vec<PlainRouter<'static>> = codec::decode_value(payload)?;
        Ok(plain.into_iter().map(RouterInfo::from).collect())
    }
}

/// `RouterInfo` without `types`.
#[derive(Serialize, Deserialize)]
struct PlainRouter<'a> {
    name: Cow<'a, str>,
    docs: Cow<'a, str>,
    methods: Vec<PlainMethod<'a>>,
}

/// `MethodInfo` without `schema`.
#[derive(Serialize, Deserialize)]
struct PlainMethod<'a> {
    name: Cow<'a, str>,
    kind: MethodKind,
    params: Cow<'a, [ParamInfo]>,
    returns: Cow<'a, str>,
    docs: Cow<'a, str>,
    timeout_ms: Option<u64>,
}

impl<'a> From<&'a RouterInfo> for PlainRouter<'a> {
    fn from(router: &'a RouterInfo) -> Self {
        Self {
            name: Cow::Borrowed(&router.name),
            docs: Cow::Borrowed(&router.docs),
            methods: router
                .methods
                .iter()
                .map(|method| PlainMethod {
                    name: Cow::Borrowed(&method.name),
                    kind: method.kind,
                    params: Cow::Borrowed(&method.params),
                    returns: Cow::Borrowed(&method.returns),
                    docs: Cow::Borrowed(&method.docs),
                    timeout_ms: method.timeout_ms,
                })
                .collect(),
        }
    }
}

impl From<PlainRouter<'static>> for RouterInfo {
    fn from(router: PlainRouter<'static>) -> Self {
        Self {
            name: router.name,
            docs: router.docs,
            methods: router
                .methods
                .into_iter()
                .map(|method| MethodInfo {
                    name: method.name,
                    kind: method.kind,
                    params: method.params,
                    returns: method.returns,
                    docs: method.docs,
                    timeout_ms: method.timeout_ms,
                    schema: None,
                })
                .collect(),
            types: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{MethodTypes, RouterSchema, Type, Types};

    fn router() -> RouterInfo {
        static PARAMS: [ParamInfo; 1] = [ParamInfo::new("n", "i64")];
        static METHODS: [MethodInfo; 1] = [MethodInfo::new(
            "double",
            MethodKind::Call,
            &PARAMS,
            "i64",
            "Twice n.",
            None,
        )];
        let mut info = RouterInfo::new("Doubler", "", &METHODS);
        let schema = RouterSchema::new(
            Types::new(),
            vec![MethodTypes {
                params: vec![Type::I64],
                returns: Some(Type::I64),
                ..MethodTypes::default()
            }],
        );
        info.methods.to_mut()[0].schema = Some(schema.methods[0].clone());
        info
    }

    #[test]
    fn the_plain_answer_is_the_version_2_layout_and_drops_the_schemas() {
        let described = DiscoverAnswer::new(&[router()]);
        let plain = described.for_features(Features::default());
        // 1 router: "Doubler", no docs, 1 method "double" (kind 0), params
        // [("n", "i64")], returns "i64", docs "Twice n.", no timeout.
        let mut expected = vec![1, 7];
        expected.extend(b"Doubler");
        expected.extend([0, 1, 6]);
        expected.extend(b"double");
        expected.extend([0, 1, 1, b'n', 3]);
        expected.extend(b"i64");
        expected.push(3);
        expected.extend(b"i64");
        expected.push(8);
        expected.extend(b"Twice n.");
        expected.push(0);
        assert_eq!(plain.as_ref(), expected.as_slice());
        let decoded = decode_described(plain, Features::default()).unwrap();
        let mut without = router();
        without.methods.to_mut()[0].schema = None;
        assert_eq!(decoded, vec![without]);
    }

    #[test]
    fn the_answer_with_schemas_keeps_them() {
        let described = DiscoverAnswer::new(&[router()]);
        let features = Features::all();
        let decoded = decode_described(described.for_features(features), features).unwrap();
        assert_eq!(decoded, vec![router()]);
    }
}
