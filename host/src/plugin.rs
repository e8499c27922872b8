//! Running a component that is not ours: what it may import, and recognising the output cap.
//!
//! A plugin owns nothing: the host holds the credentials (passed per call), the clock (the
//! `real-now` import) and every limit (memory, deadline, output: see [`crate::SignerBuilder`]).
//! So a plugin may import `realsig:sigv4/real-time` and nothing else; anything more (a
//! filesystem, sockets, another clock) is refused by name before the component is compiled.

use wasmparser::{Encoding, Parser, Payload};

use crate::Error;

/// The one import a signing component may have.
pub const ALLOWED_IMPORT: &str = "realsig:sigv4/real-time";

/// Refuses `bytes` unless it is a component whose imports are all [`ALLOWED_IMPORT`]. Only
/// the outer component's imports count: nested modules and components can only be satisfied
/// from inside it. (Reading the import section is a parse, not a compile: a refused component
/// costs no compilation and leaves nothing in the cache.)
pub fn check_imports(bytes: &[u8]) -> Result<(), Error> {
    let invalid =
        |e: wasmparser::BinaryReaderError| Error::InvalidComponent(format!("it is not a valid component: {e}"));
    let mut depth = 0usize;
    let mut refused = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(invalid)? {
            Payload::Version { encoding, .. } => {
                if depth == 0 && encoding != Encoding::Component {
                    return Err(Error::InvalidComponent(
                        "it is a core wasm module, not a component (make one with `wasm-tools component new`)".into(),
                    ));
                }
                depth += 1;
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(imports) if depth == 1 => {
                for import in imports {
                    let name = import.map_err(invalid)?.name.name;
                    if name != ALLOWED_IMPORT {
                        refused.push(format!("`{name}`"));
                    }
                }
            }
            _ => {}
        }
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidComponent(format!(
            "it imports {}; a signing component may import only `{ALLOWED_IMPORT}`",
            refused.join(", ")
        )))
    }
}

/// True when `e` is wasmtime refusing to lift more than the store's hostcall fuel, which
/// [`crate::Signer`] sets to the output cap. Wasmtime keeps that error type private, so this
/// matches its message; `tests/all/plugin.rs` (the 100 MB component) fails if the message changes.
pub(crate) fn is_output_cap(e: &wasmtime::Error) -> bool {
    e.chain().any(|c| {
        c.to_string()
            .contains("fuel allocated for hostcalls has been exhausted")
    })
}
