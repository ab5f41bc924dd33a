//! ACL users, their permissions, and the checks every command goes through (Redis 7.0's `acl.c`).
//!
//! A **user** has a name, an on/off flag, a list of passwords (kept only as SHA-256 hex hashes;
//! `nopass` accepts any), and one or more **selectors**. The first selector is the *root* one
//! (the rules written outside parentheses); 7.0 adds more with `(...)`. A selector holds:
//! - a bitmap of the commands it may run, one bit per command *and* subcommand (`config|get`),
//!   plus a reserved bit that only `+@all` / `allcommands` sets ("may run commands added
//!   later"), which is how `ACL LIST` knows whether to start from `+@all` or `-@all`;
//! - allowed first arguments of otherwise denied commands (`+select|0`, deprecated);
//! - key patterns, each with read and/or write permission (`~p`, `%R~p`, `%W~p`, `%RW~p`);
//! - channel patterns (`&p`).
//!
//! A command is allowed when *any* selector allows it (its command bit, then every key the key
//! specs find with the access they declare, then every channel). When none does, the error and
//! the `ACL LOG` entry name the most relevant failure: a denied command, else the denied key or
//! channel at the highest argument position.
//!
//! `ACL LIST` does not keep the rules as typed: it rebuilds them from the bitmap
//! (`ACLDescribeSelectorCommandRules`): `+@all` or `-@all`, then greedily the category that best
//! fits the remaining difference, then single commands, in the command table's order.
//!
//! The command universe is the real server's whole table (every command Redis 7.0.15 has, with
//! its ACL categories, recorded in [`crate::cmd::server::meta`]), not just the commands the
//! engine implements: `ACL CAT`, the category counts behind `ACL LIST`, and `+cluster` must be
//! those of Redis.
//!
//! Compared with Redis: commands are iterated in name order (Redis iterates a hash table whose
//! seed is random per process, so the order of `ACL CAT <category>` and of several single
//! commands in `ACL LIST` differs between two runs of the real server too); no ACL file
//! (`ACL LOAD` / `SAVE` answer Redis's "not configured" error), no modules.

use std::collections::{BTreeMap, VecDeque};
use std::sync::OnceLock;

use crate::keyspace::HashMap;
use crate::util::string_match;

/// `ACLCommandCategories`, in Redis's order (`ACL CAT`'s, and the order `ACL LIST` tries them).
pub const CATEGORIES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// The bit of a category (`ACLGetCommandCategoryFlagByName`, case-insensitive); 0 if unknown.
pub fn category_flag(name: &[u8]) -> u32 {
    CATEGORIES.iter().position(|c| c.as_bytes().eq_ignore_ascii_case(name)).map_or(0, |i| 1 << i)
}

/// One entry of the command universe.
#[derive(Debug)]
pub struct AclCommand {
    /// `get`, `config|get`.
    pub fullname: String,
    pub categories: u32,
    pub parent: Option<usize>,
    pub subcommands: Vec<usize>,
    /// `CMD_NO_AUTH`: allowed whatever the bitmap says (AUTH, HELLO, QUIT, RESET …).
    pub no_auth: bool,
}

/// Every command of Redis 7.0.15, each container followed by its subcommands.
pub struct Universe {
    pub commands: Vec<AclCommand>,
    by_name: HashMap<String, usize>,
}

impl Universe {
    /// `ACLLookupCommand` (`lookupCommandBySds`): `name` or `container|sub`, case-insensitive.
    pub fn lookup(&self, name: &[u8]) -> Option<usize> {
        let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
        self.by_name.get(&lower).copied()
    }
}

