//! libFuzzer target `serve_config`: the property is `auth_rs_fuzz::run("serve_config", _)` (src/). Built
//! without cargo-fuzz, it replays the files named on its command line.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| auth_rs_fuzz::run("serve_config", data));

#[cfg(not(fuzzing))]
fn main() {
    auth_rs_fuzz::replay_args("serve_config");
}
