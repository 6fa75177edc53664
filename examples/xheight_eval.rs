//! Prints the measured x-height of every page of a corpus, at the file's resolution.
//!
//!     cargo run --release --example xheight_eval -- ../shared/corpus/dev
use std::sync::Arc;
use std::time::Instant;

use motcua::config::Limits;

fn main() {
    let dir = std::env::args().nth(1).expect("corpus directory");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e != "jsonl"))
        .collect();
    files.sort();
    for f in files {
        let data: Arc<[u8]> = std::fs::read(&f).unwrap().into();
        let Ok(doc) = motcua::decode::decode(data, &Limits::default()) else {
            continue;
        };
        for p in doc.pages {
            let g = p.image.to_luma8();
            let dpi = p.dpi.unwrap_or(0.0);
            let t = Instant::now();
            let x =
                motcua::normalize::measure_x_height(&g, (64.0 * dpi.max(100.0) / 300.0) as usize);
            let ms = t.elapsed().as_secs_f64() * 1e3;
            println!(
                "{:40} {:5}x{:5} dpi {:4.0} x-height {:>6} letters {:>5} {:5.1} ms {:?}",
                f.file_name().unwrap().to_string_lossy(),
                g.width(),
                g.height(),
                dpi,
                x.map(|x| format!("{:.1}", x.x_height))
                    .unwrap_or("-".into()),
                x.map(|x| x.letters).unwrap_or(0),
                ms,
                x.map(|x| (x.votes, x.votes.upright())),
            );
        }
    }
}
