//! Trend charts as inline SVG, drawn on the server: no script, no chart library, readable on an
//! old phone browser and printable. Each chart carries a `<title>` and `<desc>` for screen
//! readers, and every bar its value as a tooltip.

use std::fmt::Write;

/// Escapes text for SVG/HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at least `max`.
fn nice_max(max: u32) -> u32 {
    let mut step = 1u32;
    loop {
        for m in [1, 2, 5] {
            if step.saturating_mul(m) >= max.max(1) {
                return step.saturating_mul(m);
            }
        }
        step = step.saturating_mul(10);
    }
}

/// Vertical bars, one per label (weeks), with the axis maximum marked.
pub fn columns(title: &str, labels: &[String], values: &[u32], class: &str) -> String {
    let (w, h, left, bottom, top) = (560.0, 200.0, 36.0, 28.0, 12.0);
    let n = values.len().max(1) as f64;
    let max = nice_max(values.iter().copied().max().unwrap_or(0));
    let plot_h = h - bottom - top;
    let slot = (w - left - 8.0) / n;
    let bar = (slot * 0.7).max(2.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart {class}" viewBox="0 0 {w} {h}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><desc>{d}</desc>"#,
        t = esc(title),
        d = esc(&labels
            .iter()
            .zip(values)
            .map(|(l, v)| format!("{l}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")),
    );
    for frac in [0.0, 0.5, 1.0] {
        let y = top + plot_h * (1.0 - frac);
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" font-size="10" text-anchor="end" fill="#666">{v}</text>"##,
            x2 = w - 4.0,
            tx = left - 4.0,
            ty = y + 3.0,
            v = (f64::from(max) * frac).round() as u32,
        );
    }
    for (i, (v, l)) in values.iter().zip(labels).enumerate() {
        let bh = plot_h * f64::from(*v) / f64::from(max);
        let x = left + slot * i as f64 + (slot - bar) / 2.0;
        let y = top + plot_h - bh;
        let _ = write!(
            s,
            r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{bh:.1}"><title>{l}: {v}</title></rect>"#,
            l = esc(l),
        );
        // Every other label when crowded.
        if n <= 8.0 || i % 2 == (values.len() - 1) % 2 {
            let _ = write!(
                s,
                r##"<text x="{cx:.1}" y="{ly}" font-size="10" text-anchor="middle" fill="#444">{l}</text>"##,
                cx = x + bar / 2.0,
                ly = h - 10.0,
                l = esc(l),
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Horizontal bars, one per labelled value, largest first as given.
pub fn bars(title: &str, items: &[(String, u32)]) -> String {
    let row = 22.0;
    let (w, left) = (560.0, 130.0);
    let h = (items.len().max(1) as f64) * row + 8.0;
    let max = nice_max(items.iter().map(|i| i.1).max().unwrap_or(0));
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart bars" viewBox="0 0 {w} {h}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = esc(title)
    );
    for (i, (label, v)) in items.iter().enumerate() {
        let y = 4.0 + row * i as f64;
        let bw = (w - left - 50.0) * f64::from(*v) / f64::from(max);
        let _ = write!(
            s,
            r##"<text x="{lx}" y="{ty:.1}" font-size="12" text-anchor="end" fill="#333">{l}</text><rect class="bar" x="{left}" y="{y:.1}" width="{bw:.1}" height="{bh}"><title>{l}: {v}</title></rect><text x="{vx:.1}" y="{ty:.1}" font-size="12" fill="#333">{v}</text>"##,
            lx = left - 6.0,
            ty = y + 14.0,
            bh = row - 6.0,
            vx = left + bw + 4.0,
            l = esc(label),
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(3), 5);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(11), 20);
        assert_eq!(nice_max(480), 500);
    }

    #[test]
    fn charts_escape_labels_and_draw_every_bar() {
        let svg = columns(
            "走访 <visits>",
            &["11/02".into(), "11/09".into()],
            &[3, 0],
            "x",
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("走访 &lt;visits&gt;"));
        assert_eq!(svg.matches("<rect").count(), 2);
        let svg = bars("t", &[("a&b".into(), 5), ("c".into(), 1)]);
        assert!(svg.contains("a&amp;b"));
        assert_eq!(svg.matches("<rect").count(), 2);
    }
}
