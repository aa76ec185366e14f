//! The default action: print the layer's equations in one of the output formats, and say
//! on standard error why some input gradients are 0.

use std::fmt::Write as _;
use std::io::{self, Write};

use clap::ValueEnum;
use convsym::derive::Section;
use convsym::spec::Unread;
use convsym::{Axis, Format, Spec, limits, render};

use super::keys::{INVALID, Keys};
use super::output;

/// The arguments of `convsym [KEYS…]`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The layer.
    #[command(flatten)]
    pub keys: Keys,
    /// How to write the equations
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    format: FormatArg,
    /// Print only one tensor's equations
    #[arg(long, value_enum, value_name = "TENSOR")]
    only: Option<Only>,
}

/// `--format`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    /// One equation per line: `z1 = w1*x1 + w2*x2 + …`
    Text,
    /// A LaTeX `align` environment
    Latex,
    /// One formula per tensor with the index arithmetic, 0-based
    Sigma,
    /// One JSON document: the resolved keys and every equation's terms
    Json,
}

impl FormatArg {
    fn format(self) -> Format {
        match self {
            FormatArg::Text => Format::Text,
            FormatArg::Latex => Format::Latex,
            FormatArg::Sigma => Format::Sigma,
            FormatArg::Json => Format::Json,
        }
    }
}

/// `--only`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Only {
    /// The forward pass, `z`
    Forward,
    /// The input gradient, `dx`
    Dx,
    /// The weight gradient, `dw`
    Dw,
    /// The bias gradient, `db`
    Db,
}

impl Only {
    fn section(self) -> Section {
        match self {
            Only::Forward => Section::Forward,
            Only::Dx => Section::GradInput,
            Only::Dw => Section::GradWeight,
            Only::Db => Section::GradBias,
        }
    }
}

/// Prints the equations on `stdout`, notes on `stderr`; exit code 2 for a layer whose
/// equations are too large to print. A failure to write is returned, for [`super::run`]
/// to turn into an exit code.
pub fn run(
    args: &Args,
    spec: &Spec,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> io::Result<u8> {
    let sections = match args.only {
        Some(only) => vec![only.section()],
        None => Section::ALL.to_vec(),
    };
    // Equations stream one at a time, but each is built whole before it is printed; the Σ
    // formulas build none.
    let unrolled = !matches!(args.format, FormatArg::Sigma);
    let printable = if unrolled {
        limits::printable(spec, &sections)
    } else {
        Ok(())
    };
    if let Err(too_large) = printable {
        // Nothing is left to tell if standard error itself is closed.
        let _ = writeln!(stderr, "error: {too_large}");
        return Ok(INVALID);
    }
    output::stream(stdout, |out| {
        render::document(out, spec, args.format.format(), &sections)
    })?;
    let mut notes = String::new();
    if sections.contains(&Section::GradInput) {
        unread_notes(&mut notes, spec);
    }
    if sections == [Section::GradBias] && !spec.bias() {
        notes.push_str("note: the layer has no bias, so there is no `db`; add `bias`\n");
    }
    let _ = stderr.write_all(notes.as_bytes());
    Ok(0)
}

/// Names listed in a note before it only counts the rest.
const LISTED: usize = 6;

/// One note per axis and reason for the inputs the forward pass never reads: why, which
/// positions, and which `dx` equations are therefore 0. Lazy throughout: an axis of
/// billions of positions costs time here, never memory.
fn unread_notes(notes: &mut String, spec: &Spec) {
    for (index, axis) in spec.axes().iter().enumerate() {
        let number = index + 1;
        for reason in [Unread::Remainder, Unread::Gap, Unread::Cropped] {
            let positions = || {
                axis.unread()
                    .filter(move |&(_, why)| why == reason)
                    .map(|(position, _)| position)
            };
            let (list, count) = ranges(positions());
            if count == 0 {
                continue;
            }
            let s = if count == 1 { "" } else { "s" };
            let _ = match reason {
                Unread::Remainder => write!(
                    notes,
                    "note: on axis {number}, the remainder r = (padded input {} − kernel span {}) \
                     mod stride {} = {} leaves input position{s} {list} (1-based) past the last \
                     window: never read, so `dx` is 0 there: ",
                    axis.padded_input(),
                    axis.effective_kernel(),
                    axis.stride(),
                    axis.remainder(),
                ),
                Unread::Gap => write!(
                    notes,
                    "note: on axis {number}, the taps (stride {}, kernel {}, dilation {}) skip \
                     input position{s} {list} (1-based): never read, so `dx` is 0 there: ",
                    axis.stride(),
                    axis.kernel(),
                    axis.dilation(),
                ),
                Unread::Cropped => write!(
                    notes,
                    "note: on axis {number}, `pad` ({}, {}) crops every output position that \
                     input position{s} {list} (1-based) scatter{} to: no output reads {}, so \
                     `dx` is 0 there: ",
                    axis.pad_before(),
                    axis.pad_after(),
                    if count == 1 { "s" } else { "" },
                    if count == 1 { "it" } else { "them" },
                ),
            };
            let _ = writeln!(notes, "{}", zero_names(spec, index, reason, count));
        }
    }
}

/// `1–3, 6`: ascending 0-based positions as 1-based ranges, the first few of them; and how
/// many positions there are.
fn ranges(positions: impl Iterator<Item = usize>) -> (String, usize) {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut more = false;
    let mut count = 0;
    for position in positions {
        count += 1;
        let full = runs.len() == LISTED;
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == position => *last = position,
            _ if full => more = true,
            _ => runs.push((position, position)),
        }
    }
    let mut text: Vec<String> = runs
        .iter()
        .map(|&(first, last)| match last - first {
            0 => format!("{}", first + 1),
            1 => format!("{}, {}", first + 1, last + 1),
            _ => format!("{}–{}", first + 1, last + 1),
        })
        .collect();
    if more {
        text.push("…".into());
    }
    (text.join(", "), count)
}

/// The `dx` names whose position on axis `axis` is never read for `reason`, the first few
/// of them, and how many there are (`count` positions on that axis).
fn zero_names(spec: &Spec, axis: usize, reason: Unread, count: usize) -> String {
    let names: Vec<String> = spec
        .unread_inputs(axis, reason)
        .take(LISTED)
        .map(|flat| format!("dx{}", flat + 1))
        .collect();
    let size = spec.axes().get(axis).map_or(1, Axis::input);
    let total = count.saturating_mul(spec.input_len() / size);
    if total > names.len() {
        format!("{}, … ({total} in all)", names.join(", "))
    } else {
        names.join(", ")
    }
}
