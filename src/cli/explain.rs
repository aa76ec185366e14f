//! `convsym explain [KEYS…]`: the derivation of a layer, step by step.

use std::io::Write;
use std::path::PathBuf;

use convsym::Spec;
use convsym::explain::{self, Limits};

use super::keys::{INVALID, Keys};

/// The printed formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// Plain text, matrices drawn with aligned columns.
    #[default]
    Text,
    /// A LaTeX document.
    Latex,
    /// Markdown, drawings in fenced blocks.
    Markdown,
    /// One self-contained HTML page: MathML equations, tables, the reads picture as SVG.
    Html,
}

/// Arguments of `convsym explain`.
#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// How to print the derivation.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also draw which inputs each output reads, as SVG, into FILE (1-D and 2-D layers).
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Batch and channel slices drawn per step; the rest are counted.
    #[arg(long, default_value_t = Limits::default().slices)]
    pub slices: usize,
    /// Correlation windows drawn per slice; the rest are counted.
    #[arg(long, default_value_t = Limits::default().windows)]
    pub windows: usize,
    /// Equations listed per block; the rest are counted.
    #[arg(long, default_value_t = Limits::default().equations)]
    pub equations: usize,
    /// Cells of the largest matrix drawn; larger ones are described instead.
    #[arg(long, default_value_t = Limits::default().cells)]
    pub cells: usize,
    /// The layer.
    #[command(flatten)]
    pub keys: Keys,
}

/// Prints the explanation; exit code 0, or 1 if the constructions disagreed with the chain
/// rule (a bug), or 2 on a layer too large or an SVG that cannot be drawn or written. A
/// failure to write is returned, for [`super::run`] to turn into an exit code.
pub fn run(
    args: &ExplainArgs,
    spec: &Spec,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> std::io::Result<u8> {
    let limits = Limits {
        slices: args.slices,
        windows: args.windows,
        equations: args.equations,
        cells: args.cells,
    };
    if let Some(path) = &args.svg {
        let picture = match convsym::render::svg::render(spec, limits) {
            Ok(picture) => picture,
            Err(error) => {
                writeln!(stderr, "error: {error}")?;
                return Ok(2);
            }
        };
        if let Err(error) = std::fs::write(path, picture) {
            writeln!(stderr, "error: cannot write `{}`: {error}", path.display())?;
            return Ok(2);
        }
    }
    let explanation = match explain::explain(spec, limits) {
        Ok(explanation) => explanation,
        Err(too_large) => {
            writeln!(stderr, "error: {too_large}")?;
            return Ok(INVALID);
        }
    };
    let rendered = match args.format {
        Format::Text => explain::text::render(&explanation),
        Format::Latex => explain::latex::render(&explanation),
        Format::Markdown => explain::markdown::render(&explanation),
        // The picture exists for 1-D and 2-D layers; a 3-D page goes without it.
        Format::Html => explain::html::render(
            &explanation,
            convsym::render::svg::render(spec, limits).ok().as_deref(),
        ),
    };
    stdout.write_all(rendered.as_bytes())?;
    Ok(u8::from(!explanation.agrees()))
}
