use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use motcua::config::Config;
use motcua::pipeline::{self, Processor, Progress};
use motcua::service;

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
        /// Input files: JPEG, PNG, TIFF (multi-page, CCITT G4), WebP, image-only PDF.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output directory for <stem>.pdf, <stem>.txt and <stem>.json.
        #[arg(long, short)]
        out: PathBuf,
        /// Worker threads, one OCR engine each (default: every core).
        #[arg(long, short)]
        jobs: Option<usize>,
    },
    /// Print the effective configuration (defaults ← TOML file ← MOTCUA__SECTION__KEY env).
    Config,
    /// Validate document models and procedure pipelines; lists every error of every file.
    Check {
        /// Document models folder (default: `extract.models_dir`).
        #[arg(long)]
        models: Option<PathBuf>,
        /// Procedure pipelines folder (default: `extract.pipelines_dir`).
        #[arg(long)]
        pipelines: Option<PathBuf>,
    },
    /// Run the intake API with in-process workers (SQLite + blob folder under server.data_dir).
    Serve,
    /// Run workers only, on the same database and blob store as `serve`.
    Worker,
    /// Create or upgrade the database schema.
    Migrate,
    /// The scanner PC's uploader: sends the files saved into a hot folder over resumable
    /// uploads, surviving dropped links and restarts (`[station]` in the configuration).
    Station {
        /// Base URL of the server (`station.server`).
        #[arg(long)]
        server: Option<String>,
        /// File holding the station token (`station.token_file`).
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// The hot folder (`station.watch`).
        #[arg(long)]
        watch: Option<PathBuf>,
        /// The spool database (`station.spool`).
        #[arg(long)]
        spool: Option<PathBuf>,
        #[command(subcommand)]
        what: Option<StationCommand>,
    },
    /// Create units, station tokens and clerks.
    Admin {
        #[command(subcommand)]
        what: AdminCommand,
    },
}

