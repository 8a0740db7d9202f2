//! The options of `#[rpc::router(..)]` and `#[rpc::service(..)]`: the path
//! generated code names the `rpc` crate by (`crate`), and the client stub's
//! name (`client`) and visibility (`client_vis`).

use proc_macro2::TokenStream;
use quote::quote;
use syn::{
    Ident, LitStr, Path, Visibility,
    meta::{self, ParseNestedMeta},
    parse::Parser,
    parse_quote,
};

use crate::errors::Errors;

/// Options every container attribute accepts, for the error on unknown ones.
const OPTIONS: &str = "`crate = \"...\"`, `client = \"...\"` and `client_vis = \"...\"`";

/// Which attribute the options belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    /// `#[rpc::router]` on an impl block.
    Router,
    /// `#[rpc::service]` on a trait.
    Service,
}

impl Container {
    /// The attribute's name: `router` or `service`.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Container::Router => "router",
            Container::Service => "service",
        }
    }
}

/// Parsed `#[rpc::router(..)]` or `#[rpc::service(..)]` options; `None`
/// where not given.
#[derive(Default)]
pub(crate) struct Options {
    /// `crate = "..."`: the path of the `rpc` crate.
    pub(crate) krate: Option<Path>,
    /// `client = "..."`: the stub's type name.
    pub(crate) client: Option<Ident>,
    /// `client_vis = "..."`: the stub's visibility.
    pub(crate) client_vis: Option<Visibility>,
}

impl Options {
    /// The path generated code names the runtime by: `<crate>::__private`,
    /// `::rpc::__private` by default.
    pub(crate) fn private(&self) -> TokenStream {
        let krate = self.krate.clone().unwrap_or_else(|| parse_quote!(::rpc));
        quote!(#krate::__private)
    }
}

/// Parses the options of `container` from the attribute's arguments. An
/// error goes to `errors`, and the options before it are kept.
pub(crate) fn parse(container: Container, args: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    let parser = meta::parser(|meta| option(&mut options, container, &meta));
    if let Err(error) = parser.parse2(args) {
        errors.push(error);
    }
    options
}

fn option(
    options: &mut Options,
    container: Container,
    meta: &ParseNestedMeta<'_>,
) -> syn::Result<()> {
    if meta.path.is_ident("crate") {
        set(
            &mut options.krate,
            meta,
            ("crate", "the path of the rpc crate", "crate = \"::rpc\""),
            |lit| lit.parse_with(Path::parse_mod_style),
            "a path: write the path the rpc crate is reached by, such as crate = \"::my_rpc\" or crate = \"my_lib::rpc\"",
        )?;
    } else if meta.path.is_ident("client") {
        set(
            &mut options.client,
            meta,
            (
                "client",
                "the client's type name",
                "client = \"CalculatorStub\"",
            ),
            LitStr::parse::<Ident>,
            "a type name: write one identifier, such as client = \"CalculatorStub\"",
        )?;
    } else if meta.path.is_ident("client_vis") {
        set(
            &mut options.client_vis,
            meta,
            (
                "client_vis",
                "the client's visibility",
                "client_vis = \"pub(crate)\"",
            ),
            LitStr::parse::<Visibility>,
            "a visibility: write \"pub\", \"pub(crate)\", \"pub(super)\", \"pub(in path)\", or \"\" for private",
        )?;
    } else {
        let attribute = container.attribute();
        let key = meta
            .path
            .get_ident()
            .map_or_else(|| "this option".to_owned(), |ident| format!("`{ident}`"));
        let per_method = if meta.path.is_ident("name") || meta.path.is_ident("timeout") {
            " (`name` and `timeout` go on each method's #[rpc::call(..)], #[rpc::cast(..)] or #[rpc::stream(..)])"
        } else if meta.path.is_ident("idempotent") {
            " (`idempotent` goes on each method's #[rpc::call(..)] that is safe to retry)"
        } else if meta.path.is_ident("inline") {
            " (`inline` goes on each method's #[rpc::call(..)] or #[rpc::cast(..)] whose handler computes briefly before its first await)"
        } else {
            ""
        };
        return Err(syn::Error::new_spanned(
            &meta.path,
            format!(
                "unknown option {key} of #[rpc::{attribute}]; the options are {OPTIONS}{per_method}"
            ),
        ));
    }
    Ok(())
}

/// Sets `slot` from `key = "..."` (given once), parsed by `parse`; a value
/// that does not parse is reported as "`value` is not {expected}".
fn set<T>(
    slot: &mut Option<T>,
    meta: &ParseNestedMeta<'_>,
    (key, what, example): (&str, &str, &str),
    parse: impl FnOnce(&LitStr) -> syn::Result<T>,
    expected: &str,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(meta.error(format!("`{key}` is given twice; keep one")));
    }
    let lit = string(meta, what, example)?;
    let value = parse(&lit).map_err(|_| {
        syn::Error::new_spanned(&lit, format!("`{}` is not {expected}", lit.value()))
    })?;
    *slot = Some(value);
    Ok(())
}

