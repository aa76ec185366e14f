use convsym::conv;

conv!(struct Layer; in = 5, k = (((((((((((((((((3))))))))))))))))));

fn main() {}
