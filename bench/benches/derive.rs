//! Throughput of the streaming derivation, in terms per second, on the large layer the
//! issue names (`in=224 k=7 stride=2 pad=3 cin=3 cout=64`, 118 million forward terms).
//!
//! Each section is timed three ways in the same run: deriving alone, deriving and printing
//! (what `convsym` does), and printing equations derived beforehand (the baseline: what
//! printing costs by itself).
//!
//! `cargo bench -p convsym-bench --bench derive`
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::borrow::Borrow;
use std::fmt::Write as _;
use std::hint::black_box;

use conv_runtime::derive::{self, Section};
use conv_runtime::{Equation, Notation, Spec};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const LAYER: &str = "in=224 k=7 stride=2 pad=3 cin=3 cout=64";

fn terms(equations: &[Equation]) -> u64 {
    equations.iter().map(|e| e.rhs.terms().len() as u64).sum()
}

fn print<E: Borrow<Equation>>(equations: impl Iterator<Item = E>, out: &mut String) {
    out.clear();
    for equation in equations {
        let _ = writeln!(out, "{}", equation.borrow().display(Notation::Text));
    }
}

fn bench(c: &mut Criterion) {
    let spec = Spec::parse(LAYER).expect("a valid layer");
    // A slice of each section from the middle of the layer, where windows are whole.
    for (section, skip, count) in [
        (Section::Forward, 30_000, 400),
        (Section::GradInput, 70_000, 400),
        (Section::GradWeight, 4_000, 6),
    ] {
        let stream = || derive::equations(&spec, section).skip(skip).take(count);
        let derived: Vec<Equation> = stream().collect();
        let mut group = c.benchmark_group(format!("{section:?}"));
        group.throughput(Throughput::Elements(terms(&derived)));
        group.bench_function("derive", |b| {
            b.iter(|| stream().map(|e| e.rhs.terms().len()).sum::<usize>());
        });
        let mut out = String::new();
        group.bench_function("derive and print", |b| {
            b.iter(|| print(stream(), black_box(&mut out)));
        });
        group.bench_function("print only (baseline)", |b| {
            b.iter(|| print(derived.iter(), black_box(&mut out)));
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
