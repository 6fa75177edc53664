//! The short lookup code printed on a dossier's receipt: with the dossier's code it opens the
//! citizen's status page, for people who did not keep (or never had) the upload token. Eight
//! Crockford base32 characters (40 bits) read out or typed from paper: grouped `7K2M-9Q4T`,
//! read back without regard to case, dashes or spaces, `O` as `0` and `I`/`L` as `1`. Only its
//! SHA-256 is kept.

use rand::Rng;

/// Crockford base32 without I, L, O, U: nothing to misread (dossier codes use it too).
const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LEN: usize = 8;

/// `n` random characters of [`ALPHABET`].
pub fn random_chars(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A new code, as printed.
pub fn new_code() -> String {
    let raw = random_chars(LEN);
    format!("{}-{}", &raw[..4], &raw[4..])
}

/// The code as typed, in its one canonical form; `None` when it cannot be one.
pub fn normalize(typed: &str) -> Option<String> {
    let out: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\u{a0}'))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    (out.len() == LEN && out.bytes().all(|b| ALPHABET.contains(&b))).then_some(out)
}

/// What is stored: the hash of the canonical form.
pub fn hash(code: &str) -> Option<String> {
    normalize(code).map(|c| super::auth::token_hash(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_reads_back_however_it_is_typed() {
        let c = new_code();
        assert_eq!(c.len(), 9);
        assert_eq!(c.as_bytes()[4], b'-');
        let h = hash(&c).unwrap();
        assert_eq!(hash(&c.to_lowercase().replace('-', " ")), Some(h.clone()));
        assert_eq!(hash("7K2M-9Q4T"), hash("7k2m9q4t"));
        assert_eq!(hash("1O2L-3I45"), hash("1021-3145"));
        assert_eq!(hash("7K2M-9Q4"), None, "too short");
        assert_eq!(
            hash("mcc_0123456789abcdef"),
            None,
            "an upload token is not a code"
        );
        assert_eq!(hash("7K2M-9Q4U"), None, "U is not in the alphabet");
    }
}
