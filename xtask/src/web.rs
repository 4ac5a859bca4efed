//! `cargo xtask web`: builds the browser SPA (`crates/web`) into `crates/web/dist`.
//!
//! 1. `cargo build -p web --target wasm32-unknown-unknown --profile wasm-release`, linked with
//!    its relocations (`.cargo/config.toml`);
//! 2. wasm-split, as a library (`wasm_split_cli_support`): each group of pages (`lazy_pages!`
//!    in `crates/web/src/app.rs`) and the code only it uses become modules of their own, which
//!    a small generated module loads when a page of the group is first opened, so the first
//!    page (the login form) downloads only what it needs;
//! 3. wasm-bindgen on the main module, used as a library (`wasm-bindgen-cli-support`, pinned
//!    with `=` to the `wasm-bindgen` in Cargo.lock), so nothing has to be installed or
//!    downloaded;
//! 4. `wasm-opt -Oz` on every module when binaryen is installed (skipped with a note otherwise);
//! 5. content-hashed names under `dist/assets/` (served with a one-year immutable cache) and
//!    `dist/index.html` (served with `no-cache`) that refers to them;
//! 6. each asset also precompressed at the highest levels (`.br`, `.gz`): the server sends
//!    those to browsers that accept them instead of compressing on the fly at a fast level.

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
    ensure_wasm_target();
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
    std::fs::create_dir_all(&staging)?;
    // Each group of pages (`lazy_pages!`) becomes a module of its own, with the code only it
    // uses; the main module keeps what the first page needs. Names are placeholders until the
    // files are hashed (see `Bundle::name`).
    let raw = std::fs::read(&input)?;
    let main_split = staging.join("web_split.wasm");
    let split = wasm_split_cli_support::transform({
        let mut options = wasm_split_cli_support::Options::new(&raw);
        options.output_dir = &staging;
        options.main_out_path = &main_split;
        options.link_name = LINK_MODULE;
        options.main_module = MAIN_MODULE;
        options
    })
    .map_err(|e| anyhow::anyhow!("wasm-split failed: {e:?}"))?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&main_split)
        .out_name("web")
        .web(true)?
        .keep_lld_exports(true)
        .demangle(false)
        .omit_default_module_path(false)
        .typescript(false)
        .generate(&staging)
        .context("wasm-bindgen failed")?;
    let bg = staging.join("web_bg.wasm");
    optimise(&bg)?;
    for chunk in &split.split_modules {
        optimise(chunk)?;
    }

    let bundle = Bundle::name(
        std::fs::read_to_string(staging.join("web.js"))?,
        std::fs::read(&bg)?,
        std::fs::read_to_string(staging.join(LINK_MODULE))?,
        split
            .split_modules
            .iter()
            .map(|path| {
                let stem = path.file_stem().unwrap_or_default().to_string_lossy();
                Ok((format!("./{stem}.wasm"), std::fs::read(path)?))
            })
            .collect::<anyhow::Result<_>>()?,
    );
    let css = std::fs::read(crate_dir.join("style.css")).context("crates/web/style.css")?;
    let template =
        std::fs::read_to_string(crate_dir.join("index.html")).context("crates/web/index.html")?;

    let dist = crate_dir.join("dist");
    let assets = dist.join("assets");
    std::fs::create_dir_all(&assets)?;
    let css_name = format!("style-{}.css", short_hash(&css));
    let (js_name, wasm_name) = (bundle.js.0.clone(), bundle.wasm.0.clone());
    let mut files: Vec<(String, Vec<u8>, bool)> = vec![
        (bundle.wasm.0, bundle.wasm.1, true),
        (bundle.js.0, bundle.js.1.into_bytes(), true),
        (css_name.clone(), css, true),
        // The glue imports it, so it comes with the first page; the modules it loads do not.
        (bundle.link.0, bundle.link.1.into_bytes(), true),
    ];
    files.extend(
        bundle
            .chunks
            .into_iter()
            .map(|(name, bytes)| (name, bytes, false)),
    );
    let mut sizes = Vec::new();
    for (name, bytes, first_page) in &files {
        let gzipped = gzip(bytes)?;
        let brotli = brotli(bytes)?;
        std::fs::write(assets.join(name), bytes)?;
        std::fs::write(assets.join(format!("{name}.gz")), &gzipped)?;
        std::fs::write(assets.join(format!("{name}.br")), &brotli)?;
        sizes.push((
            name.clone(),
            bytes.len(),
            gzipped.len(),
            brotli.len(),
            *first_page,
        ));
    }
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
        let base = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".br"))
            .unwrap_or(&name);
        let current = files.iter().any(|(current, ..)| current == base) || name == "snippets";
        if !current {
            std::fs::remove_file(entry.path())
                .with_context(|| format!("cannot remove {}", entry.path().display()))?;
        }
    }

    println!("SPA built into {}", dist.display());
    let (mut total_gzip, mut total_brotli) = (0, 0);
    for (name, raw, gzipped, brotli, first_page) in sizes {
        if first_page {
            total_gzip += gzipped;
            total_brotli += brotli;
        }
        let when = if first_page {
            ""
        } else {
            " (when its page opens)"
        };
        println!("  assets/{name:<40} {raw:>8} bytes, {gzipped:>7} gzip, {brotli:>7} brotli{when}");
    }
    println!(
        "  first page transfer without index.html: {total_gzip} bytes gzip, {total_brotli} \
         bytes brotli"
    );
    Ok(())
}

