//! Connecting to the server, asking what it serves, and finding a method
//! with its schema.

use rpc_core::{
    CallOptions, Client, ClientConfig, ConnectError, MethodInfo, MethodKind, RouterInfo,
    SessionConfig, StreamOptions,
    schema::{Definition, MethodSchema},
};

use crate::{args, error::CliError, listener::Listener};

/// Connects to `server.url` with its upgrade headers, serving `listener`
/// when there is one.
pub(crate) async fn connect(
    server: &args::Server,
    listener: Option<Listener>,
) -> Result<Client, CliError> {
    let timeout = server.answer_timeout();
    let session = SessionConfig::default()
        .call_timeout(timeout)
        .stream_idle_timeout(server.timeout);
    let mut builder = Client::builder().config(
        ClientConfig::default()
            .connect_timeout(timeout)
            .session(session),
    );
    for (name, value) in &server.headers {
        builder = builder.header(name, value);
    }
    if let Some(listener) = listener {
        builder = builder.mount(listener);
    }
    builder.connect(&server.url).await.map_err(|err| match err {
        ConnectError::Mount(why) => CliError::usage(why.to_string()),
        err => CliError::connect(&server.url, err),
    })
}

/// What the server serves.
pub(crate) async fn discover(client: &Client) -> Result<Vec<RouterInfo>, CliError> {
    client
        .peer()
        .discover()
        .await
        .map_err(|err| CliError::request(err, |_| serde_json::Value::Null))
}

/// A method the server serves, with the schema its arguments and answers
/// are encoded by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Method<'a> {
    pub(crate) info: &'a MethodInfo,
    pub(crate) schema: &'a MethodSchema,
    /// The named types of the method's router.
    pub(crate) types: &'a [Definition],
}

impl<'a> Method<'a> {
    /// The method named `name` among `routers`.
    ///
    /// # Errors
    ///
    /// A usage error when no router serves it or it has no schema.
    pub(crate) fn find(routers: &'a [RouterInfo], name: &str) -> Result<Self, CliError> {
        let found = routers.iter().find_map(|router| {
            router
                .methods
                .iter()
                .find(|method| method.name == name)
                .map(|method| (router, method))
        });
        let Some((router, info)) = found else {
            let names: Vec<&str> = routers
                .iter()
                .flat_map(|router| router.methods.iter().map(|m| m.name.as_ref()))
                .collect();
            return Err(CliError::usage(format!(
                "unknown method `{name}`; the server serves: {}",
                names.join(", ")
            )));
        };
        let schema = info.schema.as_ref().ok_or_else(|| {
            CliError::usage(format!(
                "the server gives no schema of `{name}`, so its arguments cannot be written in JSON"
            ))
        })?;
        Ok(Self {
            info,
            schema,
            types: &router.types,
        })
    }

    /// A usage error unless the method is of `kind` (a `Call` also accepts
    /// a `Cast`); `command` is the subcommand that serves `kind`.
    pub(crate) fn expect_kind(&self, kinds: &[MethodKind], command: &str) -> Result<(), CliError> {
        if kinds.contains(&self.info.kind) {
            return Ok(());
        }
        let instead = match self.info.kind {
            MethodKind::Call | MethodKind::Cast => "rpc call",
            MethodKind::Stream => "rpc stream",
            _ => "a newer rpc",
        };
        Err(CliError::usage(format!(
            "`{}` is a {:?}, which `{command}` does not serve: use `{instead}`",
            self.info.signature(),
            self.info.kind
        )))
    }

    /// The options of a call of this method: `meta` headers, the answer's
    /// timeout, and the schema hash the server checks.
    pub(crate) fn call_options(
        &self,
        server: &args::Server,
        meta: &[(String, String)],
    ) -> CallOptions {
        let mut options = CallOptions::default()
            .timeout(server.answer_timeout())
            .schema_hash(self.schema.hash);
        for (name, value) in meta {
            options = options.header(name, value);
        }
        options
    }

    /// The options of a stream of this method: `meta` headers and the
    /// schema hash.
    pub(crate) fn stream_options(&self, meta: &[(String, String)]) -> StreamOptions {
        let mut options = StreamOptions::default().schema_hash(self.schema.hash);
        for (name, value) in meta {
            options = options.header(name, value);
        }
        options
    }

    /// The parameter names, in order.
    pub(crate) fn param_names(&self) -> Vec<&'a str> {
        self.info.params.iter().map(|p| p.name.as_ref()).collect()
    }
}

/// The named types of every router, sorted by name, each name once.
pub(crate) fn all_types(routers: &[RouterInfo]) -> Vec<Definition> {
    let mut types: Vec<Definition> = routers
        .iter()
        .flat_map(|router| router.types.iter().cloned())
        .collect();
    types.sort_by(|a, b| a.name.cmp(&b.name));
    types.dedup_by(|a, b| a.name == b.name);
    types
}
