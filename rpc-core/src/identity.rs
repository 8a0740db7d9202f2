//! Who is on the other end of a session: set by the server's
//! authentication hook, read by handlers and the registry. It lives below
//! both the session and the server, so neither imports the other for it.

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    fmt,
    sync::Arc,
};

/// Who is on the other end of a session, as the authentication hook decided:
/// a subject, plus whatever typed data the application attached (claims,
/// roles, a tenant), which handlers read back by type.
///
/// ```
/// # extern crate rpc_core as rpc;
/// # use rpc::Identity;
/// #[derive(Debug, PartialEq)]
/// struct Roles(Vec<&'static str>);
///
/// let alice = Identity::new("alice").with(Roles(vec!["admin"]));
/// assert_eq!(alice.get::<Roles>(), Some(&Roles(vec!["admin"])));
/// assert_eq!(alice.get::<u32>(), None);
/// ```
#[derive(Clone)]
pub struct Identity {
    subject: String,
    /// One value per type; shared, so cloning an identity is cheap.
    extensions: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl Identity {
    /// An identity named by `subject` (a user id, a service name, ...).
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            extensions: HashMap::new(),
        }
    }

    /// Attaches `value`, replacing any value of the same type.
    pub fn with<T: Any + Send + Sync>(mut self, value: T) -> Self {
        self.extensions.insert(TypeId::of::<T>(), Arc::new(value));
        self
    }

    /// The subject the hook gave.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The value of type `T` the hook attached with [`with`](Self::with), if any.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.extensions.get(&TypeId::of::<T>())?.downcast_ref()
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("subject", &self.subject)
            .field("extensions", &self.extensions.len())
            .finish()
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.subject)
    }
}
