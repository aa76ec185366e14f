use convsym::conv;

// 16 384 multiply-adds, but as many equations in the forward pass and the input gradient.
conv!(struct Layer; in = (16384,), k = 1, unroll = full);

fn main() {}
