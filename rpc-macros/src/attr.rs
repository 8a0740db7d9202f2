//! The method attributes `#[rpc::call(..)]`, `#[rpc::cast(..)]` and
//! `#[rpc::stream(..)]`: which attributes they are, and their options
//! (`name`, `timeout`, `idempotent` for calls, and `inline` for calls and
//! casts).

use std::fmt;

use syn::{Attribute, Ident, Lit, LitStr, Meta, Path, meta::ParseNestedMeta};

/// How a method is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[rpc::call]`: the caller waits for the answer.
    Call,
    /// `#[rpc::cast]`: fire-and-forget.
    Cast,
    /// `#[rpc::stream]`: answers with a stream of items, reads a stream of
    /// uploads, or both.
    Stream,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Call => "call",
            Kind::Cast => "cast",
            Kind::Stream => "stream",
        })
    }
}

/// Options a method attribute of `kind` accepts, for the error on unknown
/// ones.
fn options(kind: Kind) -> &'static str {
    match kind {
        Kind::Call => "`name = \"...\"`, `timeout = \"...\"`, `idempotent` and `inline`",
        Kind::Cast => "`name = \"...\"`, `timeout = \"...\"` and `inline`",
        Kind::Stream => "`name = \"...\"` and `timeout = \"...\"`",
    }
}

/// A parsed `#[rpc::call(..)]`, `#[rpc::cast(..)]` or `#[rpc::stream(..)]`.
pub(crate) struct MethodAttr {
    /// Which of them it is.
    pub(crate) kind: Kind,
    /// `name = "..."`: the wire name, when overridden.
    pub(crate) name: Option<LitStr>,
    /// `timeout = "..."`: the server-side deadline.
    pub(crate) timeout: Option<Timeout>,
    /// `idempotent` (calls only): the stub marks its calls as safe to retry.
    pub(crate) idempotent: bool,
    /// `inline` (calls and casts): the handler's first poll runs on the
    /// session's reader.
    pub(crate) inline: bool,
}

/// A `timeout = "2s"` option.
pub(crate) struct Timeout {
    /// The deadline in milliseconds.
    pub(crate) millis: u64,
}

/// Which method attribute `attr` is, if it is one: `#[rpc::call]`,
/// `#[::rpc::call]`, or `#[call]` after `use rpc::call` (and the same for
/// `cast` and `stream`); with a `crate = "my_lib::rpc"` option, also
/// `#[my_lib::rpc::call]`.
pub(crate) fn kind_of(attr: &Attribute, krate: Option<&Path>) -> Option<Kind> {
    let path = attr.path();
    let last = path.segments.last()?;
    let kind = if last.ident == "call" {
        Kind::Call
    } else if last.ident == "cast" {
        Kind::Cast
    } else if last.ident == "stream" {
        Kind::Stream
    } else {
        return None;
    };
    let prefix: Vec<&Ident> = path.segments.iter().map(|segment| &segment.ident).collect();
    let prefix = &prefix[..prefix.len() - 1];
    let qualified = prefix.len() == 1 && prefix[0] == "rpc";
    let bare = prefix.is_empty() && path.leading_colon.is_none();
    let renamed = krate.is_some_and(|krate| {
        krate.segments.len() == prefix.len()
            && krate
                .segments
                .iter()
                .zip(prefix)
                .all(|(segment, ident)| segment.ident == **ident)
    });
    (qualified || bare || renamed).then_some(kind)
}

/// Parses the options of a method attribute of the given kind.
pub(crate) fn parse(attr: &Attribute, kind: Kind) -> syn::Result<MethodAttr> {
    let mut parsed = MethodAttr {
        kind,
        name: None,
        timeout: None,
        idempotent: false,
        inline: false,
    };
    match &attr.meta {
        Meta::Path(_) => {}
        Meta::List(list) => list.parse_nested_meta(|meta| parse_option(&mut parsed, &meta))?,
        Meta::NameValue(value) => {
            return Err(syn::Error::new_spanned(
                value,
                format!("write the options in parentheses: #[rpc::{kind}(name = \"...\")]"),
            ));
        }
    }
    Ok(parsed)
}

