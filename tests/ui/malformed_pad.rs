use convsym::conv;

conv!(struct Layer; in = (5, 6), k = 3, pad = ((1, 2, 3), 1));

fn main() {}
