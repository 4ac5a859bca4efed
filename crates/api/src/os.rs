//! The two places where the server asks the operating system for something the standard library
//! does not offer. Both only tune performance: on other systems they do nothing.
#![allow(unsafe_code)]

/// Lowers the CPU priority of the calling thread (nice 10: about a tenth of the weight of a
/// normal thread). On Linux the nice value belongs to the thread, so the password-hashing
/// threads yield the cores to the request workers while a login flood keeps every core busy,
/// yet still get a share when other programs (the database) keep the machine busy.
pub fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments; `0` names the calling thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
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
