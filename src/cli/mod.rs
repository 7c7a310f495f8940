//! The commands besides `serve`: users, import and export, for installs without a browser at hand.

pub mod demo;

use std::{
    io::{BufRead, IsTerminal, Write},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::{Context, bail};
use sqlx::PgPool;

use crate::{
    auth::password,
    config::{Config, ExportArgs, ImportArgs, SpamCommand, UserCommand},
    db,
    domain::role::Role,
    export, import,
};

/// `folio import blogger|wxr FILE`: all or nothing, with a progress bar on a terminal.
pub async fn import(db: &PgPool, args: &ImportArgs) -> anyhow::Result<()> {
    let format = args.format;
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let input = std::io::BufReader::with_capacity(256 * 1024, file);
    let bytes_read = Arc::new(AtomicU64::new(0));
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {bytes}/{total_bytes} ({eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(format!("importing {}", args.file.display()));
        bar
    });
    let ticker = bar.clone().map(|bar| {
        let bytes_read = bytes_read.clone();
        tokio::spawn(async move {
            loop {
                bar.set_position(bytes_read.load(Ordering::Relaxed));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    });
    let result = import::run(db, format, input, bytes_read).await;
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    match result {
        Ok(summary) => {
            println!(
                "folio: imported {} ({} export)",
                args.file.display(),
                format.label()
            );
            for line in summary.lines() {
                println!("  {line}");
            }
            Ok(())
        }
        Err(error) => bail!(
            "could not import {}: {error}\nNothing was changed: the blog is as it was before.",
            args.file.display()
        ),
    }
}

/// `folio export wxr|atom > FILE`.
pub async fn export(db: &PgPool, args: &ExportArgs) -> anyhow::Result<()> {
    let format = args.format;
    let settings = db::settings::load(db).await?;
    let config = Config::with_base_url(&args.base_url);
    let site = export::Site {
        base_url: config.base_url.clone(),
        host: config.host().to_owned(),
        time_zone: settings.time_zone(),
        title: settings.title,
        description: settings.description,
    };
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(8);
    let db = db.clone();
    let writing = tokio::spawn(async move { export::run(&db, format, &site, sender).await });
    let mut stdout = std::io::stdout().lock();
    while let Some(chunk) = receiver.recv().await {
        stdout
            .write_all(&chunk)
            .context("writing the export to standard output")?;
    }
    stdout.flush()?;
    writing.await??;
    Ok(())
}

pub async fn user(db: &PgPool, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            email, name, role, ..
        } => {
            let role = Role::parse(&role).context("--role must be admin, editor or author")?;
            let email = email.trim();
            if !email.contains('@') || email.contains(char::is_whitespace) {
                bail!("--email must be an email address like name@example.com");
            }
            if name.trim().is_empty() {
                bail!("--name must not be empty");
            }
            let hash = password::hash(read_password()?).await?;
            match db::users::create(db, email, name.trim(), role.as_str(), &hash).await {
                Ok(_) => {
                    println!(
                        "folio: added {} ({email}) as {}",
                        name.trim(),
                        role.as_str()
                    );
                    Ok(())
                }
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    bail!("a user with the email {email} already exists; use `folio user passwd`")
                }
                Err(e) => Err(e.into()),
            }
        }
        UserCommand::Passwd { email, .. } => {
            let user = db::users::find_by_email(db, email.trim())
                .await?
                .with_context(|| format!("no user has the email {}", email.trim()))?;
            let hash = password::hash(read_password()?).await?;
            db::users::set_password(db, user.id, &hash).await?;
            println!("folio: the password of {} is changed", user.email);
            Ok(())
        }
        UserCommand::ResetSecondSteps { email } => {
            if !db::sign_in::remove_all_second_steps_of(db, email.trim()).await? {
                bail!("no user has the email {}", email.trim());
            }
            println!(
                "folio: {} signs in with their password alone now (and is signed out everywhere)",
                email.trim()
            );
            Ok(())
        }
    }
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if let Some(problem) = password::problem(&password) {
        bail!("the password is not accepted: {problem}");
    }
    Ok(password)
}

/// `folio spam retrain [--from-status]` and `folio spam status`.
pub async fn spam(db: &PgPool, command: SpamCommand) -> anyhow::Result<()> {
    let stats = match command {
        SpamCommand::Retrain { from_status } => {
            let mut tx = db.begin().await?;
            let rebuilt = crate::spam::train::rebuild(&mut tx, from_status).await?;
            tx.commit().await?;
            if from_status {
                println!(
                    "folio: {} comments now teach the filter what their status says",
                    rebuilt.labelled_from_status
                );
            }
            print!("folio: the spam filter was counted again: ");
            rebuilt.stats
        }
        SpamCommand::Status => {
            print!("folio: ");
            db::spam::stats(db).await?
        }
    };
    let settings = db::settings::load(db).await?;
    println!(
        "learned from {} spam and {} good comments, {} distinct tokens",
        stats.spam, stats.ham, stats.tokens
    );
    let needed = i64::from(settings.spam_min_training);
    if stats.spam < needed || stats.ham < needed {
        println!("folio: it shows scores only until {needed} comments of each kind have taught it");
    } else {
        let (hold, junk) = settings.spam_thresholds();
        println!(
            "folio: it holds comments scoring {hold:.2} or more and marks {junk:.2} or more as spam"
        );
    }
    Ok(())
}