/// The module wasm-split writes to load the split modules (it imports `initSync` from the main
/// module's glue), and the glue's name as that module first refers to it.
const LINK_MODULE: &str = "./split.js";
const MAIN_MODULE: &str = "./web.js";

/// The glue, the main module, the link module and the split modules under their final names.
struct Bundle {
    js: (String, String),
    wasm: (String, Vec<u8>),
    link: (String, String),
    chunks: Vec<(String, Vec<u8>)>,
}

impl Bundle {
    /// The glue imports the link module and the link module imports the glue, so neither name
    /// can be a hash of its own file: the glue, the main module and the link module are named by
    /// one hash of everything as generated (before any name is put in), split modules by their
    /// own hash too.
    fn name(js: String, wasm: Vec<u8>, link: String, split: Vec<(String, Vec<u8>)>) -> Self {
        let mut all = Sha256::new();
        all.update(js.as_bytes());
        all.update(&wasm);
        all.update(link.as_bytes());
        let mut chunks = Vec::new();
        let mut link_text = link;
        for (placeholder, bytes) in split {
            all.update(&bytes);
            let name = format!("page-{}.wasm", short_hash(&bytes));
            link_text = link_text.replace(&format!("\"{placeholder}\""), &format!("\"./{name}\""));
            chunks.push((name, bytes));
        }
        let build = hex::encode(&all.finalize()[..8]);
        let js_name = format!("web-{build}.js");
        let link_name = format!("split-{build}.js");
        let link_text = link_text.replacen(
            &format!("from \"{MAIN_MODULE}\""),
            &format!("from \"./{js_name}\""),
            1,
        );
        // Only where the glue imports it (once per group of pages): the main module's imports
        // keep the name they have.
        let js = js.replace(
            &format!("from \"{LINK_MODULE}\""),
            &format!("from \"./{link_name}\""),
        );
        Self {
            js: (js_name, js),
            wasm: (format!("web-{build}_bg.wasm"), wasm),
            link: (link_name, link_text),
            chunks,
        }
    }
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

/// `wasm-opt -Oz` in place, when binaryen is installed (`WASM_OPT=0` skips it).
fn optimise(wasm: &Path) -> anyhow::Result<()> {
    if std::env::var_os("WASM_OPT").is_some_and(|v| v == "0") {
        println!("note: WASM_OPT=0: wasm-opt skipped");
        return Ok(());
    }
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
    // binaryen 108 (Debian 12's `wasm-opt`) writes every table export as table 0, so the
    // externref table wasm-bindgen exports would point at the function table and the page
    // would fail at start («WebAssembly.Table.set(): Argument 1 is invalid for table»).
    let mut bytes = std::fs::read(&optimised)?;
    if repoint_table_export(&mut bytes, EXTERNREF_TABLE_EXPORT)? {
        println!("note: wasm-opt pointed {EXTERNREF_TABLE_EXPORT} at the wrong table: repaired");
    }
    std::fs::write(wasm, bytes)?;
    std::fs::remove_file(&optimised)?;
    Ok(())
}

/// The export through which wasm-bindgen's JS glue reaches the externref table.
const EXTERNREF_TABLE_EXPORT: &str = "__wbindgen_externrefs";

const SECTION_TABLE: u8 = 4;
const SECTION_EXPORT: u8 = 7;
const EXPORT_KIND_TABLE: u8 = 1;
const REFTYPE_EXTERNREF: u8 = 0x6f;

fn read_leb(bytes: &[u8], at: &mut usize) -> anyhow::Result<u32> {
    let (mut value, mut shift) = (0u32, 0);
    loop {
        let byte = *bytes.get(*at).context("truncated WebAssembly")?;
        *at += 1;
        value |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
        if shift > 28 {
            bail!("LEB128 too long");
        }
    }
}

fn write_leb(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Points the table export `name` at the module's externref table if it points at a table of
/// another type. Returns whether the module was changed.
fn repoint_table_export(module: &mut Vec<u8>, name: &str) -> anyhow::Result<bool> {
    if module.get(..8) != Some(b"\0asm\x01\0\0\0".as_slice()) {
        bail!("not a WebAssembly module");
    }
    // Sections: (id, start of contents, end of contents).
    let mut sections = Vec::new();
    let mut at = 8;
    while at < module.len() {
        let id = module[at];
        at += 1;
        let size = read_leb(module, &mut at)? as usize;
        sections.push((id, at, at + size));
        at += size;
    }
    // Table types, in index order (wasm-bindgen output imports no tables).
    let mut tables = Vec::new();
    if let Some(&(_, start, _)) = sections.iter().find(|s| s.0 == SECTION_TABLE) {
        let mut at = start;
        for _ in 0..read_leb(module, &mut at)? {
            tables.push(*module.get(at).context("truncated table section")?);
            at += 1;
            let flags = read_leb(module, &mut at)?;
            read_leb(module, &mut at)?;
            if flags & 1 == 1 {
                read_leb(module, &mut at)?;
            }
        }
    }
    let Some(externref) = tables.iter().position(|t| *t == REFTYPE_EXTERNREF) else {
        return Ok(false);
    };
    let Some(&(_, start, end)) = sections.iter().find(|s| s.0 == SECTION_EXPORT) else {
        return Ok(false);
    };
    let mut at = start;
    let mut contents = Vec::new();
    let count = read_leb(module, &mut at)?;
    write_leb(&mut contents, count);
    let mut changed = false;
    for _ in 0..count {
        let name_start = at;
        let length = read_leb(module, &mut at)? as usize;
        let export_name = module.get(at..at + length).context("truncated export")?;
        let is_target = export_name == name.as_bytes();
        at += length;
        let kind = *module.get(at).context("truncated export")?;
        at += 1;
        // Name and kind as they were; the index re-encoded.
        contents.extend_from_slice(&module[name_start..at]);
        let mut index = read_leb(module, &mut at)?;
        if is_target
            && kind == EXPORT_KIND_TABLE
            && tables.get(index as usize) != Some(&REFTYPE_EXTERNREF)
        {
            index = externref as u32;
            changed = true;
        }
        write_leb(&mut contents, index);
    }
    if at != end {
        bail!("unexpected bytes at the end of the export section");
    }
    if changed {
        let mut section = vec![SECTION_EXPORT];
        write_leb(&mut section, contents.len() as u32);
        section.extend_from_slice(&contents);
        // The section id byte and its size precede `start`.
        let header_start = start - 1 - leb_len(end - start);
        module.splice(header_start..end, section);
    }
    Ok(changed)
}

fn leb_len(value: usize) -> usize {
    let mut out = Vec::new();
    write_leb(&mut out, value as u32);
    out.len()
}

fn short_hash(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..8])
}

fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

fn brotli(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
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

/// A fresh machine may lack the target; rustup adds it from the usual registry (best effort: the
/// build below says clearly what is missing if this fails).
fn ensure_wasm_target() {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|t| t.trim() == TARGET)
        })
        .unwrap_or(true);
    if !installed {
        let _ = Command::new("rustup")
            .args(["target", "add", TARGET])
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_glue_and_the_link_module_find_each_other_and_the_split_modules_by_final_names() {
        let glue = format!(
            "import * as import1 from \"{LINK_MODULE}\"\nimport * as import2 from \"{LINK_MODULE}\"\n\
             imports = {{ \"{LINK_MODULE}\": import1 }};"
        );
        let link = format!(
            "import {{ initSync }} from \"{MAIN_MODULE}\";\n\
             fetch(new URL(\"./split_cabinet.wasm\", import.meta.url));"
        );
        let bundle = Bundle::name(
            glue,
            b"main".to_vec(),
            link,
            vec![("./split_cabinet.wasm".to_owned(), b"cabinet".to_vec())],
        );
        let (js_name, js) = &bundle.js;
        let (link_name, link) = &bundle.link;
        let (chunk_name, _) = &bundle.chunks[0];
        // Both imports of the link module take its name; the main module's import key does not.
        assert_eq!(
            js.matches(&format!("from \"./{link_name}\"")).count(),
            2,
            "{js}"
        );
        assert!(js.contains(&format!("\"{LINK_MODULE}\": import1")), "{js}");
        assert!(link.contains(&format!("from \"./{js_name}\"")), "{link}");
        assert!(
            link.contains(&format!("new URL(\"./{chunk_name}\"")),
            "{link}"
        );
        assert_eq!(bundle.wasm.0, js_name.replace(".js", "_bg.wasm"));
        // Another split module, another build: every name changes.
        let other = Bundle::name(
            String::new(),
            b"main".to_vec(),
            String::new(),
            vec![("./split_cabinet.wasm".to_owned(), b"changed".to_vec())],
        );
        assert_ne!(&other.js.0, js_name);
        assert_ne!(&other.chunks[0].0, chunk_name);
        // New glue for the same modules (another wasm-bindgen): new names, or browsers would
        // keep the old glue for a year.
        let new_glue = Bundle::name(
            "// other glue".to_owned(),
            b"main".to_vec(),
            String::new(),
            vec![("./split_cabinet.wasm".to_owned(), b"changed".to_vec())],
        );
        assert_ne!(new_glue.js.0, other.js.0);
    }

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
    fn precompressed_assets_decompress_to_the_original() {
        use std::io::Read;
        let original = "Личный кабинет ".repeat(200).into_bytes();
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&gzip(&original).unwrap()[..])
            .read_to_end(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, original);
        let mut unbrotlied = Vec::new();
        brotli::BrotliDecompress(&mut &brotli(&original).unwrap()[..], &mut unbrotlied).unwrap();
        assert_eq!(unbrotlied, original);
    }

    /// Two tables (funcref, externref), both table exports written as table 0 as binaryen 108
    /// does, and a memory export after them.
    fn module_with_table_exports() -> Vec<u8> {
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        // Table section: 2 tables: funcref min 1, externref min 2.
        module.extend_from_slice(&[SECTION_TABLE, 7, 2, 0x70, 0, 1, 0x6f, 0, 2]);
        // Memory section: one memory, min 1.
        module.extend_from_slice(&[5, 3, 1, 0, 1]);
        let mut exports = vec![3];
        for (name, kind) in [
            (EXTERNREF_TABLE_EXPORT, EXPORT_KIND_TABLE),
            ("functions", 1),
            ("memory", 2),
        ] {
            exports.push(name.len() as u8);
            exports.extend_from_slice(name.as_bytes());
            exports.extend_from_slice(&[kind, 0]);
        }
        module.push(SECTION_EXPORT);
        module.push(exports.len() as u8);
        module.extend_from_slice(&exports);
        module
    }

    fn table_export_index(module: &[u8], name: &str) -> u32 {
        let start = module
            .windows(name.len())
            .position(|w| w == name.as_bytes())
            .unwrap();
        let mut at = start + name.len() + 1;
        read_leb(module, &mut at).unwrap()
    }

    #[test]
    fn repairs_the_externref_table_export() {
        let mut module = module_with_table_exports();
        let before = module.clone();
        assert!(repoint_table_export(&mut module, EXTERNREF_TABLE_EXPORT).unwrap());
        assert_eq!(table_export_index(&module, EXTERNREF_TABLE_EXPORT), 1);
        // Only that index changed: same length, other exports untouched.
        assert_eq!(module.len(), before.len());
        assert_eq!(table_export_index(&module, "functions"), 0);
        // A second run finds nothing to repair.
        assert!(!repoint_table_export(&mut module, EXTERNREF_TABLE_EXPORT).unwrap());
        assert!(repoint_table_export(&mut b"not wasm".to_vec(), "x").is_err());
    }

    #[test]
    fn leb128_round_trips() {
        for value in [0, 1, 127, 128, 300, 16_384, u32::MAX >> 4] {
            let mut out = Vec::new();
            write_leb(&mut out, value);
            let mut at = 0;
            assert_eq!(read_leb(&out, &mut at).unwrap(), value);
            assert_eq!(at, out.len());
            assert_eq!(leb_len(value as usize), out.len());
        }
    }

    #[test]
    fn hashes_are_short_and_stable() {
        assert_eq!(short_hash(b"abc"), "ba7816bf8f01cfea");
    }
}
