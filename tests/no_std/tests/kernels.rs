//! The `no_std` crate's kernels give the runtime reference's numbers.

use convsym::{Spec, reference};

#[test]
fn seed_matches_the_reference() {
    let x: [f32; 25] = core::array::from_fn(|i| f32::from(u8::try_from(i % 5).unwrap()) - 2.0);
    let w = [1.0, -1.0, 2.0, 0.0, 3.0, -2.0, 1.0, 1.0, -1.0];
    let dz = [1.0, 2.0, -1.0, 3.0];
    let (z, dw) = convsym_no_std::seed(&x, &w, &dz);
    let spec = Spec::parse("in=5 k=3 stride=2").unwrap();
    assert_eq!(z.to_vec(), reference::forward(&spec, &x, &w, &[]));
    assert_eq!(dw.to_vec(), reference::grad_weight(&spec, &x, &dz));
}

#[test]
fn padded_matches_the_reference() {
    let x = [1.0, -2.0, 3.0, 0.0, 2.0, -1.0, 1.0, 2.0, -3.0];
    let w = [2.0, -1.0, 1.0, 0.0, 3.0, -2.0];
    let b = [0.5, -1.5];
    let dz = [1.0, -1.0, 2.0, 0.0, 3.0, -2.0, 1.0, 1.0, 2.0, -3.0];
    let (mut z, mut dx, mut dw, mut db) = ([0.0; 10], [0.0; 9], [0.0; 6], [0.0; 2]);
    convsym_no_std::padded(&x, &w, &b, &dz, (&mut z, &mut dx, &mut dw, &mut db));
    let spec = Spec::parse("in=(9,) k=3 stride=2 pad=1 cout=2 bias").unwrap();
    assert_eq!(z.to_vec(), reference::forward(&spec, &x, &w, &b));
    assert_eq!(dx.to_vec(), reference::grad_input(&spec, &w, &dz));
    assert_eq!(dw.to_vec(), reference::grad_weight(&spec, &x, &dz));
    assert_eq!(db.to_vec(), reference::grad_bias(&spec, &dz));
}
