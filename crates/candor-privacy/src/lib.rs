//! Candor's privacy layer: everything that turns a value a host recorded into a value that may
//! leave the machine.
//!
//! - [`hash`]: HMAC-SHA256 with a key and key id (the default pseudonymiser), and plain SHA-256
//!   for a catalogue that promises exactly that.
//! - [`mac`]: normalising MAC addresses and choosing, deterministically, the one to identify a
//!   machine by (the better alternative, a random per-install id, is made and kept by
//!   `candor-state`).
//! - [`allow_list`]: known values pass, anything else becomes a fixed placeholder.
//! - [`identifier`]: the grammars a value sent verbatim must match (names, labels, modes,
//!   versions), with the scrubber finding nothing in it; a name is not a host name, a
//!   credential pair, a URL, a UUID or a hex token. (Language tags follow the catalogue's
//!   grammar, `candor_schema::is_language_tag`, which this crate does not depend on.)
//! - [`scrub`]: a single-pass, linear-time scrubber for free text (e-mail and IP addresses,
//!   user names in paths, Windows and directory identities — accounts, Kerberos principals,
//!   application pool identities, SIDs, UNC home folders, distinguished names, computer and
//!   device names —, credentials, secret-bearing keys in config and code syntaxes, `.netrc`
//!   entries, passwords on command lines and in prose, vendor tokens of the public rule sets,
//!   card, bank account, social security, national and phone numbers (international, North
//!   American and national formats), wallet addresses, opaque high-entropy tokens, PEM blocks,
//!   this machine's own names), escaped and full-width forms included; a length cut keeps no
//!   part of a secret.
//! - [`stack`]: .NET and Rust stack traces, filtered to allowed namespaces.
//! - [`user_agent`]: a user agent coarsened to browser family, major version and OS family.
//!
//! Used by the collectors and the facade, and by `candor scrub` / `candor hash`. It depends on
//! no other Candor crate and knows nothing about catalogues, consent or transport: no tokio, no
//! HTTP. A leak is the worst bug Candor can have, so every function here is total: any input,
//! including huge or invalid text, gives an output or a typed error, never a panic.

#![warn(missing_docs)]

pub mod allow_list;
pub mod hash;
pub mod identifier;
pub mod mac;
pub mod scrub;
pub mod stack;
pub mod user_agent;

pub use allow_list::AllowList;
pub use hash::{HashError, HashedValue, KeyedHasher, sha256_hex};
pub use identifier::{IdentifierError, check_identifier, check_version};
pub use scrub::{MachineLiterals, Scrubber};
