use convsym::conv;

conv!(struct Layer; in = 5, k = 0, stride = -1, pad = sideways, unroll = full);

fn main() {}
