//! Runs `sysgate repl` and `sysgate run` on scripts and compares what they
//! print, line by line.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::TempDir;

/// Runs `sysgate args…` with `input` on stdin; kills it after a minute
/// (a wrong fd in a script can leave a read waiting forever).
fn sysgate(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sysgate"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sysgate");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    // Written from another thread: the child may fill its output pipes
    // before it has read all of its input.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let read_all = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().expect("stdout")));
    let stderr = read_all(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for sysgate") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let out = String::from_utf8_lossy(&stdout.join().unwrap_or_default()).into_owned();
            panic!("sysgate {args:?} did not finish within a minute; its output:\n{out}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    writer.join().expect("writer");
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("utf-8 output")
}

/// The first descriptor a fresh `sysgate repl` hands out (the gateway
/// holds a few of its own below it).
fn first_fd() -> i64 {
    let out = sysgate(&["repl"], b"openat(AT_FDCWD, \"/\", O_RDONLY|O_CLOEXEC)\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = text(&out.stdout).trim_end();
    line.rsplit(" = ")
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no fd in {line:?}"))
}

/// `{0}`…`{9}` → the first fd plus that many; `TMP` → the temp dir.
fn fill(template: &str, base: i64, tmp: &str) -> String {
    let mut s = template.replace("TMP", tmp);
    for k in 0..10 {
        s = s.replace(&format!("{{{k}}}"), &(base + k).to_string());
    }
    s
}

/// Inode numbers and directory offsets differ from run to run.
fn normalise(line: &str, tmp: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let line = line.replace(tmp, "TMP");
    let mut rest = line.as_str();
    while let Some(i) = ["d_ino=", "d_off="]
        .iter()
        .filter_map(|key| rest.find(key).map(|i| i + key.len()))
        .min()
    {
        out.push_str(&rest[..i]);
        rest = rest[i..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('N');
    }
    out.push_str(rest);
    out
}

/// The script: `TMP` is the temp dir, `{k}` the k-th descriptor after the
/// gateway's own. Descriptors are reused (the socket pair is closed before
/// the chain opens a file) so the script never needs more than six: the
/// gateway creates further descriptors of its own lazily (when a call first
/// waits for readiness or on the pool), at fd 10 and up, and a number above
/// those would depend on timing.
const SCRIPT: &str = r#"# A session through `sysgate repl`: files, directories, links, pipes,
# sockets, errors, a batch, chains, background requests.
$dir = openat(AT_FDCWD, "TMP", O_RDONLY|O_DIRECTORY|O_CLOEXEC)
$fd = openat($dir, "data.txt", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0600)
write($fd, "hello, sysgate\n", 15)
lseek($fd, 0, SEEK_SET)
read($fd, "", 64)
pread64($fd, "", 7, 7)
lseek($fd, -8, SEEK_END)
read($fd, "", 3)
fstat($fd, {})
:set strsize 5
lseek($fd, 0, SEEK_SET)
read($fd, "", 64)
:set strsize 32
symlinkat("data.txt", $dir, "link")
readlinkat($dir, "link", "", 64)
readlink("TMP/link", "", 64)
mkdirat($dir, "sub", 0755)
$sub = openat($dir, "sub", O_RDONLY|O_DIRECTORY|O_CLOEXEC)
getdents64($sub, "", 4096)
getdents64($sub, "", 4096)
close($sub)
close($sub)
openat($dir, "missing", O_RDONLY)
fstat(999, {})

pipe2([0, 0], O_CLOEXEC)
write({3}, "ping", 4)
read({2}, "", 16)
socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, [0, 0])
sendto({4}, "over the socket", 15, 0, NULL, 0)
recvfrom({5}, "", 64, 0, NULL, NULL)
close({4})
close({5})
{ lseek($fd, 0, SEEK_SET); read($fd, "", 5); fcntl($fd, F_GETFD) }
openat($dir, "data.txt", O_RDONLY|O_CLOEXEC) -> pread64($prev, "", 15, 0) -> close($1)
openat($dir, "nope", O_RDONLY|O_CLOEXEC) -> read($prev, "", 15) -> close($1)
dup($fd)
close($_)
12345 10:00:00.123456 lseek({1}</tmp/data.txt>, 0, SEEK_SET) = 0 <0.000005>
read({2}, "", 16) &
write({3}, "pong", 4)
:wait 1
read({2}, "", 16) &
:cancel $_
:wait
unlinkat($dir, "link", 0)
unlinkat($dir, "data.txt", 0)
unlinkat($dir, "sub", AT_REMOVEDIR)
unlinkat($dir, "sub", AT_REMOVEDIR)
close($dir)
:stats
"#;

const EXPECTED: &str = r#"openat(AT_FDCWD, "TMP", O_RDONLY|O_DIRECTORY|O_CLOEXEC) = {0}
openat({0}, "data.txt", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0600) = {1}
write({1}, "hello, sysgate\n", 15) = 15
lseek({1}, 0, SEEK_SET) = 0
read({1}, "hello, sysgate\n", 64) = 15
pread64({1}, "sysgate", 7, 7) = 7
lseek({1}, -8, SEEK_END) = 7
read({1}, "sys", 3) = 3
fstat({1}, {st_mode=S_IFREG|0600, st_size=15, ...}) = 0
lseek({1}, 0, SEEK_SET) = 0
read({1}, "hello"..., 64) = 15
symlinkat("data.txt", {0}, "link") = 0
readlinkat({0}, "link", "data.txt", 64) = 8
readlink("TMP/link", "data.txt", 64) = 8
mkdirat({0}, "sub", 0755) = 0
openat({0}, "sub", O_RDONLY|O_DIRECTORY|O_CLOEXEC) = {2}
getdents64({2}, [{d_ino=N, d_off=N, d_reclen=24, d_type=DT_DIR, d_name="."}, {d_ino=N, d_off=N, d_reclen=24, d_type=DT_DIR, d_name=".."}], 4096) = 48
getdents64({2}, [], 4096) = 0
close({2}) = 0
close({2}) = -1 EBADF (Bad file descriptor)
openat({0}, "missing", O_RDONLY) = -1 ENOENT (No such file or directory)
fstat(999, {}) = -1 EBADF (Bad file descriptor)
pipe2([{2}, {3}], O_CLOEXEC) = 0
write({3}, "ping", 4) = 4
read({2}, "ping", 16) = 4
socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, [{4}, {5}]) = 0
sendto({4}, "over the socket", 15, 0, NULL, 0) = 15
recvfrom({5}, "over the socket", 64, 0, NULL, NULL) = 15
close({4}) = 0
close({5}) = 0
lseek({1}, 0, SEEK_SET) = 0
read({1}, "hello", 5) = 5
fcntl({1}, F_GETFD) = 1
openat({0}, "data.txt", O_RDONLY|O_CLOEXEC) = {4}
pread64({4}, "hello, sysgate\n", 15, 0) = 15
close({4}) = 0
openat({0}, "nope", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)
read($prev, "", 15) = -1 ECANCELED (Operation canceled)
close($1) = -1 ECANCELED (Operation canceled)
dup({1}) = {4}
close({4}) = 0
lseek({1}</tmp/data.txt>, 0, SEEK_SET) = 0 (traced: 0 <0.000005>)
write({3}, "pong", 4) = 4
[1] read({2}, "pong", 16) = 4
[2] read({2}, "", 16) = -1 ECANCELED (Operation canceled)
unlinkat({0}, "link", 0) = 0
unlinkat({0}, "data.txt", 0) = 0
unlinkat({0}, "sub", AT_REMOVEDIR) = 0
unlinkat({0}, "sub", AT_REMOVEDIR) = -1 ENOENT (No such file or directory)
close({0}) = 0
"#;

/// Compares `stdout` with the expected lines, then checks the `:stats`
/// line that follows them (its counts vary).
fn assert_session_output(stdout: &str, expected: &str, tmp: &str) {
    let got: Vec<String> = stdout.lines().map(|l| normalise(l, tmp)).collect();
    let want: Vec<&str> = expected.lines().collect();
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "output line {}", i + 1);
    }
    assert_eq!(
        got.len(),
        want.len() + 1,
        "one line per call and the :stats line:\n{stdout}"
    );
    let stats = &got[want.len()];
    assert!(
        stats.starts_with("submitted ") && stats.contains(", completed "),
        "{stats}"
    );
    let backend = sysgate::Gateway::new().unwrap().stats().readiness.unwrap();
    assert!(
        stats.ends_with(&format!("; readiness: {backend}")),
        "{stats}"
    );
}

