//! The `basalt` command-line tool.

fn main() {}
