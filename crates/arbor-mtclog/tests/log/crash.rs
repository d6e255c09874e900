//! kill -9: a child process (this test binary re-executed) runs a log on the
//! filesystem backends and submits continuously, printing every answer it gets;
//! the parent SIGKILLs it at varying moments, then checks the whole log (no
//! fork, no rewind) and that every answered entry is stored at the index the
//! child was told.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use arbor_mtclog::{FileLock, FsStorage, IssuanceLog, LogError, SystemClock};

use crate::common::*;

const DIR_VAR: &str = "ARBOR_MTCLOG_CRASH_DIR";

/// The child: runs only when re-executed by the parent with `DIR_VAR` set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child() {
    let Some(dir) = std::env::var_os(DIR_VAR) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let mut cfg = config();
    cfg.sequence_interval = Duration::from_millis(3);
    let storage = Arc::new(FsStorage::new(dir.join("objects")).unwrap());
    let lock = Arc::new(FileLock::open(dir.join("lock")).unwrap());
    let log = match IssuanceLog::open(
        cfg.clone(),
        keys(&cfg),
        storage.clone(),
        lock.clone(),
        Arc::new(SystemClock),
    )
    .await
    {
        Err(LogError::NotCreated) => IssuanceLog::create(
            cfg.clone(),
            keys(&cfg),
            storage,
            lock,
            Arc::new(SystemClock),
        )
        .await
        .unwrap(),
        r => r.unwrap(),
    };
    let pid = std::process::id();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    for t in 0..8 {
        let (log, tx) = (log.clone(), tx.clone());
        tokio::spawn(async move {
            for i in 0.. {
                let e = format!("p{pid}-t{t}-{i}");
                if let Ok(s) = log.submit(e.clone().into_bytes()).await {
                    let _ = tx.send(format!("{} {e}\n", s.index));
                }
            }
        });
    }
    drop(tx);
    let mut out = std::io::stdout().lock();
    while let Some(line) = rx.recv().await {
        out.write_all(line.as_bytes()).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn kill_9_loses_nothing_answered() {
    if std::env::var_os(DIR_VAR).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = config();
    let exe = std::env::current_exe().unwrap();
    let mut prev = None;
    let mut answered: Vec<(u64, String)> = Vec::new();
    let mut recovered = 0u64;
    let mut staged = 0u64;
    for (run, delay_ms) in [150u64, 40, 260, 90, 5, 200].into_iter().enumerate() {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash::crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_VAR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| {
                    let (i, e) = l.split_once(' ')?;
                    Some((i.parse::<u64>().ok()?, e.to_owned()))
                })
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(300 + delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        answered.extend(reader.join().unwrap());

        // The parent takes over the same directories (the OS lock died with
        // the child): open (recovering a staged round if the kill hit between
        // the lock CAS and publishing), then check the whole log.
        {
            let storage = FsStorage::new(dir.path().join("objects")).unwrap();
            let lock = FileLock::open(dir.path().join("lock")).unwrap();
            let size = |b: Vec<u8>| {
                arbor_tlog::checkpoint::open_checkpoint(&b, &[&log_verifier(&cfg)])
                    .unwrap()
                    .0
                    .size
            };
            let locked = arbor_mtclog::LockBackend::load(&lock).unwrap().map(size);
            let public = arbor_mtclog::LogStorage::get(&storage, "checkpoint")
                .unwrap()
                .map(size);
            staged += u64::from(locked > public);
        }
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let storage = Arc::new(FsStorage::new(dir.path().join("objects")).unwrap());
            let lock = Arc::new(FileLock::open(dir.path().join("lock")).unwrap());
            IssuanceLog::open(
                cfg.clone(),
                keys(&cfg),
                storage,
                lock,
                Arc::new(SystemClock),
            )
            .await
            .unwrap_or_else(|e| panic!("run {run}: reopen: {e}"));
        });
        drop(rt);
        let storage = FsStorage::new(dir.path().join("objects")).unwrap();
        // The reopened log's last clone of its lock may still be dropping on a blocking
        // thread of the runtime just shut down (seen once on a loaded 2-core machine).
        let lock = {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            loop {
                match FileLock::open(dir.path().join("lock")) {
                    Ok(l) => break l,
                    Err(e) if std::time::Instant::now() < deadline => {
                        let _ = e;
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => panic!("run {run}: lock still held: {e}"),
                }
            }
        };
        let (cp, all) =
            arbor_mtclog::check_log(&storage, &lock, &log_verifier(&cfg), prev.as_ref())
                .unwrap_or_else(|e| panic!("run {run}: {e}"));
        for (i, e) in &answered {
            assert!(
                *i < cp.size,
                "run {run}: answered index {i} beyond size {}",
                cp.size
            );
            assert_eq!(all[*i as usize], e.as_bytes(), "run {run}: entry {i}");
        }
        if let Some(p) = &prev {
            recovered += u64::from(cp.size > p.size);
        }
        prev = Some(cp);
    }
    assert!(!answered.is_empty(), "the child never got an answer");
    let last = prev.map_or(0, |c| c.size);
    println!(
        "kill -9 x6: {} answered entries, final size {last}, {recovered} runs grew the log, \
         {staged} kills landed between the lock CAS and publishing",
        answered.len()
    );
}
