//! Small helpers for writing Markdown that renders the same everywhere, and for putting
//! catalogue text into it without letting that text become Markdown or HTML of its own.

/// Catalogue text as inline Markdown: line breaks become spaces (so no text starts a heading,
/// a list or a table row), characters Markdown or HTML would act on are backslash-escaped, and a
/// leading character that would open a block is escaped too. Spans the vendor wrote in
/// backticks stay code spans, so `` `en-US` `` still renders as code.
pub(crate) fn text(raw: &str) -> String {
    let flat = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(flat.len() + 8);
    let mut rest = flat.as_str();
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('`') else { break };
        escape_plain(&rest[..open], out.is_empty(), &mut out);
        out.push_str(&code(&after[..close]));
        rest = &after[close + 1..];
    }
    escape_plain(rest, out.is_empty(), &mut out);
    out
}

/// Catalogue text placed after other words on a line (a version after a line's name): escaped
/// as [`text`] escapes, without the rules for the start of a line, and with no code spans.
pub(crate) fn inline(raw: &str) -> String {
    let flat = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(flat.len() + 8);
    escape_plain(&flat, false, &mut out);
    out
}

fn escape_plain(plain: &str, at_line_start: bool, out: &mut String) {
    for (i, ch) in plain.char_indices() {
        let opens_block =
            at_line_start && i == 0 && matches!(ch, '#' | '-' | '+' | '=' | '>' | '0'..='9');
        if opens_block && ch.is_ascii_digit() {
            // `1. item` opens an ordered list; escaping the dot after the digits prevents it.
            out.push(ch);
            continue;
        }
        let special = matches!(
            ch,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '~' | '!' | '#'
        ) && (ch != '#' || i == 0);
        if special || opens_block {
            out.push('\\');
        }
        if ch == '.' && at_line_start && plain[..i].bytes().all(|b| b.is_ascii_digit()) && i > 0 {
            out.push('\\');
        }
        out.push(ch);
    }
}

/// Text as a code span on one line: the fence is longer than any run of backticks inside, and
/// a pipe is escaped so that the span cannot end a table cell.
pub(crate) fn code(raw: &str) -> String {
    let flat = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let longest_run = flat.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    let pad = if flat.starts_with('`') || flat.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{}{pad}{fence}", flat.replace('|', "\\|"))
}

/// A link a reader may follow, as an autolink (`<https://…>`). The loader admits only
/// `https://` links of printable ASCII without `<`, `>`, `|`, quotes or spaces; anything else
/// reaching here is shown as inert code rather than trusted.
pub(crate) fn link(url: &str) -> String {
    let plain = url.starts_with("https://")
        && url
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '|' | '"' | '`' | '\\'));
    if plain { format!("<{url}>") } else { code(url) }
}

/// Writes a table with a header row. Cells are already Markdown (built with [`text`] and
/// [`code`]), so they hold no line breaks and no unescaped pipes.
pub(crate) fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    out.push_str(&format!("| {} |\n", header.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
    for row in rows {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
}

/// `a`, `a and b`, `a, b and c`.
pub(crate) fn join_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_break_cannot_start_a_heading() {
        let name = "Widget\n# Telemetry is DISABLED";
        let shown = text(name);
        assert!(!shown.contains('\n'));
        assert_eq!(shown, "Widget # Telemetry is DISABLED");
        assert_eq!(text("# Off"), "\\# Off");
        assert_eq!(text("C# Dev Kit"), "C# Dev Kit");
    }

    #[test]
    fn a_pipe_cannot_split_a_cell_even_after_a_backslash() {
        assert_eq!(text("a \\| b"), "a \\\\\\| b");
        assert_eq!(text("a | b"), "a \\| b");
        assert_eq!(code("x|y"), "`x\\|y`");
    }

    #[test]
    fn html_and_links_are_inert() {
        assert_eq!(
            text("<script>x</script> [a](b)"),
            "\\<script\\>x\\</script\\> \\[a\\](b)"
        );
        assert_eq!(text("1. first"), "1\\. first");
        assert_eq!(text("- item"), "\\- item");
    }

    #[test]
    fn inline_text_escapes_markup_but_not_a_leading_number() {
        assert_eq!(inline("9.2 and later"), "9.2 and later");
        assert_eq!(inline("1.0+<b>x</b>"), "1.0+\\<b\\>x\\</b\\>");
        assert_eq!(inline("1.0+`x`|y"), "1.0+\\`x\\`\\|y");
    }

    #[test]
    fn only_plain_https_links_become_links() {
        assert_eq!(
            link("https://example.com/r/1?a=b&c#d"),
            "<https://example.com/r/1?a=b&c#d>"
        );
        assert_eq!(link("javascript:alert(1)"), "`javascript:alert(1)`");
        assert_eq!(link("https://x.test/a>b"), "`https://x.test/a>b`");
        assert_eq!(link("https://x.test/a|b"), "`https://x.test/a\\|b`");
    }

    #[test]
    fn vendor_code_spans_stay_code() {
        assert_eq!(text("like `en-US` here"), "like `en-US` here");
        assert_eq!(text("odd ` tick"), "odd \\` tick");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
    }
}
