//! libFuzzer target `discovery`: the property is `auth_rs_fuzz::run("discovery", _)` (src/). Built
//! without cargo-fuzz, it replays the files named on its command line.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| auth_rs_fuzz::run("discovery", data));

#[cfg(not(fuzzing))]
fn main() {
    auth_rs_fuzz::replay_args("discovery");
}
