//! Fetches the browser libraries vaora serves (a QR decoder for camera scanning, a QR encoder for
//! the pass screen, a chart library for the statistics) from the npm registry with `npm ci`, at the versions `frontend/package-lock.json`
//! pins, into the build directory; and names this build's assets by a hash of their contents so
//! that a phone never keeps a stale script. Nothing is fetched at run time.

// A build script reports failure by panicking.
#![allow(clippy::expect_used)]

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (file in node_modules, name served under /assets/<version>/vendor/)
const VENDORED: &[(&str, &str)] = &[
    ("jsqr/dist/jsQR.js", "jsqr.js"),
    ("qrcode-generator/dist/qrcode.js", "qrcode.js"),
    ("uplot/dist/uPlot.iife.min.js", "uplot.js"),
    ("uplot/dist/uPlot.min.css", "uplot.css"),
];

fn main() {
    println!("cargo:rerun-if-changed=frontend/package.json");
    println!("cargo:rerun-if-changed=frontend/package-lock.json");
    println!("cargo:rerun-if-changed=assets");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let work = out.join("frontend");
    fs::create_dir_all(&work).expect("create the frontend build folder");
    let lock = fs::read(manifest.join("frontend/package-lock.json")).expect("read frontend/package-lock.json");
    let installed_lock = work.join("node_modules/.vaora-lock");
    if fs::read(&installed_lock).ok().as_deref() != Some(lock.as_slice()) {
        for f in ["package.json", "package-lock.json"] {
            fs::copy(manifest.join("frontend").join(f), work.join(f)).expect("copy the frontend manifest");
        }
        let status = Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&work)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                panic!("`npm ci` for crates/web/frontend failed ({s}); vaora needs the npm registry once to build")
            }
            Err(e) => panic!("cannot run npm ({e}); install Node.js and npm to build vaora"),
        }
        fs::write(&installed_lock, &lock).expect("record the installed lock file");
    }
    let vendor = out.join("vendor");
    fs::create_dir_all(&vendor).expect("create the vendor folder");
    let mut hash = DefaultHasher::new();
    for (from, to) in VENDORED {
        let bytes = fs::read(work.join("node_modules").join(from)).expect("a vendored file is missing after npm ci");
        hash.write(&bytes);
        fs::write(vendor.join(to), bytes).expect("write a vendored file");
    }
    let assets = manifest.join("assets");
    hash_dir(&assets, &assets, &mut hash);
    println!("cargo:rustc-env=VAORA_ASSET_VERSION={:016x}", hash.finish());
}

fn hash_dir(root: &Path, dir: &Path, hash: &mut DefaultHasher) {
    let mut entries: Vec<PathBuf> =
        fs::read_dir(dir).expect("read the assets folder").map(|e| e.expect("an assets entry").path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            hash_dir(root, &path, hash);
        } else {
            hash.write(path.strip_prefix(root).unwrap_or(&path).to_string_lossy().as_bytes());
            hash.write(&fs::read(&path).expect("read an asset"));
        }
    }
}
