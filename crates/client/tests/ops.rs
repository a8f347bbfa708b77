//! Every typed op against a real temporary directory, socket pair or pipe,
//! with its error cases.

mod common;

use std::ffi::OsStr;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::{Duration, Instant};
use sysgate_testkit::{Need, skip};

use common::{TempDir, pipe, socketpair};
use sysgate::{
    Batch, DirEntries, Errno, Error, Fd, Flags, Gateway, InvalidRequest, RawArg, Syscall, ops, raw,
};

fn errno(e: i32) -> Error {
    Error::Os(Errno::new(e))
}

fn gw() -> Gateway {
    Gateway::new().unwrap()
}

#[test]
fn open_read_write_close() {
    let gw = gw();
    let dir = TempDir::new("rw");
    let path = dir.join("f");
    let fd = gw
        .call(ops::OpenAt::new(Fd::CWD, &path, libc::O_RDWR | libc::O_CREAT).mode(0o600))
        .unwrap();
    let (n, back) = gw.call(ops::Write::new(&fd, b"hello world".to_vec()));
    assert_eq!((n.unwrap(), back.as_slice()), (11, &b"hello world"[..]));
    let (n, buf) = gw.call(ops::Pread::new(&fd, Vec::with_capacity(5), 6));
    assert_eq!((n.unwrap(), buf.as_slice()), (5, &b"world"[..]));
    let (n, _) = gw.call(ops::Pwrite::new(&fd, b"HELLO".to_vec(), 0));
    assert_eq!(n.unwrap(), 5);
    assert_eq!(std::fs::read(&path).unwrap(), b"HELLO world");
    // read follows the file offset (at the end after write).
    let (n, buf) = gw.call(ops::Read::new(&fd, Vec::with_capacity(16)));
    assert_eq!((n.unwrap(), buf.len()), (0, 0));
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    gw.call(ops::Close::owned(fd)).unwrap();

    // Errors: ENOENT, EBADF, EINVAL.
    let e = gw.call(ops::OpenAt::new(
        Fd::CWD,
        dir.join("missing"),
        libc::O_RDONLY,
    ));
    assert_eq!(e.unwrap_err(), errno(libc::ENOENT));
    let (e, buf) = gw.call(ops::Read::new(-1, vec![7; 3]));
    assert_eq!((e.unwrap_err(), buf), (errno(libc::EBADF), vec![7; 3]));
    assert_eq!(
        gw.call(ops::Close::new(-1)).unwrap_err(),
        errno(libc::EBADF)
    );
    let e = gw.call(ops::OpenAt::new(Fd::CWD, "a\0b", libc::O_RDONLY));
    assert_eq!(
        e.unwrap_err(),
        Error::Invalid(InvalidRequest::NulInString { arg: 1 })
    );
    let fd = gw
        .call(ops::OpenAt::new(Fd::CWD, &path, libc::O_RDONLY))
        .unwrap();
    let (e, _) = gw.call(ops::Pread::new(&fd, Vec::with_capacity(4), -1));
    assert_eq!(e.unwrap_err(), errno(libc::EINVAL));
}

#[test]
fn openat2_resolves_beneath() {
    let gw = gw();
    let dir = TempDir::new("o2");
    std::fs::write(dir.join("x"), b"x").unwrap();
    let d = gw
        .call(ops::OpenAt::new(Fd::CWD, dir.path(), libc::O_DIRECTORY))
        .unwrap();
    let how = |resolve| ops::OpenHow {
        flags: libc::O_RDONLY as u64,
        mode: 0,
        resolve,
    };
    match gw.call(ops::OpenAt2::new(&d, "x", how(0))) {
        Err(Error::Os(e)) if e.raw() == libc::ENOSYS => {
            return skip(Need::Kernel, "openat2 is not available on this kernel");
        }
        r => drop(r.unwrap()),
    }
    let e = gw.call(ops::OpenAt2::new(&d, "../x", how(libc::RESOLVE_BENEATH)));
    assert_eq!(e.unwrap_err(), errno(libc::EXDEV));
    let e = gw.call(ops::OpenAt2::new(
        &d,
        "x",
        ops::OpenHow {
            flags: 1 << 40,
            ..how(0)
        },
    ));
    assert_eq!(e.unwrap_err(), errno(libc::EINVAL));
}

