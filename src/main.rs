//! The `convsym` command.
fn main() {
    let spec = convsym::Spec::parse("in=5 k=3 stride=2").expect("the seed is valid");
    for section in convsym::derive::Section::ALL {
        for equation in convsym::derive::equations(&spec, section) {
            println!("{equation}");
        }
    }
}
