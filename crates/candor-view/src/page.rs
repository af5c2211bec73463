//! The page: one HTML document, no script, every string from the data escaped with
//! `candor-html`'s one escaping function, charts drawn as inline SVG by its one chart.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use candor_html::{bar_chart, escape};
use candor_schema::{Event, Value};

use crate::gather::{FolderView, ProductView, Snapshot};

/// The most events listed in full in one list (the newest); counts and charts use them all.
const MAX_LISTED: usize = 200;
/// The most rows in one chart.
const MAX_ROWS: usize = 40;

/// The whole page for `snapshot`.
pub fn render(snapshot: &Snapshot) -> String {
    let mut html = String::with_capacity(64 * 1024);
    candor_html::page_start(&mut html, "What Candor holds on this machine");
    html.push_str(
        "<p>Read-only. The consent decision, the data points each product may collect and how \
         each is protected, what waits to be sent, and what was sent, payload by payload. \
         Change your mind with <code>candor consent &lt;product&gt; on|local|off</code>.</p>",
    );
    for folder in &snapshot.folders {
        folder_section(&mut html, folder);
    }
    candor_html::page_end(&mut html);
    html
}

fn folder_section(html: &mut String, folder: &FolderView) {
    let _ = write!(
        html,
        "<section class=\"folder\" data-root=\"{root}\"><h2>{label} <span class=\"kind\">{root}</span></h2>",
        label = escape(&folder.label),
        root = escape(&folder.root.display().to_string()),
    );
    for product in &folder.products {
        product_section(html, product);
    }
    html.push_str("</section>");
}

fn product_section(html: &mut String, p: &ProductView) {
    let _ = write!(
        html,
        "<div class=\"product\" data-product=\"{id}\"><h3>{name} <span class=\"kind\">({id})</span></h3>\
         <p class=\"decision\" data-mode=\"{mode}\">Telemetry is <strong>{headline}</strong>.<br>\
         Why: {reason}<br>Decided by: {by}</p>",
        id = escape(&p.id),
        name = escape(&p.name),
        mode = p.decision.mode.as_str(),
        headline = escape(p.decision.headline()),
        reason = escape(&p.decision.reason),
        by = escape(&p.decision.decided_by.describe()),
    );
    for warning in p
        .decision
        .warnings
        .iter()
        .filter(|w| **w != p.decision.reason)
    {
        let _ = write!(
            html,
            "<p class=\"warning\">Warning: {}</p>",
            escape(warning)
        );
    }
    for problem in &p.unreadable {
        let _ = write!(
            html,
            "<p class=\"unreadable\">Could not read the {}: {}</p>",
            escape(&problem.what),
            escape(&problem.message)
        );
    }
    catalogue_table(html, p);
    spool_list(html, p);
    receipts_list(html, p);
    local_list(html, p);
    charts(html, p);
    html.push_str("</div>");
}

fn catalogue_table(html: &mut String, p: &ProductView) {
    match &p.running {
        Some((line, version)) => {
            let _ = write!(
                html,
                "<h4>Catalogue in effect for {} {} (the newest event's version)</h4>",
                escape(line),
                escape(version)
            );
        }
        None => html.push_str("<h4>Catalogue (no event yet says which version runs)</h4>"),
    }
    html.push_str(
        "<table class=\"catalogue\"><tr><th>point</th><th>name</th><th>value</th>\
         <th>protection</th><th>in effect</th></tr>",
    );
    for (id, name, kind, privacy, in_effect) in &p.points {
        let _ = write!(
            html,
            "<tr data-point=\"{id}\"><td><code>{id}</code></td><td>{name}</td><td>{kind}</td>\
             <td class=\"privacy\">{privacy}</td><td>{effect}</td></tr>",
            id = escape(id),
            name = escape(name),
            effect = match in_effect {
                Some(true) => "yes",
                Some(false) => "no",
                None => "–",
            }
        );
    }
    html.push_str("</table>");
}

fn spool_list(html: &mut String, p: &ProductView) {
    let waiting: usize = p.spool.iter().map(|b| b.events.len()).sum();
    let _ = write!(
        html,
        "<h4>Waiting in the spool: <span class=\"spooled\">{waiting}</span> event(s) in {} batch(es)</h4>",
        p.spool.len()
    );
    let events: Vec<&Event> = p.spool.iter().flat_map(|b| &b.events).collect();
    event_list(html, "spool", &events);
}

