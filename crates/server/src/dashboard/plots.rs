//! Inline SVG plots, drawn on the server: a time axis, a value axis, step and point series, bars
//! and horizontal reference lines. Pure functions of their data, so they are unit-tested.

use super::html::esc;
use std::fmt::Write;

const W: f64 = 900.0;
const H: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 130.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 28.0;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A step line (the value holds until the next point).
    Step,
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

/// A time plot over `[from_ms, to_ms]` with a y axis from 0; `title` names it for screen readers.
/// Returns an `<svg>` element (`data-series` counts the drawn series, for tests).
pub fn time_plot(title: &str, y_label: &str, from_ms: i64, to_ms: i64, series: &[Series]) -> String {
    let span = (to_ms - from_ms).max(1) as f64;
    let y_max = nice_max(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0, f64::max) * 1.05);
    let x = |ms: i64| LEFT + (ms - from_ms) as f64 / span * (W - LEFT - RIGHT);
    let y = |v: f64| TOP + (1.0 - v / y_max) * (H - TOP - BOTTOM);
    let mut svg = format!(
        "<svg class=\"plot\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" \
         data-series=\"{}\">",
        esc(title),
        series.iter().filter(|s| !s.points.is_empty()).count()
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
    for (i, s) in series.iter().enumerate() {
        if s.points.is_empty() {
            continue;
        }
        let c = s.color;
        match s.style {
            Style::Step => {
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
                let _ = write!(svg, "<path d=\"{d}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2\"/>");
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
                        "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{c}\"/>",
                        x(clamp(*ms)),
                        (H - BOTTOM - top).max(0.0)
                    );
                }
            }
            Style::Level => {
                let v = s.points[0].1;
                let _ = write!(
                    svg,
                    "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{c}\" stroke-width=\"2\" \
                     stroke-dasharray=\"6 4\"/>",
                    W - RIGHT,
                    y = y(v)
                );
            }
        }
        let ly = TOP + 14.0 * i as f64 + 6.0;
        let _ = write!(
            svg,
            "<rect x=\"{}\" y=\"{:.1}\" width=\"12\" height=\"4\" fill=\"{c}\"/>\
             <text x=\"{}\" y=\"{:.1}\" font-size=\"11\">{}</text>",
            W - RIGHT + 8.0,
            ly - 4.0,
            W - RIGHT + 24.0,
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
}
