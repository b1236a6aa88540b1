//! Inline SVG plots, drawn on the server: a time axis, a value axis, step and point series, bars
//! and horizontal reference lines. The geometry is a pure function of the data (unit-tested);
//! `templates/plot.html` turns it into markup and escapes the labels.

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

/// A time plot ready for `templates/plot.html`: every coordinate computed and formatted here,
/// every label left to the template to escape.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// What it shows, for screen readers (`aria-label`).
    pub title: String,
    /// The value axis' label.
    pub y_label: String,
    /// Width of the drawing.
    pub width: f64,
    /// Height of the drawing, legend rows included.
    pub height: f64,
    /// Left edge of the plot area.
    pub left: f64,
    /// Right edge of the plot area.
    pub right: f64,
    /// Vertical middle of the plot area (where the value axis' label sits).
    pub mid: f64,
    /// Grid lines and labels of the value axis.
    pub y_ticks: Vec<YTick>,
    /// Date labels of the time axis.
    pub x_ticks: Vec<XTick>,
    /// The drawn series (those with points), in order.
    pub series: Vec<SeriesMarks>,
}

/// A grid line of the value axis with its label.
#[derive(Debug, Clone, PartialEq)]
pub struct YTick {
    /// Height of the line.
    pub y: String,
    /// Where the label ends.
    pub text_x: f64,
    /// The label's baseline.
    pub text_y: String,
    /// The value.
    pub label: String,
}

/// A date label of the time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct XTick {
    /// The label's centre.
    pub x: String,
    /// The label's baseline.
    pub y: f64,
    /// The date.
    pub label: String,
}

/// The marks of one series, by kind (only the kinds of its [`Style`] are present).
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesMarks {
    /// Legend label.
    pub label: String,
    /// CSS colour.
    pub color: &'static str,
    /// The dashed part of a [`Style::StepFromStart`] line before its first point.
    pub before: Option<String>,
    /// The path of a step line.
    pub line: Option<String>,
    /// Markers `(cx, cy)`.
    pub points: Vec<(String, String)>,
    /// Bars.
    pub bars: Vec<BarMark>,
    /// Height of a level line.
    pub level: Option<String>,
    /// Where its legend entry goes.
    pub legend: LegendSpot,
}

/// One bar of a [`Style::Bars`] series.
#[derive(Debug, Clone, PartialEq)]
pub struct BarMark {
    /// Left edge.
    pub x: String,
    /// Top.
    pub y: String,
    /// Width.
    pub width: String,
    /// Height.
    pub height: String,
}

/// The place of a legend entry: its colour swatch and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendSpot {
    /// Left edge of the swatch.
    pub x: String,
    /// Top of the swatch.
    pub swatch_y: String,
    /// Start of the text.
    pub text_x: String,
    /// Baseline of the text.
    pub text_y: String,
}

/// A time plot over `[from_ms, to_ms]` with a y axis from 0; `title` names it for screen readers.
/// The plot of [`time_plot`] and [`xy_plot`] around its ticks and series: the fixed geometry,
/// tall enough for `legend_rows` rows of legend.
fn framed(
    title: &str,
    y_label: &str,
    legend_rows: usize,
    y_ticks: Vec<YTick>,
    x_ticks: Vec<XTick>,
    series: Vec<SeriesMarks>,
) -> Plot {
    Plot {
        title: title.to_owned(),
        y_label: y_label.to_owned(),
        width: W,
        height: H + 6.0 + LEGEND_ROW * legend_rows as f64,
        left: LEFT,
        right: W - RIGHT,
        mid: H / 2.0,
        y_ticks,
        x_ticks,
        series,
    }
}

