//! Peer-controlled text in our own messages and logs: cut to a bound, so
//! that a 16 MiB method name costs a log line of a few dozen bytes.

use std::fmt;

/// Longest peer-controlled string written to a log line, in bytes.
pub(crate) const MAX_LOGGED: usize = 128;

/// The longest prefix of `text` of at most `max` bytes that ends on a
/// character boundary.
pub(crate) fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Displays a peer-controlled string cut to [`MAX_LOGGED`] bytes, saying
/// how much was left out.
#[derive(Clone, Copy)]
pub(crate) struct Clipped<'a>(pub(crate) &'a str);

impl fmt::Display for Clipped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = clip(self.0, MAX_LOGGED);
        f.write_str(shown)?;
        if shown.len() < self.0.len() {
            write!(f, "… ({} more bytes)", self.0.len() - shown.len())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Clipped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_on_a_character_boundary_and_says_how_much_is_left() {
        assert_eq!(clip("héllo", 2), "h");
        assert_eq!(clip("héllo", 3), "hé");
        assert_eq!(clip("hi", 10), "hi");
        let long = "x".repeat(1000);
        let shown = Clipped(&long).to_string();
        assert!(shown.starts_with(&"x".repeat(MAX_LOGGED)));
        assert!(shown.ends_with("(872 more bytes)"), "{shown}");
    }
}
