use convsym::conv;

conv!(struct Layer; in = 5u8, k = 3);

fn main() {}