/// Series without points are not drawn (the `<svg>`'s `data-series` counts the drawn ones).
pub fn time_plot(title: &str, y_label: &str, from_ms: i64, to_ms: i64, series: &[Series]) -> Plot {
    let span = (to_ms - from_ms).max(1) as f64;
    let y_max = nice_max(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0, f64::max) * 1.05);
    let x = |ms: i64| LEFT + (ms - from_ms) as f64 / span * (W - LEFT - RIGHT);
    let y = |v: f64| TOP + (1.0 - v / y_max) * (H - TOP - BOTTOM);
    let f1 = |v: f64| format!("{v:.1}");
    let drawn: Vec<&Series> = series.iter().filter(|s| !s.points.is_empty()).collect();
    let (legend, legend_rows) = legend_layout(&drawn.iter().map(|s| s.label.as_str()).collect::<Vec<_>>());
    let y_ticks = (0..=4)
        .map(|i| {
            let v = y_max * f64::from(i) / 4.0;
            YTick { y: f1(y(v)), text_x: LEFT - 4.0, text_y: f1(y(v) + 4.0), label: super::html::num(Some(v)) }
        })
        .collect();
    let x_ticks = (0..=4)
        .map(|i| {
            let ms = from_ms + ((to_ms - from_ms) as f64 * f64::from(i) / 4.0) as i64;
            XTick { x: f1(x(ms)), y: H - 8.0, label: day(ms) }
        })
        .collect();
    let clamp = |ms: i64| ms.clamp(from_ms, to_ms);
    let marks = drawn
        .iter()
        .zip(legend)
        .map(|(s, (lx, row))| {
            let mut m = SeriesMarks {
                label: s.label.clone(),
                color: s.color,
                before: None,
                line: None,
                points: Vec::new(),
                bars: Vec::new(),
                level: None,
                legend: {
                    let ly = H + 10.0 + LEGEND_ROW * row as f64;
                    LegendSpot { x: f1(lx), swatch_y: f1(ly - 4.0), text_x: f1(lx + 22.0), text_y: f1(ly + 1.0) }
                },
            };
            match s.style {
                Style::Step | Style::StepFromStart => {
                    let first = s.points[0];
                    if s.style == Style::StepFromStart && first.0 > from_ms {
                        m.before = Some(format!("M{LEFT:.1},{:.1} H{:.1}", y(first.1), x(clamp(first.0))));
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
                    m.line = Some(d);
                }
                Style::Points => m.points = s.points.iter().map(|(ms, v)| (f1(x(clamp(*ms))), f1(y(*v)))).collect(),
                Style::Bars => {
                    let w = ((W - LEFT - RIGHT) / (span / 86_400_000.0)).clamp(1.0, 12.0);
                    m.bars = s
                        .points
                        .iter()
                        .map(|(ms, v)| {
                            let top = y(*v);
                            BarMark {
                                x: f1(x(clamp(*ms))),
                                y: f1(top),
                                width: f1(w),
                                height: f1((H - BOTTOM - top).max(0.0)),
                            }
                        })
                        .collect();
                }
                Style::Level => m.level = Some(f1(y(s.points[0].1))),
            }
            m
        })
        .collect();
    framed(title, y_label, legend_rows, y_ticks, x_ticks, marks)
}

/// How an [`XySeries`] is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XyStyle {
    /// A line through the points.
    Line,
    /// Separate markers.
    Points,
    /// A vertical line at the first point's x across the whole plot (a marked value such as `T*`).
    Vertical,
}

/// One series of an [`xy_plot`]: label, colour, style, and `(x, y)` points in x order.
#[derive(Debug, Clone, PartialEq)]
pub struct XySeries {
    /// Legend label.
    pub label: String,
    /// CSS colour.
    pub color: &'static str,
    /// How it is drawn.
    pub style: XyStyle,
    /// The points.
    pub points: Vec<(f64, f64)>,
}

/// A round lower bound of an axis whose values reach down to `v` and up to `max`: 0 when `v` is
/// within the lower half of `[0, max]`, else `v` rounded down to a tenth of `max`'s magnitude.
fn nice_min(v: f64, max: f64) -> f64 {
    if !(v.is_finite() && max.is_finite()) || v <= max / 2.0 {
        return 0.0;
    }
    let step = nice_max(max) / 10.0;
    (v / step).floor() * step
}

