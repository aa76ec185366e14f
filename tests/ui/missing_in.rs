use convsym::conv;

conv!(struct Layer; k = 3, stride = 2);

fn main() {}
