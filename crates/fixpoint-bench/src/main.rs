//! `fixpoint-bench`: builds realistic datasets and measures a running Fixpoint over
//! HTTP. `suite` does everything for a list of sizes: dataset, server, ceiling,
//! scenarios, memory, and prints a table and JSON.

mod dataset;
mod load;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use fixpoint_server::auth::{Role, create_api_client, create_api_user, create_key};
use fixpoint_store::{Store, db};
use load::{Scenario, Stats, Target};
use serde::Serialize;

#[derive(Parser)]
#[command(
    name = "fixpoint-bench",
    about = "Fixpoint's load tool and benchmark suite"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a dataset into an empty database.
    Seed {
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value_t = 10_000)]
        tickets: u64,
    },
    /// Drive a running server.
    Run {
        /// The server's base URL, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        server: String,
        /// An API key with technician or admin rights.
        #[arg(long, env = "FIXPOINT_BENCH_KEY")]
        key: String,
        /// For the Autotask scenarios: an API user (`fixpoint apiuser create`).
        #[arg(long, env = "FIXPOINT_BENCH_AUTOTASK_USERNAME", requires_all = ["autotask_secret", "autotask_integration_code"])]
        autotask_username: Option<String>,
        #[arg(long, env = "FIXPOINT_BENCH_AUTOTASK_SECRET")]
        autotask_secret: Option<String>,
        #[arg(long, env = "FIXPOINT_BENCH_AUTOTASK_INTEGRATION_CODE")]
        autotask_integration_code: Option<String>,
        /// For the HaloPSA scenarios: an API client (`fixpoint apiclient create`).
        #[arg(
            long,
            env = "FIXPOINT_BENCH_HALOPSA_CLIENT_ID",
            requires = "halopsa_client_secret"
        )]
        halopsa_client_id: Option<String>,
        #[arg(long, env = "FIXPOINT_BENCH_HALOPSA_CLIENT_SECRET")]
        halopsa_client_secret: Option<String>,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Drive the peer, Request Tracker (REST 2), with the create, get and search
    /// scenarios: `bench/peer-rt.sh` installs, loads and serves it, then calls this.
    Peer {
        /// Request Tracker's base URL, e.g. http://127.0.0.1:8091.
        #[arg(long)]
        rt: String,
        #[arg(long, default_value = "root")]
        rt_user: String,
        #[arg(long, env = "FIXPOINT_BENCH_RT_PASSWORD")]
        rt_password: String,
        #[command(flatten)]
        run: RunArgs,
    },
    /// For each size: build (or reuse) a dataset, start `fixpoint serve` on it, measure
    /// the ceilings, every scenario and the server's memory; print a table and JSON.
    Suite {
        /// Dataset sizes in tickets, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "10000")]
        tickets: Vec<u64>,
        /// Run on PostgreSQL: an admin URL; each size gets a `fixpoint_bench_<n>` database.
        #[arg(long)]
        postgres: Option<String>,
        /// Where SQLite datasets are kept between runs.
        #[arg(long, default_value = "target/bench-data")]
        data_dir: PathBuf,
        /// The `fixpoint` binary to serve with (default: next to this one).
        #[arg(long)]
        fixpoint: Option<PathBuf>,
        #[command(flatten)]
        load: LoadArgs,
    },
}

#[derive(clap::Args, Clone)]
struct LoadArgs {
    /// Scenarios, comma-separated: ceiling, create, get, update_status, add_note,
    /// list_queue, search, report, atera_list, atera_create, autotask_list,
    /// autotask_create, halopsa_list, halopsa_create.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ceiling,get,list_queue,list_queue_uncounted,search,report,create,update_status,add_note,atera_list,atera_create,autotask_list,autotask_create,halopsa_list,halopsa_create"
    )]
    scenarios: Vec<String>,
    #[command(flatten)]
    run: RunArgs,
}