fn receipts_list(html: &mut String, p: &ProductView) {
    let (summary, request) = &p.deletion;
    let _ = write!(
        html,
        "<p class=\"deletion\">{}{}</p>",
        escape(summary),
        request
            .as_deref()
            .map(|r| format!("<br><span class=\"deletion-request\">{}</span>", escape(r)))
            .unwrap_or_default()
    );
    let _ = write!(
        html,
        "<h4>Sent: <span class=\"receipt-count\">{}</span> payload(s)</h4>",
        p.receipts.len()
    );
    if p.receipts.is_empty() {
        return;
    }
    html.push_str(
        "<table class=\"receipts\"><tr><th>delivered</th><th>sink</th><th>endpoint</th>\
         <th>events</th><th>bytes</th><th>payload</th></tr>",
    );
    for r in &p.receipts {
        let receipt = &r.receipt;
        let _ = write!(
            html,
            "<tr class=\"receipt\" data-bytes=\"{bytes}\" data-events=\"{events}\"><td>{time}</td>\
             <td>{sink}</td><td>{endpoint}</td><td class=\"n\">{events}</td><td class=\"n\">{bytes}</td><td>",
            time = escape(&receipt.time),
            sink = escape(&receipt.sink),
            endpoint = escape(&receipt.endpoint),
            events = receipt.events,
            bytes = receipt.bytes,
        );
        for sent in &r.events {
            let _ = write!(
                html,
                "<details class=\"sent\"><summary><code class=\"event-id\">{}</code>{}</summary>",
                escape(&sent.id),
                sent.event
                    .as_ref()
                    .map(|e| format!(" {}", escape(e.point())))
                    .unwrap_or_default(),
            );
            match &sent.event {
                Some(event) => {
                    let _ = write!(
                        html,
                        "<pre class=\"event\">{}</pre>",
                        escape(&pretty(event))
                    );
                }
                None => html.push_str(
                    "<p>No copy of this payload is kept any more (past its size or age cap, \
                     removed by <code>candor clean</code>, or unreadable: see below); the \
                     receiver holds it.</p>",
                ),
            }
            html.push_str("</details>");
        }
        html.push_str("</td></tr>");
    }
    html.push_str("</table>");
}

fn local_list(html: &mut String, p: &ProductView) {
    let _ = write!(
        html,
        "<h4>Kept on this machine (mode local): <span class=\"local-count\">{}</span> event(s)</h4>",
        p.local.len()
    );
    let events: Vec<&Event> = p.local.iter().collect();
    event_list(html, "local", &events);
}

/// The newest events of a list, each as its JSON.
fn event_list(html: &mut String, class: &str, events: &[&Event]) {
    if events.is_empty() {
        return;
    }
    let skip = events.len().saturating_sub(MAX_LISTED);
    if skip > 0 {
        let _ = write!(
            html,
            "<p>The newest {MAX_LISTED} of {} shown.</p>",
            events.len()
        );
    }
    let _ = write!(html, "<div class=\"{class}\">");
    for event in &events[skip..] {
        let _ = write!(
            html,
            "<details><summary>{time} <code>{point}</code></summary><pre class=\"event\">{json}</pre></details>",
            time = escape(&event.time().to_string()),
            point = escape(event.point()),
            json = escape(&pretty(event)),
        );
    }
    html.push_str("</div>");
}

fn pretty(event: &Event) -> String {
    serde_json::to_string_pretty(event).unwrap_or_default()
}