/// The string value of `meta`, or an error saying what to write.
fn string(meta: &ParseNestedMeta<'_>, what: &str, example: &str) -> syn::Result<LitStr> {
    let value = meta.value()?;
    value.parse::<LitStr>().map_err(|err| {
        syn::Error::new(
            err.span(),
            format!("expected {what} as a string: {example}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use quote::{ToTokens, quote};

    use super::*;

    fn parse_ok(args: TokenStream) -> Options {
        let mut errors = Errors::default();
        let options = parse(Container::Router, args, &mut errors);
        assert!(errors.is_empty(), "{:?}", errors.into_messages());
        options
    }

    fn messages(container: Container, args: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        parse(container, args, &mut errors);
        errors.into_messages()
    }

    #[test]
    fn no_options_name_rpc() {
        let options = parse_ok(TokenStream::new());
        assert_eq!(options.private().to_string(), ":: rpc :: __private");
        assert!(options.client.is_none() && options.client_vis.is_none());
    }

    #[test]
    fn parses_every_option() {
        let options = parse_ok(quote!(
            crate = "my_lib::rpc",
            client = "Stub",
            client_vis = "pub(crate)"
        ));
        assert_eq!(options.private().to_string(), "my_lib :: rpc :: __private");
        assert_eq!(
            options.client.map(|c| c.to_string()).as_deref(),
            Some("Stub")
        );
        let vis = options.client_vis.map(|v| v.to_token_stream().to_string());
        assert_eq!(vis.as_deref(), Some("pub (crate)"));
        let private = parse_ok(quote!(client_vis = ""));
        assert!(matches!(private.client_vis, Some(Visibility::Inherited)));
    }

    #[test]
    fn bad_values_say_what_to_write() {
        let cases = [
            (quote!(crate = "my rpc"), "`my rpc` is not a path"),
            (quote!(crate = "rpc::<u8>"), "is not a path"),
            (
                quote!(crate = my_rpc),
                "expected the path of the rpc crate as a string",
            ),
            (
                quote!(client = "Two Words"),
                "`Two Words` is not a type name",
            ),
            (
                quote!(client_vis = "private"),
                "`private` is not a visibility",
            ),
            (
                quote!(client = "A", client = "B"),
                "`client` is given twice",
            ),
        ];
        for (args, expected) in cases {
            let found = messages(Container::Service, args);
            assert_eq!(found.len(), 1, "{found:?}");
            assert!(
                found[0].contains(expected),
                "{found:?} should contain {expected:?}"
            );
        }
    }

    #[test]
    fn unknown_options_list_the_valid_ones() {
        let found = messages(Container::Router, quote!(name = "calc"));
        assert_eq!(
            found,
            [
                "unknown option `name` of #[rpc::router]; the options are `crate = \"...\"`, `client = \"...\"` and `client_vis = \"...\"` (`name` and `timeout` go on each method's #[rpc::call(..)], #[rpc::cast(..)] or #[rpc::stream(..)])"
            ]
        );
        let found = messages(Container::Router, quote!(inline));
        assert_eq!(
            found,
            [
                "unknown option `inline` of #[rpc::router]; the options are `crate = \"...\"`, `client = \"...\"` and `client_vis = \"...\"` (`inline` goes on each method's #[rpc::call(..)] or #[rpc::cast(..)] whose handler computes briefly before its first await)"
            ]
        );
        let found = messages(Container::Service, quote!(inline));
        assert!(
            found[0].starts_with("unknown option `inline` of #[rpc::service]"),
            "{found:?}"
        );
        let found = messages(Container::Service, quote!(server = "X"));
        assert!(
            found[0].starts_with("unknown option `server` of #[rpc::service]"),
            "{found:?}"
        );
    }
}
