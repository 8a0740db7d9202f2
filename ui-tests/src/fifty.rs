//! A router with fifty methods, to keep the cost of expanding and
//! compiling a large router measured (see docs/macros.md) and compiling in
//! CI. A mix of the shapes the macro handles: calls with several
//! arguments, `Result` returns, casts with the session, options.

use ::std::{option::Option, result::Result, string::String, vec::Vec};

/// Fifty methods of five shapes.
#[derive(Debug, Default)]
pub struct Fifty;

/// A large router.
#[::rpc::router]
impl Fifty {
    /// Adds two numbers (0).
    #[::rpc::call]
    async fn m0(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    /// Echoes non-empty text (1).
    #[::rpc::call]
    async fn m1(&self, text: String) -> Result<String, String> {
        if text.is_empty() {
            Result::Err(::std::string::ToString::to_string("empty"))
        } else {
            Result::Ok(text)
        }
    }

    /// Takes bytes and forgets them (2).
    #[::rpc::cast]
    async fn m2(&self, session: &::rpc::Session, value: Vec<u8>) {
        let _ = (session.id(), value);
    }

    /// Returns nothing in particular (3).
    #[::rpc::call(timeout = "5s")]
    async fn m3(&self) -> Option<(u32, String)> {
        Option::None
    }

    /// Counts the items (4).
    #[::rpc::call(name = "fifty.m4")]
    async fn m4(&self, items: Vec<String>, flag: bool, n: i32) -> usize {
        let _ = (flag, n);
        items.len()
    }

    /// Adds two numbers (5).
    #[::rpc::call]
    async fn m5(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    /// Echoes non-empty text (6).
    #[::rpc::call]
    async fn m6(&self, text: String) -> Result<String, String> {
        if text.is_empty() {
            Result::Err(::std::string::ToString::to_string("empty"))
        } else {
            Result::Ok(text)
        }
    }

    /// Takes bytes and forgets them (7).
    #[::rpc::cast]
    async fn m7(&self, session: &::rpc::Session, value: Vec<u8>) {
        let _ = (session.id(), value);
    }

    /// Returns nothing in particular (8).
    #[::rpc::call(timeout = "5s")]
    async fn m8(&self) -> Option<(u32, String)> {
        Option::None
    }

    /// Counts the items (9).
    #[::rpc::call(name = "fifty.m9")]
    async fn m9(&self, items: Vec<String>, flag: bool, n: i32) -> usize {
        let _ = (flag, n);
        items.len()
    }

    /// Adds two numbers (10).
    #[::rpc::call]
    async fn m10(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    /// Echoes non-empty text (11).
    #[::rpc::call]
    async fn m11(&self, text: String) -> Result<String, String> {
        if text.is_empty() {
            Result::Err(::std::string::ToString::to_string("empty"))
        } else {
            Result::Ok(text)
        }
    }

    /// Takes bytes and forgets them (12).
    #[::rpc::cast]
    async fn m12(&self, session: &::rpc::Session, value: Vec<u8>) {
        let _ = (session.id(), value);
    }

    /// Returns nothing in particular (13).
    #[::rpc::call(timeout = "5s")]
    async fn m13(&self) -> Option<(u32, String)> {
        Option::None
    }

    /// Counts the items (14).
    #[::rpc::call(name = "fifty.m14")]
    async fn m14(&self, items: Vec<String>, flag: bool, n: i32) -> usize {
        let _ = (flag, n);
        items.len()
    }

    /// Adds two numbers (15).
    #[::rpc::call]
    async fn m15(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    /// Echoes non-empty text (16).
    #[::rpc::call]
    async fn m16(&self, text: String) -> Result<String, String> {
        if text.is_empty() {
            Result::Err(::std::string::ToString::to_string("empty"))
        } else {
            Result::Ok(text)
        }
    }

    /// Takes bytes and forgets them (17).
    #[::rpc::cast]
    async fn m17(&self, session: &::rpc::Session, value: Vec<u8>) {
        let _ = (session.id(), value);
    }

    /// Returns nothing in particular (18).
    #[::rpc::call(timeout = "5s")]
    async fn m18(&self) -> Option<(u32, String)> {
        Option::None
    }

    /// Counts the items (19).
    #[::rpc::call(name = "fifty.m19")]
    async fn m19(&self, items: Vec<String>, flag: bool, n: i32) -> usize {
        let _ = (flag, n);
        items.len()
    }

    /// Adds two numbers (20).
    #[::rpc::call]
    async fn m20(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    /// Echoes non-empty text (21).
    #[::rpc::call]
    async fn m21(&self, text: String) -> Result<String, String> {
        if text.is_empty() {
            Result::Err(::std::string::ToString::to_string("empty"))
        } else {
            Result::Ok(text)
        }
    }

    /// Takes bytes and forgets them (22).
    #[::rpc::cast]
    async fn m22(&self, session: &::rpc::Session, value: Vec<u8>) {
        let _ = (session.id(), value);
    }

    /// Returns nothing in particular (23).
    #[::rpc::call(timeout = "5s")]
    async fn m23(&self) -> Option<(u32, String)> {
        Option::None
    }

    /// Counts the items (24).
    #[::rpc::call(name = "fifty.m24")]
    async fn m24(&self, items: Vec<String>, flag: bool, n: i32) -> usize {
        let _ = (flag, n);
        items.len()
    }

    /// Adds two numbers (25).
    #[::rpc::call]
    async fn m25(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    /// Echoes non-empty text (26).
    #[::rpc::call]
    async fn m26(&self, text: String) -> Result<String, String> {
        if text.is_empty() {
            Result::Err(::std::string::ToString::to_string("empty"))
        } else {
            Result::Ok(text)
        }
    }

    /// Takes bytes and forgets them (27).
    #[::rpc::cast]
    async fn m27(&self, session: &::rpc::Session, value: Vec<u8>) {
        let _ = (session.id(), value);
    }

    /// Returns nothing in particular (28).
    #[::rpc::call(timeout = "5s")]
    async fn m28(&self) -> Option<(u32, String)> {
        Option::None
    }

    /// Counts the items (29).
    #[::rpc::call(name = "fifty.m29")]
    async fn m29(&self, items: Vec<String>, flag: bool, n: i32) -> usize {
        let _ = (flag, n);
        items.len()
    }

    /// Adds two numbers (30).
    #[::rpc::call]
    async fn m30(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    /// Echoes non-empty text (31).
    #[::rpc::call]
    async fn m31(&self, text: String) -> Result<String, String> {
        if text.is_empty() {
            Result::Err(::std::string::ToString::to_string("empty"))
        } else {
            Result::Ok(text)
        }
    }

    /// Takes bytes and forgets them (32).
    #[::rpc::cast]
    async fn m32(&self, session: &::rpc::Session, value: Vec<u8>) {
        let _ = (session.id(), value);
    }

    /// Returns nothing in particular (33).
    #[::rpc::call(timeout = "5s")]
    async fn m33(&self) -> Option<(u32, String)> {
        Option::None
    }

    /// Counts the items (34).
    #[::rpc::call(name = "fifty.m34")]
    async fn m34(&self, items: Vec<String>, flag: bool, n: i32) -> usize {
        let _ = (flag, n);
        items.len()
    }

    /// Adds two numbers (35).
    #[::rpc::call]
    async fn m35(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    /// Echoes non-empty text (36).
    #[::rpc::call]
    async fn m36(&self, text: String) -> Result<String, String> {
        if text.is_empty() {
            Result::Err(::std::string::ToString::to_string("empty"))
        } else {
            Result::Ok(text)
        }
    }

    /// Takes bytes and forgets them (37).
    #[::rpc::cast]
    async fn m37(&self, session: &::rpc::Session, value: Vec<u8>) {
        let _ = (session.id(), value);
    }

    /// Returns nothing in particular (38).
    #[::rpc::call(timeout = "5s")]
    async fn m38(&self) -> Option<(u32, String)> {
        Option::None
    }

    /// Counts the items (39).
    #[::rpc::call(name = "fifty.m39")]
    async fn m39(&self, items: Vec<String>, flag: bool, n: i32) -> usize {
        let _ = (flag, n);
        items.len()
    }

    /// Adds two numbers (40).
    #[::rpc::call]
    async fn m40(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    /// Echoes non-empty text (41).
    #[::rpc::call]
    async fn m41(&self, text: String) -> Result<String, String> {
        if text.is_empty() {
            Result::Err(::std::string::ToString::to_string("empty"))
        } else {
            Result::Ok(text)
        }
    }

    /// Takes bytes and forgets them (42).
    #[::rpc::cast]
    async fn m42(&self, session: &::rpc::Session, value: Vec<u8>) {
        let _ = (session.id(), value);
    }

    /// Returns nothing in particular (43).
    #[::rpc::call(timeout = "5s")]
    async fn m43(&self) -> Option<(u32, String)> {
        Option::None
    }

    /// Counts the items (44).
    #[::rpc::call(name = "fifty.m44")]
    async fn m44(&self, items: Vec<String>, flag: bool, n: i32) -> usize {
        let _ = (flag, n);
        items.len()
    }

    /// Adds two numbers (45).
    #[::rpc::call]
    async fn m45(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    /// Echoes non-empty text (46).
    #[::rpc::call]
    async fn m46(&self, text: String) -> Result<String, String> {
        if text.is_empty() {
            Result::Err(::std::string::ToString::to_string("empty"))
        } else {
            Result::Ok(text)
        }
    }

    /// Takes bytes and forgets them (47).
    #[::rpc::cast]
    async fn m47(&self, session: &::rpc::Session, value: Vec<u8>) {
        let _ = (session.id(), value);
    }

    /// Returns nothing in particular (48).
    #[::rpc::call(timeout = "5s")]
    async fn m48(&self) -> Option<(u32, String)> {
        Option::None
    }

    /// Counts the items (49).
    #[::rpc::call(name = "fifty.m49")]
    async fn m49(&self, items: Vec<String>, flag: bool, n: i32) -> usize {
        let _ = (flag, n);
        items.len()
    }
}
