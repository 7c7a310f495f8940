//! The spam filter's counts, as the database keeps them and the filter reads them.

/// How many taught comments of each kind held a token (or, for the model, taught it at all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub spam: u32,
    pub ham: u32,
}
