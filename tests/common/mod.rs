//! Shared code of the differential tests: a real redis-server launcher and client
//! ([`redis`]), the script format and comparison rules ([`script`]), and the lockstep runner
//! ([`runner`]).
#![allow(dead_code)]

pub mod redis;
pub mod runner;
pub mod script;
