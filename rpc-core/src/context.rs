//! What a handler can ask for besides its arguments: the request's headers,
//! the session, the caller's identity and claims, and typed per-session
//! state. A `#[rpc::router]` method declares a parameter of one of these
//! types and the generated dispatch fills it in, as axum's extractors do;
//! a hand-written [`Router`](crate::Router) calls
//! [`FromRequest::from_request`] itself.

use std::any::type_name;

use crate::{
    identity::Identity,
    protocol::ErrorCode,
    router::{HandlerError, Request},
    session::Session,
};

/// A value a handler parameter is filled with from the request, rather than
/// decoded from the caller's arguments.
///
/// `#[rpc::router]` recognises parameters of the types named [`Headers`],
/// [`Identity`], [`Claims`], [`Extension`] and `Session` (and `Option`s of
/// them); a parameter of any other type that implements this trait is
/// extracted when marked `#[context]`. Extraction runs before the arguments
/// are decoded; a failure answers the call with its error.
///
/// ```
/// # extern crate rpc_core as rpc;
/// use rpc::{FromRequest, HandlerError, Request};
///
/// /// The caller's preferred language, from the `lang` header.
/// struct Lang(String);
///
/// impl FromRequest for Lang {
///     fn from_request(request: &Request) -> Result<Self, HandlerError> {
///         Ok(Lang(request.header("lang").unwrap_or("en").to_owned()))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be taken from the request",
    label = "a handler parameter of this type is filled in from the request, not decoded from the arguments",
    note = "parameters typed `Headers`, `Identity`, `Claims<T>`, `Extension<T>` or `Session` are taken from the request; implement `rpc::FromRequest` for `{Self}`, or remove `#[context]` to decode it from the arguments"
)]
pub trait FromRequest: Sized {
    /// Takes the value from `request`.
    ///
    /// # Errors
    ///
    /// The error the call is answered with when the value is missing.
    fn from_request(request: &Request) -> Result<Self, HandlerError>;
}

/// Absent instead of failing: `Option<Identity>` is `None` on an
/// anonymous session, where `Identity` would refuse the call.
impl<T: FromRequest> FromRequest for Option<T> {
    fn from_request(request: &Request) -> Result<Self, HandlerError> {
        Ok(T::from_request(request).ok())
    }
}

/// The session the request arrived on.
impl FromRequest for Session {
    fn from_request(request: &Request) -> Result<Self, HandlerError> {
        Ok(request.session().clone())
    }
}

/// The caller's identity; refuses the call as
/// [`unauthenticated`](ErrorCode::UNAUTHENTICATED) when the session has
/// none.
impl FromRequest for Identity {
    fn from_request(request: &Request) -> Result<Self, HandlerError> {
        identity(request).cloned()
    }
}

fn identity(request: &Request) -> Result<&Identity, HandlerError> {
    request.session().identity().ok_or_else(|| {
        HandlerError::new(
            ErrorCode::UNAUTHENTICATED,
            "this method needs an authenticated caller",
        )
    })
}

/// The metadata headers the caller attached to this request
/// ([`CallOptions::header`](crate::CallOptions::header)), in order.
///
/// ```
/// # extern crate rpc_core as rpc;
/// # use rpc::Headers;
/// # fn trace_id(headers: &Headers) -> Option<&str> {
/// headers.get("trace-id")
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// The first header with this name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, value)| value)
    }

    /// Every header with this name, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, value)| value)
    }

    /// Every header, as `(name, value)`, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// How many headers there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the caller attached none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromRequest for Headers {
    fn from_request(request: &Request) -> Result<Self, HandlerError> {
        Ok(Headers(request.headers().to_vec()))
    }
}

/// A value of type `T` that the authentication hook attached to the
/// caller's [`Identity`] with [`Identity::with`] (claims, roles, a
/// tenant). Refuses the call as
/// [`unauthenticated`](ErrorCode::UNAUTHENTICATED) when the session has no
/// identity or the identity carries no `T`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromRequest for Claims<T> {
    fn from_request(request: &Request) -> Result<Self, HandlerError> {
        let value = identity(request)?.get::<T>().ok_or_else(|| {
            HandlerError::new(
                ErrorCode::UNAUTHENTICATED,
                format!("the caller's identity carries no {}", type_name::<T>()),
            )
        })?;
        Ok(Claims(value.clone()))
    }
}

/// Per-session state of type `T`: a clone of the value last stored with
/// [`Session::insert_extension`], at connect time
/// ([`ServerBuilder::on_connect`](crate::ServerBuilder::on_connect)) or by
/// an earlier call. A missing value is the application's mistake, so it
/// fails the call as [`internal`](ErrorCode::INTERNAL); take
/// `Option<Extension<T>>` where the state is optional.
///
/// State that calls change is shared through the clone: store an
/// `Arc<Mutex<..>>` or an atomic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extension<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromRequest for Extension<T> {
    fn from_request(request: &Request) -> Result<Self, HandlerError> {
        request
            .session()
            .extension::<T>()
            .map(Extension)
            .ok_or_else(|| {
                HandlerError::new(
                    ErrorCode::INTERNAL,
                    format!("the session holds no {}", type_name::<T>()),
                )
            })
    }
}
