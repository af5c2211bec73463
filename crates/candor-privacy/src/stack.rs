//! Stack traces: keep the frames of allowed namespaces, drop everything that says where the code
//! lived on somebody's disk.
//!
//! Understands .NET traces (`   at Namespace.Type.Method(String path) in C:\src\x.cs:line 42`,
//! `--- End of stack trace from previous location ---`, ` ---> Inner.Exception: message`) and Rust
//! panic backtraces (`  12: crate::module::function` followed by `at /path/file.rs:10:5`).
//! A kept frame loses its file path, line number and argument names (argument types stay: they
//! identify the overload); each run of dropped frames becomes one marker with its count. Lines
//! that are not frames (exception headers, messages) are left for the scrubber.

/// A filter that keeps frames whose method lies in one of the allowed namespaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackFilter {
    allowed: Vec<String>,
}

/// The outcome of filtering a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filtered {
    /// The text with frames filtered.
    pub text: String,
    /// Frames kept.
    pub kept: usize,
    /// Frames dropped.
    pub dropped: usize,
}

enum Line<'a> {
    DotNetFrame { method: &'a str, args: &'a str },
    RustFrame { symbol: &'a str },
    RustLocation,
    Other(&'a str),
}

impl StackFilter {
    /// Frames of these namespaces are kept (`System` keeps `System.IO.File.Open`, not
    /// `SystemX.Run`). An empty list keeps no frame.
    pub fn new<I, S>(allowed: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            allowed: allowed
                .into_iter()
                .map(Into::into)
                .filter(|s: &String| !s.is_empty())
                .collect(),
        }
    }

    /// Whether a fully qualified method name lies in an allowed namespace.
    pub fn allows(&self, qualified: &str) -> bool {
        // Rust symbols may be wrapped: `<candor::Foo as core::fmt::Debug>::fmt` belongs to the
        // type's crate.
        let name = qualified
            .trim_start_matches('<')
            .trim_start_matches("impl ");
        self.allowed.iter().any(|ns| {
            name.strip_prefix(ns.as_str()).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with('.') || rest.starts_with("::")
            })
        })
    }

    /// Filters every stack trace in `text`; other lines pass unchanged.
    pub fn filter(&self, text: &str) -> Filtered {
        let mut out = String::with_capacity(text.len());
        let (mut kept, mut dropped, mut run) = (0, 0, 0usize);
        let mut after_rust_frame = false;
        // Numbered lines are Rust frames only inside a `stack backtrace:` block, so a numbered
        // list in an exception message is left alone.
        let mut in_rust_backtrace = false;
        let flush = |out: &mut String, run: &mut usize| {
            if *run > 0 {
                let plural = if *run == 1 { "" } else { "s" };
                out.push_str(&format!("   [{run} frame{plural} omitted]\n"));
                *run = 0;
            }
        };
        for raw in text.split_inclusive('\n') {
            let line = raw.trim_end_matches(['\n', '\r']);
            let parsed = classify(line, after_rust_frame, in_rust_backtrace);
            after_rust_frame = matches!(parsed, Line::RustFrame { .. });
            in_rust_backtrace = match parsed {
                Line::RustFrame { .. } | Line::RustLocation => true,
                Line::Other(other) => other.trim() == "stack backtrace:",
                Line::DotNetFrame { .. } => false,
            };
            match parsed {
                Line::DotNetFrame { method, args } => {
                    if self.allows(method) {
                        flush(&mut out, &mut run);
                        out.push_str(&format!("   at {method}({})\n", argument_types(args)));
                        kept += 1;
                    } else {
                        run += 1;
                        dropped += 1;
                    }
                }
                Line::RustFrame { symbol } => {
                    let symbol = strip_rust_hash(symbol);
                    if self.allows(symbol) {
                        flush(&mut out, &mut run);
                        out.push_str(&format!("   at {symbol}\n"));
                        kept += 1;
                    } else {
                        run += 1;
                        dropped += 1;
                    }
                }
                // The file and line of a Rust frame: dropped whether or not the frame was kept.
                Line::RustLocation => {}
                Line::Other(other) => {
                    flush(&mut out, &mut run);
                    out.push_str(other);
                    if raw.ends_with('\n') {
                        out.push('\n');
                    }
                }
            }
        }
        flush(&mut out, &mut run);
        if !text.ends_with('\n') && out.ends_with('\n') && dropped + kept > 0 {
            out.pop();
        }
        Filtered {
            text: out,
            kept,
            dropped,
        }
    }
}

fn classify(line: &str, after_rust_frame: bool, in_rust_backtrace: bool) -> Line<'_> {
    let trimmed = line.trim_start();
    if let Some(rest) = trimmed.strip_prefix("at ") {
        if after_rust_frame && !rest.contains('(') {
            return Line::RustLocation;
        }
        if let Some(open) = rest.find('(') {
            let method = rest[..open].trim();
            let close = matching_paren(rest, open);
            if let Some(close) = close
                && !method.is_empty()
                && !method.contains(char::is_whitespace)
            {
                return Line::DotNetFrame {
                    method,
                    args: &rest[open + 1..close],
                };
            }
        }
    }
    if in_rust_backtrace
        && let Some((number, symbol)) = trimmed.split_once(": ")
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && !symbol.trim().is_empty()
    {
        return Line::RustFrame {
            symbol: symbol.trim(),
        };
    }
    Line::Other(line)
}

