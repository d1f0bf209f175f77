//! One file per subcommand: argument definitions and the glue between the
//! library and the terminal.

pub mod audit;
pub mod calibrate;
pub mod completions;
pub mod detect;
pub mod eval;
pub mod hash;
pub mod held_out;
pub mod init;
pub mod judge;
pub mod labelled;
pub mod man;
pub mod release;
pub mod report;
pub mod scan;
pub mod train;
