use clap::Parser;

/// glibc's allocator, once a freed multi-megabyte buffer has raised its mmap threshold, serves
/// later ones (uploaded files) from per-thread arenas that keep them: 20 uploads of 5 MB at once
/// peaked near 300 MB. mimalloc gives such memory back to the system.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    api::cli::Cli::parse().run().await
}
