//! `folio user add` and `folio user passwd`, for installs without a browser at hand.

use std::io::BufRead;

use anyhow::{Context, bail};
use sqlx::PgPool;

use crate::{auth::password, config::UserCommand, db, domain::role::Role};

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
