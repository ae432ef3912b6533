//! `fixpoint`: the Fixpoint service desk in one binary.

mod config;
mod demo;

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::{LogFormat, Overrides, Settings};
use fixpoint_server::auth::{self, Role};
use fixpoint_store::Store;

#[derive(Parser)]
#[command(
    name = "fixpoint",
    version,
    about = "Fixpoint: a self-hosted PSA service desk for MSPs"
)]
struct Cli {
    #[command(flatten)]
    overrides: Overrides,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum MailCommand {
    /// Read one RFC 822 message on standard input and take it in (a ticket, a note,
    /// ignored or quarantined); prints the outcome as JSON. Exit status 75 (EX_TEMPFAIL)
    /// when the database could not take it, so the mail server retries.
    Receive,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (creates and migrates the database; prints an admin key on first start).
    Serve {
        /// Fill an empty database with a demo MSP before serving.
        #[arg(long)]
        demo: bool,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Manage API keys.
    Apikey {
        #[command(subcommand)]
        command: ApikeyCommand,
    },
    /// Autotask API users: the UserName, Secret and ApiIntegrationcode an Autotask
    /// client sends.
    Apiuser {
        #[command(subcommand)]
        command: ApiuserCommand,
    },
    /// HaloPSA API clients: the client_id and client_secret a HaloPSA client exchanges
    /// at /auth/token for a bearer token.
    Apiclient {
        #[command(subcommand)]
        command: ApiclientCommand,
    },
    /// People who sign in to the web UI.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Fill an empty database with a believable MSP: companies, contacts, technicians, tickets.
    SeedDemo {
        /// How many tickets to create.
        #[arg(long, default_value_t = 300)]
        tickets: usize,
    },
    /// Move a whole installation from SQLite to an empty PostgreSQL database, verifying
    /// every table's row count at the end.
    MigrateData {
        /// The SQLite database to read, e.g. sqlite://data/fixpoint.db.
        #[arg(long)]
        from: String,
        /// The PostgreSQL database to fill, e.g. postgres://fixpoint@db/fixpoint.
        #[arg(long)]
        to: String,
    },
    /// Copy the live SQLite database to a new file, consistently, while it serves.
    Backup {
        /// Where to write the copy (must not exist).
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Print the settings in force (after file, environment and flags).
    PrintConfig,
    /// Mail in from a mail server's pipe: `fixpoint mail receive < message.eml`.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
}

#[derive(Subcommand)]
enum ApikeyCommand {
    /// Create a key and print it (it is shown only this once).
    Create {
        #[arg(long)]
        name: String,
        /// admin, technician or readonly.
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
}

#[derive(Subcommand)]
enum ApiuserCommand {
    /// Create an API user and print its credentials (the secret is shown only this once).
    Create {
        #[arg(long)]
        name: String,
        /// admin, technician or readonly.
        #[arg(long, value_parser = parse_role, default_value = "technician")]
        role: Role,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Let a person sign in: the technician with this email gets a password and a
    /// role (a new technician is created if none has the email). Prints the password
    /// when none is given; it is shown only this once.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        first_name: Option<String>,
        #[arg(long)]
        last_name: Option<String>,
        /// admin, technician or readonly.
        #[arg(long, value_parser = parse_role, default_value = "technician")]
        role: Role,
        /// At least 10 characters; generated when left out.
        #[arg(long, env = "FIXPOINT_USER_PASSWORD")]
        password: Option<String>,
    },
}

#[derive(Subcommand)]
enum ApiclientCommand {
    /// Create an API client and print its credentials (the secret is shown only this once).
    Create {
        #[arg(long)]
        name: String,
        /// admin, technician or readonly.
        #[arg(long, value_parser = parse_role, default_value = "technician")]
        role: Role,
        /// The technician (resource id) the client acts as: HaloPSA's "agent to log in
        /// as", shown at /api/Agent/me and the default agent of its time entries.
        #[arg(long)]
        agent_id: Option<i64>,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text)
        .ok_or_else(|| format!("'{text}' is not a role; use admin, technician or readonly"))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = cli.overrides.resolve()?;
    init_tracing(settings.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli.command, settings))
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FIXPOINT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn open(settings: &Settings) -> anyhow::Result<Store> {
    Store::open(&settings.database_url)
        .await
        .with_context(|| format!("opening database {}", settings.database_url))
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::PrintConfig => {
            println!("{}", toml::to_string(&settings)?);
            Ok(())
        }
        Command::Migrate => {
            open(&settings).await?;
            println!("Database {} is up to date.", settings.database_url);
            Ok(())
        }
        Command::Apikey {
            command: ApikeyCommand::Create { name, role },
        } => {
            let store = open(&settings).await?;
            let (id, key) = auth::create_key(&store, &name, role).await?;
            println!(
                "Created API key {id} '{name}' ({}). It is shown only now:\n{key}",
                role.as_str()
            );
            Ok(())
        }
        Command::Apiuser {
            command: ApiuserCommand::Create { name, role },
        } => {
            let store = open(&settings).await?;
            let user = auth::create_api_user(&store, &name, role).await?;
            println!(
                "Created API user {} '{name}' ({}). The secret is shown only now:\n\
                 UserName: {}\nSecret: {}\nApiIntegrationcode: {}",
                user.id,
                role.as_str(),
                user.username,
                user.secret,
                user.integration_code
            );
            Ok(())
        }
        Command::Apiclient {
            command:
                ApiclientCommand::Create {
                    name,
                    role,
                    agent_id,
                },
        } => {
            let store = open(&settings).await?;
            let agent = agent_id.map(fixpoint_core::ids::ResourceId);
            let client = auth::create_api_client(&store, &name, role, agent)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
            println!(
                "Created API client {} '{name}' ({}). The secret is shown only now:\n\
                 client_id: {}\nclient_secret: {}",
                client.id,
                role.as_str(),
                client.client_id,
                client.secret,
            );
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Create {
                    email,
                    first_name,
                    last_name,
                    role,
                    password,
                },
        } => {
            let store = open(&settings).await?;
            let generated = password.is_none();
            let password = password.unwrap_or_else(auth::generate_password);
            let person = NewPerson {
                email: &email,
                first_name: first_name.as_deref(),
                last_name: last_name.as_deref(),
            };
            add_person(&store, person, &password, role).await?;
            if generated {
                println!(
                    "{email} can sign in as {} with this password (shown only now):\n\n    {password}\n",
                    role.as_str()
                );
            } else {
                println!("{email} can sign in as {}.", role.as_str());
            }
            Ok(())
        }
        Command::SeedDemo { tickets } => {
            let store = open(&settings).await?;
            demo::seed(&store, tickets).await
        }
        Command::MigrateData { from, to } => {
            let source = Store::open(&from)
                .await
                .with_context(|| format!("opening {from}"))?;
            let target = Store::open(&to)
                .await
                .with_context(|| format!("opening {to}"))?;
            let counts =
                fixpoint_store::transfer::copy_installation(&source, &target, progress_bar)
                    .await
                    .with_context(|| format!("moving {from} to {to}"))?;
            eprintln!();
            let rows: i64 = counts.iter().map(|(_, n)| n).sum();
            println!(
                "Moved {rows} rows in {} tables from {from} to {to}; every table's count verified.",
                counts.len()
            );
            Ok(())
        }
        Command::Backup { to } => {
            let store = open(&settings).await?;
            store
                .backup_to(&to)
                .await
                .with_context(|| format!("backing up to {}", to.display()))?;
            println!("Backed up {} to {}.", settings.database_url, to.display());
            Ok(())
        }
        Command::Serve { demo } => serve(settings, demo).await,
        Command::Mail {
            command: MailCommand::Receive,
        } => {
            use std::io::Read;
            let mut raw = Vec::new();
            std::io::stdin()
                .take(fixpoint_core::mail::MAX_INBOUND_BYTES as u64 + 1)
                .read_to_end(&mut raw)
                .context("reading the message on standard input")?;
            let inbox = messaging_settings(&settings)?.inbox();
            // The database being unreachable is temporary to the mail server: 75 asks it
            // to keep the message and try again.
            let store = match open(&settings).await {
                Ok(store) => store,
                Err(e) => {
                    eprintln!("fixpoint mail receive: the message was not stored: {e:#}");
                    std::process::exit(75);
                }
            };
            match fixpoint_server::service::inbound::receive(
                &store,
                &inbox,
                &raw,
                jiff::Timestamp::now(),
            )
            .await
            {
                Ok(received) => {
                    println!("{}", serde_json::to_string(&received)?);
                    Ok(())
                }
                Err(e) => {
                    eprintln!("fixpoint mail receive: the message was not stored: {e}");
                    std::process::exit(75);
                }
            }
        }
    }
}

async fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    let store = open(&settings).await?;
    if demo {
        match demo::seed(&store, 300).await {
            Ok(()) => {}
            Err(e) => tracing::info!("demo data not seeded: {e:#}"),
        }
    }
    let first_start = bootstrap_admin_key(&store).await?;
    bootstrap_admin_person(&store).await?;
    // A tenant profile sets up a new installation; later, the admin's settings stand.
    if let (true, Some(name)) = (first_start, &settings.tenant_profile) {
        let profile = fixpoint_core::catalog::WorkflowSettings::profile(name)
            .context("tenant profiles are checked when settings are read")?;
        fixpoint_server::service::catalog::save_settings(&store, profile).await?;
        println!("Applied the {name} tenant profile's workflow settings.");
    }
    let addr: SocketAddr = settings
        .listen
        .parse()
        .with_context(|| format!("listen address '{}'", settings.listen))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    tracing::info!(address = %listener.local_addr()?, database = %settings.database_url, "Fixpoint is serving");
    println!(
        "Fixpoint is serving on http://{}/ (API docs: /api/v1/docs)",
        listener.local_addr()?
    );
    if settings.sweep_interval_secs > 0 {
        let interval = std::time::Duration::from_secs(settings.sweep_interval_secs);
        fixpoint_server::service::escalation::spawn_sweeper(
            store.clone(),
            fixpoint_server::Clock::System,
            interval,
        );
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    };
    let messaging = std::sync::Arc::new(messaging_settings(&settings)?);
    let outbound =
        fixpoint_server::messaging::Outbound::new(&messaging).map_err(anyhow::Error::msg)?;
    fixpoint_server::messaging::spawn(
        store.clone(),
        fixpoint_server::Clock::System,
        messaging.clone(),
        outbound,
        std::time::Duration::from_secs(1),
    );
    if let Some(listen) = &settings.smtp_listen {
        let smtp = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding the SMTP listener {listen}"))?;
        println!("Receiving mail by SMTP on {}", smtp.local_addr()?);
        tokio::spawn(fixpoint_server::smtp::serve(
            smtp,
            store.clone(),
            fixpoint_server::Clock::System,
            messaging.inbox(),
        ));
    }
    let app = fixpoint_server::router(
        store.clone(),
        fixpoint_server::Clock::System,
        messaging,
        fixpoint_dialects::routes(&fixpoint_dialects::Settings {
            atera_requests_per_minute: settings.atera_requests_per_minute,
            autotask_requests_per_hour: settings.autotask_requests_per_hour,
            halopsa_requests_per_window: settings.halopsa_requests_per_window,
        }),
    );
    fixpoint_server::serve(listener, app, shutdown).await?;
    store.close().await;
    Ok(())
}

fn messaging_settings(settings: &Settings) -> anyhow::Result<fixpoint_server::messaging::Settings> {
    let mail = match (&settings.mail_from, &settings.smtp_url) {
        (Some(from), Some(url)) => Some(
            fixpoint_server::messaging::MailSettings::new(from, url).map_err(anyhow::Error::msg)?,
        ),
        (None, None) => None,
        _ => anyhow::bail!("mail out needs both FIXPOINT_MAIL_FROM and FIXPOINT_SMTP_URL"),
    };
    let allows = |n: &str| settings.webhook_allow.iter().any(|a| a == n);
    Ok(fixpoint_server::messaging::Settings {
        mail,
        webhook_policy: fixpoint_core::webhook::AddressPolicy {
            loopback: allows("loopback"),
            private: allows("private"),
        },
    })
}

/// One line per table, redrawn in place: `tickets  [#########.....]  45000/100000`.
fn progress_bar(table: &str, done: i64, total: i64) {
    use std::io::Write;
    let width = 30;
    let filled = if total > 0 {
        (done * width / total) as usize
    } else {
        width as usize
    };
    let bar = format!(
        "{}{}",
        "#".repeat(filled),
        ".".repeat(width as usize - filled.min(width as usize))
    );
    let mut err = std::io::stderr();
    let _ = write!(err, "\r{table:<28} [{bar}] {done}/{total}");
    if done >= total {
        let _ = writeln!(err);
    }
    let _ = err.flush();
}

/// On a first start there is no way in: create an admin key and print it once.
/// Creates and prints an admin key when none exists (a first start); says whether it did.
struct NewPerson<'a> {
    email: &'a str,
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
}

/// Gives the technician with this email a login, creating the technician if needed.
async fn add_person(
    store: &Store,
    person: NewPerson<'_>,
    password: &str,
    role: Role,
) -> anyhow::Result<()> {
    use fixpoint_server::service::{parties, people};
    let filter = fixpoint_store::parties::PartyFilter {
        email: Some(person.email.to_lowercase()),
        ..Default::default()
    };
    let page = fixpoint_store::parties::Page {
        after: None,
        limit: 1,
    };
    let existing = parties::resources(store, &filter, &page)
        .await
        .map_err(|e| anyhow::anyhow!("{}", fixpoint_server::errors::ApiError::from(e).detail))?;
    let outcome = match existing.first() {
        Some(resource) => people::set_login(store, resource.id, password, role).await,
        None => {
            let local = person.email.split('@').next().unwrap_or("person");
            let new = fixpoint_core::parties::NewResource {
                first_name: person.first_name.unwrap_or(local).to_owned(),
                last_name: person.last_name.unwrap_or("-").to_owned(),
                email: person.email.to_owned(),
                active: true,
            };
            people::create_person(store, new, password, role)
                .await
                .map(drop)
        }
    };
    outcome.map_err(|e| anyhow::anyhow!("{}", fixpoint_server::errors::ApiError::from(e).detail))
}

/// On a new installation nobody can sign in to the web UI: an admin is created and
/// its password printed once.
async fn bootstrap_admin_person(store: &Store) -> anyhow::Result<()> {
    let anyone = fixpoint_server::service::people::anyone_can_sign_in(store)
        .await
        .map_err(|e| anyhow::anyhow!("{}", fixpoint_server::errors::ApiError::from(e).detail))?;
    if anyone {
        return Ok(());
    }
    let email = "admin@fixpoint.local";
    let password = auth::generate_password();
    let person = NewPerson {
        email,
        first_name: Some("Fixpoint"),
        last_name: Some("Admin"),
    };
    add_person(store, person, &password, Role::Admin).await?;
    println!(
        "Nobody could sign in to the web UI, so an admin was created. Sign in as {email} with this password (shown only now):\n\n    {password}\n"
    );
    Ok(())
}

async fn bootstrap_admin_key(store: &Store) -> anyhow::Result<bool> {
    let mut conn = store.read().await?;
    let count = fixpoint_store::auth::active_api_key_count(&mut conn).await?;
    drop(conn);
    if count == 0 {
        let (_, key) = auth::create_key(store, "bootstrap-admin", Role::Admin).await?;
        println!(
            "No API keys existed, so an admin key was created. It is shown only now; keep it safe:\n\n    {key}\n"
        );
    }
    Ok(count == 0)
}
