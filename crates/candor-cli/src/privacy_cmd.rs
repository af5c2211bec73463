//! `candor scrub` and `candor hash`: the privacy layer on text a user hands in.

use std::io::{Read, Write};
use std::path::Path;

use candor_privacy::mac::MacAddress;
use candor_privacy::scrub::MAX_INPUT_BYTES;
use candor_privacy::stack::StackFilter;
use candor_privacy::{KeyedHasher, MachineLiterals, Scrubber, sha256_hex};
use candor_schema::ValueType;

use crate::args::{HashArgs, ScrubArgs};
use crate::{CliError, source};

pub(crate) fn scrub(
    file: Option<&Path>,
    args: &ScrubArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let mut allowed = args.allow_namespaces.clone();
    if let Some(product) = &args.product {
        let catalogues = source::catalogues(file)?;
        let catalogue = catalogues.get(product)?;
        for point in &catalogue.spec().data_points {
            if let ValueType::Exception {
                allowed_namespaces, ..
            } = &point.value
            {
                allowed.extend(allowed_namespaces.iter().cloned());
            }
        }
    }
    let mut input = Vec::new();
    // Read one byte past the limit to know whether the input was longer.
    std::io::stdin()
        .lock()
        .take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut input)
        .map_err(|e| CliError::Usage(format!("cannot read stdin: {e}")))?;
    if input.len() > MAX_INPUT_BYTES {
        return Err(CliError::Usage(format!(
            "stdin is larger than {MAX_INPUT_BYTES} bytes; scrub it in parts"
        )));
    }
    let text = String::from_utf8_lossy(&input);
    let filtered = StackFilter::new(allowed).filter(&text);
    let scrubber = Scrubber::new(&MachineLiterals::detect());
    let max_len = args.max_len.unwrap_or(MAX_INPUT_BYTES);
    out.write_all(scrubber.scrub_limited(&filtered.text, max_len).as_bytes())?;
    Ok(())
}

pub(crate) fn hash(args: &HashArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let value = if args.mac {
        MacAddress::parse(&args.value)
            .ok_or_else(|| CliError::Usage(format!("`{}` is not a MAC address", args.value)))?
            .to_string()
    } else {
        args.value.clone()
    };
    let hashed = match &args.key_file {
        Some(path) => {
            // A key file Candor wrote holds the key in hex: read it as Candor does, so the hash
            // printed is the hash sent. Anything else is the key's raw bytes.
            let key = match candor_state::StateDir::read_key_file(path) {
                Ok(key) => key,
                Err(candor_state::StateError::Invalid { .. }) => {
                    let mut key = candor_state::file::read_input(path, 64 * 1024)
                        .map_err(|e| CliError::Usage(format!("cannot read the key file: {e}")))?;
                    while key.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                        key.pop();
                    }
                    key
                }
                Err(e) => return Err(CliError::Usage(format!("cannot read the key file: {e}"))),
            };
            let hasher = KeyedHasher::with_derived_id(&key)
                .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
            hasher.hash(value.as_bytes()).to_string()
        }
        None => sha256_hex(value.as_bytes()),
    };
    writeln!(out, "{hashed}")?;
    Ok(())
}