fn parse_option(parsed: &mut MethodAttr, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let kind = parsed.kind;
    if meta.path.is_ident("name") {
        if parsed.name.is_some() {
            return Err(meta.error("`name` is given twice; keep one"));
        }
        let value = meta.value()?;
        let lit: LitStr = value.parse().map_err(|err| {
            syn::Error::new(
                err.span(),
                "expected the wire name as a string: name = \"...\"",
            )
        })?;
        parsed.name = Some(lit);
    } else if meta.path.is_ident("timeout") {
        if parsed.timeout.is_some() {
            return Err(meta.error("`timeout` is given twice; keep one"));
        }
        let lit: Lit = meta.value()?.parse()?;
        let millis = match &lit {
            Lit::Str(text) => parse_duration(text)?,
            Lit::Int(number) => {
                return Err(syn::Error::new_spanned(
                    number,
                    format!(
                        "write the timeout as a string with a unit: timeout = \"{0}s\" or \"{0}ms\"",
                        number.base10_digits()
                    ),
                ));
            }
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "expected a duration string such as timeout = \"2s\"",
                ));
            }
        };
        parsed.timeout = Some(Timeout { millis });
    } else if meta.path.is_ident("idempotent") {
        parse_idempotent(parsed, meta)?;
    } else if meta.path.is_ident("inline") {
        parse_inline(parsed, meta)?;
    } else {
        let key = meta
            .path
            .get_ident()
            .map_or_else(|| "this option".to_owned(), |ident| format!("`{ident}`"));
        return Err(syn::Error::new_spanned(
            &meta.path,
            format!(
                "unknown option {key} of #[rpc::{kind}]; the options are {}",
                options(kind)
            ),
        ));
    }
    Ok(())
}

/// Parses the bare word `idempotent`, which only a call takes: a cast has
/// no answer to wait for again, and a stream is not retried.
fn parse_idempotent(parsed: &mut MethodAttr, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let instead = match parsed.kind {
        Kind::Call => None,
        Kind::Cast => Some(
            "a cast is sent once and has no answer to wait for again; \
             remove `idempotent`, or make the method #[rpc::call(idempotent)]",
        ),
        Kind::Stream => Some(
            "a stream is not retried after a reconnect; \
             remove `idempotent`, or make the method #[rpc::call(idempotent)]",
        ),
    };
    if let Some(instead) = instead {
        return Err(syn::Error::new_spanned(
            &meta.path,
            format!("`idempotent` applies only to #[rpc::call]: {instead}"),
        ));
    }
    if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
        return Err(
            meta.error("write `idempotent` alone, without a value: #[rpc::call(idempotent)]")
        );
    }
    if parsed.idempotent {
        return Err(meta.error("`idempotent` is given twice; keep one"));
    }
    parsed.idempotent = true;
    Ok(())
}

/// Parses the bare word `inline`, which a call or a cast takes: a stream's
/// handler keeps running while it sends, so it starts on the handler pool.
fn parse_inline(parsed: &mut MethodAttr, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let kind = parsed.kind;
    if kind == Kind::Stream {
        return Err(syn::Error::new_spanned(
            &meta.path,
            "`inline` applies only to #[rpc::call] and #[rpc::cast]: a stream's handler keeps \
             running while it sends, so it always starts on the handler pool; remove `inline`",
        ));
    }
    if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
        return Err(meta.error(format!(
            "write `inline` alone, without a value: #[rpc::{kind}(inline)]"
        )));
    }
    if parsed.inline {
        return Err(meta.error("`inline` is given twice; keep one"));
    }
    parsed.inline = true;
    Ok(())
}

