//! The key a misspelled or habitual name meant, for the message about an unknown key.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::syntax::KEYS;

/// Names people reach for out of habit, mapped to the key they mean.
const ALIASES: [(&str, &str); 8] = [
    ("input", "in"),
    ("kernel", "k"),
    ("kernel_size", "k"),
    ("padding", "pad"),
    ("strides", "stride"),
    ("in_channels", "cin"),
    ("out_channels", "cout"),
    ("batch_size", "batch"),
];

/// The message for the unknown key `name`: the key it most likely meant, or every key.
pub(super) fn unknown_key_message(name: &str, extra_keys: &[&str]) -> String {
    let known = || KEYS.iter().chain(extra_keys).copied();
    let alias = ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
        .map(|&(_, key)| key);
    let close = known()
        .map(|key| (edit_distance(name, key), key))
        .filter(|&(distance, key)| distance <= 1 || (distance == 2 && key.len() > 3))
        .min()
        .map(|(_, key)| key);
    if let Some(key) = alias.or(close) {
        format!("unknown key `{name}`; did you mean `{key}`?")
    } else {
        let keys: Vec<String> = known().map(|key| format!("`{key}`")).collect();
        format!("unknown key `{name}`; expected one of {}", keys.join(", "))
    }
}

/// Levenshtein distance, for suggesting the key a typo meant.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}
