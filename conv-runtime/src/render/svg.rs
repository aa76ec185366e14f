//! The picture: an SVG of the padded input of a 1-D or 2-D layer, one cell per element,
//! with a coloured dot in each cell for every output that reads it, each output's window
//! outlined, and the never-read elements shaded by their reason, so the stride and the
//! remainder can be seen. A transposed layer is drawn as its construction: the input
//! dilated by the stride and padded, each output's window of the rotated kernel over it.
//!
//! Every input cell is a `rect` of class `input` (plus `unread` and `remainder` or `gap`
//! when no output reads it) carrying `data-variable="x7"`; padding cells have class
//! `padding`. Tests count these.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::{self, Write};

use super::notation::Notation;
use crate::limits::{Limits, TooLarge, fits};
use crate::spec::Unread;
use crate::spec::{Axis, Spec};
use crate::symbolic::expr::{Tensor, Variable};
use crate::symbolic::grid::{Grid, unread_positions};

/// Side of one cell, in pixels.
const CELL: usize = 52;
/// Space around the picture and between panels.
const MARGIN: usize = 24;
/// Height of a line of text.
const LINE: usize = 20;
/// Dots per row inside a cell.
const DOTS_PER_ROW: usize = 4;

/// Why a layer cannot be drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The picture is flat: it draws layers of 1 or 2 spatial axes.
    Rank(usize),
    /// The layer is past the size an explanation may build.
    TooLarge(TooLarge),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Rank(rank) => write!(
                f,
                "the picture draws layers of 1 or 2 axes, and this layer has {rank}; `explain` prints its slices as text"
            ),
            Error::TooLarge(too_large) => too_large.fmt(f),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// A colour per output position, spread around the hue circle by the golden angle.
fn colour(index: usize) -> String {
    let hue = (index * 137 + 210) % 360;
    format!("hsl({hue}, 70%, 42%)")
}

/// Text for XML (and so for HTML): the five characters that would end it escaped, and the
/// control characters XML forbids dropped.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && !matches!(c, '\n' | '\t') => {}
            _ => out.push(c),
        }
    }
    out
}

fn name(variable: Variable) -> String {
    variable.display(Notation::Text).to_string()
}

/// One axis of the picture: the grid the windows slide over, where the input's elements
/// lie in it, and how the windows move.
#[derive(Clone, Copy)]
struct Reading {
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    output: usize,
    /// The grid's length.
    padded: usize,
    /// Where input element 0 lies (negative when cropped away), and how far apart the
    /// elements lie: the padding and the stride of a transposed layer's dilated input.
    offset: isize,
    spread: usize,
}

impl Reading {
    fn new(axis: &Axis, transposed: bool) -> Reading {
        let ordinary = Reading {
            input: axis.input(),
            kernel: axis.kernel(),
            stride: axis.stride(),
            dilation: axis.dilation(),
            output: axis.output(),
            padded: axis.padded_input(),
            offset: axis.pad_before().cast_signed(),
            spread: 1,
        };
        if !transposed {
            return ordinary;
        }
        // The construction: x dilated by s, padded by k_eff − 1 − pad_lo before, read by
        // the dilated kernel at stride 1.
        let reach = axis.effective_kernel() - 1;
        Reading {
            stride: 1,
            padded: axis.output() + reach,
            offset: reach.cast_signed() - axis.pad_before().cast_signed(),
            spread: axis.stride(),
            ..ordinary
        }
    }

    /// The input element at grid position `position`, if one lies there.
    fn element(&self, position: usize) -> Option<usize> {
        let relative = usize::try_from(position.cast_signed() - self.offset).ok()?;
        relative
            .is_multiple_of(self.spread)
            .then_some(relative / self.spread)
            .filter(|&i| i < self.input)
    }
}

/// The geometry of one slice's picture, padded coordinates throughout.
struct Panel<'a> {
    spec: &'a Spec,
    /// `(rows, columns)` of the padded input; a 1-D layer is one row.
    padded: (usize, usize),
    /// Per axis as `(rows, columns)`: the axis, or `None` for the missing row axis of 1-D.
    axes: (Option<Reading>, Reading),
    unread: Grid<Option<Unread>>,
}

