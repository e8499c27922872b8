//! Hostile signing components, built here from core WAT plus our WIT (wit-component), to
//! test what the host does with a plugin it does not trust (tests/plugin.rs, tests/cli.rs).
//!
//! [`hostile`] implements the whole realsig world. Its `sign` (and `sign-sigv4a`) looks at the
//! request method's first letter:
//! - `L`: loops forever;
//! - `B`: grows its memory by 1 MiB at a time, forever (a memory bomb);
//! - `T`: traps (`unreachable`);
//! - `H`: returns [`HUGE_HEADERS`] headers of [`HUGE_VALUE`] bytes each, ~100 MB, all
//!   pointing at the same 1,000 bytes of its memory (2 MB of list), so it fits under the
//!   memory cap and only the output cap stands between it and the host's allocator;
//! - `Z`: a well-formed result, but signed at `u64::MAX` seconds since 1970 (a time the
//!   host must not add to `UNIX_EPOCH` unchecked);
//! - anything else: a well-formed result whose signature is the number of calls this
//!   instance has served (`"1"`, `"2"`, ...): a fresh instance answers `"1"`. The signing
//!   time is what `real-now` gave; its failure is returned as `clock-unavailable`.
//!
//! Every other export traps. [`with_filesystem_import`] is the same component importing
//! `wasi:filesystem/preopens@0.2.0` as well.

use std::path::Path;

use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::Resolve;

/// Headers the `H` request returns.
pub const HUGE_HEADERS: usize = 100_000;
/// Bytes in each of their values.
pub const HUGE_VALUE: usize = 1_000;

/// The hostile component.
pub fn hostile() -> Vec<u8> {
    build(&core_wat(false), None)
}

/// The hostile component, also importing a stand-in for `wasi:filesystem/preopens` (only its
/// name matters: the host must refuse it before anything runs).
pub fn with_filesystem_import() -> Vec<u8> {
    build(&core_wat(true), Some(FILESYSTEM_WORLD))
}

/// A component implementing only part of the world: `signer`, without `chunked`,
/// `post-policy` and `event-stream`.
pub fn partial() -> Vec<u8> {
    let wat = r#"(module
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
  (func (export "realsig:sigv4/signer#sign") (param i32) (result i32) unreachable)
  (func (export "realsig:sigv4/signer#sign-sigv4a") (param i32) (result i32) unreachable)
)"#;
    build(wat, Some(PARTIAL_WORLD))
}

const FILESYSTEM_WORLD: &str = "package test:plugins;
world with-filesystem {
    include realsig:sigv4/realsig;
    import wasi:filesystem/preopens@0.2.0;
}";

const PARTIAL_WORLD: &str = "package test:plugins;
world partial {
    import realsig:sigv4/real-time;
    export realsig:sigv4/signer;
}";

const FILESYSTEM_STAND_IN: &str = "package wasi:filesystem@0.2.0;
interface preopens {
    get-directories: func() -> list<string>;
}";

fn build(wat: &str, world: Option<&str>) -> Vec<u8> {
    let mut module = wat::parse_str(wat).expect("hostile WAT parses");
    let mut resolve = Resolve::new();
    let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    let (ours, _) = resolve.push_dir(&wit).expect("our WIT");
    let world = match world {
        None => resolve.select_world(&[ours], Some("realsig")),
        Some(text) => {
            resolve
                .push_str("filesystem.wit", FILESYSTEM_STAND_IN)
                .expect("stand-in WIT");
            let pkg = resolve.push_str("plugins.wit", text).expect("test world");
            resolve.select_world(&[pkg], None)
        }
    }
    .expect("world");
    wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8, false)
        .expect("embed metadata");
    ComponentEncoder::default()
        .module(&module)
        .and_then(|e| e.validate(true).encode())
        .expect("hostile component encodes")
}

