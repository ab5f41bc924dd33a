//! Pub/sub (`pubsub.c`): SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, the shard
//! variants SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH, and PUBSUB's introspection.
//!
//! **Who listens.** The server keeps, per channel (and per pattern, per shard channel), the
//! clients listening in the order they subscribed; each client keeps its own lists, whose
//! lengths are the counts every confirmation carries (`clientSubscriptionsCount`: channels plus
//! patterns; shard channels are counted apart). A client with at least one subscription is in
//! the *subscribed context* (`CLIENT_PUBSUB`): over RESP2 it may then only run (P|S)SUBSCRIBE,
//! (P|S)UNSUBSCRIBE, PING (answered `["pong", arg]`), QUIT and RESET
//! ([`subscribed_context_error`]); over RESP3 messages are push frames and any command runs.
//!
//! **What a client receives.** Confirmations and messages are the same three- or four-element
//! frames: `*3` arrays over RESP2, `>3` pushes over RESP3 ([`Reply::Push`] encodes both):
//!
//! ```text
//! subscribe <channel> <count>      unsubscribe <channel|null> <count>
//! psubscribe <pattern> <count>     punsubscribe <pattern|null> <count>
//! ssubscribe <channel> <count>     sunsubscribe <channel|null> <count>
//! message <channel> <payload>      pmessage <pattern> <channel> <payload>
//! smessage <channel> <payload>
//! ```
//!
//! A command with several channels answers one frame per channel ([`Reply::Many`]). A message
//! for another connection waits in [`PubSub::take_messages`] until the host (serve, the lab)
//! writes it to that connection; one for the publisher itself (a RESP3 client listening to the
//! channel it publishes to) comes before PUBLISH's count, as in Redis's reply buffer.
//!
//! **The AOF.** PUBLISH and SPUBLISH change no data: Redis forces their propagation to
//! replicas only (`forceCommandPropagation(c, PROPAGATE_REPL)`), so the AOF never holds them.
//!
//! Redis keeps channels in a dict (its iteration order is its hash order: PUBSUB CHANNELS and
//! the patterns a message is matched against come in no fixed order). Here they are kept
//! sorted, the same on every host, so that the lab's timeline replays the same frames.

use std::collections::BTreeMap;

use super::{Command, Group, LOADING, NOSCRIPT, PUBSUB, STALE};
use crate::cmd::{FAST, MAY_REPLICATE};
use crate::reply::Reply;
use crate::server::{Client, ClientId, Ctx, Server};

/// A client's subscriptions, in the order it made them.
#[derive(Clone, Debug, Default)]
pub struct Subscriptions {
    pub channels: Vec<Vec<u8>>,
    pub patterns: Vec<Vec<u8>>,
    pub shard_channels: Vec<Vec<u8>>,
}

impl Subscriptions {
    /// `clientSubscriptionsCount`: what (P)SUBSCRIBE and (P)UNSUBSCRIBE confirmations count.
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }
    /// `clientTotalPubSubSubscriptionCount`: non-zero means `CLIENT_PUBSUB`.
    pub fn total(&self) -> usize {
        self.count() + self.shard_channels.len()
    }
}

/// What a command pushed to its own connection, placed as Redis writes it around the command's
/// reply: a pub/sub message (a PUBLISH, a script's, to a channel the connection listens to over
/// RESP3) goes to the output buffer while the command runs, so *before* the reply; the
/// invalidations of the connection's own keys, which 7.0 holds until the command has replied
/// (`tracking_pending_keys`, `trackingHandlePendingKeyInvalidations`), and a monitor's line for
/// its own command (fed by `call()` once the command has run) come *after* it. Every host
/// (serve, the lab's console, second console and wire) writes `before`, the reply, `after`.
#[derive(Debug, Default)]
pub struct OwnMessages {
    pub before: Vec<Reply>,
    pub after: Vec<Reply>,
}

/// A published message (`message`, `pmessage`, `smessage`), not an invalidation (RESP2's go to
/// another connection as a `message`, never to their own) nor a monitor's line.
fn is_pubsub_message(m: &Reply) -> bool {
    matches!(m, Reply::Push(items) if matches!(items.first(), Some(Reply::Bulk(b)) if matches!(b.as_slice(), b"message" | b"pmessage" | b"smessage")))
}

