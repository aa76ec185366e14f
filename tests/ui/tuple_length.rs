use convsym::conv;

conv!(struct Layer; in = (5, 6), k = (3, 3, 3));

fn main() {}
