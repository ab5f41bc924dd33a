//! SIGINT / SIGTERM into the event loop, through a self-pipe.
//!
//! Redis's `sigShutdownHandler` only sets `server.shutdown_asap`, and `serverCron` does the
//! shutdown later, on the main thread. Same idea here: the handler writes the signal number to one
//! end of a socket pair (`write` is async-signal-safe), the other end is registered with the poll,
//! and the loop wakes up and shuts down between two turns, never in the middle of a command.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::sync::atomic::{AtomicI32, Ordering};

use mio::net::UnixStream;
use mio::{Interest, Registry, Token};

/// The write end of the pipe, for the handler (it cannot take arguments).
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    let fd = WAKE_FD.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    let byte = sig as u8;
    // SAFETY: write(2) on a non-blocking socket is async-signal-safe; errno is saved and restored
    // so that the interrupted code does not see the handler's errno. A full pipe only means a
    // signal is already pending.
    unsafe {
        let saved = *errno_location();
        libc::write(fd, (&byte as *const u8).cast(), 1);
        *errno_location() = saved;
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
unsafe fn errno_location() -> *mut libc::c_int {
    unsafe { libc::__errno_location() }
}
#[cfg(not(any(target_os = "linux", target_os = "android")))]
unsafe fn errno_location() -> *mut libc::c_int {
    unsafe { libc::__error() }
}

pub struct Signals {
    rx: UnixStream,
    /// Kept open for the handler's lifetime (the whole process).
    _tx: StdUnixStream,
}

impl Signals {
    /// Installs the handlers for SIGINT and SIGTERM and registers the pipe under `token`.
    pub fn install(registry: &Registry, token: Token) -> std::io::Result<Signals> {
        let (tx, rx) = StdUnixStream::pair()?;
        tx.set_nonblocking(true)?;
        rx.set_nonblocking(true)?;
        let mut rx = UnixStream::from_std(rx);
        registry.register(&mut rx, token, Interest::READABLE)?;
        WAKE_FD.store(tx.as_raw_fd(), Ordering::Relaxed);
        for sig in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: a zeroed sigaction is valid; the handler only calls async-signal-safe code.
            unsafe {
                let mut act: libc::sigaction = std::mem::zeroed();
                act.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                act.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut act.sa_mask);
                if libc::sigaction(sig, &act, std::ptr::null_mut()) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
        }
        Ok(Signals { rx, _tx: tx })
    }

    /// The last signal received since the previous call, if any.
    pub fn take(&mut self) -> Option<i32> {
        let mut buf = [0u8; 16];
        let mut last = None;
        while let Ok(n) = self.rx.read(&mut buf) {
            if n == 0 {
                break;
            }
            last = buf.get(n - 1).map(|&b| i32::from(b));
        }
        last
    }
}

/// `SIGINT` → `"SIGINT"`, as Redis names them in its log.
pub fn name(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "shutdown signal",
    }
}