#[test]
fn vectored_io() {
    let gw = gw();
    let dir = TempDir::new("vec");
    let fd = gw
        .call(ops::OpenAt::new(
            Fd::CWD,
            dir.join("v"),
            libc::O_RDWR | libc::O_CREAT,
        ))
        .unwrap();
    let (n, bufs) = gw.call(ops::Writev::new(
        &fd,
        vec![b"abc".to_vec(), b"defgh".to_vec()],
    ));
    assert_eq!((n.unwrap(), bufs.len()), (8, 2));
    let (n, bufs) = gw.call(ops::Writev::new(-1, vec![b"x".to_vec()]));
    assert_eq!(
        (n.unwrap_err(), bufs),
        (errno(libc::EBADF), vec![b"x".to_vec()])
    );
    let f = std::fs::File::open(dir.join("v")).unwrap();
    let (n, bufs) = gw.call(ops::Readv::new(
        &f,
        vec![Vec::with_capacity(2), Vec::with_capacity(10)],
    ));
    assert_eq!(n.unwrap(), 8);
    assert_eq!(bufs, vec![b"ab".to_vec(), b"cdefgh".to_vec()]);
    let (n, _) = gw.call(ops::Readv::new(-1, vec![Vec::with_capacity(1)]));
    assert_eq!(n.unwrap_err(), errno(libc::EBADF));
}

#[test]
fn stat_and_directories() {
    let gw = gw();
    let dir = TempDir::new("stat");
    std::fs::write(dir.join("file"), vec![1u8; 1234]).unwrap();
    let meta = std::fs::metadata(dir.join("file")).unwrap();
    let stx = gw
        .call(ops::StatxOp::new(Fd::CWD, dir.join("file"), 0))
        .unwrap();
    assert_eq!(
        (stx.size, stx.ino, u32::from(stx.mode)),
        (1234, meta.ino(), meta.mode())
    );
    assert_eq!(stx.mtime.sec, meta.mtime());
    assert!(!stx.is_dir());
    let e = gw.call(ops::StatxOp::new(Fd::CWD, dir.join("nope"), 0));
    assert_eq!(e.unwrap_err(), errno(libc::ENOENT));
    let e = gw.call(ops::StatxOp::new(Fd::CWD, dir.join("file"), -1));
    assert_eq!(e.unwrap_err(), errno(libc::EINVAL));

    let f = std::fs::File::open(dir.join("file")).unwrap();
    let st = gw.call(ops::Fstat::new(&f)).unwrap();
    assert_eq!(
        (st.size, st.ino, st.mode, st.nlink),
        (1234, meta.ino(), meta.mode(), 1)
    );
    assert_eq!(
        gw.call(ops::Fstat::new(-1)).unwrap_err(),
        errno(libc::EBADF)
    );

    gw.call(ops::MkdirAt::new(Fd::CWD, dir.join("sub"), 0o755))
        .unwrap();
    let e = gw.call(ops::MkdirAt::new(Fd::CWD, dir.join("sub"), 0o755));
    assert_eq!(e.unwrap_err(), errno(libc::EEXIST));
    let d = gw
        .call(ops::OpenAt::new(Fd::CWD, dir.path(), libc::O_DIRECTORY))
        .unwrap();
    let (n, buf) = gw.call(ops::Getdents64::new(&d, Vec::with_capacity(4096)));
    assert!(n.unwrap() > 0);
    let mut names: Vec<_> = DirEntries::new(&buf)
        .filter(|e| !e.is_dot())
        .map(|e| (e.name.to_owned(), e.kind))
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![("file".into(), libc::DT_REG), ("sub".into(), libc::DT_DIR)]
    );
    let (n, _) = gw.call(ops::Getdents64::new(&d, Vec::with_capacity(4096)));
    assert_eq!(n.unwrap(), 0, "end of directory");
    let (n, _) = gw.call(ops::Getdents64::new(&f, Vec::with_capacity(4096)));
    assert_eq!(n.unwrap_err(), errno(libc::ENOTDIR));
    let d = gw
        .call(ops::OpenAt::new(Fd::CWD, dir.path(), libc::O_DIRECTORY))
        .unwrap();
    let (n, _) = gw.call(ops::Getdents64::new(&d, Vec::with_capacity(1)));
    assert_eq!(n.unwrap_err(), errno(libc::EINVAL), "buffer too small");
}

