//! Compiling the component once: an on-disk cache of precompiled code.
//!
//! Compiling the component with Cranelift costs a few hundred milliseconds on this machine
//! kind; deserialising precompiled code costs about half a millisecond. Entries are keyed by
//! the SHA-256 of the component and the engine's compatibility hash (wasmtime version and
//! every setting that affects code), so a new wasmtime or a changed config misses cleanly.
//!
//! Trust: a cache entry is native code. It is only read from a directory the user owns
//! (their cache dir or one they name), like wasmtime's own cache. Anyone who can write there
//! can already change what the user runs.
//!
//! Integrity: wasmtime checks an entry's header, not its code, so a truncated or flipped
//! entry (a full disk, a bad sector, a crash mid-write) used to crash every later run. Each
//! entry now ends in a trailer: a magic, the code's length and its SHA-256; an entry whose
//! trailer does not match is recompiled and rewritten, never deserialised. Checking costs
//! one SHA-256 of the ~0.9 MB entry (SHA-NI: well under a millisecond).

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::{env, fs};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The default cache directory: `$REALSIG_CACHE_DIR`, else `$XDG_CACHE_HOME/realsig`, else
/// `$HOME/.cache/realsig`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = env::var_os("REALSIG_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("realsig"));
    }
    env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .map(|h| PathBuf::from(h).join(".cache").join("realsig"))
}

/// Loads `bytes` as a component, from `dir`'s cache when present, else compiling it and
/// storing the result there (best effort: an unwritable cache only costs the compile).
pub fn load(engine: &Engine, bytes: &[u8], dir: Option<&Path>) -> wasmtime::Result<Component> {
    let Some(dir) = dir else {
        return Component::new(engine, bytes);
    };
    let path = dir.join(entry_name(engine, bytes));
    if let Some(code) = read_entry(&path)
        && let Ok(component) = deserialize(engine, &code)
    {
        return Ok(component);
    }
    let compiled = engine.precompile_component(bytes)?;
    if fs::create_dir_all(dir).is_ok() {
        let tmp = dir.join(format!(".tmp-{}", std::process::id()));
        let mut entry = compiled.clone();
        entry.extend_from_slice(&trailer(&compiled));
        if fs::write(&tmp, &entry).is_ok() && fs::rename(&tmp, &path).is_err() {
            let _ = fs::remove_file(&tmp);
        }
    }
    // SAFETY: `compiled` was produced by `precompile_component` of this very engine just now.
    #[allow(unsafe_code)]
    unsafe {
        Component::deserialize(engine, &compiled)
    }
}

/// Marks the trailer of an entry written by this version of the cache.
const MAGIC: &[u8; 8] = b"RSIGCW01";
const TRAILER_LEN: usize = 8 + 8 + 32;
/// Largest entry read (ours is under 1 MB).
const MAX_ENTRY: u64 = 256 << 20;

/// `MAGIC`, the code's length (little-endian u64) and its SHA-256.
fn trailer(code: &[u8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(TRAILER_LEN);
    t.extend_from_slice(MAGIC);
    t.extend_from_slice(&(code.len() as u64).to_le_bytes());
    t.extend_from_slice(&Sha256::digest(code));
    t
}

/// The code of the entry at `path`, if it is there and its trailer matches it.
fn read_entry(path: &Path) -> Option<Vec<u8>> {
    let mut entry = crate::files::read_capped(path, MAX_ENTRY).ok()?;
    let code_len = entry.len().checked_sub(TRAILER_LEN)?;
    if entry[code_len..] != trailer(&entry[..code_len])[..] {
        return None;
    }
    entry.truncate(code_len);
    Some(entry)
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, code: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: the code is from the user's own cache directory, named by the hash of the
    // component and of this engine's compatibility settings, written by
    // `precompile_component` with a trailer whose length and SHA-256 it has just matched
    // (see the module docs for the trust model). wasmtime checks its header against the
    // engine and refuses mismatches.
    unsafe { Component::deserialize(engine, code) }
}

fn entry_name(engine: &Engine, bytes: &[u8]) -> String {
    let mut engine_hash = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut engine_hash);
    let component_hash = hex::encode(&Sha256::digest(bytes)[..16]);
    format!("{component_hash}-{:016x}.cwasm", engine_hash.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A truncated entry, a flipped byte in the code, and an entry without a trailer (the
    /// old format) are all recompiled, and the entry rewritten whole.
    #[test]
    fn a_damaged_entry_is_recompiled_not_run() {
        let engine = Engine::default();
        let wat = br#"(component (core module (func (export "f"))))"#;
        let bytes = wat::parse_bytes(wat).expect("wat").into_owned();
        let dir = tempfile::tempdir().unwrap();
        load(&engine, &bytes, Some(dir.path())).expect("compiles");
        let path = dir.path().join(entry_name(&engine, &bytes));
        let good = fs::read(&path).unwrap();
        assert!(read_entry(&path).is_some());
        let code_len = good.len() - TRAILER_LEN;
        let mut flipped = good.clone();
        flipped[code_len / 2] ^= 0x40;
        for damaged in [
            good[..good.len() / 2].to_vec(),
            flipped,
            good[..code_len].to_vec(),
            Vec::new(),
        ] {
            fs::write(&path, &damaged).unwrap();
            assert!(read_entry(&path).is_none(), "a damaged entry is not read");
            load(&engine, &bytes, Some(dir.path())).expect("recompiled");
            assert!(read_entry(&path).is_some(), "and rewritten whole");
        }
    }
}
