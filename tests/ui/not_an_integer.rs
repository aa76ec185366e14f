use convsym::conv;

conv!(struct Layer; in = 5, k = 2.5);

fn main() {}
