//! The read-only HTML page `candor serve` answers on `GET /`: the reports of every product, with
//! bar charts drawn as inline SVG. No script, no framework, nothing fetched: the page is one
//! document, and every string in it (product names from catalogues, values from clients) is
//! escaped, so a value can only ever show as text.

use std::fmt::Write as _;

use crate::report::{Aggregate, Category, Report};

/// Escapes text for HTML element content and double-quoted attributes.
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

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem;color:#222}\
h1{font-size:1.5rem}h2{font-size:1.25rem;margin-top:2.5rem;border-bottom:1px solid #ccc}\
h3{font-size:1rem;margin:1.5rem 0 .25rem}.kind{color:#666;font-weight:normal}\
table{border-collapse:collapse}td,th{padding:.15rem .6rem;text-align:left;border-bottom:1px solid #eee}\
td.n{text-align:right;font-variant-numeric:tabular-nums}svg text{font-size:12px;fill:#222}";

/// The whole page for these reports; `range` says which time range they cover.
pub fn render(reports: &[Report], range: &str) -> String {
    let mut html = String::with_capacity(16 * 1024);
    html.push_str(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>Candor telemetry</title><style>",
    );
    html.push_str(STYLE);
    html.push_str("</style></head><body><h1>Candor telemetry</h1>");
    let _ = write!(html, "<p id=\"range\">{}</p>", escape(range));
    for report in reports {
        product(&mut html, report);
    }
    html.push_str("</body></html>\n");
    html
}

fn product(html: &mut String, report: &Report) {
    let _ = write!(
        html,
        "<section class=\"product\" data-product=\"{id}\"><h2>{name} <span class=\"kind\">({id})</span></h2>\
         <p>Events: <strong class=\"events\">{events}</strong></p>",
        id = escape(&report.product),
        name = escape(&report.name),
        events = report.events
    );
    if !report.refused.is_empty() {
        html.push_str("<h3>Refused on arrival</h3><table class=\"refused\">");
        for (reason, count) in &report.refused {
            let _ = write!(
                html,
                "<tr><td>{}</td><td class=\"n\">{count}</td></tr>",
                escape(reason)
            );
        }
        html.push_str("</table>");
    }
    for point in report.points.iter().filter(|p| p.count > 0) {
        let _ = write!(
            html,
            "<div class=\"point\" data-point=\"{id}\"><h3>{name} <span class=\"kind\">{id} · {kind}</span> \
             — <span class=\"count\">{count}</span> events</h3>",
            id = escape(&point.id),
            name = escape(&point.name),
            kind = escape(&point.kind),
            count = point.count
        );
        let by_version: Vec<Category> = point
            .versions
            .iter()
            .map(|v| Category {
                value: v.product_version.clone(),
                count: v.count,
            })
            .collect();
        html.push_str("<p>By product version:</p>");
        bars(html, &by_version);
        aggregate(html, &point.total);
        html.push_str("</div>");
    }
    html.push_str("</section>");
}

fn aggregate(html: &mut String, aggregate: &Aggregate) {
    if !aggregate.values.is_empty() {
        html.push_str("<p>Values:</p>");
        bars(html, &aggregate.values);
    }
    if let Some(s) = &aggregate.summary {
        let median = s.median.map_or_else(|| "–".to_owned(), |m| format!("{m}"));
        let _ = write!(
            html,
            "<table class=\"summary\"><tr><th>min</th><th>median</th><th>max</th><th>measurements</th></tr>\
             <tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr></table>",
            s.min, median, s.max, s.measurements
        );
    }
    if let Some(n) = aggregate.distinct {
        let _ = write!(
            html,
            "<p>Distinct values: <span class=\"distinct\">{n}</span></p>"
        );
    }
}

/// A horizontal bar chart: one row per category, the bar's length proportional to its count.
fn bars(html: &mut String, categories: &[Category]) {
    const ROW: usize = 20;
    const LABEL: usize = 260;
    const BAR: f64 = 360.0;
    let max = categories.iter().map(|c| c.count).max().unwrap_or(0).max(1) as f64;
    let height = ROW * categories.len().max(1);
    let _ = write!(
        html,
        "<svg class=\"chart\" role=\"img\" width=\"{w}\" height=\"{height}\" viewBox=\"0 0 {w} {height}\">",
        w = LABEL + BAR as usize + 80
    );
    for (i, c) in categories.iter().enumerate() {
        let y = i * ROW;
        let width = (c.count as f64 / max * BAR).max(1.0);
        let label: String = c.value.chars().take(40).collect();
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
            count = c.count
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
}