impl Panel<'_> {
    /// The input element at a padded position, as its spatial flat index, if it is not
    /// padding.
    fn element(&self, row: usize, column: usize) -> Option<usize> {
        let (rows_axis, columns_axis) = self.axes;
        let column = columns_axis.element(column)?;
        match rows_axis {
            Some(axis) => Some(axis.element(row)? * columns_axis.input + column),
            None => Some(column),
        }
    }

    /// The padded positions output `(row, column)` reads, one per kernel tap.
    fn taps(&self, output: (usize, usize)) -> Vec<(usize, usize)> {
        let (rows_axis, columns_axis) = self.axes;
        let rows: Vec<usize> = rows_axis.map_or_else(
            || alloc::vec![0],
            |axis| {
                (0..axis.kernel)
                    .map(|tap| output.0 * axis.stride + tap * axis.dilation)
                    .collect()
            },
        );
        let columns: Vec<usize> = (0..columns_axis.kernel)
            .map(|tap| output.1 * columns_axis.stride + tap * columns_axis.dilation)
            .collect();
        rows.iter()
            .flat_map(|&row| columns.iter().map(move |&column| (row, column)))
            .collect()
    }

    fn outputs(&self) -> (usize, usize) {
        (
            self.axes.0.map_or(1, |axis| axis.output),
            self.axes.1.output,
        )
    }

    fn height(&self) -> usize {
        let (output_rows, output_columns) = self.outputs();
        // Title, grid, then one legend line per output.
        LINE + self.padded.0 * CELL + LINE / 2 + output_rows * output_columns * LINE
    }

    fn width(&self) -> usize {
        self.padded.1 * CELL
    }

    /// Draws the slice of batch element `batch` and channel `channel` at height `top`.
    fn draw(&self, out: &mut String, top: usize, batch: usize, channel: usize) {
        let spec = self.spec;
        let per_slice: usize = spec.axes().iter().map(Axis::input).product();
        let base = (batch * spec.in_channels() + channel) * per_slice;
        let mut title = String::from("x");
        let coordinates: Vec<String> = [
            ("batch", batch, spec.batch()),
            ("channel", channel, spec.in_channels()),
        ]
        .into_iter()
        .filter(|&(_, _, count)| count > 1)
        .map(|(what, index, _)| format!("{what} {}", index + 1))
        .collect();
        if !coordinates.is_empty() {
            let _ = write!(title, " ({})", coordinates.join(", "));
        }
        let _ = writeln!(
            out,
            r#"<text class="title" x="{MARGIN}" y="{}">{}</text>"#,
            top + LINE - 6,
            escape(&title)
        );
        let grid_top = top + LINE;
        let (output_rows, output_columns) = self.outputs();
        let mut readers: Vec<Vec<usize>> = alloc::vec![Vec::new(); self.padded.0 * self.padded.1];
        for output in 0..output_rows * output_columns {
            for (row, column) in self.taps((output / output_columns, output % output_columns)) {
                if let Some(cell) = readers.get_mut(row * self.padded.1 + column) {
                    cell.push(output);
                }
            }
        }
        for row in 0..self.padded.0 {
            for column in 0..self.padded.1 {
                let (x, y) = (MARGIN + column * CELL, grid_top + row * CELL);
                let cell_readers = readers
                    .get(row * self.padded.1 + column)
                    .map_or(&[][..], Vec::as_slice);
                self.cell(
                    out,
                    (x, y),
                    self.element(row, column).map(|e| (e, base + e)),
                    cell_readers,
                );
            }
        }
        // Each output's window, outlined in its colour and inset a little by its index so
        // that overlapping windows stay apart.
        let group = channel / spec.in_channels_per_group();
        let outputs_per_group = spec.out_channels_per_group();
        let out_slice = output_rows * output_columns;
        for output in 0..out_slice {
            let taps = self.taps((output / output_columns, output % output_columns));
            let (Some(&(first_row, first_column)), Some(&(last_row, last_column))) =
                (taps.first(), taps.last())
            else {
                continue;
            };
            let inset = 3 + (output % 4) * 3;
            let (x, y) = (
                MARGIN + first_column * CELL + inset,
                grid_top + first_row * CELL + inset,
            );
            let (width, height) = (
                (last_column - first_column + 1) * CELL - 2 * inset,
                (last_row - first_row + 1) * CELL - 2 * inset,
            );
            let _ = writeln!(
                out,
                r#"<rect class="window" x="{x}" y="{y}" width="{width}" height="{height}" stroke="{}"/>"#,
                colour(output)
            );
        }
        // The legend: which output elements each colour stands for.
        let legend_top = grid_top + self.padded.0 * CELL + LINE / 2;
        for output in 0..out_slice {
            let names: Vec<String> = (group * outputs_per_group..(group + 1) * outputs_per_group)
                .map(|out_channel| {
                    let flat = (batch * spec.out_channels() + out_channel) * out_slice + output;
                    name(Variable::new(Tensor::Output, flat))
                })
                .collect();
            let y = legend_top + output * LINE;
            let _ = writeln!(
                out,
                r#"<circle cx="{}" cy="{}" r="5" fill="{}"/><text class="legend" x="{}" y="{}">{} {} this window</text>"#,
                MARGIN + 6,
                y + LINE / 2,
                colour(output),
                MARGIN + 18,
                y + LINE / 2 + 4,
                names.join(", "),
                if names.len() == 1 { "reads" } else { "read" },
            );
        }
    }

    /// One cell: an input element (`(spatial, flat)` index) or padding, with a dot for
    /// every output that reads it.
    fn cell(
        &self,
        out: &mut String,
        (x, y): (usize, usize),
        element: Option<(usize, usize)>,
        readers: &[usize],
    ) {
        let (class, label, title) = match element {
            Some((spatial, flat)) => {
                let variable = name(Variable::new(Tensor::Input, flat));
                match self.unread.cells().get(spatial).copied().flatten() {
                    Some(Unread::Remainder) => (
                        "input unread remainder",
                        variable.clone(),
                        format!("{variable}: never read, past the last window (the remainder r)"),
                    ),
                    Some(Unread::Gap) => (
                        "input unread gap",
                        variable.clone(),
                        format!(
                            "{variable}: never read, between the taps the stride and dilation reach"
                        ),
                    ),
                    Some(Unread::Cropped) => (
                        "input unread cropped",
                        variable.clone(),
                        format!("{variable}: reaches no output, `pad` crops where it scatters"),
                    ),
                    None => (
                        "input",
                        variable.clone(),
                        format!("{variable}: read by the outputs of the dots"),
                    ),
                }
            }
            None => ("padding", "0".to_string(), "padding: a zero".to_string()),
        };
        let data = element.map_or_else(String::new, |(_, flat)| {
            format!(
                r#" data-variable="{}""#,
                name(Variable::new(Tensor::Input, flat))
            )
        });
        let _ = writeln!(
            out,
            r#"<rect class="{class}"{data} x="{x}" y="{y}" width="{CELL}" height="{CELL}"><title>{}</title></rect>"#,
            escape(&title)
        );
        let _ = writeln!(
            out,
            r#"<text class="label" x="{}" y="{}">{}</text>"#,
            x + CELL / 2,
            y + 20,
            escape(&label)
        );
        for (i, &output) in readers.iter().enumerate() {
            let (row, column) = (i / DOTS_PER_ROW, i % DOTS_PER_ROW);
            let _ = writeln!(
                out,
                r#"<circle class="reads" cx="{}" cy="{}" r="3.5" fill="{}"/>"#,
                x + 15 + column * 8,
                y + 31 + row * 9,
                colour(output)
            );
        }
    }
}

