//! Every byte the CLI writes goes through here, so none is lost silently: a failed write to
//! standard output is an error exit, and so is a failed write to standard error (found at
//! exit, since the message it failed to carry cannot be given). `eprintln!` would panic on
//! a closed or full stderr; `println!` would panic on stdout.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static STDERR_FAILED: AtomicBool = AtomicBool::new(false);

/// Writes `text` and a newline to standard error.
pub fn err_line(text: &str) {
    let mut stderr = std::io::stderr().lock();
    if stderr
        .write_all(text.as_bytes())
        .and_then(|()| stderr.write_all(b"\n"))
        .and_then(|()| stderr.flush())
        .is_err()
    {
        STDERR_FAILED.store(true, Ordering::SeqCst);
    }
}

/// `realsig: warning: ...`
pub fn warn(text: &str) {
    err_line(&format!("realsig: warning: {text}"));
}

/// Whether every write to standard error so far succeeded.
pub fn stderr_ok() -> bool {
    !STDERR_FAILED.load(Ordering::SeqCst)
}

/// Writes `bytes` to standard output and flushes.
pub fn stdout(bytes: &[u8]) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write the output: {e}"))
}

/// Text from a server or a file, made safe to show on a terminal: control characters
/// (an escape sequence could rewrite the screen or the title) and other invisible format
/// characters are shown as `\u{..}` escapes; tabs and newlines become spaces (a message is one line).
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' | '\n' | '\r' => out.push(' '),
            c if c.is_control() || is_invisible_format(c) => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}

/// Bidirectional overrides and isolates (Trojan Source), zero-width characters and the BOM.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn escapes_reach_the_terminal_as_text() {
        assert_eq!(
            sanitize("Access\u{1b}]0;pwned\u{7}\u{1b}[2J Denied\r\nnext\u{202E}"),
            "Access\\u{1b}]0;pwned\\u{7}\\u{1b}[2J Denied  next\\u{202e}"
        );
        assert_eq!(sanitize("plain café"), "plain café");
    }
}
