//! The `conv!` proc-macro of convsym (its surface arrives with the macro's own issue).