pub fn universe() -> &'static Universe {
    static U: OnceLock<Universe> = OnceLock::new();
    U.get_or_init(|| {
        let mut metas: Vec<&crate::cmd::server::meta::Meta> = crate::cmd::server::meta::entries().collect();
        metas.sort_by(|a, b| a.name.cmp(&b.name));
        let entry = |m: &crate::cmd::server::meta::Meta| AclCommand {
            fullname: m.name.clone(),
            categories: m.acl_categories().iter().map(|c| category_flag(c.trim_start_matches('@').as_bytes())).fold(0, |a, b| a | b),
            parent: None,
            subcommands: Vec::new(),
            no_auth: m.flags().contains(&"no_auth"),
        };
        let mut commands: Vec<AclCommand> = Vec::new();
        for top in metas.iter().filter(|m| !m.name.contains('|')) {
            let id = commands.len();
            commands.push(entry(top));
            let prefix = format!("{}|", top.name);
            for sub in metas.iter().filter(|m| m.name.starts_with(&prefix)) {
                let sid = commands.len();
                let mut e = entry(sub);
                e.parent = Some(id);
                commands.push(e);
                commands[id].subcommands.push(sid);
            }
        }
        let by_name = commands.iter().enumerate().map(|(i, c)| (c.fullname.clone(), i)).collect();
        Universe { commands, by_name }
    })
}

/// `ACL_READ_PERMISSION`, `ACL_WRITE_PERMISSION`.
pub const READ: u8 = 1;
pub const WRITE: u8 = 2;

/// Why a check failed (`ACL_DENIED_*`; the numbers order their relevance).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Denied {
    Cmd = 1,
    Key = 2,
    Auth = 3,
    Channel = 4,
}

impl Denied {
    fn reason(self) -> &'static str {
        match self {
            Denied::Cmd => "command",
            Denied::Key => "key",
            Denied::Auth => "auth",
            Denied::Channel => "channel",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    pub root: bool,
    pub allkeys: bool,
    pub allchannels: bool,
    pub allcommands: bool,
    /// The reserved bit `USER_COMMAND_BITS_COUNT-1`: set by `+@all` only.
    future: bool,
    allowed: Vec<u64>,
    /// Allowed first arguments per command id, in the order they were added.
    firstargs: BTreeMap<usize, Vec<String>>,
    /// Key patterns with their permissions, in the order added.
    pub patterns: Vec<(Vec<u8>, u8)>,
    pub channels: Vec<Vec<u8>>,
}

/// Why an `ACL SETUSER` modifier failed (`errno` in `ACLSetUser`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetError {
    Enoent,
    Einval,
    Eexist,
    Eisdir,
    Enodev,
    Ebadmsg,
    Echild,
}

