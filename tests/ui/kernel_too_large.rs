use convsym::conv;

conv!(struct Layer; in = (5, 4), k = 3, dilation = (1, 2));

fn main() {}
