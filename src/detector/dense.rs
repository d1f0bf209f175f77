//! The layout of a text's dense feature vector: its style features, then its
//! lexicon rates, then its word-frequency shares. The model file stores weights
//! in this order and the trees read their inputs from it, so it is a module of
//! its own that both depend on, rather than one of them.

use super::frequency::N_FREQ;
use super::lexicon::N_LEX;
use super::style::N_STYLE;

pub const N_DENSE: usize = N_STYLE + N_LEX + N_FREQ;