impl SetError {
    /// `ACLSetUserStringError`.
    pub fn message(self) -> &'static str {
        match self {
            SetError::Enoent => "Unknown command or category name in ACL",
            SetError::Einval => "Syntax error",
            SetError::Eexist => {
                "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
            }
            SetError::Eisdir => {
                "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"
            }
            SetError::Enodev => "The password you are trying to remove from the user does not exist",
            SetError::Ebadmsg => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            SetError::Echild => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// `ACLStringHasSpaces`: spaces or NUL bytes are refused in names and patterns.
pub fn has_spaces(s: &[u8]) -> bool {
    s.iter().any(|&c| c == 0 || matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
}

/// `USER_COMMAND_BITS_COUNT`: a selector's command bitmap has room for this many command ids,
/// whatever the universe holds (a unit test checks it fits). Fixed, as in Redis, so that a new
/// selector (the default user's, at every start) does not build the universe: that decodes the
/// whole command table (~8 ms of a first start in wasm), which only ACL rules need.
pub const COMMAND_BITS: usize = 1024;

impl Selector {
    /// `ACLCreateSelector`: no permission at all (channels per `acl-pubsub-default`).
    pub fn new(root: bool, pubsub_all: bool) -> Selector {
        Selector {
            root,
            allkeys: false,
            allchannels: pubsub_all,
            allcommands: false,
            future: false,
            allowed: vec![0; COMMAND_BITS / 64],
            firstargs: BTreeMap::new(),
            patterns: Vec::new(),
            channels: Vec::new(),
        }
    }

    pub fn bit(&self, id: usize) -> bool {
        self.allowed.get(id / 64).is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// `ACLSetSelectorCommandBit`: clearing a bit also clears `allcommands`.
    fn set_bit(&mut self, id: usize, value: bool) {
        if let Some(w) = self.allowed.get_mut(id / 64) {
            if value {
                *w |= 1 << (id % 64);
            } else {
                *w &= !(1 << (id % 64));
                self.allcommands = false;
            }
        }
    }

    /// `ACLChangeSelectorPerm`: a container's subcommands follow it.
    fn change_perm(&mut self, id: usize, allow: bool) {
        self.set_bit(id, allow);
        self.firstargs.remove(&id);
        if let Some(cmd) = universe().commands.get(id) {
            for &sub in &cmd.subcommands {
                self.set_bit(sub, allow);
            }
        }
    }

    fn set_category(&mut self, flag: u32, value: bool) {
        for (id, cmd) in universe().commands.iter().enumerate() {
            if cmd.categories & flag != 0 {
                self.change_perm(id, value);
            }
        }
    }

    fn count_category(&self, flag: u32) -> (usize, usize) {
        let (mut on, mut off) = (0, 0);
        for (id, cmd) in universe().commands.iter().enumerate() {
            if cmd.categories & flag != 0 {
                if self.bit(id) { on += 1 } else { off += 1 }
            }
        }
        (on, off)
    }

    fn set_all(&mut self, value: bool) {
        self.allowed.iter_mut().for_each(|w| *w = if value { u64::MAX } else { 0 });
        self.allcommands = value;
        self.future = value;
        self.firstargs.clear();
    }

    /// `ACLSetSelector`: one rule about commands, keys or channels.
    pub fn set(&mut self, op: &[u8]) -> Result<(), SetError> {
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("allkeys") || is("~*") {
            self.allkeys = true;
            self.patterns.clear();
        } else if is("resetkeys") {
            self.allkeys = false;
            self.patterns.clear();
        } else if is("allchannels") || is("&*") {
            self.allchannels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.allchannels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.set_all(true);
        } else if is("nocommands") || is("-@all") {
            self.set_all(false);
        } else if let Some(&first @ (b'~' | b'%')) = op.first() {
            if self.allkeys {
                return Err(SetError::Eexist);
            }
            let mut flags = 0u8;
            let mut offset = 1;
            if first == b'%' {
                while offset < op.len() {
                    let c = op[offset];
                    if c.eq_ignore_ascii_case(&b'r') && flags & READ == 0 {
                        flags |= READ;
                    } else if c.eq_ignore_ascii_case(&b'w') && flags & WRITE == 0 {
                        flags |= WRITE;
                    } else if c == b'~' {
                        offset += 1;
                        break;
                    } else {
                        return Err(SetError::Einval);
                    }
                    offset += 1;
                }
                // The fix of CVE-2024-31227, which the reference server (Debian's 7.0.15)
                // carries: a `%` rule must grant R or W (`%~x` was a user Redis could not
                // describe).
                if flags == 0 {
                    return Err(SetError::Einval);
                }
            } else {
                flags = READ | WRITE;
            }
            let pattern = op.get(offset..).unwrap_or_default();
            if has_spaces(pattern) {
                return Err(SetError::Einval);
            }
            match self.patterns.iter_mut().find(|(p, _)| p == pattern) {
                Some((_, f)) => *f |= flags,
                None => self.patterns.push((pattern.to_vec(), flags)),
            }
            self.allkeys = false;
        } else if op.first() == Some(&b'&') {
            if self.allchannels {
                return Err(SetError::Eisdir);
            }
            let pattern = &op[1..];
            if has_spaces(pattern) {
                return Err(SetError::Einval);
            }
            if !self.channels.iter().any(|c| c == pattern) {
                self.channels.push(pattern.to_vec());
            }
            self.allchannels = false;
        } else if op.first() == Some(&b'+') && op.get(1) != Some(&b'@') {
            let name = &op[1..];
            let u = universe();
            match name.iter().rposition(|&c| c == b'|') {
                None => {
                    let id = u.lookup(name).ok_or(SetError::Enoent)?;
                    self.change_perm(id, true);
                }
                Some(bar) => {
                    let id = u.lookup(&name[..bar]).ok_or(SetError::Enoent)?;
                    let cmd = &u.commands[id];
                    if cmd.parent.is_some() {
                        return Err(SetError::Echild);
                    }
                    let sub = &name[bar + 1..];
                    if sub.is_empty() {
                        return Err(SetError::Einval);
                    }
                    if !cmd.subcommands.is_empty() {
                        let sid = u.lookup(name).ok_or(SetError::Enoent)?;
                        self.change_perm(sid, true);
                    } else {
                        // The deprecated first-arg form (`+select|0`).
                        let sub = String::from_utf8_lossy(sub).into_owned();
                        let list = self.firstargs.entry(id).or_default();
                        if !list.iter().any(|s| s.eq_ignore_ascii_case(&sub)) {
                            list.push(sub);
                        }
                    }
                }
            }
        } else if op.first() == Some(&b'-') && op.get(1) != Some(&b'@') {
            let id = universe().lookup(&op[1..]).ok_or(SetError::Enoent)?;
            self.change_perm(id, false);
        } else if matches!(op.first(), Some(b'+' | b'-')) && op.get(1) == Some(&b'@') {
            let flag = category_flag(&op[2..]);
            if flag == 0 {
                return Err(SetError::Enoent);
            }
            self.set_category(flag, op[0] == b'+');
        } else {
            return Err(SetError::Einval);
        }
        Ok(())
    }

    /// `ACLDescribeSelectorCommandRules`: `+@all`/`-@all`, the best-fitting categories, then
    /// the single commands that still differ (and the allowed first arguments).
    pub fn describe_commands(&self) -> String {
        let mut rules = String::new();
        let mut fake = Selector::new(false, false);
        let additive = !self.future;
        if additive {
            rules.push_str("-@all ");
            fake.set_all(false);
        } else {
            rules.push_str("+@all ");
            fake.set_all(true);
        }
        let mut temp = Selector::new(false, false);
        temp.allowed = self.allowed.clone();
        let mut applied = [false; CATEGORIES.len()];
        loop {
            let mut best = None;
            let (mut mindiff, mut maxsame) = (usize::MAX, 0);
            for (j, _) in CATEGORIES.iter().enumerate() {
                if applied[j] {
                    continue;
                }
                let (on, off) = temp.count_category(1 << j);
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                    best = Some(j);
                    mindiff = diff;
                    maxsame = same;
                }
            }
            let Some(j) = best else { break };
            fake.set_category(1 << j, additive);
            temp.set_category(1 << j, !additive);
            rules.push_str(if additive { "+@" } else { "-@" });
            rules.push_str(CATEGORIES[j]);
            rules.push(' ');
            applied[j] = true;
        }
        for (id, cmd) in universe().commands.iter().enumerate() {
            let userbit = self.bit(id);
            if userbit != fake.bit(id) {
                rules.push(if userbit { '+' } else { '-' });
                rules.push_str(&cmd.fullname);
                rules.push(' ');
                fake.change_perm(id, userbit);
            }
            if !userbit && let Some(args) = self.firstargs.get(&id) {
                for a in args {
                    rules.push('+');
                    rules.push_str(&cmd.fullname);
                    rules.push('|');
                    rules.push_str(a);
                    rules.push(' ');
                }
            }
        }
        rules.pop();
        rules
    }

    /// `sdsCatPatternString` for each key pattern, space-separated.
    pub fn describe_keys(&self) -> Vec<String> {
        self.patterns
            .iter()
            .map(|(p, f)| {
                let prefix = match *f {
                    f if f == READ | WRITE => "~",
                    READ => "%R~",
                    _ => "%W~",
                };
                format!("{prefix}{}", String::from_utf8_lossy(p))
            })
            .collect()
    }

    /// `ACLDescribeSelector`: keys, channels, commands (the text inside `(...)`).
    pub fn describe(&self) -> String {
        let mut res = String::new();
        if self.allkeys {
            res.push_str("~* ");
        } else {
            for k in self.describe_keys() {
                res.push_str(&k);
                res.push(' ');
            }
        }
        if self.allchannels {
            res.push_str("&* ");
        } else {
            res.push_str("resetchannels ");
            for c in &self.channels {
                res.push('&');
                res.push_str(&String::from_utf8_lossy(c));
                res.push(' ');
            }
        }
        res.push_str(&self.describe_commands());
        res
    }

    /// `ACLSelectorCheckKey`.
    fn check_key(&self, key: &[u8], need: u8) -> bool {
        self.allkeys || self.patterns.iter().any(|(p, f)| f & need == need && string_match(p, key, false))
    }

    /// `ACLSelectorCheckCmd`; the argument position of a denied key or channel with it.
    fn check_cmd(
        &self,
        id: usize,
        argv: &[&[u8]],
        keys: &mut Option<Vec<(usize, u8)>>,
        find_keys: &dyn Fn() -> Vec<(usize, u8)>,
    ) -> Result<(), (Denied, usize)> {
        let u = universe();
        let cmd = &u.commands[id];
        if !self.allcommands && !cmd.no_auth && !self.bit(id) {
            let idx = if cmd.parent.is_some() { 2 } else { 1 };
            let allowed = argv.len() >= 2
                && self
                    .firstargs
                    .get(&id)
                    .is_some_and(|list| argv.get(idx).is_some_and(|a| list.iter().any(|s| s.as_bytes().eq_ignore_ascii_case(a))));
            if !allowed {
                return Err((Denied::Cmd, 0));
            }
        }
        if !self.allkeys {
            let keys = keys.get_or_insert_with(find_keys);
            for &(pos, need) in keys.iter() {
                if !argv.get(pos).is_some_and(|k| self.check_key(k, need)) {
                    return Err((Denied::Key, pos));
                }
            }
        }
        if !self.allchannels
            && let Some((positions, pattern)) = channel_positions(&cmd.fullname, argv.len())
        {
            for pos in positions {
                let Some(channel) = argv.get(pos) else { continue };
                if !check_channel(&self.channels, channel, pattern) {
                    return Err((Denied::Channel, pos));
                }
            }
        }
        Ok(())
    }
}

/// `commands_with_channels` for the channels ACLs check (publish and subscribe, not
/// unsubscribe): the argument positions, and whether they are patterns.
fn channel_positions(name: &str, argc: usize) -> Option<(std::ops::Range<usize>, bool)> {
    match name {
        "publish" | "spublish" => Some((1..2.min(argc), false)),
        "subscribe" | "ssubscribe" => Some((1..argc, false)),
        "psubscribe" => Some((1..argc, true)),
        _ => None,
    }
}

/// `ACLCheckChannelAgainstList`: a channel matches a pattern as a glob; a pattern (PSUBSCRIBE)
/// only matches the same pattern, literally.
pub fn check_channel(list: &[Vec<u8>], channel: &[u8], is_pattern: bool) -> bool {
    list.iter().any(|p| if is_pattern { p == channel } else { string_match(p, channel, false) })
}

/// `ACLHashPassword`: SHA-256 as lowercase hex.
pub fn hash_password(pass: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(pass);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn valid_hash(h: &[u8]) -> bool {
    h.len() == 64 && h.iter().all(|c| matches!(c, b'a'..=b'f' | b'0'..=b'9'))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: Vec<u8>,
    pub enabled: bool,
    pub nopass: bool,
    /// `sanitize-payload` (true), `skip-sanitize-payload` (false), or neither.
    pub sanitize: Option<bool>,
    /// SHA-256 hex hashes, in the order added.
    pub passwords: Vec<String>,
    /// The root selector first.
    pub selectors: Vec<Selector>,
}

impl User {
    /// `ACLCreateUser`: off, no password, nothing allowed.
    pub fn new(name: &[u8], pubsub_all: bool) -> User {
        User {
            name: name.to_vec(),
            enabled: false,
            nopass: false,
            sanitize: None,
            passwords: Vec::new(),
            selectors: vec![Selector::new(true, pubsub_all)],
        }
    }

    /// `ACLSetUser`: one modifier.
    pub fn set(&mut self, op: &[u8], pubsub_all: bool) -> Result<(), SetError> {
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if op.is_empty() {
            return Ok(());
        }
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.sanitize = Some(false);
        } else if is("sanitize-payload") {
            self.sanitize = Some(true);
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if let Some(&first @ (b'>' | b'#')) = op.first() {
            let hash = if first == b'>' {
                hash_password(&op[1..])
            } else {
                if !valid_hash(&op[1..]) {
                    return Err(SetError::Ebadmsg);
                }
                String::from_utf8_lossy(&op[1..]).into_owned()
            };
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.nopass = false;
        } else if let Some(&first @ (b'<' | b'!')) = op.first() {
            let hash = if first == b'<' {
                hash_password(&op[1..])
            } else {
                if !valid_hash(&op[1..]) {
                    return Err(SetError::Ebadmsg);
                }
                String::from_utf8_lossy(&op[1..]).into_owned()
            };
            let at = self.passwords.iter().position(|p| *p == hash).ok_or(SetError::Enodev)?;
            self.passwords.remove(at);
        } else if op.first() == Some(&b'(') && op.last() == Some(&b')') {
            // aclCreateSelectorFromOpSet: the rules inside, split like redis-cli arguments.
            let inner = &op[1..op.len() - 1];
            let mut s = Selector::new(false, pubsub_all);
            // Unbalanced quotes split into nothing (`sdssplitargs` fails): an empty selector.
            let args = crate::resp::split_args(inner).unwrap_or_default();
            for a in &args {
                s.set(a)?;
            }
            self.selectors.push(s);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            self.nopass = false;
            self.passwords.clear();
            let root = &mut self.selectors[0];
            root.allkeys = false;
            root.patterns.clear();
            root.allchannels = pubsub_all;
            root.channels.clear();
            self.enabled = false;
            self.sanitize = Some(true);
            self.selectors.truncate(1);
            self.selectors[0].set_all(false);
        } else {
            self.selectors[0].set(op)?;
        }
        Ok(())
    }

    /// `ACLUserGetFlags` as `ACL GETUSER` and `ACL LIST` name them, in their order.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut f = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            f.push("nopass");
        }
        match self.sanitize {
            Some(false) => f.push("skip-sanitize-payload"),
            Some(true) => f.push("sanitize-payload"),
            None => {}
        }
        f
    }

    /// `ACLDescribeUser`: the rules `ACL LIST` prints after `user <name> `.
    pub fn describe(&self) -> String {
        let mut res = String::new();
        for f in self.flag_names() {
            res.push_str(f);
            res.push(' ');
        }
        for p in &self.passwords {
            res.push('#');
            res.push_str(p);
            res.push(' ');
        }
        for s in &self.selectors {
            if s.root {
                res.push_str(&s.describe());
            } else {
                res.push_str(" (");
                res.push_str(&s.describe());
                res.push(')');
            }
        }
        res
    }

    /// `ACLCheckUserCredentials` for an existing user.
    pub fn check_password(&self, pass: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let hashed = hash_password(pass);
        // time_independent_strcmp: the time taken does not tell how much of a hash matched.
        self.passwords.iter().any(|p| p.len() == hashed.len() && p.bytes().zip(hashed.bytes()).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0)
    }

    /// Every selector allows every command, key and channel: the check can be skipped.
    pub fn unrestricted(&self) -> bool {
        self.selectors.iter().any(|s| s.allcommands && s.allkeys && s.allchannels)
    }

    /// `ACLUserCheckCmdWithUnrestrictedKeyAccess(…, CMD_KEY_ACCESS)`: a selector that allows
    /// the command also reads every key (`allkeys`, or a `%R~*` / `~*` pattern). SORT's BY
    /// and GET read keys no argument names.
    pub fn reads_every_key(&self, id: usize, argv: &[&[u8]], find_keys: &dyn Fn() -> Vec<(usize, u8)>) -> bool {
        let mut keys = None;
        self.selectors.iter().any(|s| {
            s.check_cmd(id, argv, &mut keys, find_keys).is_ok()
                && (s.allkeys || s.patterns.iter().any(|(p, f)| f & READ == READ && p.as_slice() == b"*"))
        })
    }

    /// `ACLCheckAllUserCommandPerm`: Ok, or the most relevant denial and its argument position.
    /// `find_keys` gives the key positions and the access each needs (called at most once).
    pub fn check_command(&self, id: usize, argv: &[&[u8]], find_keys: &dyn Fn() -> Vec<(usize, u8)>) -> Result<(), (Denied, usize)> {
        let mut relevant = (Denied::Cmd, 0);
        let mut keys = None;
        for s in &self.selectors {
            match s.check_cmd(id, argv, &mut keys, find_keys) {
                Ok(()) => return Ok(()),
                Err((d, pos)) => {
                    if d > relevant.0 || (d == relevant.0 && pos > relevant.1) {
                        relevant = (d, pos);
                    }
                }
            }
        }
        Err(relevant)
    }

    /// Any selector allows this channel (`ACLUserCheckChannelPerm`).
    pub fn channel_allowed(&self, channel: &[u8], is_pattern: bool) -> bool {
        self.selectors.iter().any(|s| s.allchannels || check_channel(&s.channels, channel, is_pattern))
    }
}

/// `ACL_LOG_CTX_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogContext {
    Toplevel,
    Lua,
    Multi,
}

impl LogContext {
    fn name(self) -> &'static str {
        match self {
            LogContext::Toplevel => "toplevel",
            LogContext::Lua => "lua",
            LogContext::Multi => "multi",
        }
    }
}

