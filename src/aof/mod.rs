//! The append-only file. This module grows with the persistence issue: feed (here), flush and
//! fsync policies, the multi-part manifest, loading, rewrite and check/fix.

pub mod feed;
pub mod manifest;

pub use feed::Feed;
