//! `aof-lab serve` against hostile or huge input, compared byte for byte with a real
//! redis-server 7.0.15 fed the same bytes: protocol limits (`proto-max-bulk-len`, multibulk and
//! bulk length lines, inline size, the 64 KB cap on an unterminated line), protected mode for a
//! non-loopback client, and `maxmemory` set on the command line.
#![cfg(unix)]

mod common;
mod serve_support;

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use common::redis::RedisServer;
use serve_support::{Serve, temp_dir};

/// Sends `input` on a fresh connection and returns everything the server sent back until it
/// closed the connection (`<EOF>` appended) or, once it has answered, stayed silent for 400 ms
/// (a loaded machine may take longer for the first byte: that wait is up to 10 s).
fn exchange(host: IpAddr, port: u16, input: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect((host, port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(400))).expect("timeout");
    // A server that closes while we still write is part of the answer, not a test error.
    let _ = s.write_all(input);
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => {
                out.extend_from_slice(b"<EOF>");
                break;
            }
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                out.extend_from_slice(b"<EOF>");
                break;
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) && out.is_empty() => {}
            Err(_) => break,
        }
    }
    out
}

fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned();
    format!("{s:?}{}", if b.len() > 300 { format!(" ... ({} bytes)", b.len()) } else { String::new() })
}

fn serve() -> Serve {
    Serve::start_in(temp_dir("hardening"), &["--enable-debug-command", "yes"])
}

const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

#[test]
fn protocol_errors_match_redis_byte_for_byte() {
    let big = |prefix: &[u8], fill: u8| {
        let mut v = prefix.to_vec();
        v.extend(std::iter::repeat_n(fill, 70_000));
        v
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("multibulk count not a number", b"*abc\r\n".to_vec()),
        ("multibulk count above INT_MAX", b"*3000000000\r\n".to_vec()),
        ("negative bulk length", b"*1\r\n$-5\r\n".to_vec()),
        ("bulk length above proto-max-bulk-len", b"*1\r\n$600000000\r\n".to_vec()),
        ("bulk length not a number", b"*1\r\n$abc\r\n".to_vec()),
        ("expected '$'", b"PING\r\n*2\r\n$3\r\nGET\r\n:1\r\n".to_vec()),
        ("unterminated inline line over 64 KB", big(b"", b'a')),
        ("unterminated multibulk count over 64 KB", big(b"*", b'1')),
        ("unterminated bulk length over 64 KB", big(b"*1\r\n$", b'1')),
        ("unbalanced double quotes", b"PING\r\nSET \"a b\r\nPING\r\n".to_vec()),
        ("unbalanced single quotes", b"SET k 'x\r\n".to_vec()),
        ("empty and negative counts are skipped", b"*0\r\n*-1\r\nPING\r\n\r\n\r\nPING\r\n".to_vec()),
        ("bulk data not followed by CRLF", b"*2\r\n$4\r\nECHO\r\n$3\r\nabcXYPING\r\n".to_vec()),
        ("inline with quotes and escapes", b"ECHO \"a\\x41\\n\" 'b c'\r\nECHO \"x\"y\r\n".to_vec()),
        ("unknown command then more", b"FOO bar\r\nPING\r\n".to_vec()),
        ("a 1 MB value in one command", {
            let mut v = b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$1048576\r\n".to_vec();
            v.extend(std::iter::repeat_n(b'v', 1_048_576));
            v.extend_from_slice(b"\r\nSTRLEN big\r\n");
            v
        }),
    ];
    let real = RedisServer::start();
    let ours = serve();
    let mut failures = Vec::new();
    for (name, input) in &cases {
        let want = exchange(LOCAL, real.port, input);
        let got = exchange(LOCAL, ours.port, input);
        assert!(!want.is_empty(), "{name}: redis-server said nothing");
        if std::env::var_os("HARDENING_TRACE").is_some() {
            println!("{name}: {}", show(&want));
        }
        if want != got {
            failures.push(format!("{name}:\n  redis: {}\n  serve: {}", show(&want), show(&got)));
        }
    }
    // proto-max-bulk-len is a runtime setting: the limit moves with it.
    for port in [real.port, ours.port] {
        assert_eq!(exchange(LOCAL, port, b"CONFIG SET proto-max-bulk-len 1mb\r\n"), b"+OK\r\n");
    }
    for (name, input) in [
        ("bulk over a lowered proto-max-bulk-len", b"*2\r\n$4\r\nECHO\r\n$2000000\r\n".to_vec()),
        ("bulk at the lowered limit", {
            let mut v = b"*2\r\n$6\r\nSTRLEN\r\n$1048576\r\n".to_vec();
            v.extend(std::iter::repeat_n(b'x', 1_048_576));
            v.extend_from_slice(b"\r\n");
            v
        }),
    ] {
        let want = exchange(LOCAL, real.port, &input);
        let got = exchange(LOCAL, ours.port, &input);
        if want != got {
            failures.push(format!("{name}:\n  redis: {}\n  serve: {}", show(&want), show(&got)));
        }
    }
    assert!(failures.is_empty(), "{} of {} inputs answered differently:\n{}", failures.len(), cases.len() + 2, failures.join("\n"));
    // Each error reply above is counted by its code, the protocol errors too (INFO errorstats).
    let errorstats = |port| show(&exchange(LOCAL, port, b"INFO errorstats\r\n"));
    assert_eq!(errorstats(ours.port), errorstats(real.port));
    // The server survived all of it.
    assert_eq!(exchange(LOCAL, ours.port, b"PING\r\n"), b"+PONG\r\n");
}