/// Draws `spec`'s input slices (up to `limits.slices` of them), showing which inputs each
/// output reads and which are never read.
///
/// # Errors
///
/// [`Error::Rank`] for a layer of 3 axes, [`Error::TooLarge`] past [`ELEMENTS`](crate::limits::ELEMENTS)
/// elements.
pub fn render(spec: &Spec, limits: Limits) -> Result<String, Error> {
    fits(spec).map_err(Error::TooLarge)?;
    let reading = |axis| Reading::new(axis, spec.transposed());
    let axes = match spec.axes() {
        [columns] => (None, reading(columns)),
        [rows, columns] => (Some(reading(rows)), reading(columns)),
        other => return Err(Error::Rank(other.len())),
    };
    let panel = Panel {
        spec,
        padded: (axes.0.map_or(1, |axis| axis.padded), axes.1.padded),
        axes,
        unread: unread_positions(spec),
    };
    let slices = spec.batch() * spec.in_channels();
    let drawn = slices.min(limits.slices);
    let header = 3 * LINE;
    let legend = 4 * LINE + usize::from(drawn < slices) * LINE;
    let width = (2 * MARGIN + panel.width()).max(720);
    let height = MARGIN + header + drawn * (panel.height() + MARGIN) + legend;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">"#
    );
    out.push_str(
        "<style>\n\
         .input { fill: #ffffff; stroke: #444444; }\n\
         .unread.remainder { fill: #f6c3bd; }\n\
         .unread.gap { fill: #fbe3a4; }\n\
         .unread.cropped { fill: #d9c8f0; }\n\
         .padding { fill: #eeeeee; stroke: #999999; stroke-dasharray: 4 3; }\n\
         .window { fill: none; stroke-width: 2; }\n\
         .label { text-anchor: middle; }\n\
         .title { font-weight: bold; }\n\
         </style>\n",
    );
    let construction = if spec.transposed() {
        ", the input dilated by the stride and padded (a transposed layer)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        r#"<text class="title" x="{MARGIN}" y="{}">convsym: which inputs each output reads{construction}</text>"#,
        MARGIN + 4,
    );
    let _ = writeln!(
        out,
        r#"<text x="{MARGIN}" y="{}" font-size="11">{}</text>"#,
        MARGIN + 4 + LINE,
        escape(&spec.to_string())
    );
    let mut top = MARGIN + header;
    for slice in 0..drawn {
        panel.draw(
            &mut out,
            top,
            slice / spec.in_channels(),
            slice % spec.in_channels(),
        );
        top += panel.height() + MARGIN;
    }
    if drawn < slices {
        let _ = writeln!(
            out,
            r#"<text x="{MARGIN}" y="{}">{} further input slices not drawn: they are read at the same positions.</text>"#,
            top + 4,
            slices - drawn
        );
        top += LINE;
    }
    let key = [
        ("padding", "padding (zeros)"),
        (
            "input unread remainder",
            "never read: past the last window (the remainder r)",
        ),
        (
            "input unread gap",
            "never read: between the taps the stride and dilation reach",
        ),
        (
            "input unread cropped",
            "reaches no output: pad crops where it scatters (transposed)",
        ),
    ];
    for (i, (class, words)) in key.iter().enumerate() {
        let y = top + i * LINE;
        let _ = writeln!(
            out,
            r#"<rect class="key {class}" x="{MARGIN}" y="{y}" width="14" height="14"/><text x="{}" y="{}">{words}</text>"#,
            MARGIN + 22,
            y + 12
        );
    }
    out.push_str("</svg>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cells under each output's window hold exactly the inputs of its equation, on
    /// transposed layers of 1 and 2 axes with stride, dilation, cropping and output padding.
    #[test]
    fn a_transposed_layers_windows_cover_its_equations_inputs() {
        use crate::symbolic::derive;
        use alloc::collections::BTreeSet;
        for text in [
            "in=(3,) k=3 stride=2 pad=1 output_padding=1 transposed",
            "in=(4,) k=2 stride=3 dilation=2 pad=((3,1),) transposed",
            "in=(3,) k=2 dilation=3 output_padding=2 transposed",
            "in=(3,2) k=(2,3) stride=(2,1) pad=((0,1),(2,0)) output_padding=(1,0) transposed",
        ] {
            let spec = Spec::parse(text).unwrap();
            let reading = |axis| Reading::new(axis, true);
            let axes = match spec.axes() {
                [columns] => (None, reading(columns)),
                [rows, columns] => (Some(reading(rows)), reading(columns)),
                _ => unreachable!(),
            };
            let panel = Panel {
                spec: &spec,
                padded: (axes.0.map_or(1, |axis| axis.padded), axes.1.padded),
                axes,
                unread: unread_positions(&spec),
            };
            let columns = panel.outputs().1;
            for equation in derive::forward(&spec) {
                let output = equation.lhs.index;
                let drawn: BTreeSet<usize> = panel
                    .taps((output / columns, output % columns))
                    .into_iter()
                    .filter_map(|(row, column)| panel.element(row, column))
                    .collect();
                let read: BTreeSet<usize> = equation
                    .rhs
                    .terms()
                    .iter()
                    .flat_map(crate::symbolic::expr::Term::factors)
                    .filter(|factor| factor.tensor == Tensor::Input)
                    .map(|factor| factor.index)
                    .collect();
                assert_eq!(drawn, read, "{text}: z{}", output + 1);
            }
        }
    }

    #[test]
    fn three_axes_are_refused() {
        let spec = Spec::parse("in=(3,3,3) k=2").unwrap();
        assert_eq!(render(&spec, Limits::default()), Err(Error::Rank(3)));
    }

    #[test]
    fn one_cell_per_input_and_padding_position() {
        let spec = Spec::parse("in=6 k=3 stride=2 pad=(1, 0)").unwrap();
        let picture = render(&spec, Limits::default()).unwrap();
        assert_eq!(picture.matches(r#"<rect class="input"#).count(), 36);
        // 8 padded rows by 6 columns, less the 36 inputs.
        assert_eq!(picture.matches(r#"<rect class="padding""#).count(), 12);
    }
}
