//! The `auth` binary end to end: commands, output and exit codes as a script sees them.
#![allow(clippy::unwrap_used)]

#[path = "it/commands.rs"]
mod commands;
#[path = "it/support.rs"]
mod support;
