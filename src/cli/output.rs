//! Standard output of the commands. `println!` panics when the reader has gone away
//! (`purposed audit verify | head -1`); a command-line tool should end as `cat` does then:
//! killed by SIGPIPE, quietly, with the status a shell expects. Rust ignores SIGPIPE for the
//! whole process, which keeps writes to sockets (PostgreSQL over a Unix socket included)
//! from killing it, so the signal's default comes back only at that moment.

use std::io::{self, Write};

/// Writes one line, as `println!` would.
pub fn line(arguments: std::fmt::Arguments<'_>) {
    let mut stdout = io::stdout().lock();
    let written = stdout
        .write_fmt(arguments)
        .and_then(|()| stdout.write_all(b"\n"));
    match written {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => end_by_sigpipe(),
        Err(error) => {
            eprintln!("error: cannot write to standard output: {error}");
            std::process::exit(1);
        }
    }
}

fn end_by_sigpipe() -> ! {
    // SAFETY: signal(2) and raise(3) with a valid signal number; the default action ends
    // the process, and no handler runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    // Not reached; the status a shell gives a process SIGPIPE ended.
    std::process::exit(128 + libc::SIGPIPE)
}
