//! How a row is cut into register blocks of at most so many sums: the blocks a body's
//! code is written for, one loop per size.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use crate::lower::tokens::number;

/// The size of the blocks [`by_blocks`] cuts `length` into, at most `most` each: as
/// even as whole blocks allow.
pub(in super::super) fn block_size(length: usize, most: usize) -> usize {
    length.div_ceil(length.div_ceil(most.max(1)))
}

/// A row of `length` cut into register blocks of at most `most` sums, as even as can be:
/// `block(size, first)` for each, `first` the expression of its first index. A loop over
/// the blocks of one size, and the last block on its own when it is shorter.
pub(in super::super) fn by_blocks(
    length: usize,
    most: usize,
    block: impl Fn(usize, TokenStream) -> TokenStream,
) -> TokenStream {
    let count = length.div_ceil(most.max(1));
    let size = block_size(length, most);
    let tail = length - (count - 1) * size;
    if count == 1 {
        return block(size, quote!(0));
    }
    let (size_literal, full_count) = (number(size), number(count - 1));
    let full = block(size, quote!(block * #size_literal));
    let last = block(tail, number((count - 1) * size).into_token_stream());
    quote! {
        for block in 0..#full_count {
            #full
        }
        #last
    }
}

/// [`by_blocks`] with the blocks as even as can be: a row of `length` in the fewest blocks
/// of at most `most` sums, those one longer first, each size in a loop of its own (or
/// alone, where it is one block).
pub(in super::super) fn by_even_blocks(
    length: usize,
    most: usize,
    block: impl Fn(usize, TokenStream) -> TokenStream,
) -> TokenStream {
    let mut blocks = TokenStream::new();
    for (size, count, start) in even_runs(length, most) {
        let body = match count {
            0 => continue,
            1 => block(size, number(start).into_token_stream()),
            _ => {
                let (start, size_literal, count) = (number(start), number(size), number(count));
                let body = block(size, quote!(#start + block * #size_literal));
                quote!(for block in 0..#count { #body })
            }
        };
        blocks.extend(body);
    }
    blocks
}

/// The blocks of [`by_even_blocks`] as runs of equal blocks: each run's block size, its
/// count of blocks and the position of its first.
fn even_runs(length: usize, most: usize) -> [(usize, usize, usize); 2] {
    let count = length.div_ceil(most.max(1));
    let (size, longer) = (length / count, length % count);
    [
        (size + 1, longer, 0),
        (size, count - longer, longer * (size + 1)),
    ]
}

/// Each block of [`by_even_blocks`], in order along the row: its first position and size.
pub(in super::super) fn even_blocks(
    length: usize,
    most: usize,
) -> impl DoubleEndedIterator<Item = (usize, usize)> {
    even_runs(length, most)
        .into_iter()
        .flat_map(|(size, count, start)| (0..count).map(move |block| (start + block * size, size)))
}
