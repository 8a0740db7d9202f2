//! Decodes arbitrary bytes as a client's first message and negotiates a version.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rpc_core::__fuzz::run_handshake(data));