/// How hard and how long to drive, for Fixpoint and the peer alike.
#[derive(clap::Args, Clone)]
struct RunArgs {
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Serialize)]
struct SizeReport {
    backend: &'static str,
    tickets: u64,
    dataset_seconds: Option<f64>,
    /// One ticket row (and its search document) per transaction, straight into the
    /// database in the server's mode: the floor under the create scenario.
    raw_inserts_per_second: f64,
    idle_rss_mb: f64,
    peak_rss_mb: f64,
    scenarios: Vec<Stats>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Seed {
            database_url,
            tickets,
        } => {
            let store = Store::open(&database_url).await?;
            let built = dataset::build(&store, tickets, jiff::Timestamp::now()).await?;
            eprintln!("built {} tickets in {:.0} s", built.tickets, built.seconds);
        }
        Command::Run {
            server,
            key,
            autotask_username,
            autotask_secret,
            autotask_integration_code,
            halopsa_client_id,
            halopsa_client_secret,
            load,
        } => {
            let halopsa = halopsa_client_id
                .zip(halopsa_client_secret)
                .map(|(client_id, secret)| load::HalopsaClient { client_id, secret });
            let autotask = match (
                autotask_username,
                autotask_secret,
                autotask_integration_code,
            ) {
                (Some(username), Some(secret), Some(integration_code)) => {
                    Some(load::AutotaskUser {
                        username,
                        secret,
                        integration_code,
                    })
                }
                _ => None,
            };
            let target = Arc::new(Target::discover(&server, &key, autotask, halopsa).await?);
            let rows = scenarios(target, &load).await?;
            print!("{}", load::table(&rows));
            write_json(&load, &rows)?;
        }
        Command::Peer {
            rt,
            rt_user,
            rt_password,
            run,
        } => {
            let user = load::RtUser {
                user: rt_user,
                password: rt_password,
            };
            let target = Arc::new(Target::discover_rt(&rt, user).await?);
            let load = LoadArgs {
                scenarios: ["rt_get", "rt_search", "rt_create"]
                    .map(String::from)
                    .to_vec(),
                run,
            };
            let rows = scenarios(target, &load).await?;
            print!("{}", load::table(&rows));
            write_json(&load, &rows)?;
        }
        Command::Suite {
            tickets,
            postgres,
            data_dir,
            fixpoint,
            load,
        } => {
            let fixpoint = match fixpoint {
                Some(path) => path,
                None => std::env::current_exe()?
                    .with_file_name("fixpoint")
                    .with_extension(std::env::consts::EXE_EXTENSION),
            };
            anyhow::ensure!(
                fixpoint.exists(),
                "{} not found; build it first: cargo build --release -p fixpoint -p fixpoint-bench",
                fixpoint.display()
            );
            let mut reports = Vec::new();
            for size in tickets {
                let report =
                    suite_size(size, postgres.as_deref(), &data_dir, &fixpoint, &load).await?;
                println!(
                    "\n{} tickets on {}: idle {:.0} MB, peak {:.0} MB, raw inserts {:.0}/s",
                    report.tickets,
                    report.backend,
                    report.idle_rss_mb,
                    report.peak_rss_mb,
                    report.raw_inserts_per_second
                );
                print!("{}", load::table(&report.scenarios));
                reports.push(report);
            }
            write_json(&load, &reports)?;
        }
    }
    Ok(())
}

