//! Every bad `conv!` input is a compile error at the offending tokens: one case per
//! diagnostic in `tests/ui/`, whose `.stderr` files are generated with
//! `TRYBUILD=overwrite cargo test --test macro_ui` and reviewed.

#[test]
fn compile_errors() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
