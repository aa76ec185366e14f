use convsym::conv;

conv!(struct Layer; in = 0, k = 3);

fn main() {}
