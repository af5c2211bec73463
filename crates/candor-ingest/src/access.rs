//! Who may read what the receiving end holds.
//!
//! Products send to the ingest endpoints (`POST /v1/events`, `POST /v1/logs`) without any
//! credential: every install of a product can reach them. The read endpoints (the page and
//! the JSON report) show the whole fleet's aggregates, so they answer only a request bearing
//! the read token `candor serve` was given in a file; without one they are off.
//!
//! The token is kept only as its SHA-256 digest, and a presented token is hashed and compared
//! with it in constant time ([`subtle`]): hashing first makes the comparison independent of
//! the token's length, and `subtle` keeps the optimiser from turning it into an early exit.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The read token's digest. Its `Debug` form shows nothing of it.
#[derive(Clone)]
pub struct ReadToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for ReadToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadToken(..)")
    }
}

/// The shortest read token accepted: shorter ones can be guessed.
pub const MIN_READ_TOKEN_LEN: usize = 16;

/// Why a text is not a read token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadTokenError {
    /// Nothing but blanks.
    #[error("the read token is empty")]
    Empty,
    /// Shorter than [`MIN_READ_TOKEN_LEN`].
    #[error("the read token is shorter than {MIN_READ_TOKEN_LEN} characters")]
    Short,
    /// A character an `Authorization` header cannot carry.
    #[error("the read token holds a blank or a non-ASCII character")]
    Unsendable,
}

impl ReadToken {
    /// A token from its text (surrounding blanks removed); refused when shorter than
    /// [`MIN_READ_TOKEN_LEN`] or holding a character a `Authorization` header cannot carry.
    pub fn new(token: &str) -> Result<Self, ReadTokenError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(ReadTokenError::Empty);
        }
        if token.len() < MIN_READ_TOKEN_LEN {
            return Err(ReadTokenError::Short);
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ReadTokenError::Unsendable);
        }
        Ok(Self {
            digest: Sha256::digest(token.as_bytes()).into(),
        })
    }

    /// Whether an `Authorization` header's value is `Bearer <this token>`, or `Basic` with
    /// this token as the password (any user name), which is how a browser presents it.
    pub fn admits(&self, authorization: Option<&[u8]>) -> bool {
        use base64::Engine as _;
        let Some(value) = authorization else {
            return false;
        };
        let (scheme, credential) = match value.iter().position(|&b| b == b' ') {
            Some(at) => (&value[..at], &value[at + 1..]),
            None => return false,
        };
        let basic;
        let presented = if scheme.eq_ignore_ascii_case(b"bearer") {
            credential
        } else if scheme.eq_ignore_ascii_case(b"basic") {
            let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(credential) else {
                return false;
            };
            basic = decoded;
            match basic.iter().position(|&b| b == b':') {
                Some(at) => &basic[at + 1..],
                None => return false,
            }
        } else {
            return false;
        };
        let digest: [u8; 32] = Sha256::digest(presented).into();
        bool::from(digest.ct_eq(&self.digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_is_admitted() {
        let token = ReadToken::new("  correct-horse-battery-staple\n").unwrap();
        assert!(token.admits(Some(b"Bearer correct-horse-battery-staple")));
        assert!(token.admits(Some(b"bearer correct-horse-battery-staple")));
        assert!(!token.admits(None));
        assert!(!token.admits(Some(b"Bearer correct-horse-battery-stapl")));
        assert!(!token.admits(Some(b"Bearer correct-horse-battery-staple ")));
        assert!(!token.admits(Some(b"correct-horse-battery-staple")));
        assert!(!token.admits(Some(b"Bearer")));
        // "reader:correct-horse-battery-staple" and "reader:wrong-horse-battery-staple".
        assert!(token.admits(Some(
            b"Basic cmVhZGVyOmNvcnJlY3QtaG9yc2UtYmF0dGVyeS1zdGFwbGU="
        )));
        assert!(!token.admits(Some(b"Basic cmVhZGVyOndyb25nLWhvcnNlLWJhdHRlcnktc3RhcGxl")));
        assert!(!token.admits(Some(b"Basic !!!")));
        assert_eq!(format!("{token:?}"), "ReadToken(..)");
    }

    #[test]
    fn weak_tokens_are_refused() {
        assert!(ReadToken::new("").is_err());
        assert!(ReadToken::new("   \n").is_err());
        assert!(ReadToken::new("short").is_err());
        assert!(ReadToken::new("has a blank inside it").is_err());
    }
}
