//! Consumer groups (`streamCG`): a group remembers the last ID it delivered (`last_id`), how
//! many entries it has read (`entries_read`, -1 when unknown), its pending entries list (PEL:
//! entries delivered and not yet acknowledged, each a NACK with its delivery time, delivery
//! count and owner) and its consumers, each with its own PEL (the same NACKs, by ID).
//!
//! Redis keeps groups, consumers and PELs in radix trees, so everything here iterates in byte
//! order of the names and in ID order: `BTreeMap`s give that order. A NACK names its consumer
//! (Redis points to it); deleting a consumer deletes its NACKs from the group PEL.

use std::collections::{BTreeMap, BTreeSet};

use super::StreamId;

/// `SCG_INVALID_ENTRIES_READ`.
pub const INVALID_ENTRIES_READ: i64 = -1;

/// `streamNACK`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Nack {
    pub delivery_time: i64,
    pub delivery_count: u64,
    /// The owner's name; `None` only for a NACK that XCLAIM … FORCE is about to assign.
    pub consumer: Option<Vec<u8>>,
}

impl Nack {
    /// `streamCreateNACK`: delivered now, once.
    pub fn new(consumer: Option<Vec<u8>>, now_ms: i64) -> Nack {
        Nack { delivery_time: now_ms, delivery_count: 1, consumer }
    }
}

/// `streamConsumer`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Consumer {
    pub seen_time: i64,
    pub pel: BTreeSet<StreamId>,
}

/// `streamCG`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerGroup {
    pub last_id: StreamId,
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Vec<u8>, Consumer>,
}

impl ConsumerGroup {
    pub fn new(last_id: StreamId, entries_read: i64) -> ConsumerGroup {
        ConsumerGroup { last_id, entries_read, pel: BTreeMap::new(), consumers: BTreeMap::new() }
    }

    /// `streamLookupConsumer`: whether it exists; `refresh` (SLC_DEFAULT) sets its seen time.
    pub fn lookup_consumer(&mut self, name: &[u8], refresh: Option<i64>) -> bool {
        match self.consumers.get_mut(name) {
            Some(c) => {
                if let Some(now) = refresh {
                    c.seen_time = now;
                }
                true
            }
            None => false,
        }
    }

    /// `streamCreateConsumer`: false if it already exists.
    pub fn create_consumer(&mut self, name: &[u8], now_ms: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(name.to_vec(), Consumer { seen_time: now_ms, pel: BTreeSet::new() });
        true
    }

    /// `streamDelConsumer`: removes the consumer and its pending entries; returns how many it
    /// had, or `None` if there is no such consumer.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }

    /// Removes a pending entry from the group PEL and from its owner's PEL (XACK, and XCLAIM of
    /// an entry that no longer exists).
    pub fn remove_pending(&mut self, id: StreamId) -> Option<Nack> {
        let nack = self.pel.remove(&id)?;
        if let Some(owner) = nack.consumer.as_ref().and_then(|n| self.consumers.get_mut(n)) {
            owner.pel.remove(&id);
        }
        Some(nack)
    }

    /// Gives a pending entry to `consumer`, moving it out of its previous owner's PEL.
    pub fn assign(&mut self, id: StreamId, consumer: &[u8]) {
        let Some(nack) = self.pel.get_mut(&id) else { return };
        if nack.consumer.as_deref() == Some(consumer) {
            return;
        }
        if let Some(old) = nack.consumer.take()
            && let Some(c) = self.consumers.get_mut(&old)
        {
            c.pel.remove(&id);
        }
        nack.consumer = Some(consumer.to_vec());
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    /// What the group costs in memory, for the maxmemory estimate: a NACK and its radix-tree
    /// share in the group's PEL (about 100 bytes), the same ID in its owner's PEL (about 60),
    /// each consumer's own structures.
    pub fn approx_size(&self, name_len: usize) -> usize {
        let consumers: usize = self.consumers.iter().map(|(n, c)| 96 + n.len() + c.pel.len() * 60).sum();
        128 + name_len + self.pel.len() * 100 + consumers
    }
}
