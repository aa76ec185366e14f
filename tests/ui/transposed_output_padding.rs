use convsym::conv;

conv!(struct Up; in = 4, k = 4, stride = 2, pad = 1, output_padding = 2, transposed);

fn main() {}