/// Parses `"500ms"`, `"2s"`, `"1m"` or `"1h"` into milliseconds.
fn parse_duration(lit: &LitStr) -> syn::Result<u64> {
    let text = lit.value();
    let invalid = || {
        syn::Error::new_spanned(
            lit,
            format!(
                "invalid timeout \"{text}\": write a whole number and a unit (ms, s, m or h), \
                 such as \"500ms\", \"2s\" or \"1m\""
            ),
        )
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let scale: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(invalid()),
    };
    let millis = number
        .checked_mul(scale)
        .ok_or_else(|| syn::Error::new_spanned(lit, format!("timeout \"{text}\" is too long")))?;
    if millis == 0 {
        return Err(syn::Error::new_spanned(
            lit,
            "a zero timeout would fail every call; give a positive duration such as \"2s\"",
        ));
    }
    Ok(millis)
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    fn timeout(text: &str) -> Result<u64, String> {
        let lit = LitStr::new(text, proc_macro2::Span::call_site());
        parse_duration(&lit).map_err(|err| err.to_string())
    }

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(timeout("500ms"), Ok(500));
        assert_eq!(timeout("2s"), Ok(2_000));
        assert_eq!(timeout("1m"), Ok(60_000));
        assert_eq!(timeout("1h"), Ok(3_600_000));
    }

    #[test]
    fn bad_durations_say_what_to_write() {
        for bad in ["", "2", "s", "2 s", "1.5s", "2sec", "-1s"] {
            let err = timeout(bad).expect_err(bad);
            assert!(err.contains("such as \"500ms\""), "{bad}: {err}");
        }
        assert!(timeout("0s").expect_err("zero").contains("zero"));
        assert!(
            timeout("99999999999999999h")
                .expect_err("overflow")
                .contains("too long")
        );
    }

    #[test]
    fn recognises_the_attribute_paths() {
        let attrs: [Attribute; 7] = [
            parse_quote!(#[rpc::call]),
            parse_quote!(#[call(name = "x")]),
            parse_quote!(#[rpc::cast]),
            parse_quote!(#[::rpc::stream(timeout = "1m")]),
            parse_quote!(#[stream]),
            parse_quote!(#[other::call]),
            parse_quote!(#[doc = "call"]),
        ];
        let kinds: Vec<_> = attrs.iter().map(|attr| kind_of(attr, None)).collect();
        assert_eq!(
            kinds,
            [
                Some(Kind::Call),
                Some(Kind::Call),
                Some(Kind::Cast),
                Some(Kind::Stream),
                Some(Kind::Stream),
                None,
                None
            ]
        );
    }

    #[test]
    fn recognises_the_renamed_crate() {
        let krate: Path = parse_quote!(::my_lib::rpc);
        let attrs: [Attribute; 4] = [
            parse_quote!(#[my_lib::rpc::call]),
            parse_quote!(#[::my_lib::rpc::cast]),
            parse_quote!(#[rpc::stream]),
            parse_quote!(#[my_lib::call]),
        ];
        let kinds: Vec<_> = attrs
            .iter()
            .map(|attr| kind_of(attr, Some(&krate)))
            .collect();
        assert_eq!(
            kinds,
            [Some(Kind::Call), Some(Kind::Cast), Some(Kind::Stream), None]
        );
    }

    #[test]
    fn parses_options() {
        let attr: Attribute = parse_quote!(#[rpc::call(name = "math.div", timeout = "2s")]);
        let parsed = parse(&attr, Kind::Call).expect("valid");
        assert_eq!(parsed.name.map(|n| n.value()).as_deref(), Some("math.div"));
        assert_eq!(parsed.timeout.map(|t| t.millis), Some(2_000));
        assert!(!parsed.idempotent);
        let attr: Attribute = parse_quote!(#[rpc::call(idempotent, timeout = "2s")]);
        assert!(parse(&attr, Kind::Call).expect("valid").idempotent);
    }

    #[test]
    fn idempotent_is_a_bare_word_of_calls_only() {
        let cast: Attribute = parse_quote!(#[rpc::cast(idempotent)]);
        let err = parse(&cast, Kind::Cast).err().expect("a cast");
        assert!(
            err.to_string().contains("applies only to #[rpc::call]"),
            "{err}"
        );
        let stream: Attribute = parse_quote!(#[rpc::stream(idempotent)]);
        let err = parse(&stream, Kind::Stream).err().expect("a stream");
        assert!(
            err.to_string().contains("#[rpc::call(idempotent)]"),
            "{err}"
        );
        let valued: Attribute = parse_quote!(#[rpc::call(idempotent = true)]);
        let err = parse(&valued, Kind::Call).err().expect("a value");
        assert!(err.to_string().contains("alone"), "{err}");
        let twice: Attribute = parse_quote!(#[rpc::call(idempotent, idempotent)]);
        let err = parse(&twice, Kind::Call).err().expect("twice");
        assert!(err.to_string().contains("twice"), "{err}");
    }

    #[test]
    fn inline_is_a_bare_word_of_calls_and_casts() {
        let call: Attribute = parse_quote!(#[rpc::call(inline)]);
        let parsed = parse(&call, Kind::Call).expect("a call");
        assert!(parsed.inline && !parsed.idempotent);
        let cast: Attribute = parse_quote!(#[rpc::cast(name = "log", inline)]);
        let parsed = parse(&cast, Kind::Cast).expect("a cast");
        assert!(parsed.inline);
        assert_eq!(parsed.name.map(|n| n.value()).as_deref(), Some("log"));
        let both: Attribute = parse_quote!(#[rpc::call(inline, idempotent, timeout = "1s")]);
        let parsed = parse(&both, Kind::Call).expect("with other options");
        assert!(parsed.inline && parsed.idempotent);
        let plain: Attribute = parse_quote!(#[rpc::cast]);
        assert!(!parse(&plain, Kind::Cast).expect("no options").inline);
    }

    #[test]
    fn inline_is_refused_on_a_stream_twice_and_with_a_value() {
        let stream: Attribute = parse_quote!(#[rpc::stream(inline)]);
        let err = parse(&stream, Kind::Stream).err().expect("a stream");
        assert_eq!(
            err.to_string(),
            "`inline` applies only to #[rpc::call] and #[rpc::cast]: a stream's handler keeps \
             running while it sends, so it always starts on the handler pool; remove `inline`"
        );
        let twice: Attribute = parse_quote!(#[rpc::cast(inline, inline)]);
        let err = parse(&twice, Kind::Cast).err().expect("twice");
        assert_eq!(err.to_string(), "`inline` is given twice; keep one");
        let valued: Attribute = parse_quote!(#[rpc::call(inline = true)]);
        let err = parse(&valued, Kind::Call).err().expect("a value");
        assert_eq!(
            err.to_string(),
            "write `inline` alone, without a value: #[rpc::call(inline)]"
        );
        let listed: Attribute = parse_quote!(#[rpc::cast(inline(always))]);
        let err = parse(&listed, Kind::Cast).err().expect("arguments");
        assert_eq!(
            err.to_string(),
            "write `inline` alone, without a value: #[rpc::cast(inline)]"
        );
    }

    #[test]
    fn rejects_unknown_and_repeated_options() {
        let unknown: Attribute = parse_quote!(#[rpc::call(retries = 3)]);
        let err = parse(&unknown, Kind::Call).err().expect("unknown key");
        assert_eq!(
            err.to_string(),
            "unknown option `retries` of #[rpc::call]; the options are `name = \"...\"`, `timeout = \"...\"`, `idempotent` and `inline`"
        );
        let unknown: Attribute = parse_quote!(#[rpc::cast(retries = 3)]);
        let err = parse(&unknown, Kind::Cast).err().expect("unknown key");
        assert!(
            err.to_string()
                .ends_with("`name = \"...\"`, `timeout = \"...\"` and `inline`"),
            "{err}"
        );
        let unknown: Attribute = parse_quote!(#[rpc::stream(retries = 3)]);
        let err = parse(&unknown, Kind::Stream).err().expect("unknown key");
        assert!(
            err.to_string()
                .ends_with("the options are `name = \"...\"` and `timeout = \"...\"`"),
            "{err}"
        );
        let twice: Attribute = parse_quote!(#[rpc::cast(name = "a", name = "b")]);
        let err = parse(&twice, Kind::Cast).err().expect("repeated key");
        assert!(err.to_string().contains("twice"));
        let number: Attribute = parse_quote!(#[rpc::call(timeout = 2)]);
        let err = parse(&number, Kind::Call).err().expect("unitless");
        assert!(err.to_string().contains("timeout = \"2s\""));
    }
}
