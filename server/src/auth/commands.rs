//! The `user` and `token` subcommands. They change `USERS_FILE` in one step
//! (under a lock, so two at once cannot lose each other's change), and return
//! once running servers are sure to have seen the change.

use super::users_file::UsersFile;
use crate::config::{TokenCommand, UserCommand};
use std::io::{BufRead, IsTerminal};
use std::path::Path;

pub fn user(path: &Path, command: &UserCommand) -> Result<(), String> {
    match command {
        UserCommand::Add { name, role } => {
            let password = read_password(name)?;
            change(path, |file| file.set_user(name, *role, &password))?;
            eprintln!(
                "user {name:?} ({}) saved in {}",
                role.as_str(),
                path.display()
            );
        }
        UserCommand::Remove { name } => {
            change(path, |file| {
                file.remove_user(name)
                    .then_some(())
                    .ok_or_else(|| format!("there is no user {name:?} in {}", path.display()))
            })?;
            eprintln!("user {name:?} removed");
        }
        UserCommand::List => {
            for user in UsersFile::load(path)?.users {
                println!("{}\t{}", user.name, user.role.as_str());
            }
        }
    }
    Ok(())
}

pub fn token(path: &Path, command: &TokenCommand) -> Result<(), String> {
    match command {
        TokenCommand::Create { name, role } => {
            let mut token = String::new();
            change(path, |file| {
                token = file.create_token(name, *role)?;
                Ok(())
            })?;
            eprintln!(
                "token {name:?} ({}) created; this is the only time it is shown:",
                role.as_str()
            );
            println!("{token}");
        }
        TokenCommand::Revoke { name } => {
            change(path, |file| {
                file.revoke_token(name)
                    .then_some(())
                    .ok_or_else(|| format!("there is no token {name:?} in {}", path.display()))
            })?;
            eprintln!("token {name:?} revoked");
        }
        TokenCommand::List => {
            for token in UsersFile::load(path)?.tokens {
                println!("{}\t{}", token.name, token.role.as_str());
            }
        }
    }
    Ok(())
}

/// Reads, changes and writes the file, holding `<file>.lock` meanwhile.
fn change(
    path: &Path,
    edit: impl FnOnce(&mut UsersFile) -> Result<(), String>,
) -> Result<(), String> {
    let lock_path = path.with_extension("lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    let mut file = UsersFile::load(path)?;
    edit(&mut file)?;
    file.save(path)?;
    // Running servers look at the file this often: once this command returns,
    // every request sees the change (a revoked token is refused, say).
    std::thread::sleep(super::credentials::LOOK_EVERY + std::time::Duration::from_millis(20));
    Ok(())
}

/// From the terminal (asked twice, not echoed), else one line of standard input.
fn read_password(name: &str) -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("password for {name}: "))
            .map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the two passwords differ".into());
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}