/// Events per day per point, and the distributions of values and summaries, over every event
/// this folder holds for the product (sent, waiting and local).
fn charts(html: &mut String, p: &ProductView) {
    let all: Vec<&Event> = p
        .sent
        .iter()
        .chain(p.spool.iter().flat_map(|b| &b.events))
        .chain(&p.local)
        .filter(|e| e.product() == p.id)
        .collect();
    if all.is_empty() {
        return;
    }
    let mut per_day: BTreeMap<(String, String), u64> = BTreeMap::new();
    for e in &all {
        let day: String = e.time().to_string().chars().take(10).collect();
        *per_day.entry((day, e.point().to_owned())).or_default() += 1;
    }
    html.push_str("<h4>Events per day and point</h4>");
    let rows: Vec<(String, u64)> = per_day
        .iter()
        .rev()
        .take(MAX_ROWS)
        .map(|((day, point), n)| (format!("{day} {point}"), *n))
        .collect();
    bar_chart(html, rows.iter().rev().map(|(l, n)| (l.as_str(), *n)));

    let mut by_point: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for e in &all {
        by_point.entry(e.point()).or_default().push(e);
    }
    html.push_str("<h4>Distributions</h4>");
    for (point, events) in by_point {
        let _ = write!(
            html,
            "<div class=\"distribution\" data-point=\"{id}\"><p><code>{id}</code> ({n} event(s))</p>",
            id = escape(point),
            n = events.len()
        );
        distribution(html, &events);
        html.push_str("</div>");
    }
}

fn distribution(html: &mut String, events: &[&Event]) {
    // Summaries: each statistic's values over time, in a table.
    let summaries: Vec<(String, &BTreeMap<candor_schema::Statistic, f64>)> = events
        .iter()
        .filter_map(|e| match &e.value() {
            Value::Distribution(stats) => Some((e.time().to_string(), stats)),
            _ => None,
        })
        .collect();
    if !summaries.is_empty() {
        let names: Vec<String> = summaries
            .iter()
            .flat_map(|(_, s)| s.keys())
            .map(statistic_name)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        html.push_str("<table class=\"summary\"><tr><th>time</th>");
        for name in &names {
            let _ = write!(html, "<th>{}</th>", escape(name));
        }
        html.push_str("</tr>");
        for (time, stats) in summaries.iter().rev().take(MAX_ROWS).rev() {
            let _ = write!(html, "<tr><td>{}</td>", escape(time));
            let by_name: BTreeMap<String, f64> =
                stats.iter().map(|(k, v)| (statistic_name(k), *v)).collect();
            for name in &names {
                match by_name.get(name) {
                    Some(v) => {
                        let _ = write!(html, "<td class=\"n\">{v}</td>");
                    }
                    None => html.push_str("<td></td>"),
                }
            }
            html.push_str("</tr>");
        }
        html.push_str("</table>");
        return;
    }
    // Histograms: what each report held (the bucket counts themselves are in the events).
    let histograms: Vec<(String, &candor_schema::HistogramValue)> = events
        .iter()
        .filter_map(|e| match &e.value() {
            Value::Histogram(h) => Some((e.time().to_string(), h)),
            _ => None,
        })
        .collect();
    if !histograms.is_empty() {
        html.push_str(
            "<table class=\"summary\"><tr><th>time</th><th>measurements</th><th>mean</th>\
             <th>buckets sent</th></tr>",
        );
        for (time, h) in histograms.iter().rev().take(MAX_ROWS).rev() {
            let mean = if h.count > 0 {
                format!("{:.4}", h.sum / h.count as f64)
            } else {
                "–".to_owned()
            };
            let _ = write!(
                html,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td></tr>",
                escape(time),
                h.count,
                mean,
                h.buckets.len()
            );
        }
        html.push_str("</table>");
        return;
    }
    // Everything else: how often each value occurred.
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for e in events {
        *counts.entry(short(e.value())).or_default() += 1;
    }
    let mut rows: Vec<(String, u64)> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rows.truncate(MAX_ROWS);
    bar_chart(html, rows.iter().map(|(l, n)| (l.as_str(), *n)));
}

fn statistic_name(statistic: &candor_schema::Statistic) -> String {
    match serde_json::to_value(statistic) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{statistic:?}"),
    }
}

/// A value in a few words, for a chart's label.
fn short(value: &Value) -> String {
    match value {
        Value::Flag(b) => b.to_string(),
        Value::Count(n) => n.to_string(),
        Value::Duration(d) => d.to_string(),
        Value::Enumeration(s)
        | Value::Version(s)
        | Value::Text(s)
        | Value::Hashed(s)
        | Value::LanguageTag(s)
        | Value::UserAgent(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}
