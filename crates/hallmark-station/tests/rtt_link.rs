//! The RTT pump over deliberately tiny ring buffers: everything arrives, in order,
//! despite partial writes; a target that stops draining closes the link within the
//! stall deadline instead of hanging.

use hallmark_station::probe::memory::memory_rtt;
use hallmark_station::probe::{rtt_link, RttTiming};
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_byte_stream_survives_four_byte_buffers() {
    let (port, mut target) = memory_rtt(4, 3);
    // An echo "firmware" that reads whatever is in its down buffer and writes it back.
    let firmware = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        let mut total = 0;
        loop {
            let n = target.read(&mut buf).unwrap();
            if n == 0 {
                return total;
            }
            target.write_all(&buf[..n]).unwrap();
            total += n;
        }
    });
    let mut link = rtt_link(Box::new(port), RttTiming::default());
    let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let (mut rd, mut wr) = tokio::io::split(&mut link);
    let sent = data.clone();
    let writer = async move {
        for chunk in sent.chunks(333) {
            wr.write_all(chunk).await.unwrap();
        }
    };
    let reader = async {
        let mut got = vec![0u8; data.len()];
        rd.read_exact(&mut got).await.unwrap();
        got
    };
    let ((), got) =
        tokio::time::timeout(Duration::from_secs(60), async { tokio::join!(writer, reader) }).await.unwrap();
    assert_eq!(got, data);
    drop(link);
    assert_eq!(firmware.join().unwrap(), data.len());
}

#[tokio::test]
async fn a_target_that_stops_reading_closes_the_link_at_the_stall_deadline() {
    let (port, _target_never_reads) = memory_rtt(16, 16);
    let timing = RttTiming { stall: Duration::from_millis(300), ..RttTiming::default() };
    let mut link = rtt_link(Box::new(port), timing);
    let started = Instant::now();
    link.write_all(&[0x55; 64]).await.unwrap();
    let mut buf = [0u8; 8];
    // The pump gives up: the station sees the stream end (a lost link), not a hang.
    let n = tokio::time::timeout(Duration::from_secs(5), link.read(&mut buf)).await.unwrap().unwrap();
    assert_eq!(n, 0);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(300) && waited < Duration::from_secs(3), "{waited:?}");
}
