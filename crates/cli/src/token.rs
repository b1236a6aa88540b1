//! `cmms token create|list|revoke`: API token management over the pipeline's token service.
//!
//! `create` prints the token alone on stdout (so `TOKEN=$(cmms token create …)` captures it) and
//! everything else on stderr; no command ever shows a stored hash.

use crate::cli::{OutputFormat, TokenAction};
use crate::config::Config;
use cmms_core::auth::Scope;
use cmms_core::time::from_epoch_ms;
use cmms_pipeline::auth;
use cmms_store::Store;
use cmms_store::tokens::TokenRow;
use jiff::Timestamp;
use std::process::ExitCode;

/// Runs one `cmms token` action.
pub async fn run(config: &Config, action: TokenAction) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config.database_url).await?;
    let now = Timestamp::now().as_millisecond();
    match action {
        TokenAction::Create { scope, name } => {
            let scopes: Vec<Scope> = scope.into_iter().map(Scope::from).collect();
            let (row, token) = auth::create_token(&store, name.as_deref(), &scopes, now).await?;
            println!("{token}");
            eprintln!(
                "created API token {} ({}) with scopes {}; copy it now: it is stored hashed and cannot be shown again",
                row.id, row.name, row.scopes
            );
        }
        TokenAction::List { format } => {
            let tokens = auth::list_tokens(&store).await?;
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&tokens)?),
                OutputFormat::Table => print_tokens(&tokens),
            }
        }
        TokenAction::Revoke { token } => {
            let row = auth::revoke_token(&store, &token, now).await?;
            println!("revoked API token {} ({})", row.id, row.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn utc(ms: Option<i64>) -> String {
    ms.map_or_else(|| "-".to_owned(), |ms| from_epoch_ms(ms).strftime("%Y-%m-%d %H:%M:%SZ").to_string())
}

fn print_tokens(tokens: &[TokenRow]) {
    println!("{:>5}  {:<24} {:<28} {:<20}  {:<20}  revoked", "id", "name", "scopes", "created", "last used");
    for t in tokens {
        println!(
            "{:>5}  {:<24} {:<28} {:<20}  {:<20}  {}",
            t.id,
            t.name,
            t.scopes,
            utc(Some(t.created_at)),
            utc(t.last_used_at),
            utc(t.revoked_at)
        );
    }
    if tokens.is_empty() {
        println!("(no tokens: create one with `cmms token create --scope read`)");
    }
}
