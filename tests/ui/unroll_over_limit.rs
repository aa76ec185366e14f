use convsym::conv;

conv!(struct Layer; in = 100, k = 5, cout = 4, unroll = full);

fn main() {}
