use std::io::{Read, Write};
use std::borrow::Cow;
fn now() -> i64 { std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 }
fn main() {
    let port: u16 = std::env::args().nth(1).unwrap().parse().unwrap();
    let l = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let mut e = aof_lab::Engine::new(aof_lab::Config { appendonly: true, ..Default::default() }, now());
    for s in l.incoming() {
        let mut s = s.unwrap();
        let c = e.connect();
        let mut buf = Vec::new();
        'conn: loop {
            let mut chunk = [0u8; 65536];
            let n = match s.read(&mut chunk) { Ok(0) | Err(_) => break, Ok(n) => n };
            buf.extend_from_slice(&chunk[..n]);
            loop {
                let mut args: Vec<Cow<[u8]>> = Vec::new();
                match aof_lab::resp::parse_command(&buf, &mut args, Default::default()) {
                    Ok(Some(used)) => {
                        let argv: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
                        buf.drain(..used);
                        if argv.is_empty() { continue; }
                        let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
                        if let Some(r) = e.execute(c, &refs, now()) { let _ = s.write_all(&r.to_resp()); }
                        if e.client(c).map_or(false, |c| c.close_after_reply) { break 'conn; }
                    }
                    Ok(None) => break,
                    Err(err) => { let _ = s.write_all(&err.reply().to_resp()); break 'conn; }
                }
            }
        }
        e.disconnect(c);
    }
}