/// This machine's own non-loopback IPv4 address, if it has one (the route a packet to a
/// documentation address would take; nothing is sent).
fn own_non_loopback_ip() -> Option<IpAddr> {
    let s = UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok().or_else(|| s.connect("10.255.255.1:9").ok())?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn serve_binds_loopback_by_default_and_protected_mode_denies_others() {
    let Some(ip) = own_non_loopback_ip() else {
        panic!("this test needs a non-loopback IPv4 address on the machine to connect from (none found)");
    };
    // Default bind: only 127.0.0.1 (and -::1) listen; the other address is refused by the kernel.
    let ours = serve();
    assert!(TcpStream::connect((ip, ours.port)).is_err(), "serve listens on {ip} without being asked to");
    drop(ours);

    // Bound to both: loopback clients are served, the others get Redis's DENIED and a close.
    let bind = format!("127.0.0.1 {ip}");
    let ours = Serve::start_in(temp_dir("protected"), &["--bind", &bind]);
    let real = RedisServer::start_in(RedisServer::new_dir(), &["--bind", &bind, "--appendonly", "no"]).expect("redis-server");
    for (label, host) in [("loopback", LOCAL), ("non-loopback", ip)] {
        let want = exchange(host, real.port, b"PING\r\n");
        let got = exchange(host, ours.port, b"PING\r\n");
        assert_eq!(show(&got), show(&want), "{label} client");
        assert_eq!(got, want, "{label} client");
    }
    assert!(exchange(ip, ours.port, b"PING\r\n").starts_with(b"-DENIED Redis is running in protected mode"));
    // protected-mode no (or CONFIG SET from loopback) lets them in.
    for port in [real.port, ours.port] {
        assert_eq!(exchange(LOCAL, port, b"CONFIG SET protected-mode no\r\n"), b"+OK\r\n");
        assert_eq!(exchange(ip, port, b"PING\r\n"), b"+PONG\r\n");
    }
}

#[test]
fn maxmemory_from_the_command_line_refuses_writes_like_redis() {
    let ours = Serve::start_in(temp_dir("maxmemory"), &["--maxmemory", "1", "--appendonly", "yes"]);
    let real = RedisServer::start_in(RedisServer::new_dir(), &["--maxmemory", "1", "--appendonly", "yes"]).expect("redis-server");
    let input = b"SET a 1\r\nGET a\r\nMULTI\r\nPING\r\nEXEC\r\nCONFIG GET maxmemory\r\nCONFIG SET maxmemory 0\r\nSET a 1\r\nGET a\r\n";
    let want = exchange(LOCAL, real.port, input);
    let got = exchange(LOCAL, ours.port, input);
    assert_eq!(show(&got), show(&want));
    assert!(want.starts_with(b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"));
    // INFO memory agrees with the config.
    let info = exchange(LOCAL, ours.port, b"CONFIG SET maxmemory 123456789\r\nINFO memory\r\n");
    let text = String::from_utf8_lossy(&info);
    assert!(text.contains("\r\nmaxmemory:123456789\r\n") && text.contains("\r\nmaxmemory_human:117.74M\r\n"), "{text}");
    assert!(text.contains("\r\nmaxmemory_policy:noeviction\r\n"), "{text}");
}

/// `requirepass` enforced as 7.0.15 does, compared byte for byte with a real redis-server
/// started with the same password: `-NOAUTH` before AUTH (after the unknown-command and arity
/// checks), SHUTDOWN included; the smaller protocol limits of an unauthenticated connection (at
/// most 10 arguments, bulks of at most 16384 bytes, then a close), lifted by an AUTH earlier in
/// the same buffer; and protected mode letting a non-loopback client in to authenticate while a
/// password is set, and turning it away again once the password is removed.
#[test]
fn requirepass_is_enforced_like_redis() {
    let Some(ip) = own_non_loopback_ip() else {
        panic!("this test needs a non-loopback IPv4 address on the machine to connect from (none found)");
    };
    let bind = format!("127.0.0.1 {ip}");
    let args = ["--bind", bind.as_str(), "--requirepass", "secret", "--appendonly", "no"];
    let ours = Serve::start_in(temp_dir("requirepass"), &args);
    let real = RedisServer::start_in(RedisServer::new_dir(), &args).expect("redis-server");
    let bulk = |prefix: &[u8], n: usize, suffix: &[u8]| {
        let mut v = prefix.to_vec();
        v.extend(std::iter::repeat_n(b'x', n));
        v.extend_from_slice(suffix);
        v
    };
    let cases: Vec<(&str, IpAddr, Vec<u8>)> = vec![
        ("commands before AUTH", LOCAL, b"PING\r\nGET k\r\nSET k v\r\nMULTI\r\nEXEC\r\nCLIENT GETNAME\r\nCONFIG SET requirepass x\r\n".to_vec()),
        ("unknown command and arity first", LOCAL, b"NOSUCH x\r\nGET\r\nPING a b\r\n".to_vec()),
        ("SHUTDOWN is not for strangers", LOCAL, b"SHUTDOWN NOSAVE\r\nSHUTDOWN\r\nPING\r\n".to_vec()),
        ("AUTH forms", LOCAL, b"AUTH\r\nAUTH a b c\r\nAUTH wrong\r\nAUTH default wrong\r\nAUTH secret\r\nAUTH wrong\r\nPING\r\n".to_vec()),
        // (A successful HELLO shows the client id, which differs: tests/scripts/auth.redis has it.)
        ("HELLO before AUTH", LOCAL, b"HELLO\r\nHELLO 2 SETNAME n\r\nHELLO 2 AUTH default bad\r\nAUTH secret\r\nCLIENT GETNAME\r\n".to_vec()),
        ("RESET logs out", LOCAL, b"AUTH secret\r\nPING\r\nRESET\r\nPING\r\nQUIT\r\n".to_vec()),
        ("11 arguments before AUTH", LOCAL, b"*11\r\n".to_vec()),
        ("10 arguments before AUTH", LOCAL, b"*10\r\n$4\r\nPING\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n".to_vec()),
        ("a 16385-byte bulk before AUTH", LOCAL, b"*2\r\n$4\r\nECHO\r\n$16385\r\n".to_vec()),
        ("a 16384-byte bulk before AUTH", LOCAL, bulk(b"*2\r\n$4\r\nECHO\r\n$16384\r\n", 16384, b"\r\n")),
        ("a long inline line before AUTH", LOCAL, bulk(b"ECHO ", 20000, b"\r\n")),
        ("AUTH lifts the limits for the next command", LOCAL, bulk(b"AUTH secret\r\n*2\r\n$4\r\nECHO\r\n$20000\r\n", 20000, b"\r\n*12\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\nDEL l\r\n")),
        ("a non-loopback client may authenticate", ip, b"PING\r\nAUTH secret\r\nPING\r\n".to_vec()),
    ];
    let mut failures = Vec::new();
    for (name, host, input) in &cases {
        let want = exchange(*host, real.port, input);
        let got = exchange(*host, ours.port, input);
        if want != got {
            failures.push(format!("{name}:\n  redis: {}\n  serve: {}", show(&want), show(&got)));
        }
    }
    assert!(failures.is_empty(), "{} of {} inputs answered differently:\n{}", failures.len(), cases.len(), failures.join("\n"));
    assert!(exchange(LOCAL, ours.port, b"GET k\r\n").starts_with(b"-NOAUTH Authentication required."));
    assert!(exchange(ip, ours.port, b"PING\r\n").starts_with(b"-NOAUTH Authentication required."));
    // Without a password, protected mode turns the non-loopback client away again.
    for port in [real.port, ours.port] {
        assert_eq!(exchange(LOCAL, port, b"AUTH secret\r\nCONFIG SET requirepass \"\"\r\n"), b"+OK\r\n+OK\r\n");
    }
    let (want, got) = (exchange(ip, real.port, b"PING\r\n"), exchange(ip, ours.port, b"PING\r\n"));
    assert_eq!(show(&got), show(&want));
    assert!(got.starts_with(b"-DENIED Redis is running in protected mode"), "{}", show(&got));
    assert_eq!(exchange(LOCAL, ours.port, b"PING\r\n"), b"+PONG\r\n");
}
