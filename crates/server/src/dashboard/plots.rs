//! Inline SVG plots, drawn on the server: a time axis, a value axis, step and point series, bars
//! and horizontal reference lines. Pure functions of their data, so they are unit-tested.

use super::html::esc;
use std::fmt::Write;

const W: f64 = 900.0;
const H: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 40.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 28.0;
/// Height of one legend row, drawn under the time axis.
const LEGEND_ROW: f64 = 18.0;
/// Width of a legend character at font size 11 (generous, so labels never overlap or overflow).
const LEGEND_CHAR: f64 = 7.0;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A step line (the value holds until the next point), held to the plot's right edge.
    Step,
    /// A step line whose first value is also drawn, dashed, back to the plot's start: a limit in
    /// force since before its first recorded change, so a single recent record stays visible.
    StepFromStart,
    /// Separate markers.
    Points,
    /// Bars from zero, one per point.
    Bars,
    /// A horizontal line at the first point's value across the whole plot.
    Level,
}

/// One series: label, colour, style, and `(epoch ms, value)` points in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// CSS colour.
    pub color: &'static str,
    /// How it is drawn.
    pub style: Style,
    /// The points.
    pub points: Vec<(i64, f64)>,
}

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if v <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

fn day(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.strftime("%Y-%m-%d").to_string())
}

/// Lays the legend out in rows under the plot: `(x, row)` of each label, and the number of rows.
fn legend_layout(labels: &[&str]) -> (Vec<(f64, usize)>, usize) {
    let mut out = Vec::with_capacity(labels.len());
    let (mut x, mut row) = (LEFT, 0);
    for label in labels {
        let w = 22.0 + label.chars().count() as f64 * LEGEND_CHAR + 16.0;
        if x > LEFT && x + w > W - 4.0 {
            x = LEFT;
            row += 1;
        }
        out.push((x, row));
        x += w;
    }
    let rows = if labels.is_empty() { 0 } else { row + 1 };
    (out, rows)
}

