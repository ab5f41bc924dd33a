//! `feedAppendOnlyFile`: how a propagated command becomes bytes in `aof_buf`.
//!
//! Redis 7.0 does no AOF-specific translation: the AOF receives exactly the replication
//! stream. `feed` only adds two things in front of a command's RESP multibulk:
//!
//! * `#TS:<unix-seconds>\r\n` when `aof-timestamp-enabled` is on and the second has advanced
//!   since the last annotation (always first);
//! * `*2\r\n$6\r\nSELECT\r\n$<n>\r\n<db>\r\n` when the command's db differs from
//!   `aof_selected_db`, which is -1 at start and at each new incr file, so every incr file
//!   starts with a SELECT.
//!
//! The bytes go to `aof_buf` only while the AOF is on (or being turned on with a rewrite child
//! running); otherwise they are dropped, as in Redis.

use crate::resp::encode_command;

#[derive(Clone, Debug)]
pub struct Feed {
    /// `server.aof_buf`: bytes accepted but not yet written to the incr file. A process crash
    /// loses them.
    pub aof_buf: Vec<u8>,
    /// `server.aof_selected_db`; -1 forces a SELECT before the next command.
    pub selected_db: i64,
    /// Last second annotated with `#TS:`.
    pub last_timestamp: i64,
}

impl Default for Feed {
    fn default() -> Self {
        Feed { aof_buf: Vec::new(), selected_db: -1, last_timestamp: 0 }
    }
}

impl Feed {
    /// Appends one propagated command, already encoded as a RESP multibulk, for db `dictid`.
    pub fn feed(&mut self, dictid: usize, command: &[u8], unixtime: i64, timestamps: bool) {
        if timestamps && unixtime > self.last_timestamp {
            self.aof_buf.extend_from_slice(b"#TS:");
            crate::reply::push_int(&mut self.aof_buf, unixtime);
            self.aof_buf.extend_from_slice(b"\r\n");
            self.last_timestamp = unixtime;
        }
        if dictid as i64 != self.selected_db {
            let db = dictid.to_string();
            encode_command(&mut self.aof_buf, &[b"SELECT".as_slice(), db.as_bytes()]);
            self.selected_db = dictid as i64;
        }
        self.aof_buf.extend_from_slice(command);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_and_timestamps() {
        let mut f = Feed::default();
        let mut cmd = Vec::new();
        encode_command(&mut cmd, &["SET", "k", "v"]);
        f.feed(0, &cmd, 1795461091, true);
        f.feed(0, &cmd, 1795461091, true);
        f.feed(1, &cmd, 1795461092, true);
        let expected = "#TS:1795461091\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n\
                        *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n\
                        #TS:1795461092\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        assert_eq!(String::from_utf8(f.aof_buf).unwrap(), expected);
    }
}
