//! Feeds arbitrary pieces to the fragment reassembly buffer.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rpc_core::__fuzz::run_reassembly(data));
