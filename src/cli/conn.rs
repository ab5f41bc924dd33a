//! One client connection: its socket, its query buffer and its reply buffer.
//!
//! **Query buffer** (`querybuf`): bytes read and not yet parsed live in `qbuf[qstart..qend]`. The
//! buffer is allocated once (16 KB, Redis's `PROTO_IOBUF_LEN`), grows only when one command does
//! not fit, and is compacted (the unparsed tail moved to the front) instead of reallocated.
//!
//! **Reply buffer**: replies are encoded straight into `obuf`. Three marks split it:
//!
//! ```text
//! obuf: [ written ......... | released, not yet written | not yet released ]
//!        0            opos              oready                         len
//! ```
//!
//! Replies become *released* only in the write phase of the event-loop turn, after
//! `before_sleep` (where the AOF will be flushed and, with `appendfsync always`, fsynced). A
//! writable event in the middle of a turn sends only released bytes, so no client ever sees the
//! reply of a write that is not yet in the AOF. Redis gets the same guarantee from `AE_BARRIER`.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;

use aof_lab::server::ClientId;
use mio::net::TcpStream;

/// `PROTO_IOBUF_LEN`: the initial query buffer and the unit of a read.
pub const IOBUF_LEN: usize = 16 * 1024;
/// Bytes read from one client per turn before the others get their chance; the rest is read
/// next turn (the poll is edge-triggered, so such a client is remembered in a list).
pub const MAX_READ_PER_TURN: usize = 1024 * 1024;
/// A reply buffer that grew past this for a big reply is given back once it is drained.
const OBUF_KEEP: usize = 1024 * 1024;

pub struct Conn {
    pub id: ClientId,
    pub stream: TcpStream,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub created_ms: i64,
    pub last_interaction_ms: i64,

    pub qbuf: Vec<u8>,
    pub qstart: usize,
    pub qend: usize,

    pub obuf: Vec<u8>,
    pub opos: usize,
    pub oready: usize,

    /// Blocked in the engine (BLPOP …): its buffered commands wait until it is served.
    pub blocked: bool,
    /// `CLIENT_CLOSE_AFTER_REPLY`: QUIT, a protocol error, or the peer closed its side.
    pub close_after_reply: bool,
    /// Listed in the server's pending-writes list for this turn.
    pub pending_write: bool,
    /// WRITABLE interest is registered (a write hit `WouldBlock`).
    pub want_writable: bool,
    /// `obuf_soft_limit_reached_time`: the unix second the output buffer first stood over its
    /// class's soft limit, 0 when it is not over it.
    pub obuf_soft_limit_since: i64,
}

pub enum ReadOutcome {
    /// Everything available was read (`WouldBlock`).
    Drained,
    /// The per-turn budget was used; more bytes may be waiting.
    More,
    /// The peer closed its side (bytes read before the EOF are still in `qbuf`).
    Eof,
    /// A socket error: the connection is dead.
    Error,
}

pub enum WriteOutcome {
    /// Every released byte was sent.
    Done,
    /// The socket is full; wait for a writable event.
    Blocked,
    Error,
}

impl Conn {
    pub fn new(id: ClientId, stream: TcpStream, addr: SocketAddr, laddr: SocketAddr, now_ms: i64) -> Conn {
        Conn {
            id,
            stream,
            addr,
            laddr,
            created_ms: now_ms,
            last_interaction_ms: now_ms,
            qbuf: vec![0; IOBUF_LEN],
            qstart: 0,
            qend: 0,
            obuf: Vec::new(),
            opos: 0,
            oready: 0,
            blocked: false,
            close_after_reply: false,
            pending_write: false,
            want_writable: false,
            obuf_soft_limit_since: 0,
        }
    }

    /// Makes room at the end of the query buffer: first by moving the unparsed tail to the
    /// front, and only when the buffer is full of one unfinished command, by doubling it.
    fn make_room(&mut self) {
        if self.qend < self.qbuf.len() {
            return;
        }
        if self.qstart > 0 {
            self.qbuf.copy_within(self.qstart..self.qend, 0);
            self.qend -= self.qstart;
            self.qstart = 0;
        } else {
            let len = self.qbuf.len().max(IOBUF_LEN) * 2;
            self.qbuf.resize(len, 0);
        }
    }

    /// `readQueryFromClient`, for an edge-triggered poll: reads until the socket is empty or
    /// the per-turn budget is used.
    ///
    /// A read that returns less than it was offered has emptied the socket, and new bytes will
    /// raise a new edge, so the loop stops there without the extra `read` that would only say
    /// `WouldBlock` (one system call less per request). `until_eof` is for the event that
    /// announced the peer's FIN: the FIN already raised its edge, so the 0-byte read that
    /// reports it must be made now.
    pub fn read(&mut self, until_eof: bool) -> ReadOutcome {
        let mut total = 0;
        loop {
            if total >= MAX_READ_PER_TURN {
                return ReadOutcome::More;
            }
            self.make_room();
            let Some(spare) = self.qbuf.get_mut(self.qend..) else {
                return ReadOutcome::Error;
            };
            match self.stream.read(spare) {
                Ok(0) => return ReadOutcome::Eof,
                Ok(n) => {
                    let short = n < spare.len();
                    self.qend += n;
                    total += n;
                    if short && !until_eof {
                        return ReadOutcome::Drained;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return ReadOutcome::Drained,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return ReadOutcome::Error,
            }
        }
    }

    /// Called once the parser has consumed what it could: resets an empty buffer to its start,
    /// and gives back memory a big command made it grow to.
    pub fn after_parse(&mut self) {
        if self.qstart == self.qend {
            self.qstart = 0;
            self.qend = 0;
            if self.qbuf.len() > 4 * IOBUF_LEN {
                self.qbuf = vec![0; IOBUF_LEN];
            }
        }
    }

    /// Forgets unparsed input (after a protocol error).
    pub fn discard_query(&mut self) {
        self.qstart = self.qend;
        self.after_parse();
    }

    /// Everything encoded so far may go out (called after `before_sleep`).
    pub fn release_replies(&mut self) {
        self.oready = self.obuf.len();
    }

    /// `getClientOutputBufferMemoryUsage`, approximately: the unsent bytes past the 16 KB that
    /// Redis keeps in the client's static buffer (`PROTO_REPLY_CHUNK_BYTES`), which the limits
    /// do not count.
    pub fn reply_bytes(&self) -> usize {
        (self.obuf.len() - self.opos).saturating_sub(16 * 1024)
    }

    pub fn has_unwritten(&self) -> bool {
        self.opos < self.obuf.len()
    }

    /// `writeToClient`: sends released bytes until done or the socket is full.
    pub fn write(&mut self) -> WriteOutcome {
        while self.opos < self.oready {
            let Some(chunk) = self.obuf.get(self.opos..self.oready) else {
                return WriteOutcome::Error;
            };
            match self.stream.write(chunk) {
                Ok(0) => return WriteOutcome::Error,
                Ok(n) => self.opos += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return WriteOutcome::Blocked,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return WriteOutcome::Error,
            }
        }
        if self.opos == self.obuf.len() {
            self.obuf.clear();
            self.opos = 0;
            self.oready = 0;
            if self.obuf.capacity() > OBUF_KEEP {
                self.obuf = Vec::new();
            }
        }
        WriteOutcome::Done
    }
}