/// The server's side: the listeners of every channel, pattern and shard channel, and the
/// messages not yet handed to their connections.
#[derive(Clone, Debug, Default)]
pub struct PubSub {
    channels: BTreeMap<Vec<u8>, Vec<ClientId>>,
    patterns: BTreeMap<Vec<u8>, Vec<ClientId>>,
    shard_channels: BTreeMap<Vec<u8>, Vec<ClientId>>,
    outbox: Vec<(ClientId, Reply)>,
}

impl PubSub {
    /// Messages for connections other than the publisher, in the order they were published:
    /// the host writes each to its connection, in that connection's protocol.
    pub fn take_messages(&mut self) -> Vec<(ClientId, Reply)> {
        std::mem::take(&mut self.outbox)
    }
    /// What the command connection `id` just ran pushed to that same connection, the others'
    /// left in order: see [`OwnMessages`].
    pub fn take_own_messages(&mut self, id: ClientId) -> OwnMessages {
        let mut own = OwnMessages::default();
        if !self.outbox.iter().any(|(t, _)| *t == id) {
            return own;
        }
        let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut self.outbox).into_iter().partition(|(t, _)| *t == id);
        self.outbox = others;
        for (_, m) in mine {
            if is_pubsub_message(&m) { own.before.push(m) } else { own.after.push(m) }
        }
        own
    }
    /// A message for a connection (a monitor's line, a tracking invalidation).
    pub fn push_message(&mut self, id: ClientId, msg: Reply) {
        self.outbox.push((id, msg));
    }
    pub fn has_messages(&self) -> bool {
        !self.outbox.is_empty()
    }
    /// INFO's `pubsub_channels`, `pubsub_patterns`, `pubsubshard_channels`.
    pub fn counts(&self) -> (usize, usize, usize) {
        (self.channels.len(), self.patterns.len(), self.shard_channels.len())
    }
}

/// Which of the three kinds of subscription a command works on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn server_map(self, ps: &mut PubSub) -> &mut BTreeMap<Vec<u8>, Vec<ClientId>> {
        match self {
            Kind::Channel => &mut ps.channels,
            Kind::Pattern => &mut ps.patterns,
            Kind::Shard => &mut ps.shard_channels,
        }
    }
    fn client_list(self, subs: &mut Subscriptions) -> &mut Vec<Vec<u8>> {
        match self {
            Kind::Channel => &mut subs.channels,
            Kind::Pattern => &mut subs.patterns,
            Kind::Shard => &mut subs.shard_channels,
        }
    }
    fn count(self, subs: &Subscriptions) -> usize {
        match self {
            Kind::Shard => subs.shard_channels.len(),
            _ => subs.count(),
        }
    }
    fn subscribe_word(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Pattern => "psubscribe",
            Kind::Shard => "ssubscribe",
        }
    }
    fn unsubscribe_word(self) -> &'static str {
        match self {
            Kind::Channel => "unsubscribe",
            Kind::Pattern => "punsubscribe",
            Kind::Shard => "sunsubscribe",
        }
    }
}

