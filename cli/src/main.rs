//! The `segl` command.

fn main() {}