#[derive(Subcommand)]
enum StationCommand {
    /// Lists the spool: every file, its state, how much of it was sent, its last error.
    Status {
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Units: communes and wards.
    Unit {
        #[command(subcommand)]
        action: UnitAction,
    },
    /// Upload stations of a unit; `create` prints the station's token once.
    Station {
        #[command(subcommand)]
        action: StationAction,
    },
    /// Clerks of a unit; the password is read from the first line of standard input.
    Clerk {
        #[command(subcommand)]
        action: ClerkAction,
    },
    /// Processes failed attachments again, as new (audited): one, a dossier's, or every one
    /// whose job was dead-lettered or set aside (of one error code, e.g. `worker_lost`).
    Requeue {
        #[arg(long, conflicts_with_all = ["dossier", "dead"])]
        attachment: Option<i64>,
        #[arg(long, conflicts_with = "dead")]
        dossier: Option<String>,
        #[arg(long)]
        dead: bool,
        /// With `--dead`: only attachments that failed with this code.
        #[arg(long, requires = "dead")]
        code: Option<String>,
    },
    /// Removes originals no attachment references (left by crashes) and temp leftovers now, as
    /// the sweep of `serve` does every `orphans.sweep_interval_secs`.
    Sweep {
        /// Only blobs older than this many seconds (default: `orphans.grace_secs`).
        #[arg(long)]
        grace_secs: Option<u64>,
    },
}

#[derive(Subcommand)]
enum UnitAction {
    Create {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        province: String,
    },
}

#[derive(Subcommand)]
enum StationAction {
    Create {
        /// Code of the unit the station uploads for.
        #[arg(long)]
        unit: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum ClerkAction {
    Create {
        #[arg(long)]
        unit: String,
        #[arg(long)]
        username: String,
        #[arg(long, value_enum, default_value = "clerk")]
        role: Role,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Role {
    Clerk,
    Admin,
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
        Ok(mut c) => {
            if let Command::Station {
                server,
                token_file,
                watch,
                spool,
                ..
            } = &cli.command
            {
                let s = &mut c.station;
                s.server = server.clone().unwrap_or(std::mem::take(&mut s.server));
                s.token_file = token_file
                    .clone()
                    .unwrap_or(std::mem::take(&mut s.token_file));
                s.watch = watch.clone().unwrap_or(std::mem::take(&mut s.watch));
                s.spool = spool.clone().or(s.spool.take());
            }
            c
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Config => {
            print!(
                "{}",
                toml::to_string_pretty(&cfg.redacted()).expect("config serializes")
            );
            ExitCode::SUCCESS
        }
        Command::Check { models, pipelines } => check(&cfg, models, pipelines),
        Command::Process { files, out, jobs } => process(cfg, files, out, jobs),
        Command::Serve => run_async(service::run(cfg, true)),
        Command::Worker => run_async(service::run(cfg, false)),
        Command::Migrate => run_async(async move {
            service::admin::migrate(&cfg).await?;
            eprintln!("database is up to date: {}", cfg.db_display());
            Ok(())
        }),
        Command::Admin { what } => run_async(admin(cfg, what)),
        Command::Station {
            what: Some(StationCommand::Status { limit }),
            ..
        } => run_async(async move {
            print!("{}", motcua::station::status(&cfg, limit).await?);
            Ok(())
        }),
        Command::Station { what: None, .. } => {
            run_async(
                async move { motcua::station::run(&cfg, service::shutdown_on_signal()).await },
            )
        }
    }
}

/// Runs async commands on a tokio runtime; CPU work stays on rayon threads of its own.
fn run_async(f: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = rt.block_on(f);
    // Do not wait on stray blocking tasks (a job past its grace period) at exit.
    rt.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn admin(cfg: Config, what: AdminCommand) -> anyhow::Result<()> {
    match what {
        AdminCommand::Unit {
            action:
                UnitAction::Create {
                    code,
                    name,
                    province,
                },
        } => {
            let u = service::admin::create_unit(&cfg, &code, &name, &province).await?;
            eprintln!("unit {} created (id {})", u.code, u.id);
        }
        AdminCommand::Requeue {
            attachment,
            dossier,
            dead,
            code,
        } => {
            let target = match (attachment, dossier, dead) {
                (Some(a), _, _) => service::admin::RequeueWhat::Attachment(a),
                (_, Some(d), _) => service::admin::RequeueWhat::Dossier(d),
                (_, _, true) => service::admin::RequeueWhat::Dead(code),
                _ => {
                    anyhow::bail!("say what to requeue: --attachment ID, --dossier CODE or --dead")
                }
            };
            let ids = service::admin::requeue(&cfg, target).await?;
            eprintln!("{} attachment(s) queued again", ids.len());
            for id in ids {
                println!("{id}");
            }
        }
        AdminCommand::Sweep { grace_secs } => {
            let grace = grace_secs.unwrap_or(cfg.orphans.grace_secs);
            let r = service::admin::sweep(&cfg, std::time::Duration::from_secs(grace)).await?;
            eprintln!(
                "{} of {} old originals removed (unreferenced); {} expired claims, {} temp leftovers, \
                 {} expired resumable uploads",
                r.removed, r.considered, r.expired_claims, r.leftovers, r.expired_uploads
            );
            println!("{}", r.removed);
        }
        AdminCommand::Station {
            action: StationAction::Create { unit, name },
        } => {
            let token = service::admin::create_station(&cfg, &unit, &name).await?;
            eprintln!("station {name:?} of unit {unit} created; its token (shown only now):");
            println!("{token}");
        }
        AdminCommand::Clerk {
            action:
                ClerkAction::Create {
                    unit,
                    username,
                    role,
                },
        } => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let role = match role {
                Role::Clerk => motcua::domain::ClerkRole::Clerk,
                Role::Admin => motcua::domain::ClerkRole::Admin,
            };
            service::admin::create_clerk(
                &cfg,
                &unit,
                &username,
                role,
                password.trim_end_matches(['\r', '\n']),
            )
            .await?;
            eprintln!("clerk {username} of unit {unit} created");
        }
    }
    Ok(())
}

/// Tesseract's OpenMP must not start threads of its own: parallelism comes from pages, one engine
/// per core. libgomp reads `OMP_THREAD_LIMIT` when it is loaded, before `main`, so when the variable
/// is not already 1 the program sets it and replaces itself with a fresh copy that sees it. The
/// copy is `/proc/self/exe`, which still names this program when its file was replaced or removed
/// meanwhile (an upgrade while it starts); should that fail too, each OCR thread limits OpenMP
/// itself (`ocr::openmp`), so it never runs unlimited.
fn limit_openmp() {
    use std::os::unix::process::CommandExt;
    if motcua::ocr::openmp::limited_by_env() {
        return;
    }
    let args: Vec<_> = std::env::args_os().collect();
    let exec = |path: &std::path::Path| {
        std::process::Command::new(path)
            .arg0(args.first().cloned().unwrap_or_default())
            .args(args.iter().skip(1))
            .env("OMP_THREAD_LIMIT", "1")
            .exec()
    };
    let first = exec(std::path::Path::new("/proc/self/exe"));
    let second = std::env::current_exe().map(|p| exec(&p));
    // Both failed: this process's environment is unchanged, so `ocr::openmp` knows to step in.
    eprintln!(
        "note: could not re-execute with OMP_THREAD_LIMIT=1 ({first}; {}); OpenMP is limited on each OCR thread instead",
        second.map_or_else(|e| e.to_string(), |e| e.to_string())
    );
}

fn check(cfg: &Config, models: Option<PathBuf>, pipelines: Option<PathBuf>) -> ExitCode {
    let models = models.unwrap_or_else(|| cfg.extract.models_dir.clone());
    let pipelines = pipelines.unwrap_or_else(|| cfg.extract.pipelines_dir.clone());
    match motcua::extract::Definitions::load(&models, &pipelines) {
        Ok(d) => {
            println!(
                "ok: {} document models in {}, {} procedure pipelines in {}",
                d.extractor.models().len(),
                models.display(),
                d.procedures.len(),
                pipelines.display()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            eprintln!("{} errors", errors.len());
            ExitCode::FAILURE
        }
    }
}

fn process(cfg: Config, files: Vec<PathBuf>, out: PathBuf, jobs: Option<usize>) -> ExitCode {
    let defs = match motcua::extract::Definitions::load_for_run(&cfg.extract) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: invalid document models or pipelines:\n{e}");
            return ExitCode::from(2);
        }
    };
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
    let processor = Processor::with_extractor(cfg, defs.extractor);
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
