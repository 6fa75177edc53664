//! Load client for `benches/load.sh`: N concurrent single-file uploads of SIZE bytes each to a
//! running `motcua serve`, all started at once; reports acknowledgement latency (request sent →
//! 202) and then checks that every acknowledged upload is there, byte for byte (SHA-256 of the
//! original fetched back).
//!
//!   cargo run --release --example load -- URL TOKEN [N] [SIZE_BYTES] [DOSSIERS]

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::RngCore;
use sha2::{Digest, Sha256};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).expect("URL").trim_end_matches('/').to_string();
    let token = args.get(2).expect("TOKEN").clone();
    let n: usize = args.get(3).map_or(Ok(200), |s| s.parse())?;
    let size: usize = args.get(4).map_or(Ok(1 << 20), |s| s.parse())?;
    let dossiers: usize = args.get(5).map_or(Ok(20), |s| s.parse())?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .pool_max_idle_per_host(n)
        .build()?;

    let mut codes = Vec::new();
    for _ in 0..dossiers {
        let r: serde_json::Value = client
            .post(format!("{url}/api/v1/dossiers"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "procedure": "load-test" }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        codes.push(r["code"].as_str().unwrap().to_string());
    }
    let depth_before = queue_depth(&client, &url).await?;

    // Distinct bytes per upload, sniffed as JPEG (workers will find them corrupt, quickly).
    let bodies: Vec<Vec<u8>> = (0..n)
        .map(|_| {
            let mut b = vec![0u8; size];
            rand::rng().fill_bytes(&mut b);
            b[..4].copy_from_slice(b"\xFF\xD8\xFF\xE0");
            b
        })
        .collect();
    let start = Arc::new(tokio::sync::Barrier::new(n));
    let t_all = Instant::now();
    let mut tasks = Vec::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let (client, url, token, start) =
            (client.clone(), url.clone(), token.clone(), start.clone());
        let code = codes[i % codes.len()].clone();
        tasks.push(tokio::spawn(async move {
            let sha = hex::encode(Sha256::digest(&body));
            let form = reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(body).file_name(format!("load-{i}.jpg")),
            );
            start.wait().await;
            let t = Instant::now();
            let r = client
                .post(format!("{url}/api/v1/dossiers/{code}/attachments"))
                .bearer_auth(&token)
                .multipart(form)
                .send()
                .await;
            let ack = t.elapsed();
            let id = match r {
                Ok(r) if r.status() == reqwest::StatusCode::ACCEPTED => r
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|v| v["attachments"][0]["id"].as_i64()),
                Ok(r) => {
                    eprintln!("upload {i}: HTTP {}", r.status());
                    None
                }
                Err(e) => {
                    eprintln!("upload {i}: {e}");
                    None
                }
            };
            (code, sha, id, ack)
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await?);
    }
    let wall = t_all.elapsed();
    let depth_after = queue_depth(&client, &url).await?;

    let mut acks: Vec<Duration> = results
        .iter()
        .filter(|r| r.2.is_some())
        .map(|r| r.3)
        .collect();
    acks.sort();
    let pct = |p: f64| {
        acks.get(((acks.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    // Every acknowledged upload must be there, byte for byte.
    let mut present = 0;
    for (code, sha, id, _) in &results {
        let Some(id) = id else { continue };
        let got = client
            .get(format!(
                "{url}/api/v1/dossiers/{code}/attachments/{id}/original"
            ))
            .bearer_auth(&token)
            .send()
            .await?
            .bytes()
            .await?;
        if &hex::encode(Sha256::digest(&got)) == sha {
            present += 1;
        } else {
            eprintln!("attachment {id}: content differs or missing");
        }
    }
    println!("uploads: {n} x {size} bytes, all started at once, into {dossiers} dossiers");
    println!("queue before: {depth_before}");
    println!("queue after:  {depth_after}");
    println!("acknowledged: {}/{n}", acks.len());
    println!(
        "ack latency ms: p50 {:.0}  p90 {:.0}  p99 {:.0}  max {:.0}",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0)
    );
    println!(
        "wall {:.2} s, {:.1} MB/s accepted",
        wall.as_secs_f64(),
        (acks.len() * size) as f64 / 1e6 / wall.as_secs_f64()
    );
    println!("present with the same SHA-256: {present}/{}", acks.len());
    if present != acks.len() || acks.len() != n {
        std::process::exit(1);
    }
    Ok(())
}

async fn queue_depth(client: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let m = client
        .get(format!("{url}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    Ok(m.lines()
        .filter(|l| l.starts_with("motcua_queue_jobs{"))
        .map(|l| l.trim_start_matches("motcua_queue_jobs").to_string())
        .collect::<Vec<_>>()
        .join(" "))
}
