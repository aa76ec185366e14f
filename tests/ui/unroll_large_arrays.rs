use convsym::conv;

conv!(struct Layer; in = (100000,), k = 1, stride = 100000, unroll = full);

fn main() {}
