//! A small line chart as SVG text: linear x, logarithmic y. Enough for
//! latency against offered rate, with no plotting library.

use std::fmt::Write;

pub struct Series {
    pub label: String,
    pub color: &'static str,
    pub dashed: bool,
    /// (x, y) with y > 0.
    pub points: Vec<(f64, f64)>,
}

pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// A horizontal reference line (y, label), e.g. a latency target.
    pub threshold: Option<(f64, String)>,
}

const W: f64 = 720.0;
const H: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

impl Chart {
    pub fn render(&self) -> String {
        let points = || self.series.iter().flat_map(|s| s.points.iter());
        let x_max = points().map(|p| p.0).fold(1.0, f64::max);
        let ys = points()
            .map(|p| p.1)
            .chain(self.threshold.iter().map(|t| t.0))
            .filter(|y| *y > 0.0);
        let (lo, hi) = ys.fold((f64::MAX, f64::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
        let (lo, hi) = if lo > hi { (1.0, 10.0) } else { (lo, hi) };
        // Whole decades, so the grid lines land on 0.1, 1, 10, 100 …
        let (d_lo, d_hi) = (
            lo.log10().floor(),
            hi.log10().ceil().max(lo.log10().floor() + 1.0),
        );
        let plot_w = W - LEFT - RIGHT;
        let plot_h = H - TOP - BOTTOM;
        let x = |v: f64| LEFT + v / x_max * plot_w;
        let y = |v: f64| TOP + plot_h - (v.max(1e-9).log10() - d_lo) / (d_hi - d_lo) * plot_h;

        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
        );
        let _ = write!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
        let _ = write!(
            s,
            r#"<text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>"#,
            LEFT + plot_w / 2.0,
            escape(&self.title)
        );
        for d in (d_lo as i32)..=(d_hi as i32) {
            let v = 10f64.powi(d);
            let yy = y(v);
            let _ = write!(
                s,
                r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                LEFT + plot_w,
                LEFT - 6.0,
                yy + 4.0,
                trim(v)
            );
        }
        for i in 0..=5 {
            let v = x_max * i as f64 / 5.0;
            let xx = x(v);
            let _ = write!(
                s,
                r##"<line x1="{xx:.1}" y1="{TOP}" x2="{xx:.1}" y2="{:.1}" stroke="#eee"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{:.0}</text>"##,
                TOP + plot_h,
                TOP + plot_h + 16.0,
                v
            );
        }
        let _ = write!(
            s,
            r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>"##
        );
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            LEFT + plot_w / 2.0,
            H - 12.0,
            escape(&self.x_label)
        );
        let _ = write!(
            s,
            r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
            TOP + plot_h / 2.0,
            escape(&self.y_label)
        );
        if let Some((v, label)) = &self.threshold {
            let yy = y(*v);
            let _ = write!(
                s,
                r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#c00" stroke-dasharray="2 3"/><text x="{:.1}" y="{:.1}" fill="#c00">{}</text>"##,
                LEFT + plot_w,
                LEFT + plot_w + 6.0,
                yy + 4.0,
                escape(label)
            );
        }
        for (i, series) in self.series.iter().enumerate() {
            let path: Vec<String> = series
                .points
                .iter()
                .map(|&(px, py)| format!("{:.1},{:.1}", x(px), y(py)))
                .collect();
            let dash = if series.dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let _ = write!(
                s,
                r#"<polyline fill="none" stroke="{}" stroke-width="2"{dash} points="{}"/>"#,
                series.color,
                path.join(" ")
            );
            for p in &path {
                let (px, py) = p.split_once(',').expect("x,y");
                let _ = write!(
                    s,
                    r#"<circle cx="{px}" cy="{py}" r="2.5" fill="{}"/>"#,
                    series.color
                );
            }
            let ly = TOP + 14.0 + i as f64 * 18.0;
            let lx = LEFT + plot_w + 12.0;
            let _ = write!(
                s,
                r#"<line x1="{lx}" y1="{ly}" x2="{:.1}" y2="{ly}" stroke="{}" stroke-width="2"{dash}/><text x="{:.1}" y="{:.1}">{}</text>"#,
                lx + 22.0,
                series.color,
                lx + 28.0,
                ly + 4.0,
                escape(&series.label)
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

fn trim(v: f64) -> String {
    if v >= 1.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_well_formed_chart() {
        let chart = Chart {
            title: "p99 <latency>".into(),
            x_label: "rate".into(),
            y_label: "ms".into(),
            series: vec![Series {
                label: "wasm".into(),
                color: "#1f77b4",
                dashed: false,
                points: vec![(500.0, 1.2), (1000.0, 3.4)],
            }],
            threshold: Some((10.0, "10 ms".into())),
        };
        let svg = chart.render();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("p99 &lt;latency&gt;"));
        assert_eq!(svg.matches("<polyline").count(), 1);
    }
}
