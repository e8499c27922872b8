//! The host's one `bindgen!` of the realsig world (wasmtime's pattern: one bindings file,
//! one host file per imported interface, here `real_time.rs`).

wasmtime::component::bindgen!({
    world: "realsig",
    path: "wit", // a link to ../wit in the repository, the files themselves in the packaged crate
    // Records are plain data; comparing them keeps tests and callers simple.
    additional_derives: [PartialEq, Eq],
});
