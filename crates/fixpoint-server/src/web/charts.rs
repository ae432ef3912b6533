//! Charts drawn on the server as SVG: horizontal bars, one per value, labelled, with
//! a title for screen readers. No script, no library.

/// Text for SVG/HTML: the five characters that could break out of it, escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One bar: its label, its value, and the value as shown (`"42"`, `"87.5%"`).
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub shown: String,
}

const WIDTH: f64 = 480.0;
const LABEL: f64 = 150.0;
const ROW: f64 = 26.0;

/// A horizontal bar chart. `scale_to`: the value of a full-length bar (100 for
/// percentages); the largest value when `None`.
pub fn bars(title: &str, bars: &[Bar], scale_to: Option<f64>) -> String {
    let top = scale_to
        .unwrap_or_else(|| bars.iter().map(|b| b.value).fold(0.0, f64::max))
        .max(f64::EPSILON);
    let room = WIDTH - LABEL - 70.0;
    let height = ROW * bars.len().max(1) as f64 + 8.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-labelledby=\"chart-{id}\"><title id=\"chart-{id}\">{title}</title>",
        id = escape(&title.to_lowercase().replace(' ', "-")),
        title = escape(title),
    );
    if bars.is_empty() {
        svg.push_str("<text x=\"4\" y=\"20\" fill=\"#57606a\">No data in this range</text>");
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = 4.0 + i as f64 * ROW;
        let length = (bar.value.max(0.0) / top * room).min(room);
        svg.push_str(&format!(
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" font-size=\"13\" fill=\"#1b1f24\">{label}</text>\
             <rect x=\"{LABEL}\" y=\"{y}\" width=\"{length:.1}\" height=\"{h}\" rx=\"3\" fill=\"#0b5cad\"/>\
             <text x=\"{vx:.1}\" y=\"{ty}\" font-size=\"13\" fill=\"#1b1f24\">{shown}</text>",
            lx = LABEL - 8.0,
            ty = y + 15.0,
            label = escape(&bar.label),
            h = ROW - 8.0,
            vx = LABEL + length + 6.0,
            shown = escape(&bar.shown),
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_and_labels_are_escaped() {
        let svg = bars(
            "Tickets <by> status",
            &[
                Bar {
                    label: "New & open".into(),
                    value: 10.0,
                    shown: "10".into(),
                },
                Bar {
                    label: "Done".into(),
                    value: 5.0,
                    shown: "5".into(),
                },
            ],
            None,
        );
        assert!(svg.contains("New &amp; open") && svg.contains("Tickets &lt;by&gt; status"));
        assert!(!svg.contains("<by>"));
        let full = WIDTH - LABEL - 70.0;
        assert!(
            svg.contains(&format!("width=\"{full:.1}\"")),
            "the largest bar is full length"
        );
        assert!(svg.contains(&format!("width=\"{:.1}\"", full / 2.0)));
        let percent = bars(
            "SLA",
            &[Bar {
                label: "met".into(),
                value: 50.0,
                shown: "50%".into(),
            }],
            Some(100.0),
        );
        assert!(percent.contains(&format!("width=\"{:.1}\"", full / 2.0)));
        assert!(bars("Empty", &[], None).contains("No data"));
    }
}