#[test]
fn names_links_and_attributes() {
    let gw = gw();
    let dir = TempDir::new("names");
    let d = gw
        .call(ops::OpenAt::new(Fd::CWD, dir.path(), libc::O_DIRECTORY))
        .unwrap();
    std::fs::write(dir.join("a"), b"a").unwrap();
    gw.call(ops::RenameAt2::new(&d, "a", &d, "b", 0)).unwrap();
    std::fs::write(dir.join("c"), b"c").unwrap();
    let e = gw.call(ops::RenameAt2::new(
        &d,
        "c",
        &d,
        "b",
        libc::RENAME_NOREPLACE,
    ));
    assert_eq!(e.unwrap_err(), errno(libc::EEXIST));
    let e = gw.call(ops::RenameAt2::new(&d, "zz", &d, "b", 0));
    assert_eq!(e.unwrap_err(), errno(libc::ENOENT));

    gw.call(ops::SymlinkAt::new("b", &d, "link")).unwrap();
    let (n, target) = gw.call(ops::ReadlinkAt::new(&d, "link", Vec::with_capacity(64)));
    assert_eq!((n.unwrap(), target.as_slice()), (1, &b"b"[..]));
    let (n, _) = gw.call(ops::ReadlinkAt::new(&d, "b", Vec::with_capacity(64)));
    assert_eq!(n.unwrap_err(), errno(libc::EINVAL), "not a link");
    let e = gw.call(ops::SymlinkAt::new("b", &d, "link"));
    assert_eq!(e.unwrap_err(), errno(libc::EEXIST));

    gw.call(ops::FchmodAt::new(&d, "b", 0o640)).unwrap();
    assert_eq!(
        std::fs::metadata(dir.join("b"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o640
    );
    let e = gw.call(ops::FchmodAt::new(&d, "nope", 0o640));
    assert_eq!(e.unwrap_err(), errno(libc::ENOENT));
    let me = (
        std::fs::metadata(dir.join("b")).unwrap().uid(),
        std::fs::metadata(dir.join("b")).unwrap().gid(),
    );
    gw.call(ops::FchownAt::new(
        &d,
        "b",
        me.0,
        ops::FchownAt::UNCHANGED,
        0,
    ))
    .unwrap();
    let e = gw.call(ops::FchownAt::new(&d, "b", 0, 0, -1));
    assert_eq!(e.unwrap_err(), errno(libc::EINVAL));

    let t = sysgate::Timespec {
        sec: 1_000_000,
        nsec: 5,
    };
    gw.call(ops::UtimensAt::new(
        &d,
        Some(OsStr::new("b")),
        Some([t, t]),
        0,
    ))
    .unwrap();
    assert_eq!(std::fs::metadata(dir.join("b")).unwrap().mtime(), 1_000_000);
    let bad = sysgate::Timespec {
        sec: 0,
        nsec: 2_000_000_000,
    };
    let e = gw.call(ops::UtimensAt::new(
        &d,
        Some(OsStr::new("b")),
        Some([bad, bad]),
        0,
    ));
    assert_eq!(e.unwrap_err(), errno(libc::EINVAL));
    let f = std::fs::File::open(dir.join("b")).unwrap();
    gw.call(ops::UtimensAt::new(&f, None, None, 0)).unwrap();

    match gw.call(ops::Setxattr::new(
        dir.join("b"),
        "user.sysgate",
        b"v1".to_vec(),
        0,
    )) {
        Err(Error::Os(e)) if e.raw() == libc::EOPNOTSUPP => {
            skip(Need::Kernel, "the temp file system has no user xattrs");
        }
        r => {
            r.unwrap();
            let (n, v) = gw.call(ops::Getxattr::new(
                dir.join("b"),
                "user.sysgate",
                Vec::with_capacity(16),
            ));
            assert_eq!((n.unwrap(), v.as_slice()), (2, &b"v1"[..]));
            let (n, _) = gw.call(ops::Getxattr::new(
                dir.join("b"),
                "user.sysgate",
                Vec::new(),
            ));
            assert_eq!(n.unwrap(), 2, "capacity 0 asks for the size");
            let (n, _) = gw.call(ops::Getxattr::new(
                dir.join("b"),
                "user.nope",
                Vec::with_capacity(16),
            ));
            assert_eq!(n.unwrap_err(), errno(libc::ENODATA));
            let e = gw.call(ops::Setxattr::new(
                dir.join("b"),
                "user.sysgate",
                b"v".to_vec(),
                libc::XATTR_CREATE,
            ));
            assert_eq!(e.unwrap_err(), errno(libc::EEXIST));
        }
    }

    gw.call(ops::UnlinkAt::new(&d, "link", 0)).unwrap();
    gw.call(ops::MkdirAt::new(&d, "dir", 0o700)).unwrap();
    let e = gw.call(ops::UnlinkAt::new(&d, "dir", 0));
    assert_eq!(e.unwrap_err(), errno(libc::EISDIR));
    gw.call(ops::UnlinkAt::new(&d, "dir", libc::AT_REMOVEDIR))
        .unwrap();
    let e = gw.call(ops::UnlinkAt::new(&d, "dir", libc::AT_REMOVEDIR));
    assert_eq!(e.unwrap_err(), errno(libc::ENOENT));
}

#[test]
fn sync_and_space() {
    let gw = gw();
    let dir = TempDir::new("sync");
    let fd = gw
        .call(ops::OpenAt::new(
            Fd::CWD,
            dir.join("s"),
            libc::O_RDWR | libc::O_CREAT,
        ))
        .unwrap();
    gw.call(ops::Fallocate::new(&fd, 0, 0, 8192)).unwrap();
    assert_eq!(gw.call(ops::Fstat::new(&fd)).unwrap().size, 8192);
    gw.call(ops::Ftruncate::new(&fd, 100)).unwrap();
    assert_eq!(gw.call(ops::Fstat::new(&fd)).unwrap().size, 100);
    gw.call(ops::Fsync::new(&fd)).unwrap();
    gw.call(ops::Fdatasync::new(&fd)).unwrap();
    let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
        | libc::SYNC_FILE_RANGE_WRITE
        | libc::SYNC_FILE_RANGE_WAIT_AFTER;
    gw.call(ops::SyncFileRange::new(&fd, 0, 0, flags)).unwrap();
    let e = gw.call(ops::SyncFileRange::new(&fd, 0, 0, 0x80));
    assert_eq!(e.unwrap_err(), errno(libc::EINVAL));
    assert_eq!(
        gw.call(ops::Ftruncate::new(&fd, -1)).unwrap_err(),
        errno(libc::EINVAL)
    );
    assert_eq!(
        gw.call(ops::Fallocate::new(&fd, 0, 0, 0)).unwrap_err(),
        errno(libc::EINVAL)
    );
    assert_eq!(
        gw.call(ops::Fsync::new(-1)).unwrap_err(),
        errno(libc::EBADF)
    );
    assert_eq!(
        gw.call(ops::Fdatasync::new(-1)).unwrap_err(),
        errno(libc::EBADF)
    );
}

#[test]
fn sockets() {
    let gw = gw();
    let (a, b) = socketpair();
    // The receive is submitted first: it parks until the send arrives.
    let recv = gw.submit(ops::Recv::new(&b, Vec::with_capacity(64), 0));
    let (n, _) = gw.call(ops::Send::new(&a, b"ping".to_vec(), 0));
    assert_eq!(n.unwrap(), 4);
    let (n, buf) = recv.wait();
    assert_eq!((n.unwrap(), buf.as_slice()), (4, &b"ping"[..]));

    let (n, _) = gw.call(ops::SendMsg::new(
        &a,
        vec![b"he".to_vec(), b"llo".to_vec()],
        0,
    ));
    assert_eq!(n.unwrap(), 5);
    let (n, bufs) = gw.call(ops::RecvMsg::new(
        &b,
        vec![Vec::with_capacity(1), Vec::with_capacity(8)],
        0,
    ));
    assert_eq!(n.unwrap(), 5);
    assert_eq!(bufs, vec![b"h".to_vec(), b"ello".to_vec()]);
    let (n, _) = gw.call(ops::Recv::new(
        &b,
        Vec::with_capacity(8),
        libc::MSG_DONTWAIT,
    ));
    assert_eq!(n.unwrap_err(), errno(libc::EAGAIN));
    let (n, _) = gw.call(ops::Send::new(-1, b"x".to_vec(), 0));
    assert_eq!(n.unwrap_err(), errno(libc::EBADF));
    let (n, _) = gw.call(ops::RecvMsg::new(-1, vec![Vec::with_capacity(1)], 0));
    assert_eq!(n.unwrap_err(), errno(libc::EBADF));
    let (n, _) = gw.call(ops::SendMsg::new(&a, vec![b"x".to_vec()], -1));
    assert!(n.is_err());

    // accept4 + connect over TCP on loopback.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = gw.submit(ops::Accept4::new(&listener, 0));
    let client = std::os::fd::OwnedFd::from(std::net::TcpStream::connect(addr).unwrap());
    let (conn, peer) = accept.wait().unwrap();
    assert_eq!(peer.to_socket_addr().unwrap().ip(), addr.ip());
    let (n, _) = gw.call(ops::Send::new(&client, b"tcp".to_vec(), 0));
    assert_eq!(n.unwrap(), 3);
    let (n, buf) = gw.call(ops::Recv::new(&conn, Vec::with_capacity(8), 0));
    assert_eq!((n.unwrap(), buf.as_slice()), (3, &b"tcp"[..]));
    let e = gw.call(ops::Accept4::new(&a, 0));
    assert_eq!(e.unwrap_err(), errno(libc::EINVAL), "not listening");

    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    gw.call(ops::Connect::new(&sock, peer.local_addr().unwrap()))
        .unwrap();
    assert_eq!(sock.peer_addr().unwrap(), peer.local_addr().unwrap());
    let bad = sysgate::SockAddr::from_bytes(vec![0xff, 0xff, 0, 0]);
    let e = gw.call(ops::Connect::new(&sock, bad));
    assert!(matches!(e, Err(Error::Os(_))));
}

#[test]
fn sleeping_timers_nop_and_cancel() {
    let gw = gw();
    let t = Instant::now();
    gw.call(ops::Nanosleep::new(Duration::from_millis(20)))
        .unwrap();
    assert!(t.elapsed() >= Duration::from_millis(20));
    let t = Instant::now();
    gw.call(ops::Timeout::new(Duration::from_millis(20)))
        .unwrap();
    assert!(t.elapsed() >= Duration::from_millis(20));
    gw.call(ops::Nop).unwrap();

    let (r, _w) = pipe();
    let pending = gw.submit(ops::Read::new(&r, Vec::with_capacity(8)));
    assert_eq!(gw.call(ops::Cancel::request(pending.id())).unwrap(), 0);
    let (n, _) = pending.wait();
    assert_eq!(n.unwrap_err(), errno(libc::ECANCELED));
    let gone = pending_id_of_completed(&gw);
    assert_eq!(
        gw.call(ops::Cancel::request(gone)).unwrap_err(),
        errno(libc::ENOENT)
    );
    let p1 = gw.submit(ops::Read::new(&r, Vec::with_capacity(8)));
    let p2 = gw.submit(ops::Read::new(&r, Vec::with_capacity(8)));
    assert_eq!(gw.call(ops::Cancel::fd(r.as_raw_fd())).unwrap(), 2);
    assert_eq!(p1.wait().0.unwrap_err(), errno(libc::ECANCELED));
    assert_eq!(p2.wait().0.unwrap_err(), errno(libc::ECANCELED));
}

fn pending_id_of_completed(gw: &Gateway) -> sysgate::RequestId {
    let f = gw.submit(ops::Nop);
    let id = f.id();
    f.wait().unwrap();
    id
}

#[test]
fn raw_syscalls_by_number_and_name() {
    let gw = gw();
    let out = gw.call(raw(libc::SYS_getppid as u32, [])).unwrap();
    assert_eq!(out.value, i64::from(std::os::unix::process::parent_id()));
    let dir = TempDir::new("raw");
    std::fs::write(dir.join("f"), b"f").unwrap();
    let chmod = Syscall::by_name("fchmodat")
        .unwrap()
        .arg(libc::AT_FDCWD)
        .arg(RawArg::path(dir.join("f")).unwrap())
        .arg(0o600u32);
    gw.call(chmod).unwrap();
    assert_eq!(
        std::fs::metadata(dir.join("f")).unwrap().mode() & 0o777,
        0o600
    );
    let uname = gw
        .call(Syscall::by_name("uname").unwrap().arg(RawArg::Out(390)))
        .unwrap();
    assert!(uname.outputs[0].starts_with(b"Linux"));

    assert!(matches!(
        Syscall::by_name("no_such_call"),
        Err(Error::Invalid(InvalidRequest::UnknownSyscall(_)))
    ));
    // A pointer passed as a number is refused, not run.
    let e = gw.call(raw(
        libc::SYS_read as u32,
        [RawArg::Imm(0), RawArg::Imm(0x1000), RawArg::Imm(1)],
    ));
    assert!(matches!(
        e,
        Err(Error::Invalid(InvalidRequest::PointerImmediate {
            arg: 1,
            ..
        }))
    ));
    let e = gw.call(raw(libc::SYS_getpid as u32, (0..7).map(|_| RawArg::Imm(0))));
    assert!(matches!(
        e,
        Err(Error::Invalid(InvalidRequest::TooManyArgs(7)))
    ));
    // Calls without a signature need raw_ptr; forbidden calls are refused
    // by the executor.
    let e = gw.call(raw(libc::SYS_fork as u32, []));
    assert!(
        matches!(e, Err(Error::Invalid(InvalidRequest::NoSignature(_)))),
        "{e:?}"
    );
    let e = gw.call(raw(
        libc::SYS_execve as u32,
        [0u64.into(), 0u64.into(), 0u64.into()],
    ));
    assert!(matches!(e, Err(Error::Refused(_))), "{e:?}");

    // raw_ptr: the caller vouches for the pointer.
    let mut word = [0u8; 8];
    // SAFETY: `word` outlives the call, which completes before `call`
    // returns; getrandom writes at most 8 bytes.
    let r = gw.call(unsafe {
        sysgate::raw_ptr(
            libc::SYS_getrandom as u32,
            [word.as_mut_ptr() as u64, 8, 0, 0, 0, 0],
        )
    });
    assert_eq!(r.unwrap().value, 8);
}

#[test]
fn batches_and_links() {
    let gw = gw();
    let dir = TempDir::new("batch");
    std::fs::write(dir.join("f"), b"contents").unwrap();
    let mut b = Batch::new();
    let open = b.push(ops::OpenAt::new(Fd::CWD, dir.join("f"), libc::O_RDONLY));
    let read = b.then(ops::Read::new(open.fd(), Vec::with_capacity(8)));
    let close = b.then(ops::Close::new(open.fd()));
    let nop = b.push(ops::Nop);
    let mut done = gw.run(b);
    let (n, buf) = done.take(read).unwrap();
    assert_eq!((n.unwrap(), buf.as_slice()), (8, &b"contents"[..]));
    done.take(close).unwrap().unwrap();
    done.take(nop).unwrap().unwrap();
    assert!(
        done.take(open).is_none(),
        "closed by the chain: not handed out"
    );
    assert!(done.take(read).is_none(), "taken already");

    // A short read breaks a link (io_uring's rule): the close after it is
    // cancelled, so the opened descriptor is handed out; a hard link runs
    // whatever happened.
    let mut b = Batch::new();
    let open = b.push(ops::OpenAt::new(Fd::CWD, dir.join("f"), libc::O_RDONLY));
    let read = b.then(ops::Read::new(open.fd(), Vec::with_capacity(64)));
    let close = b.then(ops::Close::new(open.fd()));
    let mut done = gw.run(b);
    assert_eq!(done.take(read).unwrap().0.unwrap(), 8);
    assert_eq!(
        done.take(close).unwrap().unwrap_err(),
        errno(libc::ECANCELED)
    );
    let fd = done.take(open).unwrap().unwrap();
    assert_eq!(gw.call(ops::Fstat::new(&fd)).unwrap().size, 8);
    drop(fd);
    let mut b = Batch::new();
    let open = b.push(ops::OpenAt::new(Fd::CWD, dir.join("f"), libc::O_RDONLY));
    b.then(ops::Read::new(open.fd(), Vec::with_capacity(64)));
    let close = b.hardlink(ops::Close::new(open.fd()));
    let mut done = gw.run(b);
    done.take(close).unwrap().unwrap();

    // A failing head cancels the rest of its chain; a hard link carries on.
    let mut b = Batch::new();
    let open = b.push(ops::OpenAt::new(
        Fd::CWD,
        dir.join("missing"),
        libc::O_RDONLY,
    ));
    let read = b.then(ops::Read::new(open.fd(), Vec::with_capacity(8)));
    let fail = b.push(ops::Close::new(-1));
    let nop = b.hardlink(ops::Nop);
    let mut done = gw.run(b);
    assert_eq!(done.take(open).unwrap().unwrap_err(), errno(libc::ENOENT));
    assert_eq!(
        done.take(read).unwrap().0.unwrap_err(),
        errno(libc::ECANCELED)
    );
    assert_eq!(done.take(fail).unwrap().unwrap_err(), errno(libc::EBADF));
    done.take(nop).unwrap().unwrap();

    // openat → read → write → close: the write sends what the read read
    // (resolved by the executor), to a pipe.
    let (r, w) = pipe();
    let mut b = Batch::new();
    let open = b.push(ops::OpenAt::new(Fd::CWD, dir.join("f"), libc::O_RDONLY));
    let read = b.then(ops::Read::new(open.fd(), Vec::with_capacity(8)));
    let write = b.then(ops::Write::linked(&w, read));
    b.hardlink(ops::Close::new(open.fd()));
    let mut done = gw.run(b);
    assert_eq!(done.take(write).unwrap().0.unwrap(), 8);
    let (n, buf) = gw.call(ops::Read::new(&r, Vec::with_capacity(16)));
    assert_eq!((n.unwrap(), buf.as_slice()), (8, &b"contents"[..]));
    // Its source must be earlier in the same chain.
    let mut b = Batch::new();
    let read = b.push(ops::Read::new(&r, Vec::with_capacity(8)));
    let write = b.push(ops::Write::linked(&w, read));
    let e = gw.run(b).take(write).unwrap().0.unwrap_err();
    assert_eq!(
        e,
        Error::Invalid(InvalidRequest::ResultOutsideChain { op: 1, names: 0 })
    );

    // Results of ops outside the chain cannot be used.
    let mut b = Batch::new();
    let open = b.push(ops::OpenAt::new(Fd::CWD, dir.join("f"), libc::O_RDONLY));
    let read = b.push(ops::Read::new(open.fd(), Vec::with_capacity(8)));
    let mut done = gw.run(b);
    let e = done.take(read).unwrap().0.unwrap_err();
    assert_eq!(
        e,
        Error::Invalid(InvalidRequest::ResultOutsideChain { op: 1, names: 0 })
    );
    let mut b = Batch::new();
    let first = b.then(ops::Nop);
    assert!(matches!(
        gw.run(b).take(first).unwrap(),
        Err(Error::Invalid(InvalidRequest::LinkWithoutPrevious))
    ));

    // ASYNC goes through the pool.
    let before = gw.stats().punted_bounded + gw.stats().punted_unbounded;
    let mut b = Batch::new();
    let h: Vec<_> = (0..8)
        .map(|_| b.push_with(raw(libc::SYS_getppid as u32, []), Flags::ASYNC))
        .collect();
    let mut done = gw.run(b);
    for h in h {
        assert!(done.take(h).unwrap().unwrap().value > 0);
    }
    assert_eq!(
        gw.stats().punted_bounded + gw.stats().punted_unbounded - before,
        8
    );
}

#[test]
fn shared_pool_between_gateways() {
    let a = Gateway::builder()
        .max_bounded(2)
        .max_unbounded(4)
        .idle_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let b = Gateway::builder().share_pool(&a).build().unwrap();
    let f1 = a.submit(ops::Nanosleep::new(Duration::from_millis(10)));
    let f2 = b.submit(ops::Nanosleep::new(Duration::from_millis(10)));
    f1.wait().unwrap();
    f2.wait().unwrap();
    assert_eq!(a.pool().stats(), b.pool().stats());
    let polling = Gateway::builder()
        .sq_poll(Some(Duration::from_millis(1)))
        .build()
        .unwrap();
    let ppid = polling.call(raw(libc::SYS_getppid as u32, [])).unwrap();
    // SAFETY: getppid has no preconditions.
    assert_eq!(ppid.value, i64::from(unsafe { libc::getppid() }));
    assert_eq!(polling.stats().inline, 1, "run by the polling thread");
}