/// A plot over `x` in `[0, x_max]` (ticks labelled with `x_unit`, none when empty) and `y` from a
/// round value under its smallest point ([`nice_min`], 0 for most data), drawn with the same
/// template as [`time_plot`]; points beyond the axes are clipped to them.
pub fn xy_plot(title: &str, x_unit: &str, y_label: &str, x_max: f64, series: &[XySeries]) -> Plot {
    let x_max = nice_max(x_max);
    let ys = || {
        series
            .iter()
            .filter(|s| s.style != XyStyle::Vertical)
            .flat_map(|s| s.points.iter().filter(|p| p.0 <= x_max).map(|p| p.1))
            .filter(|v| v.is_finite())
    };
    let y_max = nice_max(ys().fold(0.0, f64::max) * 1.05);
    let y_min = nice_min(ys().fold(f64::INFINITY, f64::min), y_max);
    let x = |v: f64| LEFT + (v / x_max).clamp(0.0, 1.0) * (W - LEFT - RIGHT);
    let y = |v: f64| TOP + (1.0 - ((v - y_min) / (y_max - y_min)).clamp(0.0, 1.0)) * (H - TOP - BOTTOM);
    let f1 = |v: f64| format!("{v:.1}");
    let drawn: Vec<&XySeries> = series.iter().filter(|s| !s.points.is_empty()).collect();
    let (legend, legend_rows) = legend_layout(&drawn.iter().map(|s| s.label.as_str()).collect::<Vec<_>>());
    let y_ticks = (0..=4)
        .map(|i| {
            let v = y_min + (y_max - y_min) * f64::from(i) / 4.0;
            YTick { y: f1(y(v)), text_x: LEFT - 4.0, text_y: f1(y(v) + 4.0), label: super::html::num(Some(v)) }
        })
        .collect();
    let x_ticks = (0..=4)
        .map(|i| {
            let v = x_max * f64::from(i) / 4.0;
            let label = super::html::num(Some(v));
            let label = if x_unit.is_empty() { label } else { format!("{label} {x_unit}") };
            XTick { x: f1(x(v)), y: H - 8.0, label }
        })
        .collect();
    let marks = drawn
        .iter()
        .zip(legend)
        .map(|(s, (lx, row))| {
            let ly = H + 10.0 + LEGEND_ROW * row as f64;
            let mut m = SeriesMarks {
                label: s.label.clone(),
                color: s.color,
                before: None,
                line: None,
                points: Vec::new(),
                bars: Vec::new(),
                level: None,
                legend: LegendSpot { x: f1(lx), swatch_y: f1(ly - 4.0), text_x: f1(lx + 22.0), text_y: f1(ly + 1.0) },
            };
            let finite = s.points.iter().filter(|p| p.0.is_finite() && p.1.is_finite());
            match s.style {
                XyStyle::Line => {
                    let mut pts: Vec<&(f64, f64)> = finite.filter(|p| p.0 <= x_max).collect();
                    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                    let mut d = String::new();
                    for (k, (px, py)) in pts.into_iter().enumerate() {
                        let _ = write!(d, "{}{:.1},{:.1}", if k == 0 { "M" } else { " L" }, x(*px), y(*py));
                    }
                    m.line = Some(d).filter(|d| !d.is_empty());
                }
                XyStyle::Points => m.points = finite.map(|(px, py)| (f1(x(*px)), f1(y(*py)))).collect(),
                XyStyle::Vertical => {
                    m.line = Some(format!("M{:.1},{TOP:.1} V{:.1}", x(s.points[0].0), H - BOTTOM));
                }
            }
            m
        })
        .collect();
    framed(title, y_label, legend_rows, y_ticks, x_ticks, marks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use askama::Template;

    /// The plot as a page shows it.
    #[derive(Template)]
    #[template(source = "{% include \"plot.html\" %}", ext = "html")]
    struct Svg<'a> {
        plot: &'a Plot,
    }

    fn markup(plot: Plot) -> String {
        Svg { plot: &plot }.render().expect("a plot renders")
    }

    #[test]
    fn an_xy_plot_draws_lines_points_and_marks() {
        let s = |label: &str, style, points: Vec<(f64, f64)>| XySeries {
            label: label.into(),
            color: "#000",
            style,
            points,
        };
        let svg = markup(xy_plot(
            "R(t)",
            "h",
            "reliability",
            900.0,
            &[
                s("fitted", XyStyle::Line, vec![(0.0, 1.0), (500.0, 0.5), (2000.0, 0.0)]),
                s("failures", XyStyle::Points, vec![(100.0, 0.9)]),
                s("T*", XyStyle::Vertical, vec![(250.0, 0.0)]),
            ],
        ));
        assert!(svg.contains("data-series=\"3\""), "{svg}");
        // x axis to 1,000 h: 500 h is the middle of the plot area, 2,000 h is clipped.
        let mid = LEFT + (W - LEFT - RIGHT) / 2.0;
        assert!(svg.contains(&format!(" L{mid:.1},")) && svg.matches(" L").count() == 1, "{svg}");
        assert!(svg.contains(">1000 h<"), "{svg}");
        assert!(svg.contains("<circle") && svg.contains(&format!("V{:.1}", H - BOTTOM)), "{svg}");
    }

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
        let svg = markup(time_plot(
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
        ));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("data-series=\"3\""));
        assert!(svg.contains("<path d=\"M56.0,") && svg.contains("<rect") && svg.contains("stroke-dasharray"));
        assert!(svg.contains("stock &#60;vs&#62; thresholds") && !svg.contains("<vs>"));
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
        let svg = markup(time_plot("t", "units", 0, 30 * day, std::slice::from_ref(&limit)));
        assert!(svg.contains(&format!("<path class=\"before\" d=\"M{LEFT:.1},")), "{svg}");
        assert!(svg.contains(&format!("H{:.1}\"", W - RIGHT)), "the dashed part reaches the record: {svg}");
        // A plain step line of the same point has nothing before it.
        let plain = markup(time_plot("t", "units", 0, 30 * day, &[Series { style: Style::Step, ..limit.clone() }]));
        assert!(!plain.contains("class=\"before\""), "{plain}");
        // A record at the plot's start needs no dashed part either.
        let at_start = markup(time_plot("t", "units", 0, 30 * day, &[Series { points: vec![(0, 5.0)], ..limit }]));
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
        let svg = markup(time_plot("t", "u", 0, 1, &[]));
        assert!(svg.contains(&format!("height=\"{}\"", H + 6.0)), "{svg}");
    }

    #[test]
    fn an_xy_plot_joins_curves_in_x_order_and_marks_points() {
        let curve = XySeries {
            label: "tsb".into(),
            color: "#000",
            style: XyStyle::Line,
            points: vec![(4.0, 90.0), (2.0, 80.0), (3.0, f64::NAN)],
        };
        let seed =
            XySeries { label: "seed <now>".into(), color: "#f00", style: XyStyle::Points, points: vec![(2.5, 78.0)] };
        let p = xy_plot("fill rate vs stock", "", "fill rate (%)", 4.2, &[curve, seed]);
        // x from 0 to a round maximum over 4.2; y from 70 (a round value under 78) to 100.
        assert_eq!(p.x_ticks.last().unwrap().label, "5");
        assert_eq!((p.y_ticks[0].label.as_str(), p.y_ticks[4].label.as_str()), ("70", "100"));
        let line = p.series[0].line.as_deref().unwrap();
        let x2 = LEFT + 2.0 / 5.0 * (W - LEFT - RIGHT);
        assert!(line.starts_with(&format!("M{x2:.1},")) && line.matches(" L").count() == 1, "NaN left out: {line}");
        assert!(p.series[1].line.is_none() && p.series[1].points.len() == 1);
        let svg = markup(p);
        assert!(svg.contains("data-series=\"2\"") && svg.contains("seed &#60;now&#62;"), "{svg}");
    }
}