const PS: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[Command] = &[
    Command {
        since: "2.0.0",
        summary: "Listen for messages published to the given channels",
        ..Command::new("subscribe", -2, PS, (0, 0, 0), Group::Pubsub, subscribe)
    },
    Command {
        since: "2.0.0",
        summary: "Listen for messages published to channels matching the given patterns",
        ..Command::new("psubscribe", -2, PS, (0, 0, 0), Group::Pubsub, psubscribe)
    },
    Command {
        since: "2.0.0",
        summary: "Stop listening for messages posted to the given channels",
        ..Command::new("unsubscribe", -1, PS, (0, 0, 0), Group::Pubsub, unsubscribe)
    },
    Command {
        since: "2.0.0",
        summary: "Stop listening for messages posted to channels matching the given patterns",
        ..Command::new("punsubscribe", -1, PS, (0, 0, 0), Group::Pubsub, punsubscribe)
    },
    Command {
        since: "2.0.0",
        summary: "Post a message to a channel",
        ..Command::new("publish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, (0, 0, 0), Group::Pubsub, publish)
    },
    Command {
        since: "2.8.0",
        summary: "A container for Pub/Sub commands",
        subcommands: PUBSUB_SUBCOMMANDS,
        ..Command::new("pubsub", -2, 0, (0, 0, 0), Group::Pubsub, pubsub_help)
    },
    Command {
        since: "7.0.0",
        summary: "Post a message to a shard channel",
        ..Command::new("spublish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, (1, 1, 1), Group::Pubsub, spublish)
    },
    Command {
        since: "7.0.0",
        summary: "Listen for messages published to the given shard channels",
        ..Command::new("ssubscribe", -2, PS, (1, -1, 1), Group::Pubsub, ssubscribe)
    },
    Command {
        since: "7.0.0",
        summary: "Stop listening for messages posted to the given shard channels",
        ..Command::new("sunsubscribe", -1, PS, (1, -1, 1), Group::Pubsub, sunsubscribe)
    },
];

const PS_INTRO: u32 = PUBSUB | LOADING | STALE;

static PUBSUB_SUBCOMMANDS: &[Command] = &[
    Command {
        since: "2.8.0",
        summary: "List active channels",
        ..Command::new("channels", -2, PS_INTRO, (0, 0, 0), Group::Pubsub, pubsub_channels)
    },
    Command {
        since: "2.8.0",
        summary: "Get the count of unique patterns pattern subscriptions",
        ..Command::new("numpat", 2, PS_INTRO, (0, 0, 0), Group::Pubsub, pubsub_numpat)
    },
    Command {
        since: "2.8.0",
        summary: "Get the count of subscribers for channels",
        ..Command::new("numsub", -2, PS_INTRO, (0, 0, 0), Group::Pubsub, pubsub_numsub)
    },
    Command {
        since: "7.0.0",
        summary: "List active shard channels",
        ..Command::new("shardchannels", -2, PS_INTRO, (0, 0, 0), Group::Pubsub, pubsub_shardchannels)
    },
    Command {
        since: "7.0.0",
        summary: "Get the count of subscribers for shard channels",
        ..Command::new("shardnumsub", -2, PS_INTRO, (0, 0, 0), Group::Pubsub, pubsub_shardnumsub)
    },
    Command {
        since: "6.2.0",
        summary: "Show helpful text about the different subcommands",
        ..Command::new("help", 2, LOADING | STALE, (0, 0, 0), Group::Pubsub, pubsub_help)
    },
];

/// The check `processCommand` makes after `-MISCONF` and before queueing in MULTI: a RESP2
/// client in the subscribed context may only (un)subscribe, PING, QUIT or RESET.
pub fn subscribed_context_error(client: &Client, cmd: &'static Command, fullname: &str) -> Option<Reply> {
    if client.subs.total() == 0 || client.protocol() != crate::reply::RESP2 {
        return None;
    }
    // Top-level commands only (Redis compares `c->cmd->proc`): SLOWLOG RESET is no RESET.
    let top_level = super::lookup(cmd.name.as_bytes()).is_some_and(|c| std::ptr::eq(c, cmd));
    let allowed = top_level
        && matches!(
            cmd.name,
            "ping" | "subscribe" | "ssubscribe" | "unsubscribe" | "sunsubscribe" | "psubscribe" | "punsubscribe" | "quit" | "reset"
        );
    if allowed {
        return None;
    }
    Some(Reply::error(format!(
        "ERR Can't execute '{fullname}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    )))
}

/// A frame: `[word, item…]` as a push (an array over RESP2).
fn frame(word: &'static str, items: impl IntoIterator<Item = Reply>) -> Reply {
    let mut v = vec![Reply::bulk(word)];
    v.extend(items);
    Reply::Push(v)
}

fn count_reply(n: usize) -> Reply {
    Reply::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// One reply per frame, or the frame alone.
fn many(mut replies: Vec<Reply>) -> Reply {
    if replies.len() == 1 { replies.pop().unwrap_or(Reply::Nil) } else { Reply::Many(replies) }
}

/// `pubsubSubscribeChannel` / `pubsubSubscribePattern`: adds the subscription unless the client
/// has it, and confirms it either way.
fn subscribe_one(srv: &mut Server, client: &mut Client, kind: Kind, name: &[u8]) -> Reply {
    let list = kind.client_list(&mut client.subs);
    if !list.iter().any(|c| c == name) {
        list.push(name.to_vec());
        kind.server_map(&mut srv.pubsub).entry(name.to_vec()).or_default().push(client.id);
    }
    frame(kind.subscribe_word(), [Reply::bulk(name), count_reply(kind.count(&client.subs))])
}

/// `pubsubUnsubscribeChannel` / `pubsubUnsubscribePattern`: removes the subscription if the
/// client has it; the confirmation (when `notify`) comes either way.
fn unsubscribe_one(srv: &mut Server, client: &mut Client, kind: Kind, name: &[u8], notify: bool) -> Option<Reply> {
    let list = kind.client_list(&mut client.subs);
    if let Some(pos) = list.iter().position(|c| c == name) {
        list.remove(pos);
        let map = kind.server_map(&mut srv.pubsub);
        if let Some(ids) = map.get_mut(name) {
            ids.retain(|&id| id != client.id);
            if ids.is_empty() {
                map.remove(name);
            }
        }
    }
    notify.then(|| frame(kind.unsubscribe_word(), [Reply::bulk(name), count_reply(kind.count(&client.subs))]))
}

/// `pubsubUnsubscribeAll*`: every subscription of a kind, in the order the client made them;
/// with none, one confirmation with a null name (when `notify`).
fn unsubscribe_all(srv: &mut Server, client: &mut Client, kind: Kind, notify: bool) -> Vec<Reply> {
    let names = std::mem::take(kind.client_list(&mut client.subs));
    let mut replies = Vec::new();
    if names.is_empty() && notify {
        replies.push(frame(kind.unsubscribe_word(), [Reply::Nil, count_reply(kind.count(&client.subs))]));
    }
    // Put them back so that each removal counts down as Redis's confirmations do.
    *kind.client_list(&mut client.subs) = names.clone();
    for name in names {
        replies.extend(unsubscribe_one(srv, client, kind, &name, notify));
    }
    replies
}

/// Everything a client listens to, forgotten without a word: RESET and a closed connection
/// (`pubsubUnsubscribeAllChannels(c, 0)` and the others).
pub fn unsubscribe_everything(srv: &mut Server, client: &mut Client) {
    for kind in [Kind::Channel, Kind::Shard, Kind::Pattern] {
        unsubscribe_all(srv, client, kind, false);
    }
}

fn subscribe_kind(ctx: &mut Ctx, argv: &[&[u8]], kind: Kind) -> Reply {
    // CLIENT_DENY_BLOCKING: inside EXEC SUBSCRIBE and PSUBSCRIBE are let through (for
    // backward compatibility, says Redis), SSUBSCRIBE is not.
    if kind == Kind::Shard && ctx.client.in_exec {
        return Reply::err("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
    }
    let replies = argv[1..].iter().map(|name| subscribe_one(ctx.srv, ctx.client, kind, name)).collect();
    many(replies)
}

fn unsubscribe_kind(ctx: &mut Ctx, argv: &[&[u8]], kind: Kind) -> Reply {
    let replies = if argv.len() == 1 {
        unsubscribe_all(ctx.srv, ctx.client, kind, true)
    } else {
        argv[1..].iter().filter_map(|name| unsubscribe_one(ctx.srv, ctx.client, kind, name, true)).collect()
    };
    many(replies)
}

fn subscribe(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    subscribe_kind(ctx, argv, Kind::Channel)
}
fn psubscribe(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    subscribe_kind(ctx, argv, Kind::Pattern)
}
fn ssubscribe(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    subscribe_kind(ctx, argv, Kind::Shard)
}
fn unsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    unsubscribe_kind(ctx, argv, Kind::Channel)
}
fn punsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    unsubscribe_kind(ctx, argv, Kind::Pattern)
}
fn sunsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    unsubscribe_kind(ctx, argv, Kind::Shard)
}

/// `pubsubPublishMessage`: the channel's listeners in the order they subscribed, then (not
/// for shard channels) every matching pattern's. Returns the number of receivers; the frames
/// for the caller itself come back in `own`.
fn publish_message(ctx: &mut Ctx, channel: &[u8], message: &[u8], shard: bool, own: &mut Vec<Reply>) -> usize {
    let me = ctx.client.id;
    let mut deliveries: Vec<(ClientId, Reply)> = Vec::new();
    let map = if shard { &ctx.srv.pubsub.shard_channels } else { &ctx.srv.pubsub.channels };
    if let Some(ids) = map.get(channel) {
        let word = if shard { "smessage" } else { "message" };
        for &id in ids {
            deliveries.push((id, frame(word, [Reply::bulk(channel), Reply::bulk(message)])));
        }
    }
    if !shard {
        for (pattern, ids) in &ctx.srv.pubsub.patterns {
            if !crate::util::string_match(pattern, channel, false) {
                continue;
            }
            for &id in ids {
                deliveries.push((id, frame("pmessage", [Reply::bulk(pattern.as_slice()), Reply::bulk(channel), Reply::bulk(message)])));
            }
        }
    }
    let receivers = deliveries.len();
    for (id, msg) in deliveries {
        if id == me {
            own.push(msg);
        } else {
            ctx.srv.pubsub.outbox.push((id, msg));
        }
    }
    receivers
}

fn publish_kind(ctx: &mut Ctx, argv: &[&[u8]], shard: bool) -> Reply {
    let mut own = Vec::new();
    let n = publish_message(ctx, argv[1], argv[2], shard, &mut own);
    own.push(count_reply(n));
    many(own)
}

fn publish(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    publish_kind(ctx, argv, false)
}
fn spublish(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    publish_kind(ctx, argv, true)
}

const PUBSUB_HELP: &[&str] = &[
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
];

fn pubsub_help(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    super::server::help_reply("PUBSUB", PUBSUB_HELP)
}

/// `channelList`: the channels with listeners, matching the pattern if one is given.
fn channel_list(map: &BTreeMap<Vec<u8>, Vec<ClientId>>, argv: &[&[u8]]) -> Reply {
    if argv.len() > 3 {
        return crate::cmd::subcommand_syntax(argv);
    }
    let pattern = argv.get(2);
    Reply::Array(
        map.keys().filter(|c| pattern.is_none_or(|p| crate::util::string_match(p, c, false))).map(|c| Reply::bulk(c.as_slice())).collect(),
    )
}

fn num_sub(map: &BTreeMap<Vec<u8>, Vec<ClientId>>, argv: &[&[u8]]) -> Reply {
    let mut out = Vec::with_capacity((argv.len() - 2) * 2);
    for c in &argv[2..] {
        out.push(Reply::bulk(*c));
        out.push(count_reply(map.get(*c).map_or(0, Vec::len)));
    }
    Reply::Array(out)
}

fn pubsub_channels(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    channel_list(&ctx.srv.pubsub.channels, argv)
}
fn pubsub_shardchannels(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    channel_list(&ctx.srv.pubsub.shard_channels, argv)
}
fn pubsub_numsub(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    num_sub(&ctx.srv.pubsub.channels, argv)
}
fn pubsub_shardnumsub(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    num_sub(&ctx.srv.pubsub.shard_channels, argv)
}
fn pubsub_numpat(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    count_reply(ctx.srv.pubsub.patterns.len())
}

#[cfg(test)]
mod tests {
    use crate::{Config, Engine, Reply};

    fn b(s: &str) -> Reply {
        Reply::bulk(s)
    }

    #[test]
    fn messages_reach_other_connections_in_order() {
        let mut e = Engine::new(Config::default(), 0);
        let (sub, psub, pubr) = (e.connect(), e.connect(), e.connect());
        let r = e.execute_line(sub, "SUBSCRIBE a b", 0).unwrap();
        assert_eq!(r.to_resp(), b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n");
        e.execute_line(psub, "PSUBSCRIBE a*", 0);
        assert_eq!(e.execute_line(pubr, "PUBLISH a hi", 0), Some(Reply::Int(2)));
        let msgs = e.srv.pubsub.take_messages();
        assert_eq!(
            msgs,
            vec![
                (sub, Reply::Push(vec![b("message"), b("a"), b("hi")])),
                (psub, Reply::Push(vec![b("pmessage"), b("a*"), b("a"), b("hi")])),
            ]
        );
        // RESP2 subscribed context.
        assert_eq!(
            e.execute_line(sub, "GET k", 0),
            Some(Reply::err(
                "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
            ))
        );
        assert_eq!(e.execute_line(sub, "PING", 0), Some(Reply::Array(vec![b("pong"), b("")])));
        // A closed connection stops listening.
        e.disconnect(sub);
        assert_eq!(e.execute_line(pubr, "PUBSUB NUMSUB a b", 0), Some(Reply::Array(vec![b("a"), Reply::Int(0), b("b"), Reply::Int(0)])));
        assert_eq!(e.execute_line(pubr, "PUBLISH a x", 0), Some(Reply::Int(1)));
        assert!(e.take_aof_buf().is_empty());
    }

    #[test]
    fn a_resp3_publisher_hears_itself_first() {
        let mut e = Engine::new(Config::default(), 0);
        let c = e.connect();
        e.execute_line(c, "HELLO 3", 0);
        e.execute_line(c, "SUBSCRIBE ch", 0);
        let r = e.execute_line(c, "PUBLISH ch m", 0).unwrap();
        assert_eq!(r.to_resp_proto(3), b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n:1\r\n");
        assert_eq!(e.execute_line(c, "UNSUBSCRIBE", 0).unwrap().to_resp_proto(3), b">3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n");
        assert_eq!(e.execute_line(c, "PUNSUBSCRIBE", 0).unwrap().to_resp_proto(3), b">3\r\n$12\r\npunsubscribe\r\n_\r\n:0\r\n");
    }
}
