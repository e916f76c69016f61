//! Repository hygiene: formatting, no leftover debugging or disabled tests, and the
//! architecture's crate boundaries. Search strings are assembled with `concat!` so this file
//! does not match itself.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, as (path relative to the repository, text).
fn rust_files(dir: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = vec![root().join(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p
                    .strip_prefix(root())
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                let text = std::fs::read_to_string(&p).unwrap();
                out.push((rel, text));
            }
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no Rust files under {dir}");
    out
}

fn all_rust_files() -> Vec<(String, String)> {
    let mut v = rust_files("src");
    v.extend(rust_files("tests"));
    v
}

/// The text of a line without its `//` comment (doc comments included).
fn code_of(line: &str) -> &str {
    let t = line.trim_start();
    if t.starts_with("//") {
        return "";
    }
    match line.find(" //") {
        Some(i) if !line[..i].contains('"') => &line[..i],
        _ => line,
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Lines (1-based) where `word` appears as a whole identifier in code, not in comments.
fn word_in_code(text: &str, word: &str) -> Vec<usize> {
    let mut hits = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = code_of(line);
        let mut start = 0;
        while let Some(i) = code[start..].find(word) {
            let at = start + i;
            let before = code[..at].chars().next_back();
            let after = code[at + word.len()..].chars().next();
            if !before.is_some_and(is_ident) && !after.is_some_and(is_ident) {
                hits.push(n + 1);
                break;
            }
            start = at + word.len();
        }
    }
    hits
}

/// Lines where `name::` starts a path to the crate `name` (not `super::name::`,
/// `crate::http::name::` or `self::name::`; a file declaring `mod name` is skipped by the
/// caller).
fn crate_path_in_code(text: &str, name: &str) -> Vec<usize> {
    let needle = format!("{name}::");
    let mut hits = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = code_of(line);
        let mut start = 0;
        while let Some(i) = code[start..].find(&needle) {
            let at = start + i;
            let prefix = &code[..at];
            let module_path = prefix
                .strip_suffix("::")
                .is_some_and(|p| p.chars().next_back().is_some_and(is_ident));
            let glued = prefix.chars().next_back().is_some_and(is_ident);
            if !module_path && !glued {
                hits.push(n + 1);
                break;
            }
            start = at + needle.len();
        }
    }
    hits
}

#[test]
fn cargo_fmt_check_passes() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["fmt", "--all", "--", "--check"])
        .current_dir(root())
        .output()
        .expect("run cargo fmt");
    assert!(
        out.status.success(),
        "cargo fmt --check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn no_leftover_debugging_or_disabled_tests() {
    let banned = [
        concat!("dbg", "!"),
        concat!("todo", "!"),
        concat!("unimplemented", "!"),
        concat!("#[", "ignore"),
    ];
    let mut found = Vec::new();
    for (path, text) in all_rust_files() {
        for (n, line) in text.lines().enumerate() {
            for b in banned {
                if line.contains(b) {
                    found.push(format!("{path}:{}: {b}", n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "found:\n{}", found.join("\n"));
}

#[test]
fn crates_stay_behind_their_layer() {
    let http_crate = concat!("rou", "ille");
    let sql_crate = concat!("rus", "qlite");
    let multipart_crate = concat!("multi", "part");
    let mut found = Vec::new();
    for (path, text) in all_rust_files() {
        if !path.starts_with("src/http/") {
            for n in word_in_code(&text, http_crate) {
                found.push(format!("{path}:{n}: {http_crate} outside src/http/"));
            }
        }
        if !path.starts_with("src/db/") {
            for n in word_in_code(&text, sql_crate) {
                found.push(format!("{path}:{n}: {sql_crate} outside src/db/"));
            }
        }
        // A file that declares a module of that name means the module by a bare path.
        let local_module = text.lines().any(|l| {
            code_of(l)
                .trim_start()
                .starts_with(&format!("mod {multipart_crate}"))
        });
        if path != "src/http/multipart.rs" && !local_module {
            for n in crate_path_in_code(&text, multipart_crate) {
                found.push(format!(
                    "{path}:{n}: the {multipart_crate} crate outside src/http/multipart.rs"
                ));
            }
        }
    }
    assert!(found.is_empty(), "found:\n{}", found.join("\n"));
}

#[test]
fn the_boundary_checks_see_what_they_look_for() {
    // The scanners themselves: a use is found, a comment or a module path is not.
    let http_crate = concat!("rou", "ille");
    let multipart_crate = concat!("multi", "part");
    let code = format!("use {http_crate}::Request;\n// {http_crate} in a comment\nlet x = 1;");
    assert_eq!(word_in_code(&code, http_crate), [1]);
    let code = format!(
        "use {m}::server::Multipart;\nuse super::{m}::read;\nuse crate::http::{m}::x;\n/// {m}::y\n",
        m = multipart_crate
    );
    assert_eq!(crate_path_in_code(&code, multipart_crate), [1]);
}
