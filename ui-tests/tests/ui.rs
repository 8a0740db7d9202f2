//! Drives trybuild: every `pass/*.rs` must compile and run, every
//! `fail/*.rs` must fail with exactly its committed `.stderr`.
//!
//! After changing a message, regenerate with
//! `TRYBUILD=overwrite cargo test -p rpc-ui-tests` and read every changed
//! `.stderr`: each error must point at the tokens to change and say what to
//! write instead.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("pass/*.rs");
    cases.compile_fail("fail/*.rs");
}
