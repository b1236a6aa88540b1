//! `cmms token create|list|revoke`: API token management over the pipeline's token service.
//!
//! `create` prints the token alone on stdout (so `TOKEN=$(cmms token create …)` captures it) and
//! everything else on stderr; no command ever shows a stored hash.

use crate::cli::{OutputFormat, TokenAction};
use crate::config::Config;
use cmms_core::auth::Scope;
use cmms_pipeline::auth;
use cmms_store::Store;
use cmms_store::tokens::TokenRow;
use jiff::Timestamp;
use std::process::ExitCode;

/// Runs one `cmms token` action.
pub async fn run(config: &Config, action: TokenAction) -> anyhow::Result<ExitCode> {
    let store = match action {
        TokenAction::List { .. } => config.open_existing_store().await?,
        _ => Store::open(&config.database_url).await?,
    };
    let now = Timestamp::now().as_millisecond();
    match action {
        TokenAction::Create { scope, name } => {
            let scopes: Vec<Scope> = scope.into_iter().map(Scope::from).collect();
            let (row, token) = auth::create_token(&store, name.as_deref(), &scopes, now).await?;
            outln!("{token}");
            eprintln!(
                "created API token {} ({}) with scopes {}; copy it now: it is stored hashed and cannot be shown again",
                row.id, row.name, row.scopes
            );
        }
        TokenAction::List { format } => {
            let tokens = auth::list_tokens(&store).await?;
            match format {
                OutputFormat::Json => {
                    let tokens: Vec<TokenJson> = tokens.into_iter().map(TokenJson::from).collect();
                    outln!("{}", serde_json::to_string_pretty(&tokens)?)
                }
                OutputFormat::Table => print_tokens(&tokens),
            }
        }
        TokenAction::Revoke { token } => {
            let row = auth::revoke_token(&store, &token, now).await?;
            outln!("revoked API token {} ({})", row.id, row.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A token as `cmms token list --format json` prints it: instants as RFC 3339 UTC.
#[derive(serde::Serialize)]
struct TokenJson {
    id: i64,
    name: String,
    scopes: String,
    created_at: String,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

impl From<TokenRow> for TokenJson {
    fn from(t: TokenRow) -> Self {
        use cmms_core::time::rfc3339_utc;
        TokenJson {
            id: t.id,
            name: t.name,
            scopes: t.scopes,
            created_at: rfc3339_utc(t.created_at),
            last_used_at: t.last_used_at.map(rfc3339_utc),
            revoked_at: t.revoked_at.map(rfc3339_utc),
        }
    }
}

fn utc(ms: Option<i64>) -> String {
    ms.map_or_else(|| "-".to_owned(), cmms_core::time::rfc3339_utc)
}

fn print_tokens(tokens: &[TokenRow]) {
    outln!("{:>5}  {:<24} {:<28} {:<20}  {:<20}  revoked", "id", "name", "scopes", "created", "last used");
    for t in tokens {
        outln!(
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
        outln!("(no tokens: create one with `cmms token create --scope read`)");
    }
}
