//! Doorstep's domain: plain Rust types with their validation and their pure reducers.
//!
//! Nothing here knows about Automerge, SQLite or FFI: the types describe what a grid worker
//! records, and the reducers (`task::reduce`, `appeal::reduce`) turn append-only event lists into
//! a status the same way on every replica.

pub mod appeal;
pub mod household;
pub mod photo;
pub mod plan;
pub mod task;
pub mod visit;

use crate::{Error, Result};

/// A person as the documents remember them: a stable id and the name shown at the time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PersonRef {
    pub id: String,
    pub name: String,
}

impl PersonRef {
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        PersonRef {
            id: id.into(),
            name: name.into(),
        }
    }

    pub fn validate(&self) -> Result<()> {
        required("person.id", &self.id, 64)?;
        required("person.name", &self.name, 64)
    }
}

/// A text a person must fill in: trimmed, not empty, at most `max` characters.
pub(crate) fn required(field: &'static str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    optional(field, value, max)
}

/// A text that may be empty: at most `max` characters, no control characters but newlines/tabs.
pub(crate) fn optional(field: &'static str, value: &str, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n > max {
        return Err(Error::invalid(
            field,
            format!("{n} characters, at most {max} allowed"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::invalid(field, "contains control characters"));
    }
    Ok(())
}

/// A phone number: digits with an optional leading `+` and `-`/space separators, 3..=20 digits
/// (landlines, mobiles and short numbers like 12345 all occur).
pub(crate) fn phone(field: &'static str, value: &str) -> Result<()> {
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let ok_chars = value
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || c == '-' || c == ' ' || (c == '+' && i == 0));
    if !ok_chars || !(3..=20).contains(&digits) {
        return Err(Error::invalid(
            field,
            format!("{value:?} is not a phone number"),
        ));
    }
    Ok(())
}

/// Defines a closed set of values with a stable storage code and zh-CN / English labels.
///
/// The code is what documents and index rows store; labels are for the interfaces.
macro_rules! coded_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal, $zh:literal, $en:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stable code stored in documents and indexes.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code,)+ }
            }

            /// The value stored under `code`, if any.
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }

            /// The zh-CN label.
            pub fn label_zh(self) -> &'static str {
                match self { $($name::$variant => $zh,)+ }
            }

            /// The English label.
            pub fn label_en(self) -> &'static str {
                match self { $($name::$variant => $en,)+ }
            }
        }
    };
}
pub(crate) use coded_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        for ok in ["13812345678", "+86 138-1234-5678", "12345", "010-6512 3456"] {
            assert!(phone("p", ok).is_ok(), "{ok}");
        }
        for bad in ["", "12", "abc", "138+1234", "1".repeat(21).as_str()] {
            assert!(phone("p", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn texts() {
        assert!(required("f", "  ", 10).is_err());
        assert!(required("f", "王秀英", 3).is_ok());
        assert!(required("f", "王秀英a", 3).is_err());
        assert!(optional("f", "a\u{0007}", 10).is_err());
        assert!(optional("f", "line\nline", 10).is_ok());
    }
}
