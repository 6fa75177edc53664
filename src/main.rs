use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use motcua::config::Config;
use motcua::pipeline::{self, Processor, Progress};

#[derive(Parser)]
#[command(
    name = "motcua",
    version,
    about = "Document intake and scan processing for một cửa portals"
)]
struct Cli {
    /// TOML configuration file (defaults apply to everything it does not set).
    #[arg(long, global = true, env = "MOTCUA_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode, OCR and render searchable PDFs for local files, without a server.
    Process {
        /// Input files: JPEG, PNG, TIFF (multi-page, CCITT G4), WebP.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output directory for <stem>.pdf, <stem>.txt and <stem>.json.
        #[arg(long, short)]
        out: PathBuf,
        /// Worker threads, one OCR engine each (default: every core).
        #[arg(long, short)]
        jobs: Option<usize>,
    },
    /// Print the effective configuration.
    Config,
}

/// Pages are counted as files are decoded, so the page total grows; the message counts files.
struct Bar {
    bar: ProgressBar,
    files: usize,
    files_done: std::sync::atomic::AtomicUsize,
}

impl Progress for Bar {
    fn pages_found(&self, pages: usize) {
        self.bar.inc_length(pages as u64);
    }
    fn page_done(&self) {
        self.bar.inc(1);
    }
    fn file_done(&self) {
        let done = self
            .files_done
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        self.bar.set_message(format!("files {done}/{}", self.files));
    }
}

fn main() -> ExitCode {
    limit_openmp();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let cli = Cli::parse();
    let cfg = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Config => {
            print!(
                "{}",
                toml::to_string_pretty(&cfg).expect("config serializes")
            );
            ExitCode::SUCCESS
        }
        Command::Process { files, out, jobs } => process(cfg, files, out, jobs),
    }
}

/// Tesseract's OpenMP must not start threads of its own: parallelism comes from pages, one engine
/// per core. libgomp reads `OMP_THREAD_LIMIT` when it is loaded, before `main`, so when the variable
/// is not already 1 the program sets it and replaces itself with a fresh copy that sees it.
fn limit_openmp() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("OMP_THREAD_LIMIT").is_some_and(|v| v == "1") {
        return;
    }
    // SAFETY: no other thread exists yet.
    unsafe { std::env::set_var("OMP_THREAD_LIMIT", "1") };
    if let Ok(exe) = std::env::current_exe() {
        let err = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .exec();
        // Not fatal: OCR still works, only slower (OpenMP threads compete with page workers).
        eprintln!("warning: could not re-execute with OMP_THREAD_LIMIT=1: {err}");
    }
}

fn process(cfg: Config, files: Vec<PathBuf>, out: PathBuf, jobs: Option<usize>) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!(
            "error: cannot create output directory {}: {e}",
            out.display()
        );
        return ExitCode::from(2);
    }
    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("page-{i}"))
        .build()
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot start worker threads: {e}");
            return ExitCode::from(2);
        }
    };
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} pages, {msg} ({per_sec})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        b.enable_steady_tick(Duration::from_millis(200));
        b
    } else {
        ProgressBar::hidden()
    };
    let progress = Bar {
        bar: bar.clone(),
        files: files.len(),
        files_done: 0.into(),
    };
    bar.set_message(format!("files 0/{}", files.len()));
    let processor = Processor::new(cfg);
    let started = Instant::now();
    let results = pool.install(|| pipeline::process_files(&processor, &files, &out, &progress));
    // Free each thread's Tesseract models while the threads still live.
    pool.broadcast(|_| motcua::ocr::release_engine());
    bar.finish_and_clear();

    let elapsed = started.elapsed().as_secs_f64();
    let (mut pages, mut failed) = (0, 0);
    for (file, result) in files.iter().zip(&results) {
        match result {
            Ok(s) => {
                pages += s.pages;
                tracing::info!(file = %file.display(), pages = s.pages, "processed");
            }
            Err(e) => {
                failed += 1;
                tracing::error!(file = %file.display(), code = e.code(), "{e}");
            }
        }
    }
    tracing::info!(
        files = files.len(),
        failed,
        pages,
        seconds = format!("{elapsed:.2}"),
        pages_per_second = format!("{:.2}", pages as f64 / elapsed.max(1e-9)),
        jobs,
        ocr_engines = motcua::ocr::engines_created(),
        "done"
    );
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