/// A time plot over `[from_ms, to_ms]` with a y axis from 0; `title` names it for screen readers.
/// Returns an `<svg>` element (`data-series` counts the drawn series, for tests).
pub fn time_plot(title: &str, y_label: &str, from_ms: i64, to_ms: i64, series: &[Series]) -> String {
    let span = (to_ms - from_ms).max(1) as f64;
    let y_max = nice_max(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0, f64::max) * 1.05);
    let x = |ms: i64| LEFT + (ms - from_ms) as f64 / span * (W - LEFT - RIGHT);
    let y = |v: f64| TOP + (1.0 - v / y_max) * (H - TOP - BOTTOM);
    let drawn: Vec<&Series> = series.iter().filter(|s| !s.points.is_empty()).collect();
    let (legend, legend_rows) = legend_layout(&drawn.iter().map(|s| s.label.as_str()).collect::<Vec<_>>());
    let height = H + 6.0 + LEGEND_ROW * legend_rows as f64;
    let mut svg = format!(
        "<svg class=\"plot\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {W} {height}\" width=\"{W}\" \
         height=\"{height}\" data-series=\"{}\">",
        esc(title),
        drawn.len()
    );
    for i in 0..=4 {
        let v = y_max * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e1e5ea\"/>\
             <text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 4.0,
            y(v) + 4.0,
            super::html::num(Some(v)),
            y = y(v)
        );
    }
    for i in 0..=4 {
        let ms = from_ms + ((to_ms - from_ms) as f64 * f64::from(i) / 4.0) as i64;
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            x(ms),
            H - 8.0,
            day(ms)
        );
    }
    let _ = write!(
        svg,
        "<text x=\"12\" y=\"{}\" font-size=\"11\" transform=\"rotate(-90 12 {})\" text-anchor=\"middle\">{}</text>",
        H / 2.0,
        H / 2.0,
        esc(y_label)
    );
    let clamp = |ms: i64| ms.clamp(from_ms, to_ms);
    for (s, (lx, row)) in drawn.iter().zip(legend) {
        let c = s.color;
        match s.style {
            Style::Step | Style::StepFromStart => {
                let first = s.points[0];
                if s.style == Style::StepFromStart && first.0 > from_ms {
                    let _ = write!(
                        svg,
                        "<path class=\"before\" d=\"M{LEFT:.1},{py:.1} H{:.1}\" fill=\"none\" stroke=\"{c}\" \
                         stroke-width=\"2\" stroke-dasharray=\"2 3\"/>",
                        x(clamp(first.0)),
                        py = y(first.1)
                    );
                }
                let mut d = String::new();
                for (k, (ms, v)) in s.points.iter().enumerate() {
                    let (px, py) = (x(clamp(*ms)), y(*v));
                    if k == 0 {
                        let _ = write!(d, "M{px:.1},{py:.1}");
                    } else {
                        let _ = write!(d, " H{px:.1} V{py:.1}");
                    }
                }
                let _ = write!(d, " H{:.1}", W - RIGHT);
                let _ = write!(svg, "<path d=\"{d}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2.5\"/>");
            }
            Style::Points => {
                for (ms, v) in &s.points {
                    let _ =
                        write!(svg, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{c}\"/>", x(clamp(*ms)), y(*v));
                }
            }
            Style::Bars => {
                let w = ((W - LEFT - RIGHT) / (span / 86_400_000.0)).clamp(1.0, 12.0);
                for (ms, v) in &s.points {
                    let top = y(*v);
                    let _ = write!(
                        svg,
                        "<rect class=\"bar-mark\" x=\"{:.1}\" y=\"{top:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{c}\"/>",
                        x(clamp(*ms)),
                        (H - BOTTOM - top).max(0.0)
                    );
                }
            }
            Style::Level => {
                let v = s.points[0].1;
                let _ = write!(
                    svg,
                    "<line class=\"level\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{c}\" \
                     stroke-width=\"2\" stroke-dasharray=\"6 4\"/>",
                    W - RIGHT,
                    y = y(v)
                );
            }
        }
        let ly = H + 10.0 + LEGEND_ROW * row as f64;
        let _ = write!(
            svg,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"16\" height=\"4\" fill=\"{c}\"/>\
             <text class=\"legend\" x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{}</text>",
            ly - 4.0,
            lx + 22.0,
            ly + 1.0,
            esc(&s.label)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.3), 10.0);
        assert_eq!(nice_max(23.0), 25.0);
        assert_eq!(nice_max(0.12), 0.2);
    }

    #[test]
    fn a_plot_draws_each_series_and_escapes_labels() {
        let s =
            |label: &str, style, points: Vec<(i64, f64)>| Series { label: label.into(), color: "#000", style, points };
        let svg = time_plot(
            "stock <vs> thresholds",
            "units",
            0,
            86_400_000 * 10,
            &[
                s("stock", Style::Step, vec![(0, 5.0), (86_400_000, 3.0)]),
                s("usage", Style::Bars, vec![(0, 1.0)]),
                s("reorder", Style::Level, vec![(0, 4.0)]),
                s("empty", Style::Points, vec![]),
            ],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("data-series=\"3\""));
        assert!(svg.contains("<path d=\"M56.0,") && svg.contains("<rect") && svg.contains("stroke-dasharray"));
        assert!(svg.contains("stock &lt;vs&gt; thresholds") && !svg.contains("<vs>"));
    }

    #[test]
    fn a_limit_recorded_at_the_right_edge_is_drawn_back_to_the_start() {
        let day = 86_400_000;
        let limit = Series {
            label: "reorder".into(),
            color: "#e76f51",
            style: Style::StepFromStart,
            points: vec![(30 * day, 5.0)],
        };
        let svg = time_plot("t", "units", 0, 30 * day, std::slice::from_ref(&limit));
        assert!(svg.contains(&format!("<path class=\"before\" d=\"M{LEFT:.1},")), "{svg}");
        assert!(svg.contains(&format!("H{:.1}\"", W - RIGHT)), "the dashed part reaches the record: {svg}");
        // A plain step line of the same point has nothing before it.
        let plain = time_plot("t", "units", 0, 30 * day, &[Series { style: Style::Step, ..limit.clone() }]);
        assert!(!plain.contains("class=\"before\""), "{plain}");
        // A record at the plot's start needs no dashed part either.
        let at_start = time_plot("t", "units", 0, 30 * day, &[Series { points: vec![(0, 5.0)], ..limit }]);
        assert!(!at_start.contains("class=\"before\""), "{at_start}");
    }

    #[test]
    fn the_legend_stays_inside_the_plot_and_wraps() {
        let long = "days since previous failure";
        let (one, rows) = legend_layout(&[long, "MTBF (days)", "PM interval (days)"]);
        assert_eq!(rows, 1);
        for ((x, _), label) in one.iter().zip([long, "MTBF (days)", "PM interval (days)"]) {
            assert!(x + 22.0 + label.chars().count() as f64 * LEGEND_CHAR <= W, "{label} at {x}");
        }
        let labels: Vec<String> = (0..12).map(|i| format!("a rather long series label {i}")).collect();
        let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        let (many, rows) = legend_layout(&refs);
        assert!(rows > 1, "wraps onto more rows");
        for ((x, _), label) in many.iter().zip(&refs) {
            assert!(x + 22.0 + label.chars().count() as f64 * LEGEND_CHAR <= W, "{label} at {x}");
        }
        assert_eq!(legend_layout(&[]).1, 0);
        let svg = time_plot("t", "u", 0, 1, &[]);
        assert!(svg.contains(&format!("height=\"{}\"", H + 6.0)), "{svg}");
    }
}
