//! Decodes arbitrary bytes as one message and round-trips what decodes.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rpc_core::__fuzz::run_frame(data));
