//! Which process this is: a registry belongs to the process that made it, and a child made by
//! `fork()` gets a registry of its own on its first call, never the parent's.
//!
//! A forked child has a copy of the parent's memory but only the thread that forked: the
//! parent's handles would record into queues no worker drains, and the registry's locks may
//! be held, in the copy, by threads that do not exist (a read lock taken by a thread that was
//! inside a call at the fork is never released, so the child's shutdown would wait forever).
//! So a child never touches the parent's registry: `fork()` runs a handler (registered with
//! `pthread_atfork` when the first registry is made) that counts the fork, and [`current`]
//! sees that count differ from its registry's and puts a fresh registry in place, leaving the
//! parent's copy alone for good. Its ids are below the fresh registry's first id, so they are
//! refused with `CANDOR_CODE_FORKED` before any lock is taken.
//!
//! The check costs one atomic load per call; asking the kernel for the process id instead
//! would cost a system call (about 130 ns here, as long as a whole record call).

#![allow(unsafe_code)]

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

use crate::registry::Registry;

/// How many `fork()`s separate this process from the one that first called Candor: raised by
/// [`count_fork`] in each child.
static FORKS: AtomicU64 = AtomicU64::new(0);

/// This process's registry (made once per process, never freed: a registry of the parent's
/// found in a child is abandoned, since freeing it would run the parent's handles' drops).
static CURRENT: AtomicPtr<Registry> = AtomicPtr::new(std::ptr::null_mut());

/// Whether [`count_fork`] is registered.
static HANDLER: AtomicBool = AtomicBool::new(false);

/// Runs in the child, in the forking thread, right after `fork()`: one atomic add, which is
/// async-signal-safe as a fork handler must be.
#[cfg_attr(not(unix), allow(dead_code))]
extern "C" fn count_fork() {
    FORKS.fetch_add(1, Ordering::AcqRel);
}

#[cfg(unix)]
unsafe extern "C" {
    /// POSIX: `prepare` runs before `fork()`, `parent` and `child` after it in each process.
    /// glibc registers the handlers with the calling library's handle and forgets them if the
    /// library is unloaded.
    fn pthread_atfork(
        prepare: Option<extern "C" fn()>,
        parent: Option<extern "C" fn()>,
        child: Option<extern "C" fn()>,
    ) -> std::ffi::c_int;
}

/// Registers [`count_fork`] once per process (a child inherits the registration).
fn watch_forks() {
    if HANDLER.swap(true, Ordering::AcqRel) {
        return;
    }
    #[cfg(unix)]
    // SAFETY: `pthread_atfork` is given a function with the signature it expects, which lives
    // as long as this library; it fails only without memory, and then forks go unnoticed as
    // they did before this check existed.
    unsafe {
        pthread_atfork(None, None, Some(count_fork));
    }
}

/// This process's registry, made on the first call and again on the first call after a fork.
#[inline]
pub(crate) fn current() -> &'static Registry {
    let forks = FORKS.load(Ordering::Acquire);
    let registry = CURRENT.load(Ordering::Acquire);
    // SAFETY: a non-NULL pointer in `CURRENT` comes from `Box::into_raw` in `replace` and is
    // never freed, so it is valid for the rest of the process.
    match unsafe { registry.as_ref() } {
        Some(registry) if registry.forks() == forks => registry,
        _ => replace(forks),
    }
}

/// Puts a registry for this process in place (the first one, or a forked child's), unless a
/// racing thread of this process already did.
#[cold]
fn replace(mut forks: u64) -> &'static Registry {
    watch_forks();
    loop {
        let old = CURRENT.load(Ordering::Acquire);
        // SAFETY: as in `current`.
        let old_ref = unsafe { old.as_ref() };
        if let Some(registry) = old_ref
            && registry.forks() == forks
        {
            return registry;
        }
        let fresh = Box::into_raw(Box::new(Registry::new(forks, old_ref)));
        match CURRENT.compare_exchange(old, fresh, Ordering::AcqRel, Ordering::Acquire) {
            // The old registry (the parent's copy, if any) is left as it is, on purpose.
            // SAFETY: `fresh` was just made by `Box::into_raw` and is never freed from here on.
            Ok(_) => return unsafe { &*fresh },
            Err(_) => {
                // SAFETY: `fresh` was never shared: the exchange failed, so only this thread
                // holds it, and it is freed once.
                drop(unsafe { Box::from_raw(fresh) });
            }
        }
        forks = FORKS.load(Ordering::Acquire);
    }
}
