//! The read-only HTML page `candor serve` answers on `GET /`: the reports of every product, with
//! bar charts drawn as inline SVG. No script, no framework, nothing fetched: the page is one
//! document, and every string in it (product names from catalogues, values from clients) is
//! escaped, so a value can only ever show as text.

use std::fmt::Write as _;

use crate::report::{Aggregate, Category, Report};

pub use candor_html::escape;

/// The whole page for these reports; `range` says which time range they cover.
pub fn render(reports: &[Report], range: &str) -> String {
    let mut html = String::with_capacity(16 * 1024);
    candor_html::page_start(&mut html, "Candor telemetry");
    let _ = write!(html, "<p id=\"range\">{}</p>", escape(range));
    for report in reports {
        product(&mut html, report);
    }
    candor_html::page_end(&mut html);
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
    // Always said, so a reader knows small groups are never shown by name.
    let _ = write!(
        html,
        "<p class=\"min-group\">Values and versions from fewer than \
         <strong class=\"min-group\">{k}</strong> installations are shown only together, as \
         “(other)”: <strong class=\"folded\">{folded}</strong> folded in this report.</p>",
        k = report.min_group,
        folded = report.folded
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
    if let Some(h) = &aggregate.histogram {
        let _ = write!(
            html,
            "<table class=\"histogram\"><tr><th>p50</th><th>p95</th><th>p99</th><th>mean</th>\
             <th>measurements</th></tr><tr><td class=\"n\">{:.4}</td><td class=\"n\">{:.4}</td><td class=\"n\">{:.4}</td>\
             <td class=\"n\">{:.4}</td><td class=\"n\">{}</td></tr></table>",
            h.p50, h.p95, h.p99, h.mean, h.measurements
        );
    }
    if let Some(n) = aggregate.distinct {
        let _ = write!(
            html,
            "<p>Distinct values: <span class=\"distinct\">{n}</span></p>"
        );
    }
}

fn bars(html: &mut String, categories: &[Category]) {
    candor_html::bar_chart(html, categories.iter().map(|c| (c.value.as_str(), c.count)));
}
