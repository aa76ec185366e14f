use convsym::conv;

conv!(struct Layer; in = 5, k = 3, stride = 2);

fn main() {
    let x = [0.0f32; 25];
    let w = [0.0f32; 8];
    let _ = Layer.forward(&x, &w);
}
