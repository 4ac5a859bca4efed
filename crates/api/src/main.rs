use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    api::cli::Cli::parse().run().await
}