fn write_json(load: &LoadArgs, value: &impl Serialize) -> anyhow::Result<()> {
    if let Some(path) = &load.run.json {
        std::fs::write(path, serde_json::to_string_pretty(value)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

async fn scenarios(target: Arc<Target>, load: &LoadArgs) -> anyhow::Result<Vec<Stats>> {
    let mut rows: Vec<Stats> = Vec::new();
    for name in &load.scenarios {
        let scenario = Scenario::parse(name)?;
        let mut stats = load::run(
            target.clone(),
            scenario,
            load.run.concurrency,
            Duration::from_secs(load.run.seconds),
        )
        .await?;
        if let Some(ceiling) = rows.iter().find(|r| r.scenario == "ceiling") {
            stats.share_of_ceiling = Some(stats.per_second / ceiling.per_second);
        }
        eprintln!(
            "  {:<14} {:>8.0} req/s  p99 {:.2} ms",
            stats.scenario, stats.per_second, stats.p99_ms
        );
        rows.push(stats);
    }
    Ok(rows)
}

/// Brings a dataset to the steady state of a desk that has run for years: the
/// escalations its open tickets crossed recorded and their events dispatched. Else
/// every run would measure a first start catching up on them in the background.
async fn settle(store: &Store) -> anyhow::Result<()> {
    use fixpoint_server::messaging::{Outbound, Settings, run_once};
    let now = jiff::Timestamp::now();
    let swept = fixpoint_server::service::escalation::sweep(store, now).await?;
    let settings = Settings::default();
    let outbound = Outbound::new(&settings).map_err(anyhow::Error::msg)?;
    let mut dispatched = 0;
    loop {
        let round = run_once(store, &settings, &outbound, now).await?;
        if round.dispatched == 0 {
            break;
        }
        dispatched += round.dispatched;
    }
    if swept.escalated + dispatched > 0 {
        eprintln!(
            "  settled: {} escalations recorded, {dispatched} events dispatched",
            swept.escalated
        );
    }
    Ok(())
}

async fn suite_size(
    size: u64,
    postgres: Option<&str>,
    data_dir: &Path,
    fixpoint: &Path,
    load: &LoadArgs,
) -> anyhow::Result<SizeReport> {
    let (store, backend, dataset_seconds) = dataset_of_size(size, postgres, data_dir).await?;
    settle(&store).await?;
    let raw_inserts_per_second = raw_insert_rate(postgres, data_dir).await?;
    // Scenarios write; they run on a copy so that the dataset stays as built.
    let url = match postgres {
        Some(admin) => {
            store.close().await;
            let work = format!("fixpoint_bench_{size}_run");
            db::drop_postgres_database(admin, &work).await?;
            db::create_postgres_database_from(admin, &work, Some(&format!("fixpoint_bench_{size}")))
                .await?
        }
        None => {
            let work = data_dir.join(format!("run-{size}.db"));
            remove_sqlite_database(&work)?;
            store.backup_to(&work).await?;
            store.close().await;
            format!("sqlite://{}", work.display())
        }
    };
    let store = Store::open(&url).await?;
    let (_, key) = create_key(&store, "fixpoint-bench", Role::Admin).await?;
    let user = create_api_user(&store, "fixpoint-bench", Role::Admin).await?;
    let autotask = load::AutotaskUser {
        username: user.username,
        secret: user.secret,
        integration_code: user.integration_code,
    };
    let client = create_api_client(&store, "fixpoint-bench", Role::Admin, None)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let halopsa = load::HalopsaClient {
        client_id: client.client_id,
        secret: client.secret,
    };
    store.close().await;

    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let mut server = tokio::process::Command::new(fixpoint)
        .arg("serve")
        .env("FIXPOINT_DATABASE_URL", &url)
        .env("FIXPOINT_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        // Throughput, not the vendors' request limits, is what the dialect scenarios
        // measure.
        .env("FIXPOINT_ATERA_REQUESTS_PER_MINUTE", "4000000000")
        .env("FIXPOINT_AUTOTASK_REQUESTS_PER_HOUR", "4000000000")
        .env("FIXPOINT_HALOPSA_REQUESTS_PER_WINDOW", "4000000000")
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", fixpoint.display()))?;
    let pid = server.id().context("server pid")?;
    wait_ready(&base).await?;
    let target = Arc::new(Target::discover(&base, &key, Some(autotask), Some(halopsa)).await?);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss_mb = memory(pid, "VmRSS")?;
    let rows = scenarios(target, load).await?;
    let peak_rss_mb = memory(pid, "VmHWM")?;
    server.kill().await?;
    Ok(SizeReport {
        backend,
        tickets: size,
        dataset_seconds,
        raw_inserts_per_second,
        idle_rss_mb,
        peak_rss_mb,
        scenarios: rows,
    })
}

/// The dataset of `size` tickets, built unless a whole one is there already; with the
/// backend's name and, when built, how long that took.
async fn dataset_of_size(
    size: u64,
    postgres: Option<&str>,
    data_dir: &Path,
) -> anyhow::Result<(Store, &'static str, Option<f64>)> {
    let name = format!("fixpoint_bench_{size}");
    let path = data_dir.join(format!("tickets-{size}.db"));
    let (url, backend) = match postgres {
        Some(admin) => (postgres_database(admin, &name).await?, "postgres"),
        None => {
            std::fs::create_dir_all(data_dir)?;
            (format!("sqlite://{}", path.display()), "sqlite")
        }
    };
    let mut store = Store::open(&url).await?;
    let held = ticket_count(&store).await?;
    // The build commits batch by batch: one cut short leaves a smaller dataset, whose
    // figures would pass for this size's.
    if held != 0 && held != size as i64 {
        eprintln!(
            "the {size}-ticket dataset at {url} holds {held} tickets (a build cut short?): building it again"
        );
        store.close().await;
        match postgres {
            Some(admin) => {
                db::drop_postgres_database(admin, &name).await?;
                postgres_database(admin, &name).await?;
            }
            None => remove_sqlite_database(&path)?,
        }
        store = Store::open(&url).await?;
    }
    if held == size as i64 {
        eprintln!("reusing the {size}-ticket dataset at {url}");
        return Ok((store, backend, None));
    }
    eprintln!("building {size} tickets on {backend}");
    let built = dataset::build(&store, size, jiff::Timestamp::now()).await?;
    Ok((store, backend, Some(built.seconds)))
}

/// Removes a SQLite database and its WAL files, if there.
fn remove_sqlite_database(path: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(anyhow::Error::new(e).context(format!("removing {file}")));
            }
            _ => {}
        }
    }
    Ok(())
}

async fn ticket_count(store: &Store) -> anyhow::Result<i64> {
    let mut conn = store.read().await?;
    let reference = store.reference(&mut conn).await?;
    Ok(fixpoint_store::tickets::count(
        &mut conn,
        &fixpoint_store::tickets::ListQuery {
            filter: &fixpoint_core::query::Node::everything(),
            catalog: &reference.catalog,
            now: jiff::Timestamp::now(),
            sort: fixpoint_core::filter::Sort::default(),
            limit: 1,
            after: None,
        },
    )
    .await?)
}

/// One ticket per transaction into a scratch database of the same kind, for 3 s.
async fn raw_insert_rate(postgres: Option<&str>, data_dir: &Path) -> anyhow::Result<f64> {
    let scratch_url = match postgres {
        Some(admin) => {
            let name = "fixpoint_bench_scratch";
            db::drop_postgres_database(admin, name).await?;
            postgres_database(admin, name).await?
        }
        None => {
            let path = data_dir.join("scratch.db");
            remove_sqlite_database(&path)?;
            format!("sqlite://{}", path.display())
        }
    };
    let store = Store::open(&scratch_url).await?;
    let mut tx = store.write().await?;
    let company = fixpoint_store::parties::insert_company(
        &mut tx,
        &fixpoint_core::parties::Company {
            id: Default::default(),
            name: "Scratch".into(),
            parent_company_id: None,
            phone: None,
            website: None,
            active: true,
            created_at: jiff::Timestamp::now(),
        },
    )
    .await?;
    Store::commit(tx).await?;
    let catalog = fixpoint_core::catalog::default_catalog();
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed() < Duration::from_secs(3) {
        let mut t = fixpoint_core::ticket::NewTicket {
            title: format!("Raw insert {count}"),
            company_id: company,
            ..Default::default()
        }
        .into_ticket(&catalog, jiff::Timestamp::now());
        t.number = format!("R{count}");
        let mut tx = store.write().await?;
        fixpoint_store::tickets::insert_many(&mut tx, &[t]).await?;
        Store::commit(tx).await?;
        count += 1;
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    store.close().await;
    if let Some(admin) = postgres {
        db::drop_postgres_database(admin, "fixpoint_bench_scratch").await?;
    }
    Ok(rate)
}

async fn postgres_database(admin: &str, name: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut conn)
        .await?;
    if exists.is_none() {
        return Ok(db::create_postgres_database(admin, name).await?);
    }
    let base = admin.rsplit_once('/').map_or(admin, |(base, _)| base);
    Ok(format!("{base}/{name}"))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_ready(base: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the server at {base} did not become ready in 30 s")
}

/// A line of /proc/<pid>/status in MB (VmRSS: now; VmHWM: peak).
fn memory(pid: u32, field: &str) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("{field} in /proc/{pid}/status"))?;
    Ok(kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_dataset_cut_short_is_built_again_and_a_whole_one_reused() {
        let dir = tempfile::tempdir().expect("a directory");
        // What a build stopped part way leaves: 40 tickets where 60 belong.
        let cut_short = Store::open(&format!(
            "sqlite://{}",
            dir.path().join("tickets-60.db").display()
        ))
        .await
        .expect("the store");
        dataset::build(&cut_short, 40, jiff::Timestamp::now())
            .await
            .expect("the first 40");
        cut_short.close().await;

        let (store, backend, built) = dataset_of_size(60, None, dir.path())
            .await
            .expect("the dataset");
        assert_eq!(backend, "sqlite");
        assert!(
            built.is_some(),
            "the partial dataset was taken for a whole one"
        );
        assert_eq!(ticket_count(&store).await.expect("a count"), 60);
        store.close().await;

        let (store, _, built) = dataset_of_size(60, None, dir.path())
            .await
            .expect("the dataset");
        assert_eq!(built, None, "a whole dataset is reused, not built again");
        assert_eq!(ticket_count(&store).await.expect("a count"), 60);
        store.close().await;
    }
}
