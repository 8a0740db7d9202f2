//! Text for people: the discover table and the named types with their
//! docs (the library writes types, definitions and signatures as Rust).

use std::fmt::Write as _;

use rpc_core::schema::Definition;

/// The first sentence of `docs`: its first paragraph up to the first
/// `. `, lines joined (doc comments wrap mid-sentence).
pub(crate) fn summary(docs: &str) -> String {
    let paragraph: Vec<&str> = docs
        .lines()
        .map(str::trim)
        .skip_while(|line| line.is_empty())
        .take_while(|line| !line.is_empty())
        .collect();
    let paragraph = paragraph.join(" ");
    match paragraph.find(". ") {
        Some(end) => paragraph[..=end].to_owned(),
        None => paragraph,
    }
}

/// `definition` as a Rust item after its docs as `///` lines.
pub(crate) fn definition(definition: &Definition) -> String {
    let mut text = String::new();
    for line in definition.docs.lines() {
        let _ = writeln!(text, "/// {line}");
    }
    let _ = writeln!(text, "{definition}");
    text
}

/// Rows as columns padded to their widest cell, the header first; the last
/// column is not padded.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|&h| h.to_owned()).collect();
    let mut text = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (index, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if index + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ");
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_definition_follows_its_docs() {
        let definition: Definition = serde_json::from_value(serde_json::json!({
            "name": "Point",
            "docs": "A point.\nOn a plane.",
            "shape": {"Struct": [
                {"name": "x", "docs": "", "ty": "I32"},
                {"name": "y", "docs": "", "ty": "I32"}
            ]}
        }))
        .unwrap();
        assert_eq!(
            super::definition(&definition),
            "/// A point.\n/// On a plane.\nstruct Point { x: i32, y: i32 }\n"
        );
    }

    #[test]
    fn the_summary_is_the_first_sentence_of_the_first_paragraph() {
        assert_eq!(summary("Adds.\n\nMore."), "Adds.");
        assert_eq!(
            summary("Waits, then answers; its deadline is 100 ms,\nso a longer wait fails. Then."),
            "Waits, then answers; its deadline is 100 ms, so a longer wait fails."
        );
        assert_eq!(summary(""), "");
    }

    #[test]
    fn tables_pad_every_column_but_the_last() {
        let rows = vec![vec![
            "add".to_owned(),
            "call".to_owned(),
            "Adds.".to_owned(),
        ]];
        assert_eq!(
            table(&["METHOD", "KIND", "DOCS"], &rows),
            "METHOD  KIND  DOCS\nadd     call  Adds.\n"
        );
    }

    #[test]
    fn types_the_library_writes_read_back_with_type() {
        for text in [
            "()",
            "Option<(i64, String)>",
            "Vec<u8>",
            "[u8; 4]",
            "Map<String, Vec<bool>>",
            "(u8,)",
            "Bytes",
        ] {
            let ty = crate::types::parse(text, &[]).unwrap();
            assert_eq!(ty.to_string(), text);
        }
    }
}
