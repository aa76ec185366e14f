//! convsym's benchmarks live in `benches/`; run them with `cargo bench -p convsym-bench`.
//! A separate package, so that `cargo test --workspace` never compiles criterion.
