use convsym::conv;

conv!(struct Layer; in = 5, k = 3, cin = 4, cout = 6, groups = 4);

fn main() {}
