//! Listening sockets the way Redis's `anet.c` makes them (`_anetTcpServer`): `getaddrinfo` with
//! `AI_PASSIVE` (so `*` is every IPv4 address and `::*` every IPv6 one), `SO_REUSEADDR`,
//! `IPV6_V6ONLY` on IPv6 sockets (so `bind * -::*` can take the same port twice), `bind`, then
//! `listen` with `tcp-backlog`. Errors are worded like anet's: the failing step, then
//! `strerror` (`bind: Address already in use`).
//!
//! std and mio cannot set `IPV6_V6ONLY` before `bind`, hence the direct system calls.

use std::ffi::{CStr, CString};
use std::net::TcpListener;
use std::os::fd::FromRawFd;

/// The `errno` of the failing step (for the optional-address rule) and anet's message.
pub struct AnetError {
    pub errno: i32,
    pub msg: String,
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn fail(step: &str) -> AnetError {
    let e = std::io::Error::last_os_error();
    AnetError { errno: e.raw_os_error().unwrap_or(0), msg: format!("{step}: {}", super::args::strerror(&e)) }
}

/// `anetTcpServer` / `anetTcp6Server`: IPv6 when the address contains a colon.
pub fn tcp_server(port: u16, addr: &str, backlog: i32) -> Result<TcpListener, AnetError> {
    let ipv6 = addr.contains(':');
    let host = match addr {
        "*" => None,
        "::*" if ipv6 => None,
        a => Some(a),
    };
    let invalid = |msg: &str| AnetError { errno: libc::EINVAL, msg: msg.to_string() };
    let host = host.map(CString::new).transpose().map_err(|_| invalid("Name or service not known"))?;
    let port = CString::new(port.to_string()).map_err(|_| invalid("Servname not supported for ai_socktype"))?;

    // SAFETY: plain libc calls on values we own; `servinfo` is freed on every path below.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_family = if ipv6 { libc::AF_INET6 } else { libc::AF_INET };
        hints.ai_socktype = libc::SOCK_STREAM;
        hints.ai_flags = libc::AI_PASSIVE;
        let mut servinfo: *mut libc::addrinfo = std::ptr::null_mut();
        let rv = libc::getaddrinfo(host.as_ref().map_or(std::ptr::null(), |h| h.as_ptr()), port.as_ptr(), &hints, &mut servinfo);
        if rv != 0 {
            let msg = CStr::from_ptr(libc::gai_strerror(rv)).to_string_lossy().into_owned();
            return Err(AnetError { errno: 0, msg });
        }
        let result = listen_first(servinfo, ipv6, backlog);
        libc::freeaddrinfo(servinfo);
        result
    }
}

/// The loop of `_anetTcpServer`: the first address a socket can be created for is the one used.
unsafe fn listen_first(servinfo: *mut libc::addrinfo, ipv6: bool, backlog: i32) -> Result<TcpListener, AnetError> {
    let mut p = servinfo;
    while let Some(ai) = unsafe { p.as_ref() } {
        p = ai.ai_next;
        let s = unsafe { libc::socket(ai.ai_family, ai.ai_socktype, ai.ai_protocol) };
        if s == -1 {
            continue;
        }
        // Not inherited by anything the process may spawn (Redis: anetCloexec).
        unsafe { libc::fcntl(s, libc::F_SETFD, libc::FD_CLOEXEC) };
        let close_with = |e: AnetError| {
            unsafe { libc::close(s) };
            Err(e)
        };
        let yes: libc::c_int = 1;
        let optlen = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        let yes_ptr = (&yes as *const libc::c_int).cast();
        if ipv6 && unsafe { libc::setsockopt(s, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, yes_ptr, optlen) } == -1 {
            return close_with(fail("setsockopt"));
        }
        if unsafe { libc::setsockopt(s, libc::SOL_SOCKET, libc::SO_REUSEADDR, yes_ptr, optlen) } == -1 {
            return close_with(fail("setsockopt SO_REUSEADDR"));
        }
        if unsafe { libc::bind(s, ai.ai_addr, ai.ai_addrlen) } == -1 {
            return close_with(fail("bind"));
        }
        if unsafe { libc::listen(s, backlog) } == -1 {
            return close_with(fail("listen"));
        }
        // SAFETY: `s` is a listening TCP socket that nothing else owns.
        let listener = unsafe { TcpListener::from_raw_fd(s) };
        listener.set_nonblocking(true).map_err(|e| AnetError { errno: e.raw_os_error().unwrap_or(0), msg: e.to_string() })?;
        return Ok(listener);
    }
    Err(AnetError { errno: errno(), msg: format!("unable to bind socket, errno: {}", errno()) })
}
