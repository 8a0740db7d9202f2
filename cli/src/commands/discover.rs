//! `rpc discover URL [--json]`.

use rpc_core::RouterInfo;
use serde_json::Value;

use crate::{args::Server, connect, error::CliError, output, render};

pub(super) async fn run(server: &Server, json: bool) -> Result<(), CliError> {
    let client = connect::connect(server, None).await?;
    let routers = connect::discover(&client).await?;
    client.close().await;
    if json {
        output::json(&machine_json(&routers), true);
    } else {
        output::text_line(human(&routers).trim_end());
    }
    Ok(())
}

/// The discover answer as JSON, as the library serializes it, but for the
/// schema hashes: 16 lowercase hex digits (the `rpc-schema` header's text)
/// rather than numbers above 2^53, which many JSON readers round.
fn machine_json(routers: &[RouterInfo]) -> Value {
    let mut value = serde_json::to_value(routers).expect("metadata serializes");
    let methods = value
        .as_array_mut()
        .into_iter()
        .flatten()
        .filter_map(|router| router.get_mut("methods")?.as_array_mut())
        .flatten();
    for method in methods {
        let hash = method
            .get_mut("schema")
            .and_then(|schema| schema.get_mut("hash"));
        if let Some(hash) = hash
            && let Some(number) = hash.as_u64()
        {
            *hash = Value::String(format!("{number:016x}"));
        }
    }
    value
}

/// A table of the methods, then the named types as Rust items.
fn human(routers: &[RouterInfo]) -> String {
    let rows: Vec<Vec<String>> = routers
        .iter()
        .flat_map(|router| {
            router.methods.iter().map(|method| {
                vec![
                    router.name.to_string(),
                    format!("{:?}", method.kind).to_lowercase(),
                    method.signature(),
                    render::summary(&method.docs),
                ]
            })
        })
        .collect();
    let mut text = render::table(&["ROUTER", "KIND", "METHOD", "DOCS"], &rows);
    let types = connect::all_types(routers);
    if !types.is_empty() {
        text.push_str("\nTYPES\n");
        for definition in &types {
            text.push('\n');
            text.push_str(&render::definition(definition));
        }
    }
    text
}
