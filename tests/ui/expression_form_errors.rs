use convsym::conv;

fn main() {
    // Both errors and nothing else: the value's type coerces, so using it adds none.
    let layer = conv!(in = 0, k = 0);
    let _ = layer.spec();
}