#[test]
fn a_piped_script_prints_one_strace_line_per_call() {
    let base = first_fd();
    let tmp = TempDir::new("repl");
    let script = fill(SCRIPT, base, tmp.str());
    assert!(script.lines().count() >= 30);
    let out = sysgate(&["repl"], script.as_bytes());
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert_eq!(stderr, "", "no errors expected");
    assert_session_output(text(&out.stdout), &fill(EXPECTED, base, "TMP"), tmp.str());
    // The script cleaned up after itself.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn run_file_does_the_same_for_a_file() {
    let base = first_fd();
    let tmp = TempDir::new("run");
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let work_str = work.to_str().unwrap();
    let script_path = tmp.path().join("session.sg");
    std::fs::write(&script_path, fill(SCRIPT, base, work_str)).unwrap();
    // stdin is not read by `run`.
    let out = sysgate(&["run", script_path.to_str().unwrap()], b":quit\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    assert_session_output(text(&out.stdout), &fill(EXPECTED, base, "TMP"), work_str);

    // `-` is stdin.
    let out = sysgate(&["run", "-"], b"umask(022)\numask(022)\n");
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).lines().nth(1), Some("umask(022) = 022"));
}

#[test]
fn bad_lines_name_line_and_column_and_the_script_goes_on() {
    let mut script: Vec<u8> = Vec::new();
    for line in [
        &b"getppid()"[..],
        b"opnat(AT_FDCWD, \"/x\", O_RDONLY)",
        b"close(1, 2)",
        b"openat(AT_FDCWD, \"/x\", O_RDONLY|O_BOGUS)",
        b"openat(AT_FDCWD, \"/x, O_RDONLY)",
        b"get\xff\xfepid()",
        b"\x00\x01\x02",
        b"exit_group(0)",
        b"execve(\"/bin/sh\", [\"sh\"], NULL)",
        b"close($nope)",
        b"munmap(0x1000, 4096)",
        b":wait 7",
        b"getppid()",
    ] {
        script.extend_from_slice(line);
        script.push(b'\n');
    }
    let out = sysgate(&["repl"], &script);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let ppid = std::process::id();
    assert_eq!(
        text(&out.stdout),
        format!("getppid() = {ppid}\ngetppid() = {ppid}\n")
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let expected = [
        "line 2, column 1: unknown syscall `opnat`",
        "line 3, column 10: close takes 1 argument, got 2",
        "line 4, column 33: unknown open flags name `O_BOGUS`",
        "line 5, column 18: unterminated string",
        "line 6, column 4: ",
        "line 7, column 1: ",
        "line 8, column 1: exit_group is refused by the gateway: would end the whole process",
        "line 9, column 1: execve is refused by the gateway: would replace the whole process",
        "line 10, column 7: `$nope` is not set",
        "line 11, column 1: munmap changes this program's memory mappings at argument 1",
        "line 12: no background request [7]",
    ];
    assert_eq!(lines.len(), expected.len(), "{stderr}");
    for (got, want) in lines.iter().zip(expected) {
        assert!(
            got.starts_with(want),
            "{got:?} does not start with {want:?}"
        );
    }
}

#[test]
fn refusals_and_failing_syscalls_are_not_parse_failures() {
    let out = sysgate(
        &["repl"],
        b"munmap(0x1000, 4096)\nclose(-1)\nkcmp(1, 2, 0, 3, 4)\n:help close\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some("close(-1) = -1 EBADF (Bad file descriptor)")
    );
    assert_eq!(lines.next(), Some("close(fd) -> 0"));
    assert!(lines.next().unwrap().contains("class non-blocking"));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    assert!(stderr.contains("line 3, column 1: sysgate has no signature for kcmp"));
}

/// Calls that would break the thread running them are refused with the
/// table's reason, and the shell goes on: before, `arch_prctl(ARCH_SET_FS,
/// 0)` killed it with SIGSEGV and `prctl(PR_SET_SECCOMP, 1)` with SIGKILL.
#[test]
fn calls_that_would_break_the_shell_are_refused_and_it_goes_on() {
    let mut script = String::new();
    #[cfg(target_arch = "x86_64")]
    script.push_str("arch_prctl(ARCH_SET_FS, 0)\narch_prctl(ARCH_GET_FS, 0x7f0000001000)\n");
    script.push_str(
        "prctl(PR_SET_SECCOMP, 1)\nset_tid_address(NULL)\nunshare(CLONE_FS)\n\
         munmap(0, 1099511627776)\ngetpid()\n",
    );
    let out = sysgate(&["run", "-"], script.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let refusal = |call: &str, why: &str| {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(call))
            .unwrap_or_else(|| panic!("no line for {call}: {stdout}"));
        let want = "= -1 EPERM (Operation not permitted) (refused by the executor: ";
        assert!(line.contains(want) && line.contains(why), "{line}");
    };
    #[cfg(target_arch = "x86_64")]
    refusal("arch_prctl(ARCH_SET_FS, 0)", "TLS");
    refusal("prctl(PR_SET_SECCOMP, 1)", "seccomp filter");
    refusal("set_tid_address(NULL)", "pthread");
    refusal("unshare(CLONE_FS)", "working directory");
    let pid = stdout.lines().last().unwrap();
    assert!(
        pid.starts_with("getpid() = "),
        "the shell went on: {stdout}"
    );
    // Raw addresses the call would write through, or mappings it would
    // change: refused before submission, with the argument named.
    let stderr = text(&out.stderr);
    #[cfg(target_arch = "x86_64")]
    assert!(
        stderr.contains("argument 2 (`addr`) of arch_prctl is an address"),
        "{stderr}"
    );
    assert!(
        stderr.contains("munmap changes this program's memory mappings"),
        "{stderr}"
    );
}

#[test]
fn timing_shows_where_each_call_ran() {
    let out = sysgate(
        &["repl"],
        b":set timing on\ngetpid()\nnanosleep({tv_sec=0, tv_nsec=20000000}, NULL)\n:set timing off\ngetpid()\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    let timing = |line: &str| -> (String, f64) {
        let open = line.rfind(" <").expect("timing");
        let inner = line[open + 2..].trim_end_matches('>');
        let (place, secs) = inner.split_once(' ').expect("place and time");
        (place.to_owned(), secs.parse().expect("seconds"))
    };
    assert_eq!(timing(lines[0]).0, "inline");
    assert_eq!(timing(lines[1]).0, "pool");
    // The time shown is the call's: a 20 ms sleep cannot take less.
    assert!(timing(lines[1]).1 >= 0.020, "{}", lines[1]);
    assert!(!lines[2].contains('<'), "{}", lines[2]);
}

#[test]
fn quit_ends_a_script_and_commands_print_nothing() {
    let out = sysgate(
        &["repl"],
        b":set strsize 8\n:set verbose on\n# comment\n\ngetppid()\n:quit\ngetppid()\n",
    );
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        format!("getppid() = {}\n", std::process::id())
    );
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn run_reports_a_missing_file_and_bad_arguments() {
    let out = sysgate(&["run", "/nonexistent/sysgate-script"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read /nonexistent/sysgate-script"));
    let out = sysgate(&["run"], b"");
    assert_eq!(out.status.code(), Some(2));
    let out = sysgate(&["repl", "--bogus"], b"");
    assert_eq!(out.status.code(), Some(2));
    let out = sysgate(&["repl", "--help"], b"");
    assert!(out.status.success());
    assert!(text(&out.stdout).starts_with("Usage: sysgate repl"));
}

/// 64 MiB of text: each 4 KiB page starts with its number (`page 00000042`).
fn pages_file(path: &std::path::Path) {
    let mut page = vec![b'.'; 4096];
    page[13] = b'\n';
    let mut data = Vec::with_capacity(64 << 20);
    for n in 0..(64 << 20) / 4096 {
        page[..13].copy_from_slice(format!("page {n:08}").as_bytes());
        data.extend_from_slice(&page);
    }
    std::fs::write(path, data).unwrap();
}

#[test]
fn a_64_mib_pread_and_pwrite_run_through_the_shell() {
    let tmp = TempDir::new("run-64");
    let input = tmp.path().join("in");
    let output = tmp.path().join("out");
    pages_file(&input);
    let script = format!(
        "$in = openat(AT_FDCWD, \"{}\", O_RDONLY)\n\
         pread64($in, buf, 67108864, 0)\n\
         pread64($in, buf, 67108864, 4096000)\n\
         $out = openat(AT_FDCWD, \"{}\", O_WRONLY|O_CREAT, 0600)\n\
         pwrite64($out, \"sysgate\"..., 67108864, 0)\n\
         close($out)\n\
         close($in)\n",
        input.display(),
        output.display()
    );
    let out = sysgate(&["run", "-"], script.as_bytes());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 7, "{stdout}");
    let read = |line: &str, offset: &str, data: &str, result: &str| {
        assert!(
            line.starts_with("pread64(")
                && line.contains(&format!("\"{data}\"..., 67108864, {offset}) = {result}")),
            "{line}"
        );
    };
    read(
        lines[1],
        "0",
        r"page 00000000\n..................",
        "67108864",
    );
    // A short read: 1,000 pages from the end of the file.
    read(
        lines[2],
        "4096000",
        r"page 00001000\n..................",
        "63012864",
    );
    assert!(
        lines[4].ends_with("\"sysgate\"..., 67108864, 0) = 67108864"),
        "{}",
        lines[4]
    );
    // strace's cut string is padded with zeros to the length written.
    let written = std::fs::read(&output).unwrap();
    assert_eq!(written.len(), 64 << 20);
    assert_eq!(&written[..7], b"sysgate");
    assert!(
        written[7..] == vec![0u8; written.len() - 7][..],
        "zeros after"
    );
}

/// As root: `setuid` in the shell reaches every thread that runs requests.
/// Before, a pool worker started earlier kept root, and a `mkdirat` it ran
/// after `setuid(65534)` succeeded in a root-only directory.
#[test]
fn setuid_in_the_shell_leaves_no_runner_with_root() {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return sysgate_testkit::skip(sysgate_testkit::Need::Root, "only root can give up root");
    }
    let dir = TempDir::new("setuid");
    let private = dir.path().join("root-only");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(private.join("secret"), b"x").unwrap();
    std::fs::set_permissions(
        private.join("secret"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let p = private.display();
    let sleep = "nanosleep({tv_sec=0, tv_nsec=20000000}, NULL)";
    let mkdirs = |tag: &str| {
        (0..8)
            .map(|i| format!("mkdirat(AT_FDCWD, \"{p}/{tag}{i}\", 0755)"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    // Workers started as root (pooled sleeps and mkdirats), then setuid,
    // then mkdirats in parallel on the pool and an open on the submitter.
    let script = format!(
        "{{ {sleep}; {sleep}; {sleep}; {} }}\nsetuid(65534)\ngetuid()\n{{ {} }}\n\
         openat(AT_FDCWD, \"{p}/secret\", O_RDONLY)\n",
        mkdirs("before"),
        mkdirs("after"),
    );
    let out = sysgate(&["run", "-"], script.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let of = |prefix: &str| -> Vec<&str> {
        lines
            .iter()
            .copied()
            .filter(|l| l.contains(prefix))
            .collect()
    };
    let before = of("/before");
    assert_eq!(before.len(), 8, "{stdout}");
    assert!(before.iter().all(|l| l.ends_with("= 0")), "{stdout}");
    assert!(of("setuid(65534)")[0].ends_with("= 0"), "{stdout}");
    assert_eq!(of("getuid()"), ["getuid() = 65534"], "{stdout}");
    let after = of("/after");
    assert_eq!(after.len(), 8, "{stdout}");
    let denied = "= -1 EACCES (Permission denied)";
    assert!(after.iter().all(|l| l.ends_with(denied)), "{stdout}");
    assert!(of("/secret")[0].ends_with(denied), "{stdout}");
    assert!(!private.join("after0").exists());
}