fn matching_paren(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `String path, ref Int32 count` → `String, ref Int32`: types identify the overload; names are
/// the developer's and may be anything.
fn argument_types(args: &str) -> String {
    args.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|arg| match arg.rsplit_once(' ') {
            Some((ty, _name)) => ty.trim(),
            None => arg,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rust symbols end in `::h` and sixteen hex digits, which identify a build, not a function.
fn strip_rust_hash(symbol: &str) -> &str {
    match symbol.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            head
        }
        _ => symbol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOTNET: &str = "System.IO.FileNotFoundException: Could not find file 'C:\\Users\\jdoe\\app.config'.
   at System.IO.FileStream.ValidateFileHandle(SafeFileHandle fileHandle, String path)
   at Customer.Billing.Invoice.Load(String customerEmail) in C:\\src\\billing\\Invoice.cs:line 42
   at Customer.Billing.Program.Main(String[] args) in C:\\src\\billing\\Program.cs:line 7
--- End of stack trace from previous location ---
   at Contrast.Agent.Sensors.Hook.Invoke(Object target, Object[] arguments) in D:\\a\\1\\s\\Hook.cs:line 88
   at System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw()
 ---> System.UnauthorizedAccessException: Access denied.
   at SystemX.Evil.Run()
   at Contrast.Agent.Config.Read()
";

    #[test]
    fn dotnet_frames_are_filtered_to_allowed_namespaces() {
        let filtered = StackFilter::new(["System", "Contrast"]).filter(DOTNET);
        let expected =
            "System.IO.FileNotFoundException: Could not find file 'C:\\Users\\jdoe\\app.config'.
   at System.IO.FileStream.ValidateFileHandle(SafeFileHandle, String)
   [2 frames omitted]
--- End of stack trace from previous location ---
   at Contrast.Agent.Sensors.Hook.Invoke(Object, Object[])
   at System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw()
 ---> System.UnauthorizedAccessException: Access denied.
   [1 frame omitted]
   at Contrast.Agent.Config.Read()
";
        assert_eq!(filtered.text, expected);
        assert_eq!((filtered.kept, filtered.dropped), (4, 3));
        assert!(!filtered.text.contains("Invoice.cs"));
        assert!(!filtered.text.contains("customerEmail"));
    }

    #[test]
    fn an_empty_allow_list_keeps_no_frame() {
        let filtered = StackFilter::new(Vec::<String>::new()).filter(DOTNET);
        assert_eq!(filtered.kept, 0);
        assert_eq!(filtered.dropped, 7);
        assert!(filtered.text.contains("[2 frames omitted]"));
    }

    #[test]
    fn rust_backtraces_lose_paths_and_hashes() {
        let trace = "thread 'main' panicked at src/main.rs:5:5:
called `Option::unwrap()` on a `None` value
stack backtrace:
   0: rust_begin_unwind
             at /rustc/59807616e1fa/library/std/src/panicking.rs:652:5
   1: core::panicking::panic_fmt::h0123456789abcdef
             at /rustc/59807616e1fa/library/core/src/panicking.rs:72:14
   2: candor::record::h1111222233334444
             at /home/jdoe/src/candor/src/record.rs:10:5
   3: <candor::Telemetry as core::ops::Drop>::drop
             at /home/jdoe/src/candor/src/lib.rs:99:9
   4: myapp::main
             at ./src/main.rs:5:5
";
        let filtered = StackFilter::new(["candor", "std", "core"]).filter(trace);
        let expected = "thread 'main' panicked at src/main.rs:5:5:
called `Option::unwrap()` on a `None` value
stack backtrace:
   [1 frame omitted]
   at core::panicking::panic_fmt
   at candor::record
   at <candor::Telemetry as core::ops::Drop>::drop
   [1 frame omitted]
";
        assert_eq!(filtered.text, expected);
        assert!(!filtered.text.contains("/home/jdoe"));
    }

    #[test]
    fn namespace_matching_respects_segment_boundaries() {
        let filter = StackFilter::new(["System", "candor"]);
        assert!(filter.allows("System"));
        assert!(filter.allows("System.IO.File.Open"));
        assert!(!filter.allows("SystemX.Run"));
        assert!(filter.allows("candor::record"));
        assert!(!filter.allows("candor_extra::record"));
    }

    #[test]
    fn text_without_frames_is_unchanged() {
        let text =
            "plain message: at least one error (see log)\nno frames here\n1: first\n2: second";
        let filtered = StackFilter::new(["System"]).filter(text);
        assert_eq!(filtered.text, text);
        assert_eq!((filtered.kept, filtered.dropped), (0, 0));
    }
}