/// The core module. Memory map: 64 the URL, 96 a header name, 128 the signature digit,
/// 200 real-now's result, 256 sign's return area, 1024 the 1,000-byte value, 4096 the huge
/// header list, and the argument heap from 2 MiB (reset after each call).
fn core_wat(filesystem: bool) -> String {
    let fs_import = if filesystem {
        r#"(import "wasi:filesystem/preopens@0.2.0" "get-directories" (func $dirs (param i32)))"#
    } else {
        ""
    };
    let fs_call = if filesystem {
        "(if (i32.eq (local.get $m) (i32.const 70)) (then (call $dirs (i32.const 200))))"
    } else {
        ""
    };
    let trap = |params: usize| {
        let p = "i32 ".repeat(params);
        format!("(param {p}) (result i32) unreachable")
    };
    format!(
        r#"(module
  (import "realsig:sigv4/real-time" "real-now" (func $now (param i32)))
  {fs_import}
  (memory (export "memory") 33)
  (global $calls (mut i32) (i32.const 0))
  (global $heap (mut i32) (i32.const 2097152))
  (data (i32.const 64) "https://example.com/")
  (data (i32.const 96) "x-h")

  (func $realloc (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $ptr i32) (local $end i32)
    (local.set $ptr (i32.and (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get 2))))
    (local.set $end (i32.add (local.get $ptr) (local.get 3)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end)
                          (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1)))
                        (i32.const -1))
              (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $ptr))

  (func $sign (export "realsig:sigv4/signer#sign") (param $args i32) (result i32)
    (local $m i32) (local $i i32) (local $at i32)
    (global.set $heap (i32.const 2097152))
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (local.set $m (i32.load8_u (i32.load (local.get $args))))
    {fs_call}
    ;; L: spin
    (if (i32.eq (local.get $m) (i32.const 76)) (then (loop $spin (br $spin))))
    ;; B: grow 1 MiB at a time, forever
    (if (i32.eq (local.get $m) (i32.const 66))
      (then (loop $grow (drop (memory.grow (i32.const 16))) (br $grow))))
    ;; T: trap
    (if (i32.eq (local.get $m) (i32.const 84)) (then unreachable))
    ;; the time, or the clock's refusal
    (call $now (i32.const 200))
    (if (i32.load8_u (i32.const 200))
      (then
        (i32.store8 (i32.const 256) (i32.const 1))
        (i32.store8 (i32.const 264) (i32.const 7))
        (i32.store (i32.const 268) (i32.load (i32.const 208)))
        (i32.store (i32.const 272) (i32.load (i32.const 212)))
        (return (i32.const 256))))
    (i32.store8 (i32.const 128) (i32.add (i32.const 48) (global.get $calls)))
    (i32.store8 (i32.const 256) (i32.const 0))
    (i32.store (i32.const 264) (i32.const 0))
    (i32.store (i32.const 268) (i32.const 0))
    ;; H: {HUGE_HEADERS} headers, each `x-h: ` + the same {HUGE_VALUE} bytes
    (if (i32.eq (local.get $m) (i32.const 72))
      (then
        (memory.fill (i32.const 1024) (i32.const 97) (i32.const {HUGE_VALUE}))
        (local.set $i (i32.const 0))
        (loop $each
          (local.set $at (i32.add (i32.const 4096) (i32.mul (local.get $i) (i32.const 20))))
          (i32.store (local.get $at) (i32.const 96))
          (i32.store offset=4 (local.get $at) (i32.const 3))
          (i32.store offset=8 (local.get $at) (i32.const 1024))
          (i32.store offset=12 (local.get $at) (i32.const {HUGE_VALUE}))
          (i32.store8 offset=16 (local.get $at) (i32.const 0))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $each (i32.lt_u (local.get $i) (i32.const {HUGE_HEADERS}))))
        (i32.store (i32.const 264) (i32.const 4096))
        (i32.store (i32.const 268) (i32.const {HUGE_HEADERS}))))
    (i32.store (i32.const 272) (i32.const 64))
    (i32.store (i32.const 276) (i32.const 20))
    (i32.store (i32.const 280) (i32.const 128))
    (i32.store (i32.const 284) (i32.const 1))
    (i64.store (i32.const 288) (i64.load (i32.const 208)))
    (i32.store (i32.const 296) (i32.load (i32.const 216)))
    (i32.store8 (i32.const 304) (i32.const 0))
    (i32.store8 (i32.const 316) (i32.const 0))
    ;; Z: a signing time of u64::MAX seconds
    (if (i32.eq (local.get $m) (i32.const 90)) (then (i64.store (i32.const 288) (i64.const -1))))
    (i32.const 256))

  (func (export "realsig:sigv4/signer#sign-sigv4a") (param i32) (result i32)
    (call $sign (local.get 0)))
  (func (export "realsig:sigv4/chunked#start") {t1})
  (func (export "realsig:sigv4/chunked#[method]chunk-signer.sign-chunk") {t3})
  (func (export "realsig:sigv4/chunked#[method]chunk-signer.sign-trailer") {t3})
  (func (export "realsig:sigv4/chunked#[dtor]chunk-signer") (param i32))
  (func (export "realsig:sigv4/post-policy#sign-post-policy") {t14})
  (func (export "realsig:sigv4/event-stream#open") {t6})
  (func (export "realsig:sigv4/event-stream#[method]message-signer.sign-message") {t10})
  (func (export "realsig:sigv4/event-stream#[dtor]message-signer") (param i32))
)"#,
        t1 = trap(1),
        t3 = trap(3),
        t6 = trap(6),
        t10 = trap(10),
        t14 = trap(14),
    )
}
