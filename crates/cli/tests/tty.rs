//! The shell on a real terminal: the first line many will type, a write to
//! standard output, prints at once (a terminal refuses `RWF_NOWAIT` yet
//! polls ready, which once made the shell retry it forever).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[test]
fn write_to_a_terminal_prints_at_once() {
    let (controller, terminal) = sysgate_testkit::openpty();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sysgate"))
        .arg("repl")
        .stdin(Stdio::from(terminal.try_clone().unwrap()))
        .stdout(Stdio::from(terminal.try_clone().unwrap()))
        .stderr(Stdio::from(terminal))
        .spawn()
        .expect("start sysgate repl");
    let mut input = std::fs::File::from(controller.try_clone().unwrap());
    let mut output = std::fs::File::from(controller);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0; 4096];
        while let Ok(n) = output.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    input.write_all(b"write(1, \"hello\\n\", 6)\r").unwrap();
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let printed = loop {
        // The echo of the typed line holds `hello\n` as two characters;
        // only the write itself puts a newline right after `hello`.
        if seen.contains("hello\r\n") && seen.contains("= 6") {
            break true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(bytes) => seen.push_str(&String::from_utf8_lossy(&bytes)),
            Err(_) => break false,
        }
    };
    let _ = input.write_all(b":quit\r");
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        printed,
        "no `hello` and `= 6` within 30 s; the terminal showed {seen:?}"
    );
}
