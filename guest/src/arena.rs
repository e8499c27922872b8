//! The component's allocator: a per-call arena in front of std's dlmalloc.
//!
//! A signature allocates a few dozen short-lived blocks: the strings the host lowers through
//! `cabi_realloc`, the canonical request's parts, the result the host lifts and then frees in
//! post-return. In dlmalloc each of those cost a malloc and a free. Here they are bumped off
//! one arena, and the arena starts over when its last block is freed, which happens once per
//! call, after post-return. Measured in instructions per get-vanilla signature in BENCHMARKS.md.
//!
//! Blocks that outlive a call (the key cache, resources) must not sit in the arena, or it
//! could never start over: code that keeps memory runs inside [`persistent`], whose
//! allocations go to dlmalloc. Forgetting that costs speed, never safety: the arena counts
//! its live blocks and reuses memory only when none is left; until then, and when it is
//! full, blocks come from dlmalloc.
//!
//! No crate does this: bump allocators (`bumpalo`) are not global allocators, and global
//! ones (`talc`, `lol_alloc`) do not know when a call ends. The component is single-threaded
//! (wasm32-unknown-unknown without atomics), so plain cells suffice.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Size of the arena: a get-vanilla signature uses about 3 KiB, a large one (many headers,
/// a long presigned URL) a few tens.
const ARENA_BYTES: usize = 64 * 1024;

struct Arena {
    /// Start of the arena's memory (0 until the first allocation).
    base: Cell<usize>,
    /// Next free byte.
    next: Cell<usize>,
    /// Arena blocks not yet freed.
    live: Cell<usize>,
    /// Depth of [`persistent`] scopes.
    persistent: Cell<u32>,
}

// SAFETY: the component runs on one thread (wasm32-unknown-unknown has no threads here).
#[expect(unsafe_code, reason = "a global allocator is an unsafe trait")]
unsafe impl Sync for Arena {}

#[global_allocator]
static ARENA: Arena = Arena {
    base: Cell::new(0),
    next: Cell::new(0),
    live: Cell::new(0),
    persistent: Cell::new(0),
};

/// Runs `f` with its allocations in dlmalloc: for memory that outlives the call.
pub(crate) fn persistent<T>(f: impl FnOnce() -> T) -> T {
    struct Depth;
    impl Drop for Depth {
        fn drop(&mut self) {
            ARENA.persistent.set(ARENA.persistent.get() - 1);
        }
    }
    ARENA.persistent.set(ARENA.persistent.get() + 1);
    let _depth = Depth;
    f()
}

impl Arena {
    fn contains(&self, ptr: *mut u8) -> bool {
        let base = self.base.get();
        base != 0 && (base..base + ARENA_BYTES).contains(&(ptr as usize))
    }

    /// A block from the arena, or null when it does not fit (or memory that lasts is asked for).
    fn bump(&self, layout: Layout) -> *mut u8 {
        if self.persistent.get() > 0 {
            return core::ptr::null_mut();
        }
        if self.base.get() == 0 {
            // SAFETY: a non-zero size and a valid alignment.
            #[expect(unsafe_code, reason = "the arena's memory comes from the system allocator")]
            let base = unsafe { System.alloc(Layout::from_size_align_unchecked(ARENA_BYTES, 16)) };
            if base.is_null() {
                return base;
            }
            self.base.set(base as usize);
            self.next.set(base as usize);
        }
        let start = self.next.get().next_multiple_of(layout.align());
        match start.checked_add(layout.size()) {
            Some(end) if end <= self.base.get() + ARENA_BYTES => {
                self.next.set(end);
                self.live.set(self.live.get() + 1);
                start as *mut u8
            }
            _ => core::ptr::null_mut(),
        }
    }
}

// Each method out of line: inlined into every allocation site, they made the component 22 KB
// larger.
#[expect(unsafe_code, reason = "a global allocator is an unsafe trait")]
unsafe impl GlobalAlloc for Arena {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = self.bump(layout);
        if ptr.is_null() {
            // SAFETY: the caller's layout, passed on.
            unsafe { System.alloc(layout) }
        } else {
            ptr
        }
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if self.contains(ptr) {
            let live = self.live.get() - 1;
            self.live.set(live);
            if live == 0 {
                self.next.set(self.base.get());
            } else if ptr as usize + layout.size() == self.next.get() {
                // The last block: give its bytes back at once.
                self.next.set(ptr as usize);
            }
        } else {
            // SAFETY: the block came from `System.alloc` with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !self.contains(ptr) {
            // SAFETY: the block came from `System.alloc` with this layout.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // The last block grows or shrinks in place when the arena has room.
        if ptr as usize + layout.size() == self.next.get() && ptr as usize + new_size <= self.base.get() + ARENA_BYTES {
            self.next.set(ptr as usize + new_size);
            return ptr;
        }
        // SAFETY: `new_size` is non-zero and fits the alignment (GlobalAlloc's contract).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as above.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are valid for the smaller of the two sizes and distinct.
            unsafe {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}