/// One `ACL LOG` entry (`ACLLogEntry`).
#[derive(Clone, Debug)]
pub struct LogEntry {
    pub count: u64,
    pub reason: Denied,
    pub context: LogContext,
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    pub ctime_ms: i64,
    pub client_info: String,
}

impl LogEntry {
    pub fn reason(&self) -> &'static str {
        self.reason.reason()
    }
    pub fn context(&self) -> &'static str {
        self.context.name()
    }
}

/// `ACL_LOG_GROUPING_MAX_TIME_DELTA`.
const LOG_GROUPING_MS: i64 = 60_000;

/// The users, the log, and what the ACL checks need from the server.
#[derive(Clone, Debug)]
pub struct Acl {
    /// By name, in byte order (the `Users` radix tree's order: ACL LIST, ACL USERS).
    pub users: BTreeMap<Vec<u8>, User>,
    /// Most recent first.
    pub log: VecDeque<LogEntry>,
    /// While a script runs for a restricted user: its caller's CLIENT LIST line, which is what
    /// an ACL LOG entry from `redis.call` shows (`server.script_caller`).
    pub script_caller_info: Option<String>,
}

pub const DEFAULT_USER: &[u8] = b"default";

impl Acl {
    /// `ACLInit` + `ACLUpdateDefaultUserPassword(requirepass)`.
    pub fn new(requirepass: &str) -> Acl {
        let mut default = User::new(DEFAULT_USER, false);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            let _ = default.set(op.as_bytes(), false);
        }
        let mut acl = Acl { users: BTreeMap::new(), log: VecDeque::new(), script_caller_info: None };
        acl.users.insert(DEFAULT_USER.to_vec(), default);
        acl.update_default_password(requirepass);
        acl
    }

    /// `ACLUpdateDefaultUserPassword`: `requirepass` is the default user's only password.
    pub fn update_default_password(&mut self, pass: &str) {
        if let Some(d) = self.users.get_mut(DEFAULT_USER) {
            let _ = d.set(b"resetpass", false);
            if pass.is_empty() {
                let _ = d.set(b"nopass", false);
            } else {
                let mut op = b">".to_vec();
                op.extend_from_slice(pass.as_bytes());
                let _ = d.set(&op, false);
            }
        }
    }

    pub fn default_user(&self) -> Option<&User> {
        self.users.get(DEFAULT_USER)
    }

    /// The default user lets connections in without AUTH (`nopass` and on).
    pub fn default_open(&self) -> bool {
        self.default_user().is_some_and(|u| u.nopass && u.enabled)
    }

    /// The default user has `nopass` (protected mode's test).
    pub fn default_nopass(&self) -> bool {
        self.default_user().is_some_and(|u| u.nopass)
    }

    /// `addACLLogEntry`: a similar recent entry (same reason, context, object and user within a
    /// minute, among the last 10) is bumped and moved to the front instead of adding one.
    pub fn add_log_entry(&mut self, mut entry: LogEntry, max_len: usize) {
        let found = self.log.iter().take(10).position(|e| {
            e.reason == entry.reason
                && e.context == entry.context
                && (e.ctime_ms - entry.ctime_ms).abs() <= LOG_GROUPING_MS
                && e.object == entry.object
                && e.username == entry.username
        });
        if let Some(i) = found
            && let Some(mut old) = self.log.remove(i)
        {
            old.client_info = std::mem::take(&mut entry.client_info);
            old.ctime_ms = entry.ctime_ms;
            old.count += 1;
            self.log.push_front(old);
            return;
        }
        self.log.push_front(entry);
        self.log.truncate(max_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_id_has_a_bit() {
        assert!(universe().commands.len() <= COMMAND_BITS);
    }

    fn user(rules: &[&str]) -> User {
        let mut u = User::new(b"u", false);
        for r in rules {
            u.set(r.as_bytes(), false).unwrap();
        }
        u
    }

    #[test]
    fn describe_like_redis() {
        // Observed on redis-server 7.0.15.
        let u = user(&["on", ">p1", "~k*", "%R~r*", "&ch", "+get", "+@hash", "-hdel", "(+set ~s*)"]);
        assert_eq!(
            u.describe(),
            "on #f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a ~k* %R~r* resetchannels &ch -@all +@hash +get -hdel (~s* resetchannels -@all +set)"
        );
        assert_eq!(user(&["+@all", "-@dangerous"]).describe(), "off resetchannels +@all -@dangerous");
        let d = Acl::new("");
        assert_eq!(d.default_user().unwrap().describe(), "on nopass ~* &* +@all");
    }

    #[test]
    fn the_universe_is_the_whole_table_of_redis() {
        // COMMAND COUNT of redis-server 7.0.15.
        let u = universe();
        assert_eq!(u.commands.iter().filter(|c| c.parent.is_none()).count(), 240);
        let config = u.lookup(b"CONFIG").unwrap();
        assert!(u.commands[config].subcommands.iter().any(|&s| u.commands[s].fullname == "config|get"));
        assert!(u.lookup(b"auth").is_some_and(|id| u.commands[id].no_auth));
    }

    #[test]
    fn errors_like_redis() {
        let mut u = User::new(b"u", false);
        assert_eq!(u.set(b"-debug|object", false), Err(SetError::Enoent));
        assert_eq!(u.set(b"+config|get|x", false), Err(SetError::Echild));
        assert_eq!(u.set(b"%X~a", false), Err(SetError::Einval));
        assert_eq!(u.set(b"#abc", false), Err(SetError::Ebadmsg));
        assert_eq!(u.set(b"<nope", false), Err(SetError::Enodev));
        assert_eq!(u.set(b"+cluster", false), Ok(()));
    }
}
