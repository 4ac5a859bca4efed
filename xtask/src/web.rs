//! `cargo xtask web`: builds the browser SPA (`crates/web`) into `crates/web/dist`.
//!
//! 1. `cargo build -p web --target wasm32-unknown-unknown --profile wasm-release`;
//! 2. wasm-bindgen, used as a library (`wasm-bindgen-cli-support`, pinned with `=` to the
//!    `wasm-bindgen` in Cargo.lock), so nothing has to be installed or downloaded;
//! 3. `wasm-opt -Oz` when binaryen is installed (skipped with a note otherwise);
//! 4. content-hashed names under `dist/assets/` (served with a one-year immutable cache) and
//!    `dist/index.html` (served with `no-cache`) that refers to them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use crate::{cargo, root, status};

const TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "wasm-release";

/// WebAssembly features rustc enables by default for `wasm32-unknown-unknown`; wasm-opt must
/// accept them in its input and may keep using them.
const WASM_FEATURES: [&str; 6] = [
    "--enable-bulk-memory",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-reference-types",
    "--enable-multivalue",
];

pub fn build() -> anyhow::Result<()> {
    let root = root();
    let crate_dir = root.join("crates/web");
    check_bindgen_version(&root)?;

    status(cargo().args([
        "build",
        "--package",
        "web",
        "--lib",
        "--target",
        TARGET,
        "--profile",
        PROFILE,
    ]))?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        })
        .unwrap_or_else(|| root.join("target"));
    let input = target_dir.join(TARGET).join(PROFILE).join("web.wasm");

    let staging = target_dir.join("web-bindgen");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&input)
        .out_name("web")
        .web(true)?
        .omit_default_module_path(false)
        .typescript(false)
        .generate(&staging)
        .context("wasm-bindgen failed")?;
    let bg = staging.join("web_bg.wasm");
    optimise(&bg)?;

    let js = std::fs::read(staging.join("web.js"))?;
    let wasm = std::fs::read(&bg)?;
    let css = std::fs::read(crate_dir.join("style.css")).context("crates/web/style.css")?;
    let template =
        std::fs::read_to_string(crate_dir.join("index.html")).context("crates/web/index.html")?;

    let dist = crate_dir.join("dist");
    let assets = dist.join("assets");
    std::fs::create_dir_all(&assets)?;
    let js_name = format!("web-{}.js", short_hash(&js));
    let wasm_name = format!("web-{}_bg.wasm", short_hash(&wasm));
    let css_name = format!("style-{}.css", short_hash(&css));
    std::fs::write(assets.join(&js_name), &js)?;
    std::fs::write(assets.join(&wasm_name), &wasm)?;
    std::fs::write(assets.join(&css_name), &css)?;
    // Inline JS of dependencies (`#[wasm_bindgen(inline_js)]`) is imported relative to the
    // glue; its directory names already carry a hash.
    let snippets = staging.join("snippets");
    if snippets.is_dir() {
        copy_dir(&snippets, &assets.join("snippets"))?;
    }

    let html = template
        .replace("{{css}}", &format!("/assets/{css_name}"))
        .replace("{{js}}", &format!("/assets/{js_name}"))
        .replace("{{wasm}}", &format!("/assets/{wasm_name}"));
    if html.contains("{{") {
        bail!("crates/web/index.html has a placeholder other than {{css}}, {{js}}, {{wasm}}");
    }
    // Written last and renamed into place, so a running server never serves a page whose
    // assets are not there yet.
    let temporary = dist.join("index.html.tmp");
    std::fs::write(&temporary, html)?;
    std::fs::rename(&temporary, dist.join("index.html"))?;

    // Assets of earlier builds are no longer referenced.
    for entry in std::fs::read_dir(&assets)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let current = [&js_name, &wasm_name, &css_name].contains(&&name) || name == "snippets";
        if !current {
            std::fs::remove_file(entry.path())
                .with_context(|| format!("cannot remove {}", entry.path().display()))?;
        }
    }

    println!("SPA built into {}", dist.display());
    let mut total = 0;
    for (name, bytes) in [(&wasm_name, &wasm), (&js_name, &js), (&css_name, &css)] {
        let gzipped = gzip_len(bytes)?;
        total += gzipped;
        println!(
            "  assets/{name:<32} {:>8} bytes, {:>7} gzipped",
            bytes.len(),
            gzipped
        );
    }
    println!("  first page transfer (gzip, without index.html): {total} bytes");
    Ok(())
}

/// The glue generator and the runtime must be the same version, or the page fails at start
/// with an obscure schema error: fail here instead, with the fix.
fn check_bindgen_version(root: &Path) -> anyhow::Result<()> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("Cargo.lock")?;
    let runtime = locked_version(&lock, "wasm-bindgen");
    let generator = locked_version(&lock, "wasm-bindgen-cli-support");
    match (runtime, generator) {
        (Some(runtime), Some(generator)) if runtime == generator => Ok(()),
        (runtime, generator) => bail!(
            "wasm-bindgen {runtime:?} and wasm-bindgen-cli-support {generator:?} differ in \
             Cargo.lock: pin `wasm-bindgen-cli-support = \"=<version of wasm-bindgen>\"` in the \
             workspace Cargo.toml"
        ),
    }
}

fn locked_version<'a>(lock: &'a str, package: &str) -> Option<&'a str> {
    let header = format!("name = \"{package}\"\nversion = \"");
    let start = lock.find(&header)? + header.len();
    let end = start + lock[start..].find('"')?;
    Some(&lock[start..end])
}

/// `wasm-opt -Oz` in place, when binaryen is installed.
fn optimise(wasm: &Path) -> anyhow::Result<()> {
    let found = Command::new("wasm-opt").arg("--version").output();
    if !found.is_ok_and(|output| output.status.success()) {
        println!(
            "note: wasm-opt not found on PATH (Debian package `binaryen`): the WebAssembly is \
             left unoptimised, about twice as large"
        );
        return Ok(());
    }
    let optimised = wasm.with_extension("opt.wasm");
    status(
        Command::new("wasm-opt")
            .arg("-Oz")
            .args(WASM_FEATURES)
            .arg("-o")
            .arg(&optimised)
            .arg(wasm),
    )?;
    std::fs::rename(&optimised, wasm)?;
    Ok(())
}

fn short_hash(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..8])
}

fn gzip_len(bytes: &[u8]) -> anyhow::Result<usize> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_locked_versions() {
        let lock = "[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n\n\
                    [[package]]\nname = \"wasm-bindgen-cli-support\"\nversion = \"0.2.130\"\n";
        assert_eq!(locked_version(lock, "wasm-bindgen"), Some("0.2.130"));
        assert_eq!(
            locked_version(lock, "wasm-bindgen-cli-support"),
            Some("0.2.130")
        );
        assert_eq!(locked_version(lock, "leptos"), None);
    }

    #[test]
    fn hashes_are_short_and_stable() {
        assert_eq!(short_hash(b"abc"), "ba7816bf8f01cfea");
    }
}
