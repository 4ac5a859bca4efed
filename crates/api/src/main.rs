use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    api::os::return_large_buffers_to_the_system();
    api::cli::Cli::parse().run().await
}
