//! A transposed layer's parallel forms: its passes are its dual layer's, cut as the dual's
//! are, and checked as the dual's one-thread kernels check them.

use conv_runtime::Spec;
use conv_runtime::derive::Section;
use proc_macro2::TokenStream;

use super::{Bodies, Split};
use crate::lower::transposed::AsDual;
use crate::lower::{Array, Finite};

/// A transposed layer's tasks: its passes are its dual layer's (`transposed.rs`), on the
/// same memory under the names the dual reads, so they are cut as the dual's are, and the
/// bias is added on the calling thread after the forward pass's tasks; `serial` calls the
/// one-thread method (in this layer's names). `None` where the connections are not
/// exactly the dual layer's (`output_padding ≥ stride`: the portable loops alone run
/// there) or the dual's pass is one task.
pub(super) fn transposed(
    spec: &Spec,
    section: Section,
    serial: &TokenStream,
) -> Option<(TokenStream, Option<Finite>)> {
    let dual = spec.dual().filter(|dual| *dual == spec.connections())?;
    let pass = AsDual::of(spec, section)?;
    let inputs: Vec<&Array> = pass.inputs.iter().collect();
    let text = dual.to_string();
    // The tasks compute the dual's pass: as parts, through this layer's hidden method,
    // where its wide builds compute them (`transposed::in_parts`), else as its own loops.
    let split = Split::new(&dual, &text, pass.section);
    let split = if crate::lower::transposed::in_parts(spec, section).is_some() {
        Split {
            method: crate::lower::parts_method(section),
            ..split
        }
    } else {
        Split {
            bodies: Bodies::Dual,
            ..split
        }
    };
    let tasks = split.tasks(&inputs, &pass.output, serial)?;
    let finite = Finite::of_pass(&dual, pass.section, &inputs, &pass.output).map(|finite| Finite {
        met: finite
            .met
            .into_iter()
            .map(|name| pass.renamed(name))
            .collect(),
        after: finite.after,
    });
    Some((pass.around(spec, &tasks), finite))
}
