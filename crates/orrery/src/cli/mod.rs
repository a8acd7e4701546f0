//! Command dispatch: each subcommand in its own module.

mod access;
mod alerts;
mod apply;
pub(crate) mod args;
mod audit;
mod cluster;
mod connect;
mod credentials;
mod jobs;
mod login;
mod output;
mod runs;
mod schedule;
mod secrets;
mod serve;
mod server_config;
mod sso_login;
mod tasks;
mod versions;
mod worker;

use args::{Cli, Command};
use std::process::ExitCode;

pub(crate) async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Server(server) => serve::serve(*server, cli.global.data_dir_flag()).await,
        Command::Apply(apply) => apply::apply(&cli.global, &apply).await,
        Command::Job(command) => jobs::job(&cli.global, command).await,
        Command::Run(command) => runs::run(&cli.global, command).await,
        Command::Task(command) => tasks::task(&cli.global, command).await,
        Command::Backfill(args) => schedule::backfill(&cli.global, &args).await,
        Command::Cron(args::CronCommand::Next(args)) => schedule::cron_next(&cli.global, &args),
        Command::Worker(args) => worker::worker(&cli.global, args).await,
        Command::Token(command) => access::token(&cli.global, command).await,
        Command::Project(command) => access::project(&cli.global, command).await,
        Command::User(command) => access::user(&cli.global, command).await,
        Command::Member(command) => access::member(&cli.global, command).await,
        Command::Audit(command) => audit::audit(&cli.global, command).await,
        Command::Secret(command) => secrets::secret(&cli.global, command).await,
        Command::Alert(command) => alerts::alert(&cli.global, command).await,
        Command::Silence(command) => alerts::silence(&cli.global, command).await,
        Command::Receiver(command) => alerts::receiver(&cli.global, command).await,
        Command::Login {
            username,
            password_stdin,
            oidc,
            no_browser,
        } => match (oidc, username) {
            (true, _) => sso_login::login(&cli.global, !no_browser).await,
            (false, Some(username)) => login::login(&cli.global, &username, password_stdin).await,
            (false, None) => anyhow::bail!("give --username (or --oidc to sign in through SSO)"),
        },
        Command::Logout => login::logout(&cli.global).await,
        Command::Whoami => login::whoami(&cli.global).await,
        Command::Cluster(args::ClusterCommand::Status) => cluster::status(&cli.global).await,
    }
}
