//! Criterion benches for auth-rs live in `benches/`; this library is empty on purpose.
//!
//! Each bench group holds three rows where they exist: auth-rs, the peer a user would pick
//! instead, and the raw primitive that bounds both from below. See `README.md`.
