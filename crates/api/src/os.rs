//! The places where the server asks the operating system for something the standard library
//! does not offer. Two only tune performance, one hides a typed password; on other systems they
//! do nothing.
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

/// Turns off the echo of what is typed on the terminal on standard input until dropped, so that
/// a password typed at a prompt does not show on the screen.
pub struct HiddenTyping {
    #[cfg(unix)]
    restore: Option<libc::termios>,
}

impl HiddenTyping {
    pub fn start() -> Self {
        #[cfg(unix)]
        // SAFETY: tcgetattr fills the struct we own; tcsetattr reads it. Descriptor 0 is stdin;
        // on anything but a terminal both fail and nothing changes.
        unsafe {
            let mut settings: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut settings) != 0 {
                return Self { restore: None };
            }
            let original = settings;
            settings.c_lflag &= !libc::ECHO;
            settings.c_lflag |= libc::ECHONL;
            let hidden = libc::tcsetattr(0, libc::TCSANOW, &settings) == 0;
            Self {
                restore: hidden.then_some(original),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }
}

impl Drop for HiddenTyping {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(original) = self.restore {
            // SAFETY: as above, with the settings read at the start.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, &original);
            }
        }
    }
}
