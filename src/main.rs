//! The `convsym` command: a convolution layer's equations and gradients, printed.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
