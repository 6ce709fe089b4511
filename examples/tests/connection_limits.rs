//! The demo's server holds no silent connection for ever, and connections past its caps
//! wait (or, from one address, are closed) instead of exhausting the process's file
//! descriptors. Limits are set short here; the defaults are seconds.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failed test.

mod common;

use std::time::{Duration, Instant};

use authkit_examples::demo::{ConnectionLimits, DemoConfig};
use common::Demo;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Far above the limits below, so that a loaded machine does not fail the test, while a
/// connection held for ever still does.
const BOUND: Duration = Duration::from_secs(5);

async fn demo(limits: ConnectionLimits) -> Demo {
    Demo::start_with(DemoConfig {
        connection_limits: limits,
        ..DemoConfig::default()
    })
    .await
}

/// Reads until the server closes the connection; what it sent.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(BOUND, stream.read_to_end(&mut received))
        .await
        .expect("the server kept the connection open");
    // A reset is a close too.
    if let Err(error) = read {
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset, "{error}");
    }
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn silent_and_stalled_clients_are_cut_off() {
    let idle = Duration::from_millis(200);
    let demo = demo(ConnectionLimits::default().idle(idle)).await;
    let mut silent = TcpStream::connect(demo.addr).await.unwrap();
    let mut half_header = TcpStream::connect(demo.addr).await.unwrap();
    half_header
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: demo\r\n")
        .await
        .unwrap();
    let mut half_body = TcpStream::connect(demo.addr).await.unwrap();
    half_body
        .write_all(
            b"POST /api/token HTTP/1.1\r\nHost: demo\r\ncontent-type: application/json\r\n\
              content-length: 1000\r\n\r\n{",
        )
        .await
        .unwrap();
    let started = Instant::now();
    until_closed(&mut silent).await;
    until_closed(&mut half_header).await;
    until_closed(&mut half_body).await;
    assert!(started.elapsed() >= idle / 2, "closed before the limit");
    // A connection that keeps talking is not cut: several requests, each after a pause
    // shorter than the limit, over one kept-alive connection.
    let mut talking = TcpStream::connect(demo.addr).await.unwrap();
    for _ in 0..4 {
        tokio::time::sleep(idle / 2).await;
        talking
            .write_all(b"GET /api/health HTTP/1.1\r\nHost: demo\r\n\r\n")
            .await
            .unwrap();
        // `/api/health` answers `ok`: read up to the end of that body.
        let mut answer = Vec::new();
        while !answer.ends_with(b"\r\n\r\nok") {
            let mut chunk = [0; 256];
            let n = talking.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed while talking");
            answer.extend_from_slice(&chunk[..n]);
        }
        assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
    }
    assert_eq!(demo.get("/api/health", None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_a_free_one() {
    let limits = ConnectionLimits::default()
        .max_connections(1)
        .idle(Duration::from_millis(300));
    let demo = demo(limits).await;
    // The one slot is taken by a client that sends nothing; the next request waits in the
    // listen queue until the idle limit frees the slot, then is served.
    let _idle = TcpStream::connect(demo.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let health = tokio::time::timeout(BOUND, demo.get("/api/health", None))
        .await
        .expect("the waiting request was never served");
    assert_eq!(health.status(), StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "served while the only slot was taken"
    );
}

#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    let demo = demo(ConnectionLimits::default().per_address(2)).await;
    let _first = TcpStream::connect(demo.addr).await.unwrap();
    let _second = TcpStream::connect(demo.addr).await.unwrap();
    // The third from the same address is closed at once, with nothing sent.
    let mut third = TcpStream::connect(demo.addr).await.unwrap();
    assert_eq!(until_closed(&mut third).await, "");
    drop((_first, _second));
    // Closed ones are given back.
    let health = tokio::time::timeout(BOUND, async {
        loop {
            if let Ok(response) = demo.client.get(demo.url("/api/health")).send().await {
                break response;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the address never got its connections back");
    assert_eq!(health.status(), StatusCode::OK);
}
