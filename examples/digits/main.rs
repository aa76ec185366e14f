//! A small CNN trained with `conv!` kernels on the 8×8 handwritten digits.
//!
//! Two `conv!` layers (3×3 kernels, ReLU, 2×2 max pooling) and a dense layer, trained by
//! plain SGD on 1 440 digits and tested on the 357 after them; see `model.rs`. A progress
//! bar per epoch on standard error, the test accuracy on standard output, the loss curve
//! as an SVG.
//!
//! ```sh
//! cargo run --release --example digits                      # writes target/digits-loss.svg
//! cargo run --release --example digits -- --epochs 5 --svg loss.svg
//! ```

mod model;
mod plot;

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use model::{BATCH, Digits, Model, Rng};

const EPOCHS: u32 = 40;
const RATE: f32 = 0.05;
const SEED: u64 = 13;

fn main() {
    let (epochs, svg) = match arguments() {
        Ok(arguments) => arguments,
        Err(message) => {
            eprintln!("error: {message}\nusage: digits [--epochs N] [--svg PATH]");
            std::process::exit(2);
        }
    };
    let (train, test) = Digits::load();
    let mut rng = Rng(SEED);
    let mut model = Model::new(&mut rng);
    let steps = train.images.len() / BATCH;
    let style = ProgressStyle::with_template(
        "epoch {prefix:>2} [{bar:30}] {pos:>2}/{len} batches, loss {msg}",
    )
    .expect("the template is valid")
    .progress_chars("#>.");
    let mut losses = Vec::with_capacity(epochs as usize * steps);
    let mut training = Duration::ZERO;
    for epoch in 1..=epochs {
        let bar = ProgressBar::new(steps as u64)
            .with_style(style.clone())
            .with_prefix(epoch.to_string());
        let start = Instant::now();
        model.epoch(&train, RATE, &mut rng, |loss| {
            losses.push(loss);
            bar.set_message(format!("{loss:.3}"));
            bar.inc(1);
        });
        training += start.elapsed();
        #[allow(clippy::cast_precision_loss, reason = "90 steps")]
        let mean = losses[losses.len() - steps..].iter().sum::<f32>() / steps as f32;
        let accuracy = model.accuracy(&test);
        bar.finish_with_message(format!("{mean:.3} (mean), test {:.1}%", 100.0 * accuracy));
        if bar.is_hidden() {
            eprintln!(
                "epoch {epoch:2}: loss {mean:.3}, test {:.1}%",
                100.0 * accuracy
            );
        }
    }
    match std::fs::write(&svg, plot::loss_curve(&losses, steps)) {
        Ok(()) => eprintln!("loss curve: {svg}"),
        Err(error) => eprintln!("error: cannot write `{svg}`: {error}"),
    }
    let accuracy = model.accuracy(&test);
    println!(
        "test accuracy {:.1}% ({} digits) after {epochs} epochs, {:.1} ms per epoch",
        100.0 * accuracy,
        test.images.len(),
        training.as_secs_f64() * 1000.0 / f64::from(epochs)
    );
}

/// `--epochs N` and `--svg PATH`, both optional.
fn arguments() -> Result<(u32, String), String> {
    let (mut epochs, mut svg) = (EPOCHS, String::from("target/digits-loss.svg"));
    let mut arguments = std::env::args().skip(1);
    while let Some(flag) = arguments.next() {
        let value = arguments
            .next()
            .ok_or_else(|| format!("`{flag}` needs a value"))?;
        match flag.as_str() {
            "--epochs" => {
                epochs = value
                    .parse()
                    .ok()
                    .filter(|&epochs| epochs > 0)
                    .ok_or_else(|| format!("`--epochs` takes a positive number, not `{value}`"))?;
            }
            "--svg" => svg = value,
            _ => {
                return Err(format!(
                    "unknown flag `{flag}`; expected `--epochs` or `--svg`"
                ));
            }
        }
    }
    Ok((epochs, svg))
}
