//! serde's `rename_all` rules, applied exactly as `serde_derive` applies them
//! (`serde_derive/src/internals/case.rs`): a field or variant name in a
//! schema must be the one serde writes.

/// One `rename_all = "..."` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    Lower,
    Upper,
    Pascal,
    Camel,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
}

/// The rules by the names serde spells them.
const RULES: [(&str, Rule); 8] = [
    ("lowercase", Rule::Lower),
    ("UPPERCASE", Rule::Upper),
    ("PascalCase", Rule::Pascal),
    ("camelCase", Rule::Camel),
    ("snake_case", Rule::Snake),
    ("SCREAMING_SNAKE_CASE", Rule::ScreamingSnake),
    ("kebab-case", Rule::Kebab),
    ("SCREAMING-KEBAB-CASE", Rule::ScreamingKebab),
];

impl Rule {
    /// The rule named `name`; `None` for a name serde rejects too (its
    /// error is the one the user sees).
    pub(crate) fn parse(name: &str) -> Option<Rule> {
        RULES
            .iter()
            .find(|(spelled, _)| *spelled == name)
            .map(|(_, rule)| *rule)
    }

    /// A variant's name under the rule; variants are written `PascalCase`.
    pub(crate) fn variant(self, variant: &str) -> String {
        match self {
            Rule::Pascal => variant.to_owned(),
            Rule::Lower => variant.to_ascii_lowercase(),
            Rule::Upper => variant.to_ascii_uppercase(),
            Rule::Camel => {
                let mut chars = variant.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_ascii_lowercase().to_string() + chars.as_str()
                })
            }
            Rule::Snake => {
                let mut snake = String::new();
                for (i, ch) in variant.char_indices() {
                    if i > 0 && ch.is_uppercase() {
                        snake.push('_');
                    }
                    snake.push(ch.to_ascii_lowercase());
                }
                snake
            }
            Rule::ScreamingSnake => Rule::Snake.variant(variant).to_ascii_uppercase(),
            Rule::Kebab => Rule::Snake.variant(variant).replace('_', "-"),
            Rule::ScreamingKebab => Rule::ScreamingSnake.variant(variant).replace('_', "-"),
        }
    }

    /// A field's name under the rule; fields are written `snake_case`.
    pub(crate) fn field(self, field: &str) -> String {
        match self {
            Rule::Lower | Rule::Snake => field.to_owned(),
            Rule::Upper | Rule::ScreamingSnake => field.to_ascii_uppercase(),
            Rule::Pascal => {
                let mut pascal = String::new();
                let mut capitalize = true;
                for ch in field.chars() {
                    if ch == '_' {
                        capitalize = true;
                    } else if capitalize {
                        pascal.push(ch.to_ascii_uppercase());
                        capitalize = false;
                    } else {
                        pascal.push(ch);
                    }
                }
                pascal
            }
            Rule::Camel => {
                let pascal = Rule::Pascal.field(field);
                let mut chars = pascal.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_ascii_lowercase().to_string() + chars.as_str()
                })
            }
            Rule::Kebab => field.replace('_', "-"),
            Rule::ScreamingKebab => field.to_ascii_uppercase().replace('_', "-"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `serde_derive`'s own table (its `rename_variants` and `rename_fields`
    /// tests), so that a name here is the name serde writes.
    #[test]
    fn variants_follow_serde() {
        let cases = [
            (
                "Outcome", "outcome", "OUTCOME", "outcome", "outcome", "OUTCOME", "outcome",
                "OUTCOME",
            ),
            (
                "VeryTasty",
                "verytasty",
                "VERYTASTY",
                "veryTasty",
                "very_tasty",
                "VERY_TASTY",
                "very-tasty",
                "VERY-TASTY",
            ),
            ("A", "a", "A", "a", "a", "A", "a", "A"),
            ("Z42", "z42", "Z42", "z42", "z42", "Z42", "z42", "Z42"),
        ];
        for (original, lower, upper, camel, snake, screaming, kebab, screaming_kebab) in cases {
            assert_eq!(Rule::Lower.variant(original), lower);
            assert_eq!(Rule::Upper.variant(original), upper);
            assert_eq!(Rule::Pascal.variant(original), original);
            assert_eq!(Rule::Camel.variant(original), camel);
            assert_eq!(Rule::Snake.variant(original), snake);
            assert_eq!(Rule::ScreamingSnake.variant(original), screaming);
            assert_eq!(Rule::Kebab.variant(original), kebab);
            assert_eq!(Rule::ScreamingKebab.variant(original), screaming_kebab);
        }
    }

    #[test]
    fn fields_follow_serde() {
        let cases = [
            (
                "outcome", "OUTCOME", "Outcome", "outcome", "OUTCOME", "outcome", "OUTCOME",
            ),
            (
                "very_tasty",
                "VERY_TASTY",
                "VeryTasty",
                "veryTasty",
                "VERY_TASTY",
                "very-tasty",
                "VERY-TASTY",
            ),
            ("a", "A", "A", "a", "A", "a", "A"),
            ("z42", "Z42", "Z42", "z42", "Z42", "z42", "Z42"),
        ];
        for (original, upper, pascal, camel, screaming, kebab, screaming_kebab) in cases {
            assert_eq!(Rule::Lower.field(original), original);
            assert_eq!(Rule::Snake.field(original), original);
            assert_eq!(Rule::Upper.field(original), upper);
            assert_eq!(Rule::Pascal.field(original), pascal);
            assert_eq!(Rule::Camel.field(original), camel);
            assert_eq!(Rule::ScreamingSnake.field(original), screaming);
            assert_eq!(Rule::Kebab.field(original), kebab);
            assert_eq!(Rule::ScreamingKebab.field(original), screaming_kebab);
        }
    }

    #[test]
    fn names_parse_as_serde_spells_them() {
        assert_eq!(
            Rule::parse("SCREAMING-KEBAB-CASE"),
            Some(Rule::ScreamingKebab)
        );
        assert_eq!(Rule::parse("Snake_Case"), None);
    }
}
