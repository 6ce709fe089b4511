//! Test helpers: the shared Redis at `REDIS_URL`, fresh prefixes, and redis-server
//! processes of our own (single servers and a 3-master cluster) that die with the test
//! binary.
#![allow(dead_code, unreachable_pub)] // Each test binary uses a different part.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

pub mod cache;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use auth_core::SessionId;
use store_redis::RedisConnection;

/// The Redis the tests use, from `REDIS_URL` (default `redis://127.0.0.1:6379`).
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A connection to the Redis at `REDIS_URL`; fails the test, naming Redis and the
/// variable, if that Redis does not answer.
pub async fn connection() -> RedisConnection {
    let url = redis_url();
    let client = redis::Client::open(url.as_str())
        .unwrap_or_else(|e| panic!("REDIS_URL={url} is not a valid Redis URL: {e}"));
    let ping = async {
        let mut c = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut c).await
    };
    match tokio::time::timeout(Duration::from_secs(3), ping).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => panic!(
            "Redis is not reachable at {url} ({e}); start redis-server or set REDIS_URL to a running one"
        ),
        Err(_) => panic!(
            "Redis at {url} did not answer PING within 3 s; start redis-server or set REDIS_URL to a running one"
        ),
    }
    RedisConnection::connect(&url).await.unwrap()
}

/// A key prefix no other test uses.
pub fn fresh_prefix() -> String {
    let id = SessionId::generate().unwrap();
    format!("test-{}", &id.key().to_hex()[..16])
}

/// A loopback port that is free now, and whose cluster bus port (+10000) is free too.
pub fn free_port() -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        if port > 55_000 {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

/// Starts `redis-server` on `port` in `dir` with `extra` arguments, under a watchdog shell
/// that SIGKILLs it as soon as this test process is gone (so no server outlives the tests)
/// and then removes `dir`.
pub fn spawn_server(dir: &Path, port: u16, extra: &[&str]) {
    let mut args = vec![
        "--port".to_owned(),
        port.to_string(),
        "--bind".to_owned(),
        "127.0.0.1".to_owned(),
        "--dir".to_owned(),
        dir.display().to_string(),
        "--daemonize".to_owned(),
        "no".to_owned(),
        "--logfile".to_owned(),
        format!("redis-{port}.log"),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let script = format!(
        "redis-server {} & s=$!; \
         while kill -0 {parent} 2>/dev/null && kill -0 $s 2>/dev/null; do sleep 0.2; done; \
         kill -KILL $s 2>/dev/null; wait $s 2>/dev/null; \
         kill -0 {parent} 2>/dev/null || rm -rf '{dir}'",
        quoted.join(" "),
        parent = std::process::id(),
        dir = dir.display(),
    );
    let mut watchdog = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sh and redis-server must be installed");
    // Reaps the watchdog whenever it ends (with its server).
    std::thread::spawn(move || watchdog.wait());
    wait_until(Duration::from_secs(10), || {
        cli(port, &["PING"]).is_some_and(|out| out.trim() == "PONG")
    })
    .unwrap_or_else(|| panic!("redis-server on port {port} did not start"));
}

/// Runs `redis-cli -p port args...`; its stdout if it succeeded.
pub fn cli(port: u16, args: &[&str]) -> Option<String> {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The pid of the redis-server on `port`.
pub fn server_pid(port: u16) -> u32 {
    let info = cli(port, &["INFO", "server"]).expect("INFO server");
    info.lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|p| p.trim().parse().ok())
        .expect("process_id in INFO")
}

/// Sends `signal` (`STOP`, `CONT`, `KILL`) to `pid`.
pub fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// Polls `check` every 50 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> Option<()> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return Some(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// A 3-master Redis Cluster on free loopback ports, started once per test binary.
pub struct Cluster {
    /// The masters' ports.
    pub ports: Vec<u16>,
    /// Where the servers keep their files (cluster configs, logs).
    pub dir: std::path::PathBuf,
}

impl Cluster {
    /// The cluster of this test binary, started on first use.
    pub fn shared() -> &'static Cluster {
        static CLUSTER: std::sync::OnceLock<Cluster> = std::sync::OnceLock::new();
        CLUSTER.get_or_init(Cluster::start)
    }

    /// A cluster of its own, for a test that changes its servers' settings.
    pub fn start() -> Cluster {
        // Kept while the servers run; their watchdogs remove it once this process is gone.
        let dir = tempfile::Builder::new()
            .prefix("store-redis-cluster-")
            .tempdir()
            .unwrap()
            .keep();
        let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        for &port in &ports {
            Self::spawn_node(&dir, port);
        }
        let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&nodes)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        wait_until(Duration::from_secs(20), || {
            ports.iter().all(|&p| {
                cli(p, &["CLUSTER", "INFO"]).is_some_and(|info| info.contains("cluster_state:ok"))
            })
        })
        .expect("the cluster reaches cluster_state:ok");
        Cluster { ports, dir }
    }

    /// Starts the node on `port` (again, after it was killed: it rejoins with its config).
    pub fn spawn_node(dir: &Path, port: u16) {
        let conf = dir.join(format!("nodes-{port}.conf")).display().to_string();
        spawn_server(
            dir,
            port,
            &[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                &conf,
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        );
    }

    /// Whether every node reports `cluster_state:ok`.
    pub fn is_ok(&self) -> bool {
        self.ports.iter().all(|&p| {
            cli(p, &["CLUSTER", "INFO"]).is_some_and(|info| info.contains("cluster_state:ok"))
        })
    }

    /// The node URLs.
    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect()
    }
}
