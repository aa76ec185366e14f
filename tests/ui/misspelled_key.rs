use convsym::conv;

conv!(struct Layer; in = 5, k = 3, strdie = 2);

fn main() {}
