//! The parts every Candor HTML page shares: [`escape`] for every string that comes from data,
//! [`page_start`] (a document with a content security policy that allows no script and fetches
//! nothing) and [`bar_chart`] (a horizontal bar chart drawn as inline SVG).
//!
//! Used by `candor-ingest` (the aggregates page of `candor serve`) and `candor-view` (the local
//! page of `candor view`), so escaping and charting are written once. It knows nothing about
//! catalogues, events or HTTP: strings in, HTML out.

#![warn(missing_docs)]

use std::fmt::Write as _;

/// Escapes text for HTML element content and double-quoted attributes; control characters
/// other than newline and tab become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The style sheet of Candor's pages.
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem;color:#222}\
h1{font-size:1.5rem}h2{font-size:1.25rem;margin-top:2.5rem;border-bottom:1px solid #ccc}\
h3{font-size:1rem;margin:1.5rem 0 .25rem}.kind{color:#666;font-weight:normal}\
table{border-collapse:collapse}td,th{padding:.15rem .6rem;text-align:left;border-bottom:1px solid #eee;vertical-align:top}\
td.n{text-align:right;font-variant-numeric:tabular-nums}svg text{font-size:12px;fill:#222}\
pre{white-space:pre-wrap;word-break:break-all;background:#f6f6f6;padding:.4rem;margin:.2rem 0;font-size:.8rem}";

/// The content security policy of Candor's pages: no script, nothing fetched, inline style only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'";

/// Starts a page: doctype, the content security policy (also as a meta element, so a saved
/// copy keeps it), the style sheet, `title` (escaped) as the title and first heading.
pub fn page_start(html: &mut String, title: &str) {
    let title = escape(title);
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CONTENT_SECURITY_POLICY}\">\
         <title>{title}</title><style>{STYLE}</style></head><body><h1>{title}</h1>"
    );
}

/// Ends a page started with [`page_start`].
pub fn page_end(html: &mut String) {
    html.push_str("</body></html>\n");
}

/// A horizontal bar chart: one row per `(label, count)`, the bar's length proportional to its
/// count; labels are cut to 40 characters and escaped.
pub fn bar_chart<'a>(html: &mut String, rows: impl IntoIterator<Item = (&'a str, u64)>) {
    const ROW: usize = 20;
    const LABEL: usize = 260;
    const BAR: f64 = 360.0;
    let rows: Vec<(&str, u64)> = rows.into_iter().collect();
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
    let height = ROW * rows.len().max(1);
    let _ = write!(
        html,
        "<svg class=\"chart\" role=\"img\" width=\"{w}\" height=\"{height}\" viewBox=\"0 0 {w} {height}\">",
        w = LABEL + BAR as usize + 80
    );
    for (i, (label, count)) in rows.iter().enumerate() {
        let y = i * ROW;
        let width = (*count as f64 / max * BAR).max(1.0);
        let label: String = label.chars().take(40).collect();
        let _ = write!(
            html,
            "<g class=\"bar\"><text x=\"0\" y=\"{ty}\">{label}</text>\
             <rect x=\"{LABEL}\" y=\"{ry}\" width=\"{width:.1}\" height=\"{h}\" fill=\"#4e79a7\"></rect>\
             <text x=\"{nx:.1}\" y=\"{ty}\" class=\"n\">{count}</text></g>",
            ty = y + 14,
            ry = y + 3,
            h = ROW - 6,
            label = escape(&label),
            nx = LABEL as f64 + width + 6.0,
        );
    }
    html.push_str("</svg>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert(\"x\")</script>&'"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
        assert_eq!(escape("a\u{0}b"), "a\u{fffd}b");
    }

    #[test]
    fn chart_labels_are_escaped_and_bars_scale() {
        let mut html = String::new();
        bar_chart(&mut html, [("<b>", 2), ("x", 1)]);
        assert!(html.contains(">&lt;b&gt;</text>"), "{html}");
        assert!(html.contains("width=\"360.0\""), "{html}");
        assert!(html.contains("width=\"180.0\""), "{html}");
    }
}
