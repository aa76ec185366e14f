//! The loss curve as a hand-written SVG: each batch's loss as a thin line, each epoch's mean
//! as dots joined by a thick one, against epochs.

use std::fmt::Write;

const WIDTH: f32 = 640.0;
const HEIGHT: f32 = 360.0;
const LEFT: f32 = 56.0;
const RIGHT: f32 = 16.0;
const TOP: f32 = 32.0;
const BOTTOM: f32 = 40.0;

/// The SVG of `losses`, one per step, `steps` to an epoch.
#[allow(
    clippy::cast_precision_loss,
    reason = "step and epoch counts far below 2^24"
)]
pub fn loss_curve(losses: &[f32], steps: usize) -> String {
    let epochs = losses.len() / steps;
    let top = losses.iter().copied().fold(0.0, f32::max).ceil().max(1.0);
    let x = |step: f32| LEFT + step / losses.len() as f32 * (WIDTH - LEFT - RIGHT);
    let y = |loss: f32| TOP + (1.0 - loss / top) * (HEIGHT - TOP - BOTTOM);
    let (bottom, right) = (HEIGHT - BOTTOM, WIDTH - RIGHT);

    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"white\"/>\n\
         <text x=\"{LEFT}\" y=\"20\" font-size=\"14\">Training loss (cross-entropy), \
         8×8 digits, two conv! layers and a dense one</text>\n"
    );
    // Horizontal grid lines at tenths of the range, labelled.
    for tick in 0..=5 {
        let loss = top * tick as f32 / 5.0;
        let at = y(loss);
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{at:.1}\" x2=\"{right}\" y2=\"{at:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{loss:.1}</text>",
            LEFT - 6.0,
            at + 4.0
        );
    }
    // Epoch boundaries along the bottom, labelled every few epochs.
    let every = epochs.div_ceil(10).max(1);
    for epoch in (0..=epochs).step_by(every) {
        let at = x((epoch * steps) as f32);
        let _ = writeln!(
            svg,
            "<line x1=\"{at:.1}\" y1=\"{bottom}\" x2=\"{at:.1}\" y2=\"{:.1}\" stroke=\"#444\"/>\
             <text x=\"{at:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{epoch}</text>",
            bottom + 5.0,
            bottom + 18.0
        );
    }
    let _ = writeln!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" stroke=\"#444\"/>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{bottom}\" stroke=\"#444\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">epoch</text>",
        f32::midpoint(LEFT, right),
        HEIGHT - 6.0
    );

    let points: Vec<String> = losses
        .iter()
        .enumerate()
        .map(|(step, &loss)| format!("{:.1},{:.1}", x(step as f32 + 0.5), y(loss)))
        .collect();
    let _ = writeln!(
        svg,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#9ecae1\" stroke-width=\"1\"/>",
        points.join(" ")
    );
    let means: Vec<(f32, f32)> = losses
        .chunks_exact(steps)
        .enumerate()
        .map(|(epoch, chunk)| {
            let mean = chunk.iter().sum::<f32>() / steps as f32;
            (x(((epoch + 1) * steps) as f32), y(mean))
        })
        .collect();
    let line: Vec<String> = means
        .iter()
        .map(|(a, b)| format!("{a:.1},{b:.1}"))
        .collect();
    let _ = writeln!(
        svg,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#08519c\" stroke-width=\"2\"/>",
        line.join(" ")
    );
    for (a, b) in means {
        let _ = writeln!(
            svg,
            "<circle cx=\"{a:.1}\" cy=\"{b:.1}\" r=\"3\" fill=\"#08519c\"/>"
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#08519c\">each batch (light), \
         each epoch's mean (dark)</text>\n</svg>",
        right - 4.0,
        TOP + 14.0
    );
    svg
}
