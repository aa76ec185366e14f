use convsym::conv;

conv!(struct Layer; in = 5, stride = 2);

fn main() {}
