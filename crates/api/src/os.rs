//! The two places where the server asks the operating system for something the standard library
//! does not offer. Both only tune performance: on other systems they do nothing.
#![allow(unsafe_code)]

/// Puts the calling thread in the idle scheduling class (`SCHED_IDLE`): it runs when no normal
/// thread wants the core, and any normal thread that wakes up takes the core from it at once.
/// The password-hashing threads run so, so that a login flood which keeps every core hashing
/// does not delay the other requests; logins get what is left, all of it when nothing else
/// runs. (Plain nice values were measured and left `GET /me` 5–6 times slower at p99.)
pub fn yield_to_every_other_thread() {
    #[cfg(target_os = "linux")]
    // SAFETY: sched_setscheduler reads the parameter struct we pass; `0` names this thread.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
    }
}

/// Buffers of a megabyte or more (uploaded files) get mappings of their own that go back to the
/// system when freed. By default glibc raises this threshold after the first such free and then
/// keeps the memory of every upload in its per-thread arenas, where it stays.
pub fn return_large_buffers_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc parameter; it is called at start-up, before the server.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
